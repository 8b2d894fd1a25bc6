/* Graph rewrites run once at load, before a backend sees the graph. Each
 * pass keeps the graph's meaning exactly (up to float rounding of folded
 * weights) and leaves it finalized. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ir/graph.h"
#include "engine/ir/graph_internal.h"
#include "engine/ir/optimize.h"

int cn_graph_fold_node(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_node_t *n = &g->nodes[ni];
  if (n->op < 0 || n->op >= CN_OP_COUNT_)
    return 0;
  for (int i = 0; i < n->ninputs; i++) {
    if (n->inputs[i] < 0)
      continue;
    const cn_tensor_t *t = &g->tensors[n->inputs[i]];
    if (!(t->flags & CN_TENSOR_CONST) || t->dtype != CN_DT_F32)
      return 0;
  }
  float *outs[CN_MAX_DIMS];
  if (n->noutputs > CN_MAX_DIMS)
    return 0;
  for (int k = 0; k < n->noutputs; k++) {
    cn_tensor_t *t = &g->tensors[n->outputs[k]];
    outs[k] = cn_graph_alloc(g, (size_t)cn_tensor_numel(t) * sizeof(float));
    if (!outs[k])
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
  }
  size_t sc = cn_ref_node_scratch(g, ni);
  void *scratch = sc ? malloc(sc) : NULL;
  if (sc && !scratch)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
  const float **ins =
      calloc((size_t)(n->ninputs ? n->ninputs : 1), sizeof *ins);
  if (!ins) {
    free(scratch);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
  }
  int r = cn_ref_node_run(g, ni, ins, outs, scratch, err);
  free(ins);
  free(scratch);
  if (r < 0)
    return r;
  n = &g->nodes[ni];
  for (int k = 0; k < n->noutputs; k++) {
    cn_tensor_t *t = &g->tensors[n->outputs[k]];
    t->data = outs[k];
    t->dtype = CN_DT_F32;
    t->flags |= CN_TENSOR_CONST;
    t->producer = -1;
  }
  n->op = CN_OP_COUNT_;
  return 1;
}

static int is_out(const cn_graph_t *g, int t) {
  return (g->tensors[t].flags & CN_TENSOR_OUTPUT) != 0;
}

static void replace_uses(cn_graph_t *g, int from, int to) {
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    if (n->op >= CN_OP_COUNT_)
      continue;
    for (int k = 0; k < n->ninputs; k++)
      if (n->inputs[k] == from)
        n->inputs[k] = to;
  }
}

/* The node producing t if t has exactly one reader and is not a graph
 * output, so that node's result may be rewritten freely; else -1. */
static int sole_producer(const cn_graph_t *g, int t) {
  const cn_tensor_t *x = &g->tensors[t];
  if (x->producer < 0 || x->nuses != 1 || is_out(g, t))
    return -1;
  return x->producer;
}

static int drop_identity(cn_graph_t *g) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    int x = n->inputs[0], y = n->outputs[0];
    int same =
        n->op == CN_OP_IDENTITY ||
        (n->op == CN_OP_RESHAPE && g->tensors[x].ndim == g->tensors[y].ndim &&
         !memcmp(g->tensors[x].dims, g->tensors[y].dims,
                 sizeof(int64_t) * (size_t)g->tensors[x].ndim));
    if (!same)
      continue;
    if (!is_out(g, y)) {
      replace_uses(g, y, x);
      n->op = CN_OP_COUNT_;
      changed = 1;
    } else {
      int p = sole_producer(g, x);
      if (p < 0)
        continue;
      cn_node_t *pn = &g->nodes[p];
      for (int k = 0; k < pn->noutputs; k++)
        if (pn->outputs[k] == x)
          pn->outputs[k] = y;
      g->nodes[i].op = CN_OP_COUNT_;
      changed = 1;
    }
  }
  return changed;
}

static int fold_consts(cn_graph_t *g, cn_err_t *err) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    int r = cn_graph_fold_node(g, i, err);
    if (r < 0)
      return r;
    changed |= r;
  }
  return changed;
}

