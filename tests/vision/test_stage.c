/* The inference stage (vision/stage.h) with the npm BlazeFace on a photo:
 * the stage's result equals the pipeline built by hand with MediaPipe's
 * preprocessing (RGB, letterbox, [-1, 1]), so the stage takes it from the
 * decoder; the user's options override it; the decoder's class name is
 * the label without a file; stages share one model and allocate nothing
 * per frame; errors are the program's one-liners. The result against an
 * independent reference is test_blazeface's and test_program's. */
#include "harness.h"

#include "alloc_count.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "camnet/source.h"
#include "vision/decode.h"
#include "vision/stage_internal.h"

#define MODEL "models/blazeface/face_detection_front_128x128_barracuda.onnx"
#define PHOTO "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

static char model_path[1024];
static cn_frame_t *photo;
static cn_result_t want; /* 24 KB: not on the stack */

static int file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void need_model(void) {
  snprintf(model_path, sizeof model_path, "%s/%s", cn_test_source_dir(), MODEL);
  if (!file_exists(model_path))
    CN_TEST_SKIP("%s is missing (scripts/fetch-models.sh fetches it)", MODEL);
}

/* The photo as a developed camnet frame, decoded by the ffmpeg source. */
static void need_photo(void) {
  need_model();
  if (!file_exists(PHOTO))
    CN_TEST_SKIP("%s is missing (apt-get install python3-skimage)", PHOTO);
  if (photo)
    return;
  cn_source_opts_t so;
  cn_source_opts_default(&so);
  so.uri = PHOTO;
  so.every_frame = true;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  if (cn_source_create(&so, &src, &err) || cn_source_start(src, &err) ||
      cn_source_take(src, 0, 10000000000LL, &photo, NULL, &err) ||
      cn_frame_develop(photo, &err))
    fail_msg("%s: %s", PHOTO, err.msg);
  cn_source_destroy(src);
}

static cn_stage_model_t *open_model(const cn_stage_opts_t *o) {
  cn_stage_model_t *m = NULL;
  cn_err_t err = {0};
  if (cn_stage_model_open(o, &m, &err))
    fail_msg("open: %s", err.msg);
  return m;
}

/* By hand, as MediaPipe feeds BlazeFace: RGB, letterboxed, (v - 127.5) /
 * 127.5; the decoder with its defaults. */
static void by_hand(const cn_model_t *m, cn_result_t *res) {
  cn_preproc_opts_t po;
  cn_preproc_opts_default(&po);
  cn_err_t err = {0};
  assert_int_equal(cn_preproc_opts_from_model(&po, m, 0, &err), 0);
  po.rgb = true;
  po.letterbox = true;
  for (int c = 0; c < 3; c++)
    po.mean[c] = 127.5f;
  po.scale = 1.0f / 127.5f;
  cn_preproc_t *pp = NULL;
  assert_int_equal(cn_preproc_create(&po, &pp, &err), 0);
  cn_decoder_opts_t dopt;
  cn_decoder_opts_default(&dopt);
  cn_decoder_t *d = NULL;
  assert_int_equal(cn_decoder_create(&dopt, m, &d, &err), 0);
  float *in = malloc((size_t)cn_preproc_numel(pp) * sizeof(float));
  int nout = cn_model_num_outputs(m);
  float *outs[8] = {0};
  assert_true(in && nout <= 8);
  for (int j = 0; j < nout; j++)
    assert_non_null(
        outs[j] = malloc((size_t)cn_model_output(m, j)->numel * sizeof(float)));
  cn_xform_t xf;
  const float *ins[1] = {in};
  assert_int_equal(cn_preproc_run(pp, photo, in, &xf, &err), 0);
  /* The stage's model is shared and run from here too: it is read-only. */
  if (cn_model_run((cn_model_t *)m, ins, outs, &err))
    fail_msg("run: %s", err.msg);
  assert_int_equal(
      cn_decoder_run(d, (const float *const *)outs, &xf, res, &err), 0);
  for (int j = 0; j < nout; j++)
    free(outs[j]);
  free(in);
  cn_decoder_destroy(d);
  cn_preproc_destroy(pp);
}

static void expect_same(const cn_result_t *a, const cn_result_t *b) {
  assert_int_equal(a->task, b->task);
  assert_int_equal(a->nboxes, b->nboxes);
  for (int i = 0; i < a->nboxes; i++) {
    assert_float_equal(a->boxes[i].x, b->boxes[i].x, 1e-4);
    assert_float_equal(a->boxes[i].y, b->boxes[i].y, 1e-4);
    assert_float_equal(a->boxes[i].w, b->boxes[i].w, 1e-4);
    assert_float_equal(a->boxes[i].h, b->boxes[i].h, 1e-4);
    assert_float_equal(a->boxes[i].score, b->boxes[i].score, 1e-6);
  }
}

