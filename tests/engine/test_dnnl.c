/* The oneDNN executor against the reference backend.
 *
 * Each test builds a small graph with the IR API, runs it on both backends
 * with the same random input and compares every output: the error is
 * max|dnnl - ref| / max|ref| per tensor and must stay <= 1e-4 (float
 * sums in another order differ by a few ulp times the reduction length).
 * Layout propagation, in-place residual sums and concat, the fallback to
 * reference kernels and the absence of allocation in steady state are
 * checked through the executor's counters and a malloc wrapper.
 */
#include "harness.h"

#include "alloc_count.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/backend.h"
#include "engine/dnnl/dnnl_internal.h"
#include "engine/ir/graph.h"
#include "engine/caffe/caffe_import.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ir/optimize.h"
#include "camnet/model.h"

#define TOL 1e-4
#define MAX_OUT 24

/* ---- graph building ---------------------------------------------------- */

typedef struct gb {
  cn_graph_t *g;
  uint32_t rng;
  int nconst;
  int ninputs;
  int inputs[4];
} gb_t;

static float frand(gb_t *b) {
  b->rng ^= b->rng << 13;
  b->rng ^= b->rng >> 17;
  b->rng ^= b->rng << 5;
  return (float)((b->rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void gb_init(gb_t *b, uint32_t seed) {
  memset(b, 0, sizeof(*b));
  b->g = cn_graph_create("test");
  assert_non_null(b->g);
  b->rng = seed * 2654435761u + 1;
}

static int input(gb_t *b, int ndim, const int64_t *dims) {
  char name[16];
  snprintf(name, sizeof(name), "in%d", b->ninputs);
  int t = cn_graph_add_tensor(b->g, name, CN_DT_F32, ndim, dims);
  assert_true(t >= 0);
  b->inputs[b->ninputs++] = t;
  assert_int_equal(cn_graph_set_inputs(b->g, b->inputs, b->ninputs), 0);
  return t;
}

static int input4(gb_t *b, int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t d[4] = {n, c, h, w};
  return input(b, 4, d);
}

/* A constant with values in [-scale, scale). */
static int cst(gb_t *b, int ndim, const int64_t *dims, float scale) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= dims[i];
  float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
  assert_non_null(v);
  for (int64_t i = 0; i < n; i++)
    v[i] = frand(b) * scale;
  char name[32];
  snprintf(name, sizeof(name), "const%d", b->nconst++);
  int c = cn_graph_add_const(b->g, name, CN_DT_F32, ndim, dims, v);
  free(v);
  assert_true(c >= 0);
  return c;
}

static const cn_tensor_t *T(gb_t *b, int t) { return &b->g->tensors[t]; }

/* Adds a node with fresh outputs and infers their shapes. */
static int node(gb_t *b, cn_op_t op, int nin, const int *in, int nout, int *out,
                const cn_op_params_t *p) {
  for (int i = 0; i < nout; i++) {
    out[i] = cn_graph_add_temp(b->g, cn_op_name(op));
    assert_true(out[i] >= 0);
  }
  int k = cn_graph_add_node(b->g, op, NULL, nin, in, nout, out);
  assert_true(k >= 0);
  if (p)
    b->g->nodes[k].p = *p;
  cn_err_t err = {0};
  int rc = cn_graph_infer_node(b->g, k, &err);
  if (rc < 0)
    fail_msg("infer %s: %s", cn_op_name(op), err.msg);
  return out[0];
}

typedef struct conv_spec {
  int oc, kh, kw, sh, sw, dil;
  int pads[4];
  int group, bias;
  cn_postops_t post;
  int post_in[2]; /* SUM operands, appended as inputs 3.. */
} conv_spec_t;

static int conv(gb_t *b, int x, const conv_spec_t *c) {
  int64_t ic = T(b, x)->dims[1];
  int g = c->group ? c->group : 1;
  int64_t wd[4] = {c->oc, ic / g, c->kh, c->kw};
  float sc = 1.0f / sqrtf((float)(ic / g * c->kh * c->kw));
  int in[6] = {x, cst(b, 4, wd, sc), -1, -1, -1, -1};
  int nin = 3;
  if (c->bias) {
    int64_t bd = c->oc;
    in[2] = cst(b, 1, &bd, 0.5f);
  }
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.conv.kernel[0] = c->kh;
  p.conv.kernel[1] = c->kw;
  p.conv.stride[0] = c->sh ? c->sh : 1;
  p.conv.stride[1] = c->sw ? c->sw : 1;
  p.conv.dilation[0] = p.conv.dilation[1] = c->dil ? c->dil : 1;
  memcpy(p.conv.pads, c->pads, sizeof(c->pads));
  p.conv.group = g;
  p.conv.has_bias = c->bias;
  p.conv.post = c->post;
  for (int i = 0; i < c->post.n; i++)
    if (c->post.op[i].kind == CN_POST_SUM)
      in[nin++] = c->post_in[0];
  int out;
  return node(b, CN_OP_CONV, nin, in, 1, &out, &p);
}

static cn_postops_t relu_post(void) {
  cn_postops_t po = {0};
  po.n = 1;
  po.op[0].kind = CN_POST_ACT;
  po.op[0].act = CN_ACT_RELU;
  return po;
}

static cn_postops_t sum_relu_post(void) {
  cn_postops_t po = {0};
  po.n = 2;
  po.op[0].kind = CN_POST_SUM;
  po.op[0].scale = 1.0f;
  po.op[0].input = 3;
  po.op[1].kind = CN_POST_ACT;
  po.op[1].act = CN_ACT_RELU;
  return po;
}

static int pool(gb_t *b, int x, cn_pool_kind_t kind, int k, int s, int pad,
                int ceil_mode, int include_pad, int global) {
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.pool.kind = kind;
  p.pool.kernel[0] = p.pool.kernel[1] = k;
  p.pool.stride[0] = p.pool.stride[1] = s;
  p.pool.dilation[0] = p.pool.dilation[1] = 1;
  for (int i = 0; i < 4; i++)
    p.pool.pads[i] = pad;
  p.pool.ceil_mode = ceil_mode;
  p.pool.count_include_pad = include_pad;
  p.pool.global = global;
  int out;
  return node(b, CN_OP_POOL, 1, &x, 1, &out, &p);
}

static int act(gb_t *b, int x, cn_act_t kind, float alpha, float beta) {
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.act.kind = kind;
  p.act.alpha = alpha;
  p.act.beta = beta;
  int out;
  return node(b, CN_OP_ACT, 1, &x, 1, &out, &p);
}

static int concat(gb_t *b, int n, const int *xs, int axis) {
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.axis.axis = axis;
  int out;
  return node(b, CN_OP_CONCAT, n, xs, 1, &out, &p);
}

static int reshape(gb_t *b, int x, int ndim, const int64_t *dims) {
  int out = cn_graph_add_temp(b->g, "reshape");
  cn_tensor_t *t = &b->g->tensors[out];
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->dims[i] = dims[i];
  int k = cn_graph_add_node(b->g, CN_OP_RESHAPE, NULL, 1, &x, 1, &out);
  assert_true(k >= 0);
  cn_err_t err = {0};
  if (cn_graph_infer_node(b->g, k, &err) < 0)
    fail_msg("reshape: %s", err.msg);
  return out;
}

static int ip(gb_t *b, int x, int oc, int axis, int bias, cn_postops_t post) {
  int64_t k = 1;
  for (int i = axis; i < T(b, x)->ndim; i++)
    k *= T(b, x)->dims[i];
  int64_t wd[2] = {oc, k}, bd = oc;
  int in[3] = {x, cst(b, 2, wd, 1.0f / sqrtf((float)k)),
               bias ? cst(b, 1, &bd, 0.5f) : -1};
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.ip.axis = axis;
  p.ip.has_bias = bias;
  p.ip.post = post;
  int out;
  return node(b, CN_OP_INNER_PRODUCT, 3, in, 1, &out, &p);
}

/* ---- running and comparing ------------------------------------------- */

typedef struct run {
  float *in[4];
  float *ref[MAX_OUT], *dnn[MAX_OUT];
  int64_t nin[4], nout[MAX_OUT];
  void *ds, *rs;
} run_t;

static void finish(gb_t *b, int nout, const int *outs) {
  assert_int_equal(cn_graph_set_outputs(b->g, outs, nout), 0);
  cn_err_t err = {0};
  if (cn_graph_finalize(b->g, &err) < 0)
    fail_msg("finalize: %s", err.msg);
}

static double rel_err(const float *a, const float *ref, int64_t n) {
  double dmax = 0, rmax = 0;
  for (int64_t i = 0; i < n; i++) {
    if (isnan(a[i]) != isnan(ref[i]))
      return INFINITY;
    double d = fabs((double)a[i] - (double)ref[i]);
    if (d > dmax)
      dmax = d;
    if (fabs((double)ref[i]) > rmax)
      rmax = fabs((double)ref[i]);
  }
  return dmax / (rmax > 1e-6 ? rmax : 1e-6);
}

/* Prepares both backends (dnnl with `threads`), runs them on the same
 * random inputs and checks every output. Leaves the dnnl state in r. */
static void run_both(gb_t *b, run_t *r, int threads) {
  memset(r, 0, sizeof(*r));
  cn_graph_t *g = b->g;
  assert_true(g->noutputs <= MAX_OUT && g->ninputs <= 4);
  cn_err_t err = {0};
  cn_engine_opts_t o = {.threads = threads};
  if (cn_engine_ref.prepare(g, &o, &r->rs, &err) < 0)
    fail_msg("ref prepare: %s", err.msg);
  if (cn_engine_dnnl.prepare(g, &o, &r->ds, &err) < 0)
    fail_msg("dnnl prepare: %s", err.msg);
  for (int i = 0; i < g->ninputs; i++) {
    r->nin[i] = cn_tensor_numel(&g->tensors[g->inputs[i]]);
    r->in[i] = malloc((size_t)r->nin[i] * sizeof(float));
    assert_non_null(r->in[i]);
    for (int64_t k = 0; k < r->nin[i]; k++)
      r->in[i][k] = frand(b);
  }
  for (int j = 0; j < g->noutputs; j++) {
    r->nout[j] = cn_tensor_numel(&g->tensors[g->outputs[j]]);
    r->ref[j] = calloc((size_t)r->nout[j], sizeof(float));
    r->dnn[j] = malloc((size_t)r->nout[j] * sizeof(float));
    assert_true(r->ref[j] && r->dnn[j]);
    for (int64_t k = 0; k < r->nout[j]; k++)
      r->dnn[j][k] = NAN; /* every output must be written completely */
  }
  if (cn_engine_ref.run(r->rs, (const float *const *)r->in, r->ref, &err) < 0)
    fail_msg("ref run: %s", err.msg);
  if (cn_engine_dnnl.run(r->ds, (const float *const *)r->in, r->dnn, &err) < 0)
    fail_msg("dnnl run: %s", err.msg);
  if (getenv("CN_DNNL_DESCRIBE")) /* debugging aid: the lowered step list */
    cn__dnnl_describe(r->ds, stderr);
  for (int j = 0; j < g->noutputs; j++) {
    double e = rel_err(r->dnn[j], r->ref[j], r->nout[j]);
    if (!(e <= TOL)) {
      cn__dnnl_describe(r->ds, stderr);
      fail_msg("output %d (%s): relative error %g > %g", j,
               g->tensors[g->outputs[j]].name, e, TOL);
    }
  }
}

static void run_free(run_t *r) {
  cn_engine_dnnl.destroy(r->ds);
  cn_engine_ref.destroy(r->rs);
  for (int i = 0; i < 4; i++)
    free(r->in[i]);
  for (int j = 0; j < MAX_OUT; j++) {
    free(r->ref[j]);
    free(r->dnn[j]);
  }
}

static const cn__dnnl_t *st(const run_t *r) { return r->ds; }

/* Builds nothing more: runs, compares, frees. */
static void check(gb_t *b, int nout, const int *outs) {
  finish(b, nout, outs);
  run_t r;
  run_both(b, &r, 0);
  run_free(&r);
  cn_graph_destroy(b->g);
}

/* ---- tests ------------------------------------------------------------ */

static void test_conv_plain_and_fused_relu(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 1);
  int x = input4(&b, 1, 16, 13, 11);
  conv_spec_t c1 = {
      .oc = 24, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = 1};
  int y1 = conv(&b, x, &c1);
  conv_spec_t c2 = {.oc = 8, .kh = 1, .kw = 1, .bias = 1, .post = relu_post()};
  int y2 = conv(&b, y1, &c2);
  int outs[2] = {y1, y2};
  finish(&b, 2, outs);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_ref_nodes, 0);
  assert_int_equal(st(&r)->n_reorders_in_graph, 0);
  int negatives = 0;
  for (int64_t k = 0; k < r.nout[1]; k++)
    negatives += r.dnn[1][k] < 0;
  assert_int_equal(negatives, 0); /* the fused ReLU ran */
  run_free(&r);
  cn_graph_destroy(b.g);
}

