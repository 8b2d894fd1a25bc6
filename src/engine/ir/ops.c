/* The op table: one entry per op with its shape rule, cost and reference
 * kernel, and the activation table. The shape functions are the checks
 * cn_graph_finalize() runs on every node: they reject what a kernel could
 * not compute (mismatched weights, out-of-range axes, absurd sizes) with a
 * message naming the node. */
#include "engine/ir/ops.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "engine/ir/graph.h"
#include "engine/ir/graph_internal.h"
#include "engine/ref/ref.h"

#define NODE_ERR(code, ...) cn__node_err(g, ni, err, code, __VA_ARGS__)
#define IN(i) (&g->tensors[g->nodes[ni].inputs[i]])
#define OUT(i) (&g->tensors[g->nodes[ni].outputs[i]])
#define SHAPE(s, buf) (cn__graph_shape_str((s), (buf), sizeof(buf)), (buf))

/* ---- shape helpers ------------------------------------------------------ */

static void set_shape(cn_tensor_t *t, int ndim, const int64_t *dims) {
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->dims[i] = dims[i];
}

static int same_shape(const cn_tensor_t *a, const cn_tensor_t *b) {
  if (a->ndim != b->ndim)
    return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i])
      return 0;
  return 1;
}

/* numpy multidirectional broadcasting of a and b into out; -1 if they do
 * not broadcast. */
static int broadcast_shape(const cn_tensor_t *a, const cn_tensor_t *b,
                           int *ndim, int64_t *dims) {
  int n = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da == db || db == 1)
      dims[i] = da;
    else if (da == 1)
      dims[i] = db;
    else
      return -1;
  }
  *ndim = n;
  return 0;
}

/* Output = input 0's shape. */
static int shape_same(cn_graph_t *g, int ni, cn_err_t *err) {
  (void)err;
  set_shape(OUT(0), IN(0)->ndim, IN(0)->dims);
  return 0;
}

static int postops_check(cn_graph_t *g, int ni, const cn_postops_t *po,
                         int first_extra, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *y = OUT(0);
  if (po->n < 0 || po->n > CN_MAX_POSTOPS)
    return NODE_ERR(CN_EFORMAT, "%d post-ops", po->n);
  for (int i = 0; i < po->n; i++) {
    const cn_postop_t *o = &po->op[i];
    if (o->kind == CN_POST_SUM) {
      if (o->input < first_extra || o->input >= n->ninputs ||
          n->inputs[o->input] < 0)
        return NODE_ERR(CN_EFORMAT, "sum post-op input slot %d", o->input);
      if (!same_shape(&g->tensors[n->inputs[o->input]], y))
        return NODE_ERR(CN_EFORMAT, "sum post-op operand %s has another shape",
                        g->tensors[n->inputs[o->input]].name);
    } else if (o->kind != CN_POST_ACT || o->act <= CN_ACT_NONE ||
               o->act >= CN_ACT_COUNT_) {
      return NODE_ERR(CN_EFORMAT, "bad post-op %d", i);
    }
  }
  return 0;
}

/* Output extent of a window op along one axis; -1 when none fits. */
static int64_t window_out(int64_t in, int k, int s, int d, int p0, int p1,
                          int ceil_mode) {
  int64_t ek = (int64_t)d * (k - 1) + 1;
  int64_t span = in + p0 + p1 - ek;
  if (span < 0 || s <= 0)
    return -1;
  int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  /* The last window must start inside the input or the leading pad. */
  if (ceil_mode && (o - 1) * s >= in + p0)
    o--;
  return o;
}

/* ---- convolution, pooling, inner product, matmul ------------------------ */

/* Weights, group and bias of a CONV / DECONV; sets out_channels. */
static int conv_check(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_node_t *n = &g->nodes[ni];
  cn_conv_params_t *c = &n->p.conv;
  const cn_tensor_t *x = IN(0), *w = IN(1);
  if (x->ndim != 4)
    return NODE_ERR(CN_EUNSUPPORTED,
                    "input has %d dimensions, expected 4 (NCHW)", x->ndim);
  if (w->ndim != 4)
    return NODE_ERR(CN_EFORMAT, "weights have %d dimensions, expected 4",
                    w->ndim);
  if (c->group < 1)
    return NODE_ERR(CN_EFORMAT, "group %d", c->group);
  for (int i = 0; i < 2; i++) {
    if (c->kernel[i] < 1 || c->stride[i] < 1 || c->dilation[i] < 1)
      return NODE_ERR(CN_EFORMAT, "kernel/stride/dilation must be >= 1");
    if (c->kernel[i] != w->dims[2 + i])
      return NODE_ERR(CN_EFORMAT,
                      "kernel %dx%d does not match weights %" PRId64
                      "x%" PRId64,
                      c->kernel[0], c->kernel[1], w->dims[2], w->dims[3]);
  }
  for (int i = 0; i < 4; i++)
    if (c->pads[i] < 0)
      return NODE_ERR(CN_EFORMAT, "negative pad %d", c->pads[i]);
  int64_t oc;
  if (n->op == CN_OP_CONV) {
    oc = w->dims[0];
    if (x->dims[1] != w->dims[1] * c->group || oc % c->group)
      return NODE_ERR(CN_EFORMAT,
                      "input has %" PRId64 " channels, weights %" PRId64
                      "x%" PRId64 " with group %d",
                      x->dims[1], w->dims[0], w->dims[1], c->group);
  } else {
    oc = w->dims[1] * c->group;
    if (x->dims[1] != w->dims[0] || w->dims[0] % c->group)
      return NODE_ERR(CN_EFORMAT,
                      "input has %" PRId64 " channels, weights have %" PRId64,
                      x->dims[1], w->dims[0]);
  }
  c->out_channels = (int)oc;
  if (c->has_bias != (n->ninputs > 2 && n->inputs[2] >= 0))
    return NODE_ERR(CN_EFORMAT, "has_bias does not match inputs");
  if (c->has_bias && cn_tensor_numel(IN(2)) != oc)
    return NODE_ERR(CN_EFORMAT,
                    "bias has %" PRId64 " values, expected %" PRId64,
                    cn_tensor_numel(IN(2)), oc);
  return 0;
}

