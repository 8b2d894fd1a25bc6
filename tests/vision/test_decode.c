/* Decoders and NMS on hand-built tensors: class vectors whose top-k and
 * softmax are worked out here, boxes whose IoU is computed by hand, SSD,
 * YOLO and BlazeFace outputs holding a few known detections. The models
 * only give the decoders their output shapes: tiny ONNX graphs (input ->
 * Relu -> output) written by /usr/bin/python3 with Debian's python3-onnx. */
#include "harness.h"

#include "alloc_count.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vision/decode.h"
#include "vision/nms.h"

/* ---- models with given output shapes ------------------------------------ */

/* Output name and shape of each model; output k = Relu(input k). */
static const struct {
  const char *file, *spec;
} MODELS[] = {
    {"cls5.onnx", "[('prob', [1, 5])]"},
    {"two.onnx", "[('feat', [1, 4, 2, 2]), ('logits', [1, 2, 1, 1])]"},
    {"ssd.onnx", "[('detection_out', [1, 1, 5, 7])]"},
    {"v8.onnx", "[('output0', [1, 6, 8])]"},
    {"v8t.onnx", "[('output0', [1, 8, 6])]"},
    {"v5.onnx", "[('output', [1, 8, 7])]"},
    {"sq.onnx", "[('o', [1, 6, 6])]"},
    /* The npm BlazeFace's four outputs, in a shuffled order. */
    {"bf4.onnx", "[('s384', [1, 384, 1]), ('r512', [1, 512, 16]), "
                 "('s512', [1, 512, 1]), ('r384', [1, 384, 16])]"},
    {"bf2.onnx", "[('regressors', [1, 896, 16]), "
                 "('classificators', [1, 896, 1])]"},
    {"c.onnx", "[('prob', [1, 1000])]"},
    {"t.onnx", "[('a', [1, 10]), ('b', [1, 20])]"},
    {"nchw.onnx", "[('x', [1, 3, 224, 200])]"},
    {"nhwc.onnx", "[('y', [1, 128, 96, 3])]"},
    {"flat.onnx", "[('z', [1, 10])]"},
};

static char *dir;
static int have_onnx;

/* All models in one Python run (each start of Python costs a second on a
 * loaded machine). */
static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  if (!dir)
    return -1;
  char *list = malloc(8192), out[2048];
  size_t n = 0;
  if (!list)
    return -1;
  for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++)
    n += (size_t)snprintf(list + n, 8192 - n, "('%s', %s),", MODELS[i].file,
                          MODELS[i].spec);
  int rc = cn_test_sh(
      out, sizeof out,
      "cd '%s' && /usr/bin/python3 -c \"\n"
      "import onnx\n"
      "from onnx import helper as h, TensorProto as T\n"
      "for file, spec in [%s]:\n"
      "  ins = [h.make_tensor_value_info('in_' + n, T.FLOAT, s) for n, s in "
      "spec]\n"
      "  outs = [h.make_tensor_value_info(n, T.FLOAT, s) for n, s in spec]\n"
      "  nodes = [h.make_node('Relu', ['in_' + n], [n]) for n, s in spec]\n"
      "  g = h.make_graph(nodes, 'g', ins, outs)\n"
      "  m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])\n"
      "  onnx.checker.check_model(m)\n"
      "  onnx.save(m, file)\n"
      "\"",
      dir, list);
  free(list);
  have_onnx = rc == 0;
  if (!have_onnx)
    fprintf(stderr, "making the models: %s\n", out);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cn_test_rmtree(dir);
  free(dir);
  return 0;
}

static cn_model_t *model(const char *file) {
  if (!have_onnx)
    CN_TEST_SKIP_MISSING("python3-onnx",
                         "/usr/bin/python3 could not make the models");
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.backend = "ref";
  cn_model_t *m = NULL;
  cn_err_t err = {0};
  if (cn_model_load(&m, path, &o, &err))
    fail_msg("%s: %s", file, err.msg);
  return m;
}

static cn_decoder_t *decoder(const cn_model_t *m, const char *kind) {
  cn_decoder_opts_t o;
  cn_decoder_opts_default(&o);
  o.kind = kind;
  cn_decoder_t *d = NULL;
  cn_err_t err = {0};
  if (cn_decoder_create(&o, m, &d, &err))
    fail_msg("decoder %s: %s", kind ? kind : "(auto)", err.msg);
  return d;
}

