/* The stage's insides for in-tree tools and tests. Not public. */
#ifndef CN_VISION_STAGE_INTERNAL_H
#define CN_VISION_STAGE_INTERNAL_H

#include "camnet/stage.h"
#include "vision/preprocess.h"

/* The preprocessing every stage of this model applies. */
const cn_preproc_opts_t *cn_stage_model_preproc(const cn_stage_model_t *m);

#endif