static int shape_conv(cn_graph_t *g, int ni, cn_err_t *err) {
  int r = conv_check(g, ni, err);
  if (r < 0)
    return r;
  cn_node_t *n = &g->nodes[ni];
  const cn_conv_params_t *c = &n->p.conv;
  const cn_tensor_t *x = IN(0);
  int64_t d[4] = {x->dims[0], c->out_channels, 0, 0};
  for (int i = 0; i < 2; i++) {
    int64_t o;
    if (n->op == CN_OP_CONV) {
      o = window_out(x->dims[2 + i], c->kernel[i], c->stride[i], c->dilation[i],
                     c->pads[i], c->pads[2 + i], 0);
    } else {
      if (c->output_padding[i] < 0)
        return NODE_ERR(CN_EFORMAT, "negative output_padding");
      o = (x->dims[2 + i] - 1) * c->stride[i] - c->pads[i] - c->pads[2 + i] +
          (int64_t)c->dilation[i] * (c->kernel[i] - 1) + 1 +
          c->output_padding[i];
    }
    if (o < 1)
      return NODE_ERR(CN_EFORMAT,
                      "output would be empty (input %" PRId64 ", kernel %d)",
                      x->dims[2 + i], c->kernel[i]);
    d[2 + i] = o;
  }
  set_shape(OUT(0), 4, d);
  if (n->op == CN_OP_DECONV && c->post.n)
    return NODE_ERR(CN_EFORMAT, "post-ops on a deconvolution");
  return postops_check(g, ni, &c->post, 3, err);
}

static double flops_conv(const cn_graph_t *g, const cn_node_t *n) {
  const cn_tensor_t *w = &g->tensors[n->inputs[1]];
  const cn_tensor_t *y = &g->tensors[n->outputs[0]];
  return 2.0 * (double)cn_tensor_numel(y) *
         (double)(w->dims[1] * w->dims[2] * w->dims[3]);
}

static double flops_deconv(const cn_graph_t *g, const cn_node_t *n) {
  const cn_tensor_t *x = &g->tensors[n->inputs[0]];
  const cn_tensor_t *w = &g->tensors[n->inputs[1]];
  return 2.0 * (double)cn_tensor_numel(x) *
         (double)(w->dims[1] * w->dims[2] * w->dims[3]);
}

static int shape_pool(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_pool_params_t *p = &g->nodes[ni].p.pool;
  const cn_tensor_t *x = IN(0);
  if (x->ndim != 4)
    return NODE_ERR(CN_EUNSUPPORTED,
                    "input has %d dimensions, expected 4 (NCHW)", x->ndim);
  if (p->global) {
    p->kernel[0] = (int)x->dims[2];
    p->kernel[1] = (int)x->dims[3];
    p->stride[0] = p->stride[1] = 1;
    p->dilation[0] = p->dilation[1] = 1;
    memset(p->pads, 0, sizeof p->pads);
  }
  int64_t d[4] = {x->dims[0], x->dims[1], 0, 0};
  for (int i = 0; i < 2; i++) {
    if (p->kernel[i] < 1 || p->stride[i] < 1 || p->dilation[i] < 1)
      return NODE_ERR(CN_EFORMAT, "kernel/stride/dilation must be >= 1");
    if (p->pads[i] < 0 || p->pads[2 + i] < 0)
      return NODE_ERR(CN_EFORMAT, "negative pad");
    if (p->pads[i] >= p->kernel[i] * p->dilation[i] ||
        p->pads[2 + i] >= p->kernel[i] * p->dilation[i])
      return NODE_ERR(CN_EFORMAT, "pad %d/%d not smaller than kernel %d",
                      p->pads[i], p->pads[2 + i], p->kernel[i]);
    int64_t o =
        window_out(x->dims[2 + i], p->kernel[i], p->stride[i], p->dilation[i],
                   p->pads[i], p->pads[2 + i], p->ceil_mode);
    if (o < 1)
      return NODE_ERR(CN_EFORMAT, "kernel %d larger than padded input %" PRId64,
                      p->kernel[i], x->dims[2 + i]);
    d[2 + i] = o;
  }
  set_shape(OUT(0), 4, d);
  return 0;
}

static int shape_inner_product(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_node_t *n = &g->nodes[ni];
  cn_ip_params_t *p = &n->p.ip;
  const cn_tensor_t *x = IN(0), *w = IN(1);
  char s1[96];
  if (p->axis < 0 || p->axis > x->ndim)
    return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", p->axis, x->ndim);
  int64_t k = 1, d[CN_MAX_DIMS];
  for (int i = p->axis; i < x->ndim; i++)
    k *= x->dims[i];
  if (w->ndim != 2 || w->dims[1] != k)
    return NODE_ERR(CN_EFORMAT, "weights %s do not take %" PRId64 " inputs",
                    SHAPE(w, s1), k);
  p->out_features = (int)w->dims[0];
  if (p->has_bias != (n->ninputs > 2 && n->inputs[2] >= 0))
    return NODE_ERR(CN_EFORMAT, "has_bias does not match inputs");
  if (p->has_bias && cn_tensor_numel(IN(2)) != w->dims[0])
    return NODE_ERR(CN_EFORMAT,
                    "bias has %" PRId64 " values, expected %" PRId64,
                    cn_tensor_numel(IN(2)), w->dims[0]);
  for (int i = 0; i < p->axis; i++)
    d[i] = x->dims[i];
  d[p->axis] = w->dims[0];
  set_shape(OUT(0), p->axis + 1, d);
  return postops_check(g, ni, &p->post, 3, err);
}

