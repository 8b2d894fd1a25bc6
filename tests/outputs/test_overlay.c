/* Overlay: known pictures (uniform grey, the frame-number pattern) drawn
 * with known results, then read pixel by pixel: the source is copied
 * exactly, box outlines and keypoints carry one class colour, the text
 * sits on a dark band with white glyphs where the contract puts it, help
 * and status lines appear only when asked, and the PNG decodes (with
 * ffmpeg) to the same pixels. */
#include "harness.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pattern.h"
#include "camnet/pool.h"
#include "camnet/overlay.h"
#include "camnet/labels.h"

static char *dir;
static cn_pool_t *pool;

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  cn_pool_opts_t po = {.max_frames = 64};
  pool = cn_pool_create(&po, NULL);
  return dir && pool ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cn_pool_destroy(pool);
  cn_test_rmtree(dir);
  free(dir);
  /* cairo's font cache and fontconfig's configuration are process-wide
   * and live until exit; freed here so the leak checker sees only ours. */
  cairo_debug_reset_static_data();
  FcFini();
  return 0;
}

/* A BGR24 frame of w x h filled with one grey level. */
static cn_frame_t *grey_frame(int w, int h, uint8_t v) {
  cn_frame_t *f = cn_pool_get(pool, NULL);
  assert_non_null(f);
  assert_int_equal(cn_frame_alloc_pixels(f, w, h, CN_PIX_BGR24, NULL), 0);
  for (int y = 0; y < h; y++)
    memset(f->data + (size_t)y * (size_t)f->stride, v, (size_t)w * 3);
  return f;
}

static cn_frame_t *canvas_frame(void) {
  cn_frame_t *c = cn_pool_get(pool, NULL);
  assert_non_null(c);
  return c;
}

static const uint8_t *px(const cn_frame_t *f, int x, int y) {
  int bpp = f->format == CN_PIX_BGRA ? 4 : 3;
  return f->data + (size_t)y * (size_t)f->stride + (size_t)x * (size_t)bpp;
}

static bool same_bgr(const uint8_t *a, const uint8_t *b) {
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

static bool is_grey(const uint8_t *p, uint8_t v) {
  return p[0] == v && p[1] == v && p[2] == v;
}

static bool is_white(const uint8_t *p) {
  return p[0] >= 250 && p[1] >= 250 && p[2] >= 250;
}

/* Counts over a rectangle [x0,x1) x [y0,y1) of a canvas drawn on a grey
 * v source: pixels left as the source, darkened (every channel at most
 * dark), and white. */
typedef struct counts {
  int same, dark, white, total;
} counts_t;

static counts_t count(const cn_frame_t *c, int x0, int y0, int x1, int y1,
                      uint8_t v, uint8_t dark) {
  counts_t n = {0};
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      const uint8_t *p = px(c, x, y);
      n.total++;
      n.same += is_grey(p, v);
      n.dark += p[0] <= dark && p[1] <= dark && p[2] <= dark;
      n.white += is_white(p);
    }
  return n;
}

/* Bounding box of the pixels where two canvases differ; false if none. */
static bool diff_box(const cn_frame_t *a, const cn_frame_t *b, int *x0, int *y0,
                     int *x1, int *y1) {
  *x0 = a->width;
  *y0 = a->height;
  *x1 = *y1 = -1;
  for (int y = 0; y < a->height; y++)
    for (int x = 0; x < a->width; x++)
      if (!same_bgr(px(a, x, y), px(b, x, y))) {
        *x0 = x < *x0 ? x : *x0;
        *x1 = x > *x1 ? x : *x1;
        *y0 = y < *y0 ? y : *y0;
        *y1 = y > *y1 ? y : *y1;
      }
  return *x1 >= 0;
}

static cn_labels_t *labels_from(const char *name, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  cn_labels_t *l = NULL;
  cn_err_t err = {0};
  if (cn_labels_load(path, &l, &err))
    fail_msg("%s", err.msg);
  return l;
}

static void render_ok(cn_overlay_t *ov, const cn_frame_t *src,
                      cn_frame_t *canvas, const cn_result_t *res,
                      const cn_overlay_info_t *info) {
  cn_err_t err = {0};
  if (cn_overlay_render(ov, src, canvas, res, info, &err))
    fail_msg("render: %s", err.msg);
  assert_int_equal(canvas->format, CN_PIX_BGRA);
  assert_int_equal(canvas->width, src->width);
  assert_int_equal(canvas->height, src->height);
}

