/* BlazeFace end to end on real photos: the npm model (models/blazeface,
 * from scripts/fetch-models.sh), scikit-image's astronaut and coffee
 * photos read through a camnet source, camnet's preprocessing, engine and
 * decoder. The reference is tests/vision/blazeface_ref.py: OpenCV reads
 * and letterboxes the photo, OpenCV DNN runs the model and numpy decodes
 * it, sharing no code with camnet. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "camnet/source.h"
#include "vision/decode.h"
#include "vision/preprocess.h"

#define MODEL "models/blazeface/face_detection_front_128x128_barracuda.onnx"
#define PHOTOS "/usr/lib/python3/dist-packages/skimage/data"

static int file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void need(const char *model, const char *photo) {
  if (!file_exists(model))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", model);
  if (!file_exists(photo))
    CN_TEST_SKIP_MISSING("python3-skimage", "%s", photo);
}

/* The photo as a camnet frame, decoded by the ffmpeg source. */
static cn_frame_t *load_photo(const char *path) {
  cn_source_opts_t so;
  cn_source_opts_default(&so);
  so.uri = path;
  so.every_frame = true;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  if (cn_source_create(&so, &src, &err) || cn_source_start(src, &err))
    fail_msg("%s: %s", path, err.msg);
  cn_frame_t *f = NULL;
  if (cn_source_take(src, 0, 10000000000LL, &f, NULL, &err))
    fail_msg("%s: take: %s", path, err.msg);
  cn_source_destroy(src);
  return f;
}

typedef struct face {
  float score, x, y, w, h, kp[6][2];
} face_t;

/* Runs blazeface_ref.py; returns the faces it prints. */
static int reference(const char *model, const char *photo, face_t *faces,
                     int max) {
  char out[4096];
  if (cn_test_sh(out, sizeof out, "/usr/bin/python3 -c 'import cv2, numpy'"))
    CN_TEST_SKIP_MISSING("python3-opencv",
                         "/usr/bin/python3 has no cv2 for the reference");
  /* Lines that are not 17 numbers (libpng warnings) are skipped. */
  int rc = cn_test_sh(out, sizeof out,
                      "/usr/bin/python3 '%s/tests/vision/blazeface_ref.py' "
                      "'%s' '%s' 2>&1",
                      cn_test_source_dir(), model, photo);
  if (rc)
    fail_msg("blazeface_ref.py: %s", out);
  int n = 0;
  for (char *line = strtok(out, "\n"); line && n < max;
       line = strtok(NULL, "\n")) {
    face_t *f = &faces[n];
    int got = sscanf(line, "%f %f %f %f %f %f %f %f %f %f %f %f %f %f %f %f %f",
                     &f->score, &f->x, &f->y, &f->w, &f->h, &f->kp[0][0],
                     &f->kp[0][1], &f->kp[1][0], &f->kp[1][1], &f->kp[2][0],
                     &f->kp[2][1], &f->kp[3][0], &f->kp[3][1], &f->kp[4][0],
                     &f->kp[4][1], &f->kp[5][0], &f->kp[5][1]);
    if (got == 17)
      n++;
  }
  return n;
}

static cn_result_t res;

/* camnet's whole path: preprocess from the model's input, run, decode. */
static void detect(const char *model_path, const cn_frame_t *f,
                   const char *backend) {
  cn_model_opts_t mo;
  cn_model_opts_default(&mo);
  mo.backend = backend;
  mo.threads = 2;
  cn_model_t *m = NULL;
  cn_err_t err = {0};
  if (cn_model_load(&m, model_path, &mo, &err))
    fail_msg("%s", err.msg);
  cn_preproc_opts_t po;
  cn_preproc_opts_default(&po);
  assert_int_equal(cn_preproc_opts_from_model(&po, m, 0, &err), 0);
  assert_int_equal(po.layout, CN_LAYOUT_NHWC);
  assert_int_equal(po.width, 128);
  po.rgb = true;
  po.letterbox = true;
  for (int c = 0; c < 3; c++)
    po.mean[c] = 127.5f;
  po.scale = 1.0f / 127.5f;
  cn_preproc_t *pp = NULL;
  assert_int_equal(cn_preproc_create(&po, &pp, &err), 0);
  cn_decoder_opts_t dopt;
  cn_decoder_opts_default(&dopt);
  dopt.model_name = model_path;
  cn_decoder_t *d = NULL;
  if (cn_decoder_create(&dopt, m, &d, &err))
    fail_msg("%s", err.msg);
  assert_string_equal(cn_decoder_kind(d), "blazeface");

  float *in = malloc((size_t)cn_preproc_numel(pp) * sizeof(float));
  int nout = cn_model_num_outputs(m);
  float *outs[8] = {0};
  assert_true(in && nout <= 8);
  for (int j = 0; j < nout; j++) {
    outs[j] = malloc((size_t)cn_model_output(m, j)->numel * sizeof(float));
    assert_non_null(outs[j]);
  }
  cn_xform_t xf;
  assert_int_equal(cn_preproc_run(pp, f, in, &xf, &err), 0);
  const float *ins[1] = {in};
  if (cn_model_run(m, ins, outs, &err))
    fail_msg("run: %s", err.msg);
  assert_int_equal(
      cn_decoder_run(d, (const float *const *)outs, &xf, &res, &err), 0);
  for (int j = 0; j < nout; j++)
    free(outs[j]);
  free(in);
  cn_decoder_destroy(d);
  cn_preproc_destroy(pp);
  cn_model_free(m);
}