static double flops_inner_product(const cn_graph_t *g, const cn_node_t *n) {
  const cn_tensor_t *w = &g->tensors[n->inputs[1]];
  const cn_tensor_t *y = &g->tensors[n->outputs[0]];
  return 2.0 * (double)cn_tensor_numel(y) * (double)w->dims[1];
}

static int shape_matmul(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_tensor_t *x = IN(0), *b = IN(1);
  char s1[96], s2[96];
  int64_t d[CN_MAX_DIMS];
  if (x->ndim < 1 || b->ndim < 1)
    return NODE_ERR(CN_EFORMAT, "matmul of a scalar");
  cn_tensor_t a2 = *x, b2 = *b;
  if (a2.ndim == 1) { /* [K] -> [1,K] */
    a2.dims[1] = a2.dims[0];
    a2.dims[0] = 1;
    a2.ndim = 2;
  }
  if (b2.ndim == 1) { /* [K] -> [K,1] */
    b2.dims[1] = 1;
    b2.ndim = 2;
  }
  int64_t m = a2.dims[a2.ndim - 2], k = a2.dims[a2.ndim - 1];
  int64_t kb = b2.dims[b2.ndim - 2], nn = b2.dims[b2.ndim - 1];
  if (k != kb)
    return NODE_ERR(CN_EFORMAT, "matmul %s x %s: inner dimensions differ",
                    SHAPE(x, s1), SHAPE(b, s2));
  cn_tensor_t ba = a2, bb = b2;
  ba.ndim -= 2;
  bb.ndim -= 2;
  int nd;
  if (broadcast_shape(&ba, &bb, &nd, d) < 0 || nd + 2 > CN_MAX_DIMS)
    return NODE_ERR(CN_EFORMAT, "matmul batch dimensions do not broadcast");
  if (x->ndim > 1)
    d[nd++] = m;
  if (b->ndim > 1)
    d[nd++] = nn;
  set_shape(OUT(0), nd, d);
  return 0;
}

static double flops_matmul(const cn_graph_t *g, const cn_node_t *n) {
  const cn_tensor_t *a = &g->tensors[n->inputs[0]];
  const cn_tensor_t *y = &g->tensors[n->outputs[0]];
  return 2.0 * (double)cn_tensor_numel(y) * (double)a->dims[a->ndim - 1];
}

/* ---- elementwise -------------------------------------------------------- */

static int shape_binary(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_tensor_t *x = IN(0), *b = IN(1);
  char s1[96], s2[96];
  int64_t d[CN_MAX_DIMS];
  int nd;
  if (broadcast_shape(x, b, &nd, d) < 0)
    return NODE_ERR(CN_EFORMAT, "shapes %s and %s do not broadcast",
                    SHAPE(x, s1), SHAPE(b, s2));
  set_shape(OUT(0), nd, d);
  return 0;
}

static int shape_eltwise(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  for (int i = 1; i < n->ninputs; i++)
    if (n->inputs[i] < 0 || !same_shape(IN(0), IN(i)))
      return NODE_ERR(CN_EFORMAT, "input %d has another shape than input 0", i);
  return shape_same(g, ni, err);
}

static int shape_prelu(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_tensor_t *x = IN(0), *s = IN(1);
  char s1[96], s2[96];
  int64_t d[CN_MAX_DIMS];
  int nd;
  int ok = broadcast_shape(x, s, &nd, d) == 0 && nd == x->ndim;
  for (int i = 0; ok && i < nd; i++)
    ok = d[i] == x->dims[i];
  if (!ok)
    return NODE_ERR(CN_EFORMAT, "slope %s does not broadcast to %s",
                    SHAPE(s, s1), SHAPE(x, s2));
  return shape_same(g, ni, err);
}

static int shape_act(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_act_t k = g->nodes[ni].p.act.kind;
  if (k <= CN_ACT_NONE || k >= CN_ACT_COUNT_)
    return NODE_ERR(CN_EFORMAT, "activation kind %d", (int)k);
  return shape_same(g, ni, err);
}

/* ---- normalization ------------------------------------------------------ */

static int shape_softmax(cn_graph_t *g, int ni, cn_err_t *err) {
  int ax = g->nodes[ni].p.softmax.axis;
  if (ax < 0 || ax >= IN(0)->ndim)
    return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", ax, IN(0)->ndim);
  return shape_same(g, ni, err);
}

static int shape_batchnorm(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *x = IN(0);
  if (x->ndim < 2)
    return NODE_ERR(CN_EFORMAT, "input has %d dimensions, expected >= 2",
                    x->ndim);
  for (int i = 1; i < 5; i++)
    if (n->inputs[i] < 0 || cn_tensor_numel(IN(i)) != x->dims[1])
      return NODE_ERR(CN_EFORMAT,
                      "parameter %d does not have %" PRId64 " values", i,
                      x->dims[1]);
  return shape_same(g, ni, err);
}

