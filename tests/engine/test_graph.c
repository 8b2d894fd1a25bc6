/* The IR: shape inference, its errors, compaction; and the optimizer, whose
 * rewrites are checked twice: by the graph they leave (which nodes, which
 * post-ops) and by running the reference backend before and after on the
 * same random weights and input. */
#include "harness.h"
#include "engine/model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/backend.h"
#include "engine/ir/graph.h"
#include "engine/ir/optimize.h"
#include "camnet/model.h"

static uint32_t rng = 12345;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static cn_graph_t *new_graph(int *x, int nd, const int64_t *dims) {
  cn_graph_t *g = cn_graph_create("t.onnx");
  assert_non_null(g);
  *x = cn_graph_add_tensor(g, "x", CN_DT_F32, nd, dims);
  assert_int_equal(cn_graph_set_inputs(g, x, 1), 0);
  return g;
}

static int rand_const(cn_graph_t *g, const char *name, int nd,
                      const int64_t *dims, float lo) {
  int id = cn_graph_add_const(g, name, CN_DT_F32, nd, dims, NULL);
  assert_true(id >= 0);
  float *d = g->tensors[id].data;
  for (int64_t i = 0; i < cn_tensor_numel(&g->tensors[id]); i++)
    d[i] = lo > 0 ? lo + fabsf(frand()) : frand();
  return id;
}

static int tensor(cn_graph_t *g, const char *name) {
  int id = cn_graph_add_tensor(g, name, CN_DT_F32, 0, NULL);
  assert_true(id >= 0);
  return id;
}

static int add_conv(cn_graph_t *g, const char *name, int x, int oc, int ic,
                    int k, int pad, int bias, const char *out) {
  char wn[64], bn[64];
  snprintf(wn, sizeof wn, "%s_w", name);
  snprintf(bn, sizeof bn, "%s_b", name);
  int64_t wd[4] = {oc, ic, k, k}, bd[1] = {oc};
  int ins[3] = {x, rand_const(g, wn, 4, wd, 0),
                bias ? rand_const(g, bn, 1, bd, 0) : -1};
  int y = tensor(g, out);
  int n = cn_graph_add_node(g, CN_OP_CONV, name, bias ? 3 : 2, ins, 1, &y);
  assert_true(n >= 0);
  cn_conv_params_t *c = &g->nodes[n].p.conv;
  c->kernel[0] = c->kernel[1] = k;
  c->stride[0] = c->stride[1] = 1;
  c->dilation[0] = c->dilation[1] = 1;
  for (int i = 0; i < 4; i++)
    c->pads[i] = pad;
  c->group = 1;
  c->has_bias = bias;
  return y;
}

static int add_act(cn_graph_t *g, const char *name, int x, cn_act_t k,
                   const char *out) {
  int y = tensor(g, out);
  int n = cn_graph_add_node(g, CN_OP_ACT, name, 1, &x, 1, &y);
  g->nodes[n].p.act.kind = k;
  return y;
}

static int add_bn(cn_graph_t *g, const char *name, int x, int c,
                  const char *out) {
  int64_t d[1] = {c};
  char nm[4][64];
  const char *sfx[4] = {"s", "b", "m", "v"};
  int ins[5] = {x};
  for (int i = 0; i < 4; i++) {
    snprintf(nm[i], sizeof nm[i], "%s_%s", name, sfx[i]);
    ins[1 + i] = rand_const(g, nm[i], 1, d, i == 3 ? 0.5f : 0);
  }
  int y = tensor(g, out);
  int n = cn_graph_add_node(g, CN_OP_BATCHNORM, name, 5, ins, 1, &y);
  g->nodes[n].p.bn.eps = 1e-5f;
  return y;
}

static int add_bin(cn_graph_t *g, const char *name, cn_binary_kind_t k, int a,
                   int b, const char *out) {
  int y = tensor(g, out);
  int ins[2] = {a, b};
  int n = cn_graph_add_node(g, CN_OP_BINARY, name, 2, ins, 1, &y);
  g->nodes[n].p.binary = k;
  return y;
}

