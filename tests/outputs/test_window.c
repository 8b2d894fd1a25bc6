/* Window, on a real X server: the test starts Xvfb (a free display found
 * by Xvfb itself) and, when installed, evilwm (a small EWMH window manager:
 * fullscreen is the window manager's job on X11). What the window shows is
 * read back independently with xwd (decoded by ffmpeg) at the window's
 * place as xwininfo reports it; keys are real X key events from xdotool.
 * Checked: the overlay's box and help text on screen, H / F / S / Esc / Q,
 * fullscreen and resized windows letterboxed with black bars, the mailbox
 * (newest picture only, references released), wake-ups, timeouts, and the
 * "no display" error. */
#include "harness.h"

#include <cairo.h>
#include <dlfcn.h>
#include <fontconfig/fontconfig.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "camnet/clock.h"
#include "camnet/pool.h"
#include "camnet/overlay.h"
#include "camnet/window.h"

#define SW 1280 /* the Xvfb screen */
#define SH 720

static char *dir;
static cn_pool_t *pool;
static cn_overlay_t *ov;
static pid_t xvfb = -1, wm = -1;
static char no_x[1200]; /* why there is no X server, when there is none */

/* Xvfb -displayfd writes the display number once it accepts clients. */
static int start_xvfb(void) {
  char file[1024], cmd[2048];
  snprintf(file, sizeof file, "%s/display", dir);
  snprintf(cmd, sizeof cmd,
           "exec Xvfb -displayfd 3 -screen 0 %dx%dx24 -nolisten tcp "
           "3>'%s'",
           SW, SH, file);
  char *argv[] = {"sh", "-c", cmd, NULL};
  char log[1024];
  snprintf(log, sizeof log, "%s/xvfb.log", dir);
  xvfb = cn_test_spawn_tied(argv, log);
  for (int i = 0; i < 200; i++) {
    FILE *f = fopen(file, "r");
    int n = -1;
    char nl = 0;
    if (f) {
      if (fscanf(f, "%d%c", &n, &nl) != 2 || nl != '\n')
        n = -1;
      fclose(f);
    }
    if (n >= 0) {
      char disp[32];
      snprintf(disp, sizeof disp, ":%d", n);
      setenv("DISPLAY", disp, 1);
      return 0;
    }
    cn_test_sleep_ms(50);
  }
  snprintf(no_x, sizeof no_x, "Xvfb did not start (see %s)", log);
  return -1;
}

/* evilwm needs a core font; Xvfb's built-in ones include 6x13. It is
 * ready once it advertises itself on the root window. */
static void start_wm(void) {
  char *argv[] = {"evilwm", "-fn", "6x13", NULL};
  wm = cn_test_spawn_tied(argv, NULL);
  for (int i = 0; i < 100; i++) {
    char out[512];
    if (cn_test_sh(out, sizeof out, "xprop -root _NET_SUPPORTING_WM_CHECK") ==
            0 &&
        strstr(out, "window id"))
      return;
    cn_test_sleep_ms(50);
  }
}

/* Under Xvfb, Mesa renders with its software driver and unloads it when
 * the GL display closes; LeakSanitizer then finds llvmpipe's allocations,
 * whose only references were in the unloaded driver's data, and reports
 * them as leaks with stacks it can no longer name (so no suppression can
 * match them). Kept loaded, they are reachable as they really are. */