static int shape_scale(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *x = IN(0), *s = IN(1);
  char s1[96], s2[96];
  int ax = n->p.scale.axis;
  int ok = ax >= 0 && ax + s->ndim <= x->ndim;
  for (int i = 0; ok && i < s->ndim; i++)
    ok = s->dims[i] == x->dims[ax + i];
  if (!ok)
    return NODE_ERR(CN_EFORMAT, "scale %s at axis %d does not fit %s",
                    SHAPE(s, s1), ax, SHAPE(x, s2));
  if (n->p.scale.has_bias != (n->ninputs > 2 && n->inputs[2] >= 0))
    return NODE_ERR(CN_EFORMAT, "has_bias does not match inputs");
  if (n->p.scale.has_bias && cn_tensor_numel(IN(2)) != cn_tensor_numel(s))
    return NODE_ERR(CN_EFORMAT, "bias and scale sizes differ");
  return shape_same(g, ni, err);
}

static int shape_lrn(cn_graph_t *g, int ni, cn_err_t *err) {
  if (IN(0)->ndim != 4)
    return NODE_ERR(CN_EUNSUPPORTED, "input has %d dimensions, expected 4",
                    IN(0)->ndim);
  if (g->nodes[ni].p.lrn.size < 1)
    return NODE_ERR(CN_EFORMAT, "size %d", g->nodes[ni].p.lrn.size);
  return shape_same(g, ni, err);
}

static int shape_reduce(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_reduce_params_t *p = &g->nodes[ni].p.reduce;
  const cn_tensor_t *x = IN(0);
  int64_t d[CN_MAX_DIMS];
  if (x->ndim < 32 && (p->axes >> x->ndim) != 0)
    return NODE_ERR(CN_EFORMAT, "reduction axes 0x%x for a %d-D input", p->axes,
                    x->ndim);
  int nd = 0;
  for (int k = 0; k < x->ndim; k++) {
    if (!(p->axes & (1u << k)))
      d[nd++] = x->dims[k];
    else if (x->dims[k] == 0 &&
             (p->kind == CN_REDUCE_MAX || p->kind == CN_REDUCE_MIN))
      return NODE_ERR(CN_EFORMAT, "max/min over an empty axis");
    else if (p->keepdims)
      d[nd++] = 1;
  }
  set_shape(OUT(0), nd, d);
  return 0;
}

/* ---- data movement ------------------------------------------------------ */

static int shape_concat(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *x = IN(0);
  cn_tensor_t *y = OUT(0);
  char s1[96], s2[96];
  int ax = n->p.axis.axis;
  if (ax < 0 || ax >= x->ndim)
    return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", ax, x->ndim);
  set_shape(y, x->ndim, x->dims);
  y->dims[ax] = 0;
  for (int i = 0; i < n->ninputs; i++) {
    const cn_tensor_t *t = n->inputs[i] >= 0 ? IN(i) : NULL;
    if (!t || t->ndim != x->ndim)
      return NODE_ERR(CN_EFORMAT, "input %d has another rank", i);
    for (int k = 0; k < x->ndim; k++)
      if (k != ax && t->dims[k] != x->dims[k])
        return NODE_ERR(CN_EFORMAT, "input %d %s does not match input 0 %s", i,
                        SHAPE(t, s1), SHAPE(x, s2));
    y->dims[ax] += t->dims[ax];
  }
  return cn__check_dims(g, y->name, y->ndim, y->dims, err);
}

/* The outputs' shapes come from the importer; this checks they tile x. */
static int shape_split(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *x = IN(0);
  int ax = n->p.axis.axis;
  if (ax < 0 || ax >= x->ndim)
    return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", ax, x->ndim);
  int64_t sum = 0;
  for (int i = 0; i < n->noutputs; i++) {
    const cn_tensor_t *t = OUT(i);
    if (t->ndim != x->ndim)
      return NODE_ERR(CN_EFORMAT, "output %d has another rank", i);
    for (int k = 0; k < x->ndim; k++)
      if (k != ax && t->dims[k] != x->dims[k])
        return NODE_ERR(CN_EFORMAT, "output %d does not match the input", i);
    sum += t->dims[ax];
  }
  if (sum != x->dims[ax])
    return NODE_ERR(CN_EFORMAT,
                    "split sizes add up to %" PRId64 ", axis has %" PRId64, sum,
                    x->dims[ax]);
  return 0;
}

/* The output's shape is the counts (set by the importer). */
static int shape_slice(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_slice_params_t *p = &g->nodes[ni].p.slice;
  const cn_tensor_t *x = IN(0), *y = OUT(0);
  if (y->ndim != x->ndim)
    return NODE_ERR(CN_EFORMAT, "output rank differs from the input");
  for (int k = 0; k < x->ndim; k++) {
    int64_t st = p->starts[k], sp = p->steps[k], c = y->dims[k];
    if (sp == 0)
      return NODE_ERR(CN_EFORMAT, "step 0 on axis %d", k);
    if (c > 1 && (sp > x->dims[k] || sp < -x->dims[k]))
      return NODE_ERR(CN_EFORMAT, "slice on axis %d leaves the input", k);
    if (c > 0 && (st < 0 || st >= x->dims[k] || st + (c - 1) * sp < 0 ||
                  st + (c - 1) * sp >= x->dims[k]))
      return NODE_ERR(CN_EFORMAT, "slice on axis %d leaves the input", k);
  }
  return 0;
}

/* The output's shape is the target (set by the importer). */
static int shape_reshape(cn_graph_t *g, int ni, cn_err_t *err) {
  char s1[96], s2[96];
  if (cn_tensor_numel(OUT(0)) != cn_tensor_numel(IN(0)))
    return NODE_ERR(CN_EFORMAT, "reshape %s to %s changes the element count",
                    SHAPE(IN(0), s1), SHAPE(OUT(0), s2));
  return 0;
}