static void finalize(cn_graph_t *g) {
  cn_err_t err = {0};
  if (cn_graph_finalize(g, &err) < 0)
    fail_msg("finalize: %s", err.msg);
}

/* Runs g on input x (numel floats) and returns output 0 (malloc'd). */
static float *run_ref(const cn_graph_t *g, const float *x) {
  void *st;
  cn_err_t err = {0};
  cn_engine_opts_t eo = {0};
  if (cn_engine_ref.prepare(g, &eo, &st, &err) < 0)
    fail_msg("prepare: %s", err.msg);
  float *outs[4] = {0};
  assert_true(g->noutputs <= 4);
  for (int i = 0; i < g->noutputs; i++)
    outs[i] = malloc(sizeof(float) *
                     (size_t)cn_tensor_numel(&g->tensors[g->outputs[i]]));
  const float *ins[1] = {x};
  if (cn_engine_ref.run(st, ins, outs, &err) < 0)
    fail_msg("run: %s", err.msg);
  cn_engine_ref.destroy(st);
  for (int i = 1; i < g->noutputs; i++)
    free(outs[i]);
  return outs[0];
}

static float *rand_input(const cn_graph_t *g) {
  int64_t n = cn_tensor_numel(&g->tensors[g->inputs[0]]);
  float *x = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    x[i] = frand();
  return x;
}

static void assert_close(const float *a, const float *b, int64_t n, float tol) {
  for (int64_t i = 0; i < n; i++)
    if (!(fabsf(a[i] - b[i]) <= tol * (1 + fabsf(b[i]))))
      fail_msg("y[%lld] = %g, expected %g", (long long)i, (double)a[i],
               (double)b[i]);
}

/* Optimizes g and checks the output is unchanged; returns g. */
static void optimize_same(cn_graph_t *g) {
  finalize(g);
  float *x = rand_input(g);
  float *before = run_ref(g, x);
  int64_t n = cn_tensor_numel(&g->tensors[g->outputs[0]]);
  cn_err_t err = {0};
  if (cn_graph_optimize(g, CN_OPT_ALL, &err) < 0)
    fail_msg("optimize: %s", err.msg);
  assert_int_equal(cn_tensor_numel(&g->tensors[g->outputs[0]]), n);
  float *after = run_ref(g, x);
  assert_close(after, before, n, 1e-5f);
  free(x);
  free(before);
  free(after);
}

/* ---- shape inference ------------------------------------------------------
 */

/* Designated initializers leave a forgotten entry zeroed, silently: every
 * op and activation kind must have a complete one. */
static void test_op_table_complete(void **state) {
  (void)state;
  for (int op = 0; op < CN_OP_COUNT_; op++) {
    const cn_op_info_t *oi = cn_op_info((cn_op_t)op);
    assert_non_null(oi);
    if (!oi->name || !oi->shape || !oi->ref || oi->max_out == 0 ||
        oi->min_in < 1 || (oi->max_in >= 0 && oi->max_in < oi->min_in) ||
        !(oi->dtypes & CN_DTYPE_BIT(CN_DT_F32)))
      fail_msg("op %d (%s): incomplete table entry", op,
               oi->name ? oi->name : "?");
    for (int k = 0; k < op; k++)
      if (!strcmp(cn_op_info((cn_op_t)k)->name, oi->name))
        fail_msg("ops %d and %d are both %s", k, op, oi->name);
  }
  assert_null(cn_op_info(CN_OP_COUNT_));
  assert_string_equal(cn_op_name(CN_OP_COUNT_), "deleted");
  for (int a = 0; a < CN_ACT_COUNT_; a++) {
    const cn_act_info_t *ai = cn_act_info((cn_act_t)a);
    if (!ai->name || !ai->ref)
      fail_msg("activation %d: incomplete table entry", a);
  }
  assert_string_equal(cn_act_name(CN_ACT_COUNT_), "?");
  /* Out-of-range kinds compute the identity, not garbage. */
  assert_true(cn_act_info(CN_ACT_COUNT_)->ref(-2.5f, 0, 0) == -2.5f);
}

