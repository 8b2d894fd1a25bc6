/* Threads: one capture thread per source (inside cn_source), one consumer
 * thread per source that takes the newest frame and writes it out, and the
 * main thread, which only waits for signals: SIGINT/SIGTERM stop the run,
 * SIGUSR1 is a consumer saying "look at the stop conditions", and the
 * one-second timeout of sigtimedwait drives the status line. No thread
 * polls. */
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

#include "app/latency.h"
#include "core/clock.h"
#include "outputs/jsonl.h"
#include "sources/source.h"

typedef struct run run_t;

typedef struct consumer {
  run_t *run;
  cn_source_t *src;
  pthread_t thread;
  bool started;
  cn_latency_t *ages; /* capture -> output */
  atomic_bool done;
  cn_err_t err; /* why it ended, if not by a clean end of stream */
  /* status line: previous counters */
  uint64_t prev_captured, prev_delivered;
} consumer_t;

struct run {
  cn_app_config_t *cfg;
  cn_logger_t log;
  cn_jsonl_t *json;
  consumer_t consumers[CN_APP_MAX_SOURCES];
  int n;
  atomic_bool stop;
  atomic_int_fast64_t written;
  pthread_t main_thread;
  int64_t t_start;
};

static void wake_main(run_t *r) { pthread_kill(r->main_thread, SIGUSR1); }

static void *consume(void *arg) {
  consumer_t *c = arg;
  run_t *r = c->run;
  uint64_t last = 0;
  while (!atomic_load(&r->stop)) {
    cn_frame_t *f = NULL;
    uint64_t seq = 0;
    cn_err_t err = {0};
    int rc = cn_source_take(c->src, last, -1, &f, &seq, &err);
    if (rc == CN_EOF) {
      if (err.code && err.code != CN_EOF)
        c->err = err;
      break;
    }
    if (rc) {
      /* A frame that failed to develop is counted by the source. */
      cn_log(&r->log, CN_LOG_WARN, NULL, "%s", err.msg);
      if (seq)
        last = seq;
      continue;
    }
    last = f->seq;
    int64_t n = atomic_fetch_add(&r->written, 1);
    if (r->cfg->frames && n >= r->cfg->frames) {
      cn_frame_unref(&f);
      break;
    }
    if (r->json && cn_jsonl_write(r->json, f, &err)) {
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
      c->err = err;
      atomic_store(&r->stop, true);
      cn_frame_unref(&f);
      break;
    }
    if (!f->t_out)
      f->t_out = cn_clock_now();
    cn_latency_add(c->ages, f->t_out - f->t_capture);
    cn_frame_unref(&f);
    if (r->cfg->frames && n + 1 >= r->cfg->frames)
      break;
  }
  atomic_store(&c->done, true);
  wake_main(r);
  return NULL;
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
    len += snprintf(line + len, sizeof line - (size_t)len,
                    "%s[%d] %s in %5.1f fps out %5.1f fps drop %llu age %.1f ms",
                    i ? "  " : "", i, s.online ? "on " : "OFF",
                    (double)(s.captured - c->prev_captured) / dt,
                    (double)(s.delivered - c->prev_delivered) / dt,
                    (unsigned long long)s.dropped,
                    cn_latency_quantile_ms(c->ages, 0.5));
    c->prev_captured = s.captured;
    c->prev_delivered = s.delivered;
  }
  fprintf(stderr, "\r%s\033[K", line);
}

static void print_summary(run_t *r) {
  double secs = cn_ns_to_s(cn_clock_now() - r->t_start);
  for (int i = 0; i < r->n; i++) {
    consumer_t *c = &r->consumers[i];
    cn_source_stats_t s;
    cn_source_get_stats(c->src, &s);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "source %d", i);
    cn_log(&r->log, CN_LOG_INFO, prefix,
           "%s: %dx%d %s, %.1f s: %llu captured, %llu delivered, %llu "
           "dropped, %llu decode errors, %llu reconnects; %.1f fps in, "
           "%.1f fps out; age p50 %.2f ms, p99 %.2f ms; capture CPU %.2f "
           "ms/frame",
           cn_source_uri(c->src), s.width, s.height, s.codec, secs,
           (unsigned long long)s.captured, (unsigned long long)s.delivered,
           (unsigned long long)s.dropped,
           (unsigned long long)s.decode_errors,
           (unsigned long long)s.reconnects, (double)s.captured / secs,
           (double)s.delivered / secs, cn_latency_quantile_ms(c->ages, 0.5),
           cn_latency_quantile_ms(c->ages, 0.99),
           s.captured ? cn_ns_to_ms(s.cpu_ns) / (double)s.captured : 0.0);
  }
}