/* The 7x7 stride-2 first layer of ResNet/GoogLeNet, from NCHW input. */
static void test_conv_first_layer_7x7_s2(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 2);
  int x = input4(&b, 1, 3, 57, 61);
  conv_spec_t c = {.oc = 16,
                   .kh = 7,
                   .kw = 7,
                   .sh = 2,
                   .sw = 2,
                   .pads = {3, 3, 3, 3},
                   .bias = 1,
                   .post = relu_post()};
  int y = conv(&b, x, &c);
  check(&b, 1, &y);
}

static void test_conv_sum_relu_in_place(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 3);
  int x = input4(&b, 1, 32, 14, 14);
  conv_spec_t ca = {.oc = 32, .kh = 1, .kw = 1, .bias = 1, .post = relu_post()};
  int a = conv(&b, x, &ca);
  conv_spec_t cb = {
      .oc = 32, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = 1};
  int bb = conv(&b, a, &cb);
  /* residual: conv(bb) + a, then ReLU; a is dead afterwards */
  conv_spec_t cc = {.oc = 32,
                    .kh = 1,
                    .kw = 1,
                    .bias = 1,
                    .post = sum_relu_post(),
                    .post_in = {a}};
  int y = conv(&b, bb, &cc);
  finish(&b, 1, &y);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_inplace_sum, 1);
  assert_int_equal(st(&r)->n_reorders_in_graph, 0);
  run_free(&r);
  cn_graph_destroy(b.g);
}

