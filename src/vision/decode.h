/* cn_decoder: a network's output tensors to a cn_result_t.
 *
 * Kinds (opts.kind):
 *   "classify"   one output [1,C] (or [1,C,1,1], [C]): top_k classes. The
 *                output is used as probabilities when it already is (all
 *                values in [0,1], sum within 1e-3 of 1), else softmaxed.
 *   "blazeface"  MediaPipe BlazeFace: scores [1,A,1] and boxes [1,A,16]
 *                (whole, or split per anchor layer as [1,512,*] and
 *                [1,384,*]; any order), A = 896 anchors (16x16 x 2 then
 *                8x8 x 6). Sigmoid scores, box and 6 keypoints as anchor
 *                offsets in input pixels, weighted NMS (IoU nms_iou, 0.3).
 *   "ssd"        Caffe DetectionOutput [1,1,N,7]: image_id, label, conf,
 *                xmin, ymin, xmax, ymax (0..1). Already suppressed: NMS only
 *                when nms_iou > 0.
 *   "yolo"       one output, boxes cx, cy, w, h in input pixels:
 *                [1,4+C,N] (YOLOv8, anchor-free) or [1,N,5+C] (YOLOv5:
 *                objectness then class scores; score = obj * class).
 *   "yolov8"     anchor-free rows [1,N,4+C] (or [1,4+C,N]).
 *   "yolov5"     forces [1,N,5+C].
 *   NULL         chosen from the outputs when only one kind fits, else an
 *                error naming what to pass. YOLO heads are told apart by
 *                their shape: the long axis is N.
 * Detections scoring at least the threshold go through class-aware NMS
 * (yolo: nms_iou 0.45), are mapped to source pixels with the preprocess
 * transform, clipped to the frame and capped at CN_MAX_BOXES, best first.
 *
 * Checks at create: the model's outputs must fit the kind, with a one-line
 * CN_EINVAL naming what is missing ("decoder ssd: model has no output
 * shaped [1,1,N,7]"). All buffers are sized then; run() allocates nothing.
 *
 * Each kind also states the preprocessing its network expects
 * (cn_decoder_input: BlazeFace takes RGB in [-1, 1], letterboxed) and the
 * names of its classes when it knows them (BlazeFace: "face").
 *
 * Threads: one decoder per thread at a time; it keeps scratch state.
 * Ownership: the decoder does not keep the model; it may be freed first.
 */
#ifndef CN_VISION_DECODE_H
#define CN_VISION_DECODE_H

#include "camnet/error.h"
#include "camnet/model.h"
#include "vision/preprocess.h"
#include "camnet/result.h"

typedef struct cn_decoder_opts {
  const char *kind;   /* see above; NULL: from the model */
  int top_k;          /* classify: 3; at most CN_MAX_TOP */
  float threshold;    /* detection score; <0: the kind's default (0.5,
                         yolo 0.25) */
  float nms_iou;      /* <0: the kind's default (blazeface 0.3, yolo 0.45,
                         ssd none) */
  const char *output; /* classify: output name (the Jetson script's --output) */
  const char *model_name; /* the model's file, for messages ("model
                             x.onnx: ..."); NULL: "model" */
} cn_decoder_opts_t;

typedef struct cn_decoder cn_decoder_t;

void cn_decoder_opts_default(cn_decoder_opts_t *o);

int cn_decoder_create(const cn_decoder_opts_t *o, const cn_model_t *m,
                      cn_decoder_t **out, cn_err_t *err);
void cn_decoder_destroy(cn_decoder_t *d); /* NULL is a no-op */

/* outputs[j] holds cn_model_output(m, j)->numel floats for every output j
 * of the model given at create. xf maps input pixels to the frame, and its
 * in_w x in_h is the input size that normalized outputs are scaled to
 * (NULL: results stay in input pixels of the model's declared size).
 * Fills res completely. Returns 0 or a CN_E*. */
int cn_decoder_run(cn_decoder_t *d, const float *const *outputs,
                   const cn_xform_t *xf, cn_result_t *res, cn_err_t *err);

/* "classify", "blazeface", "ssd", "yolo" (also for yolov5/yolov8). */
const char *cn_decoder_kind(const cn_decoder_t *d);
cn_task_t cn_decoder_task(const cn_decoder_t *d);

/* Classes the output distinguishes (classify, yolo; blazeface 1), or 0
 * when the model does not say (ssd: labels are whatever it was trained
 * on). For checking that a label file is long enough. */
int cn_decoder_num_classes(const cn_decoder_t *d);

/* Built-in name of class cls ("face" for BlazeFace's class 0), or NULL
 * when the kind does not know it (a label file names those). */
const char *cn_decoder_class_name(const cn_decoder_t *d, int cls);

/* What a kind's network expects of its input beyond the model's declared
 * shape; applied before the user's own preprocessing options. */
typedef struct cn_decoder_input {
  bool rgb, letterbox;
  float mean;  /* subtracted from every channel */
  float scale; /* then multiplied */
} cn_decoder_input_t;

/* The kind's needs, or NULL when the model's defaults are right. */
const cn_decoder_input_t *cn_decoder_input(const cn_decoder_t *d);
/* Writes those needs into po (no-op without). */
void cn_decoder_apply_input(const cn_decoder_t *d, cn_preproc_opts_t *po);

#endif
