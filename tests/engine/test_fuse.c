/* No slow path hiding in a graph: the optimizer's folds and fusions and
 * the oneDNN lowering of broadcast binary ops, on real ONNX files.
 *
 * scripts/models/gen_fusion.py writes one hand-built graph per pattern
 * (per-channel Mul/Add/Sub/Div after conv, BatchNorm-folded conv, Gemm,
 * MatMul, ConvTranspose; before a conv; x*HardSigmoid(x), x*Sigmoid(x);
 * squeeze-excitation on a 1x24x320x320 map) and torchvision's
 * MobileNetV3 small and large exported by torch.onnx. Each model is
 * loaded twice: unoptimized on the reference backend (the oracle: every
 * node as written in the file) and optimized on oneDNN. The outputs must
 * agree (max |dnnl - ref| <= 1e-4 of max |ref|), the optimized graph must
 * have lost the nodes the pattern folds, and the plan must hold no
 * reference implementation. bench --profile's implementation names are
 * checked against oneDNN's own verbose log of the same run.
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "camnet/model.h"
#include "engine/ir/graph.h"
#include "engine/model_internal.h"

#define TOL 1e-4

static char *dir;      /* generated models */
static int gen_status; /* gen_fusion.py's exit status */
static char gen_log[4096];

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  gen_status = cn_test_sh(gen_log, sizeof gen_log,
                          "/usr/bin/python3 %s/scripts/models/gen_fusion.py "
                          "%s --torch 2>&1",
                          cn_test_source_dir(), dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cn_test_release_dir(dir);
  free(dir);
  return 0;
}

static void need_models(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
  if (gen_status != 0 || access(path, R_OK) != 0)
    CN_TEST_SKIP_MISSING("python3-onnx, python3-torch, python3-torchvision",
                         "gen_fusion.py failed: %.300s", gen_log);
}

static cn_model_t *load(const char *name, const char *backend, int optimize) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.backend = backend;
  o.optimize = optimize;
  o.threads = 2;
  cn_logger_t quiet = {CN_LOG_ERROR, NULL, NULL};
  o.log = &quiet;
  cn_model_t *m = NULL;
  cn_err_t err = {0};
  if (cn_model_load(&m, path, &o, &err) < 0)
    fail_msg("%s (%s): %s", name, backend, err.msg);
  return m;
}

static float *run(cn_model_t *m, const float *x) {
  const cn_tensor_desc_t *od = cn_model_output(m, 0);
  float *y = malloc((size_t)od->numel * sizeof *y);
  assert_non_null(y);
  for (int64_t i = 0; i < od->numel; i++)
    y[i] = NAN;
  const float *ins[1] = {x};
  float *outs[1] = {y};
  cn_err_t err = {0};
  if (cn_model_run(m, ins, outs, &err) < 0)
    fail_msg("run: %s", err.msg);
  return y;
}

static int count_op(const cn_model_t *m, cn_op_t op) {
  const cn_graph_t *g = cn_model_graph(m);
  int n = 0;
  for (int i = 0; i < g->nnodes; i++)
    n += g->nodes[i].op == op;
  return n;
}

typedef struct expect {
  const char *name;
  int max_nodes; /* after optimization */
  int binary;    /* Binary nodes left */
  int act;       /* Act nodes left */
} expect_t;

/* Loads name both ways, compares, checks the folded graph and the plan. */
static void check_model(const expect_t *e) {
  need_models(e->name);
  cn_model_t *ref = load(e->name, "ref", 0);
  cn_model_t *opt = load(e->name, "dnnl", 1);
  const cn_tensor_desc_t *in = cn_model_input(ref, 0);
  float *x = malloc((size_t)in->numel * sizeof *x);
  assert_non_null(x);
  uint32_t s = 99;
  for (int64_t i = 0; i < in->numel; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)(s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
  }
  float *yr = run(ref, x), *yo = run(opt, x);
  int64_t n = cn_model_output(ref, 0)->numel;
  assert_int_equal(n, cn_model_output(opt, 0)->numel);
  double dmax = 0, rmax = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)yo[i] - (double)yr[i]);
    dmax = isnan(yo[i]) ? INFINITY : d > dmax ? d : dmax;
    rmax = fabs((double)yr[i]) > rmax ? fabs((double)yr[i]) : rmax;
  }
  if (!(rmax > 1e-3 && dmax <= TOL * rmax))
    fail_msg("%s: max error %g, output up to %g", e->name, dmax, rmax);
  const cn_graph_t *g = cn_model_graph(opt);
  if (g->nnodes > e->max_nodes || count_op(opt, CN_OP_BINARY) != e->binary ||
      count_op(opt, CN_OP_ACT) != e->act) {
    cn_graph_print(g, stderr);
    fail_msg("%s: %d nodes (at most %d), %d binary (want %d), %d act (want "
             "%d) after optimization",
             e->name, g->nnodes, e->max_nodes, count_op(opt, CN_OP_BINARY),
             e->binary, count_op(opt, CN_OP_ACT), e->act);
  }
  const cn_engine_step_t *st;
  int ns = cn_model_steps(opt, &st);
  assert_true(ns > 0);
  for (int k = 0; k < ns; k++)
    if (st[k].reference)
      fail_msg("%s: step %d (node %d, %s) runs on %s", e->name, k, st[k].node,
               st[k].what, st[k].impl);
  free(x);
  free(yr);
  free(yo);
  cn_model_free(ref);
  cn_model_free(opt);
}

