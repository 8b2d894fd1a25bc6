/* Reference kernels: convolution, deconvolution, pooling, inner product and
 * matmul. Straight loops, ordered so the innermost loop runs over a
 * contiguous output row; correctness first, but whole test models must
 * still run in seconds. */
#include <math.h>
#include <string.h>

#include "engine/ref/ref.h"

/* First and one-past-last output index o in [0, out) for which
 * o*s - p + k*d lies in [0, in). */
static void valid_range(int64_t out, int64_t in, int s, int p, int64_t kd,
                        int64_t *lo, int64_t *hi) {
  /* o*s >= p - kd  ->  o >= ceil((p - kd) / s) */
  int64_t a = p - kd;
  int64_t l = a <= 0 ? 0 : (a + s - 1) / s;
  /* o*s - p + kd <= in - 1  ->  o <= floor((in - 1 + p - kd) / s) */
  int64_t b = in - 1 + p - kd;
  int64_t h = b < 0 ? -1 : b / s;
  if (h > out - 1)
    h = out - 1;
  *lo = l;
  *hi = h + 1 > l ? h + 1 : l;
}

/* Output-stationary blocking: a tile of CONV_OB output channels by
 * CONV_OW columns of one output row stays in a small accumulator while
 * every input channel and kernel tap is added in; each input row segment is
 * read once per tile, not once per output channel. Plain loops still, and
 * the same sums in the same order per output element as the textbook
 * definition (bias, then input channels, then kernel rows and columns). */
#define CONV_OB 8
#define CONV_OW 64

int cn__ref_conv(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_conv_params_t *c = &n->p.conv;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  const float *x = in[0], *w = in[1], *bias = c->has_bias ? in[2] : NULL;
  float *y = out[0];
  int64_t N = xt->dims[0], C = xt->dims[1], H = xt->dims[2], W = xt->dims[3];
  int64_t OC = yt->dims[1], OH = yt->dims[2], OW = yt->dims[3];
  int64_t G = c->group, icg = C / G, ocg = OC / G;
  int KH = c->kernel[0], KW = c->kernel[1];
  int64_t sh = c->stride[0], sw = c->stride[1];
  float acc[CONV_OB][CONV_OW];
  for (int64_t b = 0; b < N; b++) {
    for (int64_t gi = 0; gi < G; gi++) {
      for (int64_t o0 = 0; o0 < ocg; o0 += CONV_OB) {
        int nb = (int)(ocg - o0 < CONV_OB ? ocg - o0 : CONV_OB);
        int64_t oc0 = gi * ocg + o0;
        for (int64_t oh = 0; oh < OH; oh++) {
          for (int64_t c0 = 0; c0 < OW; c0 += CONV_OW) {
            int64_t cn = OW - c0 < CONV_OW ? OW - c0 : CONV_OW;
            for (int j = 0; j < nb; j++)
              for (int64_t k = 0; k < cn; k++)
                acc[j][k] = bias ? bias[oc0 + j] : 0.0f;
            for (int64_t ic = 0; ic < icg; ic++) {
              const float *xp = x + (b * C + gi * icg + ic) * H * W;
              for (int kh = 0; kh < KH; kh++) {
                int64_t ih =
                    oh * sh - c->pads[0] + (int64_t)kh * c->dilation[0];
                if (ih < 0 || ih >= H)
                  continue;
                const float *restrict xr = xp + ih * W;
                for (int kw = 0; kw < KW; kw++) {
                  int64_t off = (int64_t)kw * c->dilation[1] - c->pads[1];
                  int64_t lo,
                      hi; /* columns of this tile reading inside the row */
                  valid_range(OW, W, (int)sw, c->pads[1],
                              (int64_t)kw * c->dilation[1], &lo, &hi);
                  lo = lo > c0 ? lo : c0;
                  hi = hi < c0 + cn ? hi : c0 + cn;
                  if (lo >= hi)
                    continue;
                  for (int j = 0; j < nb; j++) {
                    float wv =
                        w[(((oc0 + j) * icg) + ic) * KH * KW + kh * KW + kw];
                    float *restrict a = acc[j];
                    if (sw == 1) {
                      const float *restrict xs = xr + off + c0;
                      for (int64_t k = lo - c0; k < hi - c0; k++)
                        a[k] += wv * xs[k];
                    } else {
                      for (int64_t ow = lo; ow < hi; ow++)
                        a[ow - c0] += wv * xr[ow * sw + off];
                    }
                  }
                }
              }
            }
            for (int j = 0; j < nb; j++)
              memcpy(y + ((b * OC + oc0 + j) * OH + oh) * OW + c0, acc[j],
                     sizeof(float) * (size_t)cn);
          }
        }
      }
    }
  }
  cn__ref_postops(&c->post, in, y, cn_tensor_numel(yt));
  return 0;
}

