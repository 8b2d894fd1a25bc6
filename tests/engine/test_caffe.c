/* The Caffe importer against OpenCV 4.6 DNN (python3-opencv) on tiny
 * networks written here: prototxt text plus caffemodels packed with
 * protobuf-c from seeded random weights. Our graph runs on the reference
 * backend; OpenCV runs the same files on the same input (fusion off, so
 * intermediate layers can be compared too). Max relative error <= 1e-4,
 * relative to the largest magnitude of OpenCV's tensor.
 *
 * Also: the old V1 `layers` form, TEST-phase filtering, in-place blob
 * naming, and bad inputs (each a one-line error, never a crash). */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/caffe.pb-c.h"
#include "engine/caffe/caffe_import.h"
#include "engine/ir/graph.h"
#include "engine/ir/optimize.h"
#include "camnet/mean.h"

/* ---- caffemodel builder ------------------------------------------------- */

#define MB_LAYERS 64
#define MB_BLOBS 4

typedef struct mb_layer {
  char name[64], type[32];
  int v1type;
  int nblobs;
  int ndim[MB_BLOBS];
  int64_t dims[MB_BLOBS][4];
  float *data[MB_BLOBS];
} mb_layer_t;

typedef struct mb {
  int n;
  mb_layer_t l[MB_LAYERS];
  uint32_t seed;
} mb_t;

static float frand(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return (float)(*s >> 8) / 16777216.0f;
}

/* Adds a blob of uniform values in [lo, hi) to the named layer. */
static void mb_blob(mb_t *m, const char *layer, const char *type, float lo,
                    float hi, int ndim, int64_t d0, int64_t d1, int64_t d2,
                    int64_t d3) {
  mb_layer_t *l = NULL;
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->l[i].name, layer))
      l = &m->l[i];
  if (!l) {
    assert_true(m->n < MB_LAYERS);
    l = &m->l[m->n++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", layer);
    snprintf(l->type, sizeof l->type, "%s", type);
  }
  assert_true(l->nblobs < MB_BLOBS);
  int b = l->nblobs++;
  int64_t d[4] = {d0, d1, d2, d3}, n = 1;
  l->ndim[b] = ndim;
  for (int i = 0; i < ndim; i++) {
    l->dims[b][i] = d[i];
    n *= d[i];
  }
  l->data[b] = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    l->data[b][i] = lo + (hi - lo) * frand(&m->seed);
}

static int64_t blob_numel(const mb_layer_t *l, int b) {
  int64_t n = 1;
  for (int i = 0; i < l->ndim[b]; i++)
    n *= l->dims[b][i];
  return n;
}

/* Writes the caffemodel: `layer` entries, or V1 `layers` when v1 is set
 * (then each layer needs v1type). */
static void mb_write(const mb_t *m, const char *path, int v1) {
  Caffe__NetParameter net = CAFFE__NET_PARAMETER__INIT;
  Caffe__LayerParameter lp[MB_LAYERS], *lpp[MB_LAYERS];
  Caffe__V1LayerParameter vp[MB_LAYERS], *vpp[MB_LAYERS];
  Caffe__BlobProto bp[MB_LAYERS][MB_BLOBS], *bpp[MB_LAYERS][MB_BLOBS];
  Caffe__BlobShape bs[MB_LAYERS][MB_BLOBS];
  for (int i = 0; i < m->n; i++) {
    const mb_layer_t *l = &m->l[i];
    for (int b = 0; b < l->nblobs; b++) {
      caffe__blob_proto__init(&bp[i][b]);
      caffe__blob_shape__init(&bs[i][b]);
      bs[i][b].n_dim = (size_t)l->ndim[b];
      bs[i][b].dim = (int64_t *)l->dims[b];
      bp[i][b].shape = &bs[i][b];
      bp[i][b].n_data = (size_t)blob_numel(l, b);
      bp[i][b].data = l->data[b];
      bpp[i][b] = &bp[i][b];
    }
    if (v1) {
      caffe__v1_layer_parameter__init(&vp[i]);
      vp[i].name = (char *)l->name;
      vp[i].has_type = 1;
      vp[i].type = (Caffe__V1LayerParameter__LayerType)l->v1type;
      vp[i].n_blobs = (size_t)l->nblobs;
      vp[i].blobs = bpp[i];
      vpp[i] = &vp[i];
    } else {
      caffe__layer_parameter__init(&lp[i]);
      lp[i].name = (char *)l->name;
      lp[i].type = (char *)l->type;
      lp[i].n_blobs = (size_t)l->nblobs;
      lp[i].blobs = bpp[i];
      lpp[i] = &lp[i];
    }
  }
  if (v1) {
    net.n_layers = (size_t)m->n;
    net.layers = vpp;
  } else {
    net.n_layer = (size_t)m->n;
    net.layer = lpp;
  }
  size_t len = caffe__net_parameter__get_packed_size(&net);
  uint8_t *buf = malloc(len);
  assert_int_equal(caffe__net_parameter__pack(&net, buf), len);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
  free(buf);
}

static void mb_free(mb_t *m) {
  for (int i = 0; i < m->n; i++)
    for (int b = 0; b < m->l[i].nblobs; b++)
      free(m->l[i].data[b]);
  m->n = 0;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* ---- running both sides ------------------------------------------------- */

static int have_opencv(void) {
  char out[256];
  return cn_test_have("/usr/bin/python3") &&
         cn_test_sh(out, sizeof out,
                    "/usr/bin/python3 -c 'import cv2, numpy'") == 0;
}

/* Which of our tensors holds what OpenCV calls layer `layer`'s output: its
 * top, or "top@layer" when a later in-place layer rewrote that blob. */
static int our_tensor(const cn_graph_t *g, const char *top, const char *layer) {
  char name[256];
  snprintf(name, sizeof name, "%s@%s", top, layer);
  int id = cn_graph_find(g, name);
  return id >= 0 ? id : cn_graph_find(g, top);
}

typedef struct cmp {
  const char *layer; /* OpenCV's name (the layer) */
  const char *top;   /* the Caffe blob it writes */
} cmp_t;

static double rel_err(const float *a, const float *b, int64_t n) {
  double md = 0, mb = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > md || isnan(d))
      md = isnan(d) ? INFINITY : d;
    if (fabs(b[i]) > mb)
      mb = fabs(b[i]);
  }
  return md / (mb > 1e-6 ? mb : 1e-6);
}