static void expect_create_error(const cn_decoder_opts_t *o, const cn_model_t *m,
                                const char *what) {
  cn_decoder_t *d = (cn_decoder_t *)1;
  cn_err_t err = {0};
  assert_int_equal(cn_decoder_create(o, m, &d, &err), CN_EINVAL);
  assert_null(d);
  if (!strstr(err.msg, what))
    fail_msg("'%s' does not say '%s'", err.msg, what);
  print_message("  error: %s\n", err.msg);
}

static cn_result_t res; /* 24 KB: not on the stack */

/* ---- classification ------------------------------------------------------ */

static void classify(cn_decoder_t *d, const float *v) {
  const float *outs[1] = {v};
  cn_err_t err = {0};
  memset(&res, 0x55, sizeof res);
  if (cn_decoder_run(d, outs, NULL, &res, &err))
    fail_msg("run: %s", err.msg);
  assert_int_equal(res.task, CN_TASK_CLASSIFY);
  assert_int_equal(res.nboxes, 0);
}

static void expect_top(int n, const int *cls, const float *prob) {
  assert_int_equal(res.ntop, n);
  for (int i = 0; i < n; i++) {
    assert_int_equal(res.top[i].cls, cls[i]);
    assert_float_equal(res.top[i].prob, prob[i], 1e-6);
  }
}

static void test_classify(void **state) {
  (void)state;
  cn_model_t *m = model("cls5.onnx");
  cn_decoder_t *d = decoder(m, NULL); /* one [1,C] output: classify */
  assert_string_equal(cn_decoder_kind(d), "classify");
  assert_int_equal(cn_decoder_task(d), CN_TASK_CLASSIFY);
  assert_int_equal(cn_decoder_num_classes(d), 5);

  /* Already probabilities: used as they are. */
  const float p[5] = {0.1f, 0.2f, 0.05f, 0.6f, 0.05f};
  classify(d, p);
  expect_top(3, (int[]){3, 1, 0}, (float[]){0.6f, 0.2f, 0.1f});
  /* Ties keep the lower class first. */
  const float t[5] = {0.25f, 0.25f, 0.5f, 0, 0};
  classify(d, t);
  expect_top(3, (int[]){2, 0, 1}, (float[]){0.5f, 0.25f, 0.25f});
  /* Logits 1, 2, 3: e^3 / (e + e^2 + e^3) = 0.66524096 and so on. */
  const float l[5] = {1, 2, 3, -INFINITY, -INFINITY};
  classify(d, l);
  expect_top(3, (int[]){2, 1, 0},
             (float[]){0.66524096f, 0.24472847f, 0.09003057f});
  /* The same shifted by 1000: no overflow. */
  const float big[5] = {1000, 1001, 1002, -1e30f, -1e30f};
  classify(d, big);
  expect_top(3, (int[]){2, 1, 0},
             (float[]){0.66524096f, 0.24472847f, 0.09003057f});
  /* In [0,1] but not summing to 1: softmaxed. e^0.5 / (3 e^0.5 + 2). */
  const float h[5] = {0.5f, 0.5f, 0.5f, 0, 0};
  classify(d, h);
  float e = expf(0.5f), q = e / (3 * e + 2);
  expect_top(3, (int[]){0, 1, 2}, (float[]){q, q, q});
  /* NaN is never ranked. */
  const float n[5] = {NAN, 0.2f, NAN, 0.8f, NAN};
  classify(d, n);
  assert_int_equal(res.ntop, 2);
  assert_int_equal(res.top[0].cls, 3);
  assert_int_equal(res.top[1].cls, 1);
  cn_decoder_destroy(d);

  /* top_k larger than the classes; an explicit output among several. */
  cn_model_t *m2 = model("two.onnx");
  cn_decoder_opts_t o;
  cn_decoder_opts_default(&o);
  o.kind = "classify";
  o.top_k = 5;
  expect_create_error(&o, m2, "model has 2 outputs: pass --output NAME");
  o.output = "nope";
  expect_create_error(&o, m2, "no output 'nope' (it has feat, logits)");
  o.output = "feat";
  expect_create_error(&o, m2, "output 'feat' is shaped [1,4,2,2], not [1,C]");
  o.output = "logits";
  cn_err_t err = {0};
  assert_int_equal(cn_decoder_create(&o, m2, &d, &err), 0);
  float x[2] = {0, 0}, feat[16] = {0};
  const float *outs[2] = {feat, x};
  assert_int_equal(cn_decoder_run(d, outs, NULL, &res, &err), 0);
  expect_top(2, (int[]){0, 1}, (float[]){0.5f, 0.5f});
  cn_decoder_destroy(d);
  cn_model_free(m2);
  cn_model_free(m);
}

