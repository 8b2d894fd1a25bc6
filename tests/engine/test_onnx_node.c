/* The ONNX backend node tests shipped in Debian's libonnx-testdata, run
 * through the importer and the reference backend.
 *
 * A test is in scope when every op in its model is one the importer claims
 * (cn__onnx_ops). Each in-scope test is imported, run unoptimized and
 * optimized, and compared with its expected outputs (|a-b| <= 1e-5 +
 * 1e-3*|b|, ONNX's backend-test rtol). Outcomes:
 *   pass     both runs match;
 *   refused  the importer said CN_EUNSUPPORTED (a variant we refuse with a
 *            clear error: integer tensors, training outputs, 3-D ops...);
 *            each must be listed in `expected_refusals` below;
 *   fail     anything else: a load error on a valid model, wrong shape or
 *            wrong numbers. Any failure fails the test.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/graph.h"
#include "engine/onnx.pb-c.h"
#include "engine/onnx_import.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"
#define MAX_IO 16

typedef enum { R_PASS, R_REFUSED, R_FAIL } result_t;

typedef struct outcome {
  char name[128];
  char ops[128];
  result_t r;
  char why[300];
} outcome_t;

/* Tests refused on purpose, by name prefix, with the reason they are. */
static const struct {
  const char *prefix;
  const char *reason;
} expected_refusals[] = {
    {"test_add_uint8", "integer tensors"},
    {"test_div_uint8", "integer tensors"},
    {"test_mul_uint8", "integer tensors"},
    {"test_sub_uint8", "integer tensors"},
    {"test_pow_types_int", "integer tensors"},
    {"test_pow_types_float32_int", "integer tensors"},
    {"test_pow_types_float32_uint", "integer tensors"},
    {"test_max_int", "integer tensors"},
    {"test_max_uint", "integer tensors"},
    {"test_min_int", "integer tensors"},
    {"test_min_uint", "integer tensors"},
    {"test_max_float64", "double tensors"},
    {"test_min_float64", "double tensors"},
    {"test_max_float16", "float16 tensors"},
    {"test_min_float16", "float16 tensors"},
    {"test_maxpool_2d_uint8", "integer tensors"},
    {"test_clip_default_int8", "integer tensors"},
    {"test_averagepool_3d", "3-D pooling"},
    {"test_maxpool_3d", "3-D pooling"},
    {"test_convtranspose_3d", "3-D convolution"},
    {"test_maxpool_with_argmax", "MaxPool Indices output"},
    {"test_batchnorm_epsilon_training_mode", "training mode"},
    {"test_batchnorm_example_training_mode", "training mode"},
    {"test_dropout_default_mask", "Dropout mask output"},
    {"test_training_dropout", "training mode"},
    {"test_cast_", "types other than float in and out"},
    {"test_castlike_", "types other than float in and out"},
    {"test_edge_pad", "integer tensors"},
    {"test_reflect_pad", "integer tensors"},
    {"test_pow_types_float", "integer tensors"},
    {"test_identity_opt", "optional type"},
    {"test_identity_sequence", "sequence type"},
    {"test_layer_normalization_", "ReduceMean over axes other than H and W"},
    {"test_mvn_expanded", "ReduceMean over axes other than H and W"},
    {"test_shape", "int64 output (Shape is folded at load)"},
    {"test_size", "int64 output (Size is folded at load)"},
    {"test_constantofshape_int", "int64 output"},
    {"test_range_int32", "int64 output"},
    {"test_equal", "bool output"},
    {"test_gather_elements", "GatherElements"},
    {"test_resize_downsample_scales_linear_antialias", "antialias"},
    {"test_resize_downsample_scales_cubic_antialias", "antialias"},
    {"test_resize_downsample_sizes_linear_antialias", "antialias"},
    {"test_resize_downsample_sizes_cubic_antialias", "antialias"},
    {"test_resize_tf_crop_and_resize_axes", "Resize with axes"},
    {"test_resize_upsample_sizes_nearest_axes", "Resize with axes"},
    {"test_resize_upsample_scales_nearest_axes", "Resize with axes"},
    {"test_resize_downsample_sizes_nearest_not", "keep_aspect_ratio_policy"},
    {"test_resize_upsample_sizes_nearest_not", "keep_aspect_ratio_policy"},
    {"test_reduce_", "reductions other than over H and W"},
};