/* Nothing to draw: the canvas is the source, pixel for pixel, at an odd
 * width (rows of different strides), and reads back the same number. A
 * canvas used before at a larger size takes the new size. */
static void test_copy_exact(void **state) {
  (void)state;
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(NULL, &ov, NULL), 0);
  cn_frame_t *canvas = canvas_frame();
  cn_frame_t *big = grey_frame(640, 480, 7);
  render_ok(ov, big, canvas, NULL, NULL);
  cn_frame_unref(&big);

  cn_frame_t *src = grey_frame(333, 250, 0);
  cn_pattern_paint_bgr(src->data, src->stride, 333, 250, 0x5eed1234u);
  render_ok(ov, src, canvas, NULL, NULL);
  for (int y = 0; y < 250; y++)
    for (int x = 0; x < 333; x++)
      if (!same_bgr(px(src, x, y), px(canvas, x, y)))
        fail_msg("pixel %d,%d differs", x, y);
  uint8_t *bgr = malloc((size_t)333 * 3 * 250);
  for (int y = 0; y < 250; y++)
    for (int x = 0; x < 333; x++)
      memcpy(bgr + ((size_t)y * 333 + (size_t)x) * 3, px(canvas, x, y), 3);
  assert_int_equal(cn_pattern_read_bgr(bgr, 333 * 3, 333, 250), 0x5eed1234u);
  free(bgr);
  cn_frame_unref(&src);
  cn_frame_unref(&canvas);
  cn_overlay_destroy(ov);
}

/* The capture fields travel with the picture; the stage stamps do not (the
 * inference thread may be writing them while the display thread draws). */
static void test_stamps_copied(void **state) {
  (void)state;
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(NULL, &ov, NULL), 0);
  cn_frame_t *src = grey_frame(160, 120, 90);
  src->source = 3;
  src->seq = 4242;
  src->pts = 12.345;
  src->t_capture = 1000001;
  src->t_decode = 1000002;
  src->t_develop = 1000003;
  src->t_take = 1000004;
  src->t_infer_begin = 1000005;
  src->t_infer_end = 1000006;
  cn_frame_t *canvas = canvas_frame();
  render_ok(ov, src, canvas, NULL, NULL);
  assert_int_equal(canvas->source, 3);
  assert_int_equal(canvas->seq, 4242);
  assert_true(canvas->pts == 12.345);
  assert_int_equal(canvas->t_capture, 1000001);
  assert_int_equal(canvas->t_decode, 1000002);
  assert_int_equal(canvas->t_develop, 1000003);
  assert_int_equal(canvas->t_take, 1000004);
  assert_int_equal(canvas->t_infer_begin, 0);
  assert_int_equal(canvas->t_infer_end, 0);
  /* No pts stays no pts. */
  src->pts = NAN;
  render_ok(ov, src, canvas, NULL, NULL);
  assert_true(isnan(canvas->pts));
  cn_frame_unref(&src);
  cn_frame_unref(&canvas);
  cn_overlay_destroy(ov);
}

/* Rightmost non-source pixel in row y, left half only; -1 if none. */
static int right_edge(const cn_frame_t *c, int y, uint8_t v) {
  for (int x = c->width / 2; x >= 0; x--)
    if (!is_grey(px(c, x, y), v))
      return x;
  return -1;
}

/* Top-3 on grey: the top-left block is a dark band with white text, and
 * the three lines name the classes in order. Labels of very different
 * lengths make the order visible in the band widths: class 1 (30 chars)
 * first, class 0 (1 char) second, class 2 (10 chars) third. */