/* The shortcut is still needed (a graph output): the sum must work on a
 * copy and leave the shortcut intact. */
static void test_conv_sum_shortcut_alive(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 4);
  int x = input4(&b, 1, 16, 9, 9);
  conv_spec_t ca = {
      .oc = 16, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = 1};
  int a = conv(&b, x, &ca);
  conv_spec_t cc = {
      .oc = 16, .kh = 1, .kw = 1, .post = sum_relu_post(), .post_in = {a}};
  int y = conv(&b, a, &cc);
  conv_spec_t cd = {.oc = 8, .kh = 1, .kw = 1, .bias = 1};
  int z = conv(&b, a, &cd); /* a read after the sum too */
  int outs[3] = {y, a, z};
  finish(&b, 3, outs);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_inplace_sum, 0);
  run_free(&r);
  cn_graph_destroy(b.g);
}

static void test_grouped_and_depthwise(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 5);
  int x = input4(&b, 1, 32, 15, 15);
  conv_spec_t cg = {
      .oc = 48, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .group = 4, .bias = 1};
  int g4 = conv(&b, x, &cg);
  cn_postops_t relu6 = {0};
  relu6.n = 1;
  relu6.op[0] = (cn_postop_t){
      .kind = CN_POST_ACT, .act = CN_ACT_CLIP, .alpha = 0, .beta = 6};
  conv_spec_t cdw = {.oc = 48,
                     .kh = 3,
                     .kw = 3,
                     .sh = 2,
                     .sw = 2,
                     .pads = {1, 1, 1, 1},
                     .group = 48,
                     .post = relu6};
  int dw = conv(&b, g4, &cdw);
  int outs[2] = {g4, dw};
  check(&b, 2, outs);
}

static void test_asymmetric_pads_and_dilation(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 6);
  int x = input4(&b, 1, 8, 16, 16);
  /* BlazeFace-style stride-2 with pads [0,0,1,1] and [1,1,2,2] */
  conv_spec_t c1 = {.oc = 8,
                    .kh = 3,
                    .kw = 3,
                    .sh = 2,
                    .sw = 2,
                    .pads = {0, 0, 1, 1},
                    .bias = 1};
  int y1 = conv(&b, x, &c1);
  conv_spec_t c2 = {.oc = 12,
                    .kh = 5,
                    .kw = 5,
                    .sh = 2,
                    .sw = 2,
                    .pads = {1, 1, 2, 2},
                    .group = 4};
  int y2 = conv(&b, x, &c2);
  conv_spec_t c3 = {
      .oc = 8, .kh = 3, .kw = 3, .dil = 2, .pads = {2, 1, 2, 3}, .bias = 1};
  int y3 = conv(&b, x, &c3);
  int outs[3] = {y1, y2, y3};
  check(&b, 3, outs);
}

static void test_pooling(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 7);
  int x = input4(&b, 1, 16, 28, 28);
  conv_spec_t c = {.oc = 16, .kh = 1, .kw = 1, .bias = 1};
  int y = conv(&b, x, &c); /* pooling on the conv's own (NHWC) layout */
  int outs[7];
  outs[0] =
      pool(&b, y, CN_POOL_MAX, 3, 2, 0, 1, 0, 0); /* Caffe ceil: 28 -> 14 */
  assert_int_equal(T(&b, outs[0])->dims[2], 14);
  outs[1] = pool(&b, y, CN_POOL_MAX, 3, 2, 1, 0, 0, 0);
  outs[2] = pool(&b, y, CN_POOL_AVG, 3, 1, 1, 0, 1, 0); /* count_include_pad */
  outs[3] = pool(&b, y, CN_POOL_AVG, 3, 1, 1, 0, 0, 0); /* exclude pad */
  outs[4] =
      pool(&b, y, CN_POOL_AVG, 3, 2, 0, 1, 1, 0); /* ceil, no explicit pad */
  outs[5] = pool(&b, y, CN_POOL_AVG, 0, 0, 0, 0, 0, 1); /* global */
  outs[6] = pool(&b, y, CN_POOL_AVG, 3, 2, 1, 1, 1,
                 0); /* ceil + pad + include: fallback */
  finish(&b, 7, outs);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_ref_nodes, 1);
  run_free(&r);
  cn_graph_destroy(b.g);
}