/* ---- NMS ----------------------------------------------------------------- */

static cn_box_t box(float x, float y, float w, float h, float s, int cls) {
  cn_box_t b;
  memset(&b, 0, sizeof b);
  b.x = x, b.y = y, b.w = w, b.h = h, b.score = s, b.cls = cls;
  return b;
}

static void test_iou(void **state) {
  (void)state;
  cn_box_t a = box(0, 0, 10, 10, 1, 0), b = box(5, 0, 10, 10, 1, 0);
  cn_box_t c = box(1, 1, 10, 10, 1, 0), d = box(100, 100, 10, 10, 1, 0);
  cn_box_t e = box(0, 0, 0, 10, 1, 0), f = box(10, 0, 10, 10, 1, 0);
  assert_float_equal(cn_box_iou(&a, &b), 50.0 / 150.0, 1e-6);
  assert_float_equal(cn_box_iou(&b, &a), 50.0 / 150.0, 1e-6);
  assert_float_equal(cn_box_iou(&a, &c), 81.0 / 119.0, 1e-6);
  assert_float_equal(cn_box_iou(&a, &a), 1.0, 1e-6);
  assert_true(cn_box_iou(&a, &d) == 0.0f);
  assert_true(cn_box_iou(&a, &e) == 0.0f); /* empty */
  assert_true(cn_box_iou(&a, &f) == 0.0f); /* touching */
}

static void expect_scores(const cn_box_t *out, int n, const float *want,
                          int nwant) {
  assert_int_equal(n, nwant);
  for (int i = 0; i < n; i++)
    assert_float_equal(out[i].score, want[i], 1e-6);
}

/* A (0,0,10,10) .9, B (5,0) .8 (IoU 1/3 with A), C (1,1) .7 (IoU 0.68 with
 * A), D far away .6, E = A's box but class 1, .95. */
static void test_nms(void **state) {
  (void)state;
  cn_box_t in[5] = {box(0, 0, 10, 10, 0.9f, 0), box(5, 0, 10, 10, 0.8f, 0),
                    box(1, 1, 10, 10, 0.7f, 0), box(100, 100, 10, 10, 0.6f, 0),
                    box(0, 0, 10, 10, 0.95f, 1)};
  cn_box_t out[5];
  int scratch[5];
  int n = cn_nms(in, 5, 0.5f, true, scratch, out, 5);
  expect_scores(out, n, (float[]){0.95f, 0.9f, 0.8f, 0.6f}, 4);
  assert_int_equal(out[0].cls, 1);
  n = cn_nms(in, 5, 0.5f, false, scratch, out, 5); /* E hides A and C */
  expect_scores(out, n, (float[]){0.95f, 0.8f, 0.6f}, 3);
  n = cn_nms(in, 5, 0.3f, true, scratch, out, 5); /* 1/3 > 0.3: B goes */
  expect_scores(out, n, (float[]){0.95f, 0.9f, 0.6f}, 3);
  n = cn_nms(in, 5, 0.5f, true, scratch, out, 2); /* capped */
  expect_scores(out, n, (float[]){0.95f, 0.9f}, 2);
  assert_int_equal(cn_nms(in, 0, 0.5f, true, scratch, out, 5), 0);

  /* Equal scores: the lower index first. */
  cn_box_t eq[3] = {box(0, 0, 1, 1, 0.5f, 0), box(10, 0, 1, 1, 0.5f, 0),
                    box(20, 0, 1, 1, 0.7f, 0)};
  n = cn_nms(eq, 3, 0.5f, true, scratch, out, 3);
  assert_int_equal(n, 3);
  assert_true(out[0].x == 20 && out[1].x == 0 && out[2].x == 10);
}

/* MediaPipe's weighted NMS: A (0,0,10,10) .9 and B (2,0,10,10) .6 overlap
 * (IoU 80/120); F is alone. Merged: x0 = (0*.9 + 2*.6)/1.5 = 0.8, x1 =
 * (10*.9 + 12*.6)/1.5 = 10.8; keypoint x (5*.9 + 7*.6)/1.5 = 5.8. */
