/* The run: capture, infer, present.
 *
 * Threads
 * - one capture thread per source (inside cn_source);
 * - one consumer thread per source: takes the newest frame, runs the
 *   network on it (with a model), writes its record (fanout.h: one thread
 *   per record sink) and draws the result on that same frame for the
 *   sinks the plan gives it (plan.h, present.h), among them the HTTP
 *   live view (outputs/http.h: its server, encoder and client threads
 *   are its own; the consumer only swaps a reference);
 * - a display thread for the first source, when the plan has one
 *   (--display live, --record): takes every frame and draws the newest
 *   result on it, with its age in frames;
 * - while a live source is offline, its renderers draw NO SIGNAL about
 *   once a second instead;
 * - a signal thread, from the first moment of the run: SIGINT/SIGTERM
 *   stop it, and also interrupt a source that is still connecting (a
 *   connect that hangs ends within ~100 ms, not at --timeout);
 * - the main thread waits: on a condition variable (headless) or in the
 *   window's event loop. Consumers and the signal thread wake it to
 *   "look at the stop conditions"; the one-second timeout drives the
 *   status line. No thread polls.
 */
#include "app/run.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/config.h"
#include "app/latency.h"
#include "app/threads.h"
#include "camnet/clock.h"
#include "camnet/redact.h"
#include "outputs/http.h"
#include "outputs/jsonl_internal.h"
#include "outputs/mqtt.h"
#include "camnet/overlay.h"
#include "outputs/plan.h"
#include "outputs/present.h"
#include "camnet/record.h"
#include "camnet/window.h"
#include "camnet/source.h"
#include "camnet/stage.h"
#include "core/trace.h"
#include "sources/source_internal.h"
#include "vision/stage_internal.h"

typedef struct run run_t;
typedef struct consumer consumer_t;

/* Engines per source at most (threads.h: the policy's answer). */
#define MAX_ENGINES 4

/* One inference thread of a source, with its own engine (worker e runs
 * the run's models[e]). */
typedef struct worker {
  consumer_t *c;
  int engine;
  pthread_t thread;
  bool started;
  cn_trace_ring_t *trace; /* this thread's; NULL: not tracing */
  cn_result_t *above;     /* results over a commanded threshold; made once */
} worker_t;

/* A source's consumers: one worker, or several taking turns on the
 * newest frames (the thread policy's engines). */
struct consumer {
  run_t *run;
  cn_source_t *src;
  char name[CN_ERR_MSG_MAX]; /* --name, else the URI; no credentials */
  worker_t workers[MAX_ENGINES];
  int nworkers;
  atomic_int running;
  /* The newest frame any worker took: each takes only newer ones, so no
   * frame is inferred twice. With several workers one waits for the next
   * frame at a time (take_lock), so a new frame wakes one of them and is
   * developed once. */
  atomic_uint_fast64_t last;
  pthread_mutex_t take_lock;
  cn_latency_t *ages;     /* capture -> output */
  cn_latency_t *infer_ms; /* inference time */
  atomic_bool done;
  bool ended_alone; /* its source had ended when the run did (wait_run) */
  atomic_uint_fast64_t infers; /* frames of this source inferred */
  /* MQTT set commands: detection off (frames are still taken and shown,
   * not inferred, no records); a threshold in millionths (-1: none). */
  atomic_bool detect_off;
  atomic_int threshold_ppm;
  cn_err_t err; /* why it ended, if not by a clean end of stream */
  /* status line: previous counters */
  uint64_t prev_captured, prev_delivered;
};

/* What the display thread needs of the inference thread's latest result. */
typedef struct latest {
  pthread_mutex_t lock;
  cn_result_t result;
  bool valid;
  uint64_t seq;  /* frame the result belongs to */
  double age_ms; /* its capture -> result time */
} latest_t;

/* Figures drawn in the overlay's status line, updated by the presenting
 * thread about once a second. */
typedef struct rates {
  int64_t t_last;
  uint64_t captured_last, infers_last;
  double cam_fps, net_fps;
} rates_t;

struct run {
  cn_app_config_t *cfg;
  cn_logger_t log;
  cn_fanout_t *records; /* record sinks (--json) */
  cn_jsonl_t *json;     /* NULL without a record sink */
  consumer_t consumers[CN_APP_MAX_SOURCES];
  const char *names[CN_APP_MAX_SOURCES]; /* the consumers' names */
  cn_source_t *srcs[CN_APP_MAX_SOURCES]; /* and sources, once all open */
  int n;
  atomic_bool stop;
  atomic_int_fast64_t written;
  int64_t t_start;

  bool have_model;
  cn_stage_model_t *model;               /* = models[0] */
  cn_stage_model_t *models[MAX_ENGINES]; /* one engine each */
  cn_thread_policy_t policy;
  cn_trace_t *trace; /* --trace; NULL: not tracing */

  /* Presentation: who renders for which sink is the plan's (plan.h);
   * the canvases and the picture fan-out are the presenter's. */
  cn_plan_t plan;
  cn_present_t *pres;
  cn_window_t *window;
  cn_recorder_t *rec;
  cn_http_t *http; /* --http */
  cn_mqtt_t *mqtt; /* --mqtt */
  latest_t latest;
  pthread_t display_thread, signal_thread;
  bool display_started, signal_started;

  /* Waking the main thread; also guards window and the consumers' src
   * pointers against the signal thread while the run opens. */
  pthread_mutex_t wake_lock;
  pthread_cond_t wake_cond; /* CLOCK_MONOTONIC */
  bool woken;
  atomic_int stop_sig; /* the signal that stopped the run, or 0 */
};

/* With a window the main thread waits in SDL: wake the window. */
static void wake_main(run_t *r) {
  pthread_mutex_lock(&r->wake_lock);
  r->woken = true;
  pthread_cond_signal(&r->wake_cond);
  if (r->window)
    cn_window_wake(r->window);
  pthread_mutex_unlock(&r->wake_lock);
}

static void update_rates(run_t *r, rates_t *rt, int k) {
  int64_t now = cn_clock_now();
  if (now - rt->t_last < CN_NS_PER_S / 2)
    return;
  cn_source_stats_t s;
  cn_source_get_stats(r->consumers[k].src, &s);
  uint64_t infers = atomic_load(&r->consumers[k].infers);
  if (rt->t_last) {
    double dt = cn_ns_to_s(now - rt->t_last);
    rt->cam_fps = (double)(s.captured - rt->captured_last) / dt;
    rt->net_fps = (double)(infers - rt->infers_last) / dt;
  }
  rt->t_last = now;
  rt->captured_last = s.captured;
  rt->infers_last = infers;
}