static void test_lrn(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 8);
  int x = input4(&b, 1, 24, 9, 9);
  conv_spec_t c = {.oc = 24, .kh = 1, .kw = 1, .bias = 1, .post = relu_post()};
  int y = conv(&b, x, &c);
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.lrn =
      (cn_lrn_params_t){.size = 5, .alpha = 1e-4f, .beta = 0.75f, .k = 1.0f};
  int o1, o2;
  node(&b, CN_OP_LRN, 1, &y, 1, &o1, &p);
  p.lrn = (cn_lrn_params_t){
      .size = 3, .alpha = 0.5f, .beta = 0.75f, .k = 2.0f, .within_channel = 1};
  node(&b, CN_OP_LRN, 1, &y, 1, &o2, &p);
  int outs[2] = {o1, o2};
  check(&b, 2, outs);
}

static void test_softmax_and_inner_product(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 9);
  int x = input4(&b, 1, 32, 7, 7);
  conv_spec_t c = {.oc = 32, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = 1};
  int y = conv(&b, x, &c);
  /* IP straight from the 4-D NHWC map (CaffeNet fc6 style) */
  int f1 = ip(&b, y, 40, 1, 1, relu_post());
  int f2 = ip(&b, f1, 10, 1, 0, (cn_postops_t){0});
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.softmax.axis = 1;
  int s1, s2;
  node(&b, CN_OP_SOFTMAX, 1, &f2, 1, &s1, &p);
  node(&b, CN_OP_SOFTMAX, 1, &y, 1, &s2, &p); /* over channels of a 4-D map */
  int outs[3] = {f1, s1, s2};
  finish(&b, 3, outs);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_ref_nodes, 0);
  assert_int_equal(st(&r)->n_reorders_in_graph, 0);
  run_free(&r);
  cn_graph_destroy(b.g);
}

static void test_concat_inception(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 10);
  int x = input4(&b, 1, 32, 14, 14);
  conv_spec_t c1 = {.oc = 16, .kh = 1, .kw = 1, .bias = 1, .post = relu_post()};
  conv_spec_t c3 = {.oc = 24,
                    .kh = 3,
                    .kw = 3,
                    .pads = {1, 1, 1, 1},
                    .bias = 1,
                    .post = relu_post()};
  conv_spec_t c5 = {.oc = 8,
                    .kh = 5,
                    .kw = 5,
                    .pads = {2, 2, 2, 2},
                    .bias = 1,
                    .post = relu_post()};
  int br[4];
  br[0] = conv(&b, x, &c1);
  br[1] = conv(&b, x, &c3);
  br[2] = conv(&b, x, &c5);
  br[3] = conv(&b, pool(&b, x, CN_POOL_MAX, 3, 1, 1, 0, 0, 0), &c1);
  int y = concat(&b, 4, br, 1);
  conv_spec_t cn = {.oc = 16, .kh = 1, .kw = 1, .bias = 1};
  int z = conv(&b, y, &cn);
  int outs[2] = {y, z};
  check(&b, 2, outs);
}

/* SSD-style: heads flattened to [1, k] and concatenated along axis 1; the
 * flattened tensors are contiguous slices of the output, so they are
 * written in place. */
static void test_concat_in_place_flattened(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 11);
  int x = input4(&b, 1, 8, 10, 10);
  int f[3];
  for (int i = 0; i < 3; i++) {
    conv_spec_t c = {
        .oc = 4 * (i + 1), .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = 1};
    int y = conv(&b, x, &c);
    cn_op_params_t p;
    memset(&p, 0, sizeof(p));
    int perm[4] = {0, 2, 3, 1};
    memcpy(p.transpose.perm, perm, sizeof(perm));
    int tr;
    node(&b, CN_OP_TRANSPOSE, 1, &y, 1, &tr, &p);
    int64_t d[2] = {1, cn_tensor_numel(T(&b, tr))};
    f[i] = reshape(&b, tr, 2, d);
  }
  int y = concat(&b, 3, f, 1);
  finish(&b, 1, &y);
  run_t r;
  run_both(&b, &r, 0);
  assert_true(st(&r)->n_inplace_concat >= 2);
  run_free(&r);
  cn_graph_destroy(b.g);
}

static void test_activations(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 12);
  int x = input4(&b, 1, 8, 6, 6);
  conv_spec_t c = {.oc = 8, .kh = 1, .kw = 1, .bias = 1};
  int y = conv(&b, x, &c);
  struct {
    cn_act_t k;
    float a, b;
  } acts[] = {{CN_ACT_RELU, 0.1f, 0},
              {CN_ACT_CLIP, -0.5f, 0.5f},
              {CN_ACT_SIGMOID, 0, 0},
              {CN_ACT_TANH, 0, 0},
              {CN_ACT_HARDSIGMOID, 0.2f, 0.5f},
              {CN_ACT_HARDSWISH, 0, 0},
              {CN_ACT_ELU, 1.0f, 0},
              {CN_ACT_SELU, 1.67f, 1.05f},
              {CN_ACT_SOFTPLUS, 0, 0},
              {CN_ACT_ABS, 0, 0},
              {CN_ACT_NEG, 0, 0},
              {CN_ACT_EXP, 0, 0},
              {CN_ACT_LINEAR, 2.0f, -1.0f},
              {CN_ACT_FLOOR, 0, 0},
              {CN_ACT_ERF, 0, 0}};
  int n = (int)(sizeof(acts) / sizeof(acts[0]));
  int outs[20];
  for (int i = 0; i < n; i++)
    outs[i] = act(&b, y, acts[i].k, acts[i].a, acts[i].b);
  /* sqrt/log/reciprocal on positive data */
  int pos = act(&b, act(&b, y, CN_ACT_ABS, 0, 0), CN_ACT_LINEAR, 1.0f, 0.5f);
  outs[n] = act(&b, pos, CN_ACT_SQRT, 0, 0);
  outs[n + 1] =
      act(&b, act(&b, pos, CN_ACT_RECIPROCAL, 0, 0), CN_ACT_LOG, 0, 0);
  finish(&b, n + 2, outs);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_ref_nodes, 2); /* FLOOR and ERF only */
  run_free(&r);
  cn_graph_destroy(b.g);
}

