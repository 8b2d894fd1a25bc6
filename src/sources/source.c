/* The generic half of every source: the capture thread, pacing, the
 * reconnect loop and the counters. Backends only open, read and close. */
#include "camnet/source.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "camnet/clock.h"
#include "camnet/redact.h"
#include "sources/source_internal.h"

/* The RTSP client measured faster (docs/benchmarks.md). */
/* FFmpeg stays the default until the GStreamer client opens reliably: in
 * one CI run out of two it got no data for 8 s from a fresh server. */
#define CN_SOURCE_RTSP_DEFAULT "ffmpeg"
#define BACKOFF_MIN_NS (250 * CN_NS_PER_MS)
#define BACKOFF_MAX_NS (5 * CN_NS_PER_S)
/* A camera that restarts is usually back within seconds: retry at least
 * once a second for this long after going offline, then back off. */
#define BACKOFF_EAGER_NS (30 * CN_NS_PER_S)
#define BACKOFF_EAGER_MAX_NS CN_NS_PER_S
/* Paced files that fall this far behind their clock (a slow disk, a
 * stopped process) restart the clock instead of racing to catch up. */
#define PACE_RESYNC_NS (500 * CN_NS_PER_MS)

struct cn_source {
  cn_source_opts_t opts; /* own copy; uri points into uri_buf */
  char *uri_buf;
  char shown[CN_ERR_MSG_MAX]; /* the URI without credentials */
  char prefix[32];
  const cn_source_backend_t *backend;
  void *ctx; /* backend context, owned by the pool */
  cn_pool_t *pool;
  cn_slot_t *slot;
  cn_source_env_t env;
  cn_trace_t *tracer; /* NULL: not tracing */
  atomic_bool stop;
  bool opened, started;
  pthread_t thread;

  pthread_mutex_t lock; /* guards everything below, and wake */
  pthread_cond_t wake;  /* stop requested (interrupts pacing and backoff) */
  cn_source_info_t info;
  bool online, finished;
  bool capturing; /* the thread runs: state changes are reported */
  int64_t t_state;
  uint64_t reconnects;
  int last_error;
  char reason[CN_ERR_MSG_MAX]; /* message of the last failure */
  cn_err_t finish_err;         /* why the thread ended, if by failure */
  int64_t cpu_ns;
  int64_t online_ns; /* online time before t_state */
  double last_pts;
};

void cn_source_opts_default(cn_source_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->transport = "tcp";
  o->rtsp_via = CN_SOURCE_RTSP_DEFAULT;
  o->latency_ms = 50;
  o->timeout_ms = 5000;
  o->reconnect = -1;
}

static const cn_source_backend_t *pick_backend(const cn_source_opts_t *o) {
  if (strncmp(o->uri, "test:", 5) == 0)
    return &cn__source_test;
  if (strncmp(o->uri, "gst:", 4) == 0)
    return &cn__source_gst;
  /* rtsps:// and rtspt:// too: both clients take them. */
  bool rtsp = strncasecmp(o->uri, "rtsp://", 7) == 0 ||
              strncasecmp(o->uri, "rtsps://", 8) == 0 ||
              strncasecmp(o->uri, "rtspt://", 8) == 0;
  if (rtsp && strcmp(o->rtsp_via, "ffmpeg") != 0)
    return &cn__source_rtsp_gst;
  return &cn__source_ffmpeg;
}