/* The result drawn on a picture, and how old it is. */
typedef struct drawn {
  const cn_result_t *res;
  double age_ms;
  long lag; /* frames between result and picture; <0: not shown */
} drawn_t;

/* Draws d on a canvas copy of f for the sinks renderer who feeds now
 * (plan.h), and hands it to the presenter. */
static void present(run_t *r, cn_overlay_t *ov, rates_t *rt, cn_frame_t *f,
                    const drawn_t *d, cn_renderer_t who, cn_trace_ring_t *tr) {
  int k = f->source;
  cn_present_raw(r->pres, who, f);
  unsigned sinks = cn_present_wants(r->pres, who, k);
  if (!sinks)
    return;
  update_rates(r, rt, k);
  cn_frame_t *canvas = cn_present_canvas(r->pres, sinks);
  if (!canvas)
    return;
  cn_source_stats_t s;
  cn_source_get_stats(r->consumers[k].src, &s);
  cn_overlay_info_t info = {.source = k,
                            .nsources = r->n,
                            .net_fps = rt->net_fps,
                            .cam_fps = rt->cam_fps,
                            .age_ms = d->age_ms,
                            .drops = (unsigned long long)s.dropped,
                            .result_lag = d->lag,
                            .help = r->window && cn_window_help(r->window),
                            .offline = !s.online && !s.finished};
  cn_err_t err = {0};
  int64_t t0 = cn_trace_on(tr) ? cn_clock_now() : 0;
  if (cn_overlay_render(ov, f, canvas, r->have_model ? d->res : NULL,
                        r->have_model ? &info : NULL, &err)) {
    cn_log(&r->log, CN_LOG_WARN, NULL, "%s", err.msg);
    cn_frame_unref(&canvas);
    return;
  }
  int64_t t1 = cn_trace_on(tr) ? cn_clock_now() : 0;
  cn_trace_span(tr, CN_TR_DRAW, f->source, f->seq, t0, t1);
  if (cn_present_deliver(r->pres, canvas, sinks, &err)) {
    /* Reported once, by cn_recorder_close. */
    atomic_store(&r->stop, true);
    wake_main(r);
  }
  if (cn_trace_on(tr))
    cn_trace_span(tr, CN_TR_OUT_PICTURE, f->source, f->seq, t1, cn_clock_now());
  cn_frame_unref(&canvas);
}

/* While a live source is offline its renderers show a NO SIGNAL picture
 * (name, reason, how long) about once a second, through the same sinks
 * as its frames: takes wait at most this long on live sources. */
#define NOSIGNAL_EVERY_NS CN_NS_PER_S

static int64_t take_timeout(const run_t *r, int k) {
  cn_source_stats_t s;
  cn_source_get_stats(r->consumers[k].src, &s);
  return s.live ? NOSIGNAL_EVERY_NS : -1;
}

static void present_nosignal(run_t *r, cn_overlay_t *ov, int k,
                             cn_renderer_t who) {
  consumer_t *c = &r->consumers[k];
  cn_source_stats_t s;
  cn_source_get_stats(c->src, &s);
  if (s.online || s.finished || !s.live)
    return;
  unsigned sinks = cn_present_wants_nosignal(r->pres, who, k);
  cn_frame_t *canvas = sinks ? cn_present_canvas(r->pres, sinks) : NULL;
  if (!canvas)
    return;
  char reason[CN_ERR_MSG_MAX];
  cn_source_reason(c->src, reason, sizeof reason);
  int64_t now = cn_clock_now();
  cn_nosignal_t ns = {.name = c->name,
                      .reason = reason,
                      .offline_s = cn_ns_to_s(now - s.t_state),
                      .width = s.width,
                      .height = s.height};
  cn_err_t err = {0};
  if (cn_overlay_nosignal(ov, canvas, &ns, &err)) {
    cn_log(&r->log, CN_LOG_WARN, NULL, "%s", err.msg);
  } else {
    canvas->source = k;
    canvas->seq = 0;
    canvas->pts = NAN;
    canvas->t_capture = canvas->t_decode = now;
    canvas->t_wall = cn_clock_wall();
    if (cn_present_deliver(r->pres, canvas, sinks, &err)) {
      atomic_store(&r->stop, true);
      wake_main(r);
    }
  }
  cn_frame_unref(&canvas);
}

static void publish_latest(run_t *r, const cn_frame_t *f,
                           const cn_result_t *res) {
  pthread_mutex_lock(&r->latest.lock);
  r->latest.result = *res;
  r->latest.valid = true;
  r->latest.seq = f->seq;
  r->latest.age_ms = cn_ns_to_ms(f->t_infer_end - f->t_capture);
  pthread_mutex_unlock(&r->latest.lock);
}

/* The next frame of c's source: 1 (in *f); 0 for none this time (a
 * timeout, NO SIGNAL drawn when offline; a frame that failed to develop,
 * counted by the source and logged once per distinct message); -1 when
 * the source ended (c->err: why, if it failed). */
/* Moves c->last up to seq; false when another worker is already there. */
static bool claim(consumer_t *c, uint64_t seq) {
  uint_fast64_t prev = atomic_load(&c->last);
  while (seq > prev)
    if (atomic_compare_exchange_weak(&c->last, &prev, seq))
      return true;
  return false;
}

static int take_next(worker_t *w, cn_overlay_t *ov, int k, int64_t timeout,
                     cn_log_once_t *once, cn_frame_t **f) {
  consumer_t *c = w->c;
  run_t *r = c->run;
  uint64_t seq = 0;
  cn_err_t err = {0};
  if (c->nworkers > 1)
    pthread_mutex_lock(&c->take_lock);
  int rc = cn__source_take_traced(c->src, atomic_load(&c->last), timeout, f,
                                  &seq, &err, w->trace);
  if (c->nworkers > 1)
    pthread_mutex_unlock(&c->take_lock);
  if (rc == CN_EOF) {
    if (err.code && err.code != CN_EOF)
      c->err = err;
    return -1;
  }
  if (rc == CN_ETIMEDOUT) {
    if (ov)
      present_nosignal(r, ov, k, CN_RENDER_INFERRED);
    return 0;
  }
  if (rc) {
    cn_log_once(&r->log, once, CN_LOG_WARN, NULL, "%s", err.msg);
    claim(c, seq);
    return 0;
  }
  /* Several workers wake for the same new frame: one keeps it. */
  if (!claim(c, (*f)->seq)) {
    cn_frame_unref(f);
    return 0;
  }
  return 1;
}

