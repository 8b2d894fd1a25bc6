/* The FFmpeg source backend, through the public source API, on media made
 * by ffmpeg whose every picture carries its frame number (media.h). */
#include "harness.h"
#include "sources/source_internal.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "camnet/clock.h"
#include "core/pattern.h"
#include "media.h"
#include "camnet/source.h"

#define W 320
#define H 240
#define MAX_FRAMES 400

static char *dir; /* made once by group_setup, shared by all tests */

static const char *path(const char *name) {
  static char buf[8][1024];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, sizeof buf[0], "%s/%s", dir, name);
  return p;
}

/* Overwrites the headers of every JPEG in an AVI except the first, so
 * that those pictures cannot be decoded while the container stays
 * intact. */
static int corrupt_jpegs(const char *in, const char *out) {
  FILE *f = fopen(in, "rb");
  if (!f)
    return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n);
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(b);
    return -1;
  }
  fclose(f);
  int seen = 0;
  for (long i = 0; i + 1024 < n; i++) {
    if (b[i] == 0xff && b[i + 1] == 0xd8 && b[i + 2] == 0xff) {
      if (seen++)
        memset(b + i + 2, 0, 1000);
      i += 2;
    }
  }
  f = fopen(out, "wb");
  int rc = f && fwrite(b, 1, (size_t)n, f) == (size_t)n && seen == 30 ? 0 : -1;
  if (f)
    fclose(f);
  free(b);
  return rc;
}

static int group_setup(void **state) {
  (void)state;
  if (!cn_test_have("ffmpeg")) {
    fprintf(stderr, "no ffmpeg on PATH: cannot make test media\n");
    return -1;
  }
  dir = cn_test_mkdtemp();
  if (!dir)
    return -1;
  int rc = 0;
  rc |= cn_media_h264_mp4(path("h264_30.mp4"), W, H, 25, 30);
  rc |= cn_media_h264_mp4(path("h264_50.mp4"), W, H, 25, 50);
  rc |= cn_media_h264_mp4(path("h264_10.mp4"), W, H, 25, 10);
  rc |= cn_media_h264_mp4(path("long.mp4"), 160, 120, 25, 250);
  rc |= cn_media_mjpeg_avi(path("mjpeg_30.avi"), W, H, 25, 30);
  rc |= corrupt_jpegs(path("mjpeg_30.avi"), path("bad_30.avi"));
  rc |= mkdir(path("seq"), 0755) | mkdir(path("jpgdir"), 0755) |
        mkdir(path("emptydir"), 0755);
  rc |= cn_media_images(path("seq/img_%04d.png"), W, H, 12);
  rc |= cn_media_images(path("jpgdir/f_%03d.jpg"), W, H, 12);
  rc |= cn_media_image(path("still.png"), W, H, 42);
  /* Raw YUYV, as a V4L2 camera sends it: intra-only, decoded in develop. */
  rc |= cn_media_make(W, H, 25, 0, 20, "-c:v rawvideo -pix_fmt yuyv422 '%s'",
                      path("yuyv.nut"));
  /* JPEGs then PNGs in one directory: the develop decoder must switch. */
  rc |= mkdir(path("mixdir"), 0755);
  rc |= cn_media_make(W, H, 25, 0, 6, "-q:v 2 -f image2 -start_number 0 '%s'",
                      path("mixdir/f_%03d.jpg"));
  rc |= cn_media_make(W, H, 25, 6, 6, "-f image2 -start_number 6 '%s'",
                      path("mixdir/f_%03d.png"));
  rc |= cn_test_sh(NULL, 0,
                   "echo 'not a picture' > '%s/jpgdir/README.txt' && "
                   "echo 'hello, world' > '%s/notes.txt' && "
                   "ffmpeg -nostdin -loglevel error -f lavfi -i sine=d=1 "
                   "'%s/audio.wav'",
                   dir, dir, dir);
  return rc ? -1 : 0;
}

static int group_teardown(void **state) {
  (void)state;
  cn_test_rmtree(dir);
  free(dir);
  return 0;
}

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