int cn__ref_deconv(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_conv_params_t *c = &n->p.conv;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  const float *x = in[0], *w = in[1], *bias = c->has_bias ? in[2] : NULL;
  float *y = out[0];
  int64_t N = xt->dims[0], C = xt->dims[1], H = xt->dims[2], W = xt->dims[3];
  int64_t OC = yt->dims[1], OH = yt->dims[2], OW = yt->dims[3];
  int64_t G = c->group, icg = C / G, ocg = OC / G;
  int KH = c->kernel[0], KW = c->kernel[1];
  for (int64_t b = 0; b < N; b++) {
    for (int64_t oc = 0; oc < OC; oc++) {
      float *yp = y + (b * OC + oc) * OH * OW;
      float bv = bias ? bias[oc] : 0.0f;
      for (int64_t i = 0; i < OH * OW; i++)
        yp[i] = bv;
    }
    for (int64_t ic = 0; ic < C; ic++) {
      int64_t gi = ic / icg;
      const float *xp = x + (b * C + ic) * H * W;
      for (int64_t o = 0; o < ocg; o++) {
        int64_t oc = gi * ocg + o;
        float *yp = y + (b * OC + oc) * OH * OW;
        const float *wp = w + (ic * ocg + o) * KH * KW;
        for (int64_t ih = 0; ih < H; ih++)
          for (int kh = 0; kh < KH; kh++) {
            int64_t oh =
                ih * c->stride[0] - c->pads[0] + (int64_t)kh * c->dilation[0];
            if (oh < 0 || oh >= OH)
              continue;
            for (int64_t iw = 0; iw < W; iw++) {
              float xv = xp[ih * W + iw];
              for (int kw = 0; kw < KW; kw++) {
                int64_t ow = iw * c->stride[1] - c->pads[1] +
                             (int64_t)kw * c->dilation[1];
                if (ow >= 0 && ow < OW)
                  yp[oh * OW + ow] += xv * wp[kh * KW + kw];
              }
            }
          }
      }
    }
  }
  return 0;
}

int cn__ref_pool(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_pool_params_t *p = &n->p.pool;
  const cn_tensor_t *xt = &g->tensors[n->inputs[0]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int64_t NC = xt->dims[0] * xt->dims[1], H = xt->dims[2], W = xt->dims[3];
  int64_t OH = yt->dims[2], OW = yt->dims[3];
  for (int64_t nc = 0; nc < NC; nc++) {
    const float *xp = in[0] + nc * H * W;
    float *yp = out[0] + nc * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0 = oh * p->stride[0] - p->pads[0];
        int64_t w0 = ow * p->stride[1] - p->pads[1];
        if (p->kind == CN_POOL_MAX) {
          float m = -INFINITY;
          for (int kh = 0; kh < p->kernel[0]; kh++) {
            int64_t ih = h0 + (int64_t)kh * p->dilation[0];
            if (ih < 0 || ih >= H)
              continue;
            for (int kw = 0; kw < p->kernel[1]; kw++) {
              int64_t iw = w0 + (int64_t)kw * p->dilation[1];
              if (iw >= 0 && iw < W && xp[ih * W + iw] > m)
                m = xp[ih * W + iw];
            }
          }
          yp[oh * OW + ow] = m;
        } else {
          int64_t h1 = h0 + p->kernel[0], w1 = w0 + p->kernel[1];
          if (h1 > H + p->pads[2])
            h1 = H + p->pads[2];
          if (w1 > W + p->pads[3])
            w1 = W + p->pads[3];
          int64_t padded = (h1 - h0) * (w1 - w0);
          int64_t hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;
          int64_t he = h1 > H ? H : h1, we = w1 > W ? W : w1;
          double sum = 0;
          for (int64_t ih = hs; ih < he; ih++)
            for (int64_t iw = ws; iw < we; iw++)
              sum += xp[ih * W + iw];
          int64_t cnt = p->count_include_pad ? padded : (he - hs) * (we - ws);
          yp[oh * OW + ow] = cnt > 0 ? (float)(sum / (double)cnt) : 0.0f;
        }
      }
    }
  }
  return 0;
}

