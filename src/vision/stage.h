/* cn_stage: the inference stage, one network on frames with what
 * surrounds it (labels, mean, preprocessing, decoder).
 *
 * UNSTABLE: cn_stage_opts_t and the model/stage split may change until
 * the multi-camera work lands.
 *
 * A cn_stage_model_t is opened once and is read-only after: every
 * consumer thread shares it (cn_model_run is serialised inside the
 * engine). Each thread makes its own cn_stage_t (preprocessor, decoder,
 * buffers), so cn_stage_run allocates nothing.
 *
 * Preprocessing, later steps overriding earlier ones: the model's declared
 * input, then what the decoder kind needs (BlazeFace: RGB, letterbox,
 * [-1, 1]), then the options. Labels: the file's when given, else the
 * decoder's built-in names (BlazeFace: "face"), else none.
 *
 * Ownership: the model copies what it keeps of the options. It owns the
 * network, labels and mean until cn_stage_model_close, and must outlive
 * its stages.
 * Errors: one line naming the file and what is wrong; messages name the
 * program's options (--size, --labels) where one is the fix.
 */
#ifndef CN_VISION_STAGE_H
#define CN_VISION_STAGE_H

#include <stdbool.h>

#include "core/error.h"
#include "core/frame.h"
#include "engine/model.h"
#include "vision/labels.h"
#include "vision/preprocess.h"
#include "vision/result.h"

typedef struct cn_stage_opts {
  const char *model;   /* .onnx, or a Caffe deploy .prototxt */
  const char *weights; /* the .caffemodel for a .prototxt; NULL */
  const char *labels;  /* class names file (vision/labels.h); NULL */
  const char *mean;    /* "B,G,R" or "V", or a .binaryproto / .npy image */
  const char *output;  /* classify: the output holding the class scores */
  bool crop;           /* centre-crop to the input's aspect, not stretch */
  const char *size;    /* "WxH" when the model leaves its input open */
  float scale;         /* >0: multiply after the mean */
  const char *std;     /* "S" or "B,G,R": divide after scaling */
  int rgb;             /* channel order: -1 the model's and decoder's,
                          1 RGB, 0 BGR */
  int top;             /* classify: top-k, 1..CN_MAX_TOP */
  cn_task_t task;      /* CN_TASK_NONE: whatever the decoder is */
  const char *decoder; /* vision/decode.h kind; NULL: from the outputs */
  float threshold;     /* <0: the decoder's */
  float nms;           /* <0: the decoder's */
  int threads;         /* engine threads; 0: its default */
  const char *backend; /* "ref", "dnnl"; NULL: the best available */
} cn_stage_opts_t;

typedef struct cn_stage_model cn_stage_model_t;
typedef struct cn_stage cn_stage_t;

void cn_stage_opts_default(cn_stage_opts_t *o);

/* Loads the model and checks that labels, mean, preprocessing and
 * decoder fit it (one stage is built and dropped to find out). */
int cn_stage_model_open(const cn_stage_opts_t *o, cn_stage_model_t **out,
                        cn_err_t *err);
void cn_stage_model_close(cn_stage_model_t *m); /* NULL is a no-op */

cn_task_t cn_stage_model_task(const cn_stage_model_t *m);
/* The decoder kind picked: "classify", "blazeface", "ssd", "yolo". */
const char *cn_stage_model_kind(const cn_stage_model_t *m);
/* The file labels, or the decoder's own names, or NULL (also for a NULL
 * model: a program without one draws class numbers). */
const cn_labels_t *cn_stage_model_labels(const cn_stage_model_t *m);
const cn_model_t *cn_stage_model_handle(const cn_stage_model_t *m);
/* The network's file, for messages (the .prototxt of a Caffe model). */
const char *cn_stage_model_name(const cn_stage_model_t *m);
/* The preprocessing every stage of this model applies. */
const cn_preproc_opts_t *cn_stage_model_preproc(const cn_stage_model_t *m);

/* One per thread. */
int cn_stage_create(const cn_stage_model_t *m, cn_stage_t **out, cn_err_t *err);
void cn_stage_destroy(cn_stage_t *s); /* NULL is a no-op */

/* Preprocesses f (developed), runs the model and decodes; stamps
 * f->t_infer_begin/end. The result stays valid until the next run. */
int cn_stage_run(cn_stage_t *s, cn_frame_t *f, const cn_result_t **res,
                 cn_err_t *err);

#endif
