/* Reference kernels: elementwise, broadcasting and normalization ops. */
#include <math.h>
#include <string.h>

#include "engine/ref/ref.h"

/* y = act(x) over n elements (y may be x). ReLU, the activation of almost
 * every conv, gets a loop the compiler vectorizes; the others call the
 * table's scalar formula (same expression, so the same results). */
static void act_apply(cn_act_t kind, float a, float b, const float *x, float *y,
                      int64_t n) {
  if (kind == CN_ACT_RELU) {
    for (int64_t i = 0; i < n; i++)
      y[i] = x[i] > 0 ? x[i] : x[i] * a;
    return;
  }
  cn_act_fn f = cn_act_info(kind)->ref;
  for (int64_t i = 0; i < n; i++)
    y[i] = f(x[i], a, b);
}

void cn__ref_postops(const cn_postops_t *po, const float *const *in, float *y,
                     int64_t numel) {
  for (int k = 0; k < po->n; k++) {
    const cn_postop_t *o = &po->op[k];
    if (o->kind == CN_POST_SUM) {
      const float *s = in[o->input];
      for (int64_t i = 0; i < numel; i++)
        y[i] += o->scale * s[i];
    } else {
      act_apply(o->act, o->alpha, o->beta, y, y, numel);
    }
  }
}

int cn__ref_act_node(const cn_graph_t *g, const cn_node_t *n,
                     const float *const *in, float *const *out, void *scratch,
                     cn_err_t *err) {
  (void)scratch;
  (void)err;
  int64_t numel = cn_tensor_numel(&g->tensors[n->outputs[0]]);
  const cn_act_params_t *p = &n->p.act;
  act_apply(p->kind, p->alpha, p->beta, in[0], out[0], numel);
  return 0;
}

/* Strides of t seen through the broadcast output shape (rank nd): 0 on
 * broadcast axes. */
static void bcast_strides(const cn_tensor_t *t, int nd, const int64_t *od,
                          int64_t *st) {
  int64_t s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    int ti = i - (nd - t->ndim);
    int64_t d = ti >= 0 ? t->dims[ti] : 1;
    st[i] = (d == 1 && od[i] != 1) ? 0 : s;
    s *= d;
  }
}

static float binop(cn_binary_kind_t k, float a, float b) {
  switch (k) {
  case CN_BIN_ADD:
    return a + b;
  case CN_BIN_SUB:
    return a - b;
  case CN_BIN_MUL:
    return a * b;
  case CN_BIN_DIV:
    return a / b;
  case CN_BIN_MAX:
    return a > b ? a : b;
  case CN_BIN_MIN:
    return a < b ? a : b;
  case CN_BIN_POW:
    return powf(a, b);
  }
  return 0;
}

/* Walks the output of a two-input broadcast op row by row (last axis
 * innermost) and calls the element function through a switch per row. */
static void bcast2(const cn_graph_t *g, const cn_node_t *n, const float *a,
                   const float *b, float *y, int prelu) {
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int nd = yt->ndim;
  int64_t sa[CN_MAX_DIMS], sb[CN_MAX_DIMS], idx[CN_MAX_DIMS] = {0};
  bcast_strides(&g->tensors[n->inputs[0]], nd, yt->dims, sa);
  bcast_strides(&g->tensors[n->inputs[1]], nd, yt->dims, sb);
  int64_t numel = cn_tensor_numel(yt);
  if (numel == 0)
    return;
  if (nd == 0) {
    y[0] = prelu ? (a[0] > 0 ? a[0] : a[0] * b[0])
                 : binop(n->p.binary, a[0], b[0]);
    return;
  }
  int64_t inner = yt->dims[nd - 1], ia = sa[nd - 1], ib = sb[nd - 1];
  for (int64_t o = 0; o < numel; o += inner) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < nd - 1; i++) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    if (prelu) {
      for (int64_t j = 0; j < inner; j++) {
        float x = a[oa + j * ia];
        y[o + j] = x > 0 ? x : x * b[ob + j * ib];
      }
    } else {
      for (int64_t j = 0; j < inner; j++)
        y[o + j] = binop(n->p.binary, a[oa + j * ia], b[ob + j * ib]);
    }
    for (int i = nd - 2; i >= 0; i--) {
      if (++idx[i] < yt->dims[i])
        break;
      idx[i] = 0;
    }
  }
}

int cn__ref_binary(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err) {
  (void)scratch;
  (void)err;
  bcast2(g, n, in[0], in[1], out[0], 0);
  return 0;
}

int cn__ref_prelu(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err) {
  (void)scratch;
  (void)err;
  bcast2(g, n, in[0], in[1], out[0], 1);
  return 0;
}

