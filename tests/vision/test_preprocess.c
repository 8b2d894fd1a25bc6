/* Preprocessing: tiny frames whose every output float is worked out by
 * hand for each option (layout, channel order, mean, scale, std, mean
 * image, crop, letterbox); larger frames with a coloured rectangle whose
 * place after resizing follows from the geometry; the coordinate
 * transform against the same geometry; no allocation per frame. */
#include "harness.h"

#include "alloc_count.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vision/preprocess.h"

/* ---- frames ------------------------------------------------------------- */

typedef struct img {
  cn_frame_t f;
  uint8_t *buf;
} img_t;

/* A w x h BGR24 frame with 5 spare bytes per row, so code that ignores
 * the stride reads the wrong pixels. */
static img_t img_new(int w, int h) {
  img_t m;
  memset(&m, 0, sizeof m);
  m.f.width = w;
  m.f.height = h;
  m.f.stride = w * 3 + 5;
  m.f.format = CN_PIX_BGR24;
  m.f.seq = 1;
  m.buf = calloc((size_t)m.f.stride * (size_t)h, 1);
  assert_non_null(m.buf);
  memset(m.buf, 0xEE, (size_t)m.f.stride * (size_t)h);
  m.f.data = m.buf;
  return m;
}

static void img_set(img_t *m, int x, int y, int b, int g, int r) {
  uint8_t *p = m->buf + (size_t)y * (size_t)m->f.stride + (size_t)x * 3;
  p[0] = (uint8_t)b;
  p[1] = (uint8_t)g;
  p[2] = (uint8_t)r;
}

/* Black, with a rectangle [x0,x1) x [y0,y1) of colour (b, g, r). */
static void img_rect(img_t *m, int x0, int y0, int x1, int y1, int b, int g,
                     int r) {
  for (int y = 0; y < m->f.height; y++)
    for (int x = 0; x < m->f.width; x++) {
      int in = x >= x0 && x < x1 && y >= y0 && y < y1;
      img_set(m, x, y, in ? b : 0, in ? g : 0, in ? r : 0);
    }
}

static void img_free(img_t *m) { free(m->buf); }

/* The 2x2 frame of the hand-computed cases:
 *   (10,20,30)  (40,50,60)
 *   (70,80,90)  (100,110,120)     as (B,G,R) */
static img_t tiny(void) {
  img_t m = img_new(2, 2);
  img_set(&m, 0, 0, 10, 20, 30);
  img_set(&m, 1, 0, 40, 50, 60);
  img_set(&m, 0, 1, 70, 80, 90);
  img_set(&m, 1, 1, 100, 110, 120);
  return m;
}

static void run_expect(const cn_preproc_opts_t *o, const cn_frame_t *f,
                       const float *want, int n, cn_xform_t *xf) {
  cn_preproc_t *p = NULL;
  cn_err_t err = {0};
  if (cn_preproc_create(o, &p, &err))
    fail_msg("create: %s", err.msg);
  assert_int_equal(cn_preproc_numel(p), n);
  float *got = malloc((size_t)n * sizeof(float) + 4 * sizeof(float));
  assert_non_null(got);
  for (int i = 0; i < n + 4; i++)
    got[i] = -12345.0f; /* canary past the end */
  cn_xform_t tmp;
  if (cn_preproc_run(p, f, got, xf ? xf : &tmp, &err))
    fail_msg("run: %s", err.msg);
  for (int i = 0; i < n; i++)
    if (fabsf(got[i] - want[i]) > 1e-5f * (1.0f + fabsf(want[i])))
      fail_msg("value %d: got %.7g, want %.7g", i, (double)got[i],
               (double)want[i]);
  for (int i = n; i < n + 4; i++)
    assert_true(got[i] == -12345.0f);
  free(got);
  cn_preproc_destroy(p);
}

static cn_preproc_opts_t opts(int w, int h) {
  cn_preproc_opts_t o;
  cn_preproc_opts_default(&o);
  o.width = w;
  o.height = h;
  return o;
}

/* ---- hand-computed values ----------------------------------------------- */

static void test_defaults_nchw_bgr(void **state) {
  (void)state;
  img_t m = tiny();
  cn_preproc_opts_t o = opts(2, 2);
  const float want[] = {10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120};
  run_expect(&o, &m.f, want, 12, NULL);
  img_free(&m);
}

