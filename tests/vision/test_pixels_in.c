/* Pixels in: caller-owned pixels wrapped as a frame (cn_frame_wrap) and
 * preprocessed without a copy, in every accepted format. The reference is
 * the same picture as BGR24; YUV pictures are made from it here with the
 * BT.601 limited-range formulas written out by hand, on 4x4 blocks of one
 * colour so 4:2:0 subsampling loses nothing, and the inner 2x2 pixels of
 * each block (whose interpolated chroma comes from that block alone) must
 * come back within the rounding of 8-bit YUV. */
#include "harness.h"

#include <math.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "camnet/frame.h"
#include "vision/preprocess.h"

enum { W = 64, H = 48 };

typedef struct pic {
  uint8_t bgr[H][W * 3], rgb[H][W * 3], gray[H][W];
  uint8_t y[H][W], u[H / 2][W / 2], v[H / 2][W / 2], uv[H / 2][W];
} pic_t;

static uint8_t clamp8(double v) {
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
}

/* Random colours on 4x4 blocks; the other formats derived by hand. */
static void make_pic(pic_t *p) {
  srand(7);
  for (int by = 0; by < H / 4; by++)
    for (int bx = 0; bx < W / 4; bx++) {
      int r = rand() % 256, g = rand() % 256, b = rand() % 256;
      double yy = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
      double cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255;
      double cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255;
      for (int k = 0; k < 4; k++) {
        int cx = 2 * bx + k % 2, cy = 2 * by + k / 2;
        p->u[cy][cx] = p->uv[cy][2 * cx] = clamp8(cb);
        p->v[cy][cx] = p->uv[cy][2 * cx + 1] = clamp8(cr);
      }
      for (int k = 0; k < 16; k++) {
        int x = 4 * bx + k % 4, y = 4 * by + k / 4;
        uint8_t *q = &p->bgr[y][3 * x], *s = &p->rgb[y][3 * x];
        q[0] = s[2] = (uint8_t)b;
        q[1] = s[1] = (uint8_t)g;
        q[2] = s[0] = (uint8_t)r;
        p->gray[y][x] = (uint8_t)((r + g + b) / 3);
        p->y[y][x] = clamp8(yy);
      }
    }
}

static cn_image_t image(cn_pixfmt_t fmt, const uint8_t *d0, int s0,
                        const uint8_t *d1, int s1, const uint8_t *d2, int s2) {
  cn_image_t img = {.format = fmt, .width = W, .height = H, .pts = 1.5};
  img.data[0] = d0;
  img.data[1] = d1;
  img.data[2] = d2;
  img.stride[0] = s0;
  img.stride[1] = s1;
  img.stride[2] = s2;
  return img;
}

/* The network input (NCHW, B,G,R, unscaled) made from img. */
static void run(const cn_image_t *img, float *out) {
  cn_preproc_opts_t o;
  cn_preproc_opts_default(&o);
  o.width = W;
  o.height = H;
  cn_preproc_t *p = NULL;
  cn_frame_t *f = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_preproc_create(&o, &p, &err), 0);
  assert_int_equal(cn_frame_wrap(img, &f, &err), 0);
  assert_int_equal(cn_frame_develop(f, &err), 0);
  assert_int_equal(cn_preproc_run(p, f, out, NULL, &err), 0);
  cn_frame_unref(&f);
  cn_preproc_destroy(p);
}

static float max_diff(const float *a, const float *b, int n) {
  float m = 0;
  for (int i = 0; i < n; i++)
    m = fmaxf(m, fabsf(a[i] - b[i]));
  return m;
}

/* The same over the inner 2x2 pixels of every 4x4 block, all channels. */
static float max_diff_inner(const float *a, const float *b) {
  float m = 0;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        if (x % 4 == 1 || x % 4 == 2)
          if (y % 4 == 1 || y % 4 == 2) {
            int i = (c * H + y) * W + x;
            m = fmaxf(m, fabsf(a[i] - b[i]));
          }
  return m;
}

static void test_formats(void **state) {
  (void)state;
  static pic_t p;
  static float ref[3 * W * H], got[3 * W * H];
  make_pic(&p);
  cn_image_t bgr = image(CN_PIX_BGR24, &p.bgr[0][0], W * 3, NULL, 0, NULL, 0);
  run(&bgr, ref);
  /* The reference itself: channel 0 is B, straight from the bytes. */
  assert_float_equal(ref[0], p.bgr[0][0], 0);
  assert_float_equal(ref[2 * W * H + 5], p.bgr[0][5 * 3 + 2], 0);

  cn_image_t rgb = image(CN_PIX_RGB24, &p.rgb[0][0], W * 3, NULL, 0, NULL, 0);
  run(&rgb, got);
  assert_float_equal(max_diff(ref, got, 3 * W * H), 0, 0);

  cn_image_t gray = image(CN_PIX_GRAY8, &p.gray[0][0], W, NULL, 0, NULL, 0);
  run(&gray, got);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < W * H; i++)
      assert_float_equal(got[c * W * H + i], (&p.gray[0][0])[i], 0);

  /* 8-bit YUV holds each colour to +-1 per channel after the
   * round trip; saturated colours clip, which rounding cannot exceed. */
  cn_image_t i420 = image(CN_PIX_YUV420P, &p.y[0][0], W, &p.u[0][0], W / 2,
                          &p.v[0][0], W / 2);
  run(&i420, got);
  float d420 = max_diff_inner(ref, got);
  cn_image_t nv12 = image(CN_PIX_NV12, &p.y[0][0], W, &p.uv[0][0], W, NULL, 0);
  run(&nv12, got);
  float dnv12 = max_diff_inner(ref, got);
  print_message("max |YUV420P - BGR| %.1f, |NV12 - BGR| %.1f levels\n", d420,
                dnv12);
  assert_true(d420 <= 2.0f);
  assert_true(dnv12 <= 2.0f);
}

