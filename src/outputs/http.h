/* cn_http: the live view over HTTP (libmicrohttpd): MJPEG streams and
 * snapshots of each source, the result records as Server-Sent Events,
 * /state (JSON), /healthz and /metrics (Prometheus text), and one page.
 *
 * Pictures: renderers ask cn_http_wants() whether anyone watches source k
 * (annotated or raw) and hand pictures to cn_http_post(), which only
 * swaps a reference under a short lock: the JPEG encoder thread
 * (http_jpeg.c) encodes the newest picture once per variant, and every
 * client sends the newest encoded one (a slow client skips, never
 * queues). Records: cn_http_sink_add() adds a record sink that drops
 * rather than waits (fanout.h), feeding a bounded backlog (http_events.c).
 * Nothing the capture, inference or record threads call waits on a
 * socket.
 *
 * Lifecycle: open (binds, starts the server and the encoder thread) ->
 * set_model -> posts/observes -> close (stops both; clients are cut).
 * The sources and the name strings must outlive the server (the arrays
 * are copied); records sinks
 * added must be closed (cn_fanout_close) before cn_http_close.
 * Threads: wants/post/observe from any thread; open/set_model/close from
 * the controlling thread.
 * Errors: open fails with one line naming the option (--http, --http-
 * cert...) and what is wrong; nothing else fails.
 */
#ifndef CN_OUTPUTS_HTTP_H
#define CN_OUTPUTS_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/log.h"
#include "camnet/source.h"
#include "outputs/fanout.h"

#define CN_HTTP_MAX_SOURCES 16

typedef enum cn_http_kind {
  CN_HTTP_ANNOTATED = 0, /* overlay canvases (BGRA) */
  CN_HTTP_RAW = 1,       /* the source's frames (BGR24) */
} cn_http_kind_t;

/* Figures of a source the run keeps (its age and inference histograms). */
typedef struct cn_http_quantiles {
  double age_p50_ms, age_p99_ms, infer_p50_ms, infer_p99_ms;
} cn_http_quantiles_t;

/* The MQTT output's figures (outputs/mqtt.h), for /state and /metrics. */
typedef struct cn_http_mqtt {
  uint64_t records, published, acknowledged, dropped, queued, connects;
  bool connected;
} cn_http_mqtt_t;

typedef struct cn_http_opts {
  const char *listen;     /* [ADDR:]PORT; ADDR default 127.0.0.1 */
  const char *token;      /* NULL: no authentication */
  const char *cors;       /* NULL: no CORS header */
  const char *cert, *key; /* PEM files: HTTPS */
  int max_clients;        /* connections at once (0: 32) */
  int timeout_s;          /* idle timeout (0: 10) */
  cn_source_t *const *sources;
  const char *const *names; /* per source, no credentials */
  int nsources;
  /* Called from server threads for /state. */
  void (*quantiles)(void *opaque, int k, cn_http_quantiles_t *out);
  /* Called from server threads; NULL, or false: no MQTT output. */
  bool (*mqtt)(void *opaque, cn_http_mqtt_t *out);
  void *opaque;
  const cn_logger_t *log;
} cn_http_opts_t;

typedef struct cn_http cn_http_t;

int cn_http_open(const cn_http_opts_t *opts, cn_http_t **out, cn_err_t *err);

/* Stops the server and the encoder, frees. NULL is a no-op. */
void cn_http_close(cn_http_t *h);

/* The port listened on (useful with port 0). */
int cn_http_port(const cn_http_t *h);

/* The model shown in /state and /metrics (copied); NULL name: none. */
void cn_http_set_model(cn_http_t *h, const char *name, const char *task,
                       const char *backend);

/* True while a client watches source k's pictures of this kind. */
bool cn_http_wants(cn_http_t *h, int k, cn_http_kind_t kind);

/* Offers a picture of source pic->source (a developed frame, or a canvas;
 * seq 0: NO SIGNAL, for both kinds). Takes a reference of its own, drops
 * the picture it replaces; never waits for the encoder or a client. */
void cn_http_post(cn_http_t *h, cn_frame_t *pic, cn_http_kind_t kind);

/* Frame seq of source k left the run: its age (capture -> output) and,
 * with a model, its inference time (0: none), for /metrics, /state and
 * /healthz. NULL h is a no-op. */
void cn_http_observe(cn_http_t *h, int k, uint64_t seq, int64_t age_ns,
                     int64_t infer_ns);

/* Adds the /events record sink to fo (drops when a burst fills it). */
int cn_http_sink_add(cn_http_t *h, cn_fanout_t *fo, cn_err_t *err);

#endif
