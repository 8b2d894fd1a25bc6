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
  for (int64_t c = 0; c < C; c++) {
    for (int64_t k = 0; k < per; k++)
      w2[c * per + k] *= s[c];
    b2[c] = b2[c] * s[c] + b[c];
  }
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
  if (pn->op == CN_OP_CONV)
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

/* The conv / inner product whose weights the per-channel affine node i
 * (over x) can fold into, or -1. */
static int bn_target(const cn_graph_t *g, int x) {
  int p = sole_producer(g, x);
  const cn_node_t *pn = p >= 0 ? &g->nodes[p] : NULL;
  int foldable =
      pn && (pn->op == CN_OP_CONV || pn->op == CN_OP_INNER_PRODUCT) &&
      (pn->op == CN_OP_CONV ? pn->p.conv.post.n : pn->p.ip.post.n) == 0 &&
      is_const_f32(g, pn->inputs[1]) &&
      (pn->ninputs < 3 || pn->inputs[2] < 0 || is_const_f32(g, pn->inputs[2]));
  if (pn && pn->op == CN_OP_INNER_PRODUCT && g->tensors[x].ndim != 2)
    foldable = 0;
  return foldable ? p : -1;
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
    for (int k = 0; k < 5; k++) {
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
        r = (passes & CN_OPT_FUSE_SUM) ? fuse_sum(g, err) : 0;
        break;
      default:
        r = (passes & CN_OPT_FUSE_ACT) ? fuse_act(g) : 0;
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
