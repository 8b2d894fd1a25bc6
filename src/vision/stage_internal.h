/* The stage's insides for in-tree tools and tests. Not public. */
#ifndef CN_VISION_STAGE_INTERNAL_H
#define CN_VISION_STAGE_INTERNAL_H

#include "camnet/stage.h"
#include "core/trace.h"
#include "vision/preprocess.h"

/* The preprocessing every stage of this model applies. */
const cn_preproc_opts_t *cn_stage_model_preproc(const cn_stage_model_t *m);

/* Records each run's preprocess, inference and output decoding, and the
 * flow from the frame's capture, on ring (the stage's thread's; NULL:
 * none). */
void cn__stage_set_trace(cn_stage_t *s, cn_trace_ring_t *ring);

#endif