/* Runs g on the reference backend with the listed tensors as outputs. */
static float **run_ref(cn_graph_t *g, const float *input, const int *ids,
                       int n) {
  cn_err_t err = {0};
  assert_int_equal(cn_graph_set_outputs(g, ids, n), 0);
  if (cn_graph_finalize(g, &err))
    fail_msg("%s", err.msg);
  void *st = NULL;
  cn_engine_opts_t o = {0};
  if (cn_engine_ref.prepare(g, &o, &st, &err))
    fail_msg("%s", err.msg);
  float **outs = calloc((size_t)n, sizeof *outs);
  for (int i = 0; i < n; i++)
    outs[i] = malloc(sizeof(float) *
                     (size_t)(cn_tensor_numel(&g->tensors[ids[i]]) + 1));
  const float *ins[1] = {input};
  if (cn_engine_ref.run(st, ins, outs, &err))
    fail_msg("%s", err.msg);
  cn_engine_ref.destroy(st);
  return outs;
}

static float *random_input(const int64_t *dims, int ndim, uint32_t seed) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= dims[i];
  float *x = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    x[i] = 2 * frand(&seed) - 1;
  return x;
}

/* Imports dir/net.prototxt + dir/net.caffemodel, runs it and OpenCV on the
 * same random input, compares every listed layer output. OpenCV also
 * writes dir/LAYER.npy for the layers named in extra (space-separated). */
static void compare_with_opencv(const char *dir, const int64_t *in_dims,
                                int in_ndim, const cmp_t *cmps, int ncmp,
                                double tol, const char *extra) {
  char proto[512], model[512], inp[512], out[4096];
  snprintf(proto, sizeof proto, "%s/net.prototxt", dir);
  snprintf(model, sizeof model, "%s/net.caffemodel", dir);
  snprintf(inp, sizeof inp, "%s/input.npy", dir);
  float *x = random_input(in_dims, in_ndim, 12345);
  cn_err_t err = {0};
  assert_int_equal(cn_npy_write(inp, x, in_ndim, in_dims, &err), 0);

  cn_graph_t *g = NULL;
  if (cn_caffe_load(proto, model, NULL, &g, &err))
    fail_msg("%s", err.msg);
  int ids[32];
  assert_true(ncmp <= 32);
  char names[2048] = "";
  for (int i = 0; i < ncmp; i++) {
    ids[i] = our_tensor(g, cmps[i].top, cmps[i].layer);
    if (ids[i] < 0)
      fail_msg("no tensor for %s/%s", cmps[i].layer, cmps[i].top);
    strcat(names, " ");
    strcat(names, cmps[i].layer);
  }
  if (extra) {
    strcat(names, " ");
    strcat(names, extra);
  }
  float **ours = run_ref(g, x, ids, ncmp);
  int rc =
      cn_test_sh(out, sizeof out,
                 "/usr/bin/python3 %s/tests/engine/caffe_pb.py opencv %s %s "
                 "%s %s%s",
                 cn_test_source_dir(), proto, model, inp, dir, names);
  if (rc)
    fail_msg("opencv failed: %s", out);
  for (int i = 0; i < ncmp; i++) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s.npy", dir, cmps[i].layer);
    cn_npy_t ref;
    if (cn_npy_read(p, &ref, &err))
      fail_msg("%s", err.msg);
    const cn_tensor_t *t = &g->tensors[ids[i]];
    if (ref.numel != cn_tensor_numel(t))
      fail_msg("%s: %lld values from OpenCV, %lld ours", cmps[i].layer,
               (long long)ref.numel, (long long)cn_tensor_numel(t));
    double e = rel_err(ours[i], ref.data, ref.numel);
    if (!(e <= tol))
      fail_msg("%s: relative error %g", cmps[i].layer, e);
    cn_npy_free(&ref);
    free(ours[i]);
  }
  free(ours);
  free(x);
  cn_graph_destroy(g);
}

/* ---- a CaffeNet in miniature -------------------------------------------- */

static const char *mini_caffenet =
    "name: \"mini_caffenet\"\n"
    "layer { name: \"data\" type: \"Input\" top: \"data\"\n"
    "  input_param { shape { dim: 1 dim: 3 dim: 35 dim: 35 } } }\n"
    "layer { name: \"conv1\" type: \"Convolution\" bottom: \"data\" top: "
    "\"conv1\"\n"
    "  param { lr_mult: 1 } param { lr_mult: 2 }\n"
    "  convolution_param { num_output: 8 kernel_size: 5 stride: 2\n"
    "    weight_filler { type: \"gaussian\" std: 0.01 } } }\n"
    "layer { name: \"relu1\" type: \"ReLU\" bottom: \"conv1\" top: \"conv1\" "
    "}\n"
    "layer { name: \"norm1\" type: \"LRN\" bottom: \"conv1\" top: \"norm1\"\n"
    "  lrn_param { local_size: 5 alpha: 0.01 beta: 0.75 } }\n"
    /* 16 -> ceil(13/2)+1 = 8 (floor would give 7) */
    "layer { name: \"pool1\" type: \"Pooling\" bottom: \"norm1\" top: "
    "\"pool1\"\n"
    "  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n"
    "layer { name: \"conv2\" type: \"Convolution\" bottom: \"pool1\" top: "
    "\"conv2\"\n"
    "  convolution_param { num_output: 12 pad: 2 kernel_size: 5 group: 2 } }\n"
    "layer { name: \"relu2\" type: \"ReLU\" bottom: \"conv2\" top: \"conv2\"\n"
    "  relu_param { negative_slope: 0.1 } }\n"
    "layer { name: \"norm2\" type: \"LRN\" bottom: \"conv2\" top: \"norm2\"\n"
    "  lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 norm_region: "
    "WITHIN_CHANNEL } }\n"
    /* 8 with pad 1 -> 5; the last window hangs past the bottom pad */
    "layer { name: \"pool2\" type: \"Pooling\" bottom: \"norm2\" top: "
    "\"pool2\"\n"
    "  pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }\n"
    "layer { name: \"fc6\" type: \"InnerProduct\" bottom: \"pool2\" top: "
    "\"fc6\"\n"
    "  inner_product_param { num_output: 16 } }\n"
    "layer { name: \"relu6\" type: \"ReLU\" bottom: \"fc6\" top: \"fc6\" }\n"
    "layer { name: \"drop6\" type: \"Dropout\" bottom: \"fc6\" top: \"fc6\"\n"
    "  dropout_param { dropout_ratio: 0.5 } }\n"
    "layer { name: \"fc7\" type: \"InnerProduct\" bottom: \"fc6\" top: "
    "\"fc7\"\n"
    "  inner_product_param { num_output: 5 } }\n"
    "layer { name: \"prob\" type: \"Softmax\" bottom: \"fc7\" top: \"prob\" "
    "}\n";

