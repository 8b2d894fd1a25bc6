/* The ONNX backend node tests shipped in Debian's libonnx-testdata, run
 * through the importer and the reference backend.
 *
 * A test is in scope when every op in its model is one the importer claims
 * (cn_onnx_op_supported). Each in-scope test is imported, run unoptimized and
 * optimized on the reference backend, then optimized on the oneDNN executor
 * (its lowerings and fallbacks), and compared with its expected outputs (|a-b|
 * <= 1e-5 + 1e-3*|b|, ONNX's backend-test rtol). Outcomes: runs     every run
 * matches, and the graph computes its outputs at run time; folded   both runs
 * match, but at load every output folded to a constant or an output is empty:
 * the backend computed nothing, so these are not counted as running; refused
 * the importer said CN_EUNSUPPORTED (a variant we refuse with a clear error:
 * integer tensors, training outputs, 3-D ops...); fail     anything else: a
 * load error on a valid model, wrong shape or wrong numbers. Every folded and
 * refused test is named below with its exact reason, and the counts are pinned
 * (NODE_*): a test that changes category, a new message, or a test that leaves
 * the scope fails the test. An importer change that moves a test updates the
 * tables and the counts together.
 *
 * Model inputs that the importer needs as constants (shape, axes, scales,
 * pads...) are graph inputs in these tests; the harness binds them as
 * initializers from the test data: first only non-float inputs, and if the
 * import still asks for a constant, every input but the first.
 *
 * With CN_ONNX_NODE_DOC=docs/models.md the results replace the section
 * between the "onnx-node-tests" markers of that file.
 */
#include "harness.h"

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ir/graph.h"
#include "engine/ir/optimize.h"
#include "engine/onnx.pb-c.h"
#include "engine/onnx/onnx_import.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"
#define MAX_IO 16

typedef enum { R_RUNS, R_FOLDED, R_REFUSED, R_FAIL } result_t;

typedef struct outcome {
  char name[128];
  char ops[128];
  result_t r;
  char why[300];
} outcome_t;

/* The pinned outcome on Debian 12's libonnx-testdata (ONNX 1.12): tests
 * in scope, and those that run (folded and refused are the tables'
 * lengths). */
#define NODE_IN_SCOPE 569
#define NODE_RUNS 419

typedef struct expected {
  const char *name;
  const char *why; /* the exact message after "NAME: " (refusals) */
} expected_t;

