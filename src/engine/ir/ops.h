/* cn_op_info: what the engine knows about each op, one table entry per op
 * (engine/ir/ops.c) instead of a switch per concern. Importers build nodes,
 * cn_graph_finalize() checks and shapes them, backends run them; all of
 * them ask this table for the op's name, input count, accepted data types,
 * shape rule, cost and reference kernel.
 *
 * Elementwise activations are one op (CN_OP_ACT) with a kind; their names,
 * scalar reference formulas and fusability are in a second table
 * (cn_act_info).
 *
 * Ownership: the tables are static and constant. Threads: read-only, any
 * thread. Errors: shape functions return CN_EFORMAT / CN_EUNSUPPORTED with
 * "FILE: node N (NAME): what", like cn_graph_finalize().
 */
#ifndef CN_ENGINE_IR_OPS_H
#define CN_ENGINE_IR_OPS_H

#include <stddef.h>

#include "camnet/error.h"
#include "engine/ir/op_params.h"

struct cn_graph;
struct cn_node;

/* Data types an op accepts on its inputs: a mask of CN_DTYPE_BIT(cn_dtype_t).
 * Only float32 reaches kernels today; int64 exists as import constants. */
#define CN_DTYPE_BIT(dt) (1u << (unsigned)(dt))

/* Precisions a backend may run an op in besides the float32 reference. */
typedef enum cn_prec {
  CN_PREC_F32 = 0,
  CN_PREC_INT8,
  CN_PREC_COUNT_
} cn_prec_t;

/* Sets the shapes of node's outputs from its inputs and params (and may
 * normalize params, e.g. global pooling's kernel). Inputs are checked
 * present and counted before it is called. */
typedef int (*cn_op_shape_fn)(struct cn_graph *g, int node, cn_err_t *err);
/* Multiply-adds x2 (or one per output element for cheap ops). */
typedef double (*cn_op_flops_fn)(const struct cn_graph *g,
                                 const struct cn_node *n);
/* Reference kernel on dense float32 buffers; contract in engine/ref/ref.h. */
typedef int (*cn_op_ref_fn)(const struct cn_graph *g, const struct cn_node *n,
                            const float *const *in, float *const *out,
                            void *scratch, cn_err_t *err);
typedef size_t (*cn_op_scratch_fn)(const struct cn_graph *g,
                                   const struct cn_node *n);
/* A kernel for one precision: buffers in that precision's element type. */
typedef int (*cn_op_kernel_fn)(const struct cn_graph *g,
                               const struct cn_node *n, const void *const *in,
                               void *const *out, void *scratch, cn_err_t *err);

typedef struct cn_op_info {
  const char *name;
  int min_in, max_in; /* input slots; max_in -1: any number */
  int max_out;        /* 1, or -1: any number (Split) */
  unsigned dtypes;    /* CN_DTYPE_BIT of the types its inputs may have */
  cn_op_shape_fn shape;
  cn_op_flops_fn flops; /* NULL: one per output element */
  cn_op_ref_fn ref;
  cn_op_scratch_fn ref_scratch; /* NULL: the kernel needs none */
  /* Per-precision hook for kernels other than the float32 reference
   * (quantized work); NULL: that precision is not available. Backends
   * with native kernels (dnnl/lower.c) keep their own table by op. */
  cn_op_kernel_fn kernel[CN_PREC_COUNT_];
} cn_op_info_t;

/* NULL for CN_OP_COUNT_ (a deleted node) and out-of-range values. */
const cn_op_info_t *cn_op_info(cn_op_t op);
const char *cn_op_name(cn_op_t op); /* "deleted" when no entry */
/* Multiply-adds x2 of one node (the op's flops rule). */
double cn_node_flops(const struct cn_graph *g, int node);

/* y = f(x, alpha, beta), the reference semantics of one activation. */
typedef float (*cn_act_fn)(float x, float alpha, float beta);
typedef struct cn_act_info {
  const char *name;
  cn_act_fn ref;
  int fusable; /* the optimizer may make it a conv/IP post-op */
} cn_act_info_t;

/* Never NULL: out-of-range kinds get CN_ACT_NONE's entry (identity). */
const cn_act_info_t *cn_act_info(cn_act_t act);
const char *cn_act_name(cn_act_t act); /* "?" when out of range */

#endif
