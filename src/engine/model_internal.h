/* The model's insides for the engine's own tools and tests (camnet info
 * prints the optimized graph). Not part of the public API. */
#ifndef CN_ENGINE_MODEL_INTERNAL_H
#define CN_ENGINE_MODEL_INTERNAL_H

#include "camnet/model.h"

struct cn_graph;

/* The optimized graph (engine/ir/graph.h), read-only, owned by the model. */
const struct cn_graph *cn_model_graph(const cn_model_t *m);

#endif