/* The same network in the V1 form with input_dim. */
static const char *mini_caffenet_v1 =
    "name: \"mini_caffenet_v1\"\n"
    "input: \"data\"\n"
    "input_dim: 1 input_dim: 3 input_dim: 35 input_dim: 35\n"
    "layers { name: \"conv1\" type: CONVOLUTION bottom: \"data\" top: "
    "\"conv1\"\n"
    "  blobs_lr: 1 blobs_lr: 2\n"
    "  convolution_param { num_output: 8 kernel_size: 5 stride: 2 } }\n"
    "layers { name: \"relu1\" type: RELU bottom: \"conv1\" top: \"conv1\" }\n"
    "layers { name: \"norm1\" type: LRN bottom: \"conv1\" top: \"norm1\"\n"
    "  lrn_param { local_size: 5 alpha: 0.01 beta: 0.75 } }\n"
    "layers { name: \"pool1\" type: POOLING bottom: \"norm1\" top: \"pool1\"\n"
    "  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n"
    "layers { name: \"conv2\" type: CONVOLUTION bottom: \"pool1\" top: "
    "\"conv2\"\n"
    "  convolution_param { num_output: 12 pad: 2 kernel_size: 5 group: 2 } }\n"
    "layers { name: \"relu2\" type: RELU bottom: \"conv2\" top: \"conv2\"\n"
    "  relu_param { negative_slope: 0.1 } }\n"
    "layers { name: \"norm2\" type: LRN bottom: \"conv2\" top: \"norm2\"\n"
    "  lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 norm_region: "
    "WITHIN_CHANNEL } }\n"
    "layers { name: \"pool2\" type: POOLING bottom: \"norm2\" top: \"pool2\"\n"
    "  pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }\n"
    "layers { name: \"fc6\" type: INNER_PRODUCT bottom: \"pool2\" top: "
    "\"fc6\"\n"
    "  inner_product_param { num_output: 16 } }\n"
    "layers { name: \"relu6\" type: RELU bottom: \"fc6\" top: \"fc6\" }\n"
    "layers { name: \"drop6\" type: DROPOUT bottom: \"fc6\" top: \"fc6\" }\n"
    "layers { name: \"fc7\" type: INNER_PRODUCT bottom: \"fc6\" top: \"fc7\"\n"
    "  inner_product_param { num_output: 5 } }\n"
    "layers { name: \"prob\" type: SOFTMAX bottom: \"fc7\" top: \"prob\" }\n";

static void caffenet_weights(mb_t *m) {
  memset(m, 0, sizeof *m);
  m->seed = 7;
  mb_blob(m, "conv1", "Convolution", -0.2f, 0.2f, 4, 8, 3, 5, 5);
  mb_blob(m, "conv1", "Convolution", -0.1f, 0.1f, 1, 8, 0, 0, 0);
  mb_blob(m, "conv2", "Convolution", -0.2f, 0.2f, 4, 12, 4, 5, 5);
  mb_blob(m, "conv2", "Convolution", -0.1f, 0.1f, 1, 12, 0, 0, 0);
  mb_blob(m, "fc6", "InnerProduct", -0.1f, 0.1f, 2, 16, 300, 0, 0);
  mb_blob(m, "fc6", "InnerProduct", -0.1f, 0.1f, 1, 16, 0, 0, 0);
  mb_blob(m, "fc7", "InnerProduct", -0.5f, 0.5f, 2, 5, 16, 0, 0);
  mb_blob(m, "fc7", "InnerProduct", -0.1f, 0.1f, 1, 5, 0, 0, 0);
  m->l[0].v1type = CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__CONVOLUTION;
  m->l[1].v1type = CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__CONVOLUTION;
  m->l[2].v1type = CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__INNER_PRODUCT;
  m->l[3].v1type = CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__INNER_PRODUCT;
}

static const cmp_t caffenet_cmps[] = {
    {"conv1", "conv1"}, {"relu1", "conv1"}, {"norm1", "norm1"},
    {"pool1", "pool1"}, {"conv2", "conv2"}, {"relu2", "conv2"},
    {"norm2", "norm2"}, {"pool2", "pool2"}, {"fc6", "fc6"},
    {"fc7", "fc7"},     {"prob", "prob"},
};

static void test_caffenet_matches_opencv(void **state) {
  (void)state;
  if (!have_opencv())
    CN_TEST_SKIP_MISSING("python3-opencv", "no /usr/bin/python3 with cv2");
  int64_t in[4] = {1, 3, 35, 35};
  for (int v1 = 0; v1 < 2; v1++) {
    char *dir = cn_test_mkdtemp(), p[512];
    mb_t m;
    caffenet_weights(&m);
    snprintf(p, sizeof p, "%s/net.caffemodel", dir);
    mb_write(&m, p, v1);
    snprintf(p, sizeof p, "%s/net.prototxt", dir);
    write_text(p, v1 ? mini_caffenet_v1 : mini_caffenet);
    compare_with_opencv(dir, in, 4, caffenet_cmps,
                        (int)(sizeof caffenet_cmps / sizeof caffenet_cmps[0]),
                        1e-4, NULL);
    mb_free(&m);
    cn_test_rmtree(dir);
    free(dir);
  }
}

/* ---- inception block and the remaining layer types --------------------- */

