/* The camnet program with a model, end to end on real media: BlazeFace
 * against an independent reference (OpenCV DNN + a numpy decoder), a Caffe
 * GoogLeNet against OpenCV DNN's top-3, the recording, and the bad-input
 * paths. Models come from scripts/fetch-models.sh; tests skip when absent. */
#include "harness.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLAZEFACE "models/blazeface/face_detection_front_128x128_barracuda.onnx"
#define GOOGLENET "models/caffe-googlenet"
#define SKIMAGE "/usr/lib/python3/dist-packages/skimage/data"

static char out[1 << 16];
static char *dir;

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  return dir ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cn_test_rmtree(dir);
  free(dir);
  return 0;
}

static bool have(const char *rel) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", cn_test_source_dir(), rel);
  return access(p, R_OK) == 0;
}

static int camnet(const char *args) {
  return cn_test_sh(out, sizeof out, "cd %s && %s/camnet %s",
                    cn_test_source_dir(), cn_test_build_dir(), args);
}

/* n frames of a photo zoomed and panned, as lossless PNGs, so camnet and
 * the reference see the same pixels. */
static void make_sequence(const char *photo, const char *name, int n, int w,
                          int h) {
  assert_int_equal(
      cn_test_sh(out, sizeof out,
                 "ffmpeg -nostdin -loglevel error -loop 1 -i %s/%s -vf "
                 "\"scale=1024:1024,zoompan=z='1.2+0.02*on':x='iw/2-(iw/zoom/"
                 "2)+8*on':y='ih/2-(ih/zoom/2)':d=1:s=%dx%d\" -frames:v %d "
                 "%s/%s_%%03d.png",
                 SKIMAGE, photo, w, h, n, dir, name),
      0);
}

static json_t *load_jsonl(const char *path, int *n) {
  json_t *all = json_array();
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[1 << 15];
  while (fgets(line, sizeof line, fp)) {
    json_t *rec = json_loads(line, 0, NULL);
    assert_non_null(rec);
    json_array_append_new(all, rec);
  }
  fclose(fp);
  *n = (int)json_array_size(all);
  return all;
}

