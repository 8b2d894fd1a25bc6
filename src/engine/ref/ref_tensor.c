/* Reference kernels: data movement (concat, split, slice, transpose, pad,
 * copy) and resize. */
#include <math.h>
#include <string.h>

#include "engine/ref/ref.h"

int cn__ref_copy(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err) {
  (void)scratch;
  (void)err;
  int64_t numel = cn_tensor_numel(&g->tensors[n->outputs[0]]);
  if (numel)
    memcpy(out[0], in[0], (size_t)numel * sizeof(float));
  return 0;
}

int cn__ref_concat(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int ax = n->p.axis.axis;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < ax; i++)
    outer *= yt->dims[i];
  for (int i = ax + 1; i < yt->ndim; i++)
    inner *= yt->dims[i];
  int64_t yrow = yt->dims[ax] * inner, off = 0;
  for (int k = 0; k < n->ninputs; k++) {
    int64_t row = g->tensors[n->inputs[k]].dims[ax] * inner;
    for (int64_t o = 0; o < outer && row; o++)
      memcpy(out[0] + o * yrow + off, in[k] + o * row,
             (size_t)row * sizeof(float));
    off += row;
  }
  return 0;
}

int cn__ref_split(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  int ax = n->p.axis.axis;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < ax; i++)
    outer *= xt->dims[i];
  for (int i = ax + 1; i < xt->ndim; i++)
    inner *= xt->dims[i];
  int64_t xrow = xt->dims[ax] * inner, off = 0;
  for (int k = 0; k < n->noutputs; k++) {
    int64_t row = g->tensors[n->outputs[k]].dims[ax] * inner;
    for (int64_t o = 0; o < outer && row; o++)
      memcpy(out[k] + o * row, in[0] + o * xrow + off,
             (size_t)row * sizeof(float));
    off += row;
  }
  return 0;
}

static void row_major_strides(const cn_tensor_t *t, int64_t *st) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    st[i] = s;
    s *= t->dims[i];
  }
}

/* Advances a multi-index over dims; returns 0 when it wrapped around. */
static int next_index(int64_t *idx, const int64_t *dims, int nd) {
  for (int i = nd - 1; i >= 0; i--) {
    if (++idx[i] < dims[i])
      return 1;
    idx[i] = 0;
  }
  return 0;
}

int cn__ref_slice(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  const cn_slice_params_t *p = &n->p.slice;
  int64_t xs[CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0};
  row_major_strides(xt, xs);
  int64_t numel = cn_tensor_numel(yt);
  for (int64_t o = 0; o < numel; o++) {
    int64_t off = 0;
    for (int i = 0; i < yt->ndim; i++)
      off += (p->starts[i] + idx[i] * p->steps[i]) * xs[i];
    out[0][o] = in[0][off];
    next_index(idx, yt->dims, yt->ndim);
  }
  return 0;
}

int cn__ref_transpose(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int64_t xs[CN_MAX_DIMS], ps[CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0};
  row_major_strides(xt, xs);
  for (int i = 0; i < yt->ndim; i++)
    ps[i] = xs[n->p.transpose.perm[i]];
  int64_t numel = cn_tensor_numel(yt);
  for (int64_t o = 0; o < numel; o++) {
    int64_t off = 0;
    for (int i = 0; i < yt->ndim; i++)
      off += idx[i] * ps[i];
    out[0][o] = in[0][off];
    next_index(idx, yt->dims, yt->ndim);
  }
  return 0;
}

/* Source index of padded position v on an axis of len, or -1 outside
 * (constant mode). */
static int64_t pad_map(cn_pad_mode_t mode, int64_t v, int64_t len) {
  if (v >= 0 && v < len)
    return v;
  if (mode == CN_PAD_CONSTANT)
    return -1;
  if (mode == CN_PAD_EDGE)
    return v < 0 ? 0 : len - 1;
  int64_t per = 2 * (len - 1); /* reflect without repeating the edge */
  if (per == 0)
    return 0;
  v %= per;
  if (v < 0)
    v += per;
  return v >= len ? per - v : v;
}

/* One output row of the last axis: the part inside the input is one
 * memcpy, only the padded ends are mapped element by element. */