/* A frame is out: its age (and inference time) for the status line, the
 * summary and the HTTP figures. */
static void observe(consumer_t *c, cn_frame_t *f, bool inferred) {
  if (!f->t_out)
    f->t_out = cn_clock_now();
  cn_latency_add(c->ages, f->t_out - f->t_capture);
  int64_t infer_ns = inferred ? f->t_infer_end - f->t_infer_begin : 0;
  if (inferred)
    cn_latency_add(c->infer_ms, infer_ns);
  cn_http_observe(c->run->http, f->source, f->seq, f->t_out - f->t_capture,
                  infer_ns);
}

/* A worker's own stage (its engine), overlay and trace lane. A failure
 * ends the run (c->err). */
static void worker_open(worker_t *w, cn_stage_t **stage, cn_overlay_t **ov) {
  consumer_t *c = w->c;
  run_t *r = c->run;
  bool first = c == &r->consumers[0];
  cn_err_t err = {0};
  if ((r->have_model && cn_stage_create(r->models[w->engine], stage, &err)) ||
      (((first && r->plan.first_inferred) ||
        (!first && r->plan.others_inferred)) &&
       cn_overlay_create(cn_stage_model_labels(r->model), ov, &err))) {
    c->err = err;
    atomic_store(&r->stop, true);
  }
  int k = (int)(c - r->consumers);
  char lane[32];
  if (c->nworkers > 1)
    snprintf(lane, sizeof lane, "infer %d.%d", k, w->engine);
  else
    snprintf(lane, sizeof lane, "infer %d", k);
  w->trace = cn_trace_thread(r->trace, lane, k, false);
  if (*stage)
    cn__stage_set_trace(*stage, w->trace);
}

/* A threshold commanded over MQTT: entries below it are left out (the
 * decoder's own threshold still applies under it). */
static const cn_result_t *above(worker_t *w, const cn_result_t *res) {
  int t = atomic_load(&w->c->threshold_ppm);
  if (!res || t < 0)
    return res;
  if (!w->above && !(w->above = malloc(sizeof *w->above)))
    return res;
  float min = (float)t / 1e6f;
  cn_result_t *o = w->above;
  o->task = res->task;
  o->ntop = o->nboxes = 0;
  for (int i = 0; i < res->ntop; i++)
    if (res->top[i].prob >= min)
      o->top[o->ntop++] = res->top[i];
  for (int i = 0; i < res->nboxes; i++)
    if (res->boxes[i].score >= min)
      o->boxes[o->nboxes++] = res->boxes[i];
  return o;
}

static void *consume(void *arg) {
  worker_t *w = arg;
  consumer_t *c = w->c;
  run_t *r = c->run;
  bool first = c == &r->consumers[0];
  cn_stage_t *stage = NULL;
  cn_overlay_t *ov = NULL;
  rates_t rates = {0};
  cn_err_t err = {0};
  worker_open(w, &stage, &ov);
  bool ok_once = false;
  cn_log_once_t once = {0}; /* a corrupt stream warns once, not per frame */
  int k = (int)(c - r->consumers);
  int64_t timeout = take_timeout(r, k);
  while (!atomic_load(&r->stop)) {
    cn_frame_t *f = NULL;
    int got = take_next(w, ov, k, timeout, &once, &f);
    if (got < 0)
      break;
    if (!got)
      continue;
    bool infer = stage && !atomic_load(&c->detect_off);
    const cn_result_t *res = NULL;
    if (infer && cn_stage_run(stage, f, &res, &err)) {
      cn_frame_unref(&f);
      /* A model that never worked will not start now: end the run. Later
       * failures are logged once per distinct message. */
      if (!ok_once) {
        c->err = err;
        atomic_store(&r->stop, true);
        break;
      }
      cn_log_once(&r->log, &once, CN_LOG_WARN, NULL, "inference failed: %s",
                  err.msg);
      continue;
    }
    ok_once = true;
    res = above(w, res);
    if (infer)
      atomic_fetch_add(&c->infers, 1);
    if (first && infer && r->plan.live_thread)
      publish_latest(r, f, res);
    int64_t n = atomic_fetch_add(&r->written, 1);
    if (r->cfg->frames && n >= r->cfg->frames) {
      cn_frame_unref(&f);
      break;
    }
    int64_t t_json = cn_trace_on(w->trace) ? cn_clock_now() : 0;
    if (r->json && (infer || !stage) && cn_jsonl_write(r->json, f, res, &err)) {
      c->err = err; /* logged once, by cn_app_run */
      atomic_store(&r->stop, true);
      cn_frame_unref(&f);
      break;
    }
    if (r->json && cn_trace_on(w->trace))
      cn_trace_span(w->trace, CN_TR_OUT_JSON, k, f->seq, t_json,
                    cn_clock_now());
    if (ov) {
      drawn_t d = {res, cn_ns_to_ms(f->t_infer_end - f->t_capture), -1};
      present(r, ov, &rates, f, &d, CN_RENDER_INFERRED, w->trace);
    }
    observe(c, f, infer);
    cn_frame_unref(&f);
    if (r->cfg->frames && n + 1 >= r->cfg->frames) {
      /* The count is for the whole run: the other sources' consumers may
       * wait for a frame that never comes (a stalled or offline source). */
      atomic_store(&r->stop, true);
      break;
    }
  }
  cn_overlay_destroy(ov);
  cn_stage_destroy(stage);
  free(w->above);
  w->above = NULL;
  if (atomic_fetch_sub(&c->running, 1) == 1)
    atomic_store(&c->done, true);
  wake_main(r);
  return NULL;
}

/* --display live: every frame of the first source, with the newest
 * result and how many frames older than the picture it is. */