static double iou(const double a[4], const double b[4]) {
  double x0 = fmax(a[0], b[0]), y0 = fmax(a[1], b[1]);
  double x1 = fmin(a[0] + a[2], b[0] + b[2]);
  double y1 = fmin(a[1] + a[3], b[1] + b[3]);
  double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

static void test_blazeface_matches_reference_on_every_frame(void **state) {
  (void)state;
  if (!have(BLAZEFACE))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", BLAZEFACE);
  make_sequence("astronaut.png", "face", 6, 640, 480);
  char args[1024];
  snprintf(args, sizeof args,
           "--headless --every-frame --model %s --json %s/face.jsonl "
           "%s/face_%%03d.png",
           BLAZEFACE, dir, dir);
  assert_int_equal(camnet(args), 0);
  char path[1024];
  snprintf(path, sizeof path, "%s/face.jsonl", dir);
  int n;
  json_t *recs = load_jsonl(path, &n);
  assert_int_equal(n, 6); /* every frame inferred, once */
  for (int i = 0; i < n; i++) {
    json_t *rec = json_array_get(recs, (size_t)i);
    assert_int_equal(json_integer_value(json_object_get(rec, "frame")), i + 1);
    assert_true(json_real_value(json_object_get(rec, "infer_ms")) > 0);
    json_t *boxes = json_object_get(rec, "boxes");
    assert_int_equal(json_array_size(boxes), 1);
    json_t *b = json_array_get(boxes, 0);
    double mine[4] = {json_number_value(json_object_get(b, "x")),
                      json_number_value(json_object_get(b, "y")),
                      json_number_value(json_object_get(b, "w")),
                      json_number_value(json_object_get(b, "h"))};
    json_t *kps = json_object_get(b, "keypoints");
    assert_int_equal(json_array_size(kps), 6);
    /* Without --labels the one class is named by the decoder. */
    assert_int_equal(json_integer_value(json_object_get(b, "class")), 0);
    assert_string_equal(json_string_value(json_object_get(b, "label")), "face");
    /* The reference on the same picture: one line of 17 numbers per
     * face (libpng warnings are other lines). */
    assert_int_equal(cn_test_sh(out, sizeof out,
                                "cd %s && /usr/bin/python3 "
                                "tests/vision/blazeface_ref.py %s "
                                "%s/face_%03d.png",
                                cn_test_source_dir(), BLAZEFACE, dir, i + 1),
                     0);
    double ref[17];
    int nref = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
      double v[17];
      char tail;
      int got = sscanf(line,
                       "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf "
                       "%lf %lf %lf %lf %c",
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
                       &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14],
                       &v[15], &v[16], &tail);
      if (got == 17 && nref++ == 0)
        memcpy(ref, v, sizeof ref);
    }
    /* As many faces as the reference finds. */
    assert_int_equal(nref, (int)json_array_size(boxes));
    /* Tolerances from what is achieved on these frames (IoU 0.998 or
     * better, scores 0.0003 apart, keypoints within 0.2 px): a 1-pixel
     * shift of this ~100-pixel box costs IoU 0.02. */
    double iou_v = iou(mine, ref + 1),
           score = json_number_value(json_object_get(b, "score"));
    double worst = 0;
    for (int k = 0; k < 6; k++) {
      json_t *kp = json_array_get(kps, (size_t)k);
      double dx = json_number_value(json_array_get(kp, 0)) - ref[5 + 2 * k],
             dy = json_number_value(json_array_get(kp, 1)) - ref[6 + 2 * k];
      worst = fmax(worst, sqrt(dx * dx + dy * dy));
    }
    print_message("frame %d: IoU %.4f, score %.4f vs %.4f, keypoints within "
                  "%.2f px\n",
                  i + 1, iou_v, score, ref[0], worst);
    if (iou_v < 0.99 || fabs(score - ref[0]) > 0.002 || worst > 2.0)
      fail_msg("frame %d: IoU %.4f, score %.4f vs %.4f, a keypoint %.2f px "
               "away (camnet %.1f %.1f %.1f %.1f, reference %.1f %.1f %.1f "
               "%.1f)",
               i + 1, iou_v, score, ref[0], worst, mine[0], mine[1], mine[2],
               mine[3], ref[1], ref[2], ref[3], ref[4]);
  }
  json_decref(recs);
}

static void test_blazeface_finds_nothing_without_faces(void **state) {
  (void)state;
  if (!have(BLAZEFACE))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", BLAZEFACE);
  make_sequence("coffee.png", "cup", 3, 640, 480);
  char args[1024];
  snprintf(args, sizeof args,
           "--headless --every-frame --model %s --json %s/cup.jsonl "
           "%s/cup_%%03d.png",
           BLAZEFACE, dir, dir);
  assert_int_equal(camnet(args), 0);
  char path[1024];
  snprintf(path, sizeof path, "%s/cup.jsonl", dir);
  int n;
  json_t *recs = load_jsonl(path, &n);
  assert_int_equal(n, 3);
  for (int i = 0; i < n; i++)
    assert_int_equal(json_array_size(json_object_get(
                         json_array_get(recs, (size_t)i), "boxes")),
                     0);
  json_decref(recs);
}

/* Two sources, one model: each source's frames are all inferred, once,
 * and each record carries its own source's result (faces on one, none on
 * the other), so results never cross between sources. */