static void test_binary_and_eltwise(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 13);
  int x = input4(&b, 1, 8, 5, 7);
  conv_spec_t c = {.oc = 8, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = 1};
  int y = conv(&b, x, &c);
  conv_spec_t c2 = {.oc = 8, .kh = 1, .kw = 1};
  int z = conv(&b, x, &c2);
  int64_t cd[3] = {8, 1, 1};
  int outs[8];
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  int o;
  p.binary = CN_BIN_ADD;
  outs[0] = node(&b, CN_OP_BINARY, 2, (int[]){y, z}, 1, &o, &p);
  p.binary = CN_BIN_MUL; /* per-channel constant, broadcast */
  outs[1] =
      node(&b, CN_OP_BINARY, 2, (int[]){y, cst(&b, 3, cd, 1.0f)}, 1, &o, &p);
  p.binary =
      CN_BIN_SUB; /* constant first: swapped operands need the fallback */
  outs[2] =
      node(&b, CN_OP_BINARY, 2, (int[]){cst(&b, 3, cd, 1.0f), y}, 1, &o, &p);
  p.binary = CN_BIN_MAX;
  outs[3] =
      node(&b, CN_OP_BINARY, 2, (int[]){cst(&b, 3, cd, 1.0f), y}, 1, &o, &p);
  p.binary = CN_BIN_DIV;
  outs[4] = node(&b, CN_OP_BINARY, 2, (int[]){y, act(&b, z, CN_ACT_EXP, 0, 0)},
                 1, &o, &p);
  static const float coeffs[3] = {1.0f, -0.5f, 2.0f};
  memset(&p, 0, sizeof(p));
  p.eltwise.kind = CN_ELT_SUM;
  p.eltwise.coeffs = coeffs;
  outs[5] = node(&b, CN_OP_ELTWISE, 3, (int[]){y, z, outs[0]}, 1, &o, &p);
  p.eltwise.kind = CN_ELT_PROD;
  p.eltwise.coeffs = NULL;
  outs[6] = node(&b, CN_OP_ELTWISE, 3, (int[]){y, z, outs[0]}, 1, &o, &p);
  p.eltwise.kind = CN_ELT_MAX;
  outs[7] = node(&b, CN_OP_ELTWISE, 2, (int[]){y, z}, 1, &o, &p);
  finish(&b, 8, outs);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_ref_nodes, 1); /* the swapped SUB */
  run_free(&r);
  cn_graph_destroy(b.g);
}

/* BatchNorm and Scale left standalone (after a concat, where no conv can
 * absorb them) and PReLU. */
static void test_batchnorm_scale_prelu(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 19);
  int x = input4(&b, 1, 12, 6, 7);
  conv_spec_t c = {.oc = 12, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = 1};
  int y = conv(&b, x, &c);
  int64_t cd = 12, sd[3] = {12, 6, 7};
  int o, outs[4];
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.bn.eps = 1e-5f;
  float vv[12]; /* variances must be positive */
  for (int i = 0; i < 12; i++)
    vv[i] = 0.1f + 0.05f * (float)i;
  int varc = cn_graph_add_const(b.g, "bn_var", CN_DT_F32, 1, &cd, vv);
  outs[0] = node(&b, CN_OP_BATCHNORM, 5,
                 (int[]){y, cst(&b, 1, &cd, 1.0f), cst(&b, 1, &cd, 1.0f),
                         cst(&b, 1, &cd, 1.0f), varc},
                 1, &o, &p);
  memset(&p, 0, sizeof(p));
  p.scale.axis = 1;
  p.scale.has_bias = 1;
  outs[1] =
      node(&b, CN_OP_SCALE, 3,
           (int[]){y, cst(&b, 1, &cd, 1.0f), cst(&b, 1, &cd, 1.0f)}, 1, &o, &p);
  p.scale.has_bias = 0; /* a scale over C, H, W (Caffe axis 1, 3-D scale) */
  outs[2] =
      node(&b, CN_OP_SCALE, 2, (int[]){y, cst(&b, 3, sd, 1.0f)}, 1, &o, &p);
  memset(&p, 0, sizeof(p));
  int64_t pd[3] = {12, 1, 1};
  outs[3] =
      node(&b, CN_OP_PRELU, 2, (int[]){y, cst(&b, 3, pd, 0.5f)}, 1, &o, &p);
  finish(&b, 4, outs);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_ref_nodes, 0);
  run_free(&r);
  cn_graph_destroy(b.g);
}

