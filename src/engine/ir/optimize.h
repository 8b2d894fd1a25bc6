/* The optimizer: graph rewrites run once at load, before a backend sees
 * the graph (ir/optimize.c). Each pass keeps the graph's meaning exactly
 * (up to float rounding of folded weights) and leaves it finalized.
 *
 * Ownership: passes rewrite g in place; new weights live in g's arena.
 * Threads: one thread per graph. Errors: those of cn_graph_finalize(),
 * CN_ENOMEM.
 */
#ifndef CN_ENGINE_IR_OPTIMIZE_H
#define CN_ENGINE_IR_OPTIMIZE_H

#include "engine/ir/graph.h"

/* Passes for cn_graph_optimize(), run to a fixed point. */
enum {
  CN_OPT_DROP_IDENTITY = 1u, /* Identity/Dropout and no-op Reshapes */
  CN_OPT_FOLD_CONST = 2u,    /* nodes whose inputs are all constants */
  CN_OPT_FOLD_BN = 4u,       /* BatchNorm/Scale after conv/IP into W,B;
                                the rest become SCALE */
  CN_OPT_FUSE_ACT = 8u,      /* activation after conv/IP -> post-op */
  CN_OPT_FUSE_SUM = 16u,     /* conv + Add(residual) -> SUM post-op */
  CN_OPT_FOLD_AFFINE = 32u,  /* Mul/Add/Sub/Div by a per-channel constant
                                after conv/deconv/IP, or before a conv
                                (Add only without padding) -> W,B */
  CN_OPT_FUSE_GATES = 64u,   /* x*HardSigmoid(x) -> HardSwish,
                                x*Sigmoid(x) -> Swish */
  CN_OPT_ALL = 127u,
};
int cn_graph_optimize(cn_graph_t *g, unsigned passes, cn_err_t *err);

/* Part of CN_OPT_FUSE_ACT (ir/opt_gelu.c): the erf form of GELU as one
 * activation. Returns 1 when it rewrote (the graph then needs
 * cn_graph_compact), else 0. */
int cn__opt_fuse_gelu(cn_graph_t *g);

/* Evaluates a node whose inputs are all float constants with the reference
 * kernels: its outputs become constants and the node is marked deleted
 * (op = CN_OP_COUNT_) until cn_graph_compact(). Returns 1 when folded, 0
 * when the node has a runtime input, or a negative error. */
int cn_graph_fold_node(cn_graph_t *g, int node, cn_err_t *err);

#endif
