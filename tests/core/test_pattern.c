#include "harness.h"

#include <stdlib.h>

#include "core/pattern.h"

static void test_round_trip_sizes(void **state) {
  (void)state;
  const int sizes[][2] = {{1280, 720}, {640, 480}, {160, 120}, {68, 16}};
  const uint32_t values[] = {0,           1,           2,    0x80000000u,
                             0xdeadbeefu, 0xffffffffu, 12345};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int w = sizes[s][0], h = sizes[s][1], stride = w * 3 + 5;
    uint8_t *img = malloc((size_t)stride * h);
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
      cn_pattern_paint_bgr(img, stride, w, h, values[v]);
      assert_int_equal(cn_pattern_read_bgr(img, stride, w, h), values[v]);
    }
    free(img);
  }
}

/* Hand-computed layout: for n = 0x80000001 on 340x160 the bands are 10 px
 * high and each cell 10 px wide; cell 1 (the top bit) and cell 32 (the
 * lowest bit) are white in band 1, cell 2 is black; band 2 is inverted. */
static void test_layout_matches_spec(void **state) {
  (void)state;
  int w = 340, h = 160, stride = w * 3;
  uint8_t *img = calloc((size_t)stride * h, 1);
  cn_pattern_paint_bgr(img, stride, w, h, 0x80000001u);
#define PX(x, y) img[(size_t)(y)*stride + (size_t)(x)*3]
  assert_int_equal(PX(5, 5), 255);   /* start cell */
  assert_int_equal(PX(15, 5), 255);  /* bit 31 */
  assert_int_equal(PX(25, 5), 0);    /* bit 30 */
  assert_int_equal(PX(325, 5), 255); /* bit 0 */
  assert_int_equal(PX(335, 5), 0);   /* end cell */
  assert_int_equal(PX(15, 15), 0);   /* band 2 inverts */
  assert_int_equal(PX(25, 15), 255);
#undef PX
  free(img);
}

static void test_rejects_garbage(void **state) {
  (void)state;
  int w = 320, h = 240, stride = w * 3;
  uint8_t *img = calloc((size_t)stride * h, 1);
  assert_int_equal(cn_pattern_read_bgr(img, stride, w, h), -1); /* black */
  cn_pattern_paint_bgr(img, stride, w, h, 77);
  /* Blend two patterns, as a torn frame would: bands become grey. */
  uint8_t *other = malloc((size_t)stride * h);
  cn_pattern_paint_bgr(other, stride, w, h, ~77u);
  for (size_t i = 0; i < (size_t)stride * h; i++)
    img[i] = (uint8_t)((img[i] + other[i]) / 2);
  assert_int_equal(cn_pattern_read_bgr(img, stride, w, h), -1);
  assert_int_equal(cn_pattern_read_bgr(img, stride, 20, 10), -1);
  free(other);
  free(img);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_sizes),
      cmocka_unit_test(test_layout_matches_spec),
      cmocka_unit_test(test_rejects_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