static int is_const_f32(const cn_graph_t *g, int t) {
  return t >= 0 && (g->tensors[t].flags & CN_TENSOR_CONST) &&
         g->tensors[t].dtype == CN_DT_F32;
}

/* Per-channel affine y = x*s + b of a BatchNorm/Scale node with constant
 * parameters, as two new arrays of C floats in the arena. */
static int channel_affine(cn_graph_t *g, const cn_node_t *n, int64_t C,
                          float **s, float **b) {
  *s = cn_graph_alloc(g, sizeof(float) * (size_t)C);
  *b = cn_graph_alloc(g, sizeof(float) * (size_t)C);
  if (!*s || !*b)
    return CN_ENOMEM;
  if (n->op == CN_OP_BATCHNORM) {
    const float *ga = g->tensors[n->inputs[1]].data,
                *be = g->tensors[n->inputs[2]].data;
    const float *mu = g->tensors[n->inputs[3]].data,
                *va = g->tensors[n->inputs[4]].data;
    for (int64_t c = 0; c < C; c++) {
      float k = ga[c] / sqrtf(va[c] + n->p.bn.eps);
      (*s)[c] = k;
      (*b)[c] = be[c] - mu[c] * k;
    }
  } else {
    const float *sc = g->tensors[n->inputs[1]].data;
    const float *bi =
        n->p.scale.has_bias ? g->tensors[n->inputs[2]].data : NULL;
    for (int64_t c = 0; c < C; c++) {
      (*s)[c] = sc[c];
      (*b)[c] = bi ? bi[c] : 0.0f;
    }
  }
  return 0;
}

static int affine_params_const(const cn_graph_t *g, const cn_node_t *n) {
  for (int k = 1; k < n->ninputs; k++)
    if (n->inputs[k] >= 0 && !is_const_f32(g, n->inputs[k]))
      return 0;
  return 1;
}

static int new_const_like(cn_graph_t *g, const char *stem, int ndim,
                          const int64_t *dims, const float *data) {
  int t = cn_graph_add_temp(g, stem);
  if (t < 0)
    return t;
  char name[300];
  snprintf(name, sizeof name, "%s#", g->tensors[t].name);
  return cn_graph_add_const(g, name, CN_DT_F32, ndim, dims, data);
}

/* Folds y = x*s + b (per channel) into the weights and bias of node p,
 * which produces x for node i alone; node i is deleted. */
static int fold_into_producer(cn_graph_t *g, int i, int p, int64_t C,
                              const float *s, const float *b) {
  cn_node_t *pn = &g->nodes[p];
  /* Scale the weights in place when this conv is their only reader (the
   * usual case), else into a copy. */
  int wid = pn->inputs[1];
  const cn_tensor_t *wt = &g->tensors[wid];
  int64_t wn = cn_tensor_numel(wt), per = wn / C;
  int has_b = pn->ninputs > 2 && pn->inputs[2] >= 0;
  int bid = has_b ? pn->inputs[2] : -1;
  if (wt->nuses != 1) {
    int64_t wd[CN_MAX_DIMS];
    memcpy(wd, wt->dims, sizeof wd);
    wid = new_const_like(g, "folded_w", wt->ndim, wd, wt->data);
    if (wid < 0)
      return CN_ENOMEM;
  }
  if (bid < 0 || g->tensors[bid].nuses != 1) {
    bid = new_const_like(g, "folded_b", 1, &C,
                         bid >= 0 ? g->tensors[bid].data : NULL);
    if (bid < 0)
      return CN_ENOMEM;
  }
  float *w2 = g->tensors[wid].data, *b2 = g->tensors[bid].data;
  if (pn->op == CN_OP_DECONV) { /* W[IC, OC/G, KH, KW] */
    int64_t IC = wt->dims[0], OCg = wt->dims[1], K = wn / (IC * OCg);
    int64_t G = C / OCg, ICg = IC / G;
    for (int64_t ic = 0; ic < IC; ic++)
      for (int64_t j = 0; j < OCg; j++)
        for (int64_t k = 0; k < K; k++)
          w2[(ic * OCg + j) * K + k] *= s[(ic / ICg) * OCg + j];
  } else {
    for (int64_t c = 0; c < C; c++)
      for (int64_t k = 0; k < per; k++)
        w2[c * per + k] *= s[c];
  }
  for (int64_t c = 0; c < C; c++)
    b2[c] = b2[c] * s[c] + b[c];
  pn = &g->nodes[p];
  if (pn->ninputs < 3) {
    int *ins = cn_graph_alloc(g, sizeof(int) * 3);
    if (!ins)
      return CN_ENOMEM;
    ins[0] = pn->inputs[0];
    pn->inputs = ins;
    pn->ninputs = 3;
  }
  pn->inputs[1] = wid;
  pn->inputs[2] = bid;
  if (pn->op == CN_OP_CONV || pn->op == CN_OP_DECONV)
    pn->p.conv.has_bias = 1;
  else
    pn->p.ip.has_bias = 1;
  pn->outputs[0] = g->nodes[i].outputs[0];
  g->nodes[i].op = CN_OP_COUNT_;
  return 0;
}