static void test_views_transpose_slice_split(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 14);
  int x = input4(&b, 1, 12, 6, 5);
  conv_spec_t c = {.oc = 32, .kh = 1, .kw = 1, .bias = 1};
  int y = conv(&b, x, &c);
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  int perm[4] = {0, 3, 1, 2};
  memcpy(p.transpose.perm, perm, sizeof(perm));
  int tr, sl, sp[2];
  node(&b, CN_OP_TRANSPOSE, 1, &y, 1, &tr, &p);
  memset(&p, 0, sizeof(p));
  int64_t starts[4] = {0, 16, 1, 2};
  int slice_out = cn_graph_add_temp(b.g, "slice");
  cn_tensor_t *st_ = &b.g->tensors[slice_out];
  st_->ndim = 4;
  int64_t sd[4] = {1, 8, 4, 3};
  memcpy(st_->dims, sd, sizeof(sd));
  for (int i = 0; i < 4; i++) {
    p.slice.starts[i] = starts[i];
    p.slice.steps[i] = 1;
  }
  int k = cn_graph_add_node(b.g, CN_OP_SLICE, NULL, 1, &y, 1, &slice_out);
  b.g->nodes[k].p = p;
  sl = slice_out;
  /* split channels 32 -> 16 + 16, then a conv on the second half */
  memset(&p, 0, sizeof(p));
  p.axis.axis = 1;
  for (int i = 0; i < 2; i++) {
    sp[i] = cn_graph_add_temp(b.g, "split");
    cn_tensor_t *t = &b.g->tensors[sp[i]];
    t->ndim = 4;
    int64_t d[4] = {1, 16, 6, 5};
    memcpy(t->dims, d, sizeof(d));
  }
  k = cn_graph_add_node(b.g, CN_OP_SPLIT, NULL, 1, &y, 2, sp);
  b.g->nodes[k].p = p;
  conv_spec_t c2 = {.oc = 4, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}};
  int z = conv(&b, sp[1], &c2);
  int64_t fd[2] = {1, 32 * 6 * 5};
  int fl = reshape(&b, y, 2, fd); /* NHWC flattened: needs plain order */
  int outs[6] = {tr, sl, sp[0], z, fl, y};
  check(&b, 6, outs);
}

static void test_deconv(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 15);
  int x = input4(&b, 1, 8, 7, 7);
  int64_t wd[4] = {8, 6, 4, 4}, bd = 6;
  int in[3] = {x, cst(&b, 4, wd, 0.2f), cst(&b, 1, &bd, 0.5f)};
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.conv = (cn_conv_params_t){.kernel = {4, 4},
                              .stride = {2, 2},
                              .dilation = {1, 1},
                              .pads = {1, 1, 1, 1},
                              .group = 1,
                              .has_bias = 1,
                              .output_padding = {1, 0}};
  int o1, o2;
  node(&b, CN_OP_DECONV, 3, in, 1, &o1, &p);
  int64_t wg[4] = {8, 3, 3, 3};
  int in2[3] = {x, cst(&b, 4, wg, 0.3f), -1};
  p.conv = (cn_conv_params_t){.kernel = {3, 3},
                              .stride = {2, 2},
                              .dilation = {1, 1},
                              .pads = {1, 1, 1, 1},
                              .group = 2};
  node(&b, CN_OP_DECONV, 3, in2, 1, &o2, &p);
  int outs[2] = {o1, o2};
  check(&b, 2, outs);
}

/* An op oneDNN lacks (Pad, edge mode) between two convolutions: plain
 * buffers and reorders around it, only there. */
/* An output tensor with preset dims (ops whose shape the importer sets). */
static int preset(gb_t *b, cn_op_t op, int nin, const int *in, int ndim,
                  const int64_t *dims, const cn_op_params_t *p) {
  int out = cn_graph_add_temp(b->g, cn_op_name(op));
  assert_true(out >= 0);
  b->g->tensors[out].ndim = ndim;
  memcpy(b->g->tensors[out].dims, dims, sizeof(int64_t) * (size_t)ndim);
  int k = cn_graph_add_node(b->g, op, NULL, nin, in, 1, &out);
  assert_true(k >= 0);
  b->g->nodes[k].p = *p;
  cn_err_t err = {0};
  if (cn_graph_infer_node(b->g, k, &err) < 0)
    fail_msg("infer %s: %s", cn_op_name(op), err.msg);
  return out;
}

static int resize2(gb_t *b, int x, cn_resize_mode_t mode,
                   cn_resize_coord_t coord, cn_resize_nearest_t nm) {
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.resize.mode = mode;
  p.resize.coord = coord;
  p.resize.nearest = nm;
  p.resize.cubic_a = -0.75f;
  const cn_tensor_t *t = T(b, x);
  int64_t d[4] = {t->dims[0], t->dims[1], 2 * t->dims[2], 2 * t->dims[3]};
  float sc[4] = {1, 1, 2, 2};
  memcpy(p.resize.scales, sc, sizeof(sc));
  return preset(b, CN_OP_RESIZE, 1, &x, 4, d, &p);
}

/* Resize (nearest and linear as exporters write them), batched MatMul with
 * broadcast, layer normalization, Mish and GELU run on oneDNN primitives;
 * cubic and align_corners Resize stay on the reference kernel. */
static void test_exporter_ops(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 21);
  int x = input4(&b, 1, 8, 6, 6);
  conv_spec_t c = {.oc = 8, .kh = 1, .kw = 1, .bias = 1};
  int y = conv(&b, x, &c), outs[16], n = 0;
  outs[n++] =
      resize2(&b, y, CN_RESIZE_NEAREST, CN_COORD_ASYMMETRIC, CN_NEAREST_FLOOR);
  outs[n++] = resize2(&b, y, CN_RESIZE_NEAREST, CN_COORD_HALF_PIXEL,
                      CN_NEAREST_ROUND_PREFER_CEIL);
  outs[n++] = resize2(&b, y, CN_RESIZE_LINEAR, CN_COORD_PYTORCH_HALF_PIXEL, 0);
  outs[n++] = resize2(&b, y, CN_RESIZE_LINEAR, CN_COORD_ALIGN_CORNERS, 0);
  outs[n++] = resize2(&b, y, CN_RESIZE_CUBIC, CN_COORD_HALF_PIXEL, 0);
  int64_t d3[3] = {8, 6, 6}, wd[3] = {1, 6, 5};
  int a3 = reshape(&b, y, 3, d3), mm[2] = {a3, cst(&b, 3, wd, 0.5f)};
  int o;
  outs[n++] = node(&b, CN_OP_MATMUL, 2, mm, 1, &o, NULL);
  int qk[2] = {a3, a3};
  outs[n++] = node(&b, CN_OP_MATMUL, 2, qk, 1, &o, NULL);
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.reduce.kind = CN_REDUCE_MEAN;
  p.reduce.axes = 2u; /* channels, keepdims 0 */
  outs[n++] = node(&b, CN_OP_REDUCE, 1, &y, 1, &o, &p);
  p.reduce.kind = CN_REDUCE_L2;
  p.reduce.axes = 12u;
  p.reduce.keepdims = 1;
  outs[n++] = node(&b, CN_OP_REDUCE, 1, &y, 1, &o, &p);
  memset(&p, 0, sizeof(p));
  p.norm.axis = 2;
  p.norm.eps = 1e-5f;
  int64_t nd[1] = {36};
  int ln[3] = {y, cst(&b, 1, nd, 1.0f), cst(&b, 1, nd, 0.5f)};
  outs[n++] = node(&b, CN_OP_LAYERNORM, 3, ln, 1, &o, &p);
  outs[n++] = act(&b, y, CN_ACT_MISH, 0, 0);
  outs[n++] = act(&b, y, CN_ACT_GELU, 0, 0);
  finish(&b, n, outs);
  run_t r;
  run_both(&b, &r, 0);
  /* align_corners and cubic Resize; the two reductions, for which oneDNN
   * 2.6 has only ref:any, run on the engine's vectorized kernel */
  assert_int_equal(st(&r)->n_ref_nodes, 4);
  run_free(&r);
  cn_graph_destroy(b.g);
}

