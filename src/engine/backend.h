/* cn_engine_ops: the table of functions a backend implements (like Redis'
 * ae_epoll/ae_select). model.c picks one table and calls it; nothing else
 * knows which backend runs.
 *
 * Walking the graph: prepare() receives a finalized, optimized graph (see
 * ir/graph.h) and walks g->nodes in order. For each node it reads op, p (the
 * typed params) and the shapes of node->inputs/outputs; constants have
 * t->data. prepare() does all allocation, weight reordering and planning;
 * run() must not allocate. The graph outlives the backend state (model.c
 * destroys the state first), so prepare() may keep pointers into it.
 *
 * Buffers at the boundary are plain, dense, row-major float32 in the
 * logical shape of g->inputs[i] / g->outputs[i] (NCHW for images), owned by
 * the caller; run() reads inputs and writes every output completely.
 *
 * Threads: prepare/destroy on one thread; run() is not reentrant for one
 * state (cn_model serializes). opts->threads is a hint (0 = default).
 *
 * Errors: negative CN_E* with a message naming the node that failed
 * ("dnnl: node 7 (conv2): unsupported dilation").
 */
#ifndef CN_ENGINE_BACKEND_H
#define CN_ENGINE_BACKEND_H

#include "camnet/error.h"
#include "camnet/model.h"
#include "engine/ir/graph.h"

typedef struct cn_engine_opts {
  int threads;                     /* 0: backend default */
  const cn_interrupt_t *interrupt; /* asked between nodes; NULL: none */
} cn_engine_opts_t;

/* One step of a prepared plan, in execution order (profiles, warnings). */
typedef struct cn_engine_step {
  int node;         /* graph node it belongs to; -1: output conversions */
  const char *what; /* "conv", "binary", "reorder", "ref"... */
  const char *impl; /* oneDNN's implementation (dnnl_query_impl_info_str),
                       or "camnet:ref" for the engine's own plain loops */
  int reference;    /* 1: a reference implementation: oneDNN "ref:...",
                       or a conv/matmul on camnet's plain loops */
  double est_s;     /* estimated seconds per run (dnnl/profile.c) */
} cn_engine_step_t;

typedef struct cn_engine_ops {
  const char *name; /* "ref", "dnnl" */
  int (*prepare)(const cn_graph_t *g, const cn_engine_opts_t *opts,
                 void **state, cn_err_t *err);
  int (*run)(void *state, const float *const *inputs, float *const *outputs,
             cn_err_t *err);
  void (*destroy)(void *state); /* NULL is a no-op */
  /* Optional (NULL when the backend has none): the plan's steps, owned
   * by the state (returns their count); run() that also adds each step's
   * wall time in ns to step_ns[k] (the caller zeroes it). */
  int (*steps)(void *state, const cn_engine_step_t **steps);
  int (*run_timed)(void *state, const float *const *inputs,
                   float *const *outputs, int64_t *step_ns, cn_err_t *err);
} cn_engine_ops_t;

/* The plain-C reference backend (ref/), always present. */
extern const cn_engine_ops_t cn_engine_ref;
/* The oneDNN executor (dnnl/), present when built with oneDNN (G). */
extern const cn_engine_ops_t cn_engine_dnnl;

/* One node of the reference backend on plain buffers, for the oneDNN
 * executor's fallback and for tests. in[i] is the dense data of
 * node->inputs[i] (NULL for an absent input; for a constant input NULL
 * means "use t->data"), out[j] of node->outputs[j]. scratch holds at least
 * cn_ref_node_scratch() bytes (may be NULL when that is 0). Outputs must
 * not alias inputs. Returns 0 or a negative CN_E*. Any thread. */
size_t cn_ref_node_scratch(const cn_graph_t *g, int node);
int cn_ref_node_run(const cn_graph_t *g, int node, const float *const *in,
                    float *const *out, void *scratch, cn_err_t *err);

#endif