static void test_fold_after(void **state) {
  (void)state;
  static const expect_t e[] = {
      {"conv_mul_add", 1, 0, 0}, /* Mul, Add, Relu into the conv */
      {"conv_sub_div", 1, 0, 0}, /* x - k, x / c, c - x */
      {"conv_bn_mul", 1, 0, 0},  /* after a BatchNorm-folded conv */
      {"gemm_affine", 3, 0, 0},  /* Flatten, Gemm, MatMul */
      {"deconv_affine", 1, 0, 0},
  };
  for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
    check_model(&e[i]);
}

static void test_fold_before(void **state) {
  (void)state;
  /* Mul before a padded conv, Add before a 1x1 conv and Mul before a
   * depthwise one fold; the Add before a padded conv must stay. */
  static const expect_t e = {"affine_before", 5, 1, 0};
  check_model(&e);
}

static void test_gates(void **state) {
  (void)state;
  /* HardSwish and SiLU become post-ops; x*HardSigmoid(x) with alpha 0.2
   * is not HardSwish and stays a Mul after a HardSigmoid. */
  static const expect_t e = {"gates", 5, 1, 1};
  check_model(&e);
}

static void test_squeeze_excitation_320(void **state) {
  (void)state;
  /* The 1x24x320x320 map: constants into the conv, HardSwish fused, the
   * SE Mul on a jit kernel; after ConvTranspose + Relu (aBcd16b), the Mul
   * and Add by [1,16,1,1] constants on jit kernels, not ref:any (the
   * Relu stays: deconvolutions take no post-ops here). */
  static const expect_t e = {"se_320", 10, 3, 1};
  check_model(&e);
}

static void test_mobilenet_v3(void **state) {
  (void)state;
  /* What stays: the convolutions, pools, Flatten, the two Gemms and the
   * squeeze-excitation Muls (small: 52 + 10 + 1 + 2 + 9 of 146 nodes,
   * large: 62 + 9 + 1 + 2 + 8 of 168); every HardSigmoid, HardSwish
   * (x*HardSigmoid(x)), Relu and residual Add is a post-op. */
  static const expect_t e[] = {
      {"mobilenet_v3_small_224", 74, 9, 0},
      {"mobilenet_v3_large_224", 82, 8, 0},
  };
  for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
    check_model(&e[i]);
}

/* Implementation names of `camnet bench --profile`'s table, in order. */
static int profile_impls(const char *out, char impl[][48], int max) {
  const char *p = strstr(out, "\nstep  node");
  int n = 0;
  while (p && (p = strchr(p + 1, '\n')) && n < max) {
    int k, node;
    double ms, share;
    char what[32];
    if (sscanf(p + 1, "%d %d %lf %lf%% %31s %47s", &k, &node, &ms, &share, what,
               impl[n]) != 6)
      break;
    n++;
  }
  return n;
}

static void test_profile_matches_onednn_verbose(void **state) {
  (void)state;
  need_models("se_320");
  static char out[1 << 20];
  int rc = cn_test_sh(out, sizeof out,
                      "ONEDNN_VERBOSE=1 %s/camnet bench %s/se_320.onnx "
                      "--threads 2 --runs 1 --warmup 0 --reloads 0 --profile "
                      "2>&1",
                      cn_test_build_dir(), dir);
  assert_int_equal(rc, 0);
  char impl[64][48];
  int n = profile_impls(out, impl, 64);
  assert_true(n >= 8);
  /* The profile run is the last: its steps are the last n exec lines. */
  static char execs[256][48];
  int ne = 0;
  for (const char *p = out; (p = strstr(p, "onednn_verbose,exec,cpu,"));) {
    p += strlen("onednn_verbose,exec,cpu,");
    const char *c = strchr(p, ',');
    if (!c)
      break;
    int len = 0;
    for (const char *q = c + 1; *q && *q != ',' && len < 47; q++)
      execs[ne % 256][len++] = *q;
    execs[ne % 256][len] = 0;
    ne++;
  }
  assert_true(ne >= n);
  for (int k = 0; k < n; k++)
    if (strcmp(impl[k], execs[(ne - n + k) % 256]))
      fail_msg("step %d: profile says %s, oneDNN ran %s", k, impl[k],
               execs[(ne - n + k) % 256]);
  assert_null(strstr(out, "ref:"));
  assert_null(strstr(out, "warning"));
}

static void test_reference_step_named(void **state) {
  (void)state;
  /* Softmax over axis 2 of NCHW has no jit kernel in oneDNN 2.6: the
   * load names it once, bench --profile flags it with its share. */
  need_models("ref_softmax");
  static char out[1 << 16];
  int rc = cn_test_sh(out, sizeof out,
                      "%s/camnet bench %s/ref_softmax.onnx --threads 2 "
                      "--runs 2 --warmup 0 --reloads 0 --profile 2>&1",
                      cn_test_build_dir(), dir);
  assert_int_equal(rc, 0);
  const char *load = strstr(out, "node 1 (Softmax, Softmax) runs on a "
                                 "reference implementation (ref:");
  if (!load)
    fail_msg("no load warning in:\n%s", out);
  assert_null(strstr(load + 1, "node 1 (Softmax, Softmax) runs on"));
  if (!strstr(out, "(node 1, softmax) runs on a reference implementation "
                   "(ref:"))
    fail_msg("no profile warning in:\n%s", out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fold_after),
      cmocka_unit_test(test_fold_before),
      cmocka_unit_test(test_gates),
      cmocka_unit_test(test_squeeze_excitation_320),
      cmocka_unit_test(test_mobilenet_v3),
      cmocka_unit_test(test_profile_matches_onednn_verbose),
      cmocka_unit_test(test_reference_step_named),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