/* Takes frames until the end (or max), checking each one's size, and
 * stores their pattern numbers. Returns how many were taken. */
static int take_all(cn_source_t *src, int w, int h, int64_t *nums, int max) {
  uint64_t last = 0;
  int n = 0;
  while (n < max) {
    cn_frame_t *f = NULL;
    cn_err_t err = {0};
    int rc = cn_source_take(src, last, 10 * CN_NS_PER_S, &f, NULL, &err);
    if (rc == CN_EOF)
      break;
    if (rc)
      fail_msg("take: %s", err.msg);
    assert_true(f->seq > last);
    assert_int_equal(f->format, CN_PIX_BGR24);
    assert_int_equal(f->width, w);
    assert_int_equal(f->height, h);
    nums[n++] = cn_pattern_read_bgr(f->data, f->stride, f->width, f->height);
    last = f->seq;
    cn_frame_unref(&f);
  }
  return n;
}

/* Every frame of the file, in order, nothing dropped; returns stats. */
static void every_frame(const char *uri, int out_w, int out_h, int expect,
                        cn_source_stats_t *s) {
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.every_frame = true;
  o.width = out_w;
  o.height = out_h;
  cn_source_t *src = start(uri, &o);
  int64_t nums[MAX_FRAMES];
  /* One given side keeps the aspect ratio (all media here are 4:3). */
  int w = out_w ? out_w : out_h ? out_h * W / H : W;
  int h = out_h ? out_h : out_w ? out_w * H / W : H;
  int n = take_all(src, w, h, nums, MAX_FRAMES);
  for (int i = 0; i < n; i++)
    if (nums[i] != i)
      fail_msg("%s: frame %d carries %lld", uri, i, (long long)nums[i]);
  assert_int_equal(n, expect);
  cn_source_get_stats(src, s);
  assert_int_equal(s->captured, (uint64_t)expect);
  assert_int_equal(s->delivered, (uint64_t)expect);
  assert_int_equal(s->dropped, 0);
  assert_int_equal(s->decode_errors, 0);
  assert_true(s->finished);
  assert_int_equal(s->last_error, 0);
  cn_source_destroy(src);
}

static void test_h264_every_frame(void **state) {
  (void)state;
  cn_source_stats_t s;
  every_frame(path("h264_30.mp4"), 0, 0, 30, &s);
  assert_int_equal(s.width, W);
  assert_int_equal(s.height, H);
  assert_true(fabs(s.fps - 25) < 1e-6);
  assert_string_equal(s.codec, "h264");
}

static void test_mjpeg_avi_every_frame(void **state) {
  (void)state;
  cn_source_stats_t s;
  every_frame(path("mjpeg_30.avi"), 0, 0, 30, &s);
  assert_int_equal(s.width, W);
  assert_int_equal(s.height, H);
  assert_true(fabs(s.fps - 25) < 1e-6);
  assert_string_equal(s.codec, "mjpeg");
}

static void test_png_sequence(void **state) {
  (void)state;
  cn_source_stats_t s;
  every_frame(path("seq/img_%04d.png"), 0, 0, 12, &s);
  assert_int_equal(s.width, W);
  assert_string_equal(s.codec, "png");
  assert_true(fabs(s.fps - 25) < 1e-6); /* the default for images */
}

/* Names sort into frame order; README.txt is not an image and is skipped. */
static void test_jpeg_directory(void **state) {
  (void)state;
  cn_source_stats_t s;
  every_frame(path("jpgdir"), 0, 0, 12, &s);
  assert_int_equal(s.width, W);
  assert_int_equal(s.height, H);
  assert_string_equal(s.codec, "mjpeg");
}

static void test_raw_yuyv(void **state) {
  (void)state;
  cn_source_stats_t s;
  every_frame(path("yuyv.nut"), 0, 0, 20, &s);
  assert_string_equal(s.codec, "rawvideo");
}

static void test_mixed_directory(void **state) {
  (void)state;
  cn_source_stats_t s;
  every_frame(path("mixdir"), 0, 0, 12, &s);
}