static void test_nms_weighted(void **state) {
  (void)state;
  cn_box_t in[3] = {box(2, 0, 10, 10, 0.6f, 0), box(50, 50, 10, 10, 0.5f, 0),
                    box(0, 0, 10, 10, 0.9f, 0)};
  in[0].nkp = in[1].nkp = in[2].nkp = 1;
  in[0].kp[0][0] = 7, in[0].kp[0][1] = 5;
  in[1].kp[0][0] = 55, in[1].kp[0][1] = 55;
  in[2].kp[0][0] = 5, in[2].kp[0][1] = 5;
  cn_box_t out[3];
  int scratch[3];
  int n = cn_nms_weighted(in, 3, 0.3f, scratch, out, 3);
  assert_int_equal(n, 2);
  assert_float_equal(out[0].score, 0.9, 1e-6);
  assert_float_equal(out[0].x, 0.8, 1e-5);
  assert_float_equal(out[0].w, 10.0, 1e-5);
  assert_float_equal(out[0].y, 0.0, 1e-5);
  assert_float_equal(out[0].h, 10.0, 1e-5);
  assert_int_equal(out[0].nkp, 1);
  assert_float_equal(out[0].kp[0][0], 5.8, 1e-5);
  assert_float_equal(out[0].kp[0][1], 5.0, 1e-5);
  assert_float_equal(out[1].x, 50, 1e-6);
  assert_float_equal(out[1].kp[0][0], 55, 1e-6);
  /* Above the IoU of A and B: nothing merges. */
  n = cn_nms_weighted(in, 3, 0.7f, scratch, out, 3);
  assert_int_equal(n, 3);
  assert_float_equal(out[0].x, 0, 1e-6);
}

/* ---- SSD ------------------------------------------------------------------
 */

static void test_ssd(void **state) {
  (void)state;
  cn_model_t *m = model("ssd.onnx");
  cn_decoder_t *d = decoder(m, NULL);
  assert_string_equal(cn_decoder_kind(d), "ssd");
  assert_int_equal(cn_decoder_task(d), CN_TASK_DETECT);
  const float rows[5][7] = {
      {0, 15, 0.9f, 0.1f, 0.2f, 0.5f, 0.6f},
      {0, 7, 0.3f, 0.1f, 0.1f, 0.2f, 0.2f},    /* below 0.5 */
      {-1, -1, -1, -1, -1, -1, -1},            /* Caffe's padding */
      {0, 2, 0.6f, 0.5f, 0.5f, 1.2f, 0.9f},    /* clipped at the right */
      {0, 15, 0.55f, 0.12f, 0.2f, 0.5f, 0.6f}, /* near the first */
  };
  /* Input 300x300 from a 600x450 frame: 2 and 1.5 pixels per input pixel. */
  cn_xform_t xf = {2, 1.5f, 0, 0, 300, 300, 600, 450};
  const float *outs[1] = {&rows[0][0]};
  cn_err_t err = {0};
  assert_int_equal(cn_decoder_run(d, outs, &xf, &res, &err), 0);
  assert_int_equal(res.task, CN_TASK_DETECT);
  assert_int_equal(res.nboxes, 3); /* no NMS of its own */
  cn_box_t *b = &res.boxes[0];
  assert_int_equal(b->cls, 15);
  assert_float_equal(b->score, 0.9, 1e-6);
  assert_float_equal(b->x, 60, 1e-3);  /* 0.1 * 300 * 2 */
  assert_float_equal(b->y, 90, 1e-3);  /* 0.2 * 300 * 1.5 */
  assert_float_equal(b->w, 240, 1e-3); /* 0.4 * 300 * 2 */
  assert_float_equal(b->h, 180, 1e-3);
  assert_int_equal(b->nkp, 0);
  b = &res.boxes[1];
  assert_int_equal(b->cls, 2);
  assert_float_equal(b->x, 300, 1e-3);
  assert_float_equal(b->w, 300, 1e-3); /* 720 clipped to 600 */
  assert_float_equal(b->y, 225, 1e-3);
  assert_float_equal(b->h, 180, 1e-3);
  assert_float_equal(res.boxes[2].score, 0.55, 1e-6);
  cn_decoder_destroy(d);

  /* Asked for NMS: the 0.55 row overlaps the 0.9 one (IoU 0.95). */
  cn_decoder_opts_t o;
  cn_decoder_opts_default(&o);
  o.kind = "ssd";
  o.nms_iou = 0.5f;
  o.threshold = 0.2f;
  assert_int_equal(cn_decoder_create(&o, m, &d, &err), 0);
  assert_int_equal(cn_decoder_run(d, outs, &xf, &res, &err), 0);
  assert_int_equal(res.nboxes, 3);
  assert_float_equal(res.boxes[0].score, 0.9, 1e-6);
  assert_float_equal(res.boxes[1].score, 0.6, 1e-6);
  assert_float_equal(res.boxes[2].score, 0.3, 1e-6);
  cn_decoder_destroy(d);
  cn_model_free(m);
}