static const char *mixed_net =
    "name: \"mixed\"\n"
    "input: \"data\"\n"
    "input_shape { dim: 1 dim: 4 dim: 12 dim: 12 }\n"
    "layer { name: \"conv0\" type: \"Convolution\" bottom: \"data\" top: "
    "\"conv0\"\n"
    "  convolution_param { num_output: 8 kernel_h: 3 kernel_w: 1 pad_h: 1 "
    "pad_w: 0\n"
    "    stride_h: 1 stride_w: 2 } }\n"
    "layer { name: \"bn0\" type: \"BatchNorm\" bottom: \"conv0\" top: "
    "\"conv0\"\n"
    "  batch_norm_param { use_global_stats: true eps: 0.001 } }\n"
    "layer { name: \"sc0\" type: \"Scale\" bottom: \"conv0\" top: \"conv0\"\n"
    "  scale_param { bias_term: true } }\n"
    "layer { name: \"relu0\" type: \"ReLU\" bottom: \"conv0\" top: \"conv0\" "
    "}\n"
    "layer { name: \"b1\" type: \"Convolution\" bottom: \"conv0\" top: \"b1\"\n"
    "  convolution_param { num_output: 4 kernel_size: 1 } }\n"
    "layer { name: \"b2\" type: \"Convolution\" bottom: \"conv0\" top: \"b2\"\n"
    "  convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }\n"
    "layer { name: \"b3\" type: \"Convolution\" bottom: \"conv0\" top: \"b3\"\n"
    "  convolution_param { num_output: 4 kernel_size: 3 pad: 2 dilation: 2 } "
    "}\n"
    "layer { name: \"b4\" type: \"Pooling\" bottom: \"conv0\" top: \"b4\"\n"
    "  pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }\n"
    "layer { name: \"b4c\" type: \"Convolution\" bottom: \"b4\" top: \"b4c\"\n"
    "  convolution_param { num_output: 4 kernel_size: 1 } }\n"
    "layer { name: \"cat\" type: \"Concat\" bottom: \"b1\" bottom: \"b2\"\n"
    "  bottom: \"b3\" bottom: \"b4c\" top: \"cat\" }\n"
    "layer { name: \"prelu\" type: \"PReLU\" bottom: \"cat\" top: \"catp\" }\n"
    "layer { name: \"deconv\" type: \"Deconvolution\" bottom: \"catp\" top: "
    "\"deconv\"\n"
    "  convolution_param { num_output: 4 kernel_size: 2 stride: 2 } }\n"
    "layer { name: \"dsig\" type: \"Sigmoid\" bottom: \"deconv\" top: \"dsig\" "
    "}\n"
    "layer { name: \"slice\" type: \"Slice\" bottom: \"catp\" top: \"s0\" top: "
    "\"s1\"\n"
    "  top: \"s2\" slice_param { axis: 1 slice_point: 4 slice_point: 10 } }\n"
    "layer { name: \"esum\" type: \"Eltwise\" bottom: \"s1\" bottom: \"s2\" "
    "top: \"esum\"\n"
    "  eltwise_param { operation: SUM coeff: 0.5 coeff: -1.5 } }\n"
    "layer { name: \"eprod\" type: \"Eltwise\" bottom: \"s1\" bottom: \"s2\" "
    "top: \"eprod\"\n"
    "  eltwise_param { operation: PROD } }\n"
    "layer { name: \"emax\" type: \"Eltwise\" bottom: \"esum\" bottom: "
    "\"eprod\"\n"
    "  top: \"emax\" eltwise_param { operation: MAX } }\n"
    "layer { name: \"tanh\" type: \"TanH\" bottom: \"emax\" top: \"tanh\" }\n"
    "layer { name: \"gpool\" type: \"Pooling\" bottom: \"tanh\" top: "
    "\"gpool\"\n"
    "  pooling_param { pool: AVE global_pooling: true } }\n"
    "layer { name: \"fl\" type: \"Flatten\" bottom: \"gpool\" top: \"fl\" }\n"
    "layer { name: \"fc\" type: \"InnerProduct\" bottom: \"fl\" top: \"fc\"\n"
    "  inner_product_param { num_output: 3 } }\n"
    "layer { name: \"rs\" type: \"Reshape\" bottom: \"s0\" top: \"rs\"\n"
    "  reshape_param { shape { dim: 0 dim: -1 dim: 3 } } }\n"
    "layer { name: \"perm\" type: \"Permute\" bottom: \"rs\" top: \"perm\"\n"
    "  permute_param { order: 0 order: 2 order: 1 } }\n"
    "layer { name: \"sm\" type: \"Softmax\" bottom: \"perm\" top: \"sm\"\n"
    "  softmax_param { axis: 2 } }\n";

static void mixed_weights(mb_t *m) {
  memset(m, 0, sizeof *m);
  m->seed = 99;
  mb_blob(m, "conv0", "Convolution", -0.5f, 0.5f, 4, 8, 4, 3, 1);
  mb_blob(m, "conv0", "Convolution", -0.1f, 0.1f, 1, 8, 0, 0, 0);
  mb_blob(m, "bn0", "BatchNorm", -0.5f, 0.5f, 1, 8, 0, 0, 0);
  mb_blob(m, "bn0", "BatchNorm", 0.5f, 1.5f, 1, 8, 0, 0, 0);
  mb_blob(m, "bn0", "BatchNorm", 1.9f, 2.1f, 1, 1, 0, 0, 0);
  mb_blob(m, "sc0", "Scale", 0.5f, 1.5f, 1, 8, 0, 0, 0);
  mb_blob(m, "sc0", "Scale", -0.2f, 0.2f, 1, 8, 0, 0, 0);
  mb_blob(m, "b1", "Convolution", -0.4f, 0.4f, 4, 4, 8, 1, 1);
  mb_blob(m, "b1", "Convolution", -0.1f, 0.1f, 1, 4, 0, 0, 0);
  mb_blob(m, "b2", "Convolution", -0.2f, 0.2f, 4, 4, 8, 3, 3);
  mb_blob(m, "b2", "Convolution", -0.1f, 0.1f, 1, 4, 0, 0, 0);
  mb_blob(m, "b3", "Convolution", -0.2f, 0.2f, 4, 4, 8, 3, 3);
  mb_blob(m, "b3", "Convolution", -0.1f, 0.1f, 1, 4, 0, 0, 0);
  mb_blob(m, "b4c", "Convolution", -0.4f, 0.4f, 4, 4, 8, 1, 1);
  mb_blob(m, "b4c", "Convolution", -0.1f, 0.1f, 1, 4, 0, 0, 0);
  mb_blob(m, "prelu", "PReLU", 0.0f, 0.5f, 1, 16, 0, 0, 0);
  mb_blob(m, "deconv", "Deconvolution", -0.3f, 0.3f, 4, 16, 4, 2, 2);
  mb_blob(m, "deconv", "Deconvolution", -0.1f, 0.1f, 1, 4, 0, 0, 0);
  mb_blob(m, "fc", "InnerProduct", -0.5f, 0.5f, 2, 3, 6, 0, 0);
  mb_blob(m, "fc", "InnerProduct", -0.1f, 0.1f, 1, 3, 0, 0, 0);
}