static void test_single_png(void **state) {
  (void)state;
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.every_frame = true;
  cn_source_t *src = start(path("still.png"), &o);
  int64_t nums[4];
  assert_int_equal(take_all(src, W, H, nums, 4), 1);
  assert_int_equal(nums[0], 42);
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_string_equal(s.codec, "png");
  assert_int_equal(s.captured, 1);
  cn_source_destroy(src);
}

/* A 2 s clip plays in about 2 s, like a camera; a consumer keeping up
 * sees the frames in order up to the last one. */
static void test_paced_playback_takes_real_time(void **state) {
  (void)state;
  int64_t t0 = cn_clock_now();
  cn_source_t *src = start(path("h264_50.mp4"), NULL);
  int64_t nums[MAX_FRAMES];
  int n = take_all(src, W, H, nums, MAX_FRAMES);
  double secs = cn_ns_to_s(cn_clock_now() - t0);
  fprintf(stderr, "50 frames at 25 fps played in %.2f s, %d taken\n", secs, n);
  assert_true(secs > 1.5 && secs < 4.0);
  assert_true(n > 10);
  for (int i = 1; i < n; i++)
    assert_true(nums[i] > nums[i - 1]);
  assert_int_equal(nums[n - 1], 49); /* the last frame waits in the slot */
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_int_equal(s.captured, 50);
  assert_false(s.online);
  cn_source_destroy(src);
}

/* A consumer needing 100 ms per frame skips frames: newest first, never
 * queued, so what it takes is at most about a frame interval old. */
static void test_paced_slow_consumer_drops(void **state) {
  (void)state;
  cn_source_t *src = start(path("h264_50.mp4"), NULL);
  int64_t nums[MAX_FRAMES], ages[MAX_FRAMES];
  uint64_t last = 0;
  int n = 0;
  for (;;) {
    cn_frame_t *f = NULL;
    int rc = cn_source_take(src, last, 10 * CN_NS_PER_S, &f, NULL, NULL);
    if (rc == CN_EOF)
      break;
    assert_int_equal(rc, 0);
    nums[n] = cn_pattern_read_bgr(f->data, f->stride, f->width, f->height);
    ages[n++] = f->t_take - f->t_capture;
    last = f->seq;
    cn_frame_unref(&f);
    cn_test_sleep_ms(100);
  }
  for (int i = 1; i < n; i++)
    assert_true(nums[i] > nums[i - 1] && nums[i - 1] >= 0);
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_int_equal(s.captured, 50);
  assert_int_equal(s.captured, s.delivered + s.dropped + s.pending);
  assert_int_equal(s.delivered, (uint64_t)n);
  assert_true(s.dropped > 0);
  qsort(ages, (size_t)n, sizeof ages[0], cmp_i64);
  fprintf(stderr, "%d of 50 taken, median age at take %.1f ms\n", n,
          cn_ns_to_ms(ages[n / 2]));
  /* A frame interval is 40 ms; the rest is slack for a busy machine. */
  assert_true(ages[n / 2] < 150 * CN_NS_PER_MS);
  cn_source_destroy(src);
}

/* Intra-only streams are decoded only when taken. Every picture but the
 * first is undecodable: the capture side never notices (no decode
 * error) because it never decodes; each take of such a frame fails and
 * counts. */