static void test_conv_pool_shapes(void **state) {
  (void)state;
  int x;
  const int64_t d[4] = {1, 3, 224, 224};
  cn_graph_t *g = new_graph(&x, 4, d);
  int64_t wd[4] = {64, 3, 7, 7};
  int ins[2] = {x, rand_const(g, "w", 4, wd, 0)};
  int c = tensor(g, "c");
  int n = cn_graph_add_node(g, CN_OP_CONV, "conv1", 2, ins, 1, &c);
  cn_conv_params_t *cp = &g->nodes[n].p.conv;
  cp->kernel[0] = cp->kernel[1] = 7;
  cp->stride[0] = cp->stride[1] = 2;
  cp->dilation[0] = cp->dilation[1] = 1;
  for (int i = 0; i < 4; i++)
    cp->pads[i] = 3;
  cp->group = 1;
  /* Caffe/PyTorch ceil rule: 112 -> (112+1+1-3)/2 = 55.5 -> 56 + 1 = 57,
   * and the last window (56*2 = 112) starts in the right pad (>= 112+1?
   * no: 112 < 113), so 57 stays. */
  int p = tensor(g, "p");
  n = cn_graph_add_node(g, CN_OP_POOL, "pool1", 1, &c, 1, &p);
  cn_pool_params_t *pp = &g->nodes[n].p.pool;
  pp->kind = CN_POOL_MAX;
  pp->kernel[0] = pp->kernel[1] = 3;
  pp->stride[0] = pp->stride[1] = 2;
  pp->dilation[0] = pp->dilation[1] = 1;
  for (int i = 0; i < 4; i++)
    pp->pads[i] = 1;
  pp->ceil_mode = 1;
  assert_int_equal(cn_graph_set_outputs(g, &p, 1), 0);
  finalize(g);
  const cn_tensor_t *ct = &g->tensors[c], *pt = &g->tensors[p];
  assert_int_equal(ct->ndim, 4);
  assert_true(ct->dims[1] == 64 && ct->dims[2] == 112 && ct->dims[3] == 112);
  assert_true(pt->dims[2] == 57 && pt->dims[3] == 57);
  assert_int_equal(g->nodes[0].p.conv.out_channels, 64);
  /* 2*MACs: 2 * 64*112*112 * 3*7*7. */
  assert_true(fabs(cn_node_flops(g, 0) - 2.0 * 64 * 112 * 112 * 147) < 1);
  cn_graph_destroy(g);

  /* Ceil rounding that would start a window past the input is dropped:
   * 5 with k2 s2 p1: ceil((5+2-2)/2)+1 = 4, but (4-1)*2 = 6 >= 5+1 -> 3. */
  const int64_t d5[4] = {1, 1, 5, 5};
  g = new_graph(&x, 4, d5);
  p = tensor(g, "p");
  n = cn_graph_add_node(g, CN_OP_POOL, "pool", 1, &x, 1, &p);
  pp = &g->nodes[n].p.pool;
  pp->kind = CN_POOL_AVG;
  pp->kernel[0] = pp->kernel[1] = 2;
  pp->stride[0] = pp->stride[1] = 2;
  pp->dilation[0] = pp->dilation[1] = 1;
  for (int i = 0; i < 4; i++)
    pp->pads[i] = 1;
  pp->ceil_mode = 1;
  assert_int_equal(cn_graph_set_outputs(g, &p, 1), 0);
  finalize(g);
  assert_int_equal(g->tensors[p].dims[2], 3);
  cn_graph_destroy(g);
}

