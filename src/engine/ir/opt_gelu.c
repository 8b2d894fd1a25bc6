/* Optimizer pass: the exact GELU as exporters write it before opset 20,
 *   y = (x * (erf(x / sqrt 2) + 1)) * 0.5
 * (PyTorch: Div, Erf, Add, Mul, Mul; x * (1/sqrt 2) is matched too),
 * becomes one GELU activation: oneDNN's gelu_erf kernel
 * instead of five nodes, one of them (Erf) on the reference kernel. */
#include <math.h>

#include "engine/ir/graph.h"
#include "engine/ir/optimize.h"

/* The producer of t when t feeds nothing else and is not a graph output. */
static int only_producer(const cn_graph_t *g, int t, cn_op_t op) {
  if (t < 0)
    return -1;
  const cn_tensor_t *tt = &g->tensors[t];
  if (tt->producer < 0 || tt->nuses != 1 || (tt->flags & CN_TENSOR_OUTPUT))
    return -1;
  return g->nodes[tt->producer].op == op ? tt->producer : -1;
}

static int is_scalar(const cn_graph_t *g, int t, float v) {
  const cn_tensor_t *tt = &g->tensors[t];
  return (tt->flags & CN_TENSOR_CONST) && tt->dtype == CN_DT_F32 &&
         cn_tensor_numel(tt) == 1 &&
         fabsf(((const float *)tt->data)[0] - v) <= 1e-6f * fabsf(v);
}

/* Binary node n as op(other, scalar v) in either order (Div: only as
 * x / v); returns the other input or -1. */
static int with_scalar(const cn_graph_t *g, const cn_node_t *n,
                       cn_binary_kind_t k, float v) {
  if (n->op != CN_OP_BINARY || n->p.binary != k)
    return -1;
  if (is_scalar(g, n->inputs[1], v))
    return n->inputs[0];
  if (k != CN_BIN_DIV && is_scalar(g, n->inputs[0], v))
    return n->inputs[1];
  return -1;
}

/* t = erf(x / sqrt 2) + 1 computed only for this use: returns x and the
 * three nodes, or -1. */
static int erf_part(const cn_graph_t *g, int t, int *nodes) {
  int add = only_producer(g, t, CN_OP_BINARY);
  int e = add < 0 ? -1 : with_scalar(g, &g->nodes[add], CN_BIN_ADD, 1.0f);
  int erf = only_producer(g, e, CN_OP_ACT);
  if (erf < 0 || g->nodes[erf].p.act.kind != CN_ACT_ERF)
    return -1;
  int sc = only_producer(g, g->nodes[erf].inputs[0], CN_OP_BINARY);
  if (sc < 0)
    return -1;
  int x = with_scalar(g, &g->nodes[sc], CN_BIN_DIV, 1.41421356f);
  if (x < 0)
    x = with_scalar(g, &g->nodes[sc], CN_BIN_MUL, 0.70710678f);
  nodes[0] = add, nodes[1] = erf, nodes[2] = sc;
  return x;
}

/* Node i as the last Mul of the pattern: the chain's other nodes in
 * dead[0..3], x returned, or -1. */
static int gelu_at(const cn_graph_t *g, int i, int *dead) {
  const cn_node_t *n = &g->nodes[i];
  int inner = with_scalar(g, n, CN_BIN_MUL, 0.5f);
  int m = only_producer(g, inner, CN_OP_BINARY);
  if (m < 0 || g->nodes[m].p.binary != CN_BIN_MUL)
    return -1;
  const cn_node_t *mn = &g->nodes[m];
  for (int side = 0; side < 2; side++) {
    int a = mn->inputs[side], b = mn->inputs[1 - side];
    int x = erf_part(g, b, dead);
    if (x >= 0 && x == a) { /* (x * (erf + 1)) * 0.5 */
      dead[3] = m;
      return x;
    }
  }
  return -1;
}

int cn__opt_fuse_gelu(cn_graph_t *g) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    int dead[4];
    if (g->nodes[i].op != CN_OP_BINARY)
      continue;
    int x = gelu_at(g, i, dead);
    if (x < 0)
      continue;
    for (int k = 0; k < 4; k++)
      g->nodes[dead[k]].op = CN_OP_COUNT_;
    cn_node_t *n = &g->nodes[i];
    n->op = CN_OP_ACT;
    n->inputs[0] = x;
    n->ninputs = 1;
    n->p.act.kind = CN_ACT_GELU;
    n->p.act.alpha = n->p.act.beta = 0.0f;
    changed = 1;
  }
  return changed;
}
