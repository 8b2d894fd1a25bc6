/* The gst: source, driven through the public cn_source API with
 * videotestsrc pipelines whose pictures are known by hand. */
#include "harness.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gst/gst.h>

#include "camnet/clock.h"
#include "sources/gst_pipelines.h"
#include "camnet/source.h"

#if defined(__SANITIZE_ADDRESS__)
/* GLib's quark table: the first block is allocated by libglib's
 * constructor (_dl_init) and, once GStreamer registers more than 2048
 * quarks, replaced by a larger one; GLib leaks the old block on purpose
 * because readers use it without a lock (gquark.c). One 16 KiB block per
 * process that initialises GStreamer. The constructor only shows in the
 * stack with the slow unwinder (GLib has no frame pointers). Options from
 * ASAN_OPTIONS still override these defaults. */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }
const char *__lsan_default_suppressions(void) { return "leak:_dl_init\n"; }
#endif

/* Log lines kept for assertions about what the source reported. */
typedef struct log_buf {
  pthread_mutex_t lock;
  char text[8192];
} log_buf_t;

static void log_sink(void *opaque, cn_log_level_t level, const char *line) {
  (void)level;
  log_buf_t *b = opaque;
  pthread_mutex_lock(&b->lock);
  size_t n = strlen(b->text);
  snprintf(b->text + n, sizeof b->text - n, "%s\n", line);
  pthread_mutex_unlock(&b->lock);
}

static bool log_has(log_buf_t *b, const char *what) {
  pthread_mutex_lock(&b->lock);
  bool has = strstr(b->text, what) != NULL;
  pthread_mutex_unlock(&b->lock);
  return has;
}

static cn_source_t *create(const char *uri, cn_source_opts_t *o) {
  cn_source_opts_t d;
  if (!o) {
    cn_source_opts_default(&d);
    o = &d;
  }
  o->uri = uri;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  if (cn_source_create(o, &src, &err))
    fail_msg("%s", err.msg);
  return src;
}

static cn_source_t *start(const char *uri, cn_source_opts_t *o) {
  cn_source_t *src = create(uri, o);
  cn_err_t err = {0};
  if (cn_source_start(src, &err))
    fail_msg("%s", err.msg);
  return src;
}

/* Opening fails: returns the code, the message in err. */
static int open_fails(const char *uri, int timeout_ms, cn_err_t *err) {
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.timeout_ms = timeout_ms;
  cn_source_t *src = create(uri, &o);
  int rc = cn_source_open(src, err);
  cn_source_destroy(src);
  assert_true(rc < 0);
  assert_int_equal(err->code, rc);
  assert_null(strchr(err->msg, '\n'));
  return rc;
}

static const uint8_t *px(const cn_frame_t *f, int x, int y) {
  return f->data + (size_t)y * (size_t)f->stride + (size_t)x * 3;
}

/* Every pixel within tol of (b, g, r). */
static bool all_pixels(const cn_frame_t *f, int b, int g, int r, int tol) {
  for (int y = 0; y < f->height; y++)
    for (int x = 0; x < f->width; x++) {
      const uint8_t *p = px(f, x, y);
      if (abs(p[0] - b) > tol || abs(p[1] - g) > tol || abs(p[2] - r) > tol) {
        print_error("pixel (%d,%d) = %d,%d,%d, want %d,%d,%d\n", x, y, p[0],
                    p[1], p[2], b, g, r);
        return false;
      }
    }
  return true;
}

/* Takes every frame of a finite pipeline (every_frame) up to the end;
 * checks sequence numbers; returns how many and keeps the first. */
static int take_all(const char *uri, cn_source_opts_t *o, cn_frame_t **first) {
  cn_source_opts_t d;
  if (!o) {
    cn_source_opts_default(&d);
    o = &d;
  }
  o->every_frame = true;
  cn_source_t *src = start(uri, o);
  uint64_t last = 0;
  int n = 0;
  for (;;) {
    cn_frame_t *f = NULL;
    cn_err_t err = {0};
    int rc = cn_source_take(src, last, 10 * CN_NS_PER_S, &f, NULL, &err);
    if (rc == CN_EOF)
      break;
    if (rc)
      fail_msg("%s", err.msg);
    assert_int_equal(f->seq, last + 1); /* nothing lost */
    assert_int_equal(f->format, CN_PIX_BGR24);
    last = f->seq;
    n++;
    if (first && !*first)
      *first = f;
    else
      cn_frame_unref(&f);
  }
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_true(s.finished);
  assert_int_equal(s.last_error, 0);
  assert_int_equal(s.dropped, 0);
  cn_source_destroy(src);
  return n;
}