static void test_two_sources_keep_their_own_results(void **state) {
  (void)state;
  if (!have(BLAZEFACE))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", BLAZEFACE);
  make_sequence("astronaut.png", "two_face", 5, 640, 480);
  make_sequence("coffee.png", "two_cup", 4, 320, 240);
  /* A label file names the class instead of the decoder. */
  assert_int_equal(
      cn_test_sh(out, sizeof out, "printf 'person\\n' > %s/person.txt", dir),
      0);
  char args[1024];
  snprintf(args, sizeof args,
           "--headless --every-frame --model %s --json %s/two.jsonl "
           "--labels %s/person.txt --snapshot-every 2 --snapshot-dir %s "
           "%s/two_face_%%03d.png %s/two_cup_%%03d.png",
           BLAZEFACE, dir, dir, dir, dir, dir);
  assert_int_equal(camnet(args), 0);
  char summary[sizeof out];
  snprintf(summary, sizeof summary, "%s", out);
  /* Headless, snapshots are of the first source, named with its index
   * (frame numbers repeat across sources): annotated 640x480 pictures. */
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "cd %s && ls camnet-*.png | head -n 1 | xargs "
                              "ffprobe -v error -show_entries "
                              "stream=width,height -of csv=p=0 && ls "
                              "camnet-*.png",
                              dir),
                   0);
  assert_non_null(strstr(out, "640,480"));
  assert_non_null(strstr(out, "camnet-0-0000"));
  assert_null(strstr(out, "camnet-1-"));
  snprintf(out, sizeof out, "%s", summary);
  /* The summary counts the shared model's work for both sources. */
  if (!strstr(out, "9 inferences (5 + 4 by source)"))
    fail_msg("summary: %s", out);
  char path[1024];
  snprintf(path, sizeof path, "%s/two.jsonl", dir);
  int n;
  json_t *recs = load_jsonl(path, &n);
  assert_int_equal(n, 9);
  json_int_t next[2] = {1, 1};
  for (int i = 0; i < n; i++) {
    json_t *rec = json_array_get(recs, (size_t)i);
    json_int_t src = json_integer_value(json_object_get(rec, "source"));
    assert_true(src == 0 || src == 1);
    /* Each source's frames in order, none twice, none missing. */
    assert_int_equal(json_integer_value(json_object_get(rec, "frame")),
                     next[src]++);
    json_t *boxes = json_object_get(rec, "boxes");
    assert_int_equal(json_array_size(boxes), src == 0 ? 1 : 0);
    if (src == 0) {
      /* In the face picture's own pixels (640x480), not the cup's. */
      json_t *b = json_array_get(boxes, 0);
      double x = json_number_value(json_object_get(b, "x"));
      double w = json_number_value(json_object_get(b, "w"));
      assert_true(x > 0 && x + w < 640 && w > 100);
      assert_string_equal(json_string_value(json_object_get(b, "label")),
                          "person");
    }
  }
  assert_int_equal(next[0], 6);
  assert_int_equal(next[1], 5);
  json_decref(recs);
}

/* GoogLeNet (Caffe, generated weights) on 224x224 frames, so no resizing
 * stands between camnet and OpenCV DNN: the same top-3 per frame id. */