static void pin_mesa_driver(void) {
  const char *paths[] = {"/usr/lib/x86_64-linux-gnu/dri/swrast_dri.so",
                         "/usr/lib/aarch64-linux-gnu/dri/swrast_dri.so",
                         "/usr/lib/dri/swrast_dri.so"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    if (dlopen(paths[i], RTLD_NOW | RTLD_NODELETE))
      return;
}

static int setup(void **state) {
  (void)state;
  pin_mesa_driver();
  dir = cn_test_mkdtemp();
  cn_pool_opts_t po = {.max_frames = 64};
  pool = cn_pool_create(&po, NULL);
  if (!dir || !pool || cn_overlay_create(NULL, &ov, NULL))
    return -1;
  if (!cn_test_have("Xvfb"))
    snprintf(no_x, sizeof no_x, "Xvfb not installed (Debian: xvfb)");
  else if (start_xvfb() == 0 && cn_test_have("evilwm"))
    start_wm();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (wm > 0)
    cn_test_stop(wm, SIGTERM);
  if (xvfb > 0)
    cn_test_stop(xvfb, SIGTERM);
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

static void need_x(void) {
  if (no_x[0] && !cn_test_have("Xvfb"))
    CN_TEST_SKIP_MISSING("xvfb", "%s", no_x);
  if (no_x[0])
    CN_TEST_SKIP("%s", no_x);
  if (!cn_test_have("xwininfo") || !cn_test_have("xdotool") ||
      !cn_test_have("xwd") || !cn_test_have("ffmpeg"))
    CN_TEST_SKIP_MISSING("x11-utils, xdotool, x11-apps or ffmpeg",
                         "needs xwininfo, xdotool, xwd and ffmpeg");
}

/* A w x h canvas: grey, a class-0 box at (100, 80, 200, 150) in source
 * pixels, the help text when help. */
static cn_frame_t *make_canvas(int w, int h, bool help) {
  cn_frame_t *src = cn_pool_get(pool, NULL);
  assert_non_null(src);
  assert_int_equal(cn_frame_alloc_pixels(src, w, h, CN_PIX_BGR24, NULL), 0);
  for (int y = 0; y < h; y++)
    memset(src->data + (size_t)y * (size_t)src->stride, 128, (size_t)w * 3);
  cn_result_t *res = calloc(1, sizeof *res);
  res->task = CN_TASK_DETECT;
  res->nboxes = 1;
  res->boxes[0] =
      (cn_box_t){.x = 100, .y = 80, .w = 200, .h = 150, .score = 0.9f};
  cn_overlay_info_t info = {.result_lag = -1, .help = help};
  cn_frame_t *canvas = cn_pool_get(pool, NULL);
  assert_non_null(canvas);
  cn_err_t err = {0};
  if (cn_overlay_render(ov, src, canvas, res, &info, &err))
    fail_msg("render: %s", err.msg);
  free(res);
  cn_frame_unref(&src);
  return canvas;
}

static const uint8_t *cpx(const cn_frame_t *c, int x, int y) {
  return c->data + (size_t)y * (size_t)c->stride + (size_t)x * 4;
}

/* The X window's place and size, from the X server (not from SDL). */
static bool geom(const char *title, int *x, int *y, int *w, int *h) {
  char out[4096];
  if (cn_test_sh(out, sizeof out, "xwininfo -name '%s'", title))
    return false;
  const char *p;
  if (!(p = strstr(out, "Absolute upper-left X:")) ||
      sscanf(p, "Absolute upper-left X: %d", x) != 1 ||
      !(p = strstr(out, "Absolute upper-left Y:")) ||
      sscanf(p, "Absolute upper-left Y: %d", y) != 1 ||
      !(p = strstr(out, "Width:")) || sscanf(p, "Width: %d", w) != 1 ||
      !(p = strstr(out, "Height:")) || sscanf(p, "Height: %d", h) != 1)
    return false;
  return true;
}

/* Pumps the window until the X window has size w x h (the window manager
 * acts asynchronously). */
static bool wait_geom(cn_window_t *win, const char *title, int w, int h, int *x,
                      int *y) {
  int gw = 0, gh = 0;
  /* Up to 10 s: the window manager is slow on a loaded machine and under
   * ThreadSanitizer (a fullscreen switch once took more than 5 s). */
  for (int i = 0; i < 200; i++) {
    if (geom(title, x, y, &gw, &gh) && gw == w && gh == h)
      return true;
    cn_window_wait(win, 50);
  }
  fprintf(stderr, "window is %dx%d, want %dx%d\n", gw, gh, w, h);
  return false;
}

/* The whole screen as packed BGR, SW x SH. */
static uint8_t *screenshot(void) {
  char xwd[1024], raw[1024], out[2048];
  snprintf(xwd, sizeof xwd, "%s/shot.xwd", dir);
  snprintf(raw, sizeof raw, "%s/shot.bgr", dir);
  int rc = cn_test_sh(out, sizeof out,
                      "xwd -root -silent -out '%s' && ffmpeg -v error -y "
                      "-i '%s' -f rawvideo -pix_fmt bgr24 '%s'",
                      xwd, xwd, raw);
  if (rc)
    fail_msg("screenshot: %s", out);
  FILE *f = fopen(raw, "rb");
  assert_non_null(f);
  size_t n = (size_t)SW * SH * 3;
  uint8_t *buf = malloc(n);
  assert_int_equal(fread(buf, 1, n, f), n);
  fclose(f);
  return buf;
}

static const uint8_t *spx(const uint8_t *shot, int x, int y) {
  return shot + ((size_t)y * SW + (size_t)x) * 3;
}

static int diff3(const uint8_t *a, const uint8_t *b) {
  int d = 0;
  for (int i = 0; i < 3; i++)
    d += abs(a[i] - b[i]);
  return d;
}

/* Waits until the window returns want, handling whatever else comes. */
static bool wait_for(cn_window_t *w, cn_window_event_t want, int ms) {
  int64_t end = cn_clock_now() + (int64_t)ms * CN_NS_PER_MS;
  while (cn_clock_now() < end)
    if (cn_window_wait(w, 50) == want)
      return true;
  return false;
}

/* Keeps handling events for ms (expose and resize re-presents). */
static void pump(cn_window_t *w, int ms) {
  int64_t end = cn_clock_now() + (int64_t)ms * CN_NS_PER_MS;
  while (cn_clock_now() < end)
    cn_window_wait(w, 20);
}

/* A real key press (XTEST) to the window: the pointer goes into it (the
 * window manager focuses what is under the pointer), it is focused, then
 * the key. */
static void press(const char *title, const char *keysym) {
  char out[512];
  if (cn_test_sh(out, sizeof out,
                 "xdotool search --name '^%s$' mousemove --window %%1 20 20 "
                 "windowfocus --sync %%1 key %s",
                 title, keysym))
    fail_msg("xdotool: %s", out);
}

/* How many window pixels differ from the canvas (scale 1:1). */
static long mismatches(const uint8_t *shot, int x0, int y0,
                       const cn_frame_t *c) {
  long bad = 0;
  for (int y = 0; y < c->height; y++)
    for (int x = 0; x < c->width; x++)
      if (diff3(spx(shot, x0 + x, y0 + y), cpx(c, x, y)) > 6)
        bad++;
  return bad;
}

static cn_window_t *open_ok(const char *title, int w, int h) {
  cn_window_t *win = NULL;
  cn_err_t err = {0};
  if (cn_window_open(title, w, h, &win, &err))
    fail_msg("open: %s", err.msg);
  return win;
}

/* No display: CN_ENODEV with "no display: " and SDL's reason, nothing
 * to close. */
static void test_no_display(void **state) {
  (void)state;
  char *saved = getenv("DISPLAY") ? strdup(getenv("DISPLAY")) : NULL;
  char *wayland =
      getenv("WAYLAND_DISPLAY") ? strdup(getenv("WAYLAND_DISPLAY")) : NULL;
  unsetenv("DISPLAY");
  unsetenv("WAYLAND_DISPLAY");
  cn_window_t *w = (cn_window_t *)&w;
  cn_err_t err = {0};
  int rc = cn_window_open("camnet-nodisplay", 320, 240, &w, &err);
  if (saved)
    setenv("DISPLAY", saved, 1);
  if (wayland)
    setenv("WAYLAND_DISPLAY", wayland, 1);
  free(saved);
  free(wayland);
  fprintf(stderr, "  (%s)\n", err.msg);
  assert_int_equal(rc, CN_ENODEV);
  assert_null(w);
  assert_int_equal(strncmp(err.msg, "no display: ", 12), 0);
  assert_true(strlen(err.msg) > 12);
  assert_null(strchr(err.msg, '\n'));
  cn_window_close(NULL);
}

/* The posted canvas is on screen at the window's place, pixel for pixel:
 * the box outline in its class colour, the help text's white glyphs on
 * its dark band (bottom left), grey elsewhere. */
static void test_screenshot(void **state) {
  (void)state;
  need_x();
  const char *title = "camnet-test-shot";
  cn_window_t *win = open_ok(title, 640, 480);
  cn_frame_t *c = make_canvas(640, 480, true);
  cn_window_post(win, c);
  assert_true(wait_for(win, CN_WIN_FRAME, 5000));
  cn_frame_t *last = cn_window_last(win);
  assert_ptr_equal(last, c);
  cn_frame_unref(&last);

  int x0 = 0, y0 = 0, w = 0, h = 0;
  uint8_t *shot = NULL;
  long bad = -1;
  /* The X server shows the picture a moment after it was presented. */
  for (int i = 0; i < 50 && bad != 0; i++) {
    pump(win, 100);
    assert_true(geom(title, &x0, &y0, &w, &h));
    assert_int_equal(w, 640);
    assert_int_equal(h, 480);
    free(shot);
    shot = screenshot();
    bad = mismatches(shot, x0, y0, c);
  }
  assert_int_equal(bad, 0);
  /* And what that picture is, read off the screen alone. */
  const uint8_t *edge = spx(shot, x0 + 100, y0 + 150);
  assert_true(diff3(edge, (const uint8_t[]){128, 128, 128}) > 100);
  const int on[][2] = {{200, 80}, {200, 230}, {300, 150}, {150, 229}};
  for (int i = 0; i < 4; i++)
    assert_int_equal(diff3(spx(shot, x0 + on[i][0], y0 + on[i][1]), edge), 0);
  const int grey[][2] = {{200, 150}, {50, 150}, {400, 150}, {200, 300}};
  for (int i = 0; i < 4; i++) {
    const uint8_t *p = spx(shot, x0 + grey[i][0], y0 + grey[i][1]);
    assert_true(p[0] == 128 && p[1] == 128 && p[2] == 128);
  }
  int white = 0, dark = 0, total = 0;
  for (int y = 480 - 5 * 16; y < 480 - 20; y++)
    for (int x = 10; x < 300; x++) {
      const uint8_t *p = spx(shot, x0 + x, y0 + y);
      total++;
      white += p[0] > 240 && p[1] > 240 && p[2] > 240;
      dark += p[0] < 64 && p[1] < 64 && p[2] < 64;
    }
  assert_true(white > 50);
  assert_true(dark > total / 4);
  free(shot);
  cn_frame_unref(&c);
  cn_window_close(win);
}

/* H toggles help, S asks for a snapshot, F toggles fullscreen (the X
 * window takes the whole screen, the 4:3 picture is scaled to 960x720
 * between black bars, and back), Esc and Q quit. */
static void test_keys(void **state) {
  (void)state;
  need_x();
  const char *title = "camnet-test-keys";
  cn_window_t *win = open_ok(title, 640, 480);
  cn_frame_t *c = make_canvas(640, 480, false);
  cn_window_post(win, c);
  assert_true(wait_for(win, CN_WIN_FRAME, 5000));
  pump(win, 200);

  assert_false(cn_window_help(win));
  press(title, "h");
  assert_true(wait_for(win, CN_WIN_HELP, 5000));
  assert_true(cn_window_help(win));
  press(title, "h");
  assert_true(wait_for(win, CN_WIN_HELP, 5000));
  assert_false(cn_window_help(win));
  press(title, "s");
  assert_true(wait_for(win, CN_WIN_SNAPSHOT, 5000));
  press(title, "Tab");
  assert_true(wait_for(win, CN_WIN_NEXT, 5000));

  assert_false(cn_window_fullscreen(win));
  press(title, "f");
  assert_true(wait_for(win, CN_WIN_FULLSCREEN, 5000));
  assert_true(cn_window_fullscreen(win));
  if (wm <= 0) {
    fprintf(stderr, "  (no window manager (evilwm): fullscreen size not "
                    "checked)\n");
  } else {
    int x0, y0;
    assert_true(wait_geom(win, title, SW, SH, &x0, &y0));
    assert_int_equal(x0, 0);
    assert_int_equal(y0, 0);
    cn_window_post(win, c);
    assert_true(wait_for(win, CN_WIN_FRAME, 5000));
    /* 640x480 in 1280x720: scale 1.5, picture at x 160..1119. */
    bool ok = false;
    uint8_t *shot = NULL;
    for (int i = 0; i < 50 && !ok; i++) {
      pump(win, 100);
      free(shot);
      shot = screenshot();
      const uint8_t *l = spx(shot, 100, 360), *r = spx(shot, 1200, 360),
                    *mid = spx(shot, 640, 600);
      ok = l[0] + l[1] + l[2] == 0 && r[0] + r[1] + r[2] == 0 &&
           mid[0] == 128 && mid[1] == 128 && mid[2] == 128;
    }
    if (!ok)
      fail_msg("fullscreen: no black bars around a grey picture");
    for (int y = 0; y < SH; y += 7) {
      assert_int_equal(diff3(spx(shot, 155, y), (const uint8_t[]){0, 0, 0}), 0);
      assert_int_equal(diff3(spx(shot, 1124, y), (const uint8_t[]){0, 0, 0}),
                       0);
    }
    /* The box's left edge: x = 160 + 1.5 * 100, y = 1.5 * 150. */
    const uint8_t *want = cpx(c, 100, 150);
    int best = 1000;
    for (int dx = -2; dx <= 2; dx++)
      best = diff3(spx(shot, 310 + dx, 225), want) < best
                 ? diff3(spx(shot, 310 + dx, 225), want)
                 : best;
    assert_true(best < 30);
    const uint8_t *in = spx(shot, 160 + 300, 240);
    assert_true(in[0] == 128 && in[1] == 128 && in[2] == 128);
    free(shot);
  }
  press(title, "f");
  assert_true(wait_for(win, CN_WIN_FULLSCREEN, 5000));
  assert_false(cn_window_fullscreen(win));
  if (wm > 0) {
    int x0, y0;
    assert_true(wait_geom(win, title, 640, 480, &x0, &y0));
  }
  press(title, "Escape");
  assert_true(wait_for(win, CN_WIN_QUIT, 5000));
  press(title, "q");
  assert_true(wait_for(win, CN_WIN_QUIT, 5000));
  cn_frame_unref(&c);
  cn_window_close(win);
}

/* A window resized to 800x300 shows the 4:3 picture at 400x300 in the
 * middle, black bars left and right. */
static void test_resize_letterbox(void **state) {
  (void)state;
  need_x();
  const char *title = "camnet-test-resize";
  cn_window_t *win = open_ok(title, 640, 480);
  cn_frame_t *c = make_canvas(640, 480, false);
  cn_window_post(win, c);
  assert_true(wait_for(win, CN_WIN_FRAME, 5000));
  char out[512];
  if (cn_test_sh(out, sizeof out,
                 "xdotool search --name '^%s$' windowsize --sync 800 300",
                 title))
    fail_msg("xdotool: %s", out);
  int x0, y0;
  assert_true(wait_geom(win, title, 800, 300, &x0, &y0));
  bool ok = false;
  uint8_t *shot = NULL;
  for (int i = 0; i < 50 && !ok; i++) {
    pump(win, 100);
    free(shot);
    shot = screenshot();
    const uint8_t *l = spx(shot, x0 + 100, y0 + 150),
                  *r = spx(shot, x0 + 700, y0 + 150),
                  *mid = spx(shot, x0 + 400, y0 + 280);
    ok = l[0] + l[1] + l[2] == 0 && r[0] + r[1] + r[2] == 0 && mid[0] == 128 &&
         mid[1] == 128 && mid[2] == 128;
  }
  if (!ok)
    fail_msg("resized: no black bars around a grey picture");
  for (int y = 0; y < 300; y += 5) {
    assert_int_equal(spx(shot, x0 + 197, y0 + y)[1], 0);
    assert_int_equal(spx(shot, x0 + 602, y0 + y)[1], 0);
    assert_int_not_equal(spx(shot, x0 + 203, y0 + y)[1], 0);
    assert_int_not_equal(spx(shot, x0 + 596, y0 + y)[1], 0);
  }
  free(shot);
  cn_frame_unref(&c);
  cn_window_close(win);
}

/* Mailbox: of two pictures posted before the window looks, only the
 * second is shown and the first one's reference is dropped at once; one
 * wake-up for both; CN_WIN_NONE only when the time is up. */
static void test_mailbox(void **state) {
  (void)state;
  need_x();
  cn_window_t *win = open_ok("camnet-test-mailbox", 320, 240);
  cn_frame_t *a = make_canvas(320, 240, false);
  cn_frame_t *b = make_canvas(320, 240, true);
  cn_window_post(win, a);
  assert_false(cn_frame_is_writable(a));
  cn_window_post(win, b);
  assert_true(cn_frame_is_writable(a)); /* replaced, released */
  assert_true(wait_for(win, CN_WIN_FRAME, 5000));
  cn_frame_t *last = cn_window_last(win);
  assert_ptr_equal(last, b);
  cn_frame_unref(&last);
  /* No second picture: waiting runs out the time. */
  pump(win, 300);
  int64_t t0 = cn_clock_now();
  assert_int_equal(cn_window_wait(win, 200), CN_WIN_NONE);
  assert_true(cn_clock_now() - t0 >= 190 * CN_NS_PER_MS);
  cn_window_close(win);
  assert_true(cn_frame_is_writable(b)); /* close dropped its references */
  cn_frame_unref(&a);
  cn_frame_unref(&b);
}

typedef struct poster {
  cn_window_t *win;
  cn_frame_t *canvases[8];
  int n;
} poster_t;

static void *post_many(void *arg) {
  poster_t *p = arg;
  for (int i = 0; i < p->n; i++) {
    cn_window_post(p->win, p->canvases[i % 8]);
    if (i % 16 == 0)
      cn_test_sleep_ms(1);
  }
  cn_window_wake(p->win);
  return NULL;
}

/* Another thread posts 400 pictures and then wakes the window: the window
 * shows at most that many, ends on the last one posted, and sees the
 * wake-up. */
static void test_posting_thread(void **state) {
  (void)state;
  need_x();
  cn_window_t *win = open_ok("camnet-test-thread", 320, 240);
  poster_t p = {.win = win, .n = 400};
  for (int i = 0; i < 8; i++) {
    p.canvases[i] = cn_pool_get(pool, NULL);
    assert_non_null(p.canvases[i]);
    assert_int_equal(
        cn_frame_alloc_pixels(p.canvases[i], 320, 240, CN_PIX_BGRA, NULL), 0);
    memset(p.canvases[i]->data, i * 30, (size_t)p.canvases[i]->stride * 240);
    p.canvases[i]->seq = (uint64_t)i;
  }
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, post_many, &p), 0);
  int frames = 0;
  bool woke = false;
  int64_t end = cn_clock_now() + 20 * CN_NS_PER_S;
  while (!woke && cn_clock_now() < end) {
    cn_window_event_t e = cn_window_wait(win, 100);
    frames += e == CN_WIN_FRAME;
    woke = e == CN_WIN_WAKE;
  }
  pthread_join(t, NULL);
  assert_true(woke);
  /* A picture posted just before the wake-up may still be in the box. */
  while (cn_window_wait(win, 200) == CN_WIN_FRAME)
    frames++;
  assert_true(frames >= 1 && frames <= 400);
  cn_frame_t *last = cn_window_last(win);
  assert_non_null(last);
  assert_int_equal(last->seq, (400 - 1) % 8);
  cn_frame_unref(&last);
  cn_window_close(win);
  for (int i = 0; i < 8; i++) {
    assert_true(cn_frame_is_writable(p.canvases[i]));
    cn_frame_unref(&p.canvases[i]);
  }
}