static void test_reference_fallback_in_the_middle(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 16);
  int x = input4(&b, 1, 8, 8, 8);
  conv_spec_t c = {.oc = 8,
                   .kh = 3,
                   .kw = 3,
                   .pads = {1, 1, 1, 1},
                   .bias = 1,
                   .post = relu_post()};
  int y = conv(&b, x, &c);
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.pad.mode = CN_PAD_EDGE;
  int64_t pads[8] = {0, 0, 1, 2, 0, 0, 2, 1};
  memcpy(p.pad.pads, pads, sizeof(pads));
  int pd;
  node(&b, CN_OP_PAD, 1, &y, 1, &pd, &p);
  int z = conv(&b, pd, &c);
  finish(&b, 1, &z);
  run_t r;
  run_both(&b, &r, 0);
  assert_int_equal(st(&r)->n_ref_nodes, 1);
  assert_int_equal(st(&r)->n_reorders_in_graph, 2); /* to plain and back */
  run_free(&r);
  cn_graph_destroy(b.g);
}

/* Edge cases of the boundary: an input that is also an output, two
 * outputs of one tensor, an output that is a constant view. */
static void test_boundary_cases(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 20);
  int x = input4(&b, 1, 4, 3, 5);
  int64_t d2[2] = {1, 60};
  int fl = reshape(&b, x, 2, d2);
  int64_t cd[2] = {2, 3};
  int c = cst(&b, 2, cd, 1.0f);
  int64_t cd6[1] = {6};
  int cv = reshape(&b, c, 1, cd6);
  int outs[5] = {x, fl, x, cv, act(&b, x, CN_ACT_TANH, 0, 0)};
  check(&b, 5, outs);
}

/* A GoogLeNet/ResNet-shaped network in miniature. */
static void build_small_net(gb_t *b, int *out) {
  int x = input4(b, 1, 3, 64, 64);
  conv_spec_t c1 = {.oc = 16,
                    .kh = 7,
                    .kw = 7,
                    .sh = 2,
                    .sw = 2,
                    .pads = {3, 3, 3, 3},
                    .bias = 1,
                    .post = relu_post()};
  int y = conv(b, x, &c1);
  y = pool(b, y, CN_POOL_MAX, 3, 2, 0, 1, 0, 0);
  cn_op_params_t p;
  memset(&p, 0, sizeof(p));
  p.lrn =
      (cn_lrn_params_t){.size = 5, .alpha = 1e-4f, .beta = 0.75f, .k = 1.0f};
  int l;
  node(b, CN_OP_LRN, 1, &y, 1, &l, &p);
  conv_spec_t b1 = {.oc = 8, .kh = 1, .kw = 1, .bias = 1, .post = relu_post()};
  conv_spec_t b3 = {.oc = 16,
                    .kh = 3,
                    .kw = 3,
                    .pads = {1, 1, 1, 1},
                    .bias = 1,
                    .post = relu_post()};
  int br[3] = {conv(b, l, &b1), conv(b, l, &b3),
               conv(b, pool(b, l, CN_POOL_MAX, 3, 1, 1, 0, 0, 0), &b1)};
  int cat = concat(b, 3, br, 1);
  conv_spec_t r1 = {.oc = 32,
                    .kh = 3,
                    .kw = 3,
                    .pads = {1, 1, 1, 1},
                    .bias = 1,
                    .post = relu_post()};
  int a = conv(b, cat, &r1);
  conv_spec_t r2 = {.oc = 32,
                    .kh = 3,
                    .kw = 3,
                    .pads = {1, 1, 1, 1},
                    .bias = 1,
                    .post = sum_relu_post(),
                    .post_in = {cat}};
  int res = conv(b, a, &r2);
  int gp = pool(b, res, CN_POOL_AVG, 0, 0, 0, 0, 0, 1);
  int64_t fd[2] = {1, 32};
  int fl = reshape(b, gp, 2, fd);
  int fc = ip(b, fl, 10, 1, 1, (cn_postops_t){0});
  memset(&p, 0, sizeof(p));
  p.softmax.axis = 1;
  node(b, CN_OP_SOFTMAX, 1, &fc, 1, out, &p);
}

static void test_small_network(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 17);
  int out;
  build_small_net(&b, &out);
  finish(&b, 1, &out);
  run_t r;
  run_both(&b, &r, 0);
  const cn__dnnl_t *s = st(&r);
  assert_int_equal(s->n_ref_nodes, 0);
  assert_int_equal(s->n_reorders_in_graph, 0);
  assert_int_equal(s->n_inplace_sum, 1);
  run_free(&r);
  cn_graph_destroy(b.g);
}

/* Same results with 1 and 2 threads, repeated runs identical; no
 * allocation by camnet's code once prepared, and no growth of the heap in
 * use (which covers oneDNN's own short-lived allocations too). */