/* A BatchNorm that cannot fold becomes a Scale: backends then need only
 * one per-channel affine op. */
static int bn_to_scale(cn_graph_t *g, int i, int64_t C, const float *s,
                       const float *b) {
  int sid = new_const_like(g, "bn_scale", 1, &C, s);
  int bid = new_const_like(g, "bn_shift", 1, &C, b);
  if (sid < 0 || bid < 0)
    return CN_ENOMEM;
  cn_node_t *n = &g->nodes[i];
  n->op = CN_OP_SCALE;
  memset(&n->p, 0, sizeof n->p);
  n->p.scale.axis = 1;
  n->p.scale.has_bias = 1;
  n->inputs[1] = sid;
  n->inputs[2] = bid;
  n->ninputs = 3;
  return 0;
}

/* The conv, deconv or inner product producing x (for nothing else) whose
 * constant weights a per-output-channel affine map can fold into, or -1. */
static int fold_target(const cn_graph_t *g, int x) {
  int p = sole_producer(g, x);
  const cn_node_t *pn = p >= 0 ? &g->nodes[p] : NULL;
  int foldable =
      pn &&
      (pn->op == CN_OP_CONV || pn->op == CN_OP_DECONV ||
       pn->op == CN_OP_INNER_PRODUCT) &&
      (pn->op == CN_OP_INNER_PRODUCT ? pn->p.ip.post.n : pn->p.conv.post.n) ==
          0 &&
      is_const_f32(g, pn->inputs[1]) &&
      (pn->ninputs < 3 || pn->inputs[2] < 0 || is_const_f32(g, pn->inputs[2]));
  return foldable ? p : -1;
}

/* The same for a BatchNorm/Scale, whose channel is dim 1: an inner
 * product's (last dim) only when its output is 2-D. */
static int bn_target(const cn_graph_t *g, int x) {
  int p = fold_target(g, x);
  if (p >= 0 && g->nodes[p].op == CN_OP_INNER_PRODUCT &&
      g->tensors[x].ndim != 2)
    return -1;
  return p;
}

static int fold_bn(cn_graph_t *g, cn_err_t *err) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    if (n->op != CN_OP_BATCHNORM && n->op != CN_OP_SCALE)
      continue;
    if (!affine_params_const(g, n))
      continue;
    int x = n->inputs[0];
    const cn_tensor_t *xt = &g->tensors[x];
    if (xt->ndim < 2)
      continue;
    int64_t C = xt->dims[1];
    if (n->op == CN_OP_SCALE &&
        (n->p.scale.axis != 1 ||
         cn_tensor_numel(&g->tensors[n->inputs[1]]) != C))
      continue;
    float *s, *b;
    if (channel_affine(g, n, C, &s, &b) < 0)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
    int p = bn_target(g, x), r = 0;
    if (p >= 0)
      r = fold_into_producer(g, i, p, C, s, b);
    else if (g->nodes[i].op == CN_OP_BATCHNORM)
      r = bn_to_scale(g, i, C, s, b);
    else
      continue;
    if (r < 0)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
    changed = 1;
  }
  return changed;
}