static int shape_transpose(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_tensor_t *x = IN(0);
  int64_t d[CN_MAX_DIMS];
  unsigned seen = 0;
  for (int k = 0; k < x->ndim; k++) {
    int pk = g->nodes[ni].p.transpose.perm[k];
    if (pk < 0 || pk >= x->ndim || (seen & (1u << pk)))
      return NODE_ERR(CN_EFORMAT, "perm is not a permutation of %d axes",
                      x->ndim);
    seen |= 1u << pk;
    d[k] = x->dims[pk];
  }
  set_shape(OUT(0), x->ndim, d);
  return 0;
}

static int shape_pad(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_pad_params_t *p = &g->nodes[ni].p.pad;
  const cn_tensor_t *x = IN(0);
  cn_tensor_t *y = OUT(0);
  int64_t d[CN_MAX_DIMS];
  for (int k = 0; k < x->ndim; k++) {
    int64_t b = p->pads[k], e = p->pads[x->ndim + k];
    if (b > CN_MAX_NUMEL || e > CN_MAX_NUMEL)
      return NODE_ERR(CN_EFORMAT, "absurd pad on axis %d", k);
    d[k] = x->dims[k] + b + e;
    if (d[k] < 0)
      return NODE_ERR(CN_EFORMAT, "pads remove more than axis %d holds", k);
    if (p->mode == CN_PAD_REFLECT && (b >= x->dims[k] || e >= x->dims[k]) &&
        (b > 0 || e > 0))
      return NODE_ERR(CN_EFORMAT,
                      "reflect pad on axis %d not smaller than the axis", k);
    if (p->mode == CN_PAD_EDGE && x->dims[k] == 0 && (b > 0 || e > 0))
      return NODE_ERR(CN_EFORMAT, "edge pad of an empty axis");
  }
  set_shape(y, x->ndim, d);
  return cn__check_dims(g, y->name, y->ndim, y->dims, err);
}

/* The output's shape is the target size (set by the importer). */
static int shape_resize(cn_graph_t *g, int ni, cn_err_t *err) {
  if (OUT(0)->ndim != IN(0)->ndim)
    return NODE_ERR(CN_EFORMAT, "output rank differs from the input");
  return 0;
}

/* ---- ops added for exporters' graphs (opset <= 17) ---------------------- */

/* Product of x's dims [from, to). */
static int64_t dims_prod(const cn_tensor_t *x, int from, int to) {
  int64_t p = 1;
  for (int k = from; k < to; k++)
    p *= x->dims[k];
  return p;
}

static int shape_layernorm(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *x = IN(0);
  int ax = n->p.norm.axis;
  if (ax < 0 || ax >= x->ndim)
    return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", ax, x->ndim);
  int64_t inner = dims_prod(x, ax, x->ndim);
  for (int i = 1; i < 3 && i < n->ninputs; i++)
    if (n->inputs[i] >= 0 && cn_tensor_numel(IN(i)) != inner)
      return NODE_ERR(CN_EFORMAT,
                      "%s has %" PRId64 " values, expected %" PRId64,
                      i == 1 ? "scale" : "bias", cn_tensor_numel(IN(i)), inner);
  if (!(n->p.norm.eps >= 0))
    return NODE_ERR(CN_EFORMAT, "epsilon %g", (double)n->p.norm.eps);
  set_shape(OUT(0), x->ndim, x->dims);
  for (int o = 1; o < n->noutputs; o++) { /* mean, inv_std_dev */
    int64_t d[CN_MAX_DIMS];
    for (int k = 0; k < x->ndim; k++)
      d[k] = k < ax ? x->dims[k] : 1;
    set_shape(OUT(o), x->ndim, d);
  }
  return 0;
}

static int shape_instnorm(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *x = IN(0);
  if (x->ndim < 3)
    return NODE_ERR(CN_EFORMAT, "input has %d dimensions, expected >= 3",
                    x->ndim);
  for (int i = 1; i < 3; i++)
    if (cn_tensor_numel(IN(i)) != x->dims[1])
      return NODE_ERR(CN_EFORMAT, "%s does not have %" PRId64 " values",
                      i == 1 ? "scale" : "bias", x->dims[1]);
  if (!(n->p.norm.eps >= 0))
    return NODE_ERR(CN_EFORMAT, "epsilon %g", (double)n->p.norm.eps);
  return shape_same(g, ni, err);
}

/* Indices are checked by the importer (a constant); the output has their
 * shape. */
static int shape_gather_elements(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_tensor_t *x = IN(0), *ix = IN(1);
  int ax = g->nodes[ni].p.gather.axis;
  if (ax < 0 || ax >= x->ndim || ix->ndim != x->ndim)
    return NODE_ERR(CN_EFORMAT, "axis %d, data rank %d, indices rank %d", ax,
                    x->ndim, ix->ndim);
  for (int k = 0; k < x->ndim; k++)
    if (k != ax && ix->dims[k] > x->dims[k])
      return NODE_ERR(CN_EFORMAT, "indices exceed the data on axis %d", k);
  set_shape(OUT(0), ix->ndim, ix->dims);
  return 0;
}

static int shape_where(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_tensor_t *c = IN(0), *x = IN(1), *y = IN(2);
  char s1[96], s2[96];
  cn_tensor_t t;
  memset(&t, 0, sizeof t);
  if (broadcast_shape(x, y, &t.ndim, t.dims) < 0)
    return NODE_ERR(CN_EFORMAT, "shapes %s and %s do not broadcast",
                    SHAPE(x, s1), SHAPE(y, s2));
  int64_t d[CN_MAX_DIMS];
  int nd;
  if (broadcast_shape(&t, c, &nd, d) < 0)
    return NODE_ERR(CN_EFORMAT, "condition %s does not broadcast to %s",
                    SHAPE(c, s1), SHAPE(&t, s2));
  set_shape(OUT(0), nd, d);
  return 0;
}

