/* Models from the wild: open input dimensions resolved at load, integer
 * constant subgraphs folded, float16 weights, metadata, and the one-line
 * refusals. The models are built by onnx_shape_models.py with
 * python3-onnx, which also computes the expected outputs with numpy (an
 * independent reference). The camnet tool is run for its exit codes. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/labels.h"
#include "camnet/mean.h"
#include "camnet/model.h"

static char *dir;
static char out[8192];

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  int r = cn_test_sh(out, sizeof out,
                     "/usr/bin/python3 %s/tests/engine/onnx_shape_models.py %s",
                     cn_test_source_dir(), dir);
  if (r != 0) {
    fprintf(stderr, "onnx_shape_models.py: %s\n", out);
    cn_test_rmtree(dir);
    free(dir);
    dir = NULL;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (dir)
    cn_test_rmtree(dir);
  free(dir);
  return 0;
}

#define NEED_MODELS()                                                          \
  do {                                                                         \
    if (!dir)                                                                  \
      CN_TEST_SKIP_MISSING("python3-onnx", "the test models were not built");  \
  } while (0)

static const char *path(const char *name) {
  static char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}

static int load(const char *model, const cn_model_opts_t *o, cn_model_t **m,
                cn_err_t *err) {
  cn_model_opts_t def;
  if (!o) {
    cn_model_opts_default(&def);
    def.backend = "ref";
    o = &def;
  }
  memset(err, 0, sizeof *err);
  return cn_model_load(m, path(model), o, err);
}

/* Runs m on NAME_in.npy and compares with NAME_out.npy (max abs error
 * <= 1e-4 of the expected output's range). */
static void run_and_compare(cn_model_t *m, const char *name) {
  char f[256];
  cn_npy_t in = {0}, exp = {0};
  cn_err_t err = {0};
  snprintf(f, sizeof f, "%s_in.npy", name);
  assert_int_equal(cn_npy_read(path(f), &in, &err), 0);
  snprintf(f, sizeof f, "%s_out.npy", name);
  assert_int_equal(cn_npy_read(path(f), &exp, &err), 0);
  const cn_tensor_desc_t *od = cn_model_output(m, 0);
  assert_int_equal(in.numel, cn_model_input(m, 0)->numel);
  assert_int_equal(exp.numel, od->numel);
  float *y = calloc((size_t)od->numel, sizeof *y);
  const float *ins[1] = {in.data};
  float *outs[1] = {y};
  assert_int_equal(cn_model_run(m, ins, outs, &err), 0);
  float lo = INFINITY, hi = -INFINITY, worst = 0;
  for (int64_t i = 0; i < od->numel; i++) {
    lo = fminf(lo, exp.data[i]);
    hi = fmaxf(hi, exp.data[i]);
    worst = fmaxf(worst, fabsf(y[i] - exp.data[i]));
  }
  if (!(worst <= 1e-4f * (hi - lo)))
    fail_msg("%s: max error %g, range %g", name, (double)worst,
             (double)(hi - lo));
  free(y);
  cn_npy_free(&in);
  cn_npy_free(&exp);
}

static void test_open_dims_from_shapes_and_size(void **state) {
  (void)state;
  NEED_MODELS();
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.backend = "ref";
  cn_input_shape_t s;
  cn_err_t err = {0};
  assert_int_equal(cn_input_shape_parse("x:1x3x5x7", &s, &err), 0);
  o.input_shapes = &s;
  o.ninput_shapes = 1;
  cn_model_t *m;
  if (load("open_nchw.onnx", &o, &m, &err))
    fail_msg("%s", err.msg);
  const cn_tensor_desc_t *in = cn_model_input(m, 0);
  assert_int_equal(in->dims[2], 5);
  assert_int_equal(in->dims[3], 7);
  assert_string_equal(in->symbols[0], "batch");
  assert_null(in->symbols[1]);
  assert_string_equal(in->symbols[2], "height");
  assert_string_equal(in->symbols[3], "width");
  /* The shape chain folded: [1,4,35] from Shape/Slice/ReduceProd. */
  const cn_tensor_desc_t *od = cn_model_output(m, 0);
  assert_true(od->ndim == 3 && od->dims[1] == 4 && od->dims[2] == 35);
  run_and_compare(m, "open_nchw");
  cn_model_free(m);
  /* The same from --size's width and height (batch 1). */
  cn_model_opts_default(&o);
  o.backend = "ref";
  o.width = 7;
  o.height = 5;
  if (load("open_nchw.onnx", &o, &m, &err))
    fail_msg("%s", err.msg);
  run_and_compare(m, "open_nchw");
  cn_model_free(m);
  /* An entry wins over width/height. */
  o.input_shapes = &s;
  o.ninput_shapes = 1;
  o.width = 9;
  if (load("open_nchw.onnx", &o, &m, &err))
    fail_msg("%s", err.msg);
  assert_int_equal(cn_model_input(m, 0)->dims[3], 7);
  cn_model_free(m);
}