/* Mean brightness of a screen region. */
static double mean_luma(const uint8_t *shot, int x0, int y0, int w, int h) {
  double sum = 0;
  for (int y = y0; y < y0 + h; y++)
    for (int x = x0; x < x0 + w; x++) {
      const uint8_t *p = spx(shot, x, y);
      sum += (p[0] + p[1] + p[2]) / 3.0;
    }
  return sum / ((double)w * h);
}

/* Counts the JSON records with an inference result, by source, and
 * those of source 1 output after t (seconds, CLOCK_MONOTONIC). */
static void count_inferred(const char *path, double t, unsigned long long by[2],
                           unsigned long long *after) {
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[1 << 14];
  while (fgets(line, sizeof line, fp)) {
    json_t *rec = json_loads(line, 0, NULL);
    assert_non_null(rec);
    json_int_t src = json_integer_value(json_object_get(rec, "source"));
    assert_true(src == 0 || src == 1);
    if (json_object_get(rec, "infer_ms")) {
      by[src]++;
      if (src == 1 && json_number_value(json_object_get(rec, "t_out")) > t)
        (*after)++;
    }
    json_decref(rec);
  }
  fclose(fp);
}

/* Both sources were inferred throughout: the summary's counts (in out),
 * each the number of records with a result in jsonl, and source 1's go on
 * after t_tab. */