static void test_classification(void **state) {
  (void)state;
  cn_labels_t *labels = labels_from(
      "three.txt", "a\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\ncccccccccc\n");
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(labels, &ov, NULL), 0);
  cn_result_t *res = calloc(1, sizeof *res);
  res->task = CN_TASK_CLASSIFY;
  res->ntop = 3;
  res->top[0] = (cn_top_t){1, 0.7f};
  res->top[1] = (cn_top_t){0, 0.2f};
  res->top[2] = (cn_top_t){2, 0.1f};

  const uint8_t bgs[] = {128, 255, 0};
  for (size_t b = 0; b < sizeof bgs; b++) {
    uint8_t v = bgs[b];
    cn_frame_t *src = grey_frame(640, 480, v);
    cn_frame_t *canvas = canvas_frame();
    render_ok(ov, src, canvas, res, NULL);
    /* The band's rows, found down a column left of the text. */
    int y0 = -1, y1 = -1;
    for (int y = 0; y < 240; y++)
      if (!is_grey(px(canvas, 7, y), v)) {
        y0 = y0 < 0 ? y : y0;
        y1 = y;
      }
    if (v == 0) { /* a dark band on black is black: the text still shows */
      counts_t n = count(canvas, 0, 0, 320, 120, v, 0);
      assert_true(n.white > 100);
      cn_frame_unref(&src);
      cn_frame_unref(&canvas);
      continue;
    }
    assert_true(y0 >= 0 && y0 < 16);
    assert_true(y1 - y0 > 3 * 12); /* three lines of at least 12 px */
    assert_true(y1 < 160);
    int third = (y1 - y0 + 1) / 3;
    int wline[3];
    for (int i = 0; i < 3; i++) {
      int ya = y0 + i * third + 2, yb = y0 + (i + 1) * third - 2;
      wline[i] = right_edge(canvas, (ya + yb) / 2, v);
      /* Darkened band with white glyphs; left of the glyphs, the band's
       * edge is dark on every row. */
      counts_t n = count(canvas, 7, ya, 40, yb, v, (uint8_t)(v * 0.5));
      counts_t edge = count(canvas, 7, ya, 9, yb, v, (uint8_t)(v * 0.5));
      assert_int_equal(edge.dark, edge.total);
      assert_true(n.dark > n.total / 3);
      assert_true(n.white > 5);
    }
    assert_true(wline[0] > wline[2] + 40);
    assert_true(wline[2] > wline[1] + 40);
    assert_true(wline[1] > 40); /* "0.2000 a" */
    /* Nothing else on the picture: a status line needs info. */
    counts_t rest = count(canvas, 0, 240, 640, 480, v, 0);
    assert_int_equal(rest.same, rest.total);
    cn_frame_unref(&src);
    cn_frame_unref(&canvas);
  }
  free(res);
  cn_overlay_destroy(ov);
  cn_labels_destroy(labels);
}

/* Two boxes of different classes with keypoints on grey: each outline has
 * one colour on all four sides, not grey, different per class; keypoints
 * take their box's colour; pixels inside and outside the box away from
 * the lines stay grey; a label band sits above the box. */
static void test_detection(void **state) {
  (void)state;
  cn_labels_t *labels = labels_from("det.txt", "face\nhand\n");
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(labels, &ov, NULL), 0);
  cn_result_t *res = calloc(1, sizeof *res);
  res->task = CN_TASK_DETECT;
  res->nboxes = 2;
  res->boxes[0] = (cn_box_t){.x = 100,
                             .y = 150,
                             .w = 200,
                             .h = 120,
                             .score = 0.9f,
                             .cls = 0,
                             .nkp = 2,
                             .kp = {{150, 200}, {250, 200}}};
  res->boxes[1] = (cn_box_t){
      .x = 400, .y = 300, .w = 150, .h = 100, .score = 0.6f, .cls = 1};
  cn_frame_t *src = grey_frame(640, 480, 128);
  cn_frame_t *canvas = canvas_frame();
  render_ok(ov, src, canvas, res, NULL);

  const uint8_t *c0 = px(canvas, 100, 210); /* left edge, box 0 */
  uint8_t col0[3] = {c0[0], c0[1], c0[2]};
  assert_true(abs(col0[0] - 128) + abs(col0[1] - 128) + abs(col0[2] - 128) >
              100);
  const int edges0[][2] = {{200, 150}, {200, 270}, {300, 210}, {100, 230},
                           {299, 180}, {150, 200}, {250, 200}};
  for (size_t i = 0; i < sizeof edges0 / sizeof edges0[0]; i++)
    if (!same_bgr(px(canvas, edges0[i][0], edges0[i][1]), col0))
      fail_msg("box 0 at %d,%d: not the outline colour", edges0[i][0],
               edges0[i][1]);
  const uint8_t *c1 = px(canvas, 400, 350);
  assert_true(same_bgr(px(canvas, 550, 350), c1));
  assert_true(same_bgr(px(canvas, 475, 400), c1));
  assert_false(same_bgr(c1, col0));
  assert_false(is_grey(c1, 128));
  /* Inside and outside, away from lines, keypoints and labels. */
  const int grey_at[][2] = {{200, 230}, {110, 260}, {290, 160}, {80, 210},
                            {320, 210}, {200, 290}, {200, 100}, {475, 350},
                            {380, 350}, {570, 350}, {475, 420}};
  for (size_t i = 0; i < sizeof grey_at / sizeof grey_at[0]; i++)
    if (!is_grey(px(canvas, grey_at[i][0], grey_at[i][1]), 128))
      fail_msg("%d,%d should be the source grey", grey_at[i][0], grey_at[i][1]);
  /* Label band above box 0's left corner: dark with white text. */
  counts_t n = count(canvas, 104, 132, 150, 147, 128, 64);
  assert_true(n.dark > n.total / 3);
  assert_true(n.white > 5);
  free(res);
  cn_frame_unref(&src);
  cn_frame_unref(&canvas);
  cn_overlay_destroy(ov);
  cn_labels_destroy(labels);
}

