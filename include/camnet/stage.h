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
#ifndef CAMNET_STAGE_H
#define CAMNET_STAGE_H

#include <stdbool.h>

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/model.h"
#include "camnet/labels.h"
#include "camnet/result.h"

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
  /* "NAME:1x3xHxW" texts for inputs the model leaves open (before size;
   * camnet/model.h); NULL. Labels default to the file's "names" metadata
   * and size to its "imgsz" (Ultralytics exports). */
  const char *const *input_shapes;
  int ninput_shapes;
  const cn_logger_t *log;   /* warnings while loading; NULL: silent */
  cn_interrupt_t interrupt; /* stops a load (camnet/model.h); {NULL}: none */
} cn_stage_opts_t;

typedef struct cn_stage_model cn_stage_model_t;
typedef struct cn_stage cn_stage_t;

/* Fills the defaults: every field 0/NULL but rgb -1, top 3, threshold and
 * nms -1. */
CN_API void cn_stage_opts_default(cn_stage_opts_t *o);

/* Loads the model and checks that labels, mean, preprocessing and
 * decoder fit it (one stage is built and dropped to find out). */
CN_API int cn_stage_model_open(const cn_stage_opts_t *o, cn_stage_model_t **out,
                               cn_err_t *err);
CN_API void cn_stage_model_close(cn_stage_model_t *m); /* NULL is a no-op */

/* What the model's results hold: classes or boxes. */
CN_API cn_task_t cn_stage_model_task(const cn_stage_model_t *m);
/* The decoder kind picked: "classify", "blazeface", "ssd", "yolo". */
CN_API const char *cn_stage_model_kind(const cn_stage_model_t *m);
/* The file labels, or the decoder's own names, or NULL (also for a NULL
 * model: a program without one draws class numbers). */
CN_API const cn_labels_t *cn_stage_model_labels(const cn_stage_model_t *m);
/* The network itself (owned by the stage model). */
CN_API const cn_model_t *cn_stage_model_handle(const cn_stage_model_t *m);
/* The network's file, for messages (the .prototxt of a Caffe model). */
CN_API const char *cn_stage_model_name(const cn_stage_model_t *m);

/* One per thread. */
CN_API int cn_stage_create(const cn_stage_model_t *m, cn_stage_t **out,
                           cn_err_t *err);
CN_API void cn_stage_destroy(cn_stage_t *s); /* NULL is a no-op */

/* Preprocesses f (developed, or wrapped caller pixels: cn_frame_wrap),
 * runs the model and decodes; stamps f->t_infer_begin/end. The result
 * stays valid until the next run. Threads: one stage per thread. */
CN_API int cn_stage_run(cn_stage_t *s, cn_frame_t *f, const cn_result_t **res,
                        cn_err_t *err);

#endif
