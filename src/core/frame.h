/* cn_frame: a reference-counted video frame that comes from a cn_pool.
 *
 * Ownership: cn_pool_get() returns a frame holding one reference.
 * cn_frame_ref() adds one; cn_frame_unref(&f) drops one and sets f to NULL.
 * When the last reference goes, the frame's payload is reset and the frame
 * returns to its pool; nothing is freed per frame. A frame is writable only
 * by a holder of its only reference (cn_frame_is_writable).
 *
 * Lazy pixels: a source publishes a frame as soon as it is captured, often
 * before its pixels exist (still YUV from the decoder, or even a compressed
 * JPEG packet). A consumer calls cn_frame_develop() to make the BGR pixels;
 * the work happens once, in the consumer's thread, under the pool's develop
 * lock, so frames that are dropped unseen never pay for conversion.
 *
 * Threads: ref/unref/develop are safe from any thread. The source writes
 * the capture fields before publishing and never afterwards; develop
 * writes the pixel fields; each later stage writes only its own stamp.
 */
#ifndef CN_FRAME_H
#define CN_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef enum cn_pixfmt {
  CN_PIX_NONE = 0, /* pixels not developed yet */
  CN_PIX_BGR24,    /* packed B,G,R bytes, OpenCV's default */
  CN_PIX_BGRA,     /* B,G,R,X bytes: cairo's RGB24 and SDL's XRGB8888 on
                      little-endian machines; the annotated canvas */
} cn_pixfmt_t;

typedef struct cn_pool cn_pool_t;

typedef struct cn_frame {
  /* Capture fields: written by the source before publishing. */
  int source;        /* index of the source that produced the frame */
  uint64_t seq;      /* 1, 2, 3... per source; never reused */
  double pts;        /* source presentation time in seconds, NAN if none */
  int64_t t_capture; /* ns: frame captured (driver stamp or arrival) */
  int64_t t_decode;  /* ns: decoded (or compressed payload) ready */
  int64_t t_wall;    /* ns since the epoch (CLOCK_REALTIME) at t_capture */

  /* Pixel fields: written by cn_frame_develop(). */
  int width, height;
  cn_pixfmt_t format;
  uint8_t *data;
  int stride;        /* bytes per row */
  int64_t t_develop; /* ns: pixels ready */

  /* Stage stamps, ns; 0 until the stage runs. */
  int64_t t_take;        /* consumer took it from the slot */
  int64_t t_infer_begin; /* inference started */
  int64_t t_infer_end;   /* inference finished */
  int64_t t_out;         /* delivered to an output */

  void *priv; /* the source's payload, created once per pooled frame */
} cn_frame_t;

/* Adds a reference; returns f. */
cn_frame_t *cn_frame_ref(cn_frame_t *f);

/* Drops the caller's reference and sets *pf to NULL. NULL is a no-op. */
void cn_frame_unref(cn_frame_t **pf);

/* True when the caller holds the only reference. */
bool cn_frame_is_writable(const cn_frame_t *f);

/* Makes the pixel fields valid (format CN_PIX_BGR24). Idempotent; a frame
 * that failed to develop keeps failing with the same code. */
int cn_frame_develop(cn_frame_t *f, cn_err_t *err);

/* Sizes the frame's own pixel buffer (grown only when a larger size first
 * appears) and sets width/height/format/data/stride. Rows are 32-byte
 * aligned. For develop callbacks, and for stages that fill frames of
 * their own (the overlay's canvases). */
int cn_frame_alloc_pixels(cn_frame_t *f, int width, int height,
                          cn_pixfmt_t format, cn_err_t *err);

/* For develop callbacks that hand out memory they own (zero copy): points
 * the pixel fields at data, which must stay valid until priv_reset. */
void cn_frame_set_pixels(cn_frame_t *f, uint8_t *data, int stride, int width,
                         int height, cn_pixfmt_t format);

#endif