int cn__ref_eltwise(const cn_graph_t *g, const cn_node_t *n,
                    const float *const *in, float *const *out, void *scratch,
                    cn_err_t *err) {
  (void)scratch;
  (void)err;
  int64_t numel = cn_tensor_numel(&g->tensors[n->outputs[0]]);
  const cn_eltwise_params_t *p = &n->p.eltwise;
  float *y = out[0];
  float c0 = p->kind == CN_ELT_SUM && p->coeffs ? p->coeffs[0] : 1.0f;
  for (int64_t i = 0; i < numel; i++)
    y[i] = c0 * in[0][i];
  for (int k = 1; k < n->ninputs; k++) {
    const float *x = in[k];
    float c = p->coeffs ? p->coeffs[k] : 1.0f;
    for (int64_t i = 0; i < numel; i++) {
      switch (p->kind) {
      case CN_ELT_SUM:
        y[i] += c * x[i];
        break;
      case CN_ELT_PROD:
        y[i] *= x[i];
        break;
      case CN_ELT_MAX:
        y[i] = x[i] > y[i] ? x[i] : y[i];
        break;
      }
    }
  }
  return 0;
}

int cn__ref_softmax(const cn_graph_t *g, const cn_node_t *n,
                    const float *const *in, float *const *out, void *scratch,
                    cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *x = &g->tensors[n->inputs[0]];
  int ax = n->p.softmax.axis;
  int64_t outer = 1, len = x->dims[ax], inner = 1;
  for (int i = 0; i < ax; i++)
    outer *= x->dims[i];
  for (int i = ax + 1; i < x->ndim; i++)
    inner *= x->dims[i];
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t j = 0; j < inner; j++) {
      const float *xs = in[0] + o * len * inner + j;
      float *ys = out[0] + o * len * inner + j;
      float mx = -INFINITY;
      for (int64_t c = 0; c < len; c++)
        mx = xs[c * inner] > mx ? xs[c * inner] : mx;
      double sum = 0;
      for (int64_t c = 0; c < len; c++)
        sum += exp((double)xs[c * inner] - mx);
      if (n->p.softmax.log) {
        float ls = (float)log(sum);
        for (int64_t c = 0; c < len; c++)
          ys[c * inner] = xs[c * inner] - mx - ls;
      } else {
        for (int64_t c = 0; c < len; c++)
          ys[c * inner] = (float)(exp((double)xs[c * inner] - mx) / sum);
      }
    }
  }
  return 0;
}

int cn__ref_batchnorm(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *x = &g->tensors[n->inputs[0]];
  int64_t c = x->dims[1], inner = 1;
  for (int i = 2; i < x->ndim; i++)
    inner *= x->dims[i];
  for (int64_t b = 0; b < x->dims[0]; b++) {
    for (int64_t k = 0; k < c; k++) {
      float s = in[1][k] / sqrtf(in[4][k] + n->p.bn.eps);
      float sh = in[2][k] - in[3][k] * s;
      const float *xs = in[0] + (b * c + k) * inner;
      float *ys = out[0] + (b * c + k) * inner;
      for (int64_t i = 0; i < inner; i++)
        ys[i] = xs[i] * s + sh;
    }
  }
  return 0;
}

int cn__ref_scale(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *x = &g->tensors[n->inputs[0]];
  const cn_tensor_t *s = &g->tensors[n->inputs[1]];
  int ax = n->p.scale.axis;
  int64_t outer = 1, len = cn_tensor_numel(s), inner = 1;
  for (int i = 0; i < ax; i++)
    outer *= x->dims[i];
  for (int i = ax + s->ndim; i < x->ndim; i++)
    inner *= x->dims[i];
  const float *bias = n->p.scale.has_bias ? in[2] : NULL;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t c = 0; c < len; c++) {
      const float *xs = in[0] + (o * len + c) * inner;
      float *ys = out[0] + (o * len + c) * inner;
      float sc = in[1][c], b = bias ? bias[c] : 0.0f;
      for (int64_t i = 0; i < inner; i++)
        ys[i] = xs[i] * sc + b;
    }
  return 0;
}