static void *display(void *arg) {
  run_t *r = arg;
  cn_overlay_t *ov = NULL;
  cn_err_t err = {0};
  if (cn_overlay_create(cn_stage_model_labels(r->model), &ov, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return NULL;
  }
  cn_result_t *res = malloc(sizeof *res);
  rates_t rates = {0};
  uint64_t last = 0;
  int64_t timeout = take_timeout(r, 0);
  cn_trace_ring_t *tr = cn_trace_thread(r->trace, "display", 0, false);
  while (res && !atomic_load(&r->stop)) {
    cn_frame_t *f = NULL;
    uint64_t seq = 0;
    int rc = cn__source_take_traced(r->consumers[0].src, last, timeout, &f,
                                    &seq, NULL, tr);
    if (rc == CN_EOF)
      break;
    if (rc == CN_ETIMEDOUT) {
      present_nosignal(r, ov, 0, CN_RENDER_LIVE);
      continue;
    }
    if (rc) {
      last = seq ? seq : last;
      continue;
    }
    last = f->seq;
    pthread_mutex_lock(&r->latest.lock);
    bool valid = r->latest.valid;
    if (valid)
      *res = r->latest.result;
    long lag = valid ? (long)(f->seq - r->latest.seq) : -1;
    double age = r->latest.age_ms;
    pthread_mutex_unlock(&r->latest.lock);
    drawn_t d = {valid ? res : NULL, age, lag < 0 ? 0 : lag};
    present(r, ov, &rates, f, &d, CN_RENDER_LIVE, tr);
    cn_frame_unref(&f);
  }
  free(res);
  cn_overlay_destroy(ov);
  return NULL;
}

/* Signals are taken here for the whole run, opening included: a stop
 * interrupts sources that are still connecting, then wakes the main
 * thread. SIGUSR1 only wakes it. */
static void *signals(void *arg) {
  run_t *r = arg;
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGUSR2);
  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig))
      continue;
    if (sig == SIGUSR2) /* from cn_app_run: the run is over */
      return NULL;
    if (sig == SIGINT || sig == SIGTERM) {
      int none = 0;
      atomic_compare_exchange_strong(&r->stop_sig, &none, sig);
      atomic_store(&r->stop, true);
      pthread_mutex_lock(&r->wake_lock);
      for (int i = 0; i < r->n; i++)
        cn_source_interrupt(r->consumers[i].src);
      pthread_mutex_unlock(&r->wake_lock);
    }
    wake_main(r);
  }
}

static bool all_done(run_t *r) {
  for (int i = 0; i < r->n; i++)
    if (!atomic_load(&r->consumers[i].done))
      return false;
  return true;
}

static void print_status(run_t *r, double dt) {
  char line[512];
  int len = 0;
  for (int i = 0; i < r->n && len < (int)sizeof line - 80; i++) {
    consumer_t *c = &r->consumers[i];
    cn_source_stats_t s;
    cn_source_get_stats(c->src, &s);
    len += snprintf(
        line + len, sizeof line - (size_t)len,
        "%s[%d] %s in %5.1f fps out %5.1f fps drop %llu age %.1f ms",
        i ? "  " : "", i, s.online ? "on " : "OFF",
        (double)(s.captured - c->prev_captured) / dt,
        (double)(s.delivered - c->prev_delivered) / dt,
        (unsigned long long)s.dropped, cn_latency_quantile_ms(c->ages, 0.5));
    c->prev_captured = s.captured;
    c->prev_delivered = s.delivered;
  }
  fprintf(stderr, "\r%s\033[K", line);
}

/* A source that ended before the run did, or a file that ended before
 * its container says it should (cut, damaged): one warning line. Not for
 * a source the run stopped (--duration, --frames, a signal, the window):
 * finished is true then too, and the file was not cut. */
static void warn_ending(run_t *r, const consumer_t *c, const char *prefix,
                        const cn_source_stats_t *s, double run_secs) {
  const char *uri = cn_source_uri(c->src);
  if (!c->ended_alone || atomic_load(&r->stop_sig))
    return;
  double live_secs = cn_ns_to_s(s->online_ns);
  if (!s->live && s->end_pts > 0 && !isnan(s->last_pts) &&
      s->last_pts + 1.0 / (s->fps > 0 ? s->fps : 25) * 2 < s->end_pts * 0.98)
    cn_log(&r->log, CN_LOG_WARN, prefix,
           "%s: ended at %.2f s of the %.2f s its container states: the file "
           "is cut or damaged (%llu decode errors)",
           uri, s->last_pts, s->end_pts, (unsigned long long)s->decode_errors);
  else if (!s->live && s->decode_errors)
    cn_log(&r->log, CN_LOG_WARN, prefix,
           "%s: %llu decode errors: the file is damaged", uri,
           (unsigned long long)s->decode_errors);
  else if (r->n > 1 && live_secs < run_secs - 1)
    cn_log(&r->log, CN_LOG_WARN, prefix,
           "%s: ended after %.1f s; the run went on for %.1f s", uri, live_secs,
           run_secs);
}

/* After the fan-out closed (the ring drained): final figures, and
 * acknowledged + dropped + queued = records. */
static void print_mqtt(run_t *r) {
  if (!r->mqtt)
    return;
  cn_mqtt_stats_t m;
  cn_mqtt_get_stats(r->mqtt, &m);
  cn_log(&r->log, CN_LOG_INFO, NULL,
         "mqtt %s: %llu records (%llu results, %llu states; %llu results "
         "left out by --mqtt-rate), %llu published, %llu acknowledged, %llu "
         "dropped, %llu queued, %llu connections",
         cn_mqtt_name(r->mqtt), (unsigned long long)m.records,
         (unsigned long long)m.results,
         (unsigned long long)(m.records - m.results),
         (unsigned long long)m.skipped, (unsigned long long)m.published,
         (unsigned long long)m.acknowledged, (unsigned long long)m.dropped,
         (unsigned long long)m.queued, (unsigned long long)m.connects);
}