static void test_broadcast_matmul_shapes(void **state) {
  (void)state;
  int x;
  const int64_t d[3] = {2, 1, 4};
  cn_graph_t *g = new_graph(&x, 3, d);
  int64_t bd[2] = {3, 1};
  int b = rand_const(g, "b", 2, bd, 0);
  int y = add_bin(g, "add", CN_BIN_ADD, x, b, "y");
  int64_t md[3] = {2, 4, 5};
  int m = rand_const(g, "m", 3, md, 0);
  int z = tensor(g, "z");
  int ins[2] = {y, m};
  cn_graph_add_node(g, CN_OP_MATMUL, "mm", 2, ins, 1, &z);
  assert_int_equal(cn_graph_set_outputs(g, &z, 1), 0);
  finalize(g);
  const cn_tensor_t *yt = &g->tensors[y], *zt = &g->tensors[z];
  assert_true(yt->ndim == 3 && yt->dims[0] == 2 && yt->dims[1] == 3 &&
              yt->dims[2] == 4);
  assert_true(zt->ndim == 3 && zt->dims[0] == 2 && zt->dims[1] == 3 &&
              zt->dims[2] == 5);
  assert_true(fabs(cn_graph_flops(g) - (24 + 2.0 * 30 * 4)) < 1e-9);
  assert_int_equal(cn_graph_params(g), 3 + 40);
  cn_graph_destroy(g);
}

static void expect_error(cn_graph_t *g, int code, const char *part) {
  cn_err_t err = {0};
  int r = cn_graph_finalize(g, &err);
  assert_int_equal(r, code);
  assert_int_equal(err.code, code);
  if (!strstr(err.msg, part))
    fail_msg("message \"%s\" lacks \"%s\"", err.msg, part);
  cn_graph_destroy(g);
}

static void test_errors(void **state) {
  (void)state;
  int x;
  const int64_t d[4] = {1, 3, 8, 8};
  /* Channel mismatch, named by node. */
  cn_graph_t *g = new_graph(&x, 4, d);
  int y = add_conv(g, "conv_a", x, 4, 5, 3, 1, 0, "y");
  cn_graph_set_outputs(g, &y, 1);
  expect_error(g, CN_EFORMAT, "t.onnx: node 0 (conv_a): input has 3 channels");
  /* Shapes that do not broadcast. */
  g = new_graph(&x, 4, d);
  int64_t bd[1] = {5};
  y = add_bin(g, "add_b", CN_BIN_ADD, x, rand_const(g, "b", 1, bd, 0), "y");
  cn_graph_set_outputs(g, &y, 1);
  expect_error(g, CN_EFORMAT,
               "node 0 (add_b): shapes [1,3,8,8] and [5] do not broadcast");
  /* A reshape that changes the element count. */
  g = new_graph(&x, 4, d);
  int64_t rd[2] = {3, 63};
  y = cn_graph_add_tensor(g, "y", CN_DT_F32, 2, rd);
  cn_graph_add_node(g, CN_OP_RESHAPE, "rs", 1, &x, 1, &y);
  cn_graph_set_outputs(g, &y, 1);
  expect_error(g, CN_EFORMAT, "changes the element count");
  /* Nodes out of order: b is read before it is computed. */
  g = new_graph(&x, 4, d);
  int a = tensor(g, "a"), b = tensor(g, "b");
  int n = cn_graph_add_node(g, CN_OP_ACT, "first", 1, &b, 1, &a);
  g->nodes[n].p.act.kind = CN_ACT_RELU;
  n = cn_graph_add_node(g, CN_OP_ACT, "second", 1, &x, 1, &b);
  g->nodes[n].p.act.kind = CN_ACT_RELU;
  cn_graph_set_outputs(g, &a, 1);
  expect_error(g, CN_EFORMAT, "input b is not computed before this node");
  /* A pool kernel larger than the padded input. */
  g = new_graph(&x, 4, d);
  y = tensor(g, "y");
  n = cn_graph_add_node(g, CN_OP_POOL, "big", 1, &x, 1, &y);
  cn_pool_params_t *pp = &g->nodes[n].p.pool;
  pp->kernel[0] = pp->kernel[1] = 9;
  pp->stride[0] = pp->stride[1] = 1;
  pp->dilation[0] = pp->dilation[1] = 1;
  cn_graph_set_outputs(g, &y, 1);
  expect_error(g, CN_EFORMAT, "kernel 9 larger than padded input 8");
  /* An output nobody computes. */
  g = new_graph(&x, 4, d);
  y = tensor(g, "never");
  cn_graph_set_outputs(g, &y, 1);
  expect_error(g, CN_EFORMAT, "output never is never computed");
  /* Names are unique; absurd dimensions are refused at once. */
  g = new_graph(&x, 4, d);
  assert_int_equal(cn_graph_add_tensor(g, "x", CN_DT_F32, 1, d), CN_EINVAL);
  const int64_t huge[3] = {1 << 20, 1 << 20, 1 << 20};
  assert_int_equal(cn_graph_add_tensor(g, "huge", CN_DT_F32, 3, huge),
                   CN_EFORMAT);
  const int64_t neg[1] = {-4};
  assert_int_equal(cn_graph_add_tensor(g, "neg", CN_DT_F32, 1, neg),
                   CN_EFORMAT);
  assert_int_equal(
      cn_graph_add_tensor(g, "deep", CN_DT_F32, CN_MAX_DIMS + 1, d),
      CN_EFORMAT);
  cn_graph_destroy(g);
}

