/* /metrics: the Prometheus text format (version 0.0.4). Counters end in
 * _total, times are histograms in seconds (cumulative buckets, _sum,
 * _count), state is gauges. Label values are escaped as the format
 * requires (backslash, quote, newline). */
#include "outputs/http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"

static const double bounds[CN_HTTP_AGE_BUCKETS] = {
    0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30};

/* name="value" with the value escaped, into out. */
static void label(char *out, size_t n, const char *value) {
  size_t o = 0;
  for (const char *p = value; *p && o + 3 < n; p++) {
    if (*p == '\\' || *p == '"') {
      out[o++] = '\\';
      out[o++] = *p;
    } else if (*p == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else {
      out[o++] = *p;
    }
  }
  out[o] = 0;
}

static void family(FILE *f, const char *name, const char *type,
                   const char *help) {
  fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef struct counter {
  const char *name, *help;
  size_t offset; /* in cn_source_stats_t */
} counter_t;

#define S(field) offsetof(cn_source_stats_t, field)
static const counter_t counters[] = {
    {"camnet_frames_captured_total", "Frames the source captured.",
     S(captured)},
    {"camnet_frames_delivered_total", "Frames taken by the consumer.",
     S(delivered)},
    {"camnet_frames_dropped_total",
     "Frames replaced by a newer one before anyone took them.", S(dropped)},
    {"camnet_decode_errors_total", "Packets or frames that failed to decode.",
     S(decode_errors)},
    {"camnet_reconnects_total", "Successful reopens after a failure.",
     S(reconnects)},
};
#undef S

static void source_counters(cn_http_t *h, FILE *f, char (*names)[300]) {
  cn_source_stats_t st[CN_HTTP_MAX_SOURCES];
  for (int k = 0; k < h->o.nsources; k++)
    cn_source_get_stats(h->o.sources[k], &st[k]);
  for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
    family(f, counters[c].name, "counter", counters[c].help);
    for (int k = 0; k < h->o.nsources; k++)
      fprintf(f, "%s{source=\"%s\"} %llu\n", counters[c].name, names[k],
              (unsigned long long)*(const uint64_t *)((const char *)&st[k] +
                                                      counters[c].offset));
  }
  family(f, "camnet_frames_inferred_total", "counter",
         "Frames the network ran on.");
  for (int k = 0; k < h->o.nsources; k++)
    fprintf(f, "camnet_frames_inferred_total{source=\"%s\"} %llu\n", names[k],
            (unsigned long long)atomic_load(&h->fig[k].inferred));
  family(f, "camnet_source_online", "gauge",
         "1 while the source delivers frames.");
  for (int k = 0; k < h->o.nsources; k++)
    fprintf(f, "camnet_source_online{source=\"%s\"} %d\n", names[k],
            st[k].online ? 1 : 0);
}

static void histogram(FILE *f, const char *name, const char *lbl,
                      const cn__hist_t *hi) {
  uint64_t cum = 0;
  for (int b = 0; b < CN_HTTP_AGE_BUCKETS; b++) {
    cum += atomic_load(&hi->bucket[b]);
    fprintf(f, "%s_bucket{source=\"%s\",le=\"%g\"} %llu\n", name, lbl,
            bounds[b], (unsigned long long)cum);
  }
  cum += atomic_load(&hi->bucket[CN_HTTP_AGE_BUCKETS]);
  /* count is read after the buckets: never below their sum. */
  uint64_t count = atomic_load(&hi->count);
  if (count < cum)
    count = cum;
  fprintf(f, "%s_bucket{source=\"%s\",le=\"+Inf\"} %llu\n", name, lbl,
          (unsigned long long)count);
  fprintf(f, "%s_sum{source=\"%s\"} %.9f\n", name, lbl,
          (double)atomic_load(&hi->sum_ns) / 1e9);
  fprintf(f, "%s_count{source=\"%s\"} %llu\n", name, lbl,
          (unsigned long long)count);
}

static void server_figures(cn_http_t *h, FILE *f) {
  family(f, "camnet_http_clients", "gauge", "Open HTTP requests by endpoint.");
  for (int e = 0; e < CN__EP_COUNT; e++)
    fprintf(f, "camnet_http_clients{endpoint=\"%s\"} %d\n",
            cn__endpoint_name(e), atomic_load(&h->clients[e]));
  family(f, "camnet_http_requests_total", "counter",
         "HTTP requests answered, by endpoint.");
  for (int e = 0; e < CN__EP_COUNT; e++)
    fprintf(f, "camnet_http_requests_total{endpoint=\"%s\"} %llu\n",
            cn__endpoint_name(e),
            (unsigned long long)atomic_load(&h->requests[e]));
  double cpu_ms = 0;
  uint64_t enc = cn__store_encodes(h->store, &cpu_ms);
  family(f, "camnet_http_jpeg_encodes_total", "counter",
         "Pictures encoded to JPEG (once per picture and variant).");
  fprintf(f, "camnet_http_jpeg_encodes_total %llu\n", (unsigned long long)enc);
  family(f, "camnet_http_jpeg_cpu_seconds_total", "counter",
         "CPU time spent encoding JPEG.");
  fprintf(f, "camnet_http_jpeg_cpu_seconds_total %.6f\n", cpu_ms / 1e3);
  uint64_t skipped = 0;
  cn__events_last(h->events, &skipped);
  family(f, "camnet_http_events_skipped_total", "counter",
         "Records /events clients missed by falling behind the backlog.");
  fprintf(f, "camnet_http_events_skipped_total %llu\n",
          (unsigned long long)skipped);
  family(f, "camnet_uptime_seconds", "gauge", "Seconds since camnet started.");
  fprintf(f, "camnet_uptime_seconds %.3f\n",
          (double)(cn_clock_now() - h->t_start) / 1e9);
  family(f, "camnet_build_info", "gauge", "camnet's version.");
  fprintf(f, "camnet_build_info{version=\"%s\"} 1\n", cn_version());
}

/* The MQTT output's figures, when there is one. */
static void mqtt_figures(cn_http_t *h, FILE *f) {
  cn_http_mqtt_t m;
  if (!h->o.mqtt || !h->o.mqtt(h->o.opaque, &m))
    return;
  const struct {
    const char *name, *type, *help;
    uint64_t v;
  } rows[] = {
      {"camnet_mqtt_records_total", "counter",
       "Messages given to the MQTT queue (results and states).", m.records},
      {"camnet_mqtt_published_total", "counter",
       "MQTT messages handed to the client library.", m.published},
      {"camnet_mqtt_acknowledged_total", "counter",
       "MQTT messages acknowledged (QoS 1) or written (QoS 0).",
       m.acknowledged},
      {"camnet_mqtt_dropped_total", "counter",
       "MQTT messages dropped by the full queue.", m.dropped},
      {"camnet_mqtt_connections_total", "counter",
       "Connections to the MQTT broker.", m.connects},
      {"camnet_mqtt_queued", "gauge",
       "MQTT messages queued or awaiting acknowledgement.", m.queued},
      {"camnet_mqtt_connected", "gauge", "1 while connected to the broker.",
       m.connected ? 1 : 0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    family(f, rows[i].name, rows[i].type, rows[i].help);
    fprintf(f, "%s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
  }
}

char *cn__http_metrics(cn_http_t *h) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return NULL;
  char(*lbl)[300] = calloc(CN_HTTP_MAX_SOURCES, sizeof *lbl);
  if (!lbl) {
    fclose(f);
    free(text);
    return NULL;
  }
  for (int k = 0; k < h->o.nsources; k++)
    label(lbl[k], sizeof lbl[k], h->o.names[k]);
  source_counters(h, f, lbl);
  family(f, "camnet_frame_age_seconds", "histogram",
         "Capture to output time of each frame.");
  for (int k = 0; k < h->o.nsources; k++)
    histogram(f, "camnet_frame_age_seconds", lbl[k], &h->fig[k].age);
  if (h->have_model) {
    family(f, "camnet_inference_seconds", "histogram",
           "Time the network took per frame.");
    for (int k = 0; k < h->o.nsources; k++)
      histogram(f, "camnet_inference_seconds", lbl[k], &h->fig[k].infer);
  }
  server_figures(h, f);
  mqtt_figures(h, f);
  free(lbl);
  if (fclose(f)) {
    free(text);
    return NULL;
  }
  return text;
}
