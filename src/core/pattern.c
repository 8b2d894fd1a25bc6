#include "core/pattern.h"

#include <stddef.h>

#define CELLS 34

static int band_height(int height) {
  int h = height / 16;
  return h < 4 ? 4 : h;
}

static void fill(uint8_t *data, int stride, int x0, int y0, int x1, int y1,
                 uint8_t b, uint8_t g, uint8_t r) {
  for (int y = y0; y < y1; y++) {
    uint8_t *p = data + (size_t)y * (size_t)stride + (size_t)x0 * 3;
    for (int x = x0; x < x1; x++, p += 3) {
      p[0] = b;
      p[1] = g;
      p[2] = r;
    }
  }
}

/* Cell i of a band: 1 = white. Band 1 is start(1), bits, end(0); band 2 is
 * its inverse. */
static int cell_value(uint32_t n, int band, int i) {
  int v;
  if (i == 0)
    v = 1;
  else if (i == CELLS - 1)
    v = 0;
  else
    v = (int)((n >> (32 - i)) & 1u);
  return band ? !v : v;
}

void cn_pattern_paint_bgr(uint8_t *data, int stride, int width, int height,
                          uint32_t n) {
  int bh = band_height(height);
  for (int band = 0; band < 2; band++)
    for (int i = 0; i < CELLS; i++) {
      int x0 = i * width / CELLS, x1 = (i + 1) * width / CELLS;
      uint8_t v = cell_value(n, band, i) ? 255 : 0;
      fill(data, stride, x0, band * bh, x1, (band + 1) * bh, v, v, v);
    }
  /* Diagonal bars that move 4 px per frame. */
  for (int y = 2 * bh; y < height; y++) {
    uint8_t *p = data + (size_t)y * (size_t)stride;
    for (int x = 0; x < width; x++, p += 3) {
      unsigned k = (unsigned)(x + y + (int)(n * 4u)) / 32u;
      p[0] = (uint8_t)(k * 53u);
      p[1] = (uint8_t)(k * 97u + 40u);
      p[2] = (uint8_t)(k * 151u + 80u);
    }
  }
}

/* Mean luma of the central half of a cell. */
static int cell_luma(const uint8_t *data, int stride, int width, int band,
                     int bh, int i) {
  int x0 = i * width / CELLS, x1 = (i + 1) * width / CELLS;
  int w = x1 - x0, y0 = band * bh;
  int cx0 = x0 + w / 4, cx1 = x1 - w / 4, cy0 = y0 + bh / 4,
      cy1 = y0 + bh - bh / 4;
  if (cx1 <= cx0)
    cx1 = cx0 + 1;
  if (cy1 <= cy0)
    cy1 = cy0 + 1;
  long sum = 0, count = 0;
  for (int y = cy0; y < cy1; y++) {
    const uint8_t *p = data + (size_t)y * (size_t)stride + (size_t)cx0 * 3;
    for (int x = cx0; x < cx1; x++, p += 3, count++)
      sum += (p[0] * 29 + p[1] * 150 + p[2] * 77) >> 8;
  }
  return (int)(sum / count);
}

int64_t cn_pattern_read_bgr(const uint8_t *data, int stride, int width,
                            int height) {
  if (width < 2 * CELLS || height < 16)
    return -1;
  int bh = band_height(height);
  uint32_t n = 0;
  for (int i = 0; i < CELLS; i++) {
    int a = cell_luma(data, stride, width, 0, bh, i);
    int b = cell_luma(data, stride, width, 1, bh, i);
    /* A readable cell is clearly light in one band and dark in the other. */
    if (a - b > 64) {
      if (i == CELLS - 1)
        return -1;
      if (i > 0)
        n = (n << 1) | 1u;
    } else if (b - a > 64) {
      if (i == 0)
        return -1;
      if (i < CELLS - 1)
        n <<= 1;
    } else {
      return -1;
    }
  }
  return (int64_t)n;
}