static cn_postops_t *postops_of(cn_node_t *n) {
  if (n->op == CN_OP_CONV)
    return &n->p.conv.post;
  if (n->op == CN_OP_INNER_PRODUCT)
    return &n->p.ip.post;
  return NULL;
}

static int fuse_act(cn_graph_t *g) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    if (n->op != CN_OP_ACT || !cn_act_info(n->p.act.kind)->fusable)
      continue;
    int p = sole_producer(g, n->inputs[0]);
    if (p < 0)
      continue;
    cn_node_t *pn = &g->nodes[p];
    cn_postops_t *po = postops_of(pn);
    if (!po || po->n >= CN_MAX_POSTOPS)
      continue;
    cn_postop_t *o = &po->op[po->n++];
    memset(o, 0, sizeof *o);
    o->kind = CN_POST_ACT;
    o->act = n->p.act.kind;
    o->alpha = n->p.act.alpha;
    o->beta = n->p.act.beta;
    pn->outputs[0] = n->outputs[0];
    n->op = CN_OP_COUNT_;
    changed = 1;
  }
  return changed;
}

/* ---- per-channel constant Mul/Add/Sub/Div next to a convolution ------- */

/* The axis of node p's output that its weights index by output channel
 * (conv, deconv: 1; inner product: its last), or -1. */
static int out_channel_axis(const cn_graph_t *g, const cn_node_t *pn) {
  if (pn->op == CN_OP_CONV || pn->op == CN_OP_DECONV)
    return g->tensors[pn->outputs[0]].ndim == 4 ? 1 : -1;
  if (pn->op == CN_OP_INNER_PRODUCT)
    return pn->p.ip.axis;
  return -1;
}

/* 1 when constant c broadcasts over a tensor of rank ndim along `axis`
 * only (a scalar, [C], [1,C,1,1], [C,1,1]...), C values at most. */
static int per_channel(const cn_graph_t *g, int c, int ndim, int axis,
                       int64_t C) {
  const cn_tensor_t *t = &g->tensors[c];
  if (!is_const_f32(g, c) || t->ndim > ndim)
    return 0;
  for (int k = 0; k < t->ndim; k++) {
    int d = ndim - t->ndim + k;
    if (t->dims[k] != 1 && (d != axis || t->dims[k] != C))
      return 0;
  }
  return 1;
}

/* Binary node n as y = x*s + b per channel, with x its runtime operand:
 * fills s, b (C floats each, arena) and returns x's slot, NOT_AFFINE or
 * CN_ENOMEM. */
#define NOT_AFFINE 2
static int binary_affine(cn_graph_t *g, const cn_node_t *n, int axis, int64_t C,
                         float **s, float **b) {
  if (n->op != CN_OP_BINARY)
    return NOT_AFFINE;
  int ndim = g->tensors[n->outputs[0]].ndim, xk = -1;
  for (int k = 0; k < 2; k++)
    if (!is_const_f32(g, n->inputs[k]) &&
        per_channel(g, n->inputs[1 - k], ndim, axis, C) &&
        g->tensors[n->inputs[k]].ndim == ndim &&
        cn_tensor_numel(&g->tensors[n->inputs[k]]) ==
            cn_tensor_numel(&g->tensors[n->outputs[0]]))
      xk = k;
  cn_binary_kind_t op = n->p.binary;
  if (xk < 0 ||
      (op != CN_BIN_MUL && op != CN_BIN_ADD && op != CN_BIN_SUB &&
       op != CN_BIN_DIV) ||
      (op == CN_BIN_DIV && xk != 0))
    return NOT_AFFINE;
  const cn_tensor_t *ct = &g->tensors[n->inputs[1 - xk]];
  const float *cv = ct->data;
  int64_t cn = cn_tensor_numel(ct);
  *s = cn_graph_alloc(g, sizeof(float) * (size_t)C);
  *b = cn_graph_alloc(g, sizeof(float) * (size_t)C);
  if (!*s || !*b)
    return CN_ENOMEM;
  for (int64_t c = 0; c < C; c++) {
    float v = cv[cn == 1 ? 0 : c];
    if (op == CN_BIN_DIV && v == 0.0f)
      return NOT_AFFINE; /* x/0 stays what IEEE makes of it */
    (*s)[c] = op == CN_BIN_MUL              ? v
              : op == CN_BIN_DIV            ? 1.0f / v
              : op == CN_BIN_SUB && xk == 1 ? -1.0f
                                            : 1.0f;
    (*b)[c] = op == CN_BIN_ADD              ? v
              : op == CN_BIN_SUB && xk == 0 ? -v
              : op == CN_BIN_SUB            ? v
                                            : 0.0f;
  }
  return xk;
}