static void test_nhwc_rgb(void **state) {
  (void)state;
  img_t m = tiny();
  cn_preproc_opts_t o = opts(2, 2);
  o.layout = CN_LAYOUT_NHWC;
  o.rgb = true;
  const float want[] = {30, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100};
  run_expect(&o, &m.f, want, 12, NULL);
  img_free(&m);
}

/* mean (B,G,R) = (10,20,30), scale 0.5, std (B,G,R) = (1,2,4):
 * B: (b-10)*0.5/1, G: (g-20)*0.5/2, R: (r-30)*0.5/4. */
static void test_mean_scale_std(void **state) {
  (void)state;
  img_t m = tiny();
  cn_preproc_opts_t o = opts(2, 2);
  o.mean[0] = 10, o.mean[1] = 20, o.mean[2] = 30;
  o.scale = 0.5f;
  o.std[0] = 1, o.std[1] = 2, o.std[2] = 4;
  o.rgb = true;
  const float nchw_rgb[] = {0,  3.75f, 7.5f, 11.25f, 0,  7.5f,
                            15, 22.5f, 0,    15,     30, 45};
  run_expect(&o, &m.f, nchw_rgb, 12, NULL);
  o.rgb = false;
  o.layout = CN_LAYOUT_NHWC;
  const float nhwc_bgr[] = {0,  0,  0,    15, 7.5f,  3.75f,
                            30, 15, 7.5f, 45, 22.5f, 11.25f};
  run_expect(&o, &m.f, nhwc_bgr, 12, NULL);
  o.layout = CN_LAYOUT_NCHW;
  const float nchw_bgr[] = {0,  15,    30, 45,    0,    7.5f,
                            15, 22.5f, 0,  3.75f, 7.5f, 11.25f};
  run_expect(&o, &m.f, nchw_bgr, 12, NULL);
  img_free(&m);
}

/* BlazeFace's [-1, 1]: (p - 127.5) / 127.5. */
static void test_blazeface_range(void **state) {
  (void)state;
  img_t m = tiny();
  cn_preproc_opts_t o = opts(2, 2);
  o.layout = CN_LAYOUT_NHWC;
  o.rgb = true;
  for (int c = 0; c < 3; c++)
    o.mean[c] = 127.5f;
  o.scale = 1.0f / 127.5f;
  const float want[] = {-97.5f / 127.5f, -107.5f / 127.5f, -117.5f / 127.5f,
                        -67.5f / 127.5f, -77.5f / 127.5f,  -87.5f / 127.5f,
                        -37.5f / 127.5f, -47.5f / 127.5f,  -57.5f / 127.5f,
                        -7.5f / 127.5f,  -17.5f / 127.5f,  -27.5f / 127.5f};
  run_expect(&o, &m.f, want, 12, NULL);
  img_free(&m);
}

/* A mean image is in the network's channel order: planes 1..4, 5..8,
 * 9..12, scale 2. */
static void test_mean_image(void **state) {
  (void)state;
  img_t m = tiny();
  float mv[12];
  for (int i = 0; i < 12; i++)
    mv[i] = (float)(i + 1);
  cn_mean_t mean = {3, 2, 2, mv};
  cn_preproc_opts_t o = opts(2, 2);
  o.mean_image = &mean;
  o.scale = 2;
  o.mean[0] = 99; /* replaced by the image */
  const float bgr[] = {18, 76, 134, 192, 30, 88, 146, 204, 42, 100, 158, 216};
  run_expect(&o, &m.f, bgr, 12, NULL);
  o.rgb = true;
  const float rgb[] = {58, 116, 174, 232, 30, 88, 146, 204, 2, 60, 118, 176};
  run_expect(&o, &m.f, rgb, 12, NULL);
  o.layout = CN_LAYOUT_NHWC;
  const float rgb_nhwc[] = {58,  30,  2,   116, 88,  60,
                            174, 146, 118, 232, 204, 176};
  run_expect(&o, &m.f, rgb_nhwc, 12, NULL);
  img_free(&m);
}

/* Pixel (x, y) of the geometry frames: B = 50 + 10x + 40y, G = B+1,
 * R = B+2. */