static void test_compact(void **state) {
  (void)state;
  int x;
  const int64_t d[2] = {2, 2};
  cn_graph_t *g = new_graph(&x, 2, d);
  int a = add_act(g, "r1", x, CN_ACT_RELU, "a");
  int dead = add_act(g, "unused", x, CN_ACT_TANH, "dead");
  (void)dead;
  int y = add_act(g, "r2", a, CN_ACT_SIGMOID, "y");
  cn_graph_set_outputs(g, &y, 1);
  finalize(g);
  g->nodes[1].op = CN_OP_COUNT_;
  cn_err_t err = {0};
  assert_int_equal(cn_graph_compact(g, &err), 0);
  assert_int_equal(g->nnodes, 2);
  assert_int_equal(g->ntensors, 3);
  assert_int_equal(cn_graph_find(g, "dead"), -1);
  assert_string_equal(g->tensors[g->outputs[0]].name, "y");
  assert_string_equal(g->tensors[g->nodes[1].inputs[0]].name, "a");
  assert_int_equal(g->tensors[g->outputs[0]].producer, 1);
  cn_graph_destroy(g);
}

/* ---- optimizer -------------------------------------------------------------
 */

static void test_fold_bn_fuse_relu(void **state) {
  (void)state;
  int x;
  const int64_t d[4] = {1, 3, 6, 6};
  cn_graph_t *g = new_graph(&x, 4, d);
  int c = add_conv(g, "conv", x, 4, 3, 3, 1, 0, "c");
  int b = add_bn(g, "bn", c, 4, "b");
  int y = add_act(g, "relu", b, CN_ACT_RELU, "y");
  cn_graph_set_outputs(g, &y, 1);
  optimize_same(g);
  assert_int_equal(g->nnodes, 1);
  const cn_node_t *n = &g->nodes[0];
  assert_int_equal(n->op, CN_OP_CONV);
  assert_true(n->p.conv.has_bias && n->ninputs == 3 && n->inputs[2] >= 0);
  assert_int_equal(n->p.conv.post.n, 1);
  assert_int_equal(n->p.conv.post.op[0].kind, CN_POST_ACT);
  assert_int_equal(n->p.conv.post.op[0].act, CN_ACT_RELU);
  assert_string_equal(g->tensors[n->outputs[0]].name, "y");
  cn_graph_destroy(g);
}