/* The status line (bottom), help text (top right, long) and NO SIGNAL
 * (centre) each change only their own part of the picture, and only
 * when asked. */
static void test_info_lines(void **state) {
  (void)state;
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(NULL, &ov, NULL), 0);
  cn_frame_t *src = grey_frame(640, 480, 128);
  cn_frame_t *plain = canvas_frame(), *a = canvas_frame(), *b = canvas_frame();
  render_ok(ov, src, plain, NULL, NULL);
  cn_overlay_info_t info = {.net_fps = 12.5,
                            .cam_fps = 30,
                            .age_ms = 40,
                            .drops = 3,
                            .result_lag = -1};
  render_ok(ov, src, a, NULL, &info);
  int x0, y0, x1, y1;
  assert_true(diff_box(plain, a, &x0, &y0, &x1, &y1));
  assert_true(y0 > 480 - 3 * 16 && y1 < 480); /* bottom rows only */
  assert_true(x0 < 16 && x1 > 200);
  counts_t n = count(a, 10, 462, 150, 474, 128, 64);
  assert_true(n.dark > n.total / 3 && n.white > 5);

  /* The status line grows with the result's lag. */
  info.result_lag = 5;
  render_ok(ov, src, b, NULL, &info);
  int bx0, by0, bx1, by1;
  assert_true(diff_box(a, b, &bx0, &by0, &bx1, &by1));
  assert_true(by0 > 480 - 3 * 16);
  assert_true(bx1 > x1);
  info.result_lag = -1;

  /* Help: only with info.help, bottom left above the status line (clear
   * of the top-k list), and long (past the middle). */
  info.help = true;
  render_ok(ov, src, b, NULL, &info);
  assert_true(diff_box(a, b, &x0, &y0, &x1, &y1));
  assert_true(y0 > 480 - 5 * 16);
  assert_true(y1 < 480 - 16); /* above the status line */
  assert_true(x0 < 16);
  assert_true(x1 > 320 && x1 < 640 - 4);
  n = count(b, 100, y0 + 3, 300, y1 - 3, 128, 64);
  assert_true(n.dark > n.total / 3 && n.white > 10);
  info.help = false;

  /* Offline: something across the centre, nothing at the top. */
  info.offline = true;
  render_ok(ov, src, b, NULL, &info);
  assert_true(diff_box(a, b, &x0, &y0, &x1, &y1));
  assert_true(x0 < 320 && x1 > 320 && y0 < 240 && y1 >= 230 && y0 > 120);

  cn_frame_unref(&plain);
  cn_frame_unref(&a);
  cn_frame_unref(&b);
  cn_frame_unref(&src);
  cn_overlay_destroy(ov);
}

/* On a narrow picture the help and the status line shrink to fit: their
 * bands end inside the picture, and the help does not touch the top-k
 * lines or the status line. */
