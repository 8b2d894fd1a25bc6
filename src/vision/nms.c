#include "vision/nms.h"

float cn_box_iou(const cn_box_t *a, const cn_box_t *b) {
  if (!(a->w > 0 && a->h > 0 && b->w > 0 && b->h > 0))
    return 0.0f;
  float x0 = a->x > b->x ? a->x : b->x;
  float y0 = a->y > b->y ? a->y : b->y;
  float x1 = a->x + a->w < b->x + b->w ? a->x + a->w : b->x + b->w;
  float y1 = a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h;
  if (x1 <= x0 || y1 <= y0)
    return 0.0f;
  float inter = (x1 - x0) * (y1 - y0);
  return inter / (a->w * a->h + b->w * b->h - inter);
}

/* a goes before b: higher score, then lower index. */
static int before(const cn_box_t *in, int a, int b) {
  if (in[a].score != in[b].score)
    return in[a].score > in[b].score;
  return a < b;
}

static void sift_down(const cn_box_t *in, int *idx, int root, int n) {
  for (;;) {
    int child = 2 * root + 1;
    if (child >= n)
      return;
    /* A heap with the element that goes last at the top. */
    if (child + 1 < n && before(in, idx[child], idx[child + 1]))
      child++;
    if (!before(in, idx[root], idx[child]))
      return;
    int t = idx[root];
    idx[root] = idx[child];
    idx[child] = t;
    root = child;
  }
}

/* Heapsort: qsort may allocate a merge buffer, and this runs per frame. */
void cn_nms_sort(const cn_box_t *in, int *idx, int n) {
  for (int i = 0; i < n; i++)
    idx[i] = i;
  for (int i = n / 2 - 1; i >= 0; i--)
    sift_down(in, idx, i, n);
  for (int end = n - 1; end > 0; end--) {
    int t = idx[0];
    idx[0] = idx[end];
    idx[end] = t;
    sift_down(in, idx, 0, end);
  }
}

int cn_nms(const cn_box_t *in, int n, float iou, bool per_class, int *scratch,
           cn_box_t *out, int max_out) {
  int *order = scratch, nout = 0;
  cn_nms_sort(in, order, n);
  for (int i = 0; i < n && nout < max_out; i++) {
    if (order[i] < 0)
      continue;
    const cn_box_t *best = &in[order[i]];
    out[nout++] = *best;
    for (int j = i + 1; j < n; j++) {
      if (order[j] < 0)
        continue;
      const cn_box_t *b = &in[order[j]];
      if (per_class && b->cls != best->cls)
        continue;
      if (cn_box_iou(best, b) > iou)
        order[j] = -1;
    }
  }
  return nout;
}

int cn_nms_weighted(const cn_box_t *in, int n, float iou, int *scratch,
                    cn_box_t *out, int max_out) {
  int *order = scratch, nout = 0;
  cn_nms_sort(in, order, n);
  for (int i = 0; i < n && nout < max_out; i++) {
    if (order[i] < 0)
      continue;
    const cn_box_t *best = &in[order[i]];
    /* Sums in corner form, as MediaPipe averages xmin, ymin, xmax, ymax. */
    double total = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    double kp[CN_MAX_KP][2] = {{0}};
    for (int j = i; j < n; j++) {
      if (order[j] < 0)
        continue;
      const cn_box_t *b = &in[order[j]];
      if (j != i && !(cn_box_iou(best, b) > iou))
        continue;
      double s = b->score;
      total += s;
      x0 += b->x * s;
      y0 += b->y * s;
      x1 += (b->x + b->w) * s;
      y1 += (b->y + b->h) * s;
      for (int k = 0; k < best->nkp && k < b->nkp; k++) {
        kp[k][0] += b->kp[k][0] * s;
        kp[k][1] += b->kp[k][1] * s;
      }
      order[j] = -1;
    }
    cn_box_t r = *best;
    if (total > 0) {
      r.x = (float)(x0 / total);
      r.y = (float)(y0 / total);
      r.w = (float)(x1 / total) - r.x;
      r.h = (float)(y1 / total) - r.y;
      for (int k = 0; k < r.nkp; k++) {
        r.kp[k][0] = (float)(kp[k][0] / total);
        r.kp[k][1] = (float)(kp[k][1] / total);
      }
    }
    out[nout++] = r;
  }
  return nout;
}
