/* cn_preproc: a frame to a network's float input tensor.
 *
 * Steps, in order: take the region of the frame to use (the whole frame,
 * or with crop the centre square of side min(w, h), as the Jetson script did);
 * resize it with libswscale to the input size, or with letterbox to the
 * largest size that keeps its aspect ratio, centred and padded with black
 * pixels (MediaPipe's BlazeFace input); then per value
 *
 *     v = (pixel - mean) * scale / std
 *
 * with pixel 0..255, mean either per channel or a mean image, written as
 * NCHW or NHWC, channels in RGB or BGR order. Per-channel mean and std are
 * given in B,G,R order whatever the network's order (as the Jetson script's
 * --mean values were); a mean image is planar C x H x W at the input size in
 * the network's own channel order, as Caffe's mean files are (engine/mean.h
 * cn_mean_load fits one to the input).
 *
 * cn_xform_t records where the input came from, so detections in input
 * pixels map back to the frame's pixels.
 *
 * Memory: every buffer is sized at create; run() allocates nothing except
 * when the frame size changes (a reconnect to a different resolution):
 * libswscale's context is rebuilt and the copy of the region's last rows
 * (which libswscale may read past) grows.
 *
 * Threads: one preproc belongs to one thread at a time. Errors: CN_EINVAL
 * with a one-line message (bad options, a frame without pixels),
 * CN_ENOMEM. A failed create leaves nothing to free.
 */
#ifndef CN_VISION_PREPROCESS_H
#define CN_VISION_PREPROCESS_H

#include <stdbool.h>

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/mean.h"
#include "camnet/model.h"

typedef enum cn_layout { CN_LAYOUT_NCHW = 0, CN_LAYOUT_NHWC } cn_layout_t;

typedef struct cn_preproc_opts {
  int width, height;           /* network input size; required */
  int channels;                /* 3 (the only value supported) */
  cn_layout_t layout;          /* NCHW (default) or NHWC */
  bool rgb;                    /* channel order RGB (default false: BGR) */
  bool crop;                   /* centre square first */
  bool letterbox;              /* keep the aspect ratio, pad with black */
  float mean[3];               /* B,G,R; default 0 */
  const cn_mean_t *mean_image; /* or NULL; copied by create */
  float scale;                 /* default 1 */
  float std[3];                /* B,G,R; default 1 */
  int sws_flags;               /* libswscale algorithm (SWS_*); 0: SWS_AREA */
} cn_preproc_opts_t;

/* Maps network-input pixel coordinates to source-frame pixels:
 * x_src = x_in * sx + ox (edges, not pixel centres: input x = 0 and
 * x = in_w are the left and right edges of the region used). */
typedef struct cn_xform {
  float sx, sy, ox, oy;
  int in_w, in_h;   /* network input size */
  int src_w, src_h; /* source frame size */
} cn_xform_t;

typedef struct cn_preproc cn_preproc_t;

/* Defaults as documented above (size 0: must be set). */
void cn_preproc_opts_default(cn_preproc_opts_t *o);

/* Sets width, height, channels and layout from the model's input i: a 4-D
 * input whose last dim is 1 or 3 and second is not is NHWC, else NCHW.
 * Returns 0 or CN_EINVAL when the input is not a 4-D image tensor of
 * batch 1. */
int cn_preproc_opts_from_model(cn_preproc_opts_t *o, const cn_model_t *m, int i,
                               cn_err_t *err);

int cn_preproc_create(const cn_preproc_opts_t *o, cn_preproc_t **out,
                      cn_err_t *err);
void cn_preproc_destroy(cn_preproc_t *p); /* NULL is a no-op */

/* Writes channels * width * height floats to dst and the mapping to xf
 * (may be NULL). f must have pixels: developed (BGR24), or any format of
 * core/frame.h (caller's pixels, cn_frame_wrap). YUV is read as BT.601
 * limited range; 4:2:0 crops start on even pixels. Returns 0 or a CN_E*. */
int cn_preproc_run(cn_preproc_t *p, const cn_frame_t *f, float *dst,
                   cn_xform_t *xf, cn_err_t *err);

/* The mapping run() gives for a frame of w x h, without a frame. */
void cn_preproc_xform(const cn_preproc_t *p, int w, int h, cn_xform_t *xf);

/* Number of floats run() writes. */
int cn_preproc_numel(const cn_preproc_t *p);

/* Input pixels -> source pixels, and back. */
void cn_xform_apply(const cn_xform_t *xf, float *x, float *y);
void cn_xform_invert(const cn_xform_t *xf, float *x, float *y);

#endif