static img_t ramp(int w, int h) {
  img_t m = img_new(w, h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int b = 50 + 10 * x + 40 * y;
      img_set(&m, x, y, b, b + 1, b + 2);
    }
  return m;
}

static void test_crop_wide_and_tall(void **state) {
  (void)state;
  img_t wide = ramp(4, 2), tall = ramp(2, 4);
  cn_preproc_opts_t o = opts(2, 2);
  o.crop = true;
  cn_xform_t xf;
  /* Columns 1 and 2 of the 4x2 frame. */
  const float w[] = {60, 70, 100, 110, 61, 71, 101, 111, 62, 72, 102, 112};
  run_expect(&o, &wide.f, w, 12, &xf);
  assert_true(xf.sx == 1 && xf.sy == 1 && xf.ox == 1 && xf.oy == 0);
  /* Rows 1 and 2 of the 2x4 frame. */
  const float t[] = {90, 100, 130, 140, 91, 101, 131, 141, 92, 102, 132, 142};
  run_expect(&o, &tall.f, t, 12, &xf);
  assert_true(xf.sx == 1 && xf.sy == 1 && xf.ox == 0 && xf.oy == 1);
  assert_int_equal(xf.src_w, 2);
  assert_int_equal(xf.src_h, 4);
  assert_int_equal(xf.in_w, 2);
  img_free(&wide);
  img_free(&tall);
}

/* 4x2 into 4x4: rows 1-2 are the frame, rows 0 and 3 black; with mean 1
 * a black pixel is -1. 2x4 into 4x4: columns 1-2. */
static void test_letterbox(void **state) {
  (void)state;
  img_t wide = ramp(4, 2), tall = ramp(2, 4);
  cn_preproc_opts_t o = opts(4, 4);
  o.letterbox = true;
  for (int c = 0; c < 3; c++)
    o.mean[c] = 1;
  float want[48];
  cn_xform_t xf;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 4; x++)
        want[c * 16 + y * 4 + x] =
            (y == 0 || y == 3) ? -1.0f
                               : (float)(50 + 10 * x + 40 * (y - 1) + c - 1);
  run_expect(&o, &wide.f, want, 48, &xf);
  assert_true(xf.sx == 1 && xf.sy == 1 && xf.ox == 0 && xf.oy == -1);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 4; x++)
        want[c * 16 + y * 4 + x] =
            (x == 0 || x == 3) ? -1.0f
                               : (float)(50 + 10 * (x - 1) + 40 * y + c - 1);
  run_expect(&o, &tall.f, want, 48, &xf);
  assert_true(xf.sx == 1 && xf.sy == 1 && xf.ox == -1 && xf.oy == 0);
  /* The same as NHWC, RGB: element (y, x, c) with c = 2 - bgr index. */
  o.layout = CN_LAYOUT_NHWC;
  o.rgb = true;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++)
      for (int c = 0; c < 3; c++)
        want[(y * 4 + x) * 3 + c] =
            (x == 0 || x == 3)
                ? -1.0f
                : (float)(50 + 10 * (x - 1) + 40 * y + (2 - c) - 1);
  run_expect(&o, &tall.f, want, 48, NULL);
  img_free(&wide);
  img_free(&tall);
}

/* ---- resized frames ----------------------------------------------------- */

/* Checks a 64x64 NCHW BGR result (scale 1): inside [x0,x1) x [y0,y1)
 * shrunk by a 2-pixel margin is exactly (200, 100, 0), outside grown by
 * the margin exactly black; R is 0 everywhere (colours do not bleed
 * between channels). */
static void check_rect(const float *v, int x0, int y0, int x1, int y1) {
  const int W = 64, P = 64 * 64;
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++) {
      int i = y * W + x;
      assert_true(v[2 * P + i] == 0.0f);
      int inside = x >= x0 + 2 && x < x1 - 2 && y >= y0 + 2 && y < y1 - 2;
      int outside = x < x0 - 2 || x >= x1 + 2 || y < y0 - 2 || y >= y1 + 2;
      if (inside && (v[i] != 200.0f || v[P + i] != 100.0f))
        fail_msg("(%d,%d) inside: %g %g", x, y, (double)v[i], (double)v[P + i]);
      if (outside && (v[i] != 0.0f || v[P + i] != 0.0f))
        fail_msg("(%d,%d) outside: %g %g", x, y, (double)v[i],
                 (double)v[P + i]);
    }
}