static void print_summary(run_t *r) {
  double secs = cn_ns_to_s(cn_clock_now() - r->t_start);
  for (int i = 0; i < r->n; i++) {
    consumer_t *c = &r->consumers[i];
    cn_source_stats_t s;
    cn_source_get_stats(c->src, &s);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "source %d", i);
    if (!s.captured && !s.width && !s.online_ns) {
      cn_log(&r->log, CN_LOG_INFO, prefix, "%s: stopped before it opened",
             cn_source_uri(c->src));
      continue;
    }
    warn_ending(r, c, prefix, &s, secs);
    /* Rates over the time the source was live: a file that ended early or
     * a camera offline for a while is not averaged over the whole run. */
    double live = s.online_ns > 0 ? cn_ns_to_s(s.online_ns) : secs;
    if (live > secs) /* online from its open, before the run's clock */
      live = secs;
    cn_log(&r->log, CN_LOG_INFO, prefix,
           "%s: %dx%d %s, %.1f s: %llu captured, %llu delivered, %llu "
           "dropped, %llu decode errors, %llu reconnects; %.1f fps in, "
           "%.1f fps out (over %.1f s live); age p50 %.2f ms, p99 %.2f ms; "
           "capture CPU %.2f ms/frame",
           cn_source_uri(c->src), s.width, s.height, s.codec, secs,
           (unsigned long long)s.captured, (unsigned long long)s.delivered,
           (unsigned long long)s.dropped, (unsigned long long)s.decode_errors,
           (unsigned long long)s.reconnects, (double)s.captured / live,
           (double)s.delivered / live, live,
           cn_latency_quantile_ms(c->ages, 0.5),
           cn_latency_quantile_ms(c->ages, 0.99),
           s.captured ? cn_ns_to_ms(s.cpu_ns) / (double)s.captured : 0.0);
  }
  if (r->have_model) {
    /* One model serves every source: the total, then each source's part. */
    unsigned long long total = 0;
    char parts[256] = "";
    size_t used = 0;
    for (int i = 0; i < r->n; i++) {
      unsigned long long k = atomic_load(&r->consumers[i].infers);
      total += k;
      if (r->n > 1 && used < sizeof parts) {
        int w = snprintf(parts + used, sizeof parts - used, "%s%llu",
                         i ? " + " : " (", k);
        used += w > 0 ? (size_t)w : 0;
      }
    }
    if (r->n > 1 && used < sizeof parts)
      snprintf(parts + used, sizeof parts - used, " by source)");
    cn_log(&r->log, CN_LOG_INFO, NULL,
           "%s (%s, %s): %llu inferences%s, %.1f per second",
           cn_stage_model_name(r->model), cn_stage_model_kind(r->model),
           cn_model_backend(cn_stage_model_handle(r->model)), total, parts,
           (double)total / secs);
  }
}

/* A live source went offline or came back: a source record. Runs in the
 * source's capture thread. */
static void on_source_state(void *opaque, int index, bool online,
                            const char *reason, int64_t t_state) {
  run_t *r = opaque;
  cn_err_t err = {0};
  if (r->json &&
      cn_jsonl_write_source(r->json, index, online, reason, t_state, &err)) {
    atomic_store(&r->stop, true); /* reported by cn_fanout_close */
    wake_main(r);
  }
}

/* Source i's settings: the globals, over them its config file section's
 * own (cn_app_per_source lists which; keep the two in step). The
 * strings point into r->cfg, which outlives the source. */
static void init_source_opts(run_t *r, int i, cn_source_opts_t *o) {
  cn_app_config_t own;
  cn_app_source_config(r->cfg, i, &own);
  const cn_app_config_t *cfg = &own;
  cn_source_opts_default(o);
  o->uri = cfg->sources[i];
  o->index = i;
  o->width = (int)cfg->width;
  o->height = (int)cfg->height;
  o->fps = cfg->fps;
  o->input_format = cfg->input_format;
  o->transport = cfg->transport;
  o->rtsp_via = cfg->rtsp_via;
  o->latency_ms = (int)cfg->latency_ms;
  o->timeout_ms = (int)cfg->timeout_ms;
  o->reconnect = (int)cfg->reconnect;
  o->every_frame = cfg->every_frame;
  o->loop = cfg->loop;
  o->log = &r->log;
  o->on_state = on_source_state;
  o->opaque = r;
}

/* The Jetson script's Caffe form: --prototxt deploy.prototxt --model
 * x.caffemodel. */
static void init_stage_opts(const cn_app_config_t *cfg, const cn_logger_t *log,
                            cn_stage_opts_t *o) {
  cn_stage_opts_default(o);
  o->model = cfg->prototxt ? cfg->prototxt : cfg->model;
  o->log = log;
  o->weights = cfg->prototxt ? cfg->model : NULL;
  o->labels = cfg->labels;
  o->mean = cfg->mean;
  o->output = cfg->output;
  o->crop = cfg->crop;
  o->size = cfg->size;
  o->input_shapes = cfg->input_shapes;
  o->ninput_shapes = cfg->n_input_shapes;
  o->scale = (float)cfg->scale;
  o->std = cfg->std;
  o->rgb = cfg->bgr ? 0 : cfg->rgb ? 1 : -1;
  o->top = (int)cfg->top;
  o->task = !cfg->task                       ? CN_TASK_NONE
            : !strcmp(cfg->task, "classify") ? CN_TASK_CLASSIFY
                                             : CN_TASK_DETECT;
  o->decoder = cfg->decoder;
  o->threshold = (float)cfg->threshold;
  o->nms = (float)cfg->nms;
  o->backend = cfg->backend;
}

static int open_all(run_t *r) {
  for (int i = 0; i < r->cfg->n_sources; i++) {
    consumer_t *c = &r->consumers[i];
    cn_source_opts_t o;
    cn_err_t err = {0};
    init_source_opts(r, i, &o);
    c->run = r;
    c->ages = calloc(1, sizeof *c->ages);
    pthread_mutex_init(&c->take_lock, NULL);
    c->infer_ms = calloc(1, sizeof *c->infer_ms);
    cn_source_t *src = NULL;
    int rc =
        c->ages && c->infer_ms ? cn_source_create(&o, &src, &err) : CN_ENOMEM;
    pthread_mutex_lock(&r->wake_lock);
    c->src = src;
    r->n = i + 1;
    pthread_mutex_unlock(&r->wake_lock);
    /* A stop that came before the source existed interrupts it here. */
    if (!rc && atomic_load(&r->stop))
      return 1;
    if (rc || cn_source_open(c->src, &err)) {
      if (!atomic_load(&r->stop))
        cn_log(&r->log, CN_LOG_ERROR, NULL, "%s",
               c->ages && c->infer_ms ? err.msg : "out of memory");
      return 1;
    }
    cn_redact_text(i < r->cfg->n_names ? r->cfg->names[i]
                                       : cn_source_uri(c->src),
                   c->name, sizeof c->name);
    r->names[i] = c->name;
    r->srcs[i] = c->src;
  }
  return 0;
}