static void test_intra_decoded_only_when_taken(void **state) {
  (void)state;
  cn_source_t *src = start(path("bad_30.avi"), NULL);
  cn_source_stats_t s;
  for (int i = 0; i < 100; i++) {
    cn_source_get_stats(src, &s);
    if (s.finished)
      break;
    cn_test_sleep_ms(50);
  }
  assert_true(s.finished);
  assert_int_equal(s.captured, 30);
  assert_int_equal(s.decode_errors, 0);
  assert_int_equal(s.pending, 1); /* the last picture, untaken */
  cn_frame_t *f = NULL;
  cn_err_t err = {0};
  int rc = cn_source_take(src, 0, CN_NS_PER_S, &f, NULL, &err);
  assert_int_equal(rc, CN_EFORMAT);
  assert_null(f);
  assert_non_null(strstr(err.msg, "failed to decode"));
  cn_source_get_stats(src, &s);
  assert_int_equal(s.decode_errors, 1);
  cn_source_destroy(src);

  /* The same stream intact: its last frame develops fine. */
  src = start(path("mjpeg_30.avi"), NULL);
  for (int i = 0; i < 100; i++) {
    cn_source_get_stats(src, &s);
    if (s.finished)
      break;
    cn_test_sleep_ms(50);
  }
  assert_int_equal(cn_source_take(src, 0, CN_NS_PER_S, &f, NULL, NULL), 0);
  assert_int_equal(cn_pattern_read_bgr(f->data, f->stride, f->width, f->height),
                   29);
  cn_frame_unref(&f);
  cn_source_destroy(src);
}

/* A frame taken from the slot undeveloped can be developed after its
 * source is gone: the develop side owns its decoder and parameters. */
static void test_develop_after_destroy(void **state) {
  (void)state;
  const char *uris[] = {path("mjpeg_30.avi"), path("h264_30.mp4")};
  for (int k = 0; k < 2; k++) {
    cn_source_opts_t o;
    cn_source_opts_default(&o);
    o.every_frame = true;
    cn_source_t *src = start(uris[k], &o);
    cn_frame_t *f = NULL;
    assert_int_equal(cn_slot_take(cn_source_slot(src), 0, 10 * CN_NS_PER_S, &f),
                     0);
    assert_int_equal(f->format, CN_PIX_NONE);
    cn_source_destroy(src);
    cn_err_t err = {0};
    assert_int_equal(cn_frame_develop(f, &err), 0);
    assert_int_equal(f->width, W);
    assert_int_equal(
        cn_pattern_read_bgr(f->data, f->stride, f->width, f->height), 0);
    cn_frame_unref(&f);
  }
}

static void check_loop(const char *uri, int len, int want) {
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.every_frame = true;
  o.loop = true;
  cn_source_t *src = start(uri, &o);
  int64_t nums[MAX_FRAMES];
  int n = take_all(src, W, H, nums, want);
  assert_int_equal(n, want);
  for (int i = 0; i < n; i++)
    if (nums[i] != i % len)
      fail_msg("%s: looped frame %d carries %lld", uri, i, (long long)nums[i]);
  cn_source_destroy(src);
}

static void test_loop(void **state) {
  (void)state;
  check_loop(path("h264_10.mp4"), 10, 25);
  check_loop(path("mjpeg_30.avi"), 30, 65);
  check_loop(path("seq/img_%04d.png"), 12, 30);
  check_loop(path("jpgdir"), 12, 30);
}

