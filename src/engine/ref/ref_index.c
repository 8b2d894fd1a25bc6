/* Reference kernels: indexed and repeated data movement (GatherElements,
 * Where, Tile). Each walks its output in rows of the last axis, so the
 * inner loops are strided copies the compiler vectorizes. */
#include <string.h>

#include "engine/ref/ref.h"

/* Row-major strides of t's dims, seen through an output of rank nd: 0 on
 * broadcast (size-1 or missing) axes. */
static void strides_for(const cn_tensor_t *t, int nd, const int64_t *od,
                        int64_t *st) {
  int64_t s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    int ti = i - (nd - t->ndim);
    int64_t d = ti >= 0 ? t->dims[ti] : 1;
    st[i] = (d == 1 && od[i] != 1) ? 0 : s;
    s *= d;
  }
}

/* Advances the index of the outer nd-1 axes; the row offsets follow. */
static void next_row(const int64_t *dims, int nd, int64_t *idx) {
  for (int i = nd - 2; i >= 0; i--) {
    if (++idx[i] < dims[i])
      return;
    idx[i] = 0;
  }
}

int cn__ref_gather_elements(const cn_graph_t *g, const cn_node_t *n,
                            const float *const *in, float *const *out,
                            void *scratch, cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int nd = yt->ndim, ax = n->p.gather.axis;
  int64_t xs[CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0}, s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    xs[i] = s;
    s *= xt->dims[i];
  }
  int64_t numel = cn_tensor_numel(yt), inner = yt->dims[nd - 1];
  const float *ind = in[1];
  for (int64_t o = 0; o < numel; o += inner) {
    int64_t base = 0;
    for (int i = 0; i < nd - 1; i++)
      if (i != ax)
        base += idx[i] * xs[i];
    if (ax == nd - 1) {
      for (int64_t j = 0; j < inner; j++)
        out[0][o + j] = in[0][base + (int64_t)ind[o + j]];
    } else {
      for (int64_t j = 0; j < inner; j++)
        out[0][o + j] = in[0][base + j + (int64_t)ind[o + j] * xs[ax]];
    }
    next_row(yt->dims, nd, idx);
  }
  return 0;
}

int cn__ref_where(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int nd = yt->ndim;
  int64_t numel = cn_tensor_numel(yt);
  if (nd == 0 && numel) {
    out[0][0] = in[0][0] != 0 ? in[1][0] : in[2][0];
    return 0;
  }
  int64_t st[3][CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0};
  for (int k = 0; k < 3; k++)
    strides_for(&g->tensors[n->inputs[k]], nd, yt->dims, st[k]);
  int64_t inner = nd ? yt->dims[nd - 1] : 1;
  for (int64_t o = 0; o < numel; o += inner) {
    int64_t off[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < nd - 1; i++)
        off[k] += idx[i] * st[k][i];
    const float *c = in[0] + off[0], *a = in[1] + off[1], *b = in[2] + off[2];
    int64_t sc = st[0][nd - 1], sa = st[1][nd - 1], sb = st[2][nd - 1];
    for (int64_t j = 0; j < inner; j++)
      out[0][o + j] = c[j * sc] != 0 ? a[j * sa] : b[j * sb];
    next_row(yt->dims, nd, idx);
  }
  return 0;
}

int cn__ref_tile(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int nd = yt->ndim;
  int64_t numel = cn_tensor_numel(yt);
  if (numel == 0)
    return 0;
  if (nd == 0) {
    out[0][0] = in[0][0];
    return 0;
  }
  int64_t xs[CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0}, s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    xs[i] = s;
    s *= xt->dims[i];
  }
  int64_t row = xt->dims[nd - 1], inner = yt->dims[nd - 1];
  for (int64_t o = 0; o < numel; o += inner) {
    int64_t base = 0;
    for (int i = 0; i < nd - 1; i++)
      base += (idx[i] % xt->dims[i]) * xs[i];
    for (int64_t r = 0; r < inner; r += row)
      memcpy(out[0] + o + r, in[0] + base, (size_t)row * sizeof(float));
    next_row(yt->dims, nd, idx);
  }
  return 0;
}