/* Mul/Add/Sub/Div by a per-channel constant after a conv, deconv or inner
 * product (its output's only reader) into its weights and bias. */
static int fold_affine_after(cn_graph_t *g, cn_err_t *err) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    if (n->op != CN_OP_BINARY)
      continue;
    for (int k = 0; k < 2; k++) {
      int p = fold_target(g, n->inputs[k]);
      if (p < 0)
        continue;
      int axis = out_channel_axis(g, &g->nodes[p]);
      int64_t C = axis < 0 ? 0 : g->tensors[g->nodes[p].outputs[0]].dims[axis];
      float *s, *b;
      int xk = axis < 0 ? NOT_AFFINE : binary_affine(g, n, axis, C, &s, &b);
      if (xk == CN_ENOMEM)
        return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
      if (xk != k) /* not affine, or x is the other operand */
        continue;
      if (fold_into_producer(g, i, p, C, s, b) < 0)
        return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
      changed = 1;
      break;
    }
  }
  return changed;
}

/* The convolution reading tensor t as its data input, when t has no other
 * reader and the conv's weights are constants, or -1. */
static int sole_conv_reader(const cn_graph_t *g, int t) {
  if (g->tensors[t].nuses != 1 || is_out(g, t) || g->tensors[t].ndim != 4)
    return -1;
  for (int i = 0; i < g->nnodes; i++) {
    const cn_node_t *n = &g->nodes[i];
    if (n->op == CN_OP_CONV && n->inputs[0] == t &&
        is_const_f32(g, n->inputs[1]) &&
        (n->ninputs < 3 || n->inputs[2] < 0 || is_const_f32(g, n->inputs[2])))
      return i;
  }
  return -1;
}

/* conv(x*s + b) for per-input-channel s, b: W[o,i,..] *= s[i], and when
 * b != 0, B[o] += sum W[o,i,..]*b[i], which is exact only without padding
 * (padded zeros are not shifted by b). Returns 0, 1 (done), or an error. */