static int shape_tile(cn_graph_t *g, int ni, cn_err_t *err) {
  const cn_tensor_t *x = IN(0);
  cn_tensor_t *y = OUT(0);
  const int64_t *r = g->nodes[ni].p.tile.repeats;
  int64_t d[CN_MAX_DIMS];
  for (int k = 0; k < x->ndim; k++) {
    if (r[k] < 0 || r[k] > CN_MAX_NUMEL)
      return NODE_ERR(CN_EFORMAT, "repeats[%d] = %" PRId64, k, r[k]);
    d[k] = x->dims[k] * r[k];
    if (d[k] > CN_MAX_NUMEL)
      return NODE_ERR(CN_EFORMAT, "tiled axis %d is absurd", k);
  }
  set_shape(y, x->ndim, d);
  return cn__check_dims(g, y->name, y->ndim, y->dims, err);
}

/* ---- Caffe SSD: shapes set by the importer ------------------------------ */

static int shape_preset(cn_graph_t *g, int ni, cn_err_t *err) {
  if (OUT(0)->ndim < 1)
    return NODE_ERR(CN_EFORMAT, "output shape not set by the importer");
  return 0;
}

/* ---- the table ---------------------------------------------------------- */

#define F32 CN_DTYPE_BIT(CN_DT_F32)

static const cn_op_info_t op_table[CN_OP_COUNT_] = {
    [CN_OP_CONV] = {.name = "Conv",
                    .min_in = 2,
                    .max_in = 3 + CN_MAX_POSTOPS,
                    .max_out = 1,
                    .dtypes = F32,
                    .shape = shape_conv,
                    .flops = flops_conv,
                    .ref = cn__ref_conv},
    [CN_OP_DECONV] = {.name = "Deconv",
                      .min_in = 2,
                      .max_in = 3,
                      .max_out = 1,
                      .dtypes = F32,
                      .shape = shape_conv,
                      .flops = flops_deconv,
                      .ref = cn__ref_deconv},
    [CN_OP_POOL] = {.name = "Pool",
                    .min_in = 1,
                    .max_in = 1,
                    .max_out = 1,
                    .dtypes = F32,
                    .shape = shape_pool,
                    .ref = cn__ref_pool},
    [CN_OP_INNER_PRODUCT] = {.name = "InnerProduct",
                             .min_in = 2,
                             .max_in = 3 + CN_MAX_POSTOPS,
                             .max_out = 1,
                             .dtypes = F32,
                             .shape = shape_inner_product,
                             .flops = flops_inner_product,
                             .ref = cn__ref_inner_product},
    [CN_OP_MATMUL] = {.name = "MatMul",
                      .min_in = 2,
                      .max_in = 2,
                      .max_out = 1,
                      .dtypes = F32,
                      .shape = shape_matmul,
                      .flops = flops_matmul,
                      .ref = cn__ref_matmul},
    [CN_OP_BINARY] = {.name = "Binary",
                      .min_in = 2,
                      .max_in = 2,
                      .max_out = 1,
                      .dtypes = F32,
                      .shape = shape_binary,
                      .ref = cn__ref_binary},
    [CN_OP_ELTWISE] = {.name = "Eltwise",
                       .min_in = 1,
                       .max_in = -1,
                       .max_out = 1,
                       .dtypes = F32,
                       .shape = shape_eltwise,
                       .ref = cn__ref_eltwise},
    [CN_OP_ACT] = {.name = "Act",
                   .min_in = 1,
                   .max_in = 1,
                   .max_out = 1,
                   .dtypes = F32,
                   .shape = shape_act,
                   .ref = cn__ref_act_node},
    [CN_OP_PRELU] = {.name = "PRelu",
                     .min_in = 2,
                     .max_in = 2,
                     .max_out = 1,
                     .dtypes = F32,
                     .shape = shape_prelu,
                     .ref = cn__ref_prelu},
    [CN_OP_SOFTMAX] = {.name = "Softmax",
                       .min_in = 1,
                       .max_in = 1,
                       .max_out = 1,
                       .dtypes = F32,
                       .shape = shape_softmax,
                       .ref = cn__ref_softmax},
    [CN_OP_BATCHNORM] = {.name = "BatchNorm",
                         .min_in = 5,
                         .max_in = 5,
                         .max_out = 1,
                         .dtypes = F32,
                         .shape = shape_batchnorm,
                         .ref = cn__ref_batchnorm},
    [CN_OP_SCALE] = {.name = "Scale",
                     .min_in = 2,
                     .max_in = 3,
                     .max_out = 1,
                     .dtypes = F32,
                     .shape = shape_scale,
                     .ref = cn__ref_scale},
    [CN_OP_LRN] = {.name = "LRN",
                   .min_in = 1,
                   .max_in = 1,
                   .max_out = 1,
                   .dtypes = F32,
                   .shape = shape_lrn,
                   .ref = cn__ref_lrn},
    [CN_OP_CONCAT] = {.name = "Concat",
                      .min_in = 1,
                      .max_in = -1,
                      .max_out = 1,
                      .dtypes = F32,
                      .shape = shape_concat,
                      .ref = cn__ref_concat},
    [CN_OP_SPLIT] = {.name = "Split",
                     .min_in = 1,
                     .max_in = 1,
                     .max_out = -1,
                     .dtypes = F32,
                     .shape = shape_split,
                     .ref = cn__ref_split},
    [CN_OP_SLICE] = {.name = "Slice",
                     .min_in = 1,
                     .max_in = 1,
                     .max_out = 1,
                     .dtypes = F32,
                     .shape = shape_slice,
                     .ref = cn__ref_slice},
    [CN_OP_RESHAPE] = {.name = "Reshape",
                       .min_in = 1,
                       .max_in = 1,
                       .max_out = 1,
                       .dtypes = F32,
                       .shape = shape_reshape,
                       .ref = cn__ref_copy},
    [CN_OP_TRANSPOSE] = {.name = "Transpose",
                         .min_in = 1,
                         .max_in = 1,
                         .max_out = 1,
                         .dtypes = F32,
                         .shape = shape_transpose,
                         .ref = cn__ref_transpose},
    [CN_OP_PAD] = {.name = "Pad",
                   .min_in = 1,
                   .max_in = 1,
                   .max_out = 1,
                   .dtypes = F32,
                   .shape = shape_pad,
                   .ref = cn__ref_pad},
    [CN_OP_RESIZE] = {.name = "Resize",
                      .min_in = 1,
                      .max_in = 1,
                      .max_out = 1,
                      .dtypes = F32,
                      .shape = shape_resize,
                      .ref = cn__ref_resize},
    [CN_OP_IDENTITY] = {.name = "Identity",
                        .min_in = 1,
                        .max_in = 1,
                        .max_out = 1,
                        .dtypes = F32,
                        .shape = shape_same,
                        .ref = cn__ref_copy},
    [CN_OP_PRIOR_BOX] = {.name = "PriorBox",
                         .min_in = 1,
                         .max_in = 2,
                         .max_out = 1,
                         .dtypes = F32,
                         .shape = shape_preset,
                         .ref = cn__ref_prior_box,
                         .ref_scratch = cn__ref_prior_box_scratch},
    [CN_OP_DETECTION_OUTPUT] = {.name = "DetectionOutput",
                                .min_in = 3,
                                .max_in = 3,
                                .max_out = 1,
                                .dtypes = F32,
                                .shape = shape_preset,
                                .ref = cn__ref_detection_output,
                                .ref_scratch =
                                    cn__ref_detection_output_scratch},
    [CN_OP_REDUCE] = {.name = "Reduce",
                      .min_in = 1,
                      .max_in = 1,
                      .max_out = 1,
                      .dtypes = F32,
                      .shape = shape_reduce,
                      .ref = cn__ref_reduce},
    [CN_OP_LAYERNORM] = {.name = "LayerNorm",
                         .min_in = 1,
                         .max_in = 3,
                         .max_out = 3,
                         .dtypes = F32,
                         .shape = shape_layernorm,
                         .ref = cn__ref_layernorm},
    [CN_OP_INSTNORM] = {.name = "InstanceNorm",
                        .min_in = 3,
                        .max_in = 3,
                        .max_out = 1,
                        .dtypes = F32,
                        .shape = shape_instnorm,
                        .ref = cn__ref_instnorm},
    [CN_OP_GATHER_ELEMENTS] = {.name = "GatherElements",
                               .min_in = 2,
                               .max_in = 2,
                               .max_out = 1,
                               .dtypes = F32,
                               .shape = shape_gather_elements,
                               .ref = cn__ref_gather_elements},
    [CN_OP_WHERE] = {.name = "Where",
                     .min_in = 3,
                     .max_in = 3,
                     .max_out = 1,
                     .dtypes = F32,
                     .shape = shape_where,
                     .ref = cn__ref_where},
    [CN_OP_TILE] = {.name = "Tile",
                    .min_in = 1,
                    .max_in = 1,
                    .max_out = 1,
                    .dtypes = F32,
                    .shape = shape_tile,
                    .ref = cn__ref_tile},
};