int cn_source_create(const cn_source_opts_t *opts, cn_source_t **out,
                     cn_err_t *err) {
  *out = NULL;
  if (!opts || !opts->uri || !*opts->uri)
    return cn_err_set(err, CN_EINVAL, "source: no URI given");
  if (opts->width < 0 || opts->height < 0 || opts->fps < 0 ||
      opts->timeout_ms < 0 || opts->latency_ms < 0)
    return cn_err_set(err, CN_EINVAL, "%s: negative size, rate or time",
                      opts->uri);
  if (opts->rtsp_via && strcmp(opts->rtsp_via, "gst") &&
      strcmp(opts->rtsp_via, "ffmpeg"))
    return cn_err_set(err, CN_EINVAL, "rtsp_via: '%s' is not gst or ffmpeg",
                      opts->rtsp_via);
  cn_source_t *src = calloc(1, sizeof *src);
  if (!src)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", opts->uri);
  src->opts = *opts;
  src->last_pts = NAN;
  src->uri_buf = strdup(opts->uri);
  src->opts.uri = src->uri_buf;
  cn_redact_uri(opts->uri, src->shown, sizeof src->shown);
  if (!src->opts.transport)
    src->opts.transport = "tcp";
  if (!src->opts.rtsp_via)
    src->opts.rtsp_via = CN_SOURCE_RTSP_DEFAULT;
  if (!src->opts.timeout_ms)
    src->opts.timeout_ms = 5000;
  snprintf(src->prefix, sizeof src->prefix, "source %d", opts->index);
  pthread_mutex_init(&src->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&src->wake, &attr);
  pthread_condattr_destroy(&attr);
  src->env.opts = &src->opts;
  src->env.prefix = src->prefix;
  src->env.stop = &src->stop;
  src->env.src = src;
  src->backend = pick_backend(&src->opts);
  src->slot = cn_slot_create();
  int rc = src->uri_buf && src->slot ? 0 : CN_ENOMEM;
  if (rc)
    cn_err_set(err, rc, "%s: out of memory", opts->uri);
  else
    rc = src->backend->create(&src->env, &src->ctx, err);
  if (rc == 0) {
    cn_pool_opts_t po = {.max_frames = 16,
                         .priv_init = src->backend->priv_init,
                         .priv_reset = src->backend->priv_reset,
                         .priv_free = src->backend->priv_free,
                         .develop = src->backend->develop,
                         .ctx = src->ctx,
                         .ctx_free = src->backend->destroy};
    src->pool = cn_pool_create(&po, err);
    if (!src->pool) {
      src->backend->destroy(src->ctx);
      rc = CN_ENOMEM;
    }
  }
  if (rc) {
    src->ctx = NULL;
    cn_source_destroy(src);
    return rc;
  }
  *out = src;
  return 0;
}

/* why: the failure (NULL when coming online or stopping). */
static void set_state(cn_source_t *src, bool online, const cn_err_t *why) {
  pthread_mutex_lock(&src->lock);
  bool changed = src->online != online;
  if (changed) {
    int64_t now = cn_clock_now();
    if (src->online)
      src->online_ns += now - src->t_state;
    src->t_state = now;
  }
  src->online = online;
  if (why && why->code) {
    src->last_error = why->code;
    snprintf(src->reason, sizeof src->reason, "%s", why->msg);
  }
  int64_t t = src->t_state;
  bool tell = changed && src->info.live && src->capturing &&
              !atomic_load(&src->stop) && src->opts.on_state;
  pthread_mutex_unlock(&src->lock);
  if (tell)
    src->opts.on_state(src->opts.opaque, src->opts.index, online,
                       online ? NULL : src->reason, t);
}

int cn_source_open(cn_source_t *src, cn_err_t *err) {
  if (src->opened)
    return 0;
  cn_source_info_t info = {0};
  int rc = src->backend->open(src->ctx, &info, err);
  if (rc) {
    set_state(src, false, err);
    return rc;
  }
  pthread_mutex_lock(&src->lock);
  src->info = info;
  pthread_mutex_unlock(&src->lock);
  src->opened = true;
  set_state(src, true, NULL);
  cn_log(src->opts.log, CN_LOG_DEBUG, src->prefix, "%s: %dx%d %.3g fps %s%s",
         src->opts.uri, info.width, info.height, info.fps, info.codec,
         info.live ? " (live)" : "");
  return 0;
}

/* Sleeps until the absolute monotonic time t, or until stop. Returns
 * false if stopping. */
static bool wait_until(cn_source_t *src, int64_t t) {
  struct timespec ts = {(time_t)(t / CN_NS_PER_S), (long)(t % CN_NS_PER_S)};
  pthread_mutex_lock(&src->lock);
  while (!atomic_load(&src->stop) &&
         pthread_cond_timedwait(&src->wake, &src->lock, &ts) == 0)
    ;
  pthread_mutex_unlock(&src->lock);
  return !atomic_load(&src->stop);
}

bool cn__source_wait_until(cn_source_env_t *env, int64_t t) {
  return wait_until(env->src, t);
}

/* Pacing for files: frame k goes live at t0 + (pts_k - pts_0), or at
 * t0 + k / fps when the file has no timestamps. */
typedef struct pacer {
  int64_t t0;
  double pts0;
  uint64_t n;
} pacer_t;