static void test_blazeface_stage(void **state) {
  (void)state;
  need_photo();
  cn_stage_opts_t o;
  cn_stage_opts_default(&o);
  o.model = model_path;
  o.threads = 2;
  cn_stage_model_t *m = open_model(&o);
  assert_int_equal(cn_stage_model_task(m), CN_TASK_DETECT);
  assert_string_equal(cn_stage_model_kind(m), "blazeface");
  assert_string_equal(cn_stage_model_name(m), model_path);
  const cn_labels_t *l = cn_stage_model_labels(m);
  assert_int_equal(cn_labels_count(l), 1);
  assert_string_equal(cn_labels_get(l, 0), "face");
  const cn_preproc_opts_t *pre = cn_stage_model_preproc(m);
  assert_true(pre->rgb && pre->letterbox);
  assert_float_equal(pre->mean[1], 127.5, 1e-6);
  assert_float_equal(pre->scale, 1 / 127.5, 1e-9);

  /* Two stages on one model, as two consumer threads have. */
  cn_stage_t *s[2] = {NULL, NULL};
  cn_err_t err = {0};
  for (int k = 0; k < 2; k++)
    assert_int_equal(cn_stage_create(m, &s[k], &err), 0);
  const cn_result_t *res = NULL;
  assert_int_equal(cn_stage_run(s[0], photo, &res, &err), 0);
  assert_true(photo->t_infer_end >= photo->t_infer_begin &&
              photo->t_infer_begin > 0);
  by_hand(cn_stage_model_handle(m), &want);
  assert_int_equal(want.nboxes, 1); /* the astronaut */
  expect_same(res, &want);
  assert_int_equal(cn_stage_run(s[1], photo, &res, &err), 0);
  expect_same(res, &want);

  /* No allocation per frame. */
  cn_test_alloc_start();
  for (int i = 0; i < 4; i++)
    assert_int_equal(cn_stage_run(s[i & 1], photo, &res, &err), 0);
  assert_int_equal(cn_test_alloc_stop(), 0);
  expect_same(res, &want);
  cn_stage_destroy(s[0]);
  cn_stage_destroy(s[1]);
  cn_stage_model_close(m);
}

/* The user's options come after the decoder's needs; a label file comes
 * before the decoder's names. The caller's strings may go after open. */
static void test_options_override(void **state) {
  (void)state;
  need_model();
  char *dir = cn_test_mkdtemp(), labels[1024], path[1024];
  assert_non_null(dir);
  snprintf(labels, sizeof labels, "%s/l.txt", dir);
  FILE *fp = fopen(labels, "w");
  assert_non_null(fp);
  fputs("person\n", fp);
  fclose(fp);
  snprintf(path, sizeof path, "%s", model_path);
  cn_stage_opts_t o;
  cn_stage_opts_default(&o);
  o.model = path;
  o.labels = labels;
  o.rgb = 0;
  o.mean = "1,2,3";
  o.scale = 0.5f;
  o.std = "2";
  o.decoder = "blazeface";
  o.threshold = 0.9f;
  cn_stage_model_t *m = open_model(&o);
  memset(path, 'x', 8);
  assert_string_equal(cn_stage_model_name(m), model_path);
  assert_string_equal(cn_labels_get(cn_stage_model_labels(m), 0), "person");
  const cn_preproc_opts_t *pre = cn_stage_model_preproc(m);
  assert_false(pre->rgb);
  assert_true(pre->letterbox); /* no option turns it off */
  assert_float_equal(pre->mean[0], 1, 1e-6);
  assert_float_equal(pre->mean[2], 3, 1e-6);
  assert_float_equal(pre->scale, 0.5, 1e-6);
  assert_float_equal(pre->std[1], 2, 1e-6);
  cn_stage_model_close(m);
  cn_stage_model_close(NULL);
  assert_null(cn_stage_model_labels(NULL));
  cn_test_rmtree(dir);
  free(dir);
}

static void expect_open_error(const cn_stage_opts_t *o, int code,
                              const char *what) {
  cn_stage_model_t *m = (cn_stage_model_t *)1;
  cn_err_t err = {0};
  assert_int_equal(cn_stage_model_open(o, &m, &err), code);
  assert_null(m);
  if (!strstr(err.msg, what))
    fail_msg("'%s' does not say '%s'", err.msg, what);
}

static void test_errors(void **state) {
  (void)state;
  need_model();
  cn_stage_opts_t o;
  cn_stage_opts_default(&o);
  expect_open_error(&o, CN_EINVAL, "no model");
  o.model = model_path;
  o.size = "12";
  expect_open_error(&o, CN_EINVAL, "option --size: '12' is not WxH");
  o.size = NULL;
  o.std = "a,b";
  expect_open_error(&o, CN_EINVAL, "option --std: 'a,b' is not S or B,G,R");
  o.std = NULL;
  o.labels = "/nonexistent/labels.txt";
  expect_open_error(&o, CN_ENOENT, "/nonexistent/labels.txt");
  o.labels = NULL;
  o.task = CN_TASK_CLASSIFY;
  expect_open_error(&o, CN_EINVAL, "decoder classify: model has 4 outputs");
  o.task = CN_TASK_NONE;
  o.size = "64x64"; /* the network's input is fixed at 128x128 */
  expect_open_error(&o, CN_EINVAL, "an image gives one of 12288 (see --size)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blazeface_stage),
      cmocka_unit_test(test_options_override),
      cmocka_unit_test(test_errors),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  cn_frame_unref(&photo);
  return rc;
}
