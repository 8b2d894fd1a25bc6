/* Reference kernels: layer and instance normalization. Both normalize
 * contiguous runs of the input (the trailing dims from an axis; one
 * channel's spatial plane), so one row routine serves them; its loops keep
 * eight partial sums so the compiler vectorizes them without reassociating
 * a single sum (these run per frame in transformer-style models). */
#include <math.h>
#include <string.h>

#include "engine/ref/ref.h"

#define LANES 8

static float row_sum(const float *x, int64_t n) {
  float acc[LANES] = {0};
  int64_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int k = 0; k < LANES; k++)
      acc[k] += x[j + k];
  float s = 0;
  for (int k = 0; k < LANES; k++)
    s += acc[k];
  for (; j < n; j++)
    s += x[j];
  return s;
}

static float row_sq_dev(const float *x, int64_t n, float mean) {
  float acc[LANES] = {0};
  int64_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int k = 0; k < LANES; k++) {
      float d = x[j + k] - mean;
      acc[k] += d * d;
    }
  float s = 0;
  for (int k = 0; k < LANES; k++)
    s += acc[k];
  for (; j < n; j++)
    s += (x[j] - mean) * (x[j] - mean);
  return s;
}

/* Mean and 1/sqrt(var + eps) of one run (population variance). */
static void row_stats(const float *x, int64_t n, float eps, float *mean,
                      float *inv) {
  float m = n ? row_sum(x, n) / (float)n : 0.0f;
  float v = n ? row_sq_dev(x, n, m) / (float)n : 0.0f;
  *mean = m;
  *inv = 1.0f / sqrtf(v + eps);
}

int cn__ref_layernorm(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  int ax = n->p.norm.axis;
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < xt->ndim; k++)
    *(k < ax ? &outer : &inner) *= xt->dims[k];
  const float *sc = n->ninputs > 1 ? in[1] : NULL;
  const float *bi = n->ninputs > 2 ? in[2] : NULL;
  for (int64_t o = 0; o < outer; o++) {
    const float *x = in[0] + o * inner;
    float *y = out[0] + o * inner, m, inv;
    row_stats(x, inner, n->p.norm.eps, &m, &inv);
    if (n->noutputs > 1 && out[1])
      out[1][o] = m;
    if (n->noutputs > 2 && out[2])
      out[2][o] = inv;
    for (int64_t j = 0; j < inner; j++)
      y[j] = (x[j] - m) * inv;
    if (sc)
      for (int64_t j = 0; j < inner; j++)
        y[j] *= sc[j];
    if (bi)
      for (int64_t j = 0; j < inner; j++)
        y[j] += bi[j];
  }
  return 0;
}

int cn__ref_instnorm(const cn_graph_t *g, const cn_node_t *n,
                     const float *const *in, float *const *out, void *scratch,
                     cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  int64_t N = xt->dims[0], C = xt->dims[1], plane = 1;
  for (int k = 2; k < xt->ndim; k++)
    plane *= xt->dims[k];
  for (int64_t b = 0; b < N; b++)
    for (int64_t c = 0; c < C; c++) {
      const float *x = in[0] + (b * C + c) * plane;
      float *y = out[0] + (b * C + c) * plane, m, inv;
      row_stats(x, plane, n->p.norm.eps, &m, &inv);
      float s = in[1][c] * inv, t = in[2][c] - m * s;
      for (int64_t j = 0; j < plane; j++)
        y[j] = x[j] * s + t;
    }
  return 0;
}