static void test_steady_state_no_allocation(void **state) {
  (void)state;
  gb_t b;
  gb_init(&b, 18);
  int out;
  build_small_net(&b, &out);
  finish(&b, 1, &out);
  run_t r1, r2;
  run_both(&b, &r1, 1);
  b.rng = 18 * 2654435761u + 1;
  run_both(&b, &r2, 2);
  cn_err_t err = {0};
  for (int i = 0; i < 5; i++) /* warm up: OpenMP pool, oneDNN caches */
    assert_int_equal(
        cn_engine_dnnl.run(r2.ds, (const float *const *)r1.in, r2.dnn, &err),
        0);
  struct mallinfo2 m0 = mallinfo2();
  cn_test_alloc_start();
  for (int i = 0; i < 20; i++)
    assert_int_equal(
        cn_engine_dnnl.run(r2.ds, (const float *const *)r1.in, r2.dnn, &err),
        0);
  long allocs = cn_test_alloc_stop();
  struct mallinfo2 m1 = mallinfo2();
  assert_int_equal(allocs, 0);
  assert_true(m1.uordblks <= m0.uordblks);
  assert_true(rel_err(r2.dnn[0], r1.dnn[0], r1.nout[0]) <= TOL);
  run_free(&r1);
  run_free(&r2);
  cn_graph_destroy(b.g);
}

/* Real models fetched/generated by scripts/ (models/ is not committed):
 * imported, optimized, then both backends on one random input. */
static int load_model(const char *name, cn_graph_t **g) {
  char a[1024], b[1024];
  cn_err_t err = {0};
  const char *src = cn_test_source_dir();
  int rc;
  if (!strncmp(name, "caffe-", 6)) {
    snprintf(a, sizeof(a), "%s/models/%s/deploy.prototxt", src, name);
    snprintf(b, sizeof(b), "%s/models/%s/model.caffemodel", src, name);
    if (access(a, R_OK) || access(b, R_OK))
      return 1;
    rc = cn_caffe_load(a, b, NULL, g, &err);
  } else {
    if (!strcmp(name, "blazeface"))
      snprintf(
          a, sizeof(a),
          "%s/models/blazeface/face_detection_front_128x128_barracuda.onnx",
          src);
    else
      snprintf(a, sizeof(a), "%s/models/%s/model.onnx", src, name);
    if (access(a, R_OK))
      return 1;
    rc = cn_onnx_load(a, g, &err);
  }
  if (rc == 0)
    rc = cn_graph_optimize(*g, CN_OPT_ALL, &err);
  if (rc < 0)
    fail_msg("%s: %s", name, err.msg);
  return 0;
}

static void test_real_models(void **state) {
  (void)state;
  const char *names[] = {"blazeface", "onnx-squeezenet", "caffe-mobilenet-ssd"};
  int ran = 0;
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    gb_t b;
    memset(&b, 0, sizeof(b));
    b.rng = 77;
    if (load_model(names[k], &b.g) != 0)
      continue;
    run_t r;
    run_both(&b, &r, 0);
    const cn__dnnl_t *s = st(&r);
    assert_int_equal(s->n_reorders_in_graph, 0);
    if (!strcmp(names[k], "caffe-mobilenet-ssd")) {
      assert_int_equal(s->n_ref_nodes, 1);    /* DetectionOutput */
      assert_true(s->n_inplace_concat >= 12); /* the flattened heads */
    } else {
      assert_int_equal(s->n_ref_nodes, 0);
    }
    run_free(&r);
    cn_graph_destroy(b.g);
    ran++;
  }
  if (!ran)
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "no models in %s/models",
                         cn_test_source_dir());
}

/* Through the public API: cn_model_run allocates nothing once loaded. */
static void test_model_run_no_allocation(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof(path), "%s/models/onnx-squeezenet/model.onnx",
           cn_test_source_dir());
  if (access(path, R_OK))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", path);
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.backend = "dnnl";
  o.threads = 2;
  cn_model_t *m;
  cn_err_t err = {0};
  if (cn_model_load(&m, path, &o, &err) < 0)
    fail_msg("%s", err.msg);
  assert_string_equal(cn_model_backend(m), "dnnl");
  const cn_tensor_desc_t *in = cn_model_input(m, 0),
                         *out = cn_model_output(m, 0);
  float *x = calloc((size_t)in->numel, sizeof(float)),
        *y = calloc((size_t)out->numel, sizeof(float));
  assert_true(x && y);
  for (int64_t i = 0; i < in->numel; i++)
    x[i] = (float)(i % 255) / 255.0f;
  const float *ins[1] = {x};
  float *outs[1] = {y};
  for (int i = 0; i < 3; i++)
    assert_int_equal(cn_model_run(m, ins, outs, &err), 0);
  cn_test_alloc_start();
  for (int i = 0; i < 10; i++)
    assert_int_equal(cn_model_run(m, ins, outs, &err), 0);
  assert_int_equal(cn_test_alloc_stop(), 0);
  free(x);
  free(y);
  cn_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_plain_and_fused_relu),
      cmocka_unit_test(test_conv_first_layer_7x7_s2),
      cmocka_unit_test(test_conv_sum_relu_in_place),
      cmocka_unit_test(test_conv_sum_shortcut_alive),
      cmocka_unit_test(test_grouped_and_depthwise),
      cmocka_unit_test(test_asymmetric_pads_and_dilation),
      cmocka_unit_test(test_pooling),
      cmocka_unit_test(test_lrn),
      cmocka_unit_test(test_softmax_and_inner_product),
      cmocka_unit_test(test_concat_inception),
      cmocka_unit_test(test_concat_in_place_flattened),
      cmocka_unit_test(test_activations),
      cmocka_unit_test(test_binary_and_eltwise),
      cmocka_unit_test(test_batchnorm_scale_prelu),
      cmocka_unit_test(test_views_transpose_slice_split),
      cmocka_unit_test(test_deconv),
      cmocka_unit_test(test_exporter_ops),
      cmocka_unit_test(test_reference_fallback_in_the_middle),
      cmocka_unit_test(test_boundary_cases),
      cmocka_unit_test(test_small_network),
      cmocka_unit_test(test_steady_state_no_allocation),
      cmocka_unit_test(test_real_models),
      cmocka_unit_test(test_model_run_no_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