static void test_narrow_fits(void **state) {
  (void)state;
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(NULL, &ov, NULL), 0);
  cn_frame_t *src = grey_frame(320, 240, 128);
  cn_frame_t *plain = canvas_frame(), *top = canvas_frame(),
             *status = canvas_frame(), *help = canvas_frame();
  cn_result_t *res = calloc(1, sizeof *res);
  res->task = CN_TASK_CLASSIFY;
  res->ntop = 3;
  for (int i = 0; i < 3; i++)
    res->top[i] = (cn_top_t){100 + i, 0.3f};
  render_ok(ov, src, plain, NULL, NULL);
  render_ok(ov, src, top, res, NULL);
  cn_overlay_info_t info = {.net_fps = 123.4,
                            .cam_fps = 29.97,
                            .age_ms = 1234,
                            .drops = 123456,
                            .result_lag = 12};
  render_ok(ov, src, status, res, &info);
  info.help = true;
  render_ok(ov, src, help, res, &info);
  int tx0, ty0, tx1, ty1, sx0, sy0, sx1, sy1, hx0, hy0, hx1, hy1;
  assert_true(diff_box(plain, top, &tx0, &ty0, &tx1, &ty1));
  assert_true(diff_box(top, status, &sx0, &sy0, &sx1, &sy1));
  assert_true(diff_box(status, help, &hx0, &hy0, &hx1, &hy1));
  assert_true(sx1 < 320 - 2 && hx1 < 320 - 2);
  assert_true(sx1 > 160 && hx1 > 160);
  assert_true(hy0 > ty1);
  assert_true(hy1 < sy0);
  free(res);
  cn_frame_unref(&plain);
  cn_frame_unref(&top);
  cn_frame_unref(&status);
  cn_frame_unref(&help);
  cn_frame_unref(&src);
  cn_overlay_destroy(ov);
}

/* Results with odd contents still draw: a label that is not UTF-8 (a
 * Latin-1 name), a negative class, counts beyond the arrays. */
static void test_odd_results(void **state) {
  (void)state;
  /* Label files must be UTF-8 now (cn_labels_load refuses Latin-1), but
   * names handed in by a program are not checked: the overlay still
   * draws what it cannot decode. */
  const char *latin1[] = {"caf\xe9 cr\xe8me"};
  cn_labels_t *labels = NULL;
  assert_int_equal(cn_labels_from_names(latin1, 1, &labels, NULL), 0);
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(labels, &ov, NULL), 0);
  cn_frame_t *src = grey_frame(320, 240, 128);
  cn_frame_t *canvas = canvas_frame();
  cn_result_t *res = calloc(1, sizeof *res);
  res->task = CN_TASK_CLASSIFY;
  res->ntop = 1;
  res->top[0] = (cn_top_t){0, 0.5f};
  cn_overlay_info_t info = {.result_lag = -1, .help = true};
  render_ok(ov, src, canvas, res, &info);
  counts_t n = count(canvas, 8, 4, 60, 22, 128, 64);
  assert_true(n.white > 5);
  /* The help text after the bad label is still drawn (bottom left). */
  n = count(canvas, 8, 240 - 45, 120, 240 - 25, 128, 64);
  assert_true(n.white > 5);

  res->task = CN_TASK_DETECT;
  res->nboxes = 1;
  res->boxes[0] = (cn_box_t){
      .x = 50, .y = 60, .w = 40, .h = 40, .score = 0.5f, .cls = -7, .nkp = 99};
  render_ok(ov, src, canvas, res, NULL);
  assert_false(is_grey(px(canvas, 50, 80), 128));
  res->ntop = 1 << 20;
  res->task = CN_TASK_CLASSIFY;
  render_ok(ov, src, canvas, res, NULL);
  res->nboxes = 1 << 20;
  res->task = CN_TASK_DETECT;
  res->boxes[0].nkp = 0;
  render_ok(ov, src, canvas, res, NULL);
  free(res);
  cn_frame_unref(&src);
  cn_frame_unref(&canvas);
  cn_overlay_destroy(ov);
  cn_labels_destroy(labels);
}