static const char *refusal_reason(const char *name) {
  for (size_t i = 0; i < sizeof expected_refusals / sizeof expected_refusals[0]; i++)
    if (!strncmp(name, expected_refusals[i].prefix, strlen(expected_refusals[i].prefix)))
      return expected_refusals[i].reason;
  return NULL;
}

static int claimed(const char *op) {
  for (int i = 0; cn__onnx_ops[i]; i++)
    if (!strcmp(cn__onnx_ops[i], op))
      return 1;
  return 0;
}

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
  if (t->has_raw_data && t->raw_data.len == (size_t)n * 4)
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
static unsigned char *bind_inputs(const Onnx__ModelProto *mp, Onnx__TensorProto **data,
                                  const int *bind, int nin, size_t *len) {
  const Onnx__GraphProto *gp = mp->graph;
  Onnx__TensorProto *copies = calloc((size_t)nin + 1, sizeof *copies);
  Onnx__TensorProto **inits = calloc(gp->n_initializer + (size_t)nin + 1, sizeof *inits);
  size_t n = 0;
  for (size_t i = 0; i < gp->n_initializer; i++)
    inits[n++] = gp->initializer[i];
  int k = 0;
  for (size_t i = 0; i < gp->n_input; i++) {
    int is_init = 0;
    for (size_t j = 0; j < gp->n_initializer; j++)
      if (gp->initializer[j]->name && !strcmp(gp->initializer[j]->name, gp->input[i]->name))
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

static int compare(const cn_graph_t *g, float *const *outs, Onnx__TensorProto **exp,
                   int nexp, char *why, size_t wn) {
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
        snprintf(why, wn, "output %d[%lld] = %g, expected %g", i, (long long)j, (double)a,
                 (double)b);
        free(e);
        return -1;
      }
    }
    free(e);
  }
  return 0;
}