static int fold_into_consumer(cn_graph_t *g, int i, int q, const float *s,
                              const float *b, int64_t C) {
  cn_node_t *qn = &g->nodes[q];
  const cn_conv_params_t *p = &qn->p.conv;
  int has_shift = 0;
  for (int64_t c = 0; c < C; c++)
    has_shift |= b[c] != 0.0f;
  if (has_shift && (p->pads[0] | p->pads[1] | p->pads[2] | p->pads[3]))
    return 0;
  const cn_tensor_t *wt = &g->tensors[qn->inputs[1]];
  int64_t OC = wt->dims[0], ICg = wt->dims[1];
  int64_t per = cn_tensor_numel(wt) / (OC * ICg), G = C / ICg;
  if (G < 1 || C % ICg)
    return 0;
  int wid = new_const_like(g, "folded_w", wt->ndim, wt->dims, wt->data);
  int64_t oc64 = OC;
  int has_b = qn->ninputs > 2 && qn->inputs[2] >= 0;
  int bid = new_const_like(g, "folded_b", 1, &oc64,
                           has_b ? g->tensors[qn->inputs[2]].data : NULL);
  if (wid < 0 || bid < 0)
    return CN_ENOMEM;
  float *w = g->tensors[wid].data, *bias = g->tensors[bid].data;
  for (int64_t o = 0; o < OC; o++)
    for (int64_t ic = 0; ic < ICg; ic++) {
      int64_t c = (o / (OC / G)) * ICg + ic; /* the input channel */
      for (int64_t k = 0; k < per; k++) {
        float *wv = &w[(o * ICg + ic) * per + k];
        bias[o] += *wv * b[c];
        *wv *= s[c];
      }
    }
  qn = &g->nodes[q];
  if (qn->ninputs < 3) {
    int *ins = cn_graph_alloc(g, sizeof(int) * 3);
    if (!ins)
      return CN_ENOMEM;
    ins[0] = qn->inputs[0];
    qn->inputs = ins;
    qn->ninputs = 3;
  }
  qn->inputs[1] = wid;
  qn->inputs[2] = bid;
  qn->p.conv.has_bias = 1;
  g->nodes[i].op = CN_OP_COUNT_;
  return 1;
}

/* Mul (and Add/Sub/Div where exact) by a per-channel constant before a
 * convolution, into the convolution's weights and bias. */
static int fold_affine_before(cn_graph_t *g, cn_err_t *err) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    if (n->op != CN_OP_BINARY)
      continue;
    int q = sole_conv_reader(g, n->outputs[0]);
    if (q < 0)
      continue;
    int64_t C = g->tensors[n->outputs[0]].dims[1];
    float *s, *b;
    int xk = binary_affine(g, n, 1, C, &s, &b);
    if (xk == CN_ENOMEM)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
    if (xk == NOT_AFFINE)
      continue;
    int x = n->inputs[xk];
    int r = fold_into_consumer(g, i, q, s, b, C);
    if (r < 0)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
    if (r > 0)
      g->nodes[q].inputs[0] = x;
    changed |= r;
  }
  return changed;
}

/* ---- activation patterns ------------------------------------------------ */

/* Mul(x, HardSigmoid(x)) with PyTorch's 1/6, 1/2 -> HardSwish(x);
 * Mul(x, Sigmoid(x)) -> Swish(x) (SiLU). The gate must have no other
 * reader. Fuse_act then moves them into the producing convolution. */
static int fuse_gates(cn_graph_t *g) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    if (n->op != CN_OP_BINARY || n->p.binary != CN_BIN_MUL)
      continue;
    for (int k = 0; k < 2; k++) {
      int x = n->inputs[k], p = sole_producer(g, n->inputs[1 - k]);
      if (p < 0 || g->nodes[p].op != CN_OP_ACT || g->nodes[p].inputs[0] != x)
        continue;
      const cn_act_params_t *a = &g->nodes[p].p.act;
      cn_act_t to = CN_ACT_NONE;
      if (a->kind == CN_ACT_SIGMOID)
        to = CN_ACT_SWISH;
      else if (a->kind == CN_ACT_HARDSIGMOID &&
               fabsf(a->alpha - 1.0f / 6.0f) < 1e-7f && a->beta == 0.5f)
        to = CN_ACT_HARDSWISH;
      if (to == CN_ACT_NONE)
        continue;
      g->nodes[p].op = CN_OP_COUNT_;
      n->op = CN_OP_ACT;
      memset(&n->p, 0, sizeof n->p);
      n->p.act.kind = to;
      n->p.act.alpha = 1.0f;
      n->inputs[0] = x;
      n->ninputs = 1;
      changed = 1;
      break;
    }
  }
  return changed;
}

/* Add(conv(x), other) -> conv with a SUM post-op reading `other`, when
 * `other` is ready before the conv runs and both have the output shape. */
