/* cn_recorder: the annotated video to a file (H.264 in MP4 by default),
 * encoded and written from a thread of its own.
 *
 * push() never blocks: it queues a reference to the canvas (up to 12
 * pictures) and returns; when the writer falls behind (a slow disk) the
 * picture is dropped and counted instead of stalling inference. For
 * offline work push_wait() waits for the writer instead. Pictures
 * keep their source timing: each is stamped with its frame's pts (or
 * capture time) relative to the first, so the file plays at the source's
 * rate even when not every source frame was recorded.
 *
 * The encoder opens on the first picture (its size is the video's size);
 * pictures of another size are scaled to it. close() drains the queue and
 * writes the trailer.
 *
 * Threads: push from any one thread; open/close from the controlling one.
 */
#ifndef CN_RECORD_H
#define CN_RECORD_H

#include "camnet/version.h"

#include <stdint.h>

#include "camnet/error.h"
#include "camnet/frame.h"

typedef struct cn_recorder cn_recorder_t;

/* fps is the source's nominal rate (for the stream's metadata; 0: 30).
 * Fails early when the container for path is unknown or cannot hold H.264,
 * or the file cannot be created. */
CN_API int cn_recorder_open(const char *path, double fps, cn_recorder_t **out,
                            cn_err_t *err);

/* Queues canvas (BGRA; a new reference is taken). Returns 0, or CN_EAGAIN
 * when the queue was full and the picture dropped, or the writer's error
 * once it failed. */
CN_API int cn_recorder_push(cn_recorder_t *rec, cn_frame_t *canvas,
                            cn_err_t *err);

/* Pictures push_wait lets wait in the queue before it blocks: fewer than
 * the canvases a program keeps (16 in camnet), so waiting here never
 * starves it of canvases. */
#define CN_RECORDER_BACKLOG 8

/* For offline work (--every-frame), where every picture must be recorded:
 * waits while CN_RECORDER_BACKLOG pictures are queued, then queues canvas.
 * Returns 0 or the writer's error. */
CN_API int cn_recorder_push_wait(cn_recorder_t *rec, cn_frame_t *canvas,
                                 cn_err_t *err);

/* Drains, finishes the file, frees. Returns the first error seen. NULL is
 * a no-op. written and dropped receive the counts when not NULL. */
CN_API int cn_recorder_close(cn_recorder_t *rec, uint64_t *written,
                             uint64_t *dropped, cn_err_t *err);

#endif
