/* Reference backend kernels on tiny inputs with hand-computed results. Each
 * case builds a one-node graph (runtime input "x", constant operands),
 * finalizes it and runs it through cn_engine_ref. */
#include "harness.h"

#include <math.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ir/graph.h"

typedef struct tg {
  cn_graph_t *g;
  int x;
} tg_t;

static tg_t make(int nd, const int64_t *dims) {
  tg_t t;
  t.g = cn_graph_create("test");
  assert_non_null(t.g);
  t.x = cn_graph_add_tensor(t.g, "x", CN_DT_F32, nd, dims);
  assert_true(t.x >= 0);
  assert_int_equal(cn_graph_set_inputs(t.g, &t.x, 1), 0);
  return t;
}

static int cst(tg_t *t, int nd, const int64_t *dims, const float *v) {
  int id = cn_graph_add_temp(t->g, "c");
  char name[64];
  snprintf(name, sizeof name, "%s_const", t->g->tensors[id].name);
  id = cn_graph_add_const(t->g, name, CN_DT_F32, nd, dims, v);
  assert_true(id >= 0);
  return id;
}

/* Adds the node with inputs ins (x first unless given), output "y" (with
 * preset dims when nd > 0), runs it on xv and compares with want. */
static void check(tg_t *t, cn_op_t op, const cn_op_params_t *p, int nin,
                  const int *ins, int ynd, const int64_t *ydims,
                  const float *xv, const float *want, int64_t nwant) {
  int y = cn_graph_add_tensor(t->g, "y", CN_DT_F32, ynd, ydims);
  assert_true(y >= 0);
  int ni = cn_graph_add_node(t->g, op, "n", nin, ins, 1, &y);
  assert_true(ni >= 0);
  if (p)
    t->g->nodes[ni].p = *p;
  assert_int_equal(cn_graph_set_outputs(t->g, &y, 1), 0);
  cn_err_t err = {0};
  int r = cn_graph_finalize(t->g, &err);
  if (r < 0)
    fail_msg("finalize: %s", err.msg);
  assert_int_equal(cn_tensor_numel(&t->g->tensors[y]), nwant);
  void *st;
  cn_engine_opts_t eo = {0};
  assert_int_equal(cn_engine_ref.prepare(t->g, &eo, &st, &err), 0);
  float out[256];
  float *outs[1] = {out};
  const float *inputs[1] = {xv};
  assert_int_equal(cn_engine_ref.run(st, inputs, outs, &err), 0);
  for (int64_t i = 0; i < nwant; i++)
    if (!(fabsf(out[i] - want[i]) <= 1e-5f + 1e-5f * fabsf(want[i])))
      fail_msg("%s: y[%lld] = %.7g, expected %.7g", cn_op_name(op),
               (long long)i, (double)out[i], (double)want[i]);
  cn_engine_ref.destroy(st);
  cn_graph_destroy(t->g);
}

static cn_op_params_t P(void) {
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  return p;
}

static void conv_params(cn_op_params_t *p, int k, int s, int d, int pt, int pl,
                        int pb, int pr) {
  p->conv.kernel[0] = p->conv.kernel[1] = k;
  p->conv.stride[0] = p->conv.stride[1] = s;
  p->conv.dilation[0] = p->conv.dilation[1] = d;
  p->conv.pads[0] = pt, p->conv.pads[1] = pl, p->conv.pads[2] = pb,
  p->conv.pads[3] = pr;
  p->conv.group = 1;
}