typedef struct mode {
  bool crop, letterbox;
  int x0, y0, x1, y1; /* where the rectangle lands in the 64x64 input */
  float sx, sy, ox, oy;
} geom_case_t;

/* Frame 640x480 (or half) with the rectangle at x 320..480, y 120..240 (or
 * half): plain scale 10 x 7.5; crop: the square at x 80, scale 7.5;
 * letterbox: scale 10, 8 rows of padding on top. */
static const geom_case_t MODES[] = {
    {false, false, 32, 16, 48, 32, 10, 7.5f, 0, 0},
    {true, false, 32, 16, 53, 32, 7.5f, 7.5f, 80, 0},
    {false, true, 32, 20, 48, 32, 10, 10, 0, -80},
};

static void test_resize_geometry(void **state) {
  (void)state;
  img_t big = img_new(640, 480), small = img_new(320, 240);
  img_rect(&big, 320, 120, 480, 240, 200, 100, 0);
  img_rect(&small, 160, 60, 240, 120, 200, 100, 0);
  float *v = malloc(64 * 64 * 3 * sizeof(float));
  assert_non_null(v);
  for (size_t k = 0; k < sizeof MODES / sizeof MODES[0]; k++) {
    const geom_case_t *md = &MODES[k];
    cn_preproc_opts_t o = opts(64, 64);
    o.crop = md->crop;
    o.letterbox = md->letterbox;
    cn_preproc_t *p = NULL;
    cn_err_t err = {0};
    assert_int_equal(cn_preproc_create(&o, &p, &err), 0);
    /* Big, small (a reconnect at another size), big again. */
    for (int pass = 0; pass < 3; pass++) {
      img_t *m = pass == 1 ? &small : &big;
      float half = pass == 1 ? 0.5f : 1.0f;
      cn_xform_t xf;
      if (cn_preproc_run(p, &m->f, v, &xf, &err))
        fail_msg("mode %zu pass %d: %s", k, pass, err.msg);
      check_rect(v, md->x0, md->y0, md->x1, md->y1);
      if (md->letterbox) {
        /* The padding rows are black to the last pixel. */
        for (int i = 0; i < 64 * 8; i++)
          assert_true(v[i] == 0.0f && v[64 * 56 + i] == 0.0f);
      }
      assert_float_equal(xf.sx, md->sx * half, 1e-5);
      assert_float_equal(xf.sy, md->sy * half, 1e-5);
      assert_float_equal(xf.ox, md->ox * half, 1e-4);
      assert_float_equal(xf.oy, md->oy * half, 1e-4);
      assert_int_equal(xf.src_w, m->f.width);
      assert_int_equal(xf.in_w, 64);
    }
    cn_preproc_destroy(p);
  }
  free(v);
  img_free(&big);
  img_free(&small);
}

/* Corners of the input land on the corners of the region used, and
 * apply/invert undo each other. */
static void test_xform(void **state) {
  (void)state;
  struct {
    bool crop, letterbox;
    int w, h;
    float x0, y0, x1, y1; /* source of input (0,0) and (64,64) */
  } cases[] = {
      {false, false, 1280, 720, 0, 0, 1280, 720},
      {true, false, 1280, 720, 280, 0, 1000, 720},
      {true, false, 480, 640, 0, 80, 480, 560},
      {false, true, 1280, 720, 0, -280, 1280, 1000},
      {false, true, 480, 640, -80, 0, 560, 640},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    cn_preproc_opts_t o = opts(64, 64);
    o.crop = cases[k].crop;
    o.letterbox = cases[k].letterbox;
    cn_preproc_t *p = NULL;
    assert_int_equal(cn_preproc_create(&o, &p, NULL), 0);
    cn_xform_t xf;
    cn_preproc_xform(p, cases[k].w, cases[k].h, &xf);
    float x = 0, y = 0;
    cn_xform_apply(&xf, &x, &y);
    assert_float_equal(x, cases[k].x0, 1e-3);
    assert_float_equal(y, cases[k].y0, 1e-3);
    x = 64, y = 64;
    cn_xform_apply(&xf, &x, &y);
    assert_float_equal(x, cases[k].x1, 1e-3);
    assert_float_equal(y, cases[k].y1, 1e-3);
    for (int i = 0; i <= 10; i++) {
      float px = (float)i * 6.4f, py = 64.0f - (float)i * 5.0f;
      float qx = px, qy = py;
      cn_xform_apply(&xf, &qx, &qy);
      cn_xform_invert(&xf, &qx, &qy);
      assert_float_equal(qx, px, 1e-3);
      assert_float_equal(qy, py, 1e-3);
    }
    cn_preproc_destroy(p);
  }
}