static void test_fuse_residual(void **state) {
  (void)state;
  /* r1 = relu(conv1(x)); y = relu(conv2(r1) + r1) */
  int x;
  const int64_t d[4] = {1, 4, 5, 5};
  cn_graph_t *g = new_graph(&x, 4, d);
  int c1 = add_conv(g, "conv1", x, 4, 4, 3, 1, 1, "c1");
  int r1 = add_act(g, "relu1", c1, CN_ACT_RELU, "r1");
  int c2 = add_conv(g, "conv2", r1, 4, 4, 1, 0, 1, "c2");
  int s = add_bin(g, "add", CN_BIN_ADD, c2, r1, "s");
  int y = add_act(g, "relu2", s, CN_ACT_RELU, "y");
  cn_graph_set_outputs(g, &y, 1);
  optimize_same(g);
  assert_int_equal(g->nnodes, 2);
  const cn_node_t *n = &g->nodes[1];
  assert_int_equal(n->op, CN_OP_CONV);
  assert_int_equal(n->p.conv.post.n, 2);
  assert_int_equal(n->p.conv.post.op[0].kind, CN_POST_SUM);
  assert_int_equal(n->p.conv.post.op[1].kind, CN_POST_ACT);
  int sum_in = n->inputs[n->p.conv.post.op[0].input];
  assert_string_equal(g->tensors[sum_in].name, "r1");
  assert_int_equal(g->nodes[0].p.conv.post.n, 1);
  cn_graph_destroy(g);
}

static void test_fusion_respects_outputs_and_order(void **state) {
  (void)state;
  /* The conv's result is itself a graph output: the relu must stay. */
  int x;
  const int64_t d[4] = {1, 2, 4, 4};
  cn_graph_t *g = new_graph(&x, 4, d);
  int c = add_conv(g, "conv", x, 2, 2, 1, 0, 1, "c");
  int y = add_act(g, "relu", c, CN_ACT_RELU, "y");
  int outs[2] = {y, c};
  cn_graph_set_outputs(g, outs, 2);
  optimize_same(g);
  assert_int_equal(g->nnodes, 2);
  assert_int_equal(g->nodes[0].p.conv.post.n, 0);
  cn_graph_destroy(g);
  /* add(conv(x), t) where t is computed after the conv: the sum cannot be
   * fused into that conv (t would not be ready). */
  g = new_graph(&x, 4, d);
  c = add_conv(g, "conv", x, 2, 2, 1, 0, 1, "c");
  int t = add_act(g, "tanh", x, CN_ACT_TANH, "t");
  y = add_bin(g, "add", CN_BIN_ADD, c, t, "y");
  cn_graph_set_outputs(g, &y, 1);
  optimize_same(g);
  assert_int_equal(g->nnodes, 3);
  assert_int_equal(g->nodes[0].p.conv.post.n, 0);
  cn_graph_destroy(g);
}

static void test_drop_identity_fold_const(void **state) {
  (void)state;
  int x;
  const int64_t d[2] = {2, 3};
  cn_graph_t *g = new_graph(&x, 2, d);
  int i1 = tensor(g, "i1");
  cn_graph_add_node(g, CN_OP_IDENTITY, "id1", 1, &x, 1, &i1);
  /* A constant chain: transpose(w) is folded at optimize time. */
  int64_t wd[2] = {3, 2};
  int w = rand_const(g, "w", 2, wd, 0);
  int wt = tensor(g, "wt");
  int n = cn_graph_add_node(g, CN_OP_TRANSPOSE, "tw", 1, &w, 1, &wt);
  g->nodes[n].p.transpose.perm[0] = 1;
  g->nodes[n].p.transpose.perm[1] = 0;
  int s = add_bin(g, "mul", CN_BIN_MUL, i1, wt, "s");
  int y = tensor(g, "y");
  cn_graph_add_node(g, CN_OP_IDENTITY, "id2", 1, &s, 1, &y);
  cn_graph_set_outputs(g, &y, 1);
  optimize_same(g);
  assert_int_equal(g->nnodes, 1);
  assert_int_equal(g->nodes[0].op, CN_OP_BINARY);
  assert_string_equal(g->tensors[g->outputs[0]].name, "y");
  assert_true(g->tensors[g->nodes[0].inputs[1]].flags & CN_TENSOR_CONST);
  cn_graph_destroy(g);
}

