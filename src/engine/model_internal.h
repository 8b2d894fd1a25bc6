/* The model's insides for the engine's own tools and tests (camnet info
 * prints the optimized graph). Not part of the public API. */
#ifndef CN_ENGINE_MODEL_INTERNAL_H
#define CN_ENGINE_MODEL_INTERNAL_H

#include "camnet/model.h"

#include "engine/backend.h"

struct cn_graph;

/* The optimized graph (engine/ir/graph.h), read-only, owned by the model. */
const struct cn_graph *cn_model_graph(const cn_model_t *m);

/* The backend's plan, in execution order (see cn_engine_step_t); returns
 * the count, 0 when the backend does not describe its steps (ref). */
int cn_model_steps(const cn_model_t *m, const cn_engine_step_t **steps);
/* cn_model_run() that also adds each step's wall time (ns) to step_ns,
 * which has cn_model_steps() entries. CN_EUNSUPPORTED without steps. */
int cn_model_run_timed(cn_model_t *m, const float *const *inputs,
                       float *const *outputs, int64_t *step_ns, cn_err_t *err);

/* Reference steps whose estimated cost exceeds this share of the model's
 * are named in a warning at load (and in bench --profile, measured). */
#define CN_MODEL_REF_WARN_SHARE 0.02

#endif