static void test_mixed_layers_match_opencv(void **state) {
  (void)state;
  if (!have_opencv())
    CN_TEST_SKIP_MISSING("python3-opencv", "no /usr/bin/python3 with cv2");
  static const cmp_t cmps[] = {
      {"conv0", "conv0"}, {"bn0", "conv0"},   {"sc0", "conv0"},
      {"relu0", "conv0"}, {"b3", "b3"},       {"b4", "b4"},
      {"cat", "cat"},     {"prelu", "catp"},  {"deconv", "deconv"},
      {"dsig", "dsig"},   {"esum", "esum"},   {"eprod", "eprod"},
      {"emax", "emax"},   {"gpool", "gpool"}, {"fc", "fc"},
      {"rs", "rs"},       {"perm", "perm"},   {"sm", "sm"},
  };
  int64_t in[4] = {1, 4, 12, 12};
  char *dir = cn_test_mkdtemp(), p[512];
  mb_t m;
  mixed_weights(&m);
  snprintf(p, sizeof p, "%s/net.caffemodel", dir);
  mb_write(&m, p, 0);
  snprintf(p, sizeof p, "%s/net.prototxt", dir);
  write_text(p, mixed_net);
  compare_with_opencv(dir, in, 4, cmps, (int)(sizeof cmps / sizeof cmps[0]),
                      1e-4, NULL);
  mb_free(&m);
  cn_test_rmtree(dir);
  free(dir);
}

/* The optimizer (BatchNorm/Scale folded into the convolution, activations
 * fused) leaves the outputs of the imported graph unchanged. */
static void test_optimized_graph_agrees(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp(), proto[512], model[512];
  mb_t m;
  mixed_weights(&m);
  snprintf(model, sizeof model, "%s/net.caffemodel", dir);
  mb_write(&m, model, 0);
  snprintf(proto, sizeof proto, "%s/net.prototxt", dir);
  write_text(proto, mixed_net);
  cn_err_t err = {0};
  cn_graph_t *a = NULL, *b = NULL;
  if (cn_caffe_load(proto, model, NULL, &a, &err) ||
      cn_caffe_load(proto, model, NULL, &b, &err))
    fail_msg("%s", err.msg);
  if (cn_graph_optimize(b, CN_OPT_ALL, &err))
    fail_msg("%s", err.msg);
  assert_true(b->nnodes < a->nnodes);
  int64_t in[4] = {1, 4, 12, 12};
  float *x = random_input(in, 4, 5);
  int na = a->noutputs, ida[8], idb[8];
  assert_int_equal(na, b->noutputs);
  memcpy(ida, a->outputs, sizeof(int) * (size_t)na);
  memcpy(idb, b->outputs, sizeof(int) * (size_t)na);
  float **ya = run_ref(a, x, ida, na), **yb = run_ref(b, x, idb, na);
  for (int i = 0; i < na; i++) {
    double e = rel_err(yb[i], ya[i], cn_tensor_numel(&a->tensors[ida[i]]));
    if (!(e <= 1e-5))
      fail_msg("output %s: relative error %g", a->tensors[ida[i]].name, e);
    free(ya[i]);
    free(yb[i]);
  }
  free(ya);
  free(yb);
  free(x);
  cn_graph_destroy(a);
  cn_graph_destroy(b);
  mb_free(&m);
  cn_test_rmtree(dir);
  free(dir);
}

/* ---- a miniature SSD ----------------------------------------------------- */

#define SSD_HEAD(n, bottom, np, ncls)                                          \
  "layer { name: \"" n "_loc\" type: \"Convolution\" bottom: \"" bottom "\"\n" \
  "  top: \"" n "_loc\" convolution_param { num_output: " #np                  \
  " kernel_size: 3 pad: 1 } }\n"                                               \
  "layer { name: \"" n "_loc_perm\" type: \"Permute\" bottom: \"" n "_loc\"\n" \
  "  top: \"" n                                                                \
  "_loc_perm\" permute_param { order: 0 order: 2 order: 3 order: 1 } }\n"      \
  "layer { name: \"" n "_loc_flat\" type: \"Flatten\" bottom: \"" n            \
  "_loc_perm\"\n"                                                              \
  "  top: \"" n "_loc_flat\" flatten_param { axis: 1 } }\n"                    \
  "layer { name: \"" n "_conf\" type: \"Convolution\" bottom: \"" bottom       \
  "\"\n"                                                                       \
  "  top: \"" n "_conf\" convolution_param { num_output: " #ncls               \
  " kernel_size: 3 pad: 1 } }\n"                                               \
  "layer { name: \"" n "_conf_perm\" type: \"Permute\" bottom: \"" n           \
  "_conf\"\n"                                                                  \
  "  top: \"" n                                                                \
  "_conf_perm\" permute_param { order: 0 order: 2 order: 3 order: 1 } }\n"     \
  "layer { name: \"" n "_conf_flat\" type: \"Flatten\" bottom: \"" n           \
  "_conf_perm\"\n"                                                             \
  "  top: \"" n "_conf_flat\" flatten_param { axis: 1 } }\n"