static void check_both_inferred(const char *out, const char *jsonl,
                                double t_tab) {
  unsigned long long total = 0, by[2] = {0, 0};
  const char *sum = strstr(out, " inferences (");
  while (sum && sum > out && sum[-1] != ' ')
    sum--;
  if (!sum || sscanf(sum, "%llu inferences (%llu + %llu by source)", &total,
                     &by[0], &by[1]) != 3)
    fail_msg("no per-source inference counts in the summary: %s", out);
  print_message("inferences %llu (%llu + %llu by source)\n", total, by[0],
                by[1]);
  if (!(by[0] > 0 && by[1] > 0 && total == by[0] + by[1]))
    fail_msg("inferences %llu (%llu + %llu by source)", total, by[0], by[1]);
  unsigned long long recs[2] = {0, 0}, after_tab = 0;
  count_inferred(jsonl, t_tab, recs, &after_tab);
  if (recs[0] != by[0] || recs[1] != by[1] || after_tab == 0)
    fail_msg("records with a result: %llu + %llu (%llu of source 1 after "
             "Tab), summary %llu + %llu",
             recs[0], recs[1], after_tab, by[0], by[1]);
}

/* The program with two sources: the window shows the first (320x240,
 * filling it); Tab switches it to the second (160x240, so letterboxed
 * with black bars 80 pixels wide), and the run goes on for both. */