static int run_graph(const cn_graph_t *g, float **ins, Onnx__TensorProto **exp, int nexp,
                     char *why, size_t wn) {
  void *st;
  cn_err_t err = {0};
  cn_engine_opts_t eo = {0};
  if (cn_engine_ref.prepare(g, &eo, &st, &err) < 0)
    return snprintf(why, wn, "prepare: %s", err.msg), -1;
  float *outs[MAX_IO] = {0};
  int r = 0;
  if (g->noutputs > MAX_IO) {
    cn_engine_ref.destroy(st);
    return snprintf(why, wn, "too many outputs"), -1;
  }
  for (int i = 0; i < g->noutputs; i++) {
    int64_t n = cn_tensor_numel(&g->tensors[g->outputs[i]]);
    outs[i] = calloc((size_t)(n ? n : 1), sizeof(float));
  }
  if (cn_engine_ref.run(st, (const float *const *)ins, outs, &err) < 0) {
    snprintf(why, wn, "run: %s", err.msg);
    r = -1;
  } else {
    r = compare(g, outs, exp, nexp, why, wn);
  }
  for (int i = 0; i < g->noutputs; i++)
    free(outs[i]);
  cn_engine_ref.destroy(st);
  return r;
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
    tensor_in[k] = tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
                   tp->tensor_type && data[k] &&
                   tp->tensor_type->elem_type == data[k]->data_type;
    nfloat += tensor_in[k] && data[k] && data[k]->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    k++;
  }
  for (int attempt = 0; attempt < 3; attempt++) {
    for (int i = 0; i < nin; i++) {
      int is_float = data[i] && data[i]->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
      bind[i] = data[i] && tensor_in[i] &&
                ((attempt == 0 && !is_float && nfloat > 0) || (attempt == 1 && i > 0) ||
                 attempt == 2);
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
        snprintf(o->why, sizeof o->why, "input %d data is missing or not float", i);
      } else if (k >= g->ninputs || n != cn_tensor_numel(&g->tensors[g->inputs[k]])) {
        ok = 0;
        snprintf(o->why, sizeof o->why, "input %d size does not match the graph", i);
      }
      k++;
    }
    if (ok && run_graph(g, ins, exp, nexp, o->why, sizeof o->why) == 0) {
      if (cn_graph_optimize(g, CN_OPT_ALL, &err) < 0) {
        snprintf(o->why, sizeof o->why, "optimize: %s", err.msg);
      } else if (run_graph(g, ins, exp, nexp, o->why, sizeof o->why) == 0) {
        o->r = R_PASS;
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
    if ((nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx")) || !claimed(op))
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
  const char *begin = "<!-- onnx-node-tests:begin -->", *end = "<!-- onnx-node-tests:end -->";
  char *text = old ? realloc(old, len + 1) : NULL;
  if (text)
    text[len] = 0;
  char *b = text ? strstr(text, begin) : NULL, *e = text ? strstr(text, end) : NULL;
  FILE *f = fopen(path, "w");
  if (!f) {
    free(text);
    return;
  }
  if (b && e && e > b)
    fwrite(text, 1, (size_t)(b - text), f);
  else if (text)
    fputs(text, f), fputs("\n", f);
  int np = 0, nr = 0, nf = 0;
  for (int i = 0; i < n; i++)
    np += o[i].r == R_PASS, nr += o[i].r == R_REFUSED, nf += o[i].r == R_FAIL;
  fprintf(f, "%s\n", begin);
  fprintf(f, "Generated by `CN_ONNX_NODE_DOC=docs/models.md build/tests/test_onnx_node` from "
             "Debian's libonnx-testdata (ONNX 1.12) node tests: every test whose ops are all "
             "claimed by the importer, run through the reference backend unoptimized and "
             "optimized (tolerance 1e-5 + 1e-3·|expected|).\n\n");
  fprintf(f, "**%d tests: %d pass, %d refused with a clear error, %d fail.**\n\n", n, np, nr,
          nf);
  fprintf(f, "| test | ops | result |\n|---|---|---|\n");
  for (int i = 0; i < n; i++) {
    const char *res = o[i].r == R_PASS ? "pass" : o[i].r == R_REFUSED ? "refused" : "FAIL";
    fprintf(f, "| %s | %s | %s", o[i].name, o[i].ops, res);
    if (o[i].r != R_PASS) {
      fputs(": ", f);
      for (const char *c = o[i].why; *c; c++)
        fputc(*c == '|' ? '/' : *c, f);
    }
    fputs(" |\n", f);
  }
  fprintf(f, "%s\n", end);
  if (b && e && e > b)
    fputs(e + strlen(end) + (e[strlen(end)] == '\n'), f);
  fclose(f);
  free(text);
}

static void test_node_tests(void **state) {
  (void)state;
  const char *root = getenv("CN_ONNX_NODE_DIR") ? getenv("CN_ONNX_NODE_DIR") : NODE_DIR;
  DIR *d = opendir(root);
  if (!d)
    CN_TEST_SKIP("%s not found (Debian package libonnx-testdata)", root);
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
  int n = 0, fails = 0, unexpected_refusals = 0;
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
    if (o->r == R_FAIL) {
      fails++;
      print_error("FAIL %s (%s): %s\n", o->name, ops, o->why);
    } else if (o->r == R_REFUSED && !refusal_reason(o->name)) {
      unexpected_refusals++;
      print_error("REFUSED (not on the list) %s (%s): %s\n", o->name, ops, o->why);
    }
  }
  int np = 0;
  for (int i = 0; i < n; i++)
    np += res[i].r == R_PASS;
  print_message("onnx node tests in scope: %d, pass %d, fail %d, unexpected refusals %d\n", n,
                np, fails, unexpected_refusals);
  if (getenv("CN_ONNX_NODE_DOC"))
    write_doc(getenv("CN_ONNX_NODE_DOC"), res, n);
  for (int i = 0; i < nn; i++)
    free(names[i]);
  free(names);
  free(res);
  /* The suite is large; a silently empty scope would pass vacuously. */
  assert_true(n > 200 || only);
  assert_int_equal(fails, 0);
  assert_int_equal(unexpected_refusals, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_tests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