/* Refused on purpose, each with its exact message. */
static const expected_t expected_refusals[] = {
    {"test_add_uint8",
     "output sum has element type 2, only float is supported"},
    {"test_and2d", "output and has element type 9, only float is supported"},
    {"test_and3d", "output and has element type 9, only float is supported"},
    {"test_and4d", "output and has element type 9, only float is supported"},
    {"test_and_bcast3v1d",
     "output and has element type 9, only float is supported"},
    {"test_and_bcast3v2d",
     "output and has element type 9, only float is supported"},
    {"test_and_bcast4v2d",
     "output and has element type 9, only float is supported"},
    {"test_and_bcast4v3d",
     "output and has element type 9, only float is supported"},
    {"test_and_bcast4v4d",
     "output and has element type 9, only float is supported"},
    {"test_averagepool_3d_default", "node 0 (AveragePool): 5-D input: only 1-D "
                                    "and 2-D spatial ops are supported"},
    {"test_batchnorm_epsilon_training_mode",
     "node 0 (BatchNormalization): training-mode outputs are not supported"},
    {"test_batchnorm_example_training_mode",
     "node 0 (BatchNormalization): training-mode outputs are not supported"},
    {"test_cast_BFLOAT16_to_FLOAT",
     "input input has element type 16, only float is supported"},
    {"test_cast_DOUBLE_to_FLOAT16",
     "output output has element type 10, only float is supported"},
    {"test_cast_FLOAT16_to_DOUBLE",
     "output output has element type 11, only float is supported"},
    {"test_cast_FLOAT_to_BFLOAT16", "node 0 (Cast): Cast to type 16"},
    {"test_cast_FLOAT_to_DOUBLE",
     "output output has element type 11, only float is supported"},
    {"test_cast_FLOAT_to_FLOAT16",
     "output output has element type 10, only float is supported"},
    {"test_cast_FLOAT_to_STRING", "node 0 (Cast): Cast to type 8"},
    {"test_cast_STRING_to_FLOAT", "tensor input: data type 8 is not supported"},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded",
     "input input has element type 16, only float is supported"},
    {"test_castlike_DOUBLE_to_FLOAT16_expanded",
     "output output has element type 10, only float is supported"},
    {"test_castlike_FLOAT16_to_DOUBLE_expanded",
     "output output has element type 11, only float is supported"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded",
     "input like has element type 16, only float is supported"},
    {"test_castlike_FLOAT_to_DOUBLE_expanded",
     "output output has element type 11, only float is supported"},
    {"test_castlike_FLOAT_to_FLOAT16_expanded",
     "output output has element type 10, only float is supported"},
    {"test_castlike_FLOAT_to_STRING_expanded",
     "tensor like: data type 8 is not supported"},
    {"test_castlike_STRING_to_FLOAT_expanded",
     "tensor input: data type 8 is not supported"},
    {"test_clip_default_int8_inbounds",
     "node 0 (Clip): integer tensor x used as data (only float32 is)"},
    {"test_clip_default_int8_max",
     "node 0 (Clip): integer tensor x used as data (only float32 is)"},
    {"test_clip_default_int8_min",
     "node 0 (Clip): integer tensor x used as data (only float32 is)"},
    {"test_constantofshape_int_shape_zero",
     "output y has element type 6, only float is supported"},
    {"test_constantofshape_int_zeros",
     "output y has element type 6, only float is supported"},
    {"test_convtranspose_3d", "node 0 (ConvTranspose): 5-D input: only 1-D and "
                              "2-D spatial ops are supported"},
    {"test_div_uint8", "output z has element type 2, only float is supported"},
    {"test_dropout_default_mask",
     "node 0 (Dropout): the mask output of Dropout is not supported"},
    {"test_dropout_default_mask_ratio",
     "node 0 (Dropout): the mask output of Dropout is not supported"},
    {"test_edge_pad",
     "node 0 (Pad): integer tensor x used as data (only float32 is)"},
    {"test_equal", "output z has element type 9, only float is supported"},
    {"test_equal_bcast",
     "output z has element type 9, only float is supported"},
    {"test_greater",
     "output greater has element type 9, only float is supported"},
    {"test_greater_bcast",
     "output greater has element type 9, only float is supported"},
    {"test_greater_equal",
     "output greater_equal has element type 9, only float is supported"},
    {"test_greater_equal_bcast",
     "output greater_equal has element type 9, only float is supported"},
    {"test_greater_equal_bcast_expanded",
     "output greater_equal has element type 9, only float is supported"},
    {"test_greater_equal_expanded",
     "output greater_equal has element type 9, only float is supported"},
    {"test_identity_opt", "input opt_in is not a tensor"},
    {"test_identity_sequence", "input x is not a tensor"},
    {"test_less", "output less has element type 9, only float is supported"},
    {"test_less_bcast",
     "output less has element type 9, only float is supported"},
    {"test_less_equal",
     "output less_equal has element type 9, only float is supported"},
    {"test_less_equal_bcast",
     "output less_equal has element type 9, only float is supported"},
    {"test_less_equal_bcast_expanded",
     "output less_equal has element type 9, only float is supported"},
    {"test_less_equal_expanded",
     "output less_equal has element type 9, only float is supported"},
    {"test_max_float16",
     "output result has element type 10, only float is supported"},
    {"test_max_float64",
     "output result has element type 11, only float is supported"},
    {"test_max_int16",
     "output result has element type 5, only float is supported"},
    {"test_max_int32",
     "output result has element type 6, only float is supported"},
    {"test_max_int64",
     "output result has element type 7, only float is supported"},
    {"test_max_int8",
     "output result has element type 3, only float is supported"},
    {"test_max_uint16",
     "output result has element type 4, only float is supported"},
    {"test_max_uint32",
     "output result has element type 12, only float is supported"},
    {"test_max_uint64",
     "output result has element type 13, only float is supported"},
    {"test_max_uint8",
     "output result has element type 2, only float is supported"},
    {"test_maxpool_2d_uint8",
     "node 0 (MaxPool): integer tensor x used as data (only float32 is)"},
    {"test_maxpool_3d_default",
     "node 0 (MaxPool): 5-D input: only 1-D and 2-D spatial ops are supported"},
    {"test_maxpool_with_argmax_2d_precomputed_pads",
     "node 0 (MaxPool): the Indices output of MaxPool is not supported"},
    {"test_maxpool_with_argmax_2d_precomputed_strides",
     "node 0 (MaxPool): the Indices output of MaxPool is not supported"},
    {"test_min_float16",
     "output result has element type 10, only float is supported"},
    {"test_min_float64",
     "output result has element type 11, only float is supported"},
    {"test_min_int16",
     "output result has element type 5, only float is supported"},
    {"test_min_int32",
     "output result has element type 6, only float is supported"},
    {"test_min_int64",
     "output result has element type 7, only float is supported"},
    {"test_min_int8",
     "output result has element type 3, only float is supported"},
    {"test_min_uint16",
     "output result has element type 4, only float is supported"},
    {"test_min_uint32",
     "output result has element type 12, only float is supported"},
    {"test_min_uint64",
     "output result has element type 13, only float is supported"},
    {"test_min_uint8",
     "output result has element type 2, only float is supported"},
    {"test_mul_uint8", "output z has element type 2, only float is supported"},
    {"test_nllloss_NCd1d2d3d4d5_mean_weight_expanded",
     "node 7 (Gather): gather of 6480 indices"},
    {"test_not_2d", "output not has element type 9, only float is supported"},
    {"test_not_3d", "output not has element type 9, only float is supported"},
    {"test_not_4d", "output not has element type 9, only float is supported"},
    {"test_or2d", "output or has element type 9, only float is supported"},
    {"test_or3d", "output or has element type 9, only float is supported"},
    {"test_or4d", "output or has element type 9, only float is supported"},
    {"test_or_bcast3v1d",
     "output or has element type 9, only float is supported"},
    {"test_or_bcast3v2d",
     "output or has element type 9, only float is supported"},
    {"test_or_bcast4v2d",
     "output or has element type 9, only float is supported"},
    {"test_or_bcast4v3d",
     "output or has element type 9, only float is supported"},
    {"test_or_bcast4v4d",
     "output or has element type 9, only float is supported"},
    {"test_pow_types_float",
     "output z has element type 7, only float is supported"},
    {"test_pow_types_int32_float32",
     "output z has element type 6, only float is supported"},
    {"test_pow_types_int32_int32",
     "output z has element type 6, only float is supported"},
    {"test_pow_types_int64_float32",
     "output z has element type 7, only float is supported"},
    {"test_pow_types_int64_int64",
     "output z has element type 7, only float is supported"},
    {"test_range_int32_type_negative_delta",
     "output output has element type 6, only float is supported"},
    {"test_reduce_log_sum_exp_default_axes_keepdims_example",
     "output reduced has element type 11, only float is supported"},
    {"test_reduce_log_sum_exp_default_axes_keepdims_random",
     "output reduced has element type 11, only float is supported"},
    {"test_reduce_log_sum_exp_do_not_keepdims_example",
     "output reduced has element type 11, only float is supported"},
    {"test_reduce_log_sum_exp_do_not_keepdims_random",
     "output reduced has element type 11, only float is supported"},
    {"test_reduce_log_sum_exp_keepdims_example",
     "output reduced has element type 11, only float is supported"},
    {"test_reduce_log_sum_exp_keepdims_random",
     "output reduced has element type 11, only float is supported"},
    {"test_reduce_log_sum_exp_negative_axes_keepdims_example",
     "output reduced has element type 11, only float is supported"},
    {"test_reduce_log_sum_exp_negative_axes_keepdims_random",
     "output reduced has element type 11, only float is supported"},
    {"test_reflect_pad",
     "node 0 (Pad): integer tensor x used as data (only float32 is)"},
    {"test_shape", "output y has element type 7, only float is supported"},
    {"test_shape_clip_end",
     "output y has element type 7, only float is supported"},
    {"test_shape_clip_start",
     "output y has element type 7, only float is supported"},
    {"test_shape_end_1",
     "output y has element type 7, only float is supported"},
    {"test_shape_end_negative_1",
     "output y has element type 7, only float is supported"},
    {"test_shape_example",
     "output y has element type 7, only float is supported"},
    {"test_shape_start_1",
     "output y has element type 7, only float is supported"},
    {"test_shape_start_1_end_2",
     "output y has element type 7, only float is supported"},
    {"test_shape_start_1_end_negative_1",
     "output y has element type 7, only float is supported"},
    {"test_shape_start_negative_1",
     "output y has element type 7, only float is supported"},
    {"test_size", "output y has element type 7, only float is supported"},
    {"test_size_example",
     "output y has element type 7, only float is supported"},
    {"test_sub_uint8", "output z has element type 2, only float is supported"},
    {"test_training_dropout",
     "node 0 (Dropout): training_mode=1 is not supported"},
    {"test_training_dropout_default",
     "node 0 (Dropout): training_mode=1 is not supported"},
    {"test_training_dropout_default_mask",
     "node 0 (Dropout): the mask output of Dropout is not supported"},
    {"test_training_dropout_mask",
     "node 0 (Dropout): the mask output of Dropout is not supported"},
    {"test_training_dropout_zero_ratio",
     "node 0 (Dropout): training_mode=1 is not supported"},
    {"test_training_dropout_zero_ratio_mask",
     "node 0 (Dropout): the mask output of Dropout is not supported"},
    {"test_where_long_example",
     "output z has element type 7, only float is supported"},
    {"test_xor2d", "output xor has element type 9, only float is supported"},
    {"test_xor3d", "output xor has element type 9, only float is supported"},
    {"test_xor4d", "output xor has element type 9, only float is supported"},
    {"test_xor_bcast3v1d",
     "output xor has element type 9, only float is supported"},
    {"test_xor_bcast3v2d",
     "output xor has element type 9, only float is supported"},
    {"test_xor_bcast4v2d",
     "output xor has element type 9, only float is supported"},
    {"test_xor_bcast4v3d",
     "output xor has element type 9, only float is supported"},
    {"test_xor_bcast4v4d",
     "output xor has element type 9, only float is supported"},
};