static const char *mini_ssd =
    "name: \"mini_ssd\"\n"
    "layer { name: \"data\" type: \"Input\" top: \"data\"\n"
    "  input_param { shape { dim: 1 dim: 3 dim: 32 dim: 32 } } }\n"
    "layer { name: \"conv1\" type: \"Convolution\" bottom: \"data\" top: "
    "\"conv1\"\n"
    "  convolution_param { num_output: 8 kernel_size: 3 stride: 2 pad: 1 } }\n"
    "layer { name: \"relu1\" type: \"ReLU\" bottom: \"conv1\" top: \"conv1\" "
    "}\n"
    "layer { name: \"conv2\" type: \"Convolution\" bottom: \"conv1\" top: "
    "\"conv2\"\n"
    "  convolution_param { num_output: 8 kernel_size: 3 stride: 2 pad: 1 } }\n"
    "layer { name: \"relu2\" type: \"ReLU\" bottom: \"conv2\" top: \"conv2\" "
    "}\n" SSD_HEAD(
        "c1", "conv1", 16,
        16) "layer { name: \"c1_prior\" type: \"PriorBox\" bottom: \"conv1\" "
            "bottom: \"data\"\n"
            "  top: \"c1_prior\" prior_box_param { min_size: 8 max_size: 16 "
            "aspect_ratio: 2\n"
            "    flip: true clip: false variance: 0.1 variance: 0.1 variance: "
            "0.2\n"
            "    variance: 0.2 } }\n" SSD_HEAD(
                "c2", "conv2", 24,
                24) "layer { name: \"c2_prior\" type: \"PriorBox\" bottom: "
                    "\"conv2\" bottom: \"data\"\n"
                    "  top: \"c2_prior\" prior_box_param { min_size: 16 "
                    "max_size: 24 aspect_ratio: 2\n"
                    "    aspect_ratio: 3 flip: true clip: true variance: 0.1 "
                    "step: 4 offset: 0.5 } }\n"
                    "layer { name: \"mbox_loc\" type: \"Concat\" bottom: "
                    "\"c1_loc_flat\"\n"
                    "  bottom: \"c2_loc_flat\" top: \"mbox_loc\" concat_param "
                    "{ axis: 1 } }\n"
                    "layer { name: \"mbox_conf\" type: \"Concat\" bottom: "
                    "\"c1_conf_flat\"\n"
                    "  bottom: \"c2_conf_flat\" top: \"mbox_conf\" "
                    "concat_param { axis: 1 } }\n"
                    "layer { name: \"mbox_priorbox\" type: \"Concat\" bottom: "
                    "\"c1_prior\"\n"
                    "  bottom: \"c2_prior\" top: \"mbox_priorbox\" "
                    "concat_param { axis: 2 } }\n"
                    "layer { name: \"mbox_conf_reshape\" type: \"Reshape\" "
                    "bottom: \"mbox_conf\"\n"
                    "  top: \"mbox_conf_reshape\" reshape_param { shape { dim: "
                    "0 dim: -1 dim: 4 } } }\n"
                    "layer { name: \"mbox_conf_softmax\" type: \"Softmax\" "
                    "bottom: \"mbox_conf_reshape\"\n"
                    "  top: \"mbox_conf_softmax\" softmax_param { axis: 2 } }\n"
                    "layer { name: \"mbox_conf_flatten\" type: \"Flatten\" "
                    "bottom: \"mbox_conf_softmax\"\n"
                    "  top: \"mbox_conf_flatten\" flatten_param { axis: 1 } }\n"
                    "layer { name: \"detection_out\" type: \"DetectionOutput\" "
                    "bottom: \"mbox_loc\"\n"
                    "  bottom: \"mbox_conf_flatten\" bottom: \"mbox_priorbox\" "
                    "top: \"detection_out\"\n"
                    "  include { phase: TEST }\n"
                    "  detection_output_param { num_classes: 4 share_location: "
                    "true\n"
                    "    background_label_id: 0 nms_param { nms_threshold: "
                    "0.45 top_k: 100 }\n"
                    "    code_type: CENTER_SIZE keep_top_k: 50 "
                    "confidence_threshold: 0.35 } }\n";

static void ssd_weights(mb_t *m) {
  memset(m, 0, sizeof *m);
  m->seed = 2024;
  mb_blob(m, "conv1", "Convolution", -0.5f, 0.5f, 4, 8, 3, 3, 3);
  mb_blob(m, "conv1", "Convolution", -0.1f, 0.1f, 1, 8, 0, 0, 0);
  mb_blob(m, "conv2", "Convolution", -0.3f, 0.3f, 4, 8, 8, 3, 3);
  mb_blob(m, "conv2", "Convolution", -0.1f, 0.1f, 1, 8, 0, 0, 0);
  mb_blob(m, "c1_loc", "Convolution", -0.3f, 0.3f, 4, 16, 8, 3, 3);
  mb_blob(m, "c1_loc", "Convolution", -0.1f, 0.1f, 1, 16, 0, 0, 0);
  mb_blob(m, "c1_conf", "Convolution", -0.6f, 0.6f, 4, 16, 8, 3, 3);
  mb_blob(m, "c1_conf", "Convolution", -0.1f, 0.1f, 1, 16, 0, 0, 0);
  mb_blob(m, "c2_loc", "Convolution", -0.3f, 0.3f, 4, 24, 8, 3, 3);
  mb_blob(m, "c2_loc", "Convolution", -0.1f, 0.1f, 1, 24, 0, 0, 0);
  mb_blob(m, "c2_conf", "Convolution", -0.6f, 0.6f, 4, 24, 8, 3, 3);
  mb_blob(m, "c2_conf", "Convolution", -0.1f, 0.1f, 1, 24, 0, 0, 0);
}

static int cmp_rows(const void *a, const void *b) {
  const float *x = a, *y = b;
  for (int k = 0; k < 7; k++)
    if (x[k] != y[k])
      return k == 2 ? (x[k] > y[k] ? -1 : 1) : (x[k] < y[k] ? -1 : 1);
  return 0;
}

static void test_ssd_matches_opencv(void **state) {
  (void)state;
  if (!have_opencv())
    CN_TEST_SKIP_MISSING("python3-opencv", "no /usr/bin/python3 with cv2");
  char *dir = cn_test_mkdtemp(), p[512];
  mb_t m;
  ssd_weights(&m);
  snprintf(p, sizeof p, "%s/net.caffemodel", dir);
  mb_write(&m, p, 0);
  snprintf(p, sizeof p, "%s/net.prototxt", dir);
  write_text(p, mini_ssd);
  int64_t in[4] = {1, 3, 32, 32};
  /* Tensors first: priors (both clip modes, explicit and derived steps),
   * the location and confidence streams. */
  static const cmp_t cmps[] = {
      {"c1_prior", "c1_prior"},
      {"c2_prior", "c2_prior"},
      {"mbox_priorbox", "mbox_priorbox"},
      {"mbox_loc", "mbox_loc"},
      {"mbox_conf_flatten", "mbox_conf_flatten"},
  };
  compare_with_opencv(dir, in, 4, cmps, (int)(sizeof cmps / sizeof cmps[0]),
                      1e-4, "detection_out");

  /* Then the detections, as rows sorted by label and score. */
  cn_err_t err = {0};
  cn_graph_t *g = NULL;
  char proto[512], model[512];
  snprintf(proto, sizeof proto, "%s/net.prototxt", dir);
  snprintf(model, sizeof model, "%s/net.caffemodel", dir);
  if (cn_caffe_load(proto, model, NULL, &g, &err))
    fail_msg("%s", err.msg);
  assert_int_equal(g->noutputs, 1);
  int id = g->outputs[0];
  assert_string_equal(g->tensors[id].name, "detection_out");
  assert_int_equal(g->tensors[id].dims[2], 50);
  float *x = random_input(in, 4, 12345);
  float **y = run_ref(g, x, &id, 1);
  snprintf(p, sizeof p, "%s/detection_out.npy", dir);
  cn_npy_t ref;
  if (cn_npy_read(p, &ref, &err))
    fail_msg("%s", err.msg);
  int nref = (int)(ref.numel / 7), nours = 0;
  while (nours < 50 && y[0][nours * 7] >= 0)
    nours++;
  for (int r = nours; r < 50; r++)
    for (int k = 0; k < 7; k++)
      assert_float_equal(y[0][r * 7 + k], -1, 0);
  if (nours != nref)
    fail_msg("%d detections, OpenCV %d", nours, nref);
  assert_true(nours >= 5); /* the weights were picked to detect something */
  qsort(y[0], (size_t)nours, 7 * sizeof(float), cmp_rows);
  qsort(ref.data, (size_t)nref, 7 * sizeof(float), cmp_rows);
  for (int r = 0; r < nours; r++)
    for (int k = 0; k < 7; k++)
      if (fabsf(y[0][r * 7 + k] - ref.data[r * 7 + k]) > 1e-4f)
        fail_msg("row %d col %d: %g, OpenCV %g", r, k, (double)y[0][r * 7 + k],
                 (double)ref.data[r * 7 + k]);
  cn_npy_free(&ref);
  free(y[0]);
  free(y);
  free(x);
  cn_graph_destroy(g);
  mb_free(&m);
  cn_test_rmtree(dir);
  free(dir);
}