const cn_op_info_t *cn_op_info(cn_op_t op) {
  return op >= 0 && op < CN_OP_COUNT_ ? &op_table[op] : NULL;
}

const char *cn_op_name(cn_op_t op) {
  const cn_op_info_t *oi = cn_op_info(op);
  return oi ? oi->name : "deleted";
}

double cn_node_flops(const cn_graph_t *g, int ni) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_op_info_t *oi = cn_op_info(n->op);
  if (oi && oi->flops)
    return oi->flops(g, n);
  return (double)cn_tensor_numel(&g->tensors[n->outputs[0]]);
}

/* ---- activations -------------------------------------------------------- */

/* Scalar reference formulas; alpha and beta as documented at cn_act_t. */
static float act_none(float x, float a, float b) {
  (void)a, (void)b;
  return x;
}
static float act_relu(float x, float a, float b) {
  (void)b;
  return x > 0 ? x : x * a;
}
static float act_clip(float x, float a, float b) {
  return x < a ? a : x > b ? b : x;
}
static float act_sigmoid(float x, float a, float b) {
  (void)a, (void)b;
  return 1.0f / (1.0f + expf(-x));
}
static float act_tanh(float x, float a, float b) {
  (void)a, (void)b;
  return tanhf(x);
}
static float act_hardsigmoid(float x, float a, float b) {
  float v = a * x + b;
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
static float act_hardswish(float x, float a, float b) {
  (void)a, (void)b;
  float v = x / 6.0f + 0.5f;
  return x * (v < 0 ? 0 : v > 1 ? 1 : v);
}
static float act_elu(float x, float a, float b) {
  (void)b;
  return x >= 0 ? x : a * (expf(x) - 1.0f);
}
static float act_selu(float x, float a, float b) {
  return x > 0 ? b * x : b * a * (expf(x) - 1.0f);
}
static float act_softplus(float x, float a, float b) {
  (void)a, (void)b;
  return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
}
static float act_abs(float x, float a, float b) {
  (void)a, (void)b;
  return fabsf(x);
}
static float act_neg(float x, float a, float b) {
  (void)a, (void)b;
  return -x;
}
static float act_exp(float x, float a, float b) {
  (void)a, (void)b;
  return expf(x);
}
static float act_log(float x, float a, float b) {
  (void)a, (void)b;
  return logf(x);
}
static float act_sqrt(float x, float a, float b) {
  (void)a, (void)b;
  return sqrtf(x);
}
static float act_reciprocal(float x, float a, float b) {
  (void)a, (void)b;
  return 1.0f / x;
}
static float act_floor(float x, float a, float b) {
  (void)a, (void)b;
  return floorf(x);
}
static float act_ceil(float x, float a, float b) {
  (void)a, (void)b;
  return ceilf(x);
}
static float act_linear(float x, float a, float b) { return a * x + b; }
static float act_swish(float x, float a, float b) {
  (void)b;
  return x / (1.0f + expf(-a * x));
}
static float act_erf(float x, float a, float b) {
  (void)a, (void)b;
  return erff(x);
}
static float act_mish(float x, float a, float b) {
  return x * tanhf(act_softplus(x, a, b));
}
static float act_gelu(float x, float a, float b) {
  (void)a, (void)b;
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}
static float act_softsign(float x, float a, float b) {
  (void)a, (void)b;
  return x / (1.0f + fabsf(x));
}
static float act_thresholded_relu(float x, float a, float b) {
  (void)b;
  return x > a ? x : 0.0f;
}
static float act_sin(float x, float a, float b) {
  (void)a, (void)b;
  return sinf(x);
}
static float act_cos(float x, float a, float b) {
  (void)a, (void)b;
  return cosf(x);
}
static float act_sign(float x, float a, float b) {
  (void)a, (void)b;
  return x > 0 ? 1.0f : x < 0 ? -1.0f : x;
}
static float act_round(float x, float a, float b) {
  (void)a, (void)b;
  return nearbyintf(x); /* the default rounding mode: half to even */
}
static float act_celu(float x, float a, float b) {
  (void)b;
  float n = a * expm1f(x / a);
  return (x > 0 ? x : 0.0f) + (n < 0 ? n : 0.0f);
}

/* fusable: what oneDNN takes as a conv/inner-product post-op. */
static const cn_act_info_t act_table[CN_ACT_COUNT_] = {
    [CN_ACT_NONE] = {.name = "none", .ref = act_none},
    [CN_ACT_RELU] = {.name = "relu", .ref = act_relu, .fusable = 1},
    [CN_ACT_CLIP] = {.name = "clip", .ref = act_clip, .fusable = 1},
    [CN_ACT_SIGMOID] = {.name = "sigmoid", .ref = act_sigmoid, .fusable = 1},
    [CN_ACT_TANH] = {.name = "tanh", .ref = act_tanh, .fusable = 1},
    [CN_ACT_HARDSIGMOID] = {.name = "hardsigmoid",
                            .ref = act_hardsigmoid,
                            .fusable = 1},
    [CN_ACT_HARDSWISH] = {.name = "hardswish",
                          .ref = act_hardswish,
                          .fusable = 1},
    [CN_ACT_ELU] = {.name = "elu", .ref = act_elu, .fusable = 1},
    [CN_ACT_SELU] = {.name = "selu", .ref = act_selu},
    [CN_ACT_SOFTPLUS] = {.name = "softplus", .ref = act_softplus, .fusable = 1},
    [CN_ACT_ABS] = {.name = "abs", .ref = act_abs, .fusable = 1},
    [CN_ACT_NEG] = {.name = "neg", .ref = act_neg},
    [CN_ACT_EXP] = {.name = "exp", .ref = act_exp, .fusable = 1},
    [CN_ACT_LOG] = {.name = "log", .ref = act_log, .fusable = 1},
    [CN_ACT_SQRT] = {.name = "sqrt", .ref = act_sqrt, .fusable = 1},
    [CN_ACT_RECIPROCAL] = {.name = "reciprocal", .ref = act_reciprocal},
    [CN_ACT_FLOOR] = {.name = "floor", .ref = act_floor},
    [CN_ACT_CEIL] = {.name = "ceil", .ref = act_ceil},
    [CN_ACT_LINEAR] = {.name = "linear", .ref = act_linear, .fusable = 1},
    [CN_ACT_ERF] = {.name = "erf", .ref = act_erf},
    [CN_ACT_MISH] = {.name = "mish", .ref = act_mish, .fusable = 1},
    [CN_ACT_GELU] = {.name = "gelu", .ref = act_gelu, .fusable = 1},
    [CN_ACT_SOFTSIGN] = {.name = "softsign", .ref = act_softsign},
    [CN_ACT_THRESHOLDED_RELU] = {.name = "thresholdedrelu",
                                 .ref = act_thresholded_relu},
    [CN_ACT_SIN] = {.name = "sin", .ref = act_sin},
    [CN_ACT_COS] = {.name = "cos", .ref = act_cos},
    [CN_ACT_SIGN] = {.name = "sign", .ref = act_sign},
    [CN_ACT_ROUND] = {.name = "round", .ref = act_round},
    [CN_ACT_CELU] = {.name = "celu", .ref = act_celu},
    [CN_ACT_SWISH] = {.name = "swish", .ref = act_swish, .fusable = 1},
};

const cn_act_info_t *cn_act_info(cn_act_t act) {
  return &act_table[act >= 0 && act < CN_ACT_COUNT_ ? act : CN_ACT_NONE];
}

const char *cn_act_name(cn_act_t act) {
  return act >= 0 && act < CN_ACT_COUNT_ ? act_table[act].name : "?";
}
