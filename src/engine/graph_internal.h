/* Graph internals for importers (not for backends). */
#ifndef CN_ENGINE_GRAPH_INTERNAL_H
#define CN_ENGINE_GRAPH_INTERNAL_H

#include "engine/graph.h"

/* Arena memory that is not zeroed (the caller fills all of it). */
void *cn__graph_alloc_raw(cn_graph_t *g, size_t size);

/* A constant whose data already lives in g's arena (no copy): importers
 * that unpack weights straight into the arena use it. */
int cn__graph_add_const_ref(cn_graph_t *g, const char *name, cn_dtype_t dt,
                            int ndim, const int64_t *dims, void *arena_data);

/* Model files put arbitrary bytes in names; messages must stay one line.
 * Replaces control characters in err->msg (if err is set) with '?'. */
void cn__err_clean(cn_err_t *err);

#endif
