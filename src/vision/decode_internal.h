/* The contract between the generic decoder (decode.c) and a decoder kind
 * (classify.c, blazeface.c, ssd.c, yolo.c). Not a public header.
 *
 * A kind is one table entry: its name, task, defaults, the preprocessing
 * its network expects, its built-in class names and four functions. fit()
 * checks that the model's outputs suit the kind and fills the kind's
 * private state (d->state, state_size bytes, zeroed by decode.c); it must
 * not allocate, because the automatic choice fits every kind on trial
 * decoders. init() makes what the run needs beyond that (anchors), fini()
 * frees it. run() writes candidate boxes in network-input pixels into
 * d->cand and returns their count (detection) or fills res's top-k
 * (classification, returns 0). decode.c does the common tail: NMS or
 * sorting, the map to source pixels, clipping and the cap. A new kind is a
 * new file with one entry, listed in decode.c's table.
 */
#ifndef CN_VISION_DECODE_INTERNAL_H
#define CN_VISION_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vision/decode.h"

typedef struct cn__dec_kind cn__dec_kind_t;

struct cn_decoder {
  const cn__dec_kind_t *kind;
  void *state; /* the kind's own, kind->state_size bytes */
  int top_k;
  float threshold, nms_iou;
  int model_w, model_h; /* the model's input size */
  int in_w, in_h;       /* input size of this run (the xform's), for outputs
                           normalized to the input */
  int nclasses;         /* set by fit: as cn_decoder_num_classes */
  int64_t ncand;        /* set by fit (detection): most candidates a run
                           can produce; sizes cand and scratch */

  /* Candidates in input pixels and the NMS scratch, cap entries each. */
  cn_box_t *cand;
  int *scratch;
  int cap;
  cn_box_t kept[CN_MAX_BOXES];
};

struct cn__dec_kind {
  const char *name;   /* as opts.kind takes it */
  const char *family; /* as cn_decoder_kind reports it ("yolo" for yolov5) */
  cn_task_t task;
  bool probe;  /* tried when the kind is left to the model */
  int variant; /* for fit: the YOLO version (0 any, 5, 8) */
  size_t state_size;
  float threshold, nms_iou; /* defaults */
  bool weighted_nms;        /* MediaPipe weighted NMS instead of greedy */
  const cn_decoder_input_t *input; /* NULL: the model's own preprocessing */
  const char *const *class_names;  /* built in, NULL: none */
  int nclass_names;
  /* strict (automatic choice): every output must be accounted for.
   * 0, or CN_EINVAL with "decoder KIND: ..." in err (err may be NULL). */
  int (*fit)(cn_decoder_t *d, const cn_model_t *m, const cn_decoder_opts_t *o,
             bool strict, cn_err_t *err);
  int (*init)(cn_decoder_t *d, cn_err_t *err); /* NULL: nothing to make */
  void (*fini)(cn_decoder_t *d);               /* NULL: nothing to free */
  int (*run)(cn_decoder_t *d, const float *const *outs, cn_result_t *res);
};

extern const cn__dec_kind_t cn__dec_classify;
extern const cn__dec_kind_t cn__dec_blazeface;
extern const cn__dec_kind_t cn__dec_ssd;
extern const cn__dec_kind_t cn__dec_yolo;
extern const cn__dec_kind_t cn__dec_yolov5;
extern const cn__dec_kind_t cn__dec_yolov8;

/* Shape helpers (decode_shape.c): dims with leading 1s dropped (at least
 * one dim kept); "[1,896,16]" into buf. */
int cn__squeeze_dims(const cn_tensor_desc_t *t, int64_t *dims);
const char *cn__shape_str(const cn_tensor_desc_t *t, char *buf, int n);

#endif
