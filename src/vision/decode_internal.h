/* Shared by the decoders (decode.c and one file per kind). Each kind has
 * a fit check (does the model's output list suit it? sets the kind's
 * fields, or fails with a one-line message) and a run that writes
 * candidate boxes in network-input pixels; decode.c thresholds nothing
 * itself but does the common tail: NMS or sorting, the map to source
 * pixels, clipping and the cap. */
#ifndef CN_VISION_DECODE_INTERNAL_H
#define CN_VISION_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vision/decode.h"

typedef enum cn__dec_kind {
  CN__DEC_CLASSIFY,
  CN__DEC_BLAZEFACE,
  CN__DEC_SSD,
  CN__DEC_YOLO,
} cn__dec_kind_t;

typedef enum cn__yolo_layout {
  CN__YOLO_COLS,    /* [4+C, N]: YOLOv8 as exported */
  CN__YOLO_ROWS,    /* [N, 4+C]: YOLOv8 transposed */
  CN__YOLO_ROWS_OBJ /* [N, 5+C]: YOLOv5 with objectness */
} cn__yolo_layout_t;

/* Largest number of output tensors a BlazeFace split may use. */
#define CN__BF_MAX_PARTS 4

struct cn_decoder {
  cn__dec_kind_t kind;
  int top_k;
  float threshold, nms_iou;
  bool weighted;        /* MediaPipe weighted NMS instead of greedy */
  int model_w, model_h; /* the model's input size */
  int in_w, in_h;       /* input size of this run (the xform's), for outputs
                           normalized to the input */
  int nclasses;

  /* classify */
  int out;   /* output index (classify, ssd, yolo) */
  int64_t n; /* classes (classify), rows (ssd), boxes (yolo), anchors */
  /* yolo */
  cn__yolo_layout_t layout;
  /* blazeface: outputs in anchor order (biggest first), rows of each */
  int nparts;
  int part_scores[CN__BF_MAX_PARTS], part_boxes[CN__BF_MAX_PARTS];
  int64_t part_rows[CN__BF_MAX_PARTS];
  int box_cols;
  float (*anchors)[2]; /* n anchor centres, 0..1 */

  /* Candidates in input pixels and the NMS scratch, cap entries each. */
  cn_box_t *cand;
  int *scratch;
  int cap;
  cn_box_t kept[CN_MAX_BOXES];
};

/* Shape helpers: dims with leading 1s dropped (at least one dim kept). */
int cn__squeeze_dims(const cn_tensor_desc_t *t, int64_t *dims);
/* "[1,896,16]" into buf. */
const char *cn__shape_str(const cn_tensor_desc_t *t, char *buf, int n);

/* Fit checks: 0, or CN_EINVAL with "decoder KIND: ..." in err. */
int cn__classify_fit(cn_decoder_t *d, const cn_model_t *m, const char *output,
                     cn_err_t *err);
int cn__blazeface_fit(cn_decoder_t *d, const cn_model_t *m, bool strict,
                      cn_err_t *err);
/* strict (auto mode): the model has no other outputs. */
int cn__ssd_fit(cn_decoder_t *d, const cn_model_t *m, bool strict,
                cn_err_t *err);
/* version: 0 any, 5, 8. */
int cn__yolo_fit(cn_decoder_t *d, const cn_model_t *m, int version, bool strict,
                 cn_err_t *err);

/* Kind-specific setup after a fit (anchors); 0 or CN_ENOMEM. */
int cn__blazeface_init(cn_decoder_t *d, cn_err_t *err);

void cn__classify_run(cn_decoder_t *d, const float *const *outs,
                      cn_result_t *res);
/* Candidates above the threshold into d->cand; returns their count. */
int cn__blazeface_run(cn_decoder_t *d, const float *const *outs);
int cn__ssd_run(cn_decoder_t *d, const float *const *outs);
int cn__yolo_run(cn_decoder_t *d, const float *const *outs);

#endif