/* A stop while the model loads abandons the load (cn_interrupt_t). */
static int stop_asked(void *arg) { return atomic_load(&((run_t *)arg)->stop); }

/* The model, as many engines of it as the thread policy gives each
 * source (threads.h; --threads N: one of N threads). Each engine is its
 * own load: one model's runs are serialised. */

static int open_models(run_t *r, cn_err_t *err) {
  cn_stage_opts_t so;
  init_stage_opts(r->cfg, &r->log, &so);
  so.interrupt = (cn_interrupt_t){stop_asked, r};
  cn_thread_policy_in_t in;
  cn_app_threads_in(r->srcs, r->n, r->cfg->every_frame, (int)r->cfg->threads,
                    &in);
  cn_thread_policy(&in, &r->policy);
  so.threads = r->policy.threads;
  int rc = cn_stage_model_open(&so, &r->models[0], err);
  r->model = r->models[0];
  r->have_model = rc == 0;
  if (!rc)
    rc = cn_app_threads_decide(r->model, &in, &r->policy, &r->log, err);
  if (r->policy.engines > MAX_ENGINES)
    r->policy.engines = MAX_ENGINES;
  for (int e = 1; !rc && e < r->policy.engines; e++)
    rc = cn_stage_model_open(&so, &r->models[e], err);
  return rc;
}

/* Model, canvases, window and recorder, once the sources are open (their
 * size and rate are known). */