static bool pace(cn_source_t *src, pacer_t *p, cn_frame_t *f, double fps) {
  int64_t now = cn_clock_now();
  double offset;
  if (p->n == 0 || (!isnan(f->pts) && !isnan(p->pts0) && f->pts < p->pts0)) {
    p->t0 = now;
    p->pts0 = f->pts;
    p->n = 0;
  }
  if (!isnan(f->pts) && !isnan(p->pts0))
    offset = f->pts - p->pts0;
  else
    offset = (double)p->n / (fps > 0 ? fps : 25.0);
  p->n++;
  int64_t target = p->t0 + (int64_t)(offset * 1e9);
  if (now - target > PACE_RESYNC_NS) {
    p->t0 = now;
    p->pts0 = f->pts;
    p->n = 1;
    return true;
  }
  return target <= now || wait_until(src, target);
}

static void finish(cn_source_t *src, const cn_err_t *why) {
  pthread_mutex_lock(&src->lock);
  src->finished = true;
  if (why && why->code) {
    src->finish_err = *why;
    src->last_error = why->code;
  }
  pthread_mutex_unlock(&src->lock);
  set_state(src, false, NULL);
  cn_slot_close(src->slot);
}

/* Once per frame (f: the frame just captured, or NULL). */
static void account(cn_source_t *src, const cn_frame_t *f) {
  int64_t cpu = cn_clock_thread_cpu();
  pthread_mutex_lock(&src->lock);
  src->cpu_ns = cpu;
  if (f)
    src->last_pts = f->pts;
  pthread_mutex_unlock(&src->lock);
}

/* Trace: the frame a put dropped (replaced untaken): its wait in the
 * slot, which began at the previous put (seq - 1), ends now. */
static void trace_drop(cn_source_t *src, uint64_t dropped, uint64_t seq,
                       int64_t t_prev_put) {
  cn_trace_ring_t *r = src->env.trace;
  int k = src->opts.index;
  int64_t now = cn_clock_now();
  cn_trace_instant(r, CN_TR_DROP, k, dropped, now);
  cn_trace_span(r, CN_TR_SLOT, k, dropped,
                dropped == seq - 1 ? t_prev_put : now, now);
}

/* Reads frames until the stream fails, ends or the source stops. Returns
 * 0 on stop or a clean end of file, else the failure (in err). */

static int capture(cn_source_t *src, uint64_t *seq, cn_err_t *err) {
  pacer_t pacer = {0};
  bool live = src->info.live;
  bool paced = !live && !src->opts.every_frame;
  int64_t t_prev_put = 0;
  while (!atomic_load(&src->stop)) {
    cn_frame_t *f = cn_pool_get(src->pool, err);
    if (!f)
      return err ? err->code : CN_EAGAIN;
    int64_t t_read = cn_trace_on(src->env.trace) ? cn_clock_now() : 0;
    src->env.next_seq = *seq + 1;
    int rc = src->backend->read(src->ctx, f, err);
    if (rc == CN_EAGAIN) {
      cn_frame_unref(&f);
      continue;
    }
    if (rc == CN_EOF && !live && src->opts.loop) {
      cn_frame_unref(&f);
      if (src->backend->rewind)
        rc = src->backend->rewind(src->ctx, err);
      else {
        cn_source_info_t info = {0};
        src->backend->close(src->ctx);
        rc = src->backend->open(src->ctx, &info, err);
      }
      pacer.n = 0;
      if (rc)
        return rc;
      continue;
    }
    if (rc) {
      cn_frame_unref(&f);
      if (rc == CN_EOF && live)
        return cn_err_set(err, CN_EOF, "%s: stream ended", src->opts.uri);
      return rc == CN_EOF ? 0 : rc;
    }
    if (paced) {
      if (!pace(src, &pacer, f, src->info.fps)) {
        cn_frame_unref(&f);
        break;
      }
      /* A paced file frame is captured, and ready, when it goes live. */
      f->t_capture = f->t_decode = cn_clock_now();
    }
    if (!f->t_decode)
      f->t_decode = cn_clock_now();
    if (!f->t_capture)
      f->t_capture = f->t_decode;
    f->source = src->opts.index;
    f->seq = ++*seq;
    /* The wall clock at capture: now, less the time since t_capture (a
     * driver's or the network's stamp, taken earlier). */
    int64_t now = cn_clock_now();
    f->t_wall = cn_clock_wall() - (now > f->t_capture ? now - f->t_capture : 0);
    uint64_t dropped = 0;
    /* A paced file frame's capture lasts until it goes live. */
    cn_trace_span(src->env.trace, CN_TR_CAPTURE, src->opts.index, f->seq,
                  t_read, f->t_decode);
    int64_t t_put = f->t_decode;
    account(src, f);
    if (src->opts.every_frame && !live) {
      if (cn_slot_put_wait(src->slot, f))
        break;
    } else {
      dropped = cn_slot_put(src->slot, f); /* f may be gone now */
    }
    if (dropped && cn_trace_on(src->env.trace))
      trace_drop(src, dropped, *seq, t_prev_put);
    t_prev_put = t_put;
  }
  return 0;
}