int cn__ref_inner_product(const cn_graph_t *g, const cn_node_t *n,
                          const float *const *in, float *const *out,
                          void *scratch, cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_ip_params_t *p = &n->p.ip;
  const cn_tensor_t *wt = &g->tensors[n->inputs[1]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  int64_t O = wt->dims[0], K = wt->dims[1];
  int64_t M = cn_tensor_numel(yt) / (O ? O : 1);
  const float *bias = p->has_bias ? in[2] : NULL;
  for (int64_t m = 0; m < M; m++) {
    const float *restrict xr = in[0] + m * K;
    for (int64_t o = 0; o < O; o++) {
      const float *restrict wr = in[1] + o * K;
      /* Eight partial sums: independent chains instead of one long one. */
      float s[8] = {0};
      int64_t k = 0;
      for (; k + 8 <= K; k += 8)
        for (int j = 0; j < 8; j++)
          s[j] += xr[k + j] * wr[k + j];
      float t = 0;
      for (; k < K; k++)
        t += xr[k] * wr[k];
      t += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
      out[0][m * O + o] = t + (bias ? bias[o] : 0.0f);
    }
  }
  cn__ref_postops(&p->post, in, out[0], cn_tensor_numel(yt));
  return 0;
}

int cn__ref_matmul(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err) {
  (void)scratch;
  (void)err;
  const cn_tensor_t *at = &g->tensors[n->inputs[0]];
  const cn_tensor_t *bt = &g->tensors[n->inputs[1]];
  const cn_tensor_t *yt = &g->tensors[n->outputs[0]];
  /* Matrix dims, with 1-D operands promoted as numpy does. */
  int64_t M = at->ndim >= 2 ? at->dims[at->ndim - 2] : 1;
  int64_t K = at->dims[at->ndim - 1];
  int64_t N = bt->ndim >= 2 ? bt->dims[bt->ndim - 1] : 1;
  int an = at->ndim >= 2 ? at->ndim - 2 : 0,
      bn = bt->ndim >= 2 ? bt->ndim - 2 : 0;
  int nb = an > bn ? an : bn;
  int64_t bd[CN_MAX_DIMS], sa[CN_MAX_DIMS], sb[CN_MAX_DIMS],
      idx[CN_MAX_DIMS] = {0};
  int64_t nbatch = 1, stA = M * K, stB = K * N;
  for (int i = nb - 1; i >= 0; i--) {
    int ia = i - (nb - an), ib = i - (nb - bn);
    int64_t da = ia >= 0 ? at->dims[ia] : 1, db = ib >= 0 ? bt->dims[ib] : 1;
    bd[i] = da > db ? da : db;
    sa[i] = da == 1 ? 0 : stA;
    sb[i] = db == 1 ? 0 : stB;
    stA *= da;
    stB *= db;
    nbatch *= bd[i];
  }
  (void)yt;
  for (int64_t bi = 0; bi < nbatch; bi++) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < nb; i++) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    const float *A = in[0] + oa, *B = in[1] + ob;
    float *Y = out[0] + bi * M * N;
    for (int64_t m = 0; m < M; m++) {
      float *yr = Y + m * N;
      for (int64_t j = 0; j < N; j++)
        yr[j] = 0;
      for (int64_t k = 0; k < K; k++) {
        float av = A[m * K + k];
        const float *br = B + k * N;
        for (int64_t j = 0; j < N; j++)
          yr[j] += av * br[j];
      }
    }
    for (int i = nb - 1; i >= 0; i--) {
      if (++idx[i] < bd[i])
        break;
      idx[i] = 0;
    }
  }
  return 0;
}
