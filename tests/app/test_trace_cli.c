/* --trace and `camnet timeline` end to end: the real program on a
 * synthetic camera with BlazeFace, its trace read back with jansson, and
 * the picture drawn from it. */
#include "harness.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLAZEFACE "models/blazeface/face_detection_front_128x128_barracuda.onnx"

static char out[65536];
static char *dir;

static int camnet(const char *args) {
  return cn_test_sh(out, sizeof out, "cd %s && %s/camnet %s",
                    cn_test_source_dir(), cn_test_build_dir(), args);
}

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cn_test_rmtree(dir);
  free(dir);
  return 0;
}

static const char *str(json_t *e, const char *k) {
  const char *s = json_string_value(json_object_get(e, k));
  return s ? s : "";
}

/* Spans named `name` on the thread named `thread`. */
static int count_on(json_t *ev, const char *name, const char *thread) {
  json_int_t tid = -1;
  size_t i;
  json_t *e;
  json_array_foreach(ev, i, e) {
    if (!strcmp(str(e, "name"), "thread_name") &&
        !strcmp(str(json_object_get(e, "args"), "name"), thread))
      tid = json_integer_value(json_object_get(e, "tid"));
  }
  int n = 0;
  json_array_foreach(ev, i, e) {
    n += !strcmp(str(e, "ph"), "X") && !strcmp(str(e, "name"), name) &&
         json_integer_value(json_object_get(e, "tid")) == tid;
  }
  return n;
}

static void test_trace_of_a_run_and_its_timeline(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", cn_test_source_dir(), BLAZEFACE);
  if (access(path, R_OK))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", BLAZEFACE);
  char args[8192];
  snprintf(args, sizeof args,
           "--headless --frames 20 --model %s --json %s/r.jsonl "
           "--trace %s/t.json test:640x480@30",
           BLAZEFACE, dir, dir);
  assert_int_equal(camnet(args), 0);
  snprintf(path, sizeof path, "%s/t.json", dir);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    fail_msg("%s: %s", path, je.text);
  json_t *ev = json_object_get(root, "traceEvents");
  /* 20 results, each with its stages on the inference thread. */
  assert_int_equal(count_on(ev, "inference", "infer 0"), 20);
  assert_int_equal(count_on(ev, "preprocess", "infer 0"), 20);
  assert_int_equal(count_on(ev, "output json", "infer 0"), 20);
  assert_true(count_on(ev, "capture", "capture 0") >= 20);
  assert_true(count_on(ev, "wait in slot", "slot 0") >= 20);
  /* Every arrow's end has its start. */
  int s = 0, f = 0;
  size_t i;
  json_t *e;
  json_array_foreach(ev, i, e) {
    s += !strcmp(str(e, "ph"), "s");
    f += !strcmp(str(e, "ph"), "f");
  }
  assert_int_equal(s, 20);
  assert_int_equal(f, 20);
  json_decref(root);

  /* Three lanes (capture, slot, inference): the PNG's height says so. */
  snprintf(args, sizeof args, "timeline %s/t.json --out %s/t.png --from 0", dir,
           dir);
  assert_int_equal(camnet(args), 0);
  snprintf(args, sizeof args,
           "python3 -c \"import struct,sys; d=open('%s/t.png','rb').read(24); "
           "print(struct.unpack('>II', d[16:24])[1])\"",
           dir);
  char h[64];
  assert_int_equal(cn_test_sh(h, sizeof h, "%s", args), 0);
  assert_int_equal(atoi(h), 46 + 3 * 34 + 10);
  snprintf(args, sizeof args, "timeline %s/t.json --out %s/t.svg", dir, dir);
  assert_int_equal(camnet(args), 0);
  snprintf(path, sizeof path, "%s/t.svg", dir);
  assert_int_equal(access(path, R_OK), 0);
}

static void test_timeline_usage_and_bad_trace(void **state) {
  (void)state;
  assert_int_equal(camnet("timeline"), 2);
  assert_non_null(strstr(out, "usage: camnet timeline"));
  assert_int_equal(camnet("timeline x.json --out x.gif"), 2);
  char args[8192];
  snprintf(args, sizeof args, "printf '{\"a\":' > %s/bad.json", dir);
  assert_int_equal(cn_test_sh(out, sizeof out, "%s", args), 0);
  snprintf(args, sizeof args, "timeline %s/bad.json --out %s/x.svg", dir, dir);
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "bad.json: line"));
  snprintf(args, sizeof args, "--trace %s/no/such/t.json test:160x120@10", dir);
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "--trace"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_trace_of_a_run_and_its_timeline,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeline_usage_and_bad_trace, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