static void test_bad_shapes_are_one_line(void **state) {
  (void)state;
  NEED_MODELS();
  cn_model_t *m = NULL;
  cn_err_t err;
  assert_int_equal(load("open_nchw.onnx", NULL, &m, &err), CN_EINVAL);
  assert_non_null(strstr(err.msg, "input x: dimension 2 ('height') is open"));
  assert_non_null(strstr(err.msg, "--input-shape x:1x3xHxW"));
  static const struct {
    const char *text, *msg;
  } bad[] = {
      {"x:1x3x0x7", "dimension 2 must be 1 to"},
      {"x:1x3x-5x7", "is not [NAME:]D1xD2x"},
      {"x:1x3x5000000x7", "dimension 2 must be 1 to"},
      {"x:1x3x16384x16384", "has more than"},
      {"x:", "is not [NAME:]D1xD2x"},
      {"x:1x3x5x", "is not [NAME:]D1xD2x"},
      {":1x3", "the name before ':' is empty"},
      {"1x2x3x4x5x6x7x8x9", "is not [NAME:]D1xD2x"},
  };
  cn_input_shape_t s;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&err, 0, sizeof err);
    assert_int_equal(cn_input_shape_parse(bad[i].text, &s, &err), CN_EINVAL);
    if (!strstr(err.msg, bad[i].msg))
      fail_msg("%s: %s", bad[i].text, err.msg);
  }
  /* Shapes that disagree with the model: rank, a fixed dimension, a name. */
  static const struct {
    const char *text, *msg;
  } wrong[] = {
      {"x:1x3x5", "input x has 4 dimensions, the given shape 3"},
      {"x:1x4x5x7", "dimension 1 is 3 in the model, the given shape says 4"},
      {"y:1x3x5x7", "no input named 'y' (the first is 'x')"},
  };
  for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
    cn_model_opts_t o;
    cn_model_opts_default(&o);
    o.backend = "ref";
    assert_int_equal(cn_input_shape_parse(wrong[i].text, &s, &err), 0);
    o.input_shapes = &s;
    o.ninput_shapes = 1;
    assert_int_equal(load("open_nchw.onnx", &o, &m, &err), CN_EINVAL);
    if (!strstr(err.msg, wrong[i].msg))
      fail_msg("%s: %s", wrong[i].text, err.msg);
    assert_null(strchr(err.msg, '\n'));
  }
  /* A static model checks a given shape too. */
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.backend = "ref";
  assert_int_equal(cn_input_shape_parse("1x6x5", &s, &err), 0);
  o.input_shapes = &s;
  o.ninput_shapes = 1;
  assert_int_equal(load("tf_split.onnx", &o, &m, &err), CN_EINVAL);
  assert_non_null(strstr(err.msg, "dimension 2 is 4 in the model"));
}

static void test_integer_subgraphs_and_fp16(void **state) {
  (void)state;
  NEED_MODELS();
  cn_model_t *m;
  cn_err_t err;
  if (load("tf_split.onnx", NULL, &m, &err))
    fail_msg("%s", err.msg);
  run_and_compare(m, "tf_split");
  cn_model_free(m);
  if (load("fp16.onnx", NULL, &m, &err))
    fail_msg("%s", err.msg);
  run_and_compare(m, "fp16");
  cn_model_free(m);
  /* Integer work on data is refused, naming the node. */
  assert_int_equal(load("runtime_shape.onnx", NULL, &m, &err), CN_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "node 0 (Cast): Cast to an integer type "
                                  "needs runtime shapes"));
}