/* ---- YOLO -----------------------------------------------------------------
 */

/* Five boxes (cx, cy, w, h), two classes:
 * 0: (50,50,20,10) class 0 .9          kept
 * 1: (52,50,20,10) class 0 .8          IoU 180/220 with 0: suppressed
 * 2: (52,50,20,10) class 1 .7          kept (other class)
 * 3: (10,10,4,4)   class 0 .2          below 0.25
 * 4: (90,90,10,10) class 1 .6          kept
 * 5-7: nothing (score 0): the box axis is the long one.
 * Input 100x100 from a 200x200 frame: everything doubles. */
#define NB 8
static const float BOXES[NB][4] = {{50, 50, 20, 10},
                                   {52, 50, 20, 10},
                                   {52, 50, 20, 10},
                                   {10, 10, 4, 4},
                                   {90, 90, 10, 10}};
static const float CLS[NB][2] = {
    {0.9f, 0.1f}, {0.8f, 0.05f}, {0.1f, 0.7f}, {0.2f, 0.1f}, {0.3f, 0.6f}};

static void expect_yolo(void) {
  assert_int_equal(res.nboxes, 3);
  const float want[3][6] = {{80, 90, 40, 20, 0.9f, 0},
                            {84, 90, 40, 20, 0.7f, 1},
                            {170, 170, 20, 20, 0.6f, 1}};
  for (int i = 0; i < 3; i++) {
    const cn_box_t *b = &res.boxes[i];
    assert_float_equal(b->x, want[i][0], 1e-3);
    assert_float_equal(b->y, want[i][1], 1e-3);
    assert_float_equal(b->w, want[i][2], 1e-3);
    assert_float_equal(b->h, want[i][3], 1e-3);
    assert_float_equal(b->score, want[i][4], 1e-5);
    assert_int_equal(b->cls, (int)want[i][5]);
  }
}

static void run_yolo(cn_decoder_t *d, const float *t) {
  cn_xform_t xf = {2, 2, 0, 0, 100, 100, 200, 200};
  const float *outs[1] = {t};
  cn_err_t err = {0};
  if (cn_decoder_run(d, outs, &xf, &res, &err))
    fail_msg("%s", err.msg);
  expect_yolo();
}

static void test_yolo(void **state) {
  (void)state;
  /* YOLOv8 as exported: [1, 4+C, N]. */
  cn_model_t *m8 = model("v8.onnx");
  cn_decoder_t *d = decoder(m8, NULL);
  assert_string_equal(cn_decoder_kind(d), "yolo");
  assert_int_equal(cn_decoder_num_classes(d), 2);
  float cols[6 * NB];
  for (int i = 0; i < NB; i++) {
    for (int f = 0; f < 4; f++)
      cols[f * NB + i] = BOXES[i][f];
    cols[4 * NB + i] = CLS[i][0];
    cols[5 * NB + i] = CLS[i][1];
  }
  run_yolo(d, cols);
  cn_decoder_destroy(d);

  /* The transpose [1, N, 4+C] as YOLOv8 when asked. */
  cn_model_t *mr = model("v8t.onnx");
  d = decoder(mr, "yolov8");
  float rows[NB * 6];
  for (int i = 0; i < NB; i++) {
    memcpy(&rows[i * 6], BOXES[i], sizeof BOXES[i]);
    rows[i * 6 + 4] = CLS[i][0];
    rows[i * 6 + 5] = CLS[i][1];
  }
  run_yolo(d, rows);
  cn_decoder_destroy(d);

  /* YOLOv5 [1, N, 5+C]: the same scores as objectness x class. */
  cn_model_t *m5 = model("v5.onnx");
  d = decoder(m5, NULL);
  assert_int_equal(cn_decoder_num_classes(d), 2);
  const float obj[NB] = {0.9f, 0.8f, 1.0f, 0.2f, 0.6f};
  const float c5[NB][2] = {{1, 0.1f}, {1, 0}, {0.1f, 0.7f}, {1, 1}, {0, 1}};
  float r5[NB * 7];
  for (int i = 0; i < NB; i++) {
    memcpy(&r5[i * 7], BOXES[i], sizeof BOXES[i]);
    r5[i * 7 + 4] = obj[i];
    r5[i * 7 + 5] = c5[i][0];
    r5[i * 7 + 6] = c5[i][1];
  }
  run_yolo(d, r5);
  cn_decoder_destroy(d);

  cn_decoder_opts_t o;
  cn_decoder_opts_default(&o);
  o.kind = "yolov5";
  expect_create_error(&o, m8, "YOLOv5 rows");
  cn_model_t *sq = model("sq.onnx");
  o.kind = "yolo";
  expect_create_error(&o, sq, "ambiguous");
  o.kind = NULL;
  expect_create_error(&o, sq, "cannot tell the task");
  cn_model_free(sq);
  cn_model_free(m8);
  cn_model_free(mr);
  cn_model_free(m5);
}