static void test_googlenet_top3_matches_opencv(void **state) {
  (void)state;
  if (!have(GOOGLENET "/deploy.prototxt"))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", GOOGLENET);
  make_sequence("chelsea.png", "cat", 4, 224, 224);
  char labels[1024];
  snprintf(labels, sizeof labels, "%s/synset.txt", dir);
  FILE *fp = fopen(labels, "w");
  for (int i = 0; i < 1000; i++)
    fprintf(fp, "n%08d class number %d\n", i, i);
  fclose(fp);
  char args[2048];
  snprintf(args, sizeof args,
           "--headless --every-frame --prototxt %s/deploy.prototxt --model "
           "%s/model.caffemodel --labels %s --mean 104,117,123 --json "
           "%s/cat.jsonl %s/cat_%%03d.png",
           GOOGLENET, GOOGLENET, labels, dir, dir);
  assert_int_equal(camnet(args), 0);
  char path[1024];
  snprintf(path, sizeof path, "%s/cat.jsonl", dir);
  int n;
  json_t *recs = load_jsonl(path, &n);
  assert_int_equal(n, 4);
  for (int i = 0; i < n; i++) {
    assert_int_equal(
        cn_test_sh(
            out, sizeof out,
            "cd %s && /usr/bin/python3 -c \"import cv2, numpy as np; "
            "cv2.setNumThreads(1); "
            "net = cv2.dnn.readNetFromCaffe('%s/deploy.prototxt', "
            "'%s/model.caffemodel'); img = cv2.imread('%s/cat_%03d.png'); "
            "net.setInput(cv2.dnn.blobFromImage(img, 1.0, (224, 224), "
            "(104, 117, 123), False, False)); p = net.forward()."
            "reshape(-1); t = np.argsort(-p)[:3]; "
            "print(' '.join('%%d %%.6f' %% (c, p[c]) for c in t))\"",
            cn_test_source_dir(), GOOGLENET, GOOGLENET, dir, i + 1),
        0);
    int cls[3];
    double prob[3];
    assert_int_equal(sscanf(out, "%d %lf %d %lf %d %lf", &cls[0], &prob[0],
                            &cls[1], &prob[1], &cls[2], &prob[2]),
                     6);
    json_t *top = json_object_get(json_array_get(recs, (size_t)i), "top");
    assert_int_equal(json_array_size(top), 3);
    for (int k = 0; k < 3; k++) {
      json_t *t = json_array_get(top, (size_t)k);
      assert_int_equal(json_integer_value(json_object_get(t, "class")), cls[k]);
      assert_true(fabs(json_number_value(json_object_get(t, "prob")) -
                       prob[k]) < 1e-4 + 1e-3 * prob[k]);
      char expect[64];
      snprintf(expect, sizeof expect, "class number %d", cls[k]);
      assert_string_equal(json_string_value(json_object_get(t, "label")),
                          expect);
    }
  }
  json_decref(recs);
}

/* Offline (--every-frame) and faster than the encoder: no model, 720p.
 * Every frame must still be recorded (the recorder waits instead of
 * dropping, as it does for live sources). */
static void test_offline_recording_keeps_every_frame(void **state) {
  (void)state;
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "ffmpeg -nostdin -v error -f lavfi -i "
                              "testsrc=size=1280x720:rate=30 -frames:v 90 "
                              "-pix_fmt yuv420p %s/fast.mp4",
                              dir),
                   0);
  char args[1024];
  snprintf(args, sizeof args,
           "--headless --every-frame --json %s/fast.jsonl --record "
           "%s/fast_rec.mp4 %s/fast.mp4",
           dir, dir, dir);
  assert_int_equal(camnet(args), 0);
  if (!strstr(out, "recorded 90 frames"))
    fail_msg("%s", out);
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "ffprobe -v error -count_frames -show_entries "
                              "stream=nb_read_frames -of csv=p=0 "
                              "%s/fast_rec.mp4",
                              dir),
                   0);
  assert_int_equal(atoi(out), 90);
}