/* A 30 fps live camera: the right size and rate, fresh frames, a slow
 * consumer drops frames instead of queueing them. */
static void test_live_rate_and_newest_frame(void **state) {
  (void)state;
  cn_source_t *src =
      start("gst:videotestsrc is-live=true ! video/x-raw,width=320,"
            "height=240,framerate=30/1 ! appsink",
            NULL);
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_int_equal(s.width, 320);
  assert_int_equal(s.height, 240);
  assert_true(fabs(s.fps - 30.0) < 1e-9);
  uint64_t last = 0, first_seq = 0;
  int64_t t_first = 0, t_last = 0;
  double pts_last = -1;
  int n = 0;
  while (n < 45) {
    cn_frame_t *f = NULL;
    cn_err_t err = {0};
    if (cn_source_take(src, last, 2 * CN_NS_PER_S, &f, NULL, &err))
      fail_msg("%s", err.msg);
    assert_true(f->seq > last);
    assert_int_equal(f->width, 320);
    assert_int_equal(f->height, 240);
    assert_int_equal(f->format, CN_PIX_BGR24);
    assert_true(f->stride >= 320 * 3);
    assert_true(f->pts > pts_last);
    assert_true(f->t_capture > 0 && f->t_capture <= f->t_take);
    if (!first_seq) {
      first_seq = f->seq;
      t_first = f->t_capture;
    }
    t_last = f->t_capture;
    pts_last = f->pts;
    last = f->seq;
    n++;
    cn_frame_unref(&f);
  }
  /* 30 fps by the capture stamps, bounded generously. */
  double fps = (double)(last - first_seq) / cn_ns_to_s(t_last - t_first);
  print_message("live videotestsrc: %.1f fps\n", fps);
  assert_true(fps > 15 && fps < 45);

  /* A consumer away for a second gets the newest frame, not one from a
   * queue, and the frames in between count as dropped. */
  cn_source_get_stats(src, &s);
  uint64_t dropped_before = s.dropped;
  cn_test_sleep_ms(1000);
  cn_frame_t *f = NULL;
  assert_int_equal(cn_source_take(src, last, 2 * CN_NS_PER_S, &f, NULL, NULL),
                   0);
  assert_true(f->t_take - f->t_capture < 500 * CN_NS_PER_MS);
  assert_true(f->seq >= last + 10);
  cn_frame_unref(&f);
  cn_source_stop(src);
  cn_source_get_stats(src, &s);
  assert_true(s.dropped >= dropped_before + 10);
  assert_int_equal(s.captured, s.delivered + s.dropped + s.pending);
  assert_int_equal(s.last_error, 0);
  cn_source_destroy(src);
}

/* Solid colours as BGR bytes: red, green, blue by name and an ARGB
 * foreground colour 0xff3366cc, i.e. R=0x33 G=0x66 B=0xcc. */
static void test_solid_colours_exact(void **state) {
  (void)state;
  static const struct {
    const char *pattern;
    int b, g, r;
  } cases[] = {
      {"pattern=red", 0, 0, 255},
      {"pattern=green", 0, 255, 0},
      {"pattern=blue", 255, 0, 0},
      {"pattern=solid-color foreground-color=0xff3366cc", 0xcc, 0x66, 0x33},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char uri[256];
    snprintf(uri, sizeof uri,
             "gst:videotestsrc num-buffers=2 %s ! "
             "video/x-raw,width=64,height=48 ! appsink",
             cases[i].pattern);
    cn_frame_t *f = NULL;
    assert_int_equal(take_all(uri, NULL, &f), 2);
    assert_int_equal(f->width, 64);
    assert_int_equal(f->height, 48);
    assert_true(all_pixels(f, cases[i].b, cases[i].g, cases[i].r, 0));
    cn_frame_unref(&f); /* after the source is gone (ASan) */
  }
}

