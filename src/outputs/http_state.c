/* The figures behind /state, /healthz and /metrics: the sources' own
 * counters (cn_source_get_stats), what the run observes per frame
 * (cn_http_observe: counts and histograms, atomics only), rates sampled
 * once a second by the encoder thread's tick, and the server's clients.
 *
 * /metrics follows Prometheus' naming: counters end in _total, times are
 * histograms in seconds, state is gauges.
 */
#include "outputs/http_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"

/* Bucket bounds in seconds (frame age, inference time). */
static const double bounds[CN_HTTP_AGE_BUCKETS] = {
    0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30};

/* Results stop "flowing" after this long without one. */
#define STALE_NS (5 * CN_NS_PER_S)

static const char *const ep_names[CN__EP_COUNT] = {
    "page",  "stream",  "snapshot", "events",
    "state", "healthz", "metrics",  "other"};

const char *cn__endpoint_name(cn__endpoint_t ep) { return ep_names[ep]; }

void cn__hist_add(cn__hist_t *hi, int64_t ns) {
  double s = (double)ns / 1e9;
  int b = 0;
  while (b < CN_HTTP_AGE_BUCKETS && s > bounds[b])
    b++;
  atomic_fetch_add(&hi->bucket[b], 1);
  atomic_fetch_add(&hi->sum_ns, (uint64_t)(ns > 0 ? ns : 0));
  atomic_fetch_add(&hi->count, 1);
}

void cn_http_observe(cn_http_t *h, int k, uint64_t seq, int64_t age_ns,
                     int64_t infer_ns) {
  if (!h || k < 0 || k >= h->o.nsources)
    return;
  cn__source_fig_t *f = &h->fig[k];
  cn__hist_add(&f->age, age_ns);
  if (infer_ns > 0) {
    cn__hist_add(&f->infer, infer_ns);
    atomic_fetch_add(&f->inferred, 1);
  }
  atomic_fetch_add(&f->outputs, 1);
  atomic_store(&f->frame, seq);
  atomic_store(&f->t_last, cn_clock_now());
}

void cn__http_tick(void *arg) {
  cn_http_t *h = arg;
  int64_t now = cn_clock_now();
  pthread_mutex_lock(&h->rate_lock);
  double dt = (double)(now - h->t_tick) / 1e9;
  for (int k = 0; k < h->o.nsources && dt > 0; k++) {
    cn__source_fig_t *f = &h->fig[k];
    cn_source_stats_t s;
    cn_source_get_stats(h->o.sources[k], &s);
    uint64_t outs = atomic_load(&f->outputs);
    f->fps_in = (double)(s.captured - f->prev_captured) / dt;
    f->fps_out = (double)(s.delivered - f->prev_delivered) / dt;
    f->results_per_s = (double)(outs - f->prev_outputs) / dt;
    f->prev_captured = s.captured;
    f->prev_delivered = s.delivered;
    f->prev_outputs = outs;
  }
  h->t_tick = now;
  pthread_mutex_unlock(&h->rate_lock);
}

static const char *state_of(const cn_source_stats_t *s) {
  return s->online ? "online" : s->finished ? "finished" : "offline";
}

static json_t *source_json(cn_http_t *h, int k) {
  cn_source_stats_t s;
  cn_source_get_stats(h->o.sources[k], &s);
  char reason[CN_ERR_MSG_MAX];
  cn_source_reason(h->o.sources[k], reason, sizeof reason);
  cn_http_quantiles_t q = {0};
  if (h->o.quantiles)
    h->o.quantiles(h->o.opaque, k, &q);
  cn__source_fig_t *f = &h->fig[k];
  pthread_mutex_lock(&h->rate_lock);
  double fin = f->fps_in, fout = f->fps_out, rps = f->results_per_s;
  pthread_mutex_unlock(&h->rate_lock);
  json_t *o = json_pack(
      "{s:i, s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:f, s:I, s:I, s:I, s:I, "
      "s:I, s:I, s:s?, s:f, s:f, s:f}",
      "index", k, "name", h->o.names[k], "uri", cn_source_uri(h->o.sources[k]),
      "state", state_of(&s), "width", s.width, "height", s.height, "fps", s.fps,
      "fps_in", fin, "fps_delivered", fout, "captured", (json_int_t)s.captured,
      "delivered", (json_int_t)s.delivered, "dropped", (json_int_t)s.dropped,
      "decode_errors", (json_int_t)s.decode_errors, "reconnects",
      (json_int_t)s.reconnects, "inferred",
      (json_int_t)atomic_load(&f->inferred), "last_error",
      reason[0] ? reason : NULL, "results_per_s", rps, "age_p50_ms",
      q.age_p50_ms, "age_p99_ms", q.age_p99_ms);
  if (o)
    json_object_set_new(o, "frame",
                        json_integer((json_int_t)atomic_load(&f->frame)));
  if (o && h->have_model) {
    json_object_set_new(o, "infer_p50_ms", json_real(q.infer_p50_ms));
    json_object_set_new(o, "infer_p99_ms", json_real(q.infer_p99_ms));
  }
  return o;
}

