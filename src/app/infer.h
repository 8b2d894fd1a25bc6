/* The program's inference stage: the model and what surrounds it
 * (labels, mean, preprocessing, decoder), built from the options.
 *
 * cn_app_model_t is shared by every consumer thread (cn_model_run is
 * serialised inside the engine); each thread has its own cn_app_stage_t
 * (preprocessor, decoder, buffers), so a run allocates nothing. */
#ifndef CN_APP_INFER_H
#define CN_APP_INFER_H

#include "app/options.h"
#include "core/frame.h"
#include "engine/caffe/mean.h"
#include "engine/model.h"
#include "vision/decode.h"
#include "vision/labels.h"
#include "vision/preprocess.h"
#include "vision/result.h"

typedef struct cn_app_model {
  cn_model_t *model;
  cn_labels_t *labels; /* NULL without --labels */
  cn_mean_t mean;      /* zeroed without a mean image */
  cn_preproc_opts_t pre;
  cn_decoder_opts_t dec;
  cn_task_t task;
  const char *kind; /* decoder kind picked */
} cn_app_model_t;

typedef struct cn_app_stage cn_app_stage_t;

/* Loads the model and checks that labels, mean and decoder fit it.
 * Errors are one line naming the file and what is wrong. */
int cn_app_model_open(const cn_app_config_t *cfg, cn_app_model_t *m,
                      cn_err_t *err);
void cn_app_model_close(cn_app_model_t *m);

int cn_app_stage_create(const cn_app_model_t *m, cn_app_stage_t **out,
                        cn_err_t *err);
void cn_app_stage_destroy(cn_app_stage_t *s);

/* Preprocesses f (developed), runs the model and decodes; stamps
 * f->t_infer_begin/end. The result stays valid until the next run. */
int cn_app_stage_run(cn_app_stage_t *s, cn_frame_t *f, const cn_result_t **res,
                     cn_err_t *err);

#endif