/* ---- BlazeFace -------------------------------------------------------------
 */

/* Anchor 107: the 16x16 grid's cell (5, 3), second anchor, centre (44, 28)
 * in a 128 input; raw score 2 (sigmoid 0.88079708); box offsets (1, -2),
 * size 20 x 24: x 35, y 14. Anchor 106 (same cell) raw 1 (0.73105858),
 * offset (3, -2): x 37, overlapping it (IoU 432/528), merged by weight.
 * Anchor 654 = 512 + 6 * (2 * 8 + 7) + 4: the 8x8 grid's cell (7, 2),
 * centre (120, 40); raw 3 (0.95257413); 16 x 16 at offset 0: x 112. */
static void fill_blazeface(float *scores, float *regs) {
  for (int a = 0; a < 896; a++)
    scores[a] = -50;
  memset(regs, 0, 896 * 16 * sizeof(float));
  scores[107] = 2;
  float r107[16] = {1, -2, 20, 24, -5, -4, 5, -4, 0, 0, 0, 5, -9, 0, 9, 0};
  memcpy(&regs[107 * 16], r107, sizeof r107);
  scores[106] = 1;
  float r106[16] = {3, -2, 20, 24, -3, -4, 7, -4, 2, 0, 2, 5, -7, 0, 11, 0};
  memcpy(&regs[106 * 16], r106, sizeof r106);
  scores[654] = 3;
  regs[654 * 16 + 2] = 16, regs[654 * 16 + 3] = 16;
  scores[10] = NAN; /* ignored */
}

static void expect_blazeface_from(int i) {
  assert_int_equal(res.nboxes, i + 2);
  const cn_box_t *b = &res.boxes[i];
  assert_float_equal(b->score, 0.95257413, 1e-6);
  assert_float_equal(b->x, 112, 1e-4);
  assert_float_equal(b->y, 32, 1e-4);
  assert_float_equal(b->w, 16, 1e-4);
  assert_int_equal(b->nkp, 6);
  assert_float_equal(b->kp[0][0], 120, 1e-4);
  b = &res.boxes[i + 1];
  double s1 = 0.88079708, s2 = 0.73105858, t = s1 + s2;
  assert_float_equal(b->score, s1, 1e-6);
  assert_float_equal(b->x, (35 * s1 + 37 * s2) / t, 1e-4);
  assert_float_equal(b->y, 14, 1e-4);
  assert_float_equal(b->w, 20, 1e-4);
  assert_float_equal(b->h, 24, 1e-4);
  /* Right eye at offset (-5, -4) and (-3, -4) from (44, 28). */
  assert_float_equal(b->kp[0][0], (39 * s1 + 41 * s2) / t, 1e-4);
  assert_float_equal(b->kp[0][1], 24, 1e-4);
  /* Left ear (keypoint 5) at offset (9, 0) and (11, 0). */
  assert_float_equal(b->kp[5][0], (53 * s1 + 55 * s2) / t, 1e-4);
}

