/* Recorder: canvases carrying pattern numbers and a drawn box go in; the
 * file is read back with ffprobe (codec, frame count, rate, duration) and
 * decoded with ffmpeg, and every decoded picture must carry the number it
 * was pushed with and the box. Pushing never waits for the writer, even
 * while the writer is stuck on a full pipe; bad paths fail at open and a
 * failing encoder reports through push and close. */
#include "harness.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <errno.h>
#include <libavutil/log.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "camnet/clock.h"
#include "core/pattern.h"
#include "camnet/pool.h"
#include "camnet/overlay.h"
#include "camnet/record.h"

#define W 640
#define H 360
/* The box's 2 px strokes cover pixels 200-201 and 440-441 (x), 150-151
 * and 300-301 (y): whole 2x2 chroma blocks, so 4:2:0 keeps its colour. */
#define BX 201
#define BY 151
#define BW 240
#define BH 150

static char *dir;
static cn_pool_t *pool;
static cn_overlay_t *ov;

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  cn_pool_opts_t po = {.max_frames = 64};
  pool = cn_pool_create(&po, NULL);
  return dir && pool && !cn_overlay_create(NULL, &ov, NULL) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cn_overlay_destroy(ov);
  cn_pool_destroy(pool);
  cn_test_rmtree(dir);
  free(dir);
  /* cairo's font cache and fontconfig's configuration are process-wide
   * and live until exit; freed here so the leak checker sees only ours. */
  cairo_debug_reset_static_data();
  FcFini();
  return 0;
}

static cn_frame_t *get_frame(void) {
  for (int i = 0; i < 2000; i++) {
    cn_frame_t *f = cn_pool_get(pool, NULL);
    if (f)
      return f;
    cn_test_sleep_ms(5); /* every frame is queued in the recorder */
  }
  fail_msg("no free frame");
  return NULL;
}

/* A canvas of w x h: the pattern for n on top, grey below, a class-0 box
 * drawn by the overlay (scaled with the picture). */
static cn_frame_t *make_canvas(int w, int h, uint32_t n, double pts,
                               int64_t t_capture) {
  cn_frame_t *src = get_frame();
  assert_int_equal(cn_frame_alloc_pixels(src, w, h, CN_PIX_BGR24, NULL), 0);
  cn_pattern_paint_bgr(src->data, src->stride, w, h, n);
  /* Below the bands (the top eighth), plain grey so the box stands out. */
  for (int y = h / 8; y < h; y++)
    memset(src->data + (size_t)y * (size_t)src->stride, 128, (size_t)w * 3);
  src->seq = n;
  src->pts = pts;
  src->t_capture = t_capture;
  cn_result_t *res = calloc(1, sizeof *res);
  res->task = CN_TASK_DETECT;
  res->nboxes = 1;
  double s = (double)w / W;
  res->boxes[0] = (cn_box_t){.x = (float)(BX * s),
                             .y = (float)(BY * s),
                             .w = (float)(BW * s),
                             .h = (float)(BH * s),
                             .score = 0.9f};
  cn_frame_t *canvas = get_frame();
  cn_err_t err = {0};
  if (cn_overlay_render(ov, src, canvas, res, NULL, &err))
    fail_msg("render: %s", err.msg);
  free(res);
  cn_frame_unref(&src);
  return canvas;
}

/* Pushes until accepted (the test may wait; the recorder must not).
 * Returns how many pushes were refused. */
static int push_all_in(cn_recorder_t *rec, cn_frame_t *canvas) {
  int refused = 0;
  cn_err_t err = {0};
  for (;;) {
    int rc = cn_recorder_push(rec, canvas, &err);
    if (rc == 0)
      return refused;
    if (rc != CN_EAGAIN)
      fail_msg("push: %s", err.msg);
    refused++;
    cn_test_sleep_ms(5);
  }
}

static uint8_t *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
  *n = fread(buf, 1, (size_t)len, f);
  fclose(f);
  return buf;
}

/* ffprobe's view of the video stream: "codec,w,h,r_rate,avg_rate,frames"
 * and the container's duration. */