static void test_standalone_bn_becomes_scale(void **state) {
  (void)state;
  int x;
  const int64_t d[4] = {1, 3, 4, 4};
  cn_graph_t *g = new_graph(&x, 4, d);
  int p = tensor(g, "p");
  int n = cn_graph_add_node(g, CN_OP_POOL, "pool", 1, &x, 1, &p);
  cn_pool_params_t *pp = &g->nodes[n].p.pool;
  pp->kind = CN_POOL_MAX;
  pp->kernel[0] = pp->kernel[1] = 2;
  pp->stride[0] = pp->stride[1] = 2;
  pp->dilation[0] = pp->dilation[1] = 1;
  int y = add_bn(g, "bn", p, 3, "y");
  cn_graph_set_outputs(g, &y, 1);
  optimize_same(g);
  assert_int_equal(g->nnodes, 2);
  assert_int_equal(g->nodes[1].op, CN_OP_SCALE);
  cn_graph_destroy(g);
}

/* Real networks, when scripts/models (or the BlazeFace fetch) made them:
 * optimized and unoptimized reference runs agree. */
static void test_models_optimized_vs_not(void **state) {
  (void)state;
  static const char *const models[] = {
      "models/blazeface/face_detection_front_128x128_barracuda.onnx",
      "models/onnx-squeezenet/model.onnx",
      "models/onnx-mobilenetv2/model.onnx",
  };
  int ran = 0;
  for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", cn_test_source_dir(), models[k]);
    if (access(path, R_OK) != 0)
      continue;
    float *y[2] = {0};
    int64_t n = 0;
    int nodes[2];
    for (int opt = 0; opt < 2; opt++) {
      cn_model_opts_t o;
      cn_model_opts_default(&o);
      o.backend = "ref";
      o.optimize = opt;
      cn_model_t *m;
      cn_err_t err = {0};
      if (cn_model_load(&m, path, &o, &err) < 0)
        fail_msg("%s", err.msg);
      nodes[opt] = cn_model_graph(m)->nnodes;
      const cn_tensor_desc_t *in = cn_model_input(m, 0);
      float *x = malloc(sizeof(float) * (size_t)in->numel);
      rng = 99;
      for (int64_t i = 0; i < in->numel; i++)
        x[i] = frand();
      n = cn_model_output(m, 0)->numel;
      int no = cn_model_num_outputs(m);
      float *outs[8] = {0};
      assert_true(no <= 8);
      for (int i = 0; i < no; i++)
        outs[i] = malloc(sizeof(float) * (size_t)cn_model_output(m, i)->numel);
      const float *ins[1] = {x};
      if (cn_model_run(m, ins, outs, &err) < 0)
        fail_msg("%s", err.msg);
      y[opt] = outs[0];
      for (int i = 1; i < no; i++)
        free(outs[i]);
      free(x);
      cn_model_free(m);
    }
    float mx = 0;
    for (int64_t i = 0; i < n; i++)
      mx = fmaxf(mx, fabsf(y[0][i]));
    for (int64_t i = 0; i < n; i++)
      if (!(fabsf(y[1][i] - y[0][i]) <= 1e-4f * mx))
        fail_msg("%s: optimized y[%lld] = %g, unoptimized %g", models[k],
                 (long long)i, (double)y[1][i], (double)y[0][i]);
    print_message("%s: %d nodes -> %d optimized, outputs agree\n", models[k],
                  nodes[0], nodes[1]);
    assert_true(nodes[1] < nodes[0]);
    free(y[0]);
    free(y[1]);
    ran++;
  }
  if (!ran)
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "no models under %s/models",
                         cn_test_source_dir());
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_op_table_complete),
      cmocka_unit_test(test_conv_pool_shapes),
      cmocka_unit_test(test_broadcast_matmul_shapes),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_compact),
      cmocka_unit_test(test_fold_bn_fuse_relu),
      cmocka_unit_test(test_fuse_residual),
      cmocka_unit_test(test_fusion_respects_outputs_and_order),
      cmocka_unit_test(test_drop_identity_fold_const),
      cmocka_unit_test(test_standalone_bn_becomes_scale),
      cmocka_unit_test(test_models_optimized_vs_not),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