/* Loaded and matched, but computed at load (their inputs are bound as
 * constants by this harness, or the op has no data input) or empty. */
static const expected_t expected_folded[] = {
    {"test_blackmanwindow_expanded", "folded to constants at load"},
    {"test_blackmanwindow_symmetric_expanded", "folded to constants at load"},
    {"test_cast_DOUBLE_to_FLOAT", "folded to constants at load"},
    {"test_cast_FLOAT16_to_FLOAT", "folded to constants at load"},
    {"test_castlike_DOUBLE_to_FLOAT_expanded", "folded to constants at load"},
    {"test_castlike_FLOAT16_to_FLOAT_expanded", "folded to constants at load"},
    {"test_constant", "folded to constants at load"},
    {"test_constantofshape_float_ones", "folded to constants at load"},
    {"test_hammingwindow_expanded", "folded to constants at load"},
    {"test_hammingwindow_symmetric_expanded", "folded to constants at load"},
    {"test_hannwindow_expanded", "folded to constants at load"},
    {"test_hannwindow_symmetric_expanded", "folded to constants at load"},
    {"test_range_float_type_positive_delta", "folded to constants at load"},
    {"test_reshape_allowzero_reordered", "output 0 is empty"},
    {"test_slice_start_out_of_bounds", "output 0 is empty"},
    {"test_split_zero_size_splits", "output 0 is empty"},
};

#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const expected_t *find_expected(const expected_t *t, int n,
                                       const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(t[i].name, name))
      return &t[i];
  return NULL;
}

static int claimed(const char *op) { return cn_onnx_op_supported(op); }

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
  if (b && n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = n > 0 ? (size_t)n : 0;
  return b;
}

static Onnx__TensorProto *load_pb(const char *dir, const char *kind, int i) {
  char path[1200];
  snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", dir, kind, i);
  size_t len;
  unsigned char *b = slurp(path, &len);
  if (!b)
    return NULL;
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, b);
  free(b);
  return t;
}

/* Float data of a TensorProto (raw or float_data); NULL if not float. */
static float *tensor_floats(const Onnx__TensorProto *t, int64_t *numel) {
  if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    return NULL;
  int64_t n = 1;
  for (size_t i = 0; i < t->n_dims; i++)
    n *= t->dims[i];
  float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!f)
    return NULL;
  if (n == 0)
    ;
  else if (t->has_raw_data && t->raw_data.len == (size_t)n * 4)
    memcpy(f, t->raw_data.data, (size_t)n * 4);
  else if (t->n_float_data == (size_t)n)
    memcpy(f, t->float_data, (size_t)n * 4);
  else {
    free(f);
    return NULL;
  }
  *numel = n;
  return f;
}

/* Packs the model with the chosen inputs bound as initializers. */
static unsigned char *bind_inputs(const Onnx__ModelProto *mp,
                                  Onnx__TensorProto **data, const int *bind,
                                  int nin, size_t *len) {
  const Onnx__GraphProto *gp = mp->graph;
  Onnx__TensorProto *copies = calloc((size_t)nin + 1, sizeof *copies);
  Onnx__TensorProto **inits =
      calloc(gp->n_initializer + (size_t)nin + 1, sizeof *inits);
  size_t n = 0;
  for (size_t i = 0; i < gp->n_initializer; i++)
    inits[n++] = gp->initializer[i];
  int k = 0;
  for (size_t i = 0; i < gp->n_input; i++) {
    int is_init = 0;
    for (size_t j = 0; j < gp->n_initializer; j++)
      if (gp->initializer[j]->name &&
          !strcmp(gp->initializer[j]->name, gp->input[i]->name))
        is_init = 1;
    if (is_init)
      continue;
    if (k < nin && bind[k] && data[k]) {
      copies[k] = *data[k];
      copies[k].name = gp->input[i]->name;
      inits[n++] = &copies[k];
    }
    k++;
  }
  Onnx__GraphProto g2 = *gp;
  g2.initializer = inits;
  g2.n_initializer = n;
  Onnx__ModelProto m2 = *mp;
  m2.graph = &g2;
  *len = onnx__model_proto__get_packed_size(&m2);
  unsigned char *buf = malloc(*len ? *len : 1);
  onnx__model_proto__pack(&m2, buf);
  free(inits);
  free(copies);
  return buf;
}

static int compare(const cn_graph_t *g, float *const *outs,
                   Onnx__TensorProto **exp, int nexp, char *why, size_t wn) {
  if (g->noutputs != nexp)
    return snprintf(why, wn, "%d outputs, expected %d", g->noutputs, nexp), -1;
  for (int i = 0; i < nexp; i++) {
    const cn_tensor_t *t = &g->tensors[g->outputs[i]];
    int64_t n;
    float *e = tensor_floats(exp[i], &n);
    if (!e)
      return snprintf(why, wn, "expected output %d is not float", i), -1;
    int shape_ok = (size_t)t->ndim == exp[i]->n_dims;
    for (int k = 0; shape_ok && k < t->ndim; k++)
      shape_ok = t->dims[k] == exp[i]->dims[k];
    if (!shape_ok) {
      free(e);
      return snprintf(why, wn, "output %d has the wrong shape", i), -1;
    }
    for (int64_t j = 0; j < n; j++) {
      float a = outs[i][j], b = e[j];
      if (isnan(a) && isnan(b))
        continue;
      if (isinf(a) && isinf(b) && (a > 0) == (b > 0))
        continue;
      if (!(fabsf(a - b) <= 1e-5f + 1e-3f * fabsf(b))) {
        snprintf(why, wn, "output %d[%lld] = %g, expected %g", i, (long long)j,
                 (double)a, (double)b);
        free(e);
        return -1;
      }
    }
    free(e);
  }
  return 0;
}