static void test_blazeface_split_outputs(void **state) {
  (void)state;
  cn_model_t *m = model("bf4.onnx");
  cn_decoder_t *d = decoder(m, NULL);
  assert_string_equal(cn_decoder_kind(d), "blazeface");
  assert_int_equal(cn_decoder_num_classes(d), 1);
  float *scores = malloc(896 * sizeof(float));
  float *regs = malloc(896 * 16 * sizeof(float));
  assert_true(scores && regs);
  fill_blazeface(scores, regs);
  const float *outs[4] = {scores + 512, regs, scores, regs + 512 * 16};
  cn_xform_t xf = {1, 1, 0, 0, 128, 128, 128, 128};
  cn_err_t err = {0};
  assert_int_equal(cn_decoder_run(d, outs, &xf, &res, &err), 0);
  expect_blazeface_from(0);

  /* No allocation per frame. */
  cn_test_alloc_start();
  for (int i = 0; i < 5; i++)
    assert_int_equal(cn_decoder_run(d, outs, &xf, &res, &err), 0);
  assert_int_equal(cn_test_alloc_stop(), 0);

  /* Letterboxed 512x256 frame: input 4 px per pixel, 32 padding rows on
   * top: the 8x8-grid box's y 32 -> 0, the other (y 14) is clipped. */
  cn_xform_t lb = {4, 4, 0, -128, 128, 128, 512, 256};
  assert_int_equal(cn_decoder_run(d, outs, &lb, &res, &err), 0);
  assert_int_equal(res.nboxes, 2);
  assert_float_equal(res.boxes[0].x, 448, 1e-3);
  assert_float_equal(res.boxes[0].y, 0, 1e-3);
  assert_float_equal(res.boxes[0].h, 64, 1e-3);
  assert_float_equal(res.boxes[1].y, 0, 1e-3);
  assert_float_equal(res.boxes[1].h, (14 + 24) * 4 - 128, 1e-3);
  assert_float_equal(res.boxes[0].kp[0][1], 40 * 4 - 128, 1e-3);

  /* A stricter threshold keeps only the best. */
  cn_decoder_destroy(d);
  cn_decoder_opts_t o;
  cn_decoder_opts_default(&o);
  o.threshold = 0.9f;
  assert_int_equal(cn_decoder_create(&o, m, &d, &err), 0);
  assert_int_equal(cn_decoder_run(d, outs, &xf, &res, &err), 0);
  assert_int_equal(res.nboxes, 1);
  cn_decoder_destroy(d);
  free(scores);
  free(regs);
  cn_model_free(m);
}

static void test_blazeface_whole_outputs(void **state) {
  (void)state;
  cn_model_t *m = model("bf2.onnx");
  cn_decoder_t *d = decoder(m, NULL);
  assert_string_equal(cn_decoder_kind(d), "blazeface");
  float *scores = malloc(896 * sizeof(float));
  float *regs = malloc(896 * 16 * sizeof(float));
  assert_true(scores && regs);
  fill_blazeface(scores, regs);
  /* Anchor 300: cell 150 = (6, 9) of the 16x16 grid, centre (52, 76);
   * its raw score is clipped to 100 first: score 1, not NaN. */
  scores[300] = 1e30f;
  regs[300 * 16 + 2] = regs[300 * 16 + 3] = 10;
  /* Anchor 301 has no size: an empty box is no detection. */
  scores[301] = 5;
  const float *outs[2] = {regs, scores};
  cn_xform_t xf = {1, 1, 0, 0, 128, 128, 128, 128};
  cn_err_t err = {0};
  assert_int_equal(cn_decoder_run(d, outs, &xf, &res, &err), 0);
  assert_int_equal(res.nboxes, 3);
  assert_float_equal(res.boxes[0].score, 1.0, 1e-6);
  assert_float_equal(res.boxes[0].x, 47, 1e-4);
  assert_float_equal(res.boxes[0].y, 71, 1e-4);
  expect_blazeface_from(1);
  cn_decoder_destroy(d);
  free(scores);
  free(regs);
  cn_model_free(m);
}

/* What a kind says besides its boxes: BlazeFace's network takes RGB
 * scaled to [-1, 1] and letterboxed (MediaPipe's face_detection graph:
 * ImageToTensorCalculator, keep_aspect_ratio, output_tensor_float_range
 * -1..1) and its one class is a face; the other kinds leave the model's
 * preprocessing and the class names to the user. */