static json_t *model_json(cn_http_t *h) {
  char model[256], task[32], backend[32];
  pthread_mutex_lock(&h->rate_lock);
  memcpy(model, h->model, sizeof model);
  memcpy(task, h->task, sizeof task);
  memcpy(backend, h->backend, sizeof backend);
  pthread_mutex_unlock(&h->rate_lock);
  if (!model[0])
    return json_null();
  double p50 = 0, p99 = 0, rps = 0;
  uint64_t n = 0;
  for (int k = 0; k < h->o.nsources; k++) {
    cn_http_quantiles_t q = {0};
    if (h->o.quantiles)
      h->o.quantiles(h->o.opaque, k, &q);
    /* One model serves every source: the worst source's figures. */
    p50 = q.infer_p50_ms > p50 ? q.infer_p50_ms : p50;
    p99 = q.infer_p99_ms > p99 ? q.infer_p99_ms : p99;
    pthread_mutex_lock(&h->rate_lock);
    rps += h->fig[k].results_per_s;
    pthread_mutex_unlock(&h->rate_lock);
    n += atomic_load(&h->fig[k].inferred);
  }
  return json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:I}", "name", model, "task",
                   task, "backend", backend, "infer_p50_ms", p50,
                   "infer_p99_ms", p99, "results_per_s", rps, "inferred",
                   (json_int_t)n);
}

static json_t *http_json(cn_http_t *h) {
  json_t *clients = json_object();
  for (int e = 0; e < CN__EP_COUNT; e++)
    json_object_set_new(clients, ep_names[e],
                        json_integer(atomic_load(&h->clients[e])));
  double cpu_ms = 0;
  uint64_t enc = cn__store_encodes(h->store, &cpu_ms);
  uint64_t skipped = 0;
  uint64_t last = cn__events_last(h->events, &skipped);
  return json_pack("{s:o, s:I, s:f, s:I, s:I}", "clients", clients,
                   "jpeg_encodes", (json_int_t)enc, "jpeg_cpu_ms", cpu_ms,
                   "last_event_id", (json_int_t)last, "events_skipped",
                   (json_int_t)skipped);
}

static json_t *mqtt_json(cn_http_t *h) {
  cn_http_mqtt_t m;
  if (!h->o.mqtt || !h->o.mqtt(h->o.opaque, &m))
    return json_null();
  return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "connected",
                   m.connected, "records", (json_int_t)m.records, "published",
                   (json_int_t)m.published, "acknowledged",
                   (json_int_t)m.acknowledged, "dropped", (json_int_t)m.dropped,
                   "queued", (json_int_t)m.queued, "connections",
                   (json_int_t)m.connects);
}

char *cn__http_state_json(cn_http_t *h) {
  json_t *srcs = json_array();
  for (int k = 0; k < h->o.nsources; k++)
    json_array_append_new(srcs, source_json(h, k));
  json_t *root = json_pack(
      "{s:s, s:f, s:o, s:o, s:o, s:o}", "version", cn_version(), "uptime_s",
      (double)(cn_clock_now() - h->t_start) / 1e9, "sources", srcs, "model",
      model_json(h), "http", http_json(h), "mqtt", mqtt_json(h));
  char *text =
      root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(root);
  return text;
}

int cn__http_health(cn_http_t *h, char *why, size_t n) {
  int64_t now = cn_clock_now();
  for (int k = 0; k < h->o.nsources; k++) {
    cn_source_stats_t s;
    cn_source_get_stats(h->o.sources[k], &s);
    char reason[CN_ERR_MSG_MAX];
    cn_source_reason(h->o.sources[k], reason, sizeof reason);
    if (!s.online) {
      snprintf(why, n, "source %d (%s) %s%s%s", k, h->o.names[k], state_of(&s),
               reason[0] ? ": " : "", reason);
      return 1;
    }
    int64_t last = atomic_load(&h->fig[k].t_last);
    int64_t since = now - (last ? last : h->t_start);
    if (since > STALE_NS) {
      snprintf(why, n, "source %d (%s): no results for %.1f s", k,
               h->o.names[k], (double)since / 1e9);
      return 1;
    }
  }
  snprintf(why, n, "ok");
  return 0;
}
