/* Reference kernel fast path: reductions over one run of adjacent axes
 * (mean over channels, sum over the last axis, L2 over H and W...), which
 * is what exporters write. The input is then [outer, red, inner]: the
 * output row of `inner` values accumulates red input rows, a loop the
 * compiler vectorizes; inner == 1 keeps eight partial sums per output. */
#include <math.h>
#include <string.h>

#include "engine/ref/ref.h"

#define LANES 8

static float elem(cn_reduce_kind_t k, float v) {
  switch (k) {
  case CN_REDUCE_L1:
    return fabsf(v);
  case CN_REDUCE_L2:
  case CN_REDUCE_SUM_SQUARE:
    return v * v;
  default:
    return v;
  }
}

static float combine(cn_reduce_kind_t k, float a, float v) {
  return k == CN_REDUCE_MAX   ? (v > a ? v : a)
         : k == CN_REDUCE_MIN ? (v < a ? v : a)
                              : a + v;
}

static float finish(cn_reduce_kind_t k, float acc, int64_t count) {
  switch (k) {
  case CN_REDUCE_MEAN:
    return acc / (float)count;
  case CN_REDUCE_L2:
    return sqrtf(acc);
  case CN_REDUCE_LOG_SUM:
    return logf(acc);
  default:
    return acc;
  }
}

/* Reduction of one contiguous row (inner == 1). */
static float reduce_row(cn_reduce_kind_t k, const float *x, int64_t n) {
  float a = elem(k, x[0]);
  if (n < LANES) {
    for (int64_t r = 1; r < n; r++)
      a = combine(k, a, elem(k, x[r]));
    return a;
  }
  float acc[LANES];
  for (int l = 0; l < LANES; l++)
    acc[l] = elem(k, x[l]);
  int64_t j = LANES;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++)
      acc[l] = combine(k, acc[l], elem(k, x[j + l]));
  a = acc[0];
  for (int l = 1; l < LANES; l++)
    a = combine(k, a, acc[l]);
  for (; j < n; j++)
    a = combine(k, a, elem(k, x[j]));
  return a;
}

/* Returns 1 when it computed the node, 0 to use the generic kernel. */
int cn__ref_reduce_contig(const cn_graph_t *g, const cn_node_t *n,
                          const float *x, float *y) {
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  cn_reduce_kind_t k = n->p.reduce.kind;
  unsigned axes = n->p.reduce.axes;
  if (k == CN_REDUCE_PROD || k == CN_REDUCE_LOG_SUM_EXP || axes == 0)
    return 0;
  int a0 = 0, a1 = xt->ndim;
  while (a0 < xt->ndim && !(axes & (1u << a0)))
    a0++;
  for (int d = a0; d < xt->ndim; d++)
    if (!(axes & (1u << d))) {
      a1 = d;
      break;
    }
  if (a1 < xt->ndim && (axes >> a1) != 0)
    return 0; /* the reduced axes are not adjacent */
  int64_t outer = 1, red = 1, inner = 1;
  for (int d = 0; d < xt->ndim; d++)
    *(d < a0 ? &outer : d < a1 ? &red : &inner) *= xt->dims[d];
  if (red == 0 || outer * inner == 0)
    return 0;
  for (int64_t o = 0; o < outer; o++) {
    const float *xo = x + o * red * inner;
    float *yo = y + o * inner;
    if (inner == 1) {
      yo[0] = finish(k, reduce_row(k, xo, red), red);
      continue;
    }
    for (int64_t j = 0; j < inner; j++)
      yo[j] = elem(k, xo[j]);
    for (int64_t r = 1; r < red; r++)
      for (int64_t j = 0; j < inner; j++)
        yo[j] = combine(k, yo[j], elem(k, xo[r * inner + j]));
    for (int64_t j = 0; j < inner; j++)
      yo[j] = finish(k, yo[j], red);
  }
  return 1;
}