static int run_graph(const cn_engine_ops_t *be, const cn_graph_t *g,
                     float **ins, Onnx__TensorProto **exp, int nexp, char *why,
                     size_t wn) {
  void *st;
  cn_err_t err = {0};
  cn_engine_opts_t eo = {0};
  if (be->prepare(g, &eo, &st, &err) < 0)
    return snprintf(why, wn, "prepare: %s", err.msg), -1;
  float *outs[MAX_IO] = {0};
  int r = 0;
  if (g->noutputs > MAX_IO) {
    be->destroy(st);
    return snprintf(why, wn, "too many outputs"), -1;
  }
  for (int i = 0; i < g->noutputs; i++) {
    int64_t n = cn_tensor_numel(&g->tensors[g->outputs[i]]);
    outs[i] = calloc((size_t)(n ? n : 1), sizeof(float));
  }
  if (be->run(st, (const float *const *)ins, outs, &err) < 0) {
    snprintf(why, wn, "run: %s", err.msg);
    r = -1;
  } else {
    r = compare(g, outs, exp, nexp, why, wn);
  }
  for (int i = 0; i < g->noutputs; i++)
    free(outs[i]);
  be->destroy(st);
  return r;
}

/* The optimized graph on the oneDNN executor too (its lowerings and its
 * fallback to the reference kernels): a mismatch is a failure. */
static void run_dnnl(const cn_graph_t *g, float **ins, Onnx__TensorProto **exp,
                     int nexp, outcome_t *o) {
#ifdef CN_HAVE_DNNL
  char why[300];
  if (o->r == R_RUNS &&
      run_graph(&cn_engine_dnnl, g, ins, exp, nexp, why, sizeof why) != 0) {
    o->r = R_FAIL;
    snprintf(o->why, sizeof o->why, "dnnl: %.290s", why);
  }
#else
  (void)g, (void)ins, (void)exp, (void)nexp, (void)o;
#endif
}

/* Why a loaded graph computes nothing at run time, or "" when it does:
 * every output folded to a constant at load (nothing is left to run), or
 * an output with no elements (nothing to compare). */
static void fold_reason(const cn_graph_t *g, char *why, size_t n) {
  int consts = 0;
  for (int i = 0; i < g->noutputs; i++) {
    const cn_tensor_t *t = &g->tensors[g->outputs[i]];
    if (cn_tensor_numel(t) == 0) {
      snprintf(why, n, "output %d is empty", i);
      return;
    }
    consts += (t->flags & CN_TENSOR_CONST) != 0;
  }
  if (g->nnodes == 0 || consts == g->noutputs)
    snprintf(why, n, "folded to constants at load");
}

static void run_one(const char *dir, const char *name, outcome_t *o) {
  char path[1200];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  size_t len;
  unsigned char *buf = slurp(path, &len);
  Onnx__ModelProto *mp = buf ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
  free(buf);
  o->r = R_FAIL;
  snprintf(o->name, sizeof o->name, "%s", name);
  if (!mp || !mp->graph) {
    snprintf(o->why, sizeof o->why, "cannot read the test model");
    if (mp)
      onnx__model_proto__free_unpacked(mp, NULL);
    return;
  }
  const Onnx__GraphProto *gp = mp->graph;
  /* Real inputs (not initializers), in order, with their test data. */
  Onnx__TensorProto *data[MAX_IO] = {0}, *exp[MAX_IO] = {0};
  int nin = 0, nexp = 0, bind[MAX_IO] = {0};
  for (size_t i = 0; i < gp->n_input && nin < MAX_IO; i++) {
    int is_init = 0;
    for (size_t j = 0; j < gp->n_initializer; j++)
      if (!strcmp(gp->initializer[j]->name, gp->input[i]->name))
        is_init = 1;
    if (!is_init)
      data[nin] = load_pb(dir, "input", nin), nin++;
  }
  while (nexp < MAX_IO && (exp[nexp] = load_pb(dir, "output", nexp)))
    nexp++;
  cn_graph_t *g = NULL;
  cn_err_t err = {0};
  int r = -1;
  /* Bind (0) non-float inputs, as long as a float one stays an input;
   * then (1) all but the first; then (2) all of them. */
  int tensor_in[MAX_IO] = {0}, nfloat = 0;
  for (size_t i = 0, k = 0; i < gp->n_input && k < (size_t)nin; i++) {
    int is_init = 0;
    for (size_t j = 0; j < gp->n_initializer; j++)
      if (!strcmp(gp->initializer[j]->name, gp->input[i]->name))
        is_init = 1;
    if (is_init)
      continue;
    const Onnx__TypeProto *tp = gp->input[i]->type;
    /* Only bind data whose type is the declared one (BFLOAT16 test data
     * is stored as UINT16, for example). */
    tensor_in[k] = tp &&
                   tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
                   tp->tensor_type && data[k] &&
                   tp->tensor_type->elem_type == data[k]->data_type;
    nfloat += tensor_in[k] && data[k] &&
              data[k]->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    k++;
  }
  for (int attempt = 0; attempt < 3; attempt++) {
    for (int i = 0; i < nin; i++) {
      int is_float =
          data[i] && data[i]->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
      bind[i] = data[i] && tensor_in[i] &&
                ((attempt == 0 && !is_float && nfloat > 0) ||
                 (attempt == 1 && i > 0) || attempt == 2);
    }
    size_t mlen;
    unsigned char *mb = bind_inputs(mp, data, bind, nin, &mlen);
    err.code = 0;
    r = cn_onnx_load_mem(mb, mlen, name, &g, &err);
    free(mb);
    if (r >= 0)
      break;
  }
  if (r < 0) {
    o->r = r == CN_EUNSUPPORTED ? R_REFUSED : R_FAIL;
    snprintf(o->why, sizeof o->why, "%s", err.msg);
  } else {
    float *ins[MAX_IO] = {0};
    int ok = 1;
    for (int i = 0, k = 0; i < nin; i++) {
      if (bind[i])
        continue;
      int64_t n;
      if (!data[i] || !(ins[k] = tensor_floats(data[i], &n))) {
        ok = 0;
        snprintf(o->why, sizeof o->why, "input %d data is missing or not float",
                 i);
      } else if (k >= g->ninputs ||
                 n != cn_tensor_numel(&g->tensors[g->inputs[k]])) {
        ok = 0;
        snprintf(o->why, sizeof o->why,
                 "input %d size does not match the graph", i);
      }
      k++;
    }
    char folded[200] = "";
    fold_reason(g, folded, sizeof folded);
    if (ok && run_graph(&cn_engine_ref, g, ins, exp, nexp, o->why,
                        sizeof o->why) == 0) {
      if (cn_graph_optimize(g, CN_OPT_ALL, &err) < 0) {
        snprintf(o->why, sizeof o->why, "optimize: %s", err.msg);
      } else if (run_graph(&cn_engine_ref, g, ins, exp, nexp, o->why,
                           sizeof o->why) == 0) {
        o->r = folded[0] ? R_FOLDED : R_RUNS;
        snprintf(o->why, sizeof o->why, "%s", folded);
        run_dnnl(g, ins, exp, nexp, o);
      } else {
        char tmp[300];
        snprintf(tmp, sizeof tmp, "optimized: %.280s", o->why);
        snprintf(o->why, sizeof o->why, "%s", tmp);
      }
    }
    for (int i = 0; i < MAX_IO; i++)
      free(ins[i]);
    cn_graph_destroy(g);
  }
  for (int i = 0; i < MAX_IO; i++) {
    if (data[i])
      onnx__tensor_proto__free_unpacked(data[i], NULL);
    if (exp[i])
      onnx__tensor_proto__free_unpacked(exp[i], NULL);
  }
  onnx__model_proto__free_unpacked(mp, NULL);
}