static int fuse_sum(cn_graph_t *g, cn_err_t *err) {
  int changed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    cn_node_t *n = &g->nodes[i];
    if (n->op != CN_OP_BINARY || n->p.binary != CN_BIN_ADD)
      continue;
    const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
    int best = -1, other = -1;
    for (int k = 0; k < 2; k++) {
      int a = n->inputs[k], b = n->inputs[1 - k];
      const cn_tensor_t *at = &g->tensors[a], *bt = &g->tensors[b];
      if (a == b || at->ndim != yt->ndim || bt->ndim != yt->ndim ||
          memcmp(at->dims, yt->dims, sizeof(int64_t) * (size_t)yt->ndim) ||
          memcmp(bt->dims, yt->dims, sizeof(int64_t) * (size_t)yt->ndim))
        continue;
      int p = sole_producer(g, a);
      if (p < 0 || g->nodes[p].op != CN_OP_CONV ||
          g->nodes[p].p.conv.post.n >= CN_MAX_POSTOPS)
        continue;
      if (g->tensors[b].producer >= p)
        continue;
      if (p > best) {
        best = p;
        other = b;
      }
    }
    if (best < 0)
      continue;
    cn_node_t *pn = &g->nodes[best];
    int nin = pn->ninputs < 3 ? 3 : pn->ninputs;
    int *ins = cn_graph_alloc(g, sizeof(int) * (size_t)(nin + 1));
    if (!ins)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
    pn = &g->nodes[best];
    for (int k = 0; k < nin; k++)
      ins[k] = k < pn->ninputs ? pn->inputs[k] : -1;
    ins[nin] = other;
    pn->inputs = ins;
    pn->ninputs = nin + 1;
    cn_postop_t *o = &pn->p.conv.post.op[pn->p.conv.post.n++];
    memset(o, 0, sizeof *o);
    o->kind = CN_POST_SUM;
    o->scale = 1.0f;
    o->input = nin;
    pn->outputs[0] = g->nodes[i].outputs[0];
    g->nodes[i].op = CN_OP_COUNT_;
    changed = 1;
  }
  return changed;
}

/* Runs the passes until none changes anything (fusions expose others:
 * conv -> add -> relu needs the sum before the activation). Each changing
 * pass is followed by a compaction, which re-finalizes the graph so the
 * next pass sees fresh producer and use counts. */
static int optimize_impl(cn_graph_t *g, unsigned passes, cn_err_t *err);

int cn_graph_optimize(cn_graph_t *g, unsigned passes, cn_err_t *err) {
  int r = optimize_impl(g, passes, err);
  if (r < 0)
    cn__err_clean(err);
  return r;
}

static int optimize_impl(cn_graph_t *g, unsigned passes, cn_err_t *err) {
  int r = cn_graph_finalize(g, err);
  if (r < 0)
    return r;
  for (int iter = 0; iter < 8; iter++) {
    int changed = 0;
    for (int k = 0; k < 8; k++) {
      switch (k) {
      case 0:
        r = (passes & CN_OPT_FOLD_CONST) ? fold_consts(g, err) : 0;
        break;
      case 1:
        r = (passes & CN_OPT_DROP_IDENTITY) ? drop_identity(g) : 0;
        break;
      case 2:
        r = (passes & CN_OPT_FOLD_BN) ? fold_bn(g, err) : 0;
        break;
      case 3:
        r = (passes & CN_OPT_FOLD_AFFINE) ? fold_affine_after(g, err) : 0;
        break;
      case 4:
        r = (passes & CN_OPT_FOLD_AFFINE) ? fold_affine_before(g, err) : 0;
        break;
      case 5:
        r = (passes & CN_OPT_FUSE_GATES) ? fuse_gates(g) : 0;
        break;
      case 6:
        r = (passes & CN_OPT_FUSE_SUM) ? fuse_sum(g, err) : 0;
        break;
      default:
        r = (passes & CN_OPT_FUSE_ACT) ? cn__opt_fuse_gelu(g) | fuse_act(g) : 0;
        break;
      }
      if (r < 0)
        return r;
      if (r > 0) {
        changed = 1;
        if ((r = cn_graph_compact(g, err)) < 0)
          return r;
      }
    }
    if (!changed)
      break;
  }
  return 0;
}