/* ---- structure: phases, in-place names, outputs ------------------------ */

static void test_phase_rules_and_in_place_names(void **state) {
  (void)state;
  const char *text =
      "layer { name: \"train_data\" type: \"Data\" top: \"data\"\n"
      "  include { phase: TRAIN } data_param { source: \"lmdb\" } }\n"
      "layer { name: \"data\" type: \"Input\" top: \"data\"\n"
      "  include { phase: TEST }\n"
      "  input_param { shape { dim: 2 dim: 3 dim: 4 dim: 4 } } }\n"
      "layer { name: \"conv\" type: \"Convolution\" bottom: \"data\" top: "
      "\"conv\"\n"
      "  convolution_param { num_output: 2 kernel_size: 3 bias_term: false } "
      "}\n"
      "layer { name: \"bn\" type: \"BatchNorm\" bottom: \"conv\" top: \"conv\" "
      "}\n"
      "layer { name: \"relu\" type: \"ReLU\" bottom: \"conv\" top: \"conv\" }\n"
      "layer { name: \"split\" type: \"Split\" bottom: \"conv\" top: \"a\" "
      "top: \"b\" }\n"
      "layer { name: \"sum\" type: \"Eltwise\" bottom: \"a\" bottom: \"b\" "
      "top: \"sum\" }\n"
      "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"sum\" top: "
      "\"loss\"\n"
      "  exclude { phase: TEST } }\n"
      "layer { name: \"acc\" type: \"Accuracy\" bottom: \"sum\" top: \"acc\"\n"
      "  include { phase: TEST stage: \"eval\" } }\n"
      "layer { name: \"tail\" type: \"Sigmoid\" bottom: \"conv\" top: \"tail\" "
      "}\n";
  cn_err_t err = {0};
  cn_graph_t *g = NULL;
  if (cn_caffe_load_mem(text, strlen(text), NULL, 0, "n.prototxt", NULL, &g,
                        &err))
    fail_msg("%s", err.msg);
  /* conv's blob is written three times: conv, bn, relu; the last keeps the
   * name. Split adds no node. */
  assert_true(cn_graph_find(g, "conv@conv") >= 0);
  assert_true(cn_graph_find(g, "conv@bn") >= 0);
  int c = cn_graph_find(g, "conv");
  assert_true(c >= 0);
  assert_int_equal(g->nodes[g->tensors[c].producer].op, CN_OP_ACT);
  assert_int_equal(g->nnodes, 5); /* conv, bn, relu, sum, tail */
  const cn_node_t *sum =
      &g->nodes[g->tensors[cn_graph_find(g, "sum")].producer];
  assert_int_equal(sum->inputs[0], c);
  assert_int_equal(sum->inputs[1], c);
  /* Outputs: blobs nobody reads, in order. */
  assert_int_equal(g->noutputs, 2);
  assert_string_equal(g->tensors[g->outputs[0]].name, "sum");
  assert_string_equal(g->tensors[g->outputs[1]].name, "tail");
  assert_int_equal(g->ninputs, 1);
  assert_int_equal(g->tensors[g->inputs[0]].dims[0], 2);
  assert_int_equal(g->tensors[c].dims[3], 2);
  cn_graph_destroy(g);

  /* With stage "eval" in the net state, the Accuracy layer is included. */
  char buf[4096];
  snprintf(buf, sizeof buf, "state { stage: \"eval\" }\n%s", text);
  assert_int_equal(cn_caffe_load_mem(buf, strlen(buf), NULL, 0, "n.prototxt",
                                     NULL, &g, &err),
                   CN_EUNSUPPORTED);
  assert_string_equal(err.msg,
                      "n.prototxt: layer acc: unknown layer type Accuracy");
}

/* ---- bad inputs -----------------------------------------------------------
 */

static const char *small_net =
    "input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
    "layer { name: \"conv1\" type: \"Convolution\" bottom: \"data\" top: "
    "\"conv1\"\n"
    "  convolution_param { num_output: 64 kernel_size: 3 } }\n";

static void small_weights(mb_t *m, int64_t ic) {
  memset(m, 0, sizeof *m);
  m->seed = 1;
  mb_blob(m, "conv1", "Convolution", -1, 1, 4, 64, ic, 3, 3);
  mb_blob(m, "conv1", "Convolution", -1, 1, 1, 64, 0, 0, 0);
}