static void test_conv(void **state) {
  (void)state;
  const float x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int64_t d33[4] = {1, 1, 3, 3}, w22[4] = {1, 1, 2, 2};
  const float diag[4] = {1, 0, 0, 1}, ones[4] = {1, 1, 1, 1};
  /* 2x2 diagonal kernel: y = x(i,j) + x(i+1,j+1). */
  tg_t t = make(4, d33);
  cn_op_params_t p = P();
  conv_params(&p, 2, 1, 1, 0, 0, 0, 0);
  int ins[3] = {t.x, cst(&t, 4, w22, diag), -1};
  check(&t, CN_OP_CONV, &p, 2, ins, 0, NULL, x9, (const float[]){6, 8, 12, 14},
        4);
  /* Padding 1 all round, stride 2. */
  t = make(4, d33);
  conv_params(&p, 2, 2, 1, 1, 1, 1, 1);
  ins[1] = cst(&t, 4, w22, diag);
  ins[0] = t.x;
  check(&t, CN_OP_CONV, &p, 2, ins, 0, NULL, x9, (const float[]){1, 3, 7, 14},
        4);
  /* Dilation 2: the four corners. */
  t = make(4, d33);
  conv_params(&p, 2, 1, 2, 0, 0, 0, 0);
  ins[0] = t.x;
  ins[1] = cst(&t, 4, w22, ones);
  check(&t, CN_OP_CONV, &p, 2, ins, 0, NULL, x9, (const float[]){20}, 1);
  /* Asymmetric pads (bottom/right only) with a 1x1 kernel. */
  const int64_t d22[4] = {1, 1, 2, 2}, w11[4] = {1, 1, 1, 1};
  t = make(4, d22);
  conv_params(&p, 1, 1, 1, 0, 0, 1, 1);
  ins[0] = t.x;
  ins[1] = cst(&t, 4, w11, (const float[]){1});
  check(&t, CN_OP_CONV, &p, 2, ins, 0, NULL, (const float[]){1, 2, 3, 4},
        (const float[]){1, 2, 0, 3, 4, 0, 0, 0, 0}, 9);
  /* Depthwise (group 2) with bias. */
  const int64_t d2[4] = {1, 2, 2, 2}, wg[4] = {2, 1, 1, 1}, b2[1] = {2};
  t = make(4, d2);
  conv_params(&p, 1, 1, 1, 0, 0, 0, 0);
  p.conv.group = 2;
  p.conv.has_bias = 1;
  ins[0] = t.x;
  ins[1] = cst(&t, 4, wg, (const float[]){2, 3});
  ins[2] = cst(&t, 1, b2, (const float[]){1, -1});
  check(&t, CN_OP_CONV, &p, 3, ins, 0, NULL,
        (const float[]){1, 2, 3, 4, 5, 6, 7, 8},
        (const float[]){3, 5, 7, 9, 14, 17, 20, 23}, 8);
}

static void test_conv_postops(void **state) {
  (void)state;
  /* y = relu(conv(x) + s) with a sum operand as input 3 (no bias). */
  const int64_t d[4] = {1, 1, 1, 3}, w[4] = {1, 1, 1, 1};
  tg_t t = make(4, d);
  cn_op_params_t p = P();
  conv_params(&p, 1, 1, 1, 0, 0, 0, 0);
  p.conv.post.n = 2;
  p.conv.post.op[0].kind = CN_POST_SUM;
  p.conv.post.op[0].scale = 1;
  p.conv.post.op[0].input = 3;
  p.conv.post.op[1].kind = CN_POST_ACT;
  p.conv.post.op[1].act = CN_ACT_RELU;
  int ins[4] = {t.x, cst(&t, 4, w, (const float[]){2}), -1,
                cst(&t, 4, d, (const float[]){1, -5, 0})};
  check(&t, CN_OP_CONV, &p, 4, ins, 0, NULL, (const float[]){1, 2, -3},
        (const float[]){3, 0, 0}, 3);
}