int cn__ref_lrn(const cn_graph_t *g, const cn_node_t *n, const float *const *in,
                float *const *out, void *scratch, cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *x = &g->tensors[n->inputs[0]];
  const cn_lrn_params_t *p = &n->p.lrn;
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  int64_t hw = H * W;
  int pre = (p->size - 1) / 2;
  for (int64_t b = 0; b < N; b++) {
    const float *xb = in[0] + b * C * hw;
    float *yb = out[0] + b * C * hw;
    for (int64_t c = 0; c < C; c++) {
      for (int64_t h = 0; h < H; h++) {
        for (int64_t w = 0; w < W; w++) {
          double sum = 0;
          double count;
          if (!p->within_channel) {
            int64_t c0 = c - pre, c1 = c - pre + p->size; /* [c0, c1) */
            for (int64_t k = c0 < 0 ? 0 : c0; k < c1 && k < C; k++) {
              double v = xb[k * hw + h * W + w];
              sum += v * v;
            }
            count = p->size;
          } else {
            /* Caffe: average pooling of x^2 with pad (size-1)/2, divisor
             * counting the pads but clipped at the far padded edge. */
            int64_t h0 = h - pre, w0 = w - pre;
            int64_t h1 = h0 + p->size, w1 = w0 + p->size;
            if (h1 > H + pre)
              h1 = H + pre;
            if (w1 > W + pre)
              w1 = W + pre;
            count = (double)((h1 - h0) * (w1 - w0));
            for (int64_t i = h0 < 0 ? 0 : h0; i < h1 && i < H; i++)
              for (int64_t j = w0 < 0 ? 0 : w0; j < w1 && j < W; j++) {
                double v = xb[c * hw + i * W + j];
                sum += v * v;
              }
          }
          double den = pow(p->k + p->alpha / count * sum, p->beta);
          yb[c * hw + h * W + w] = (float)(xb[c * hw + h * W + w] / den);
        }
      }
    }
  }
  return 0;
}

/* For each output element, walks the reduced sub-space with a counter over
 * the reduced axes only; double accumulators. */
/* One element v into the accumulator (mx: the maximum, for LogSumExp). */
static double reduce_step(cn_reduce_kind_t kind, double acc, double v,
                          double mx) {
  switch (kind) {
  case CN_REDUCE_MAX:
    return v > acc ? v : acc;
  case CN_REDUCE_MIN:
    return v < acc ? v : acc;
  case CN_REDUCE_PROD:
    return acc * v;
  case CN_REDUCE_L1:
    return acc + fabs(v);
  case CN_REDUCE_L2:
  case CN_REDUCE_SUM_SQUARE:
    return acc + v * v;
  case CN_REDUCE_LOG_SUM_EXP:
    return acc + exp(v - mx);
  default:
    return acc + v;
  }
}

/* The result from the accumulator over count elements. */
static double reduce_final(cn_reduce_kind_t kind, double acc, int64_t count,
                           double mx) {
  switch (kind) {
  case CN_REDUCE_MEAN:
    return count ? acc / (double)count : NAN;
  case CN_REDUCE_L2:
    return sqrt(acc);
  case CN_REDUCE_LOG_SUM:
    return log(acc);
  case CN_REDUCE_LOG_SUM_EXP:
    return count ? mx + log(acc) : -INFINITY;
  default:
    return acc;
  }
}

int cn__ref_reduce(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err) {
  (void)scratch;
  (void)err;
  if (cn__ref_reduce_contig(g, n, in[0], out[0]))
    return 0;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_reduce_params_t *p = &n->p.reduce;
  int nd = xt->ndim, kept[CN_MAX_DIMS], red[CN_MAX_DIMS], nk = 0, nr = 0;
  int64_t st[CN_MAX_DIMS], s = 1, count = 1, nout = 1;
  for (int d = nd - 1; d >= 0; d--) {
    st[d] = s;
    s *= xt->dims[d];
  }
  for (int d = 0; d < nd; d++) {
    if (p->axes & (1u << d)) {
      red[nr++] = d;
      count *= xt->dims[d];
    } else {
      kept[nk++] = d;
      nout *= xt->dims[d];
    }
  }
  int64_t ko[CN_MAX_DIMS] = {0};
  for (int64_t o = 0; o < nout; o++) {
    int64_t base = 0;
    for (int k = 0; k < nk; k++)
      base += ko[k] * st[kept[k]];
    double acc = p->kind == CN_REDUCE_PROD  ? 1.0
                 : p->kind == CN_REDUCE_MAX ? -INFINITY
                 : p->kind == CN_REDUCE_MIN ? INFINITY
                                            : 0.0;
    double mx = -INFINITY;
    for (int pass = p->kind == CN_REDUCE_LOG_SUM_EXP ? 0 : 1; pass < 2;
         pass++) {
      int64_t ri[CN_MAX_DIMS] = {0};
      for (int64_t e = 0; e < count; e++) {
        int64_t off = base;
        for (int k = 0; k < nr; k++)
          off += ri[k] * st[red[k]];
        double v = in[0][off];
        if (pass == 0) {
          mx = v > mx ? v : mx;
        } else {
          acc = reduce_step(p->kind, acc, v, mx);
        }
        for (int k = nr - 1; k >= 0; k--) {
          if (++ri[k] < xt->dims[red[k]])
            break;
          ri[k] = 0;
        }
      }
    }
    out[0][o] = (float)reduce_final(p->kind, acc, count, mx);
    for (int k = nk - 1; k >= 0; k--) {
      if (++ko[k] < xt->dims[kept[k]])
        break;
      ko[k] = 0;
    }
  }
  return 0;
}