static void test_render_errors(void **state) {
  (void)state;
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(NULL, &ov, NULL), 0);
  cn_err_t err = {0};
  cn_frame_t *raw = cn_pool_get(pool, NULL); /* no pixels */
  cn_frame_t *canvas = canvas_frame();
  assert_int_equal(cn_overlay_render(ov, raw, canvas, NULL, NULL, &err),
                   CN_EINVAL);
  assert_true(strlen(err.msg) > 0 && !strchr(err.msg, '\n'));
  cn_frame_t *src = grey_frame(64, 48, 1);
  /* A canvas someone else still holds (the window, the recorder) must not
   * be drawn over. */
  cn_frame_t *other = cn_frame_ref(canvas);
  memset(&err, 0, sizeof err);
  assert_int_equal(cn_overlay_render(ov, src, canvas, NULL, NULL, &err),
                   CN_EINVAL);
  assert_true(strlen(err.msg) > 0);
  cn_frame_unref(&other);
  render_ok(ov, src, canvas, NULL, NULL);
  /* A BGRA frame is not a source. */
  cn_frame_t *c2 = canvas_frame();
  assert_int_equal(cn_overlay_render(ov, canvas, c2, NULL, NULL, &err),
                   CN_EINVAL);
  cn_frame_unref(&c2);
  cn_frame_unref(&raw);
  cn_frame_unref(&src);
  cn_frame_unref(&canvas);
  cn_overlay_destroy(ov);
  cn_overlay_destroy(NULL);
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

/* The PNG decodes with ffmpeg to the canvas's pixels, exactly. */
static void test_png(void **state) {
  (void)state;
  if (!cn_test_have("ffmpeg"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffmpeg not on PATH");
  cn_overlay_t *ov = NULL;
  assert_int_equal(cn_overlay_create(NULL, &ov, NULL), 0);
  cn_frame_t *src = grey_frame(321, 200, 0);
  cn_pattern_paint_bgr(src->data, src->stride, 321, 200, 77);
  cn_result_t *res = calloc(1, sizeof *res);
  res->task = CN_TASK_DETECT;
  res->nboxes = 1;
  res->boxes[0] =
      (cn_box_t){.x = 40, .y = 60, .w = 100, .h = 80, .score = 0.75f, .cls = 3};
  cn_overlay_info_t info = {
      .net_fps = 9, .cam_fps = 25, .result_lag = -1, .help = true};
  cn_frame_t *canvas = canvas_frame();
  render_ok(ov, src, canvas, res, &info);
  char png[1024], raw[1024], out[4096];
  snprintf(png, sizeof png, "%s/shot.png", dir);
  snprintf(raw, sizeof raw, "%s/shot.bgr", dir);
  cn_err_t err = {0};
  if (cn_overlay_write_png(canvas, png, &err))
    fail_msg("%s", err.msg);
  int rc = cn_test_sh(out, sizeof out,
                      "ffprobe -v error -select_streams v:0 -show_entries "
                      "stream=codec_name,width,height -of csv=p=0 '%s'",
                      png);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "png,321,200"));
  rc = cn_test_sh(out, sizeof out,
                  "ffmpeg -v error -y -i '%s' -f rawvideo -pix_fmt bgr24 '%s'",
                  png, raw);
  if (rc)
    fail_msg("ffmpeg: %s", out);
  size_t n = 0;
  uint8_t *bgr = read_all(raw, &n);
  assert_non_null(bgr);
  assert_int_equal(n, (size_t)321 * 200 * 3);
  for (int y = 0; y < 200; y++)
    for (int x = 0; x < 321; x++)
      if (!same_bgr(bgr + ((size_t)y * 321 + (size_t)x) * 3, px(canvas, x, y)))
        fail_msg("PNG pixel %d,%d differs", x, y);
  free(bgr);

  /* Errors: a directory that does not exist; a BGR frame. */
  memset(&err, 0, sizeof err);
  assert_int_equal(cn_overlay_write_png(canvas, "/nonexistent/d/x.png", &err),
                   CN_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent/d/x.png"));
  assert_int_equal(cn_overlay_write_png(src, png, &err), CN_EINVAL);
  free(res);
  cn_frame_unref(&src);
  cn_frame_unref(&canvas);
  cn_overlay_destroy(ov);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_copy_exact),
      cmocka_unit_test(test_stamps_copied),
      cmocka_unit_test(test_classification),
      cmocka_unit_test(test_detection),
      cmocka_unit_test(test_info_lines),
      cmocka_unit_test(test_narrow_fits),
      cmocka_unit_test(test_odd_results),
      cmocka_unit_test(test_render_errors),
      cmocka_unit_test(test_png),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