static void pad_row(const cn_pad_params_t *p, const float *x, int64_t len,
                    int64_t lo, float *y, int64_t w) {
  int64_t j0 = lo > 0 ? lo : 0, j1 = lo + len < w ? lo + len : w;
  for (int64_t j = 0; j < j0 && j < w; j++) {
    int64_t v = pad_map(p->mode, j - lo, len);
    y[j] = v < 0 ? p->value : x[v];
  }
  if (j1 > j0)
    memcpy(y + j0, x + (j0 - lo), (size_t)(j1 - j0) * sizeof(float));
  for (int64_t j = j1 > j0 ? j1 : j0; j < w; j++) {
    int64_t v = pad_map(p->mode, j - lo, len);
    y[j] = v < 0 ? p->value : x[v];
  }
}

int cn__ref_pad(const cn_graph_t *g, const cn_node_t *n, const float *const *in,
                float *const *out, void *scratch, cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  const cn_pad_params_t *p = &n->p.pad;
  int nd = xt->ndim;
  int64_t xs[CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0};
  row_major_strides(xt, xs);
  int64_t numel = cn_tensor_numel(yt);
  if (nd == 0 || numel == 0) {
    if (numel)
      out[0][0] = in[0][0];
    return 0;
  }
  int64_t w = yt->dims[nd - 1], len = xt->dims[nd - 1];
  for (int64_t o = 0; o < numel; o += w) {
    int64_t off = 0;
    int outside = len == 0;
    for (int i = 0; i < nd - 1 && !outside; i++) {
      int64_t v = pad_map(p->mode, idx[i] - p->pads[i], xt->dims[i]);
      outside = v < 0;
      off += v * xs[i];
    }
    if (outside)
      for (int64_t j = 0; j < w; j++)
        out[0][o + j] = p->value;
    else
      pad_row(p, in[0] + off, len, p->pads[nd - 1], out[0] + o, w);
    for (int i = nd - 2; i >= 0; i--) {
      if (++idx[i] < yt->dims[i])
        break;
      idx[i] = 0;
    }
  }
  return 0;
}

/* ---- resize (ONNX Resize semantics, separable over every axis) -------- */

static void cubic_coeffs(float r, float A, float *c) {
  float a = r + 1, b = 1 - r, d = 2 - r;
  c[0] = ((A * a - 5 * A) * a + 8 * A) * a - 4 * A;
  c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
  c[2] = ((A + 2) * b - (A + 3)) * b * b + 1;
  c[3] = ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
}

/* The output coordinate x mapped onto the input axis, per
 * coordinate_transformation_mode. Returns -1 when the point lies outside the
 * crop box (tf_crop_and_resize extrapolation), else 0. */
static int source_coord(const cn_resize_params_t *p, int ax, int nd, int64_t x,
                        int64_t in_len, double *xo_out) {
  float scale = p->scales[ax];
  /* The spec's "length_resized" is scale*in as a real number; with sizes
   * given the importer stores scale = out/in, which makes it out_len. */
  double out_w = (double)scale * (double)in_len;
  double xo;
  switch (p->coord) {
  case CN_COORD_ALIGN_CORNERS:
    xo = out_w == 1 ? 0.0 : (double)x * (double)(in_len - 1) / (out_w - 1);
    break;
  case CN_COORD_ASYMMETRIC:
    xo = (double)x / scale;
    break;
  case CN_COORD_PYTORCH_HALF_PIXEL:
    xo = out_w == 1 ? -0.5 : ((double)x + 0.5) / scale - 0.5;
    break;
  case CN_COORD_TF_HALF_PIXEL_FOR_NN:
    xo = ((double)x + 0.5) / scale;
    break;
  case CN_COORD_TF_CROP_AND_RESIZE: {
    double s = p->roi[ax], e = p->roi[nd + ax];
    if (out_w > 1)
      xo = s * (double)(in_len - 1) +
           (double)x * (e - s) * (double)(in_len - 1) / (out_w - 1);
    else
      xo = 0.5 * (s + e) * (double)(in_len - 1);
    if (!(xo >= 0 && xo <= (double)(in_len - 1))) /* also NaN */
      return -1;
    break;
  }
  default: /* half_pixel */
    xo = ((double)x + 0.5) / scale - 0.5;
    break;
  }
  *xo_out = xo;
  return 0;
}