/* ---- errors and allocation ---------------------------------------------- */

static void expect_create_error(const cn_preproc_opts_t *o, const char *what) {
  cn_preproc_t *p = (cn_preproc_t *)1;
  cn_err_t err = {0};
  assert_int_equal(cn_preproc_create(o, &p, &err), CN_EINVAL);
  assert_null(p);
  if (!strstr(err.msg, what))
    fail_msg("'%s' does not mention '%s'", err.msg, what);
}

static void test_errors(void **state) {
  (void)state;
  cn_preproc_opts_t o = opts(0, 4);
  expect_create_error(&o, "size");
  o = opts(4, 4);
  o.channels = 1;
  expect_create_error(&o, "channels");
  o = opts(4, 4);
  o.crop = o.letterbox = true;
  expect_create_error(&o, "crop and letterbox");
  o = opts(4, 4);
  o.std[1] = 0;
  expect_create_error(&o, "std");
  float mv[3 * 8 * 8] = {0};
  cn_mean_t mean = {3, 8, 8, mv};
  o = opts(4, 4);
  o.mean_image = &mean;
  expect_create_error(&o, "mean image is 3x8x8");

  cn_preproc_t *p = NULL;
  o = opts(2, 2);
  assert_int_equal(cn_preproc_create(&o, &p, NULL), 0);
  img_t m = tiny();
  float v[12];
  cn_err_t err = {0};
  m.f.format = CN_PIX_NONE; /* not developed */
  assert_int_equal(cn_preproc_run(p, &m.f, v, NULL, &err), CN_EINVAL);
  assert_non_null(strstr(err.msg, "no pixels"));
  m.f.format = CN_PIX_BGR24;
  m.f.stride = 3; /* shorter than a row */
  assert_int_equal(cn_preproc_run(p, &m.f, v, NULL, &err), CN_EINVAL);
  img_free(&m);
  cn_preproc_destroy(p);
  cn_preproc_destroy(NULL);
}

static void test_no_allocation_per_frame(void **state) {
  (void)state;
  img_t big = img_new(1280, 720);
  img_rect(&big, 100, 100, 300, 300, 10, 20, 30);
  const bool crops[] = {false, true, false}, boxes[] = {false, false, true};
  for (int k = 0; k < 3; k++) {
    cn_preproc_opts_t o = opts(128, 96);
    o.crop = crops[k];
    o.letterbox = boxes[k];
    o.layout = k == 2 ? CN_LAYOUT_NHWC : CN_LAYOUT_NCHW;
    cn_preproc_t *p = NULL;
    assert_int_equal(cn_preproc_create(&o, &p, NULL), 0);
    float *v = malloc((size_t)cn_preproc_numel(p) * sizeof(float));
    assert_non_null(v);
    cn_xform_t xf;
    assert_int_equal(cn_preproc_run(p, &big.f, v, &xf, NULL), 0);
    cn_test_alloc_start();
    for (int i = 0; i < 10; i++)
      assert_int_equal(cn_preproc_run(p, &big.f, v, &xf, NULL), 0);
    assert_int_equal(cn_test_alloc_stop(), 0);
    free(v);
    cn_preproc_destroy(p);
  }
  img_free(&big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_nchw_bgr),
      cmocka_unit_test(test_nhwc_rgb),
      cmocka_unit_test(test_mean_scale_std),
      cmocka_unit_test(test_blazeface_range),
      cmocka_unit_test(test_mean_image),
      cmocka_unit_test(test_crop_wide_and_tall),
      cmocka_unit_test(test_letterbox),
      cmocka_unit_test(test_resize_geometry),
      cmocka_unit_test(test_xform),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_no_allocation_per_frame),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
