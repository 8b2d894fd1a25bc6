/* The parts of the HTTP output (http.h), one concern per file:
 *   http_server.c  daemon, limits, authentication, routing
 *   http_stream.c  /stream and /snapshot (MJPEG parts, advance headers)
 *   http_jpeg.c    the encoder thread and the newest JPEG per variant
 *   http_events.c  the record backlog and /events (SSE)
 *   http_state.c   /state, /healthz, /metrics and the per-source figures
 *   http_page.c    the page at /
 */
#ifndef CN_OUTPUTS_HTTP_INTERNAL_H
#define CN_OUTPUTS_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "outputs/http.h"

struct MHD_Connection;
struct MHD_Response;

#include "outputs/http_events.h"
#include "outputs/http_store.h"

/* ---- http_state.c: figures ----------------------------------------- */

#define CN_HTTP_AGE_BUCKETS 12

typedef struct cn__hist {
  _Atomic uint64_t bucket[CN_HTTP_AGE_BUCKETS + 1]; /* last: +Inf */
  _Atomic uint64_t sum_ns, count;
} cn__hist_t;

typedef enum cn__endpoint {
  CN__EP_PAGE,
  CN__EP_STREAM,
  CN__EP_SNAPSHOT,
  CN__EP_EVENTS,
  CN__EP_STATE,
  CN__EP_HEALTHZ,
  CN__EP_METRICS,
  CN__EP_OTHER,
  CN__EP_COUNT
} cn__endpoint_t;

typedef struct cn__source_fig {
  cn__hist_t age, infer;
  _Atomic uint64_t outputs, inferred;
  _Atomic uint64_t frame; /* the newest output's seq */
  _Atomic int64_t t_last; /* ns of the last output; 0 none */
  /* rates, written by the tick (encoder thread) under h->rate_lock */
  uint64_t prev_captured, prev_delivered, prev_outputs;
  double fps_in, fps_out, results_per_s;
} cn__source_fig_t;

struct cn_http {
  cn_http_opts_t o;
  char *token, *cors;                     /* copies */
  cn_source_t *srcs[CN_HTTP_MAX_SOURCES]; /* o.sources, copied */
  const char *names[CN_HTTP_MAX_SOURCES]; /* o.names, copied */
  struct MHD_Daemon *daemon;
  int port;
  cn__store_t *store;
  cn__events_t *events;
  int64_t t_start, t_tick;
  cn__source_fig_t fig[CN_HTTP_MAX_SOURCES];
  pthread_mutex_t rate_lock; /* the rates in fig[] and the model strings */
  char model[256], task[32], backend[32];
  atomic_bool have_model;
  _Atomic int clients[CN__EP_COUNT];
  _Atomic uint64_t requests[CN__EP_COUNT];
  _Atomic uint64_t refused; /* 401, 404, 405, 400 ... */
  atomic_bool stopping;
};

void cn__http_tick(void *h); /* once a second, from the encoder thread */
void cn__hist_add(cn__hist_t *hi, int64_t ns);
/* Bodies, malloc'd (the caller frees); NULL on out of memory. */
char *cn__http_state_json(cn_http_t *h);
char *cn__http_metrics(cn_http_t *h);
/* 0 healthy; else the reason in why. */
int cn__http_health(cn_http_t *h, char *why, size_t n);
const char *cn__endpoint_name(cn__endpoint_t ep);

/* ---- http_stream.c, http_page.c: responses ---------------------------- */

/* Query values already checked by the server. */
typedef struct cn__pic_req {
  int source;
  bool raw;
  int width;  /* 0: full */
  double fps; /* 0: every picture */
} cn__pic_req_t;

/* A response for the request, or NULL with *status set (503, ...). */
struct MHD_Response *cn__stream_response(cn_http_t *h, const cn__pic_req_t *q,
                                         int *status);
struct MHD_Response *cn__snapshot_response(cn_http_t *h, const cn__pic_req_t *q,
                                           int *status);
struct MHD_Response *cn__events_response(cn_http_t *h, int source,
                                         uint64_t last_id);
extern const char cn__http_page[];

#endif
