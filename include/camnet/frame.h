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

#include "camnet/version.h"

#include <stdbool.h>
#include <stdint.h>

#include "camnet/error.h"

typedef enum cn_pixfmt {
  CN_PIX_NONE = 0, /* pixels not developed yet */
  CN_PIX_BGR24,    /* packed B,G,R bytes, OpenCV's default */
  CN_PIX_BGRA,     /* B,G,R,X bytes: cairo's RGB24 and SDL's XRGB8888 on
                      little-endian machines; the annotated canvas */
  CN_PIX_RGB24,    /* packed R,G,B bytes */
  CN_PIX_GRAY8,    /* one luma byte per pixel */
  CN_PIX_NV12,     /* Y plane, then one plane of interleaved U,V pairs at
                      half width and half height (chroma[0]) */
  CN_PIX_YUV420P,  /* Y, U and V planes; U, V at half width and height
                      (chroma[0], chroma[1]) */
} cn_pixfmt_t;

/* Caller-owned pixels, described for cn_frame_wrap(): packed formats use
 * data[0] only; NV12 data[0..1]; YUV420P data[0..2]. stride[i] is the byte
 * distance between rows of plane i (at least the row's width in bytes). */
typedef struct cn_image {
  cn_pixfmt_t format;
  int width, height;
  const uint8_t *data[3];
  int stride[3];
  double pts; /* the caller's presentation time in seconds, or NAN */
} cn_image_t;

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
  int stride;           /* bytes per row */
  uint8_t *chroma[2];   /* NV12, YUV420P: the chroma planes (see above) */
  int chroma_stride[2]; /* their bytes per row */
  int64_t t_develop;    /* ns: pixels ready */

  /* Stage stamps, ns; 0 until the stage runs. */
  int64_t t_take;        /* consumer took it from the slot */
  int64_t t_infer_begin; /* inference started */
  int64_t t_infer_end;   /* inference finished */
  int64_t t_out;         /* delivered to an output */

  void *priv; /* the source's payload, created once per pooled frame */
} cn_frame_t;

/* Adds a reference; returns f. */
CN_API cn_frame_t *cn_frame_ref(cn_frame_t *f);

/* Drops the caller's reference and sets *pf to NULL. NULL is a no-op. */
CN_API void cn_frame_unref(cn_frame_t **pf);

/* True when the caller holds the only reference. */
CN_API bool cn_frame_is_writable(const cn_frame_t *f);

/* Makes the pixel fields valid (format CN_PIX_BGR24; a wrapped frame keeps
 * the caller's format). Idempotent; a frame that failed to develop keeps
 * failing with the same code. The stage reads every format; the overlay
 * wants BGR24; the window and the recorder take BGRA canvases. */
CN_API int cn_frame_develop(cn_frame_t *f, cn_err_t *err);

/* Pixels in: a new frame (one reference, not from any pool) that points
 * at the caller's pixels without copying them; t_capture, t_decode,
 * t_develop and t_wall are the moment of the call, the stage stamps zero,
 * seq 1 (each rewrap adds one), source -1. The caller keeps the pixels valid
 * and unchanged until the last reference is dropped; camnet never writes to
 * them, and such a frame is never writable. Every format above is accepted
 * except CN_PIX_NONE. Errors: CN_EINVAL naming what is wrong with img,
 * CN_ENOMEM. */
CN_API int cn_frame_wrap(const cn_image_t *img, cn_frame_t **out,
                         cn_err_t *err);

/* Points a frame made by cn_frame_wrap(), held by one reference only, at
 * new pixels (same rules as wrap) and stamps it anew: a camera loop
 * wraps once and rewraps each picture, allocating nothing per frame.
 * CN_EINVAL for any other frame or a bad img; the frame is then unchanged. */
CN_API int cn_frame_rewrap(cn_frame_t *f, const cn_image_t *img, cn_err_t *err);

/* Sizes the frame's own pixel buffer (grown only when a larger size first
 * appears) and sets width/height/format/data/stride. Rows are 32-byte
 * aligned. CN_EINVAL for a wrapped frame. For develop callbacks, and for stages
 * that fill frames of their own (the overlay's canvases). */
CN_API int cn_frame_alloc_pixels(cn_frame_t *f, int width, int height,
                                 cn_pixfmt_t format, cn_err_t *err);

/* For develop callbacks that hand out memory they own (zero copy): points
 * the pixel fields at data, which must stay valid until priv_reset. */
CN_API void cn_frame_set_pixels(cn_frame_t *f, uint8_t *data, int stride,
                                int width, int height, cn_pixfmt_t format);

#endif