static void test_loop_single_image(void **state) {
  (void)state;
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.every_frame = true;
  o.loop = true;
  cn_source_t *src = start(path("still.png"), &o);
  int64_t nums[3];
  assert_int_equal(take_all(src, W, H, nums, 3), 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(nums[i], 42);
  cn_source_destroy(src);
}

/* Output scaling on both paths: decoded in capture (H.264) and decoded
 * in develop (MJPEG, PNG). One given side keeps the aspect ratio. */
static void test_scaling(void **state) {
  (void)state;
  cn_source_stats_t s;
  every_frame(path("h264_30.mp4"), 160, 120, 30, &s);
  assert_int_equal(s.width, W); /* stats keep the native size */
  every_frame(path("mjpeg_30.avi"), 160, 120, 30, &s);
  every_frame(path("seq/img_%04d.png"), 160, 0, 12, &s);
  every_frame(path("jpgdir"), 640, 480, 12, &s);
}

/* Open fails with one line naming the URI and the reason. */
static void expect_open_error(const char *uri, int timeout_ms, int code,
                              const char *what) {
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.uri = uri;
  o.rtsp_via = "ffmpeg"; /* this file tests the FFmpeg backend */
  if (timeout_ms)
    o.timeout_ms = timeout_ms;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  int rc = cn_source_create(&o, &src, &err);
  if (rc == 0)
    rc = cn_source_open(src, &err);
  fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  assert_true(strncmp(err.msg, uri, strlen(uri)) == 0);
  assert_non_null(strstr(err.msg, what));
  assert_null(strchr(err.msg, '\n'));
  cn_source_destroy(src);
}

static void test_errors(void **state) {
  (void)state;
  expect_open_error(path("missing.mp4"), 0, CN_ENOENT, "no such file");
  expect_open_error(path("missing.png"), 0, CN_ENOENT, "no such file");
  expect_open_error(path("missing_%04d.png"), 0, CN_ENOENT, "no such file");
  expect_open_error(path("notes.txt"), 0, CN_EFORMAT, "not a video");
  expect_open_error(path("audio.wav"), 0, CN_EFORMAT, "no video stream");
  expect_open_error(path("emptydir"), 0, CN_ENOENT, "no images");
  char uri[128];
  snprintf(uri, sizeof uri, "rtsp://127.0.0.1:%d/x", cn_test_free_port());
  expect_open_error(uri, 0, CN_ECONNREFUSED, "connection refused");
  snprintf(uri, sizeof uri, "http://127.0.0.1:%d/x.mjpg", cn_test_free_port());
  expect_open_error(uri, 0, CN_ECONNREFUSED, "connection refused");
}

static void test_no_such_device(void **state) {
  (void)state;
  struct stat st;
  if (stat("/dev/video9", &st) == 0)
    CN_TEST_SKIP("/dev/video9 exists on this machine");
  expect_open_error("/dev/video9", 0, CN_ENODEV, "no such device");
  /* A character device that is no camera. */
  expect_open_error("/dev/null", 0, CN_ENODEV, "not a V4L2 capture device");
}

/* A server that accepts connections and never answers: the open gives
 * up after timeout_ms instead of hanging. */
static void test_stalled_server_times_out(void **state) {
  (void)state;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 4), 0); /* the kernel accepts; we never read */
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  const char *schemes[] = {"rtsp", "http"};
  for (int i = 0; i < 2; i++) {
    char uri[128];
    snprintf(uri, sizeof uri, "%s://127.0.0.1:%d/x", schemes[i],
             ntohs(a.sin_port));
    int64_t t0 = cn_clock_now();
    expect_open_error(uri, 500, CN_ETIMEDOUT, "timed out");
    double secs = cn_ns_to_s(cn_clock_now() - t0);
    fprintf(stderr, "%s gave up after %.2f s\n", schemes[i], secs);
    assert_true(secs >= 0.4 && secs < 3.0);
  }
  close(fd);
}

/* stop() ends a paced playback at once, not at the end of the file. */
static void test_stop_is_prompt(void **state) {
  (void)state;
  cn_source_t *src = start(path("long.mp4"), NULL);
  cn_frame_t *f = NULL;
  assert_int_equal(cn_source_take(src, 0, 5 * CN_NS_PER_S, &f, NULL, NULL), 0);
  cn_frame_unref(&f);
  int64_t t0 = cn_clock_now();
  cn_source_stop(src);
  assert_true(cn_clock_now() - t0 < 500 * CN_NS_PER_MS);
  cn_source_destroy(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_h264_every_frame),
      cmocka_unit_test(test_mjpeg_avi_every_frame),
      cmocka_unit_test(test_png_sequence),
      cmocka_unit_test(test_jpeg_directory),
      cmocka_unit_test(test_raw_yuyv),
      cmocka_unit_test(test_mixed_directory),
      cmocka_unit_test(test_single_png),
      cmocka_unit_test(test_paced_playback_takes_real_time),
      cmocka_unit_test(test_paced_slow_consumer_drops),
      cmocka_unit_test(test_intra_decoded_only_when_taken),
      cmocka_unit_test(test_develop_after_destroy),
      cmocka_unit_test(test_loop),
      cmocka_unit_test(test_loop_single_image),
      cmocka_unit_test(test_scaling),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_no_such_device),
      cmocka_unit_test(test_stalled_server_times_out),
      cmocka_unit_test(test_stop_is_prompt),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
