/* cn_pool: a pool of frames that are allocated once and reused.
 *
 * A source creates one pool. Frames come out with cn_pool_get() and come
 * back by themselves when their last reference is dropped. The pool grows
 * on demand up to max_frames, so in steady state nothing is allocated:
 * typically one frame in the slot, one with each consumer and one being
 * filled by the capture thread.
 *
 * The source attaches its payload through callbacks: priv_init creates
 * f->priv when a pooled frame is first made, priv_reset empties it when
 * the frame returns (dropping decoder references, unmapping buffers),
 * priv_free destroys it. develop makes pixels (see cn_frame_develop). ctx is
 * shared by all callbacks; ctx_free runs when the pool is finally freed.
 *
 * Lifetime: cn_pool_destroy() only marks the pool; the memory (and ctx) is
 * freed when the last outstanding frame comes back, so frames may outlive
 * the source that made them. Threads: get and return from any thread
 * (one lock; a source gets from its capture thread, the program's canvas
 * pool from every presenting thread).
 */
#ifndef CN_POOL_H
#define CN_POOL_H

#include "camnet/version.h"

#include "camnet/frame.h"

typedef int (*cn_frame_develop_fn)(void *ctx, cn_frame_t *f, cn_err_t *err);

typedef struct cn_pool_opts {
  int max_frames; /* cap on frames in existence; 0 means 16 */
  int (*priv_init)(void *ctx, cn_frame_t *f, cn_err_t *err);
  void (*priv_reset)(void *ctx, cn_frame_t *f);
  void (*priv_free)(void *ctx, cn_frame_t *f);
  cn_frame_develop_fn develop; /* NULL: frames are filled when published */
  void *ctx;
  void (*ctx_free)(void *ctx);
} cn_pool_opts_t;

/* Creates an empty pool. Returns NULL (and fills err) on failure. */
CN_API cn_pool_t *cn_pool_create(const cn_pool_opts_t *opts, cn_err_t *err);

/* A clean frame with one reference, or NULL when max_frames are all in use
 * (CN_EAGAIN) or allocation fails (CN_ENOMEM). */
CN_API cn_frame_t *cn_pool_get(cn_pool_t *pool, cn_err_t *err);

/* Frames ever allocated by the pool (for tests and stats). */
CN_API int cn_pool_allocated(cn_pool_t *pool);

/* Marks the pool for freeing once every frame is back. NULL is a no-op. */
CN_API void cn_pool_destroy(cn_pool_t *pool);

#endif