static void test_recording_has_every_frame_and_the_overlay(void **state) {
  (void)state;
  if (!have(BLAZEFACE))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", BLAZEFACE);
  make_sequence("astronaut.png", "rec", 12, 640, 480);
  char args[1024];
  snprintf(args, sizeof args,
           "--headless --every-frame --fps 24 --model %s --record %s/rec.mp4 "
           "%s/rec_%%03d.png",
           BLAZEFACE, dir, dir);
  assert_int_equal(camnet(args), 0);
  assert_non_null(strstr(out, "recorded 12 frames"));
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "ffprobe -v error -count_frames -select_streams "
                              "v:0 -show_entries stream=codec_name,nb_read_"
                              "frames,r_frame_rate,width,height -of "
                              "default=nw=1 %s/rec.mp4",
                              dir),
                   0);
  assert_non_null(strstr(out, "codec_name=h264"));
  assert_non_null(strstr(out, "width=640"));
  assert_non_null(strstr(out, "r_frame_rate=24/1"));
  assert_non_null(strstr(out, "nb_read_frames=12"));
  /* The status band at the bottom-left: darker than the source there,
   * with white text in it (frame 1 of the video against rec_001.png). */
  const char *crop = "crop=300:20:8:%d";
  char vf[64];
  snprintf(vf, sizeof vf, crop, 480 - 26);
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "ffmpeg -nostdin -loglevel error -i %s/rec.mp4 "
                              "-frames:v 1 -vf %s,format=gray -f rawvideo - | "
                              "od -An -v -tu1 | tr -s ' ' '\\n' | awk 'NF{s+="
                              "$1; if($1>200)w++; n++} END{print s/n, w}'",
                              dir, vf),
                   0);
  double band_mean;
  int white;
  assert_int_equal(sscanf(out, "%lf %d", &band_mean, &white), 2);
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "ffmpeg -nostdin -loglevel error -i "
                              "%s/rec_001.png -vf %s,format=gray -f rawvideo - "
                              "| od -An -v -tu1 | tr -s ' ' '\\n' | awk "
                              "'NF{s+=$1; n++} END{print s/n}'",
                              dir, vf),
                   0);
  double src_mean = atof(out);
  assert_true(white > 20);                /* the text */
  assert_true(band_mean < src_mean - 10); /* the dark band behind it */
}

static void test_bad_inputs_one_line_each(void **state) {
  (void)state;
  /* Missing model. */
  assert_int_equal(
      camnet("--headless --model /nonexistent/m.onnx --frames 1 test:"), 1);
  assert_non_null(strstr(out, "/nonexistent/m.onnx"));
  assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
  if (!have(BLAZEFACE))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", BLAZEFACE);
  /* A decoder that does not fit the model's outputs. */
  char args[4096];
  snprintf(args, sizeof args,
           "--headless --model %s --decoder ssd --frames 1 test:", BLAZEFACE);
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "ssd"));
  assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
  if (!have(GOOGLENET "/deploy.prototxt"))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", GOOGLENET);
  /* Labels shorter than the classes. */
  char labels[1024];
  snprintf(labels, sizeof labels, "%s/short.txt", dir);
  FILE *fp = fopen(labels, "w");
  fputs("cat\ndog\n", fp);
  fclose(fp);
  snprintf(args, sizeof args,
           "--headless --prototxt %s/deploy.prototxt --model "
           "%s/model.caffemodel --labels %s --frames 1 test:",
           GOOGLENET, GOOGLENET, labels);
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "has 2 labels, the model has 1000 classes"));
  /* A mean image of the wrong size. */
  assert_int_equal(
      cn_test_sh(out, sizeof out,
                 "/usr/bin/python3 -c \"import numpy as np; "
                 "np.save('%s/mean.npy', np.zeros((2, 7, 5), np.float32))\"",
                 dir),
      0);
  snprintf(args, sizeof args,
           "--headless --prototxt %s/deploy.prototxt --model "
           "%s/model.caffemodel --mean %s/mean.npy --frames 1 test:",
           GOOGLENET, GOOGLENET, dir);
  /* Sizes are fitted (engine/mean.h); two channels for a colour network
   * cannot be. */
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "mean.npy"));
  assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blazeface_matches_reference_on_every_frame),
      cmocka_unit_test(test_blazeface_finds_nothing_without_faces),
      cmocka_unit_test(test_two_sources_keep_their_own_results),
      cmocka_unit_test(test_googlenet_top3_matches_opencv),
      cmocka_unit_test(test_recording_has_every_frame_and_the_overlay),
      cmocka_unit_test(test_offline_recording_keeps_every_frame),
      cmocka_unit_test(test_bad_inputs_one_line_each),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