static void test_bad_inputs_give_one_line_errors(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp(), proto[512], model[512];
  snprintf(proto, sizeof proto, "%s/x.prototxt", dir);
  snprintf(model, sizeof model, "%s/x.caffemodel", dir);
  write_text(proto, small_net);
  cn_err_t err = {0};
  cn_graph_t *g = NULL;
  char want[1024];

  /* Weights for 1 input channel where the prototxt implies 3. */
  mb_t m;
  small_weights(&m, 1);
  mb_write(&m, model, 0);
  assert_int_equal(cn_caffe_load(proto, model, NULL, &g, &err), CN_EFORMAT);
  assert_null(g);
  snprintf(want, sizeof want,
           "%s: layer conv1: weight blob has 576 values, expected 1728", model);
  assert_string_equal(err.msg, want);
  mb_free(&m);

  /* The right model loads; then every prefix of it is refused cleanly. */
  small_weights(&m, 3);
  mb_write(&m, model, 0);
  if (cn_caffe_load(proto, model, NULL, &g, &err))
    fail_msg("%s", err.msg);
  cn_graph_destroy(g);
  FILE *f = fopen(model, "rb");
  assert_non_null(f);
  static unsigned char buf[1 << 16];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_true(len > 7000);
  for (size_t cut = 0; cut < len; cut += cut < 64 ? 1 : 97) {
    int r = cn_caffe_load_mem(small_net, strlen(small_net), buf, cut,
                              "x.prototxt", "x.caffemodel", &g, &err);
    assert_int_not_equal(r, 0);
    assert_null(g);
    assert_int_equal(err.code, CN_EFORMAT);
    assert_null(strchr(err.msg, '\n'));
    assert_non_null(strstr(err.msg, "x.caffemodel"));
  }
  mb_free(&m);

  /* Not a protobuf at all (an ONNX or a PNG's magic), and an empty file. */
  static const struct {
    const char *bytes;
    size_t len;
  } junk[] = {{"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16},
              {"\x08\x07\x12\x04onnx", 8},
              {"", 0}};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
    assert_int_equal(cn_caffe_load_mem(small_net, strlen(small_net),
                                       junk[i].bytes, junk[i].len, "x.prototxt",
                                       "x.caffemodel", &g, &err),
                     CN_EFORMAT);
    assert_non_null(strstr(err.msg, "x.caffemodel: "));
  }

  /* Prototxt problems. */
  static const struct {
    const char *text;
    int code;
    const char *msg;
  } bad[] = {
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
       "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
       "  convolution_param { num_output: 4 kernel_size: 3 }\n",
       CN_EFORMAT, "p.prototxt:4:1: expected '}', found end of file"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
       "layer { name: \"w\" type: \"Wobble\" bottom: \"data\" top: \"w\" }\n",
       CN_EUNSUPPORTED, "p.prototxt: layer w: unknown layer type Wobble"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
       "layer { name: \"r\" type: \"ReLU\" bottom: \"date\" top: \"r\" }\n",
       CN_EFORMAT,
       "p.prototxt: layer r: bottom date is not produced by an earlier layer"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8\n", CN_EFORMAT,
       "p.prototxt: 3 input_dim values for 1 inputs (4 each)"},
      {"layer { name: \"r\" type: \"ReLU\" bottom: \"x\" top: \"r\" }\n",
       CN_EFORMAT,
       "p.prototxt: layer r: bottom x is not produced by an earlier layer"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
       "layer { name: \"p\" type: \"Pooling\" bottom: \"data\" top: \"p\" }\n",
       CN_EFORMAT, "p.prototxt: layer p: kernel size not given"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
       "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
       "  convolution_param { num_output: 4 kernel_size: 3 group: 2 } }\n",
       CN_EFORMAT,
       "p.prototxt: layer c: group 2 does not divide 3 inputs and 4 outputs"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
       "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
       "  convolution_param { num_output: 4 kernel_size: 9 } }\n",
       CN_EFORMAT,
       "p.prototxt: node 0 (c): output would be empty (input 8, kernel 9)"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n"
       "layer { name: \"r\" type: \"Reshape\" bottom: \"data\" top: \"r\"\n"
       "  reshape_param { shape { dim: 5 dim: -1 } } }\n",
       CN_EFORMAT,
       "p.prototxt: layer r: cannot infer -1: 192 values into blocks of 5"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 99999 input_dim: "
       "99999\n"
       "layer { name: \"r\" type: \"ReLU\" bottom: \"data\" top: \"r\" }\n",
       CN_EFORMAT, "p.prototxt: input data has an absurd shape"},
      {"input: \"data\" input_dim: 1 input_dim: 3 input_dim: 0 input_dim: 8\n",
       CN_EFORMAT, "p.prototxt: input data: dimension 2 is 0"},
      {"input: \"data\" input_dim: 1 input_dim: 1000 input_dim: 8 input_dim: "
       "8\n"
       "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
       "  convolution_param { num_output: 4000000000 kernel_size: 65535 } }\n",
       CN_EFORMAT, "p.prototxt: layer c: weight blob has an absurd shape"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int r = cn_caffe_load_mem(bad[i].text, strlen(bad[i].text), NULL, 0,
                              "p.prototxt", NULL, &g, &err);
    assert_null(g);
    if (r != bad[i].code || strcmp(err.msg, bad[i].msg))
      fail_msg("case %zu: %d \"%s\", want %d \"%s\"", i, r, err.msg,
               bad[i].code, bad[i].msg);
  }

  /* A caffemodel that lacks the layer's weights. */
  memset(&m, 0, sizeof m);
  mb_blob(&m, "other", "Convolution", -1, 1, 1, 4, 0, 0, 0);
  mb_write(&m, model, 0);
  assert_int_equal(cn_caffe_load(proto, model, NULL, &g, &err), CN_EFORMAT);
  snprintf(want, sizeof want, "%s: layer conv1: no weights", model);
  assert_string_equal(err.msg, want);
  mb_free(&m);
  assert_int_equal(
      cn_caffe_load("/nonexistent/a.prototxt", NULL, NULL, &g, &err),
      CN_ENOENT);
  cn_test_rmtree(dir);
  free(dir);
}

/* The importer's layer list is its dispatch table: Input, then the rest
 * sorted (searched with bsearch), ending in NULL. */
static void test_layer_table(void **state) {
  (void)state;
  assert_string_equal(cn_caffe_layer_at(0), "Input");
  size_t n = 1;
  for (; cn_caffe_layer_at(n); n++)
    if (n > 1 && strcmp(cn_caffe_layer_at(n - 1), cn_caffe_layer_at(n)) >= 0)
      fail_msg("layer table not sorted at %s, %s", cn_caffe_layer_at(n - 1),
               cn_caffe_layer_at(n));
  assert_int_equal(n, 27);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layer_table),
      cmocka_unit_test(test_caffenet_matches_opencv),
      cmocka_unit_test(test_mixed_layers_match_opencv),
      cmocka_unit_test(test_optimized_graph_agrees),
      cmocka_unit_test(test_ssd_matches_opencv),
      cmocka_unit_test(test_phase_rules_and_in_place_names),
      cmocka_unit_test(test_bad_inputs_give_one_line_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