static void test_deconv(void **state) {
  (void)state;
  const int64_t d22[4] = {1, 1, 2, 2}, w22[4] = {1, 1, 2, 2};
  const float x4[4] = {1, 2, 3, 4}, ones[4] = {1, 1, 1, 1};
  tg_t t = make(4, d22);
  cn_op_params_t p = P();
  conv_params(&p, 2, 2, 1, 0, 0, 0, 0);
  int ins[2] = {t.x, cst(&t, 4, w22, ones)};
  check(&t, CN_OP_DECONV, &p, 2, ins, 0, NULL, x4,
        (const float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16);
  t = make(4, d22);
  conv_params(&p, 2, 1, 1, 0, 0, 0, 0);
  ins[0] = t.x;
  ins[1] = cst(&t, 4, w22, ones);
  check(&t, CN_OP_DECONV, &p, 2, ins, 0, NULL, x4,
        (const float[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 9);
  /* Pads crop the full result. */
  t = make(4, d22);
  conv_params(&p, 2, 1, 1, 1, 1, 1, 1);
  ins[0] = t.x;
  ins[1] = cst(&t, 4, w22, ones);
  check(&t, CN_OP_DECONV, &p, 2, ins, 0, NULL, x4, (const float[]){10}, 1);
}

static void pool_params(cn_op_params_t *p, cn_pool_kind_t k, int ks, int s,
                        int pad, int ceil, int cip) {
  memset(p, 0, sizeof *p);
  p->pool.kind = k;
  p->pool.kernel[0] = p->pool.kernel[1] = ks;
  p->pool.stride[0] = p->pool.stride[1] = s;
  p->pool.dilation[0] = p->pool.dilation[1] = 1;
  for (int i = 0; i < 4; i++)
    p->pool.pads[i] = pad;
  p->pool.ceil_mode = ceil;
  p->pool.count_include_pad = cip;
}

static void test_pool(void **state) {
  (void)state;
  float x16[16];
  for (int i = 0; i < 16; i++)
    x16[i] = (float)(i + 1);
  const int64_t d44[4] = {1, 1, 4, 4}, d33[4] = {1, 1, 3, 3},
                d22[4] = {1, 1, 2, 2};
  cn_op_params_t p;
  tg_t t = make(4, d44);
  pool_params(&p, CN_POOL_MAX, 2, 2, 0, 0, 0);
  check(&t, CN_OP_POOL, &p, 1, &t.x, 0, NULL, x16,
        (const float[]){6, 8, 14, 16}, 4);
  /* Ceil mode: partial windows at the end average only what they cover,
   * with or without count_include_pad (the ceil rows are not padding). */
  for (int cip = 0; cip < 2; cip++) {
    t = make(4, d33);
    pool_params(&p, CN_POOL_AVG, 2, 2, 0, 1, cip);
    check(&t, CN_OP_POOL, &p, 1, &t.x, 0, NULL, x16,
          (const float[]){3, 4.5f, 7.5f, 9}, 4);
  }
  t = make(4, d22);
  pool_params(&p, CN_POOL_AVG, 2, 1, 1, 0, 1);
  check(&t, CN_OP_POOL, &p, 1, &t.x, 0, NULL, x16,
        (const float[]){0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1}, 9);
  t = make(4, d22);
  pool_params(&p, CN_POOL_AVG, 2, 1, 1, 0, 0);
  check(&t, CN_OP_POOL, &p, 1, &t.x, 0, NULL, x16,
        (const float[]){1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4}, 9);
  t = make(4, d22);
  memset(&p, 0, sizeof p);
  p.pool.kind = CN_POOL_AVG;
  p.pool.global = 1;
  check(&t, CN_OP_POOL, &p, 1, &t.x, 0, NULL, x16, (const float[]){2.5f}, 1);
}

static void test_inner_product_matmul(void **state) {
  (void)state;
  const int64_t dx[3] = {1, 2, 2}, dw[2] = {2, 4}, db[1] = {2};
  tg_t t = make(3, dx);
  cn_op_params_t p = P();
  p.ip.axis = 1;
  p.ip.has_bias = 1;
  int ins[3] = {t.x, cst(&t, 2, dw, (const float[]){1, 0, 0, 0, 1, 1, 1, 1}),
                cst(&t, 1, db, (const float[]){0.5f, -1})};
  check(&t, CN_OP_INNER_PRODUCT, &p, 3, ins, 0, NULL,
        (const float[]){1, 2, 3, 4}, (const float[]){1.5f, 9}, 2);
  /* Batched matmul against a broadcast [3,1] matrix: row sums. */
  float a12[12];
  for (int i = 0; i < 12; i++)
    a12[i] = (float)(i + 1);
  const int64_t da[3] = {2, 2, 3}, db2[2] = {3, 1}, db1[1] = {3};
  t = make(3, da);
  int mi[2] = {t.x, cst(&t, 2, db2, (const float[]){1, 1, 1})};
  check(&t, CN_OP_MATMUL, NULL, 2, mi, 0, NULL, a12,
        (const float[]){6, 15, 24, 33}, 4);
  t = make(3, da);
  mi[0] = t.x;
  mi[1] = cst(&t, 1, db1, (const float[]){1, 0, -1});
  check(&t, CN_OP_MATMUL, NULL, 2, mi, 0, NULL, a12,
        (const float[]){-2, -2, -2, -2}, 4);
}

static void test_binary_eltwise(void **state) {
  (void)state;
  const float a6[6] = {1, 2, 3, 4, 5, 6};
  const int64_t d23[2] = {2, 3}, d3[1] = {3}, d21[2] = {2, 1};
  cn_op_params_t p = P();
  tg_t t = make(2, d23);
  p.binary = CN_BIN_SUB;
  int ins[3] = {t.x, cst(&t, 1, d3, (const float[]){10, 20, 30}), -1};
  check(&t, CN_OP_BINARY, &p, 2, ins, 0, NULL, a6,
        (const float[]){-9, -18, -27, -6, -15, -24}, 6);
  t = make(2, d23);
  p.binary = CN_BIN_DIV;
  ins[0] = t.x;
  ins[1] = cst(&t, 2, d21, (const float[]){1, 2});
  check(&t, CN_OP_BINARY, &p, 2, ins, 0, NULL, a6,
        (const float[]){1, 2, 3, 2, 2.5f, 3}, 6);
  /* The constant may be the first operand, and a scalar. */
  t = make(2, d23);
  p.binary = CN_BIN_POW;
  ins[0] = cst(&t, 0, NULL, (const float[]){2});
  ins[1] = t.x;
  check(&t, CN_OP_BINARY, &p, 2, ins, 0, NULL, a6,
        (const float[]){2, 4, 8, 16, 32, 64}, 6);
  /* Caffe Eltwise: SUM with coefficients, PROD, MAX. */
  static const float coeffs[3] = {1, -2, 0.5f};
  const float b6[6] = {6, 5, 4, 3, 2, 1}, c6[6] = {2, 2, 2, 2, 2, 2};
  t = make(2, d23);
  p = P();
  p.eltwise.kind = CN_ELT_SUM;
  p.eltwise.coeffs = coeffs;
  ins[0] = t.x;
  ins[1] = cst(&t, 2, d23, b6);
  ins[2] = cst(&t, 2, d23, c6);
  check(&t, CN_OP_ELTWISE, &p, 3, ins, 0, NULL, a6,
        (const float[]){-10, -7, -4, -1, 2, 5}, 6);
  t = make(2, d23);
  p.eltwise.kind = CN_ELT_MAX;
  p.eltwise.coeffs = NULL;
  ins[0] = t.x;
  ins[1] = cst(&t, 2, d23, b6);
  check(&t, CN_OP_ELTWISE, &p, 2, ins, 0, NULL, a6,
        (const float[]){6, 5, 4, 4, 5, 6}, 6);
  t = make(2, d23);
  p.eltwise.kind = CN_ELT_PROD;
  ins[0] = t.x;
  ins[1] = cst(&t, 2, d23, b6);
  check(&t, CN_OP_ELTWISE, &p, 2, ins, 0, NULL, a6,
        (const float[]){6, 10, 12, 12, 10, 6}, 6);
}

static void act(cn_act_t k, float alpha, float beta, float x, float want) {
  const int64_t d1[1] = {1};
  tg_t t = make(1, d1);
  cn_op_params_t p = P();
  p.act.kind = k;
  p.act.alpha = alpha;
  p.act.beta = beta;
  check(&t, CN_OP_ACT, &p, 1, &t.x, 0, NULL, &x, &want, 1);
}

static void test_activations(void **state) {
  (void)state;
  act(CN_ACT_RELU, 0, 0, -2, 0);
  act(CN_ACT_RELU, 0.1f, 0, -2, -0.2f);
  act(CN_ACT_RELU, 0.1f, 0, 3, 3);
  act(CN_ACT_CLIP, 0, 6, 7, 6);
  act(CN_ACT_CLIP, 0, 6, -1, 0);
  act(CN_ACT_SIGMOID, 0, 0, 0, 0.5f);
  act(CN_ACT_TANH, 0, 0, 0.5f, 0.46211716f);
  act(CN_ACT_HARDSIGMOID, 0.2f, 0.5f, 1, 0.7f);
  act(CN_ACT_HARDSIGMOID, 0.2f, 0.5f, 5, 1);
  act(CN_ACT_HARDSWISH, 0, 0, -3, 0);
  act(CN_ACT_HARDSWISH, 0, 0, 1, 2.0f / 3.0f);
  act(CN_ACT_HARDSWISH, 0, 0, 4, 4);
  act(CN_ACT_ELU, 1, 0, -1, expf(-1) - 1);
  act(CN_ACT_SELU, 2, 3, -1, 3 * 2 * (expf(-1) - 1));
  act(CN_ACT_SELU, 2, 3, 1, 3);
  act(CN_ACT_SOFTPLUS, 0, 0, 0, logf(2));
  act(CN_ACT_SOFTPLUS, 0, 0, 100, 100);
  act(CN_ACT_ABS, 0, 0, -2, 2);
  act(CN_ACT_NEG, 0, 0, 2, -2);
  act(CN_ACT_EXP, 0, 0, 1, expf(1));
  act(CN_ACT_LOG, 0, 0, expf(2), 2);
  act(CN_ACT_SQRT, 0, 0, 9, 3);
  act(CN_ACT_RECIPROCAL, 0, 0, 4, 0.25f);
  act(CN_ACT_FLOOR, 0, 0, -1.5f, -2);
  act(CN_ACT_CEIL, 0, 0, -1.5f, -1);
  act(CN_ACT_LINEAR, 2, 1, 3, 7);
  act(CN_ACT_ERF, 0, 0, 0.5f, 0.520499877813047f); /* erf tables */
  act(CN_ACT_ERF, 0, 0, -1, -0.842700792949715f);
}

static void test_prelu_softmax(void **state) {
  (void)state;
  const int64_t d[3] = {1, 2, 2}, ds[2] = {2, 1};
  tg_t t = make(3, d);
  int ins[2] = {t.x, cst(&t, 2, ds, (const float[]){0.5f, 0.25f})};
  check(&t, CN_OP_PRELU, NULL, 2, ins, 0, NULL, (const float[]){-1, 2, -3, 4},
        (const float[]){-0.5f, 2, -0.75f, 4}, 4);
  const int64_t d13[2] = {1, 3};
  float e1 = expf(-2), e2 = expf(-1), s = e1 + e2 + 1;
  t = make(2, d13);
  cn_op_params_t p = P();
  p.softmax.axis = 1;
  check(&t, CN_OP_SOFTMAX, &p, 1, &t.x, 0, NULL, (const float[]){1, 2, 3},
        (const float[]){e1 / s, e2 / s, 1 / s}, 3);
  t = make(2, d13);
  p.softmax.log = 1;
  check(&t, CN_OP_SOFTMAX, &p, 1, &t.x, 0, NULL, (const float[]){1, 2, 3},
        (const float[]){-2 - logf(s), -1 - logf(s), -logf(s)}, 3);
  /* Softmax over axis 0 of a [2,2]: columns. */
  const int64_t d22[2] = {2, 2};
  t = make(2, d22);
  p = P();
  p.softmax.axis = 0;
  float a = 1 / (1 + expf(1));
  check(&t, CN_OP_SOFTMAX, &p, 1, &t.x, 0, NULL, (const float[]){0, 5, 1, 5},
        (const float[]){a, 0.5f, 1 - a, 0.5f}, 4);
}

static void test_norms(void **state) {
  (void)state;
  const int64_t d[4] = {1, 2, 1, 1}, dc[1] = {2};
  tg_t t = make(4, d);
  cn_op_params_t p = P();
  p.bn.eps = 0;
  int ins[5] = {t.x, cst(&t, 1, dc, (const float[]){2, 3}),
                cst(&t, 1, dc, (const float[]){1, 1}),
                cst(&t, 1, dc, (const float[]){0, 1}),
                cst(&t, 1, dc, (const float[]){1, 4})};
  check(&t, CN_OP_BATCHNORM, &p, 5, ins, 0, NULL, (const float[]){1, 2},
        (const float[]){3, 2.5f}, 2);
  const int64_t d2[4] = {1, 2, 1, 2};
  t = make(4, d2);
  p = P();
  p.scale.axis = 1;
  p.scale.has_bias = 1;
  ins[0] = t.x;
  ins[1] = cst(&t, 1, dc, (const float[]){2, 3});
  ins[2] = cst(&t, 1, dc, (const float[]){1, 2});
  check(&t, CN_OP_SCALE, &p, 3, ins, 0, NULL, (const float[]){1, 2, 3, 4},
        (const float[]){3, 5, 11, 14}, 4);
  /* LRN across channels: y = x / (1 + 3/3 * sum of squares)^1. */
  const int64_t d3[4] = {1, 3, 1, 1};
  t = make(4, d3);
  p = P();
  p.lrn.size = 3;
  p.lrn.alpha = 3;
  p.lrn.beta = 1;
  p.lrn.k = 1;
  check(&t, CN_OP_LRN, &p, 1, &t.x, 0, NULL, (const float[]){1, 2, 3},
        (const float[]){1.0f / 6, 2.0f / 15, 3.0f / 14}, 3);
  /* Within channel (Caffe): every 3x3 window covers the whole 2x2 map,
   * divisor 9 (padding counted). */
  const int64_t d4[4] = {1, 1, 2, 2};
  t = make(4, d4);
  p.lrn.alpha = 9;
  p.lrn.within_channel = 1;
  check(&t, CN_OP_LRN, &p, 1, &t.x, 0, NULL, (const float[]){1, 2, 3, 4},
        (const float[]){1.0f / 31, 2.0f / 31, 3.0f / 31, 4.0f / 31}, 4);
}

static void test_data_movement(void **state) {
  (void)state;
  const int64_t da[3] = {1, 1, 2}, db[3] = {1, 2, 2}, dy[3] = {1, 3, 2};
  tg_t t = make(3, da);
  cn_op_params_t p = P();
  p.axis.axis = 1;
  int ins[2] = {t.x, cst(&t, 3, db, (const float[]){3, 4, 5, 6})};
  check(&t, CN_OP_CONCAT, &p, 2, ins, 0, NULL, (const float[]){1, 2},
        (const float[]){1, 2, 3, 4, 5, 6}, 6);
  const int64_t da2[3] = {1, 2, 1};
  t = make(3, da2);
  p.axis.axis = 2;
  ins[0] = t.x;
  ins[1] = cst(&t, 3, db, (const float[]){3, 4, 5, 6});
  check(&t, CN_OP_CONCAT, &p, 2, ins, 0, NULL, (const float[]){1, 2},
        (const float[]){1, 3, 4, 2, 5, 6}, 6);
  (void)dy;
  /* Slice with a negative step; then a 2-D slice with step 2. */
  const int64_t d5[1] = {5}, d3[1] = {3};
  t = make(1, d5);
  p = P();
  p.slice.starts[0] = 4;
  p.slice.steps[0] = -2;
  check(&t, CN_OP_SLICE, &p, 1, &t.x, 1, d3, (const float[]){0, 1, 2, 3, 4},
        (const float[]){4, 2, 0}, 3);
  const int64_t d23[2] = {2, 3}, d12[2] = {1, 2};
  t = make(2, d23);
  p = P();
  p.slice.starts[0] = 1;
  p.slice.steps[0] = 1;
  p.slice.steps[1] = 2;
  check(&t, CN_OP_SLICE, &p, 1, &t.x, 2, d12, (const float[]){1, 2, 3, 4, 5, 6},
        (const float[]){4, 6}, 2);
  t = make(2, d23);
  p = P();
  p.transpose.perm[0] = 1;
  p.transpose.perm[1] = 0;
  check(&t, CN_OP_TRANSPOSE, &p, 1, &t.x, 0, NULL,
        (const float[]){1, 2, 3, 4, 5, 6}, (const float[]){1, 4, 2, 5, 3, 6},
        6);
  /* Reshape keeps the data. */
  const int64_t d32[2] = {3, 2};
  t = make(2, d23);
  check(&t, CN_OP_RESHAPE, NULL, 1, &t.x, 2, d32,
        (const float[]){1, 2, 3, 4, 5, 6}, (const float[]){1, 2, 3, 4, 5, 6},
        6);
}

static void test_split(void **state) {
  (void)state;
  const int64_t d[2] = {1, 3}, d1[2] = {1, 1}, d2[2] = {1, 2};
  tg_t t = make(2, d);
  int y[2] = {cn_graph_add_tensor(t.g, "a", CN_DT_F32, 2, d1),
              cn_graph_add_tensor(t.g, "b", CN_DT_F32, 2, d2)};
  int ni = cn_graph_add_node(t.g, CN_OP_SPLIT, "split", 1, &t.x, 2, y);
  t.g->nodes[ni].p.axis.axis = 1;
  assert_int_equal(cn_graph_set_outputs(t.g, y, 2), 0);
  cn_err_t err = {0};
  assert_int_equal(cn_graph_finalize(t.g, &err), 0);
  void *st;
  cn_engine_opts_t eo = {0};
  assert_int_equal(cn_engine_ref.prepare(t.g, &eo, &st, &err), 0);
  float a[1], b[2];
  float *outs[2] = {a, b};
  const float x[3] = {7, 8, 9};
  const float *ins[1] = {x};
  assert_int_equal(cn_engine_ref.run(st, ins, outs, &err), 0);
  assert_true(a[0] == 7 && b[0] == 8 && b[1] == 9);
  cn_engine_ref.destroy(st);
  cn_graph_destroy(t.g);
}

static void pad_case(cn_pad_mode_t mode, int64_t b, int64_t e, float v,
                     const float *want, int64_t n) {
  const int64_t d[1] = {3};
  tg_t t = make(1, d);
  cn_op_params_t p = P();
  p.pad.mode = mode;
  p.pad.pads[0] = b;
  p.pad.pads[1] = e;
  p.pad.value = v;
  check(&t, CN_OP_PAD, &p, 1, &t.x, 0, NULL, (const float[]){1, 2, 3}, want, n);
}

static void test_pad(void **state) {
  (void)state;
  pad_case(CN_PAD_CONSTANT, 1, 2, 9, (const float[]){9, 1, 2, 3, 9, 9}, 6);
  pad_case(CN_PAD_REFLECT, 2, 2, 0, (const float[]){3, 2, 1, 2, 3, 2, 1}, 7);
  pad_case(CN_PAD_EDGE, 2, 1, 0, (const float[]){1, 1, 1, 2, 3, 3}, 6);
  pad_case(CN_PAD_CONSTANT, -1, 1, 0, (const float[]){2, 3, 0}, 3);
}

static void resize_case(cn_resize_mode_t mode, cn_resize_coord_t coord,
                        const float *want) {
  const int64_t d[4] = {1, 1, 1, 2}, dy[4] = {1, 1, 1, 4};
  tg_t t = make(4, d);
  cn_op_params_t p = P();
  p.resize.mode = mode;
  p.resize.coord = coord;
  p.resize.nearest = CN_NEAREST_FLOOR;
  p.resize.cubic_a = -0.75f;
  for (int i = 0; i < 4; i++)
    p.resize.scales[i] = 1;
  p.resize.scales[3] = 2;
  check(&t, CN_OP_RESIZE, &p, 1, &t.x, 4, dy, (const float[]){1, 2}, want, 4);
}

static void test_resize(void **state) {
  (void)state;
  resize_case(CN_RESIZE_NEAREST, CN_COORD_ASYMMETRIC,
              (const float[]){1, 1, 2, 2});
  resize_case(CN_RESIZE_LINEAR, CN_COORD_HALF_PIXEL,
              (const float[]){1, 1.25f, 1.75f, 2});
  resize_case(CN_RESIZE_LINEAR, CN_COORD_ALIGN_CORNERS,
              (const float[]){1, 4.0f / 3, 5.0f / 3, 2});
  resize_case(CN_RESIZE_LINEAR, CN_COORD_ASYMMETRIC,
              (const float[]){1, 1.5f, 2, 2});
}

static void reduce_case(cn_reduce_kind_t k, unsigned axes, int keep,
                        const float *want, int64_t n) {
  const int64_t d[2] = {2, 3};
  tg_t t = make(2, d);
  cn_op_params_t p = P();
  p.reduce.kind = k;
  p.reduce.axes = axes;
  p.reduce.keepdims = keep;
  check(&t, CN_OP_REDUCE, &p, 1, &t.x, 0, NULL,
        (const float[]){1, 2, 3, 4, 5, 6}, want, n);
}

static void test_reduce(void **state) {
  (void)state;
  reduce_case(CN_REDUCE_SUM, 2, 0, (const float[]){6, 15}, 2);
  reduce_case(CN_REDUCE_MEAN, 1, 1, (const float[]){2.5f, 3.5f, 4.5f}, 3);
  reduce_case(CN_REDUCE_MAX, 3, 1, (const float[]){6}, 1);
  reduce_case(CN_REDUCE_MIN, 2, 0, (const float[]){1, 4}, 2);
  reduce_case(CN_REDUCE_PROD, 1, 0, (const float[]){4, 10, 18}, 3);
  reduce_case(CN_REDUCE_L2, 2, 0, (const float[]){sqrtf(14), sqrtf(77)}, 2);
  reduce_case(CN_REDUCE_SUM_SQUARE, 2, 0, (const float[]){14, 77}, 2);
  reduce_case(CN_REDUCE_LOG_SUM_EXP, 2, 0,
              (const float[]){logf(expf(1) + expf(2) + expf(3)),
                              logf(expf(4) + expf(5) + expf(6))},
              2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv),
      cmocka_unit_test(test_conv_postops),
      cmocka_unit_test(test_deconv),
      cmocka_unit_test(test_pool),
      cmocka_unit_test(test_inner_product_matmul),
      cmocka_unit_test(test_binary_eltwise),
      cmocka_unit_test(test_activations),
      cmocka_unit_test(test_prelu_softmax),
      cmocka_unit_test(test_norms),
      cmocka_unit_test(test_data_movement),
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_pad),
      cmocka_unit_test(test_resize),
      cmocka_unit_test(test_reduce),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