static void init_source_opts(const cn_app_config_t *cfg, int i,
                             const cn_logger_t *log, cn_source_opts_t *o) {
  cn_source_opts_default(o);
  o->uri = cfg->sources[i];
  o->index = i;
  o->width = (int)cfg->width;
  o->height = (int)cfg->height;
  o->fps = cfg->fps;
  o->input_format = cfg->input_format;
  o->transport = cfg->transport;
  o->latency_ms = (int)cfg->latency_ms;
  o->timeout_ms = (int)cfg->timeout_ms;
  o->reconnect = (int)cfg->reconnect;
  o->every_frame = cfg->every_frame;
  o->loop = cfg->loop;
  o->log = log;
}

static int open_all(run_t *r) {
  for (int i = 0; i < r->cfg->n_sources; i++) {
    consumer_t *c = &r->consumers[i];
    cn_source_opts_t o;
    cn_err_t err = {0};
    init_source_opts(r->cfg, i, &r->log, &o);
    c->run = r;
    c->ages = calloc(1, sizeof *c->ages);
    r->n = i + 1;
    if (!c->ages || cn_source_create(&o, &c->src, &err) ||
        cn_source_open(c->src, &err)) {
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s",
             c->ages ? err.msg : "out of memory");
      return 1;
    }
  }
  return 0;
}

static void close_all(run_t *r) {
  for (int i = 0; i < r->n; i++)
    cn_source_stop(r->consumers[i].src);
  for (int i = 0; i < r->n; i++) {
    consumer_t *c = &r->consumers[i];
    if (c->started)
      pthread_join(c->thread, NULL);
  }
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
  r->main_thread = pthread_self();

  /* Every thread inherits this mask; only sigtimedwait below sees them. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  int status = open_all(r);
  cn_err_t err = {0};
  if (!status && cfg->json && cn_jsonl_open(cfg->json, &r->json, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    status = 1;
  }
  r->t_start = cn_clock_now();
  for (int i = 0; !status && i < r->n; i++) {
    consumer_t *c = &r->consumers[i];
    if (cn_source_start(c->src, &err)) {
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
      status = 1;
    } else if (pthread_create(&c->thread, NULL, consume, c) == 0) {
      c->started = true;
    } else {
      status = 1;
    }
  }

  bool status_line = !cfg->quiet && isatty(STDERR_FILENO);
  int64_t t_status = cn_clock_now();
  bool printed = false;
  while (!status) {
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
    struct timespec ts = {(time_t)(wait_ns / CN_NS_PER_S),
                          (long)(wait_ns % CN_NS_PER_S)};
    int sig = sigtimedwait(&sigs, NULL, &ts);
    if (sig == SIGINT || sig == SIGTERM)
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
  atomic_store(&r->stop, true);
  close_all(r);
  for (int i = 0; i < r->n && !status; i++)
    if (r->consumers[i].err.code) {
      cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", r->consumers[i].err.msg);
      status = 1;
    }
  if (cn_jsonl_close(r->json, &err)) {
    cn_log(&r->log, CN_LOG_ERROR, NULL, "%s", err.msg);
    status = 1;
  }
  /* A run that never started has its one error line and nothing else. */
  if (r->n && r->consumers[r->n - 1].started)
    print_summary(r);
  for (int i = 0; i < r->n; i++) {
    cn_source_destroy(r->consumers[i].src);
    free(r->consumers[i].ages);
  }
  free(r);
  return status;
}
