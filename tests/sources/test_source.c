/* The generic capture thread, driven by the synthetic test: source. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camnet/clock.h"
#include "core/pattern.h"
#include "camnet/source.h"

static cn_source_t *start(const char *uri, cn_source_opts_t *o) {
  cn_source_opts_t d;
  if (!o) {
    cn_source_opts_default(&d);
    o = &d;
  }
  o->uri = uri;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  int rc = cn_source_create(o, &src, &err);
  if (rc == 0)
    rc = cn_source_start(src, &err);
  if (rc)
    fail_msg("%s", err.msg);
  return src;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* A 100 fps camera and a consumer that needs 35 ms per frame. */
static void test_slow_consumer_gets_newest_frames(void **state) {
  (void)state;
  cn_source_t *src = start("test:320x240@100", NULL);
  uint64_t last = 0;
  int64_t ages[40];
  int n = 0;
  while (n < 40) {
    cn_frame_t *f = NULL;
    cn_err_t err = {0};
    assert_int_equal(cn_source_take(src, last, 2 * CN_NS_PER_S, &f, NULL, &err),
                     0);
    assert_true(f->seq > last);
    assert_int_equal(f->width, 320);
    assert_int_equal(f->height, 240);
    assert_int_equal(f->format, CN_PIX_BGR24);
    /* The pixels are the frame they claim to be. */
    assert_int_equal(
        cn_pattern_read_bgr(f->data, f->stride, f->width, f->height),
        (int64_t)f->seq);
    assert_true(f->t_capture <= f->t_take && f->t_take <= f->t_develop);
    ages[n++] = f->t_take - f->t_capture;
    last = f->seq;
    cn_frame_unref(&f);
    cn_test_sleep_ms(35);
  }
  cn_source_stop(src);
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_int_equal(s.delivered, 40);
  assert_int_equal(s.captured, s.delivered + s.dropped + s.pending);
  assert_true(s.dropped >= 40); /* about 2.5 per taken frame */
  assert_true(s.cpu_ns > 0);
  assert_int_equal(s.width, 320);
  assert_string_equal(s.codec, "pattern");
  qsort(ages, (size_t)n, sizeof ages[0], cmp_i64);
  /* One frame interval (10 ms) plus generous scheduling slack. */
  assert_true(ages[n / 2] <= 10 * CN_NS_PER_MS + 15 * CN_NS_PER_MS);
  cn_source_destroy(src);
}

/* A consumer faster than the camera waits; it never gets a frame twice. */
static void test_fast_consumer_waits_for_next_frame(void **state) {
  (void)state;
  cn_source_t *src = start("test:160x120@50", NULL);
  uint64_t last = 0;
  for (int i = 0; i < 25; i++) {
    cn_frame_t *f = NULL;
    assert_int_equal(cn_source_take(src, last, 2 * CN_NS_PER_S, &f, NULL, NULL),
                     0);
    assert_true(f->seq > last);
    last = f->seq;
    cn_frame_unref(&f);
  }
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  /* Nearly every frame is taken: the consumer keeps up. */
  assert_true(s.delivered >= 25 && s.dropped <= 3);
  cn_source_destroy(src);
}

/* stop() wakes a consumer blocked forever, and frames outlive the source. */
static void test_stop_wakes_consumer_and_frames_outlive_source(void **state) {
  (void)state;
  cn_source_t *src = start("test:160x120@5", NULL);
  cn_frame_t *keep = NULL;
  assert_int_equal(cn_source_take(src, 0, 2 * CN_NS_PER_S, &keep, NULL, NULL),
                   0);
  cn_frame_t *f = NULL;
  /* Ask for a frame far in the future, then stop: EOF, promptly. */
  int64_t t0 = cn_clock_now();
  cn_source_stop(src);
  assert_int_equal(cn_source_take(src, 1000000, -1, &f, NULL, NULL), CN_EOF);
  assert_true(cn_clock_now() - t0 < CN_NS_PER_S);
  cn_source_destroy(src);
  /* Still readable after destroy; freed with the last reference (ASan). */
  assert_int_equal(
      cn_pattern_read_bgr(keep->data, keep->stride, keep->width, keep->height),
      (int64_t)keep->seq);
  cn_frame_unref(&keep);
}

static void test_options_override_size_and_rate(void **state) {
  (void)state;
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.width = 200;
  o.height = 100;
  cn_source_t *src = start("test:", &o);
  cn_frame_t *f = NULL;
  assert_int_equal(cn_source_take(src, 0, 2 * CN_NS_PER_S, &f, NULL, NULL), 0);
  assert_int_equal(f->width, 200);
  assert_int_equal(f->height, 100);
  assert_false(isnan(f->pts));
  cn_frame_unref(&f);
  cn_source_destroy(src);
}

static void test_bad_test_uri(void **state) {
  (void)state;
  const char *bad[] = {"test:abc", "test:10x10", "test:640x480@0",
                       "test:640x480@30fps"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cn_source_opts_t o;
    cn_source_opts_default(&o);
    o.uri = bad[i];
    cn_source_t *src = NULL;
    cn_err_t err = {0};
    assert_int_equal(cn_source_create(&o, &src, &err), CN_EINVAL);
    assert_null(src);
    assert_non_null(strstr(err.msg, bad[i]));
    assert_non_null(strstr(err.msg, "expected test:WIDTHxHEIGHT"));
  }
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_source_create(&o, &src, &err), CN_EINVAL);
  assert_string_equal(err.msg, "source: no URI given");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slow_consumer_gets_newest_frames),
      cmocka_unit_test(test_fast_consumer_waits_for_next_frame),
      cmocka_unit_test(test_stop_wakes_consumer_and_frames_outlive_source),
      cmocka_unit_test(test_options_override_size_and_rate),
      cmocka_unit_test(test_bad_test_uri),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