static void *capture_thread(void *arg) {
  cn_source_t *src = arg;
  char lane[32];
  snprintf(lane, sizeof lane, "capture %d", src->opts.index);
  src->env.trace = cn_trace_thread(src->tracer, lane, src->opts.index, true);
  uint64_t seq = 0;
  int failures = 0;
  int64_t backoff = BACKOFF_MIN_NS;
  cn_err_t err = {0};
  for (;;) {
    err.code = 0;
    int rc = capture(src, &seq, &err);
    account(src, NULL);
    if (atomic_load(&src->stop) || rc == 0 || !src->info.live) {
      finish(src, rc ? &err : NULL);
      if (rc && !atomic_load(&src->stop))
        cn_log(src->opts.log, CN_LOG_ERROR, src->prefix, "%s", err.msg);
      return NULL;
    }
    /* A live source failed: offline, then reopen with backoff. A frame
     * from before the outage is not handed out after it. */
    set_state(src, false, &err);
    int64_t t_offline = cn_clock_now();
    cn_slot_drop_pending(src->slot);
    cn_log(src->opts.log, CN_LOG_WARN, src->prefix, "offline: %s", err.msg);
    cn_log_once_t still = {0};
    snprintf(still.last, sizeof still.last, "still offline: %s", err.msg);
    src->backend->close(src->ctx);
    for (;;) {
      if (src->opts.reconnect >= 0 && failures >= src->opts.reconnect) {
        cn_err_set(&err, err.code ? err.code : rc,
                   "%s: gave up after %d "
                   "reconnect attempt%s",
                   src->opts.uri, failures, failures == 1 ? "" : "s");
        cn_log(src->opts.log, CN_LOG_ERROR, src->prefix, "%s", err.msg);
        finish(src, &err);
        return NULL;
      }
      if (!wait_until(src, cn_clock_now() + backoff)) {
        finish(src, NULL);
        return NULL;
      }
      failures++;
      int64_t cap = cn_clock_now() - t_offline < BACKOFF_EAGER_NS
                        ? BACKOFF_EAGER_MAX_NS
                        : BACKOFF_MAX_NS;
      backoff = backoff * 2 > cap ? cap : backoff * 2;
      cn_source_info_t info = {0};
      cn_err_t open_err = {0};
      rc = src->backend->open(src->ctx, &info, &open_err);
      if (rc == 0) {
        pthread_mutex_lock(&src->lock);
        src->info = info;
        src->reconnects++;
        pthread_mutex_unlock(&src->lock);
        set_state(src, true, NULL);
        cn_log(src->opts.log, CN_LOG_INFO, src->prefix, "online again: %s",
               src->opts.uri);
        failures = 0;
        backoff = BACKOFF_MIN_NS;
        break;
      }
      set_state(src, false, &open_err);
      /* A failing reopen is logged only when its reason changes. */
      cn_log_once(src->opts.log, &still, CN_LOG_WARN, src->prefix,
                  "still offline: %s", open_err.msg);
      err = open_err;
    }
  }
}

int cn_source_start(cn_source_t *src, cn_err_t *err) {
  if (src->started)
    return 0;
  int rc = cn_source_open(src, err);
  if (rc)
    return rc;
  pthread_mutex_lock(&src->lock);
  src->capturing = true;
  pthread_mutex_unlock(&src->lock);
  if (pthread_create(&src->thread, NULL, capture_thread, src))
    return cn_err_set(err, CN_ENOMEM, "%s: cannot start capture thread",
                      src->opts.uri);
  src->started = true;
  return 0;
}

void cn_source_interrupt(cn_source_t *src) {
  if (!src)
    return;
  pthread_mutex_lock(&src->lock);
  atomic_store(&src->stop, true);
  pthread_cond_broadcast(&src->wake);
  pthread_mutex_unlock(&src->lock);
}