static void test_program_tab_switches_source(void **state) {
  (void)state;
  need_x();
  char model[1024];
  snprintf(model, sizeof model,
           "%s/models/blazeface/face_detection_front_128x128_barracuda.onnx",
           cn_test_source_dir());
  if (access(model, R_OK))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", model);
  char bin[1024], log[1024];
  snprintf(bin, sizeof bin, "%s/camnet", cn_test_build_dir());
  snprintf(log, sizeof log, "%s/camnet.log", dir);
  char jsonl[1024];
  snprintf(jsonl, sizeof jsonl, "%s/tab.jsonl", dir);
  char *argv[] = {bin,
                  "--model",
                  model,
                  "--duration",
                  "30",
                  "--json",
                  jsonl,
                  "test:320x240@15",
                  "test:160x240@15",
                  NULL};
  /* The test process keeps Mesa's driver loaded for LeakSanitizer
   * (pin_mesa_driver); camnet cannot, and its leak report would name only
   * the unloaded driver's allocations: no leak check for this child. */
  const char *asan = getenv("ASAN_OPTIONS");
  char *saved = asan ? strdup(asan) : NULL, opts[1024];
  snprintf(opts, sizeof opts, "%s%sdetect_leaks=0", asan ? asan : "",
           asan && *asan ? ":" : "");
  setenv("ASAN_OPTIONS", opts, 1);
  pid_t pid = cn_test_spawn_tied(argv, log);
  if (saved)
    setenv("ASAN_OPTIONS", saved, 1);
  else
    unsetenv("ASAN_OPTIONS");
  free(saved);
  assert_true(pid > 0);
  int x = 0, y = 0, w = 0, h = 0;
  bool up = false;
  for (int i = 0; i < 200 && !up; i++) {
    up = geom("camnet", &x, &y, &w, &h) && w == 320 && h == 240;
    if (!up)
      cn_test_sleep_ms(50);
  }
  if (!up) {
    cn_test_stop(pid, SIGKILL);
    fail_msg("camnet's window did not appear at 320x240 (see %s)", log);
  }
  /* Colour bars where the second source will leave a black bar, once the
   * first pictures are up (slow under the sanitizers). */
  double left0 = 0;
  for (int i = 0; i < 100 && left0 <= 40; i++) {
    cn_test_sleep_ms(100);
    uint8_t *before = screenshot();
    left0 = mean_luma(before, x + 10, y + 40, 60, 150);
    free(before);
  }
  double t_tab = cn_ns_to_s(cn_clock_now()); /* the JSON's clock */
  press("camnet", "Tab");
  double left1 = 0;
  for (int i = 0; i < 100; i++) { /* the next picture of source 1 */
    cn_test_sleep_ms(100);
    uint8_t *after = screenshot();
    left1 = mean_luma(after, x + 10, y + 40, 60, 150);
    double middle = mean_luma(after, x + 100, y + 40, 120, 150);
    free(after);
    if (left1 < 1 && middle > 40)
      break;
  }
  int st = cn_test_stop(pid, SIGTERM);
  char out[4096];
  cn_test_sh(out, sizeof out, "cat '%s'", log);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("camnet ended with status 0x%x: %s", st, out);
  if (!(left0 > 40 && left1 < 1))
    fail_msg("left of the window: %.1f before Tab, %.1f after (log: %s)", left0,
             left1, out);
  assert_non_null(strstr(out, "window: source 1, test:160x240@15"));
  check_both_inferred(out, jsonl, t_tab);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_display),
      cmocka_unit_test(test_screenshot),
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_resize_letterbox),
      cmocka_unit_test(test_mailbox),
      cmocka_unit_test(test_posting_thread),
      cmocka_unit_test(test_program_tab_switches_source),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