/* The sorted set of op types of a test model; 0 if one is not claimed. */
static int model_ops(const char *dir, char *ops, size_t n) {
  char path[1200];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  size_t len;
  unsigned char *buf = slurp(path, &len);
  Onnx__ModelProto *mp = buf ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
  free(buf);
  if (!mp || !mp->graph) {
    if (mp)
      onnx__model_proto__free_unpacked(mp, NULL);
    return 0;
  }
  int all = mp->graph->n_node > 0;
  ops[0] = 0;
  for (size_t i = 0; i < mp->graph->n_node; i++) {
    const Onnx__NodeProto *nd = mp->graph->node[i];
    const char *op = nd->op_type;
    if ((nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx")) ||
        !claimed(op))
      all = 0;
    if (!strstr(ops, op) && strlen(ops) + strlen(op) + 2 < n) {
      if (ops[0])
        strcat(ops, "+");
      strcat(ops, op);
    }
  }
  onnx__model_proto__free_unpacked(mp, NULL);
  return all;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void write_doc(const char *path, outcome_t *o, int n) {
  size_t len = 0;
  unsigned char *old = slurp(path, &len);
  const char *begin = "<!-- onnx-node-tests:begin -->",
             *end = "<!-- onnx-node-tests:end -->";
  char *text = old ? realloc(old, len + 1) : NULL;
  if (text)
    text[len] = 0;
  char *b = text ? strstr(text, begin) : NULL,
       *e = text ? strstr(text, end) : NULL;
  FILE *f = fopen(path, "w");
  if (!f) {
    free(text);
    return;
  }
  if (b && e && e > b)
    fwrite(text, 1, (size_t)(b - text), f);
  else if (text)
    fputs(text, f), fputs("\n", f);
  int c[4] = {0};
  for (int i = 0; i < n; i++)
    c[o[i].r]++;
  fprintf(f, "%s\n", begin);
  fprintf(f, "Generated by `CN_ONNX_NODE_DOC=docs/models.md "
             "build/tests/test_onnx_node` from "
             "Debian's libonnx-testdata (ONNX 1.12) node tests: every test "
             "whose ops are all "
             "claimed by the importer, run through the reference backend "
             "unoptimized and "
             "optimized, then optimized on the oneDNN executor (tolerance "
             "1e-5 + 1e-3·|expected|). *runs*: the "
             "outputs are computed at run time and match on all three; "
             "*folded*: they "
             "match, but the graph folded to constants at load (the harness "
             "binds the inputs the importer needs as constants) or an output "
             "is empty, so nothing ran; *refused*: a clear error. The test "
             "pins these counts and names every folded and refused test with "
             "its message.\n\n");
  fprintf(f,
          "**%d tests: %d run, %d folded at load or empty, %d refused with a "
          "clear error, %d fail.**\n\n",
          n, c[R_RUNS], c[R_FOLDED], c[R_REFUSED], c[R_FAIL]);
  fprintf(f, "| test | ops | result |\n|---|---|---|\n");
  for (int i = 0; i < n; i++) {
    const char *res = o[i].r == R_RUNS      ? "runs"
                      : o[i].r == R_FOLDED  ? "folded"
                      : o[i].r == R_REFUSED ? "refused"
                                            : "FAIL";
    fprintf(f, "| %s | %s | %s", o[i].name, o[i].ops, res);
    if (o[i].r != R_RUNS) {
      fputs(": ", f);
      for (const char *ch = o[i].why; *ch; ch++)
        fputc(*ch == '|' ? '/' : *ch, f);
    }
    fputs(" |\n", f);
  }
  fprintf(f, "%s\n", end);
  if (b && e && e > b)
    fputs(e + strlen(end) + (e[strlen(end)] == '\n'), f);
  fclose(f);
  free(text);
}

/* ---- hand-built models: the importer's errors and constant folding ---- */

/* A tiny ModelProto builder over the protobuf-c structs; everything is
 * allocated in `mem` and freed by mb_free. */
typedef struct mb {
  void *mem[512];
  int nmem;
  Onnx__ModelProto m;
  Onnx__GraphProto g;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  Onnx__NodeProto *nodes[16];
  Onnx__ValueInfoProto *ins[4], *outs[4];
  Onnx__TensorProto *inits[8];
} mb_t;

static void *mb_alloc(mb_t *b, size_t n) {
  assert_true(b->nmem < 512);
  void *p = calloc(1, n);
  assert_non_null(p);
  return b->mem[b->nmem++] = p;
}

static void mb_init(mb_t *b, int64_t opset) {
  memset(b, 0, sizeof *b);
  onnx__model_proto__init(&b->m);
  onnx__graph_proto__init(&b->g);
  onnx__operator_set_id_proto__init(&b->opset);
  b->opset.has_version = 1;
  b->opset.version = opset;
  b->opsets[0] = &b->opset;
  b->m.n_opset_import = 1;
  b->m.opset_import = b->opsets;
  b->m.has_ir_version = 1;
  b->m.ir_version = 8;
  b->m.graph = &b->g;
  b->g.node = b->nodes;
  b->g.input = b->ins;
  b->g.output = b->outs;
  b->g.initializer = b->inits;
}

static void mb_free(mb_t *b) {
  for (int i = 0; i < b->nmem; i++)
    free(b->mem[i]);
}

static Onnx__ValueInfoProto *mb_value(mb_t *b, const char *name, int nd,
                                      const int64_t *dims) {
  Onnx__ValueInfoProto *v = mb_alloc(b, sizeof *v);
  onnx__value_info_proto__init(v);
  v->name = (char *)name;
  Onnx__TypeProto *tp = mb_alloc(b, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  if (nd >= 0) {
    Onnx__TensorShapeProto *sh = mb_alloc(b, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)nd;
    sh->dim = mb_alloc(b, sizeof *sh->dim * (size_t)(nd ? nd : 1));
    for (int i = 0; i < nd; i++) {
      Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
      onnx__tensor_shape_proto__dimension__init(d);
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
      sh->dim[i] = d;
    }
    tt->shape = sh;
  }
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  v->type = tp;
  return v;
}

static void mb_input(mb_t *b, const char *name, int nd, const int64_t *dims) {
  b->ins[b->g.n_input++] = mb_value(b, name, nd, dims);
}

static void mb_output(mb_t *b, const char *name) {
  b->outs[b->g.n_output++] = mb_value(b, name, -1, NULL);
}

static Onnx__TensorProto *mb_init_tensor(mb_t *b, const char *name, int dt,
                                         int nd, const int64_t *dims,
                                         const void *data, size_t bytes) {
  Onnx__TensorProto *t = mb_alloc(b, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = dt;
  t->n_dims = (size_t)nd;
  t->dims = mb_alloc(b, sizeof(int64_t) * (size_t)(nd ? nd : 1));
  memcpy(t->dims, dims, sizeof(int64_t) * (size_t)nd);
  t->has_raw_data = 1;
  t->raw_data.len = bytes;
  t->raw_data.data = mb_alloc(b, bytes ? bytes : 1);
  memcpy(t->raw_data.data, data, bytes);
  b->inits[b->g.n_initializer++] = t;
  return t;
}

static Onnx__NodeProto *mb_node(mb_t *b, const char *op, const char *name,
                                const char *in0, const char *in1,
                                const char *out) {
  Onnx__NodeProto *n = mb_alloc(b, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = (char *)op;
  n->name = (char *)name;
  n->input = mb_alloc(b, sizeof(char *) * 2);
  n->input[0] = (char *)in0;
  n->input[1] = (char *)in1;
  n->n_input = in1 ? 2 : 1;
  n->output = mb_alloc(b, sizeof(char *));
  n->output[0] = (char *)out;
  n->n_output = 1;
  n->attribute = mb_alloc(b, sizeof(Onnx__AttributeProto *) * 8);
  b->nodes[b->g.n_node++] = n;
  return n;
}

static void mb_ints(mb_t *b, Onnx__NodeProto *n, const char *name, int cnt,
                    const int64_t *v) {
  Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = (size_t)cnt;
  a->ints = mb_alloc(b, sizeof(int64_t) * (size_t)cnt);
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
  n->attribute[n->n_attribute++] = a;
}

/* Packs and imports; returns the code, with the message in err. */
static int mb_load(mb_t *b, cn_graph_t **g, cn_err_t *err) {
  size_t len = onnx__model_proto__get_packed_size(&b->m);
  unsigned char *buf = malloc(len);
  onnx__model_proto__pack(&b->m, buf);
  memset(err, 0, sizeof *err);
  int r = cn_onnx_load_mem(buf, len, "m.onnx", g, err);
  free(buf);
  return r;
}

static void expect_load_error(mb_t *b, int code, const char *part) {
  cn_graph_t *g = NULL;
  cn_err_t err;
  int r = mb_load(b, &g, &err);
  if (r != code || !strstr(err.msg, part))
    fail_msg("got %d \"%s\", expected %d with \"%s\"", r, err.msg, code, part);
  assert_null(g);
  mb_free(b);
}

static void test_bad_models(void **state) {
  (void)state;
  const int64_t d4[4] = {1, 3, 8, 8}, w4[4] = {4, 3, 3, 3};
  static float w[108];
  mb_t b;
  /* kernel_shape with 3 values for a 2-D convolution. */
  mb_init(&b, 13);
  mb_input(&b, "x", 4, d4);
  mb_init_tensor(&b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, w4, w,
                 sizeof w);
  Onnx__NodeProto *n = mb_node(&b, "Conv", "Conv_3", "x", "w", "y");
  mb_ints(&b, n, "kernel_shape", 3, (const int64_t[]){3, 3, 3});
  mb_output(&b, "y");
  expect_load_error(
      &b, CN_EFORMAT,
      "m.onnx: node 0 (Conv_3): kernel_shape has 3 values, expected 2");
  /* Weights whose raw_data does not match their dims. */
  mb_init(&b, 13);
  mb_input(&b, "x", 4, d4);
  mb_init_tensor(&b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, w4, w,
                 sizeof w - 4);
  mb_node(&b, "Conv", "c", "x", "w", "y");
  mb_output(&b, "y");
  expect_load_error(&b, CN_EFORMAT,
                    "tensor w: raw_data has 428 bytes, dims need 432");
  /* Weights in an external file. */
  mb_init(&b, 13);
  mb_input(&b, "x", 4, d4);
  Onnx__TensorProto *t = mb_init_tensor(
      &b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, w4, w, 0);
  t->has_raw_data = 0;
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  Onnx__StringStringEntryProto *kv = mb_alloc(&b, sizeof *kv);
  onnx__string_string_entry_proto__init(kv);
  kv->key = "location";
  kv->value = "weights.bin";
  t->external_data = mb_alloc(&b, sizeof kv);
  t->external_data[0] = kv;
  t->n_external_data = 1;
  mb_node(&b, "Conv", "c", "x", "w", "y");
  mb_output(&b, "y");
  expect_load_error(&b, CN_EUNSUPPORTED, "external data file 'weights.bin'");
  /* An unknown op. */
  mb_init(&b, 13);
  mb_input(&b, "x", 4, d4);
  mb_node(&b, "FancyOp", "f1", "x", NULL, "y");
  mb_output(&b, "y");
  expect_load_error(&b, CN_EUNSUPPORTED, "node 0 (f1): unsupported op FancyOp");
  /* Shapes that do not broadcast. */
  const int64_t d5[1] = {5};
  mb_init(&b, 13);
  mb_input(&b, "x", 4, d4);
  mb_init_tensor(&b, "k", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d5, w, 20);
  mb_node(&b, "Add", "add", "x", "k", "y");
  mb_output(&b, "y");
  expect_load_error(&b, CN_EFORMAT,
                    "node 0 (add): shapes [1,3,8,8] and [5] do not broadcast");
  /* A name used before it is defined. */
  mb_init(&b, 13);
  mb_input(&b, "x", 4, d4);
  mb_node(&b, "Relu", "r", "nope", NULL, "y");
  mb_output(&b, "y");
  expect_load_error(&b, CN_EFORMAT,
                    "input 'nope' is not defined before this node");
  /* Absurd input dimensions. */
  const int64_t big[4] = {1, 3, (int64_t)1 << 40, 8};
  mb_init(&b, 13);
  mb_input(&b, "x", 4, big);
  mb_node(&b, "Relu", "r", "x", NULL, "y");
  mb_output(&b, "y");
  expect_load_error(&b, CN_EFORMAT, "input x: dimension 2 is 1099511627776");
  /* An opset we do not know. */
  mb_init(&b, 99);
  mb_input(&b, "x", 4, d4);
  mb_node(&b, "Relu", "r", "x", NULL, "y");
  mb_output(&b, "y");
  expect_load_error(&b, CN_EUNSUPPORTED,
                    "opset 99 is newer than camnet reads: re-export with "
                    "opset 17 or lower");
}

static void test_not_onnx(void **state) {
  (void)state;
  cn_graph_t *g = NULL;
  cn_err_t err = {0};
  /* A PNG header is not a protobuf ModelProto. */
  static const unsigned char png[16] = {0x89, 'P',  'N', 'G', '\r', '\n',
                                        0x1a, '\n', 0,   0,   0,    13,
                                        'I',  'H',  'D', 'R'};
  assert_int_equal(cn_onnx_load_mem(png, sizeof png, "x.onnx", &g, &err),
                   CN_EFORMAT);
  assert_null(g);
  assert_non_null(strstr(err.msg, "x.onnx: "));
  /* Every truncation of a real model is refused or loads; none crashes
   * (ASan checks the "never crash" half). */
  char path[1200];
  snprintf(path, sizeof path, "%s/test_conv_with_strides_padding/model.onnx",
           NODE_DIR);
  size_t len;
  unsigned char *buf = slurp(path, &len);
  if (!buf)
    CN_TEST_SKIP_MISSING("libonnx-testdata", "%s not found", path);
  int refused = 0;
  for (size_t cut = 0; cut < len; cut++) {
    g = NULL;
    int r = cn_onnx_load_mem(buf, cut, "cut.onnx", &g, &err);
    if (r < 0) {
      refused++;
      assert_null(g);
      assert_true(err.msg[0] != 0);
    }
    cn_graph_destroy(g);
  }
  assert_true(refused > (int)len / 2);
  free(buf);
  err.code = 0;
  assert_int_equal(cn_onnx_load("/nonexistent/m.onnx", &g, &err), CN_ENOENT);
  assert_non_null(strstr(err.msg, "/nonexistent/m.onnx"));
}

/* The chain exporters write for x.view(x.size(0), -1): Shape, Gather,
 * Unsqueeze, Concat, Reshape; folded at load into one Reshape. */
static void test_shape_chain_folds(void **state) {
  (void)state;
  const int64_t d4[4] = {1, 3, 4, 4}, d0[1] = {0}, d1[1] = {1};
  const int64_t zero = 0, minus1 = -1;
  mb_t b;
  mb_init(&b, 11);
  mb_input(&b, "x", 4, d4);
  mb_init_tensor(&b, "i0", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 0, d0, &zero,
                 8);
  mb_init_tensor(&b, "m1", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, d1, &minus1,
                 8);
  mb_node(&b, "Shape", "shape", "x", NULL, "s");
  mb_node(&b, "Gather", "gather", "s", "i0", "n");
  Onnx__NodeProto *u = mb_node(&b, "Unsqueeze", "unsq", "n", NULL, "n1");
  mb_ints(&b, u, "axes", 1, (const int64_t[]){0});
  Onnx__NodeProto *c = mb_node(&b, "Concat", "cat", "n1", "m1", "shape2");
  Onnx__AttributeProto *ax = mb_alloc(&b, sizeof *ax);
  onnx__attribute_proto__init(ax);
  ax->name = "axis";
  ax->has_type = 1;
  ax->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  ax->has_i = 1;
  ax->i = 0;
  c->attribute[c->n_attribute++] = ax;
  mb_node(&b, "Reshape", "reshape", "x", "shape2", "y");
  mb_output(&b, "y");
  cn_graph_t *g = NULL;
  cn_err_t err;
  if (mb_load(&b, &g, &err) < 0)
    fail_msg("%s", err.msg);
  mb_free(&b);
  assert_int_equal(g->nnodes, 1);
  assert_int_equal(g->nodes[0].op, CN_OP_RESHAPE);
  const cn_tensor_t *y = &g->tensors[g->outputs[0]];
  assert_true(y->ndim == 2 && y->dims[0] == 1 && y->dims[1] == 48);
  /* No int64 tensor survives the import. */
  for (int i = 0; i < g->ntensors; i++)
    assert_int_equal(g->tensors[i].dtype, CN_DT_F32);
  cn_graph_destroy(g);
}

/* The importer's op list is its dispatch table: sorted (it is searched
 * with bsearch), each name found, and names it lacks refused. */
static void test_op_table(void **state) {
  (void)state;
  size_t n = 0;
  for (; cn_onnx_op_at(n); n++) {
    if (n > 0 && strcmp(cn_onnx_op_at(n - 1), cn_onnx_op_at(n)) >= 0)
      fail_msg("op table not sorted at %s, %s", cn_onnx_op_at(n - 1),
               cn_onnx_op_at(n));
    assert_true(cn_onnx_op_supported(cn_onnx_op_at(n)));
  }
  assert_true(n >= 72);
  assert_true(cn_onnx_op_supported("Conv") && cn_onnx_op_supported("Sum"));
  assert_false(cn_onnx_op_supported("FancyOp"));
  assert_false(cn_onnx_op_supported("conv"));
  assert_false(cn_onnx_op_supported(""));
}

static const outcome_t *find_outcome(const outcome_t *o, int n,
                                     const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(o[i].name, name))
      return &o[i];
  return NULL;
}

/* True when the outcome is the listed one: refused with its exact
 * message, folded for its reason, or run when it is on neither list. */
static bool as_expected(const outcome_t *o) {
  const expected_t *r =
      find_expected(expected_refusals, NELEMS(expected_refusals), o->name);
  const expected_t *f =
      find_expected(expected_folded, NELEMS(expected_folded), o->name);
  const char *want = r ? "refused" : f ? "folded" : "runs";
  const char *got = o->r == R_RUNS      ? "runs"
                    : o->r == R_FOLDED  ? "folded"
                    : o->r == R_REFUSED ? "refused"
                                        : "FAIL";
  char msg[400] = "";
  if (r)
    snprintf(msg, sizeof msg, "%s: %s", o->name, r->why);
  bool ok = !strcmp(want, got) && (!r || !strcmp(o->why, msg)) &&
            (!f || !strcmp(o->why, f->why));
  if (!ok)
    print_error("%s (%s): %s \"%s\", expected %s \"%s\"\n", o->name, o->ops,
                got, o->why, want,
                r   ? msg
                : f ? f->why
                    : "");
  return ok;
}

/* Opset-18 forms exporters already write (Reduce* and Pad with an axes
 * input, Split num_outputs, Resize axes and keep_aspect_ratio_policy),
 * hand-built by scripts/onnx18-cases.py with outputs from ONNX Runtime
 * 1.30, counted apart from the ONNX 1.12 node tests: every one runs on
 * both backends and matches. */
#define OPSET18_RUNS 16

static void test_opset18_against_ort(void **state) {
  (void)state;
  char root[1024];
  snprintf(root, sizeof root, "%s/tests/engine/onnx18", cn_test_source_dir());
  DIR *d = opendir(root);
  assert_non_null(d);
  struct dirent *de;
  int runs = 0;
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, "test18_", 7))
      continue;
    char dir[1400];
    snprintf(dir, sizeof dir, "%s/%s", root, de->d_name);
    outcome_t o;
    memset(&o, 0, sizeof o);
    run_one(dir, de->d_name, &o);
    if (o.r != R_RUNS)
      fail_msg("%s: %s", de->d_name, o.why);
    runs++;
  }
  closedir(d);
  assert_int_equal(runs, OPSET18_RUNS);
}

/* torch.onnx's erf GELU (Div, Erf, Add, Mul, Mul) is one GELU activation
 * after optimization (oneDNN's gelu_erf, fusable into a conv). */
static void test_gelu_pattern_fused(void **state) {
  (void)state;
  char path[1200];
  snprintf(path, sizeof path,
           "%s/tests/engine/onnx18/test18_gelu_erf_pattern/model.onnx",
           cn_test_source_dir());
  cn_graph_t *g = NULL;
  cn_err_t err = {0};
  if (cn_onnx_load(path, &g, &err) < 0)
    fail_msg("%s", err.msg);
  assert_int_equal(g->nnodes, 5);
  assert_int_equal(cn_graph_optimize(g, CN_OPT_ALL, &err), 0);
  assert_int_equal(g->nnodes, 1);
  assert_int_equal(g->nodes[0].op, CN_OP_ACT);
  assert_int_equal(g->nodes[0].p.act.kind, CN_ACT_GELU);
  cn_graph_destroy(g);
}

static void test_node_tests(void **state) {
  (void)state;
  const char *root =
      getenv("CN_ONNX_NODE_DIR") ? getenv("CN_ONNX_NODE_DIR") : NODE_DIR;
  DIR *d = opendir(root);
  if (!d)
    CN_TEST_SKIP_MISSING("libonnx-testdata", "%s not found", root);
  char **names = NULL;
  int nn = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, "test_", 5))
      continue;
    if (nn == cap) {
      cap = cap ? cap * 2 : 1024;
      names = realloc(names, sizeof *names * (size_t)cap);
    }
    names[nn++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, (size_t)nn, sizeof *names, cmp_name);
  outcome_t *res = calloc((size_t)nn + 1, sizeof *res);
  int n = 0, wrong = 0, count[4] = {0};
  const char *only = getenv("CN_ONNX_NODE_ONLY");
  for (int i = 0; i < nn; i++) {
    char dir[1024], ops[128];
    snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
    if (only && !strstr(names[i], only))
      continue;
    if (!model_ops(dir, ops, sizeof ops))
      continue;
    outcome_t *o = &res[n++];
    snprintf(o->ops, sizeof o->ops, "%s", ops);
    run_one(dir, names[i], o);
    count[o->r]++;
    wrong += !as_expected(o);
  }
  /* Every listed test was met (a listed test that left the scope is a
   * change too). */
  for (int i = 0; !only && i < NELEMS(expected_refusals); i++)
    if (!find_outcome(res, n, expected_refusals[i].name))
      wrong++, print_error("%s: listed as refused, not in scope\n",
                           expected_refusals[i].name);
  for (int i = 0; !only && i < NELEMS(expected_folded); i++)
    if (!find_outcome(res, n, expected_folded[i].name))
      wrong++, print_error("%s: listed as folded, not in scope\n",
                           expected_folded[i].name);
  print_message("onnx node tests in scope: %d: %d run, %d folded at load or "
                "empty, %d refused, %d fail; %d not as expected\n",
                n, count[R_RUNS], count[R_FOLDED], count[R_REFUSED],
                count[R_FAIL], wrong);
  if (getenv("CN_ONNX_NODE_DOC"))
    write_doc(getenv("CN_ONNX_NODE_DOC"), res, n);
  for (int i = 0; i < nn; i++)
    free(names[i]);
  free(names);
  free(res);
  assert_int_equal(count[R_FAIL], 0);
  assert_int_equal(wrong, 0);
  if (only)
    return;
  assert_int_equal(n, NODE_IN_SCOPE);
  assert_int_equal(count[R_RUNS], NODE_RUNS);
  assert_int_equal(count[R_FOLDED], NELEMS(expected_folded));
  assert_int_equal(count[R_REFUSED], NELEMS(expected_refusals));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_models),
      cmocka_unit_test(test_not_onnx),
      cmocka_unit_test(test_shape_chain_folds),
      cmocka_unit_test(test_op_table),
      cmocka_unit_test(test_node_tests),
      cmocka_unit_test(test_opset18_against_ort),
      cmocka_unit_test(test_gelu_pattern_fused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