static void test_metadata_and_refusals(void **state) {
  (void)state;
  NEED_MODELS();
  cn_model_t *m;
  cn_err_t err;
  if (load("meta.onnx", NULL, &m, &err))
    fail_msg("%s", err.msg);
  const cn_tensor_desc_t *in = cn_model_input(m, 0);
  assert_true(in->dims[2] == 48 && in->dims[3] == 64); /* imgsz [48, 64] */
  assert_string_equal(cn_model_find_metadata(m, "stride"), "32");
  const char *key;
  assert_non_null(cn_model_metadata(m, 0, &key));
  assert_null(cn_model_metadata(m, 3, &key));
  cn_labels_t *l;
  assert_int_equal(cn_labels_from_dict(cn_model_find_metadata(m, "names"),
                                       "names", &l, &err),
                   0);
  assert_int_equal(cn_labels_count(l), 4);
  assert_string_equal(cn_labels_get(l, 1), "bicycle");
  assert_string_equal(cn_labels_get(l, 2), "traffic light");
  assert_string_equal(cn_labels_get(l, 3), "it's");
  cn_labels_destroy(l);
  cn_model_free(m);
  static const char *const bad_dicts[] = {
      "", "{}", "{1: 'a'}", "[0, 1]", "{0: 'a', 0: 'b'}", "{0: 'a'"};
  for (size_t i = 0; i < sizeof bad_dicts / sizeof bad_dicts[0]; i++)
    assert_int_equal(cn_labels_from_dict(bad_dicts[i], "names", &l, &err),
                     CN_EFORMAT);
  /* Every unsupported op in one message. */
  assert_int_equal(load("unsupported.onnx", NULL, &m, &err), CN_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "node 0 (NonZero): unsupported ops "
                                  "NonZero, FancyOp, com.example.Det"));
  assert_int_equal(load("opset19.onnx", NULL, &m, &err), CN_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "opset 19 is newer than camnet reads: "
                                  "re-export with opset 17 or lower"));
}

/* The tool: shapes from --input-shape and from the .npy; usage errors
 * exit 2. */
static void test_tool_exit_codes(void **state) {
  (void)state;
  NEED_MODELS();
  const char *bin = cn_test_build_dir();
  char m[1024];
  snprintf(m, sizeof m, "%s", path("open_nchw.onnx"));
  assert_int_equal(cn_test_sh(out, sizeof out, "%s/camnet info %s", bin, m), 1);
  assert_non_null(strstr(out, "dimension 2 ('height') is open"));
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "%s/camnet info %s --input-shape x:1x3x5x7", bin,
                              m),
                   0);
  assert_non_null(
      strstr(out, "input x [1,3,5,7] (open: batch=1, height=5, width=7)"));
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "%s/camnet info %s --input-shape x:1x3x0x7", bin,
                              m),
                   2);
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "%s/camnet bench %s --input-shape x:1x4x5x7 "
                              "--runs 1 --warmup 0 --reloads 0",
                              bin, m),
                   2);
  /* infer sizes the open input from the .npy. */
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "%s/camnet infer %s --input %s/open_nchw_in.npy "
                              "-o %s/y.npy",
                              bin, m, dir, dir),
                   0);
  cn_npy_t y = {0}, e = {0};
  cn_err_t err = {0};
  assert_int_equal(cn_npy_read(path("y.npy"), &y, &err), 0);
  assert_int_equal(cn_npy_read(path("open_nchw_out.npy"), &e, &err), 0);
  assert_int_equal(y.numel, e.numel);
  for (int64_t i = 0; i < y.numel; i++)
    assert_true(fabsf(y.data[i] - e.data[i]) < 1e-3f);
  cn_npy_free(&y);
  cn_npy_free(&e);
  assert_int_equal(
      cn_test_sh(out, sizeof out, "%s/camnet info %s", bin, path("meta.onnx")),
      0);
  assert_non_null(strstr(out, "metadata imgsz: [48, 64]"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_dims_from_shapes_and_size),
      cmocka_unit_test(test_bad_shapes_are_one_line),
      cmocka_unit_test(test_integer_subgraphs_and_fp16),
      cmocka_unit_test(test_metadata_and_refusals),
      cmocka_unit_test(test_tool_exit_codes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