static void probe(const char *path, char *stream, size_t n, double *dur) {
  char out[1024];
  int rc = cn_test_sh(stream, n,
                      "ffprobe -v error -count_frames -select_streams v:0 "
                      "-show_entries stream=codec_name,width,height,"
                      "r_frame_rate,avg_frame_rate,nb_read_frames "
                      "-of csv=p=0 '%s'",
                      path);
  if (rc)
    fail_msg("ffprobe %s: %s", path, stream);
  stream[strcspn(stream, "\r\n")] = '\0';
  rc = cn_test_sh(out, sizeof out,
                  "ffprobe -v error -show_entries format=duration "
                  "-of csv=p=0 '%s'",
                  path);
  assert_int_equal(rc, 0);
  *dur = atof(out);
}

/* Decodes every picture, as stored (no rate conversion), to packed BGR. */
static uint8_t *decode_all(const char *path, int w, int h, int *nframes) {
  char raw[1024], out[4096];
  snprintf(raw, sizeof raw, "%s.bgr", path);
  int rc = cn_test_sh(out, sizeof out,
                      "ffmpeg -v error -y -i '%s' -fps_mode passthrough "
                      "-f rawvideo -pix_fmt bgr24 '%s'",
                      path, raw);
  if (rc)
    fail_msg("ffmpeg: %s", out);
  size_t n = 0;
  uint8_t *buf = read_all(raw, &n);
  assert_non_null(buf);
  size_t one = (size_t)w * (size_t)h * 3;
  assert_int_equal(n % one, 0);
  *nframes = (int)(n / one);
  return buf;
}

static const uint8_t *dpx(const uint8_t *img, int w, int x, int y) {
  return img + ((size_t)y * (size_t)w + (size_t)x) * 3;
}

static bool near_grey(const uint8_t *p) {
  return abs(p[0] - 128) < 16 && abs(p[1] - 128) < 16 && abs(p[2] - 128) < 16;
}

/* The outline's colour survives encoding: on all four sides the pixel
 * differs from grey by much more than coding noise, and matches the
 * same place on the canvas within coding error. */
static void check_box(const uint8_t *img, const cn_frame_t *canvas, int k) {
  const int on[][2] = {{320, 150}, {320, 301}, {200, 225}, {441, 225}};
  for (int i = 0; i < 4; i++) {
    const uint8_t *p = dpx(img, W, on[i][0], on[i][1]);
    const uint8_t *c = canvas->data +
                       (size_t)on[i][1] * (size_t)canvas->stride +
                       (size_t)on[i][0] * 4;
    int far = abs(p[0] - 128) + abs(p[1] - 128) + abs(p[2] - 128);
    if (far < 100)
      fail_msg("frame %d: no outline at %d,%d (%d,%d,%d)", k, on[i][0],
               on[i][1], p[0], p[1], p[2]);
    for (int ch = 0; ch < 3; ch++)
      if (abs(p[ch] - c[ch]) > 48)
        fail_msg("frame %d: outline at %d,%d is %d,%d,%d, drawn %d,%d,%d", k,
                 on[i][0], on[i][1], p[0], p[1], p[2], c[0], c[1], c[2]);
  }
  const int off[][2] = {
      {320, 225}, {230, 280}, {100, 225}, {520, 225}, {320, 340}};
  for (int i = 0; i < 5; i++)
    if (!near_grey(dpx(img, W, off[i][0], off[i][1])))
      fail_msg("frame %d: %d,%d should be grey", k, off[i][0], off[i][1]);
}

/* 60 canvases at 30 fps: ffprobe finds 60 H.264 frames at 30 fps lasting
 * 2 s, and decoded picture k reads back number 1000 + k with the box. */