/* SMPTE bars, left to right: white (75 %), yellow, cyan, green, magenta,
 * red, blue over the top two thirds. Sampled at the middle of the first
 * three bars. */
static void test_smpte_bars(void **state) {
  (void)state;
  cn_frame_t *f = NULL;
  assert_int_equal(take_all("gst:videotestsrc num-buffers=1 pattern=smpte ! "
                            "video/x-raw,width=350,height=240 ! appsink",
                            NULL, &f),
                   1);
  const uint8_t *white = px(f, 25, 20), *yellow = px(f, 75, 20),
                *cyan = px(f, 125, 20);
  print_message("smpte: white %d,%d,%d yellow %d,%d,%d cyan %d,%d,%d\n",
                white[0], white[1], white[2], yellow[0], yellow[1], yellow[2],
                cyan[0], cyan[1], cyan[2]);
  for (int c = 0; c < 3; c++)
    assert_true(white[c] >= 180);
  assert_true(yellow[0] <= 20 && yellow[1] >= 180 && yellow[2] >= 180);
  assert_true(cyan[0] >= 180 && cyan[1] >= 180 && cyan[2] <= 20);
  cn_frame_unref(&f);
}

/* A finite, non-live pipeline: every frame, in order, then the end; pts
 * step by exactly one frame interval. */
static void test_file_like_pipeline_ends(void **state) {
  (void)state;
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.every_frame = true;
  cn_source_t *src =
      start("gst:videotestsrc num-buffers=10 ! video/x-raw,width=160,"
            "height=120,framerate=30/1 ! appsink",
            &o);
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_int_equal(s.width, 160);
  uint64_t last = 0;
  int rc;
  cn_frame_t *f = NULL;
  while ((rc = cn_source_take(src, last, 5 * CN_NS_PER_S, &f, NULL, NULL)) ==
         0) {
    assert_int_equal(f->seq, last + 1);
    assert_true(fabs(f->pts - (double)last / 30.0) < 1e-6);
    last = f->seq;
    cn_frame_unref(&f);
  }
  assert_int_equal(rc, CN_EOF);
  assert_int_equal(last, 10);
  cn_source_get_stats(src, &s);
  assert_true(s.finished);
  assert_int_equal(s.captured, 10);
  assert_int_equal(s.dropped, 0);
  cn_source_destroy(src);
}

/* Conversion and scaling are put in front of the appsink, whatever the
 * user's pipeline ends with or where its appsink is. */
static void test_conversion_and_scaling(void **state) {
  (void)state;
  cn_frame_t *f = NULL;
  /* I420 ending in a bare appsink; pure blue survives within rounding. */
  assert_int_equal(take_all("gst:videotestsrc num-buffers=3 pattern=blue ! "
                            "video/x-raw,format=I420,width=64,height=48 ! "
                            "appsink",
                            NULL, &f),
                   3);
  assert_true(all_pixels(f, 255, 0, 0, 8));
  cn_frame_unref(&f);
  /* No appsink at all: one is appended. */
  assert_int_equal(take_all("gst:videotestsrc num-buffers=2 pattern=green ! "
                            "video/x-raw,format=YUY2,width=64,height=48",
                            NULL, &f),
                   2);
  assert_true(all_pixels(f, 0, 255, 0, 8));
  cn_frame_unref(&f);
  /* The appsink named sink inside a tee: a converter is linked in. */
  assert_int_equal(take_all("gst:videotestsrc num-buffers=3 pattern=red ! "
                            "video/x-raw,format=NV12,width=64,height=48 ! "
                            "tee name=t ! queue ! appsink name=sink "
                            "t. ! queue ! fakesink",
                            NULL, &f),
                   3);
  assert_int_equal(f->width, 64);
  assert_true(all_pixels(f, 0, 0, 255, 8));
  cn_frame_unref(&f);
  /* The options' size is applied by a videoscale. */
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.width = 160;
  o.height = 90;
  assert_int_equal(take_all("gst:videotestsrc num-buffers=2 pattern=white ! "
                            "video/x-raw,width=320,height=240 ! appsink",
                            &o, &f),
                   2);
  assert_int_equal(f->width, 160);
  assert_int_equal(f->height, 90);
  assert_true(all_pixels(f, 255, 255, 255, 0));
  cn_frame_unref(&f);
}

