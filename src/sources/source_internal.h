/* The contract between the generic capture thread (source.c) and a source
 * backend (src_ffmpeg.c, src_gst.c, src_test.c). Not a public header.
 *
 * One backend context per source, created by create() without I/O. The
 * context is also the frame pool's context: it is destroyed (destroy())
 * only when the source is gone AND the last frame has come back, so
 * develop() can run on frames that outlive the source. Therefore keep the
 * capture state (read/open/close) and the develop state (converter,
 * intra-only decoder) in separate fields: read() runs in the capture
 * thread while develop() runs in consumer threads (serialised among
 * themselves by the pool's develop lock).
 */
#ifndef CN_SOURCE_INTERNAL_H
#define CN_SOURCE_INTERNAL_H

#include <stdatomic.h>

#include "camnet/pool.h"
#include "camnet/source.h"
#include "core/slot.h"
#include "core/trace.h"

/* What the generic thread shares with the backend. Lives in cn_source. */
typedef struct cn_source_env {
  const cn_source_opts_t *opts; /* the source's own copy */
  const char *prefix;           /* log prefix, "source 0" */
  const atomic_bool *stop;      /* set when the source is stopping */
  atomic_uint_fast64_t decode_errors;
  struct cn_source *src; /* for cn__source_wait_until */
  /* Capture thread only: its trace ring (NULL: not tracing) and the seq
   * the frame being read will get, for backends' receive/decode spans. */
  cn_trace_ring_t *trace;
  uint64_t next_seq;
} cn_source_env_t;

/* For backends: sleeps until the monotonic time t (ns) without polling;
 * returns false at once when the source is stopping. */
bool cn__source_wait_until(cn_source_env_t *env, int64_t t);

/* Filled by open(). */
typedef struct cn_source_info {
  bool live; /* device or network: reconnect, never pace */
  int width, height;
  double fps; /* nominal, 0 if unknown */
  char codec[32];
  double end_pts; /* files: pts (s) where the container says they end, or 0 */
} cn_source_info_t;

typedef struct cn_source_backend {
  const char *name;
  /* Parses the URI and options; no I/O. env outlives ctx's capture use. */
  int (*create)(cn_source_env_t *env, void **ctx, cn_err_t *err);
  /* Frees ctx (called by the pool when the last frame is back). */
  void (*destroy)(void *ctx);
  /* Opens the device/stream/file. Errors name the URI: "URI: what". */
  int (*open)(void *ctx, cn_source_info_t *info, cn_err_t *err);
  /* Blocks until one frame is captured into f: fills its payload (f->priv)
   * or pixels, f->pts (seconds or NAN) and f->t_capture (and t_decode when
   * it decoded). Returns 0, CN_EAGAIN (no frame this time: call again),
   * CN_EOF (end of stream), or an error (stall: CN_ETIMEDOUT). Must return
   * within ~100 ms of *env->stop becoming true. */
  int (*read)(void *ctx, cn_frame_t *f, cn_err_t *err);
  /* Files: go back to the start for --loop. NULL: close + open instead. */
  int (*rewind)(void *ctx, cn_err_t *err);
  /* Closes what open() opened; the context stays usable for open().
   * Idempotent: the thread may close after a failure and stop() again. */
  void (*close)(void *ctx);
  /* Frame payload, as in cn_pool_opts_t (ctx is the backend context). */
  int (*priv_init)(void *ctx, cn_frame_t *f, cn_err_t *err);
  void (*priv_reset)(void *ctx, cn_frame_t *f);
  void (*priv_free)(void *ctx, cn_frame_t *f);
  cn_frame_develop_fn develop; /* NULL: read() fills pixels itself */
} cn_source_backend_t;

extern const cn_source_backend_t cn__source_test;
extern const cn_source_backend_t cn__source_ffmpeg;
extern const cn_source_backend_t cn__source_gst;
extern const cn_source_backend_t cn__source_rtsp_gst;

/* The slot (for consumers that develop frames themselves). */
cn_slot_t *cn_source_slot(cn_source_t *src);

/* Traces the capture thread into t (core/trace.h): call before start;
 * t must outlive the thread. NULL: no trace. */
void cn__source_set_trace(cn_source_t *src, cn_trace_t *t);

/* cn_source_take, recording the frame's wait in the slot and its develop
 * on ring (the calling thread's; NULL: none). */
int cn__source_take_traced(cn_source_t *src, uint64_t after_seq,
                           int64_t timeout_ns, cn_frame_t **out,
                           uint64_t *out_seq, cn_err_t *err,
                           cn_trace_ring_t *ring);

#endif