/* Wrapped frames are the caller's: not writable, stamps clear, seq counts
 * rewraps, and bad descriptions are refused with a reason. */
static void test_wrap_contract(void **state) {
  (void)state;
  static pic_t p;
  make_pic(&p);
  cn_image_t img = image(CN_PIX_BGR24, &p.bgr[0][0], W * 3, NULL, 0, NULL, 0);
  cn_frame_t *f = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_frame_wrap(&img, &f, &err), 0);
  assert_ptr_equal(f->data, &p.bgr[0][0]);
  assert_int_equal(f->seq, 1);
  assert_int_equal(f->source, -1);
  assert_float_equal(f->pts, 1.5, 0);
  assert_true(f->t_capture > 0 && f->t_capture <= cn_clock_now());
  assert_true(f->t_wall > 0);
  assert_false(cn_frame_is_writable(f));
  assert_int_equal(cn_frame_alloc_pixels(f, 8, 8, CN_PIX_BGR24, &err),
                   CN_EINVAL);
  f->t_infer_begin = 42;
  img.data[0] = &p.bgr[1][0];
  assert_int_equal(cn_frame_rewrap(f, &img, &err), 0);
  assert_int_equal(f->seq, 2);
  assert_int_equal(f->t_infer_begin, 0);
  assert_ptr_equal(f->data, &p.bgr[1][0]);
  cn_frame_t *g = cn_frame_ref(f);
  assert_int_equal(cn_frame_rewrap(f, &img, &err), CN_EINVAL);
  cn_frame_unref(&g);

  cn_image_t bad = img;
  bad.stride[0] = W * 3 - 1;
  assert_int_equal(cn_frame_rewrap(f, &bad, &err), CN_EINVAL);
  assert_non_null(strstr(err.msg, "stride"));
  assert_int_equal(f->seq, 2); /* unchanged by a refusal */
  bad = img;
  bad.format = CN_PIX_NV12; /* no chroma plane */
  cn_frame_t *h = NULL;
  assert_int_equal(cn_frame_wrap(&bad, &h, &err), CN_EINVAL);
  assert_null(h);
  assert_non_null(strstr(err.msg, "plane 1"));
  bad = img;
  bad.width = 0;
  assert_int_equal(cn_frame_wrap(&bad, &h, &err), CN_EINVAL);
  assert_non_null(strstr(err.msg, "size 0x48"));
  bad.format = CN_PIX_NONE;
  assert_int_equal(cn_frame_wrap(&bad, &h, &err), CN_EINVAL);
  cn_frame_unref(&f);
  assert_null(f);
}

/* Caller memory that ends exactly at an unreadable page, as a mapped
 * camera buffer may: resizing must not read a byte past the last pixel
 * of any plane (libswscale's SIMD readers would, unpadded). */
static uint8_t *guarded(size_t n, void **map, size_t *maplen) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t body = (n + page - 1) / page * page;
  *maplen = body + page;
  uint8_t *m = mmap(NULL, *maplen, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(m != MAP_FAILED);
  assert_int_equal(mprotect(m + body, page, PROT_NONE), 0);
  *map = m;
  return m + body - n;
}

static void test_no_read_past_the_pixels(void **state) {
  (void)state;
  enum { GW = 640, GH = 480 };
  static const cn_pixfmt_t fmts[] = {CN_PIX_BGR24, CN_PIX_RGB24,
                                     CN_PIX_BGRA,  CN_PIX_GRAY8,
                                     CN_PIX_NV12,  CN_PIX_YUV420P};
  static const int bpp[] = {3, 3, 4, 1, 1, 1};
  cn_preproc_opts_t o;
  cn_preproc_opts_default(&o);
  o.width = 224;
  o.height = 224;
  cn_preproc_t *p = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_preproc_create(&o, &p, &err), 0);
  static float in[3 * 224 * 224];
  for (size_t k = 0; k < sizeof fmts / sizeof *fmts; k++) {
    /* Every plane in its own mapping, each ending at a guard page. */
    int rows[3] = {GH, GH / 2, GH / 2}, widths[3] = {GW * bpp[k], GW, GW / 2};
    if (fmts[k] == CN_PIX_YUV420P)
      widths[1] = GW / 2;
    int nplanes = fmts[k] == CN_PIX_NV12      ? 2
                  : fmts[k] == CN_PIX_YUV420P ? 3
                                              : 1;
    cn_image_t img = {.format = fmts[k], .width = GW, .height = GH, .pts = 0};
    void *maps[3];
    size_t lens[3];
    for (int i = 0; i < nplanes; i++) {
      size_t n = (size_t)widths[i] * (size_t)rows[i];
      uint8_t *d = guarded(n, &maps[i], &lens[i]);
      memset(d, 0x80, n);
      img.data[i] = d;
      img.stride[i] = widths[i];
    }
    cn_frame_t *f = NULL;
    assert_int_equal(cn_frame_wrap(&img, &f, &err), 0);
    assert_int_equal(cn_preproc_run(p, f, in, NULL, &err), 0);
    cn_frame_unref(&f);
    for (int i = 0; i < nplanes; i++)
      munmap(maps[i], lens[i]);
  }
  cn_preproc_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formats),
      cmocka_unit_test(test_wrap_contract),
      cmocka_unit_test(test_no_read_past_the_pixels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