static float iou(float ax, float ay, float aw, float ah, float bx, float by,
                 float bw, float bh) {
  float x0 = fmaxf(ax, bx), y0 = fmaxf(ay, by);
  float x1 = fminf(ax + aw, bx + bw), y1 = fminf(ay + ah, by + bh);
  float inter = fmaxf(0, x1 - x0) * fmaxf(0, y1 - y0);
  return inter / (aw * ah + bw * bh - inter);
}

static void astronaut(const char *backend) {
  char model[1024];
  snprintf(model, sizeof model, "%s/" MODEL, cn_test_source_dir());
  const char *photo = PHOTOS "/astronaut.png";
  need(model, photo);
  /* The reference once for both backends: OpenCV takes seconds to start
   * on a loaded machine. */
  static face_t ref[8];
  static int nref = -1;
  if (nref < 0)
    nref = reference(model, photo, ref, 8);
  cn_frame_t *f = load_photo(photo);
  assert_int_equal(f->width, 512);
  assert_int_equal(f->height, 512);
  detect(model, f, backend);
  cn_frame_unref(&f);

  int strong = 0;
  for (int i = 0; i < res.nboxes; i++) {
    const cn_box_t *b = &res.boxes[i];
    print_message("camnet (%s): %.3f box %.1f %.1f %.1f %.1f\n",
                  backend ? backend : "default", (double)b->score, (double)b->x,
                  (double)b->y, (double)b->w, (double)b->h);
    strong += b->score > 0.75f;
  }
  for (int i = 0; i < nref; i++)
    print_message("reference: %.3f box %.1f %.1f %.1f %.1f\n",
                  (double)ref[i].score, (double)ref[i].x, (double)ref[i].y,
                  (double)ref[i].w, (double)ref[i].h);
  assert_int_equal(strong, 1);
  assert_true(nref >= 1 && ref[0].score > 0.75f);
  /* The same faces as the reference, above the same threshold. */
  assert_int_equal(res.nboxes, nref);
  const cn_box_t *b = &res.boxes[0];
  /* The face in astronaut.png spans about x 180..275, y 80..178. */
  float cx = b->x + b->w / 2, cy = b->y + b->h / 2;
  assert_true(cx > 200 && cx < 255 && cy > 105 && cy < 155);
  assert_true(b->w > 70 && b->w < 130 && b->h > 70 && b->h < 130);
  float v = iou(b->x, b->y, b->w, b->h, ref[0].x, ref[0].y, ref[0].w, ref[0].h);
  print_message("IoU with the reference: %.4f, score %.4f vs %.4f\n", (double)v,
                (double)b->score, (double)ref[0].score);
  /* Tolerances from what is achieved on this photo (IoU 0.998, score
   * 0.0006 apart, keypoints within 0.1 px), with room for float
   * rounding between backends and nothing more: on this 94-pixel box a
   * 1-pixel shift already costs IoU 0.02. */
  if (v < 0.99f)
    fail_msg("IoU %.4f < 0.99", (double)v);
  if (fabsf(b->score - ref[0].score) > 0.002f)
    fail_msg("score %.4f, reference %.4f", (double)b->score,
             (double)ref[0].score);
  /* The six keypoints (eyes, nose, mouth, ears) within 2 px of the
   * reference's, and the right eye (of the person) left of the left eye. */
  assert_int_equal(b->nkp, 6);
  float worst = 0;
  for (int k = 0; k < 6; k++) {
    float dx = b->kp[k][0] - ref[0].kp[k][0],
          dy = b->kp[k][1] - ref[0].kp[k][1];
    worst = fmaxf(worst, sqrtf(dx * dx + dy * dy));
    if (sqrtf(dx * dx + dy * dy) > 2.0f)
      fail_msg("keypoint %d: (%.1f, %.1f), reference (%.1f, %.1f)", k,
               (double)b->kp[k][0], (double)b->kp[k][1],
               (double)ref[0].kp[k][0], (double)ref[0].kp[k][1]);
  }
  print_message("keypoints at most %.2f px from the reference's\n",
                (double)worst);
  assert_true(b->kp[0][0] < b->kp[1][0]);
}

static void test_astronaut(void **state) {
  (void)state;
  astronaut(NULL);
}

static void test_astronaut_ref_backend(void **state) {
  (void)state;
  astronaut("ref");
}

/* No face in the coffee cup: nothing above the threshold, as the
 * reference agrees. */
static void test_coffee(void **state) {
  (void)state;
  char model[1024];
  snprintf(model, sizeof model, "%s/" MODEL, cn_test_source_dir());
  const char *photo = PHOTOS "/coffee.png";
  need(model, photo);
  face_t ref[8];
  int nref = reference(model, photo, ref, 8);
  assert_int_equal(nref, 0);
  cn_frame_t *f = load_photo(photo);
  assert_int_equal(f->width, 600);
  assert_int_equal(f->height, 400);
  detect(model, f, NULL);
  cn_frame_unref(&f);
  for (int i = 0; i < res.nboxes; i++)
    print_message("unexpected: %.3f box %.1f %.1f %.1f %.1f\n",
                  (double)res.boxes[i].score, (double)res.boxes[i].x,
                  (double)res.boxes[i].y, (double)res.boxes[i].w,
                  (double)res.boxes[i].h);
  assert_int_equal(res.task, CN_TASK_DETECT);
  assert_int_equal(res.nboxes, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_astronaut),
      cmocka_unit_test(test_astronaut_ref_backend),
      cmocka_unit_test(test_coffee),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