void cn_source_stop(cn_source_t *src) {
  if (!src)
    return;
  pthread_mutex_lock(&src->lock);
  atomic_store(&src->stop, true);
  pthread_cond_broadcast(&src->wake);
  pthread_mutex_unlock(&src->lock);
  if (src->slot)
    cn_slot_close(src->slot); /* releases an every-frame put_wait */
  if (src->started) {
    pthread_join(src->thread, NULL);
    src->started = false;
  }
  if (src->opened) {
    src->backend->close(src->ctx);
    src->opened = false;
  }
}

void cn_source_destroy(cn_source_t *src) {
  if (!src)
    return;
  cn_source_stop(src);
  cn_slot_destroy(src->slot);
  /* The pool frees the backend context once the last frame is back. */
  cn_pool_destroy(src->pool);
  pthread_cond_destroy(&src->wake);
  pthread_mutex_destroy(&src->lock);
  free(src->uri_buf);
  free(src);
}

void cn__source_set_trace(cn_source_t *src, cn_trace_t *t) { src->tracer = t; }

int cn_source_take(cn_source_t *src, uint64_t after_seq, int64_t timeout_ns,
                   cn_frame_t **out, uint64_t *out_seq, cn_err_t *err) {
  return cn__source_take_traced(src, after_seq, timeout_ns, out, out_seq, err,
                                NULL);
}

int cn__source_take_traced(cn_source_t *src, uint64_t after_seq,
                           int64_t timeout_ns, cn_frame_t **out,
                           uint64_t *out_seq, cn_err_t *err,
                           cn_trace_ring_t *ring) {
  *out = NULL;
  cn_frame_t *f = NULL;
  int64_t t_enter = cn_trace_on(ring) ? cn_clock_now() : 0;
  int rc = cn_slot_take(src->slot, after_seq, timeout_ns, &f);
  if (rc == CN_ECLOSED) {
    pthread_mutex_lock(&src->lock);
    if (src->finish_err.code && err)
      *err = src->finish_err;
    else
      cn_err_set(err, CN_EOF, "%s: end of stream", src->opts.uri);
    pthread_mutex_unlock(&src->lock);
    return CN_EOF;
  }
  if (rc == CN_ETIMEDOUT)
    return cn_err_set(err, rc, "%s: no new frame within %.0f ms", src->opts.uri,
                      cn_ns_to_ms(timeout_ns));
  if (out_seq)
    *out_seq = f->seq;
  int64_t t_dev = 0;
  if (cn_trace_on(ring)) {
    /* The wait ends at the first take: a second taker does not draw it
     * again. */
    t_dev = cn_clock_now();
    if (f->t_take >= t_enter)
      cn_trace_span(ring, CN_TR_SLOT, f->source, f->seq, f->t_decode,
                    f->t_take);
  }
  rc = cn_frame_develop(f, err);
  if (cn_trace_on(ring))
    cn_trace_span(ring, CN_TR_DEVELOP, f->source, f->seq, t_dev,
                  cn_clock_now());
  if (rc) {
    atomic_fetch_add(&src->env.decode_errors, 1);
    cn_frame_unref(&f);
    return rc;
  }
  *out = f;
  return 0;
}

void cn_source_reason(cn_source_t *src, char *buf, size_t n) {
  pthread_mutex_lock(&src->lock);
  snprintf(buf, n, "%s", src->reason);
  pthread_mutex_unlock(&src->lock);
}

cn_slot_t *cn_source_slot(cn_source_t *src) { return src->slot; }

const char *cn_source_uri(const cn_source_t *src) { return src->shown; }

void cn_source_get_stats(cn_source_t *src, cn_source_stats_t *out) {
  cn_slot_counts_t c;
  cn_slot_get_counts(src->slot, &c);
  memset(out, 0, sizeof *out);
  out->captured = c.put;
  out->delivered = c.delivered;
  out->dropped = c.dropped;
  out->pending = c.pending;
  out->decode_errors = atomic_load(&src->env.decode_errors);
  pthread_mutex_lock(&src->lock);
  out->reconnects = src->reconnects;
  out->online = src->online;
  out->finished = src->finished;
  out->t_state = src->t_state;
  out->cpu_ns = src->cpu_ns;
  out->online_ns =
      src->online_ns + (src->online ? cn_clock_now() - src->t_state : 0);
  out->last_pts = src->last_pts;
  out->end_pts = src->info.end_pts;
  out->width = src->info.width;
  out->height = src->info.height;
  out->fps = src->info.fps;
  out->live = src->info.live;
  snprintf(out->codec, sizeof out->codec, "%s", src->info.codec);
  out->last_error = src->last_error;
  pthread_mutex_unlock(&src->lock);
}