static int open_outputs(run_t *r) {
  cn_app_config_t *cfg = r->cfg;
  cn_err_t err = {0};
  if (cfg->model && open_models(r, &err)) {
    if (err.code != CN_EINTR) /* a stop is said by the summary */
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  for (int i = 0; i < r->n; i++)
    r->consumers[i].nworkers = r->have_model ? r->policy.engines : 1;
  if (!cfg->model && (cfg->prototxt || cfg->labels || cfg->mean)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL,
           "--prototxt, --labels and --mean "
           "need --model");
    return 1;
  }
  if (r->json && r->have_model &&
      cn_jsonl_set_task(r->json, cn_stage_model_task(r->model),
                        cn_stage_model_labels(r->model), &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  if (r->mqtt)
    cn_mqtt_set_results(r->mqtt, r->have_model);
  cn_source_stats_t s;
  cn_source_get_stats(r->consumers[0].src, &s);
  if (atomic_load(&r->stop)) /* the model took a while: stop here */
    return 1;
  if (r->have_model && !cfg->headless) {
    int w = s.width > 0 ? s.width : 1280, h = s.height > 0 ? s.height : 720;
    cn_window_t *win = NULL;
    if (cn_window_open("camnet", w, h, &win, &err))
      cn_log(&r->log, CN_LOG_INFO, NULL, "%s: running headless", err.msg);
    pthread_mutex_lock(&r->wake_lock);
    r->window = win;
    pthread_mutex_unlock(&r->wake_lock);
  }
  if (cfg->record && cn_recorder_open(cfg->record, s.fps, &r->rec, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  /* --every-frame on a file: offline work, every frame reaches the
   * consumer (plan.h). */
  cn_plan_in_t in = {.live_display = !strcmp(cfg->display, "live"),
                     .every_frame = cfg->every_frame && !s.live};
  if (r->window)
    in.sinks |= CN_SINK_BIT(CN_SINK_WINDOW);
  if (r->rec)
    in.sinks |= CN_SINK_BIT(CN_SINK_RECORD);
  if (r->http) {
    in.sinks |= CN_SINK_BIT(CN_SINK_HTTP);
    if (r->have_model)
      cn_http_set_model(r->http, cn_stage_model_name(r->model),
                        cn_stage_model_kind(r->model),
                        cn_model_backend(cn_stage_model_handle(r->model)));
  }
  if (cfg->snapshot_every)
    in.sinks |= CN_SINK_BIT(CN_SINK_SNAPSHOTS);
  cn_plan_make(&in, &r->plan);
  cn_present_opts_t po = {.plan = r->plan,
                          .window = r->window,
                          .rec = r->rec,
                          .http = r->http,
                          .snapshot_every = cfg->snapshot_every,
                          .snapshot_dir = cfg->snapshot_dir,
                          .nsources = r->n,
                          .log = &r->log};
  if (in.sinks && cn_present_create(&po, &r->pres, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  return 0;
}

static int start_all(run_t *r) {
  cn_err_t err = {0};
  if (r->cfg->trace && cn_trace_open(r->cfg->trace, &r->trace, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  for (int i = 0; i < r->n; i++) {
    consumer_t *c = &r->consumers[i];
    cn__source_set_trace(c->src, r->trace);
    if (cn_source_start(c->src, &err)) {
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
      return 1;
    }
    /* Every worker counts as running before any can end. */
    atomic_store(&c->running, c->nworkers);
    for (int e = 0; e < c->nworkers; e++) {
      worker_t *w = &c->workers[e];
      *w = (worker_t){.c = c, .engine = e};
      if (pthread_create(&w->thread, NULL, consume, w)) {
        atomic_fetch_sub(&c->running, c->nworkers - e);
        return 1;
      }
      w->started = true;
    }
  }
  if (r->plan.live_thread) {
    if (pthread_create(&r->display_thread, NULL, display, r))
      return 1;
    r->display_started = true;
  }
  return 0;
}

static void close_all(run_t *r) {
  for (int i = 0; i < r->n; i++)
    cn_source_stop(r->consumers[i].src);
  for (int i = 0; i < r->n; i++) {
    consumer_t *c = &r->consumers[i];
    for (int e = 0; e < c->nworkers; e++)
      if (c->workers[e].started)
        pthread_join(c->workers[e].thread, NULL);
  }
  if (r->display_started)
    pthread_join(r->display_thread, NULL);
  if (r->signal_started) {
    pthread_kill(r->signal_thread, SIGUSR2);
    pthread_join(r->signal_thread, NULL);
  }
}

/* Waits for up to wait_ns for something to happen. Returns false when the
 * run should end (signal, window closed). */
static bool wait_main(run_t *r, int64_t wait_ns) {
  if (!r->window) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t t = (int64_t)ts.tv_sec * CN_NS_PER_S + ts.tv_nsec + wait_ns;
    ts = (struct timespec){(time_t)(t / CN_NS_PER_S), (long)(t % CN_NS_PER_S)};
    pthread_mutex_lock(&r->wake_lock);
    while (!r->woken &&
           pthread_cond_timedwait(&r->wake_cond, &r->wake_lock, &ts) == 0)
      ;
    r->woken = false;
    pthread_mutex_unlock(&r->wake_lock);
    return !atomic_load(&r->stop);
  }
  switch (cn_window_wait(r->window, (int)(wait_ns / CN_NS_PER_MS))) {
  case CN_WIN_QUIT:
    return false;
  case CN_WIN_NEXT:
    if (r->n > 1 && r->pres) {
      int k = (cn_present_shown(r->pres) + 1) % r->n;
      cn_present_show(r->pres, k);
      cn_log(&r->log, CN_LOG_INFO, NULL, "window: source %d, %s", k,
             cn_source_uri(r->consumers[k].src));
    }
    return !atomic_load(&r->stop);
  case CN_WIN_SNAPSHOT: {
    char path[4096];
    cn_err_t err = {0};
    int rc = r->pres
                 ? cn_present_snapshot_window(r->pres, path, sizeof path, &err)
                 : 1;
    if (rc < 0)
      cn_log(&r->log, CN_LOG_WARN, NULL, "%s", err.msg);
    else if (rc == 0)
      cn_log(&r->log, CN_LOG_INFO, NULL, "snapshot: %s", path);
    return true;
  }
  default:
    return !atomic_load(&r->stop);
  }
}

/* Record sinks: one line each. */
static int open_records(run_t *r) {
  const cn_app_config_t *cfg = r->cfg;
  cn_err_t err = {0};
  if (cn_fanout_create(&r->records, &err) ||
      (cfg->json && cn_sink_file_add(r->records, cfg->json, &err)) ||
      (r->http && cn_http_sink_add(r->http, r->records, &err)) ||
      (r->mqtt && cn_mqtt_sink_add(r->mqtt, r->records, &err))) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  if (cn_fanout_sinks(r->records) &&
      (cn_jsonl_create(r->records, &r->json, &err) ||
       cn_jsonl_set_names(r->json, r->names, r->n, &err))) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  return 0;
}

static void http_quantiles(void *opaque, int k, cn_http_quantiles_t *q) {
  consumer_t *c = &((run_t *)opaque)->consumers[k];
  q->age_p50_ms = cn_latency_quantile_ms(c->ages, 0.5);
  q->age_p99_ms = cn_latency_quantile_ms(c->ages, 0.99);
  q->infer_p50_ms = cn_latency_quantile_ms(c->infer_ms, 0.5);
  q->infer_p99_ms = cn_latency_quantile_ms(c->infer_ms, 0.99);
}

static bool http_mqtt(void *opaque, cn_http_mqtt_t *out) {
  run_t *r = opaque;
  if (!r->mqtt) /* set before the server started, never changed after */
    return false;
  cn_mqtt_stats_t s;
  cn_mqtt_get_stats(r->mqtt, &s);
  *out = (cn_http_mqtt_t){s.records, s.published, s.acknowledged, s.dropped,
                          s.queued,  s.connects,  s.connected};
  return true;
}

/* --http: the server listens before the sources start, so a port that
 * is taken fails the run at once. */
static int open_http(run_t *r) {
  const cn_app_config_t *cfg = r->cfg;
  if (!cfg->http)
    return 0;
  const char *token = cfg->http_token;
  if (!token)
    token = getenv("CAMNET_HTTP_TOKEN");
  cn_http_opts_t o = {.listen = cfg->http,
                      .token = token && token[0] ? token : NULL,
                      .cors = cfg->http_cors,
                      .cert = cfg->http_cert,
                      .key = cfg->http_key,
                      .max_clients = (int)cfg->http_clients,
                      .timeout_s = (int)cfg->http_timeout,
                      .sources = r->srcs,
                      .names = r->names,
                      .nsources = r->n,
                      .quantiles = http_quantiles,
                      .mqtt = http_mqtt,
                      .opaque = r,
                      .log = &r->log};
  cn_err_t err = {0};
  if (cn_http_open(&o, &r->http, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  return 0;
}

/* A command from PREFIX/INSTANCE/NAME/set (libmosquitto's thread): the
 * consumers read these atomics for each frame. */
static void on_mqtt_set(void *opaque, int k, const cn_mqtt_cmd_t *cmd) {
  run_t *r = opaque;
  if (k < 0 || k >= r->n)
    return;
  consumer_t *c = &r->consumers[k];
  if (cmd->detect >= 0)
    atomic_store(&c->detect_off, !cmd->detect);
  if (cmd->threshold >= 0)
    atomic_store(&c->threshold_ppm, (int)lround(cmd->threshold * 1e6));
}

/* --mqtt: the client connects in the background (a broker that is down
 * is a warning, retried); the record sink is added with the others. */
static int open_mqtt(run_t *r) {
  const cn_app_config_t *cfg = r->cfg;
  if (!cfg->mqtt)
    return 0;
  for (int i = 0; i < r->n; i++)
    atomic_store(&r->consumers[i].threshold_ppm, -1);
  const char *pw = getenv("CAMNET_MQTT_PASSWORD");
  cn_mqtt_opts_t o = {.url = cfg->mqtt,
                      .password = pw && pw[0] ? pw : NULL,
                      .cafile = cfg->mqtt_cafile,
                      .cert = cfg->mqtt_cert,
                      .key = cfg->mqtt_key,
                      .instance = cfg->instance_id,
                      .qos = (int)cfg->mqtt_qos,
                      .rate = cfg->mqtt_rate,
                      .state_every_s = cfg->mqtt_state_every,
                      .sources = r->srcs,
                      .names = r->names,
                      .nsources = r->n,
                      .log = &r->log,
                      .on_set = on_mqtt_set,
                      .opaque = r};
  cn_err_t err = {0};
  if (cn_mqtt_open(&o, &r->mqtt, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  return 0;
}

/* The clock starts once everything is open, just before the threads: the
 * summary's rates are of the run, not of opening the model or window. */
static int open_run(run_t *r) {
  int status = open_all(r);
  if (!status) /* before the HTTP server, whose /state reads it */
    status = open_mqtt(r);
  if (!status)
    status = open_http(r);
  if (!status)
    status = open_records(r);
  if (!status)
    status = open_outputs(r);
  r->t_start = cn_clock_now();
  if (!status)
    status = start_all(r);
  return status;
}

/* Ends on a stop signal, the window closing, every consumer done or
 * --duration over. No wait is longer than a second, so the status line
 * stays current without a thread of its own. */
static void wait_run(run_t *r) {
  const cn_app_config_t *cfg = r->cfg;
  bool status_line = !cfg->quiet && isatty(STDERR_FILENO);
  int64_t t_status = cn_clock_now();
  bool printed = false;
  while (!atomic_load(&r->stop)) {
    if (all_done(r))
      break;
    int64_t now = cn_clock_now();
    int64_t wait_ns = CN_NS_PER_S;
    if (cfg->duration > 0) {
      int64_t left = r->t_start + (int64_t)(cfg->duration * 1e9) - now;
      if (left <= 0)
        break;
      if (left < wait_ns)
        wait_ns = left;
    }
    if (!wait_main(r, wait_ns))
      break;
    now = cn_clock_now();
    if (status_line && now - t_status >= CN_NS_PER_S) {
      print_status(r, cn_ns_to_s(now - t_status));
      t_status = now;
      printed = true;
    }
  }
  if (printed)
    fputc('\n', stderr);
  for (int i = 0; i < r->n; i++) {
    cn_source_stats_t s;
    cn_source_get_stats(r->consumers[i].src, &s);
    r->consumers[i].ended_alone = s.finished;
  }
}

/* After the threads are joined. A run that failed to open has told its
 * one error already; otherwise the first consumer's error explains the
 * exit status and the others would only repeat it. */
static int report_errors(run_t *r, int status) {
  for (int i = 0; i < r->n && !status; i++)
    if (r->consumers[i].err.code) {
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", r->consumers[i].err.msg);
      status = 1;
    }
  cn_err_t err = {0};
  if (cn_fanout_close(r->records, &err)) {
    /* The write error that ended a consumer is the same line: once. */
    bool told = false;
    for (int i = 0; i < r->n; i++)
      told |= !strcmp(r->consumers[i].err.msg, err.msg);
    if (!told)
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    status = 1;
  }
  return status;
}

/* Closing flushes the recording, so only then are its counts final; the
 * frames the presenter skipped for a slow disk are dropped ones too. */
static int close_recorder(run_t *r) {
  if (!r->rec)
    return 0;
  uint64_t rec_written = 0, rec_dropped = 0;
  cn_err_t err = {0};
  if (cn_recorder_close(r->rec, &rec_written, &rec_dropped, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    return 1;
  }
  cn_log(&r->log, CN_LOG_INFO, NULL,
         "recorded %llu frames to %s (%llu "
         "dropped by a slow disk)",
         (unsigned long long)rec_written, r->cfg->record,
         (unsigned long long)(rec_dropped + cn_present_rec_skipped(r->pres)));
  return 0;
}

/* After every thread that records has stopped. */
static int close_trace(run_t *r) {
  uint64_t lost = 0;
  cn_err_t err = {0};
  int rc = cn_trace_close(r->trace, &lost, &err);
  r->trace = NULL;
  if (rc)
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
  else if (lost)
    cn_log(&r->log, CN_LOG_WARN, NULL,
           "--trace %s: %llu events lost (a ring was full)", r->cfg->trace,
           (unsigned long long)lost);
  return rc ? 1 : 0;
}

static void free_run(run_t *r) {
  /* First: their clients and threads read the sources' figures. */
  cn_http_close(r->http);
  cn_mqtt_close(r->mqtt);
  cn_window_close(r->window);
  cn_present_destroy(r->pres);
  for (int i = 0; i < r->n; i++) {
    cn_source_destroy(r->consumers[i].src);
    free(r->consumers[i].ages);
    pthread_mutex_destroy(&r->consumers[i].take_lock);
    free(r->consumers[i].infer_ms);
  }
  cn_jsonl_destroy(r->json);
  for (int e = 0; e < MAX_ENGINES; e++)
    cn_stage_model_close(r->models[e]);
  pthread_mutex_destroy(&r->latest.lock);
  pthread_cond_destroy(&r->wake_cond);
  pthread_mutex_destroy(&r->wake_lock);
  free(r);
}

int cn_app_run(cn_app_config_t *cfg) {
  run_t *r = calloc(1, sizeof *r);
  if (!r) {
    fputs("camnet: out of memory\n", stderr);
    return 1;
  }
  r->cfg = cfg;
  r->log.level = cfg->quiet     ? CN_LOG_ERROR
                 : cfg->verbose ? CN_LOG_DEBUG
                                : CN_LOG_INFO;
  r->t_start = cn_clock_now(); /* again once everything is open */
  pthread_mutex_init(&r->latest.lock, NULL);
  pthread_mutex_init(&r->wake_lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&r->wake_cond, &ca);
  pthread_condattr_destroy(&ca);

  /* main() blocked these before anything else (and across its re-exec),
   * so a signal that came early is pending: the signal thread takes it. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  int status = 1;
  if (!pthread_create(&r->signal_thread, NULL, signals, r)) {
    r->signal_started = true;
    status = open_run(r);
  }
  if (!status)
    wait_run(r);
  atomic_store(&r->stop, true);
  close_all(r);
  int sig = atomic_load(&r->stop_sig);
  if (sig) /* what the signal interrupted is not a failure */
    status = 0;
  status = report_errors(r, status);
  if (close_trace(r))
    status = 1;
  if (close_recorder(r))
    status = 1;
  if (sig)
    cn_log(&r->log, CN_LOG_INFO, NULL, "stopped by %s",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
  /* A run that failed to start has its one error line and nothing else;
   * one stopped by a signal while opening says where each source was. */
  if (r->n && (r->consumers[r->n - 1].workers[0].started || sig)) {
    print_summary(r);
    print_mqtt(r);
  }
  free_run(r);
  return status;
}