/* A file decoded through decodebin, whose pad appears only while playing:
 * the appsink is linked late and still gets BGR. */
static void test_decodebin_file(void **state) {
  (void)state;
  if (!cn_test_have("ffmpeg"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffmpeg not on PATH");
  char *dir = cn_test_mkdtemp();
  assert_non_null(dir);
  char out[512];
  int st = cn_test_sh(out, sizeof out,
                      "ffmpeg -v error -f lavfi -i color=c=0x0000ff:s=96x64:"
                      "r=10 -frames:v 5 -c:v mjpeg -q:v 2 '%s/blue.avi'",
                      dir);
  assert_int_equal(st, 0);
  char uri[600];
  snprintf(uri, sizeof uri,
           "gst:filesrc location=%s/blue.avi ! decodebin ! appsink", dir);
  cn_frame_t *f = NULL;
  assert_int_equal(take_all(uri, NULL, &f), 5);
  assert_int_equal(f->width, 96);
  assert_int_equal(f->height, 64);
  /* ffmpeg's 0x0000ff is blue (RRGGBB): BGR 255,0,0 after JPEG. */
  assert_true(all_pixels(f, 255, 0, 0, 12));
  cn_frame_unref(&f);
  cn_test_rmtree(dir);
  free(dir);
}

static void test_bad_pipelines_fail_with_one_line(void **state) {
  (void)state;
  cn_err_t err = {0};
  assert_int_equal(open_fails("gst:videotestsrc ! video/x-raw,width=( ! "
                              "appsink",
                              2000, &err),
                   CN_EINVAL);
  assert_non_null(strstr(err.msg, "could not parse pipeline"));
  assert_non_null(strstr(err.msg, "gst:videotestsrc"));

  assert_int_equal(open_fails("gst:nosuchelement ! appsink", 2000, &err),
                   CN_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "nosuchelement"));

  assert_int_equal(open_fails("gst:filesrc location=/nonexistent/cam.avi ! "
                              "decodebin ! appsink",
                              2000, &err),
                   CN_ENOENT);
  assert_non_null(strstr(err.msg, "/nonexistent/cam.avi"));

  /* Caps nothing can meet: refused when linking, before any data. */
  assert_int_equal(open_fails("gst:videotestsrc ! video/x-raw,width=64,"
                              "height=48 ! identity ! video/x-raw,width=32 ! "
                              "appsink",
                              2000, &err),
                   CN_EINVAL);
  assert_non_null(strstr(err.msg, "could not link"));

  /* Data nothing can convert (buffers without caps): the flow error
   * from the streaming thread, with its reason. */
  assert_int_equal(open_fails("gst:fakesrc ! appsink", 2000, &err), CN_EFORMAT);
  assert_non_null(strstr(err.msg, "fakesrc0"));
  assert_non_null(strstr(err.msg, "not-negotiated"));

  cn_source_t *src = NULL;
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.uri = "gst:  ";
  assert_int_equal(cn_source_create(&o, &src, &err), CN_EINVAL);
  assert_null(src);
  assert_non_null(strstr(err.msg, "empty pipeline"));
}

/* A camera that never delivers a first frame: open gives up at the
 * timeout, not later. */
static void test_open_times_out(void **state) {
  (void)state;
  cn_err_t err = {0};
  int64_t t0 = cn_clock_now();
  assert_int_equal(open_fails("gst:videotestsrc is-live=true ! identity "
                              "sleep-time=1000000 ! appsink",
                              300, &err),
                   CN_ETIMEDOUT);
  int64_t took = cn_clock_now() - t0;
  assert_non_null(strstr(err.msg, "no data for 300 ms"));
  assert_true(took >= 250 * CN_NS_PER_MS && took < 5 * CN_NS_PER_S);
}

/* A live camera that stops sending (next frame in 10 s): the read times
 * out after timeout_ms and the source goes offline; stop() interrupts a
 * blocked read promptly. */
static void test_stall_times_out_and_stop_interrupts(void **state) {
  (void)state;
  static const char *uri = "gst:videotestsrc is-live=true ! video/x-raw,"
                           "width=64,height=48,framerate=1/10 ! appsink";
  log_buf_t logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
  cn_logger_t logger = {
      .level = CN_LOG_INFO, .sink = log_sink, .opaque = &logs};
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.timeout_ms = 500;
  o.reconnect = 0;
  o.log = &logger;
  cn_source_t *src = start(uri, &o);
  cn_frame_t *f = NULL;
  assert_int_equal(cn_source_take(src, 0, 2 * CN_NS_PER_S, &f, NULL, NULL), 0);
  int64_t t0 = f->t_capture;
  cn_frame_unref(&f);
  cn_err_t err = {0};
  assert_int_equal(cn_source_take(src, 1, 8 * CN_NS_PER_S, &f, NULL, &err),
                   CN_EOF);
  int64_t took = cn_clock_now() - t0;
  assert_true(took >= 400 * CN_NS_PER_MS && took < 5 * CN_NS_PER_S);
  cn_source_stats_t s;
  cn_source_get_stats(src, &s);
  assert_true(s.finished);
  assert_int_equal(s.last_error, CN_ETIMEDOUT);
  assert_true(log_has(&logs, "no data for 500 ms"));
  cn_source_destroy(src);

  /* The same camera with the default 5 s timeout, stopped mid-read. */
  o.timeout_ms = 5000;
  src = start(uri, &o);
  assert_int_equal(cn_source_take(src, 0, 2 * CN_NS_PER_S, &f, NULL, NULL), 0);
  cn_frame_unref(&f);
  cn_test_sleep_ms(200);
  t0 = cn_clock_now();
  cn_source_stop(src);
  assert_true(cn_clock_now() - t0 < CN_NS_PER_S);
  cn_source_destroy(src);
}

static void test_onboard_pipeline(void **state) {
  (void)state;
  char buf[512];
  int n = cn_gst_onboard_pipeline(buf, sizeof buf, 1280, 720, 30);
  const char *want =
      "gst:nvarguscamerasrc ! video/x-raw(memory:NVMM),width=1280,"
      "height=720,framerate=30/1,format=NV12 ! nvvidconv ! "
      "video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! "
      "appsink name=sink";
  assert_string_equal(buf, want);
  assert_int_equal(n, (int)strlen(want));
  assert_true(cn_gst_onboard_pipeline(buf, sizeof buf, 1920, 1080, 29.97) > 0);
  assert_non_null(strstr(buf, "width=1920,height=1080,framerate=2997/100,"));
  assert_int_equal(cn_gst_onboard_pipeline(buf, 40, 1280, 720, 30), CN_EINVAL);
  assert_string_equal(buf, "");
  assert_int_equal(cn_gst_onboard_pipeline(buf, sizeof buf, 0, 720, 30),
                   CN_EINVAL);
  assert_int_equal(cn_gst_onboard_pipeline(buf, sizeof buf, 640, 480, 0),
                   CN_EINVAL);

  /* Off a Jetson, opening it names the missing camera element. */
  cn_gst_onboard_pipeline(buf, sizeof buf, 1280, 720, 30);
  gst_init(NULL, NULL);
  GstElementFactory *argus = gst_element_factory_find("nvarguscamerasrc");
  if (argus) {
    gst_object_unref(argus);
    return;
  }
  cn_err_t err = {0};
  assert_int_equal(open_fails(buf, 2000, &err), CN_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "nvarguscamerasrc"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_live_rate_and_newest_frame),
      cmocka_unit_test(test_solid_colours_exact),
      cmocka_unit_test(test_smpte_bars),
      cmocka_unit_test(test_file_like_pipeline_ends),
      cmocka_unit_test(test_conversion_and_scaling),
      cmocka_unit_test(test_decodebin_file),
      cmocka_unit_test(test_bad_pipelines_fail_with_one_line),
      cmocka_unit_test(test_open_times_out),
      cmocka_unit_test(test_stall_times_out_and_stop_interrupts),
      cmocka_unit_test(test_onboard_pipeline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