static void test_sixty_frames(void **state) {
  (void)state;
  if (!cn_test_have("ffprobe") || !cn_test_have("ffmpeg"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffmpeg/ffprobe not on PATH");
  char path[1024];
  snprintf(path, sizeof path, "%s/sixty.mp4", dir);
  cn_recorder_t *rec = NULL;
  cn_err_t err = {0};
  if (cn_recorder_open(path, 30, &rec, &err))
    fail_msg("open: %s", err.msg);
  cn_frame_t *first = NULL;
  int refused = 0;
  for (int k = 0; k < 60; k++) {
    cn_frame_t *c = make_canvas(W, H, 1000u + (uint32_t)k, k / 30.0, 0);
    refused += push_all_in(rec, c);
    if (k == 0)
      first = c;
    else
      cn_frame_unref(&c);
  }
  uint64_t written = 0, dropped = 0;
  if (cn_recorder_close(rec, &written, &dropped, &err))
    fail_msg("close: %s", err.msg);
  assert_int_equal(written, 60);
  assert_int_equal(dropped, (uint64_t)refused);

  char stream[512];
  double dur = 0;
  probe(path, stream, sizeof stream, &dur);
  assert_string_equal(stream, "h264,640,360,30/1,30/1,60");
  assert_true(fabs(dur - 2.0) < 0.05);

  int n = 0;
  uint8_t *all = decode_all(path, W, H, &n);
  assert_int_equal(n, 60);
  for (int k = 0; k < 60; k++) {
    const uint8_t *img = all + (size_t)k * W * H * 3;
    int64_t got = cn_pattern_read_bgr(img, W * 3, W, H);
    if (got != 1000 + k)
      fail_msg("picture %d reads %lld", k, (long long)got);
    check_box(img, first, k);
  }
  free(all);
  cn_frame_unref(&first);
}

/* Every other source frame recorded (pts 2k/30), then frames without a
 * pts timed by their capture stamps: the file keeps the source's clock,
 * 30 pictures over 2 s, and a 29.97 fps source says so in the file. */
static void test_source_timing(void **state) {
  (void)state;
  if (!cn_test_have("ffprobe"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffprobe not on PATH");
  char path[1024], stream[512];
  double dur = 0;
  cn_err_t err = {0};
  uint64_t written = 0;
  for (int mode = 0; mode < 2; mode++) {
    snprintf(path, sizeof path, "%s/half%d.mp4", dir, mode);
    cn_recorder_t *rec = NULL;
    if (cn_recorder_open(path, 30, &rec, &err))
      fail_msg("open: %s", err.msg);
    int64_t t0 = 5 * CN_NS_PER_S;
    for (int k = 0; k < 30; k++) {
      double pts = mode == 0 ? 2 * k / 30.0 : NAN;
      int64_t tc = t0 + (int64_t)k * 2 * CN_NS_PER_S / 30;
      cn_frame_t *c = make_canvas(W, H, (uint32_t)k, pts, tc);
      push_all_in(rec, c);
      cn_frame_unref(&c);
    }
    assert_int_equal(cn_recorder_close(rec, &written, NULL, &err), 0);
    assert_int_equal(written, 30);
    probe(path, stream, sizeof stream, &dur);
    assert_string_equal(stream, "h264,640,360,15/1,15/1,30");
    assert_true(fabs(dur - 2.0) < 0.1);
  }

  snprintf(path, sizeof path, "%s/ntsc.mp4", dir);
  cn_recorder_t *rec = NULL;
  assert_int_equal(cn_recorder_open(path, 30000.0 / 1001, &rec, &err), 0);
  for (int k = 0; k < 30; k++) {
    cn_frame_t *c = make_canvas(W, H, (uint32_t)k, k * 1001 / 30000.0, 0);
    push_all_in(rec, c);
    cn_frame_unref(&c);
  }
  assert_int_equal(cn_recorder_close(rec, &written, NULL, &err), 0);
  probe(path, stream, sizeof stream, &dur);
  assert_string_equal(stream, "h264,640,360,30000/1001,30000/1001,30");
}

/* Pictures of another size are scaled to the first one's: the file stays
 * 640x360 and the half-size picture's number still reads. An odd size
 * is recorded at the even size below it. */
static void test_sizes(void **state) {
  (void)state;
  if (!cn_test_have("ffmpeg"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffmpeg not on PATH");
  char path[1024], stream[512];
  double dur;
  snprintf(path, sizeof path, "%s/sizes.mkv", dir);
  cn_recorder_t *rec = NULL;
  cn_err_t err = {0};
  if (cn_recorder_open(path, 25, &rec, &err))
    fail_msg("open: %s", err.msg);
  for (int k = 0; k < 10; k++) {
    int w = k % 2 ? W / 2 : W, h = k % 2 ? H / 2 : H;
    cn_frame_t *c = make_canvas(w, h, 77u + (uint32_t)k, k / 25.0, 0);
    push_all_in(rec, c);
    cn_frame_unref(&c);
  }
  uint64_t written = 0;
  assert_int_equal(cn_recorder_close(rec, &written, NULL, &err), 0);
  assert_int_equal(written, 10);
  probe(path, stream, sizeof stream, &dur);
  assert_non_null(strstr(stream, "h264,640,360,25/1,"));
  int n = 0;
  uint8_t *all = decode_all(path, W, H, &n);
  assert_int_equal(n, 10);
  for (int k = 0; k < 10; k++)
    assert_int_equal(
        cn_pattern_read_bgr(all + (size_t)k * W * H * 3, W * 3, W, H), 77 + k);
  free(all);

  snprintf(path, sizeof path, "%s/odd.mp4", dir);
  assert_int_equal(cn_recorder_open(path, 30, &rec, &err), 0);
  for (int k = 0; k < 3; k++) {
    cn_frame_t *c = make_canvas(321, 181, (uint32_t)k, k / 30.0, 0);
    push_all_in(rec, c);
    cn_frame_unref(&c);
  }
  assert_int_equal(cn_recorder_close(rec, &written, NULL, &err), 0);
  probe(path, stream, sizeof stream, &dur);
  assert_string_equal(stream, "h264,320,180,30/1,30/1,3");
}

/* 1000 pushes as fast as possible of a 720p canvas: the writer cannot
 * encode that many in the time, so pushing did not wait for it; every
 * push is either written or dropped, and the refusals are the drops. */
static void test_never_blocks(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/fast.mp4", dir);
  cn_recorder_t *rec = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_recorder_open(path, 30, &rec, &err), 0);
  cn_frame_t *c = make_canvas(1280, 720, 5, NAN, 1);
  int refused = 0;
  for (int k = 0; k < 1000; k++) {
    int rc = cn_recorder_push(rec, c, &err);
    if (rc == CN_EAGAIN)
      refused++;
    else if (rc)
      fail_msg("push %d: %s", k, err.msg);
  }
  uint64_t written = 0, dropped = 0;
  assert_int_equal(cn_recorder_close(rec, &written, &dropped, &err), 0);
  assert_int_equal(written + dropped, 1000);
  assert_int_equal(dropped, (uint64_t)refused);
  assert_true(dropped > 0);
  assert_true(written >= 12); /* at least the queue's worth */
  cn_frame_unref(&c);
}

/* A writer stuck on a full pipe (the slow disk): a reader holds the FIFO
 * open without reading for a while. Pushes keep returning at once, the
 * overflow is dropped, and once the reader drains, close finishes and the
 * stream holds exactly the written pictures. */
static void test_stuck_writer(void **state) {
  (void)state;
  if (!cn_test_have("ffprobe"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffprobe not on PATH");
  char fifo[1024], copy[1024], cmd[3000];
  snprintf(fifo, sizeof fifo, "%s/pipe.ts", dir);
  snprintf(copy, sizeof copy, "%s/copy.ts", dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  /* Opens the FIFO at once, reads nothing for 3 s, then copies it all. */
  snprintf(cmd, sizeof cmd, "exec 3<'%s'; sleep 3; cat <&3 >'%s'", fifo, copy);
  char *argv[] = {"sh", "-c", cmd, NULL};
  pid_t reader = cn_test_spawn(argv, NULL);
  assert_true(reader > 0);
  cn_recorder_t *rec = NULL;
  cn_err_t err = {0};
  if (cn_recorder_open(fifo, 30, &rec, &err))
    fail_msg("open: %s", err.msg);
  /* Noise does not compress: each picture is far more than the pipe's
   * 64 KiB, so the writer blocks on the first one or two. */
  cn_frame_t *src = get_frame();
  assert_int_equal(cn_frame_alloc_pixels(src, W, H, CN_PIX_BGR24, NULL), 0);
  uint32_t seed = 1;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W * 3; x++) {
      seed = seed * 1103515245u + 12345u;
      src->data[(size_t)y * (size_t)src->stride + (size_t)x] =
          (uint8_t)(seed >> 24);
    }
  cn_frame_t *c = get_frame();
  assert_int_equal(cn_overlay_render(ov, src, c, NULL, NULL, &err), 0);
  int64_t begin = cn_clock_now();
  int refused = 0;
  for (int k = 0; k < 200; k++) {
    int rc = cn_recorder_push(rec, c, &err);
    if (rc == CN_EAGAIN)
      refused++;
    else if (rc)
      fail_msg("push %d: %s", k, err.msg);
  }
  int64_t took = cn_clock_now() - begin;
  /* The reader has not read yet (3 s): the pushes did not wait for it. */
  assert_true(took < 2 * CN_NS_PER_S);
  assert_true(refused >= 200 - 32 - 2);
  uint64_t written = 0, dropped = 0;
  if (cn_recorder_close(rec, &written, &dropped, &err))
    fail_msg("close: %s", err.msg);
  int st = 0;
  waitpid(reader, &st, 0);
  assert_int_equal(written + dropped, 200);
  assert_int_equal(dropped, (uint64_t)refused);
  char out[512];
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "ffprobe -v error -count_frames "
                              "-select_streams v:0 -show_entries "
                              "stream=nb_read_frames -of csv=p=0 '%s'",
                              copy),
                   0);
  assert_int_equal(atoi(out), (int)written);
  cn_frame_unref(&c);
  cn_frame_unref(&src);
}

/* Bad paths fail at open with one line naming the path; nothing to
 * close. A writer that fails later (an encoder that refuses the size)
 * reports through push and close. */
static void test_errors(void **state) {
  (void)state;
  cn_recorder_t *rec = (cn_recorder_t *)&rec;
  cn_err_t err = {0};
  int rc = cn_recorder_open("/nonexistent/x.mp4", 30, &rec, &err);
  assert_true(rc < 0);
  assert_null(rec);
  assert_non_null(strstr(err.msg, "/nonexistent/x.mp4"));
  assert_null(strchr(err.msg, '\n'));
  fprintf(stderr, "  (%s)\n", err.msg);

  char path[1024];
  snprintf(path, sizeof path, "%s/video.xyz", dir);
  memset(&err, 0, sizeof err);
  rc = cn_recorder_open(path, 30, &rec, &err);
  assert_true(rc < 0);
  assert_null(rec);
  assert_non_null(strstr(err.msg, "video.xyz"));
  fprintf(stderr, "  (%s)\n", err.msg);
  struct stat sb;
  assert_int_not_equal(stat(path, &sb), 0); /* nothing left behind */
  /* A container that exists but cannot hold H.264. */
  snprintf(path, sizeof path, "%s/sound.wav", dir);
  memset(&err, 0, sizeof err);
  rc = cn_recorder_open(path, 30, &rec, &err);
  assert_true(rc < 0);
  assert_null(rec);
  assert_non_null(strstr(err.msg, "sound.wav"));
  fprintf(stderr, "  (%s)\n", err.msg);

  snprintf(path, sizeof path, "%s/tiny.mp4", dir);
  assert_int_equal(cn_recorder_open(path, 30, &rec, &err), 0);
  cn_frame_t *tiny = get_frame();
  assert_int_equal(cn_frame_alloc_pixels(tiny, 1, 1, CN_PIX_BGRA, NULL), 0);
  assert_int_equal(cn_recorder_push(rec, tiny, &err), 0);
  /* The writer fails on it; later pushes say so. */
  memset(&err, 0, sizeof err);
  rc = 0;
  for (int i = 0; i < 1000 && (rc == 0 || rc == CN_EAGAIN); i++) {
    cn_test_sleep_ms(5);
    rc = cn_recorder_push(rec, tiny, &err);
  }
  assert_true(rc < 0 && rc != CN_EAGAIN);
  assert_non_null(strstr(err.msg, "tiny.mp4"));
  fprintf(stderr, "  (%s)\n", err.msg);
  memset(&err, 0, sizeof err);
  uint64_t written = 7;
  assert_int_equal(cn_recorder_close(rec, &written, NULL, &err), rc);
  assert_non_null(strstr(err.msg, "tiny.mp4"));
  assert_int_equal(written, 0);
  cn_frame_unref(&tiny);

  /* Opened and closed with nothing recorded; NULL. */
  snprintf(path, sizeof path, "%s/empty.mp4", dir);
  assert_int_equal(cn_recorder_open(path, 0, &rec, &err), 0);
  assert_int_equal(cn_recorder_close(rec, &written, NULL, &err), 0);
  assert_int_equal(written, 0);
  assert_int_equal(cn_recorder_close(NULL, NULL, NULL, NULL), 0);
}

int main(void) {
  /* The stuck-writer test's pipe: a reader that goes away must give the
   * writer an error, not kill the test. */
  signal(SIGPIPE, SIG_IGN);
  av_log_set_level(AV_LOG_ERROR); /* libx264's statistics are noise here */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sixty_frames), cmocka_unit_test(test_source_timing),
      cmocka_unit_test(test_sizes),        cmocka_unit_test(test_never_blocks),
      cmocka_unit_test(test_stuck_writer), cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