static void test_kind_input_and_class_names(void **state) {
  (void)state;
  cn_model_t *bf = model("bf2.onnx");
  cn_decoder_t *d = decoder(bf, NULL);
  assert_string_equal(cn_decoder_class_name(d, 0), "face");
  assert_null(cn_decoder_class_name(d, 1));
  assert_null(cn_decoder_class_name(d, -1));
  const cn_decoder_input_t *in = cn_decoder_input(d);
  assert_non_null(in);
  cn_preproc_opts_t po;
  cn_preproc_opts_default(&po);
  po.rgb = false;
  po.letterbox = false;
  cn_decoder_apply_input(d, &po);
  assert_true(po.rgb);
  assert_true(po.letterbox);
  for (int c = 0; c < 3; c++) /* 0 -> -1, 255 -> 1 */
    assert_float_equal((0 - po.mean[c]) * po.scale, -1.0, 1e-6);
  assert_float_equal((255 - po.mean[0]) * po.scale, 1.0, 1e-6);
  cn_decoder_destroy(d);
  cn_model_free(bf);

  const char *files[] = {"cls5.onnx", "ssd.onnx", "v5.onnx"};
  const char *kinds[] = {NULL, NULL, "yolov5"};
  for (int i = 0; i < 3; i++) {
    cn_model_t *m = model(files[i]);
    d = decoder(m, kinds[i]);
    assert_null(cn_decoder_class_name(d, 0));
    assert_null(cn_decoder_input(d));
    cn_preproc_opts_t want, got;
    cn_preproc_opts_default(&want);
    got = want;
    cn_decoder_apply_input(d, &got);
    assert_memory_equal(&got, &want, sizeof got);
    cn_decoder_destroy(d);
    cn_model_free(m);
  }
}

/* ---- choosing the decoder ------------------------------------------------ */

static void test_errors(void **state) {
  (void)state;
  cn_model_t *cls = model("c.onnx");
  cn_model_t *two = model("t.onnx");
  cn_decoder_opts_t o;
  cn_decoder_opts_default(&o);
  o.kind = "ssd";
  expect_create_error(&o, cls,
                      "decoder ssd: model has no output shaped "
                      "[1,1,N,7]");
  o.kind = "blazeface";
  expect_create_error(&o, cls,
                      "decoder blazeface: model has no outputs "
                      "shaped [1,A,16] and [1,A,1]");
  o.kind = "yolo";
  expect_create_error(&o, cls, "decoder yolo: model has no output");
  o.kind = "detr";
  expect_create_error(&o, cls, "unknown decoder 'detr'");
  o.kind = NULL;
  o.model_name = "t.onnx";
  expect_create_error(&o, two,
                      "model t.onnx: cannot tell the task from its outputs "
                      "(2 outputs [1,10],[1,20]): pass --task "
                      "classify|detect --decoder blazeface|ssd|yolo");
  o.top_k = 0;
  expect_create_error(&o, cls, "top-k");
  cn_decoder_opts_default(&o);
  o.threshold = 2;
  expect_create_error(&o, cls, "threshold");
  cn_model_free(cls);
  cn_model_free(two);
  cn_decoder_destroy(NULL);
}

/* The preprocessing options a model's input implies. */
static void test_opts_from_model(void **state) {
  (void)state;
  cn_model_t *a = model("nchw.onnx");
  cn_model_t *b = model("nhwc.onnx");
  cn_model_t *c = model("flat.onnx");
  cn_preproc_opts_t o;
  cn_preproc_opts_default(&o);
  assert_int_equal(cn_preproc_opts_from_model(&o, a, 0, NULL), 0);
  assert_int_equal(o.layout, CN_LAYOUT_NCHW);
  assert_int_equal(o.width, 200);
  assert_int_equal(o.height, 224);
  assert_int_equal(o.channels, 3);
  assert_int_equal(cn_preproc_opts_from_model(&o, b, 0, NULL), 0);
  assert_int_equal(o.layout, CN_LAYOUT_NHWC);
  assert_int_equal(o.width, 96);
  assert_int_equal(o.height, 128);
  cn_err_t err = {0};
  assert_int_equal(cn_preproc_opts_from_model(&o, c, 0, &err), CN_EINVAL);
  assert_non_null(strstr(err.msg, "in_z"));
  assert_int_equal(cn_preproc_opts_from_model(&o, c, 1, &err), CN_EINVAL);
  cn_model_free(a);
  cn_model_free(b);
  cn_model_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classify),
      cmocka_unit_test(test_iou),
      cmocka_unit_test(test_nms),
      cmocka_unit_test(test_nms_weighted),
      cmocka_unit_test(test_ssd),
      cmocka_unit_test(test_yolo),
      cmocka_unit_test(test_blazeface_split_outputs),
      cmocka_unit_test(test_blazeface_whole_outputs),
      cmocka_unit_test(test_kind_input_and_class_names),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_opts_from_model),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