/* Nearest is linear's two taps with all the weight on one of them. */
static void nearest_coeffs(const cn_resize_params_t *p, int integral,
                           double ratio, float *c) {
  if (integral) {
    c[0] = 0;
    c[1] = 1;
    return;
  }
  int up;
  switch (p->nearest) {
  case CN_NEAREST_ROUND_PREFER_CEIL:
    up = ratio >= 0.5;
    break;
  case CN_NEAREST_FLOOR:
    up = 0;
    break;
  case CN_NEAREST_CEIL:
    up = 1;
    break;
  default:
    up = ratio > 0.5;
    break;
  }
  c[0] = (float)!up;
  c[1] = (float)up;
}

/* The interpolation weights around xo, before edge handling: returns the
 * count and sets *first to the input index of c[0]. */
static int interp_coeffs(const cn_resize_params_t *p, double xo, float *c,
                         int64_t *first) {
  double fl = floor(xo);
  int integral = xo == fl;
  double ratio = integral ? 1.0 : xo - fl;
  int64_t base = (int64_t)fl - (integral ? 1 : 0); /* the "left" neighbour */
  if (p->mode == CN_RESIZE_CUBIC) {
    cubic_coeffs((float)ratio, p->cubic_a, c);
    *first = base - 1;
    return 4;
  }
  *first = base;
  if (p->mode == CN_RESIZE_LINEAR) {
    c[0] = (float)(1 - ratio);
    c[1] = (float)ratio;
  } else {
    nearest_coeffs(p, integral, ratio, c);
  }
  return 2;
}

/* exclude_outside: taps beyond the axis get no weight and the rest are
 * renormalised, instead of clamping onto the edge sample. */
static void exclude_outside(float *c, int cnt, int64_t first, int64_t in_len) {
  float sum = 0;
  for (int k = 0; k < cnt; k++) {
    int64_t j = first + k;
    if (j < 0 || j >= in_len)
      c[k] = 0;
    sum += c[k];
  }
  for (int k = 0; k < cnt && sum != 0; k++)
    c[k] /= sum;
}

/* For one axis and one output coordinate: up to 4 (index, weight) pairs.
 * Returns the count, or -1 when the point lies outside the crop box
 * (tf_crop_and_resize extrapolation). */
static int axis_taps(const cn_resize_params_t *p, int ax, int nd, int64_t x,
                     int64_t in_len, int64_t out_len, int64_t *ti, float *tw) {
  double xo;
  (void)out_len;
  if (source_coord(p, ax, nd, x, in_len, &xo))
    return -1;
  float c[4];
  int64_t first;
  int cnt = interp_coeffs(p, xo, c, &first);
  if (p->exclude_outside)
    exclude_outside(c, cnt, first, in_len);
  int m = 0;
  for (int k = 0; k < cnt; k++) {
    if (c[k] == 0)
      continue;
    int64_t j = first + k;
    ti[m] = j < 0 ? 0 : j >= in_len ? in_len - 1 : j;
    tw[m] = c[k];
    m++;
  }
  return m;
}

int cn__ref_resize(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  const cn_resize_params_t *p = &n->p.resize;
  int nd = xt->ndim;
  int64_t xs[CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0};
  row_major_strides(xt, xs);
  int64_t numel = cn_tensor_numel(yt);
  int64_t ti[CN_MAX_DIMS][4];
  float tw[CN_MAX_DIMS][4];
  int tc[CN_MAX_DIMS];
  for (int64_t o = 0; o < numel; o++) {
    int outside = 0;
    for (int d = 0; d < nd; d++) {
      tc[d] =
          axis_taps(p, d, nd, idx[d], xt->dims[d], yt->dims[d], ti[d], tw[d]);
      if (tc[d] < 0)
        outside = 1;
    }
    if (outside) {
      out[0][o] = p->extrapolation_value;
    } else {
      /* Sum over the tensor product of the per-axis taps. */
      int k[CN_MAX_DIMS] = {0};
      double acc = 0;
      int done = 0;
      for (int d = 0; d < nd; d++)
        if (tc[d] == 0)
          done = 1;
      while (!done) {
        double w = 1;
        int64_t off = 0;
        for (int d = 0; d < nd; d++) {
          w *= tw[d][k[d]];
          off += ti[d][k[d]] * xs[d];
        }
        acc += w * in[0][off];
        int d = nd - 1;
        for (; d >= 0; d--) {
          if (++k[d] < tc[d])
            break;
          k[d] = 0;
        }
        done = d < 0;
      }
      out[0][o] = (float)acc;
    }
    next_index(idx, yt->dims, nd);
  }
  return 0;
}
