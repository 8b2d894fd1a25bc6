/* Graph internals for importers and the op table (not for backends). */
#ifndef CN_ENGINE_GRAPH_INTERNAL_H
#define CN_ENGINE_GRAPH_INTERNAL_H

#include "engine/ir/graph.h"

/* Largest tensor the engine accepts: 2^30 elements (4 GiB of float32).
 * Anything bigger in a model file is an absurd dimension, not a network
 * this machine could run. */
#define CN_MAX_NUMEL ((int64_t)1 << 30)

/* Arena memory that is not zeroed (the caller fills all of it). */
void *cn__graph_alloc_raw(cn_graph_t *g, size_t size);

/* A constant whose data already lives in g's arena (no copy): importers
 * that unpack weights straight into the arena use it. */
int cn__graph_add_const_ref(cn_graph_t *g, const char *name, cn_dtype_t dt,
                            int ndim, const int64_t *dims, void *arena_data);

/* Model files put arbitrary bytes in names; messages must stay one line.
 * Replaces control characters in err->msg (if err is set) with '?'. */
void cn__err_clean(cn_err_t *err);

/* Rank and sizes of a tensor shape within the engine's limits. */
int cn__check_dims(const cn_graph_t *g, const char *name, int ndim,
                   const int64_t *dims, cn_err_t *err);
/* Sets err to "SOURCE: node NI (NAME): what" and returns code. */
int cn__node_err(const cn_graph_t *g, int ni, cn_err_t *err, int code,
                 const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* "[1,3,224,224]" into buf. */
void cn__graph_shape_str(const cn_tensor_t *t, char *buf, size_t n);

#endif
