/* The Caffe SSD layers (github.com/weiliu89/caffe, branch ssd) for the
 * reference backend: PriorBox and DetectionOutput, following the SSD
 * fork's CPU code so boxes, order and ties come out as Caffe's.
 *
 * PriorBox writes [1, 2, H*W*P*4]: channel 0 the prior boxes (normalized
 * corners), channel 1 their variances. Per cell, per min_size: the square
 * min box, then sqrt(min*max) if max sizes are given, then each aspect
 * ratio other than 1.
 *
 * DetectionOutput decodes the location predictions against the priors,
 * keeps per class (background skipped) the boxes scoring above the
 * confidence threshold, best top_k first, through greedy NMS (adaptive
 * with eta < 1), then the best keep_top_k over all classes. Rows are
 * [image, label, score, xmin, ymin, xmax, ymax], per image by label then
 * in NMS order, as Caffe writes them; rows beyond the detections are -1.
 *
 * Scratch (no allocation at run time): decoded boxes, one candidate list,
 * the kept indices per class and the pooled list for keep_top_k.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ref/ref.h"

static int ssd_err(const cn_graph_t *g, const cn_node_t *n, cn_err_t *err,
                   const char *what) {
  return cn_err_set(err, CN_EFORMAT, "%s: node %s: %s", g->source, n->name,
                    what);
}

/* The distinct aspect ratios: 1, then each new ratio and its reciprocal
 * when flipping (as PriorBoxLayer::LayerSetUp). */
static int ratios(const cn_prior_box_params_t *p, float *ar) {
  int n = 0;
  ar[n++] = 1.0f;
  for (int i = 0; i < p->nar && i < CN_SSD_MAX; i++) {
    int dup = 0;
    for (int k = 0; k < n; k++)
      dup |= fabsf(p->aspect_ratio[i] - ar[k]) < 1e-6f;
    if (dup)
      continue;
    ar[n++] = p->aspect_ratio[i];
    if (p->flip)
      ar[n++] = 1.0f / p->aspect_ratio[i];
  }
  return n;
}

size_t cn__ref_prior_box_scratch(const cn_graph_t *g, const cn_node_t *n) {
  (void)g;
  (void)n;
  return 0;
}

int cn__ref_prior_box(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err) {
  (void)in;
  (void)scratch;
  const cn_prior_box_params_t *p = &n->p.prior_box;
  const cn_tensor_t *f = &g->tensors[n->inputs[0]];
  const cn_tensor_t *y = &g->tensors[n->outputs[0]];
  const cn_tensor_t *img =
      n->ninputs > 1 && n->inputs[1] >= 0 ? &g->tensors[n->inputs[1]] : NULL;
  if (f->ndim != 4 || p->nmin < 1 || p->nmin > CN_SSD_MAX ||
      p->nmax > CN_SSD_MAX || p->nar > CN_SSD_MAX)
    return ssd_err(g, n, err, "bad PriorBox parameters");
  float ar[1 + 2 * CN_SSD_MAX];
  int nar = ratios(p, ar);
  int64_t lh = f->dims[2], lw = f->dims[3];
  int64_t np = (int64_t)nar * p->nmin + p->nmax;
  int64_t dim = lh * lw * np * 4;
  if (cn_tensor_numel(y) != 2 * dim)
    return ssd_err(g, n, err, "output size does not match the priors");
  double img_w = p->img_w, img_h = p->img_h;
  if (img_w <= 0 || img_h <= 0) {
    if (!img || img->ndim != 4)
      return ssd_err(g, n, err, "no image size");
    img_w = (double)img->dims[3];
    img_h = (double)img->dims[2];
  }
  float step_w = p->step_w, step_h = p->step_h;
  if (step_w == 0 || step_h == 0) {
    step_w = (float)(img_w / (double)lw);
    step_h = (float)(img_h / (double)lh);
  }
  float *box = out[0], *var = out[0] + dim;
  int64_t k = 0;
  for (int64_t h = 0; h < lh; h++) {
    for (int64_t w = 0; w < lw; w++) {
      float cx = ((float)w + p->offset) * step_w;
      float cy = ((float)h + p->offset) * step_h;
      for (int s = 0; s < p->nmin; s++) {
        float mn = p->min_size[s];
        float bw[2 + 2 * CN_SSD_MAX], bh[2 + 2 * CN_SSD_MAX];
        int nb = 0;
        bw[nb] = bh[nb] = mn;
        nb++;
        if (p->nmax) {
          bw[nb] = bh[nb] = sqrtf(mn * p->max_size[s]);
          nb++;
        }
        for (int r = 0; r < nar; r++) {
          if (fabsf(ar[r] - 1.0f) < 1e-6f)
            continue;
          bw[nb] = mn * sqrtf(ar[r]);
          bh[nb] = mn / sqrtf(ar[r]);
          nb++;
        }
        for (int b = 0; b < nb; b++) {
          box[k++] = (float)((cx - bw[b] / 2.) / img_w);
          box[k++] = (float)((cy - bh[b] / 2.) / img_h);
          box[k++] = (float)((cx + bw[b] / 2.) / img_w);
          box[k++] = (float)((cy + bh[b] / 2.) / img_h);
        }
      }
    }
  }
  if (p->clip)
    for (int64_t i = 0; i < dim; i++)
      box[i] = fminf(fmaxf(box[i], 0.0f), 1.0f);
  for (int64_t i = 0; i < dim; i++)
    var[i] = p->nvar == 1 ? p->variance[0] : p->variance[i % 4];
  return 0;
}

/* ---- DetectionOutput ---------------------------------------------------- */

typedef struct scored {
  float score;
  int idx;
} scored_t;

typedef struct pooled {
  float score;
  int label, idx, order;
} pooled_t;

typedef struct det_dims {
  int64_t np, nimg, nloc, ncls, rows;
} det_dims_t;

static int det_dims(const cn_graph_t *g, const cn_node_t *n, det_dims_t *d) {
  const cn_detection_output_params_t *p = &n->p.det;
  const cn_tensor_t *loc = &g->tensors[n->inputs[0]];
  const cn_tensor_t *conf = &g->tensors[n->inputs[1]];
  const cn_tensor_t *pri = &g->tensors[n->inputs[2]];
  const cn_tensor_t *y = &g->tensors[n->outputs[0]];
  if (pri->ndim != 3 || pri->dims[1] != 2 || pri->dims[2] % 4 ||
      loc->ndim < 1 || p->num_classes < 1 || y->ndim != 4 || y->dims[3] != 7)
    return -1;
  d->np = pri->dims[2] / 4;
  d->nimg = loc->dims[0];
  d->nloc = p->share_location ? 1 : p->num_classes;
  d->ncls = p->num_classes;
  d->rows = y->dims[2];
  if (d->np < 1 || d->np > INT32_MAX / 8 || d->nimg < 1 ||
      cn_tensor_numel(loc) != d->nimg * d->np * d->nloc * 4 ||
      cn_tensor_numel(conf) != d->nimg * d->np * d->ncls ||
      d->ncls * d->np > INT32_MAX / 8 || d->rows % d->nimg)
    return -1;
  return 0;
}

#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

size_t cn__ref_detection_output_scratch(const cn_graph_t *g,
                                        const cn_node_t *n) {
  det_dims_t d;
  if (det_dims(g, n, &d))
    return 0;
  size_t np = (size_t)d.np, nc = (size_t)d.ncls;
  return ALIGN16(np * (size_t)d.nloc * 4 * sizeof(float)) +
         ALIGN16(np * sizeof(scored_t)) + ALIGN16(nc * np * sizeof(int)) +
         ALIGN16(nc * sizeof(int)) + ALIGN16(nc * np * sizeof(pooled_t));
}

/* Score descending; equal scores keep their earlier position first (the
 * order std::stable_sort gives Caffe). */
static int cmp_scored(const void *a, const void *b) {
  const scored_t *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_pooled(const void *a, const void *b) {
  const pooled_t *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

static int cmp_label_order(const void *a, const void *b) {
  const pooled_t *x = a, *y = b;
  if (x->label != y->label)
    return (x->label > y->label) - (x->label < y->label);
  return (x->order > y->order) - (x->order < y->order);
}

static float box_size(const float *b) {
  if (b[2] < b[0] || b[3] < b[1])
    return 0;
  return (b[2] - b[0]) * (b[3] - b[1]);
}

static float jaccard(const float *a, const float *b) {
  if (b[0] > a[2] || b[2] < a[0] || b[1] > a[3] || b[3] < a[1])
    return 0;
  float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
  float ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
  float inter = iw * ih;
  float uni = box_size(a) + box_size(b) - inter;
  return uni > 0 ? inter / uni : 0;
}

static void decode(const cn_detection_output_params_t *p, const float *pr,
                   const float *var, const float *l, float *o) {
  float pw = pr[2] - pr[0], ph = pr[3] - pr[1];
  float v0 = 1, v1 = 1, v2 = 1, v3 = 1;
  if (!p->variance_encoded_in_target) {
    v0 = var[0];
    v1 = var[1];
    v2 = var[2];
    v3 = var[3];
  }
  switch (p->code_type) {
  case CN_BOX_CORNER:
    o[0] = pr[0] + v0 * l[0];
    o[1] = pr[1] + v1 * l[1];
    o[2] = pr[2] + v2 * l[2];
    o[3] = pr[3] + v3 * l[3];
    break;
  case CN_BOX_CORNER_SIZE:
    o[0] = pr[0] + v0 * l[0] * pw;
    o[1] = pr[1] + v1 * l[1] * ph;
    o[2] = pr[2] + v2 * l[2] * pw;
    o[3] = pr[3] + v3 * l[3] * ph;
    break;
  default: { /* CENTER_SIZE */
    float pcx = (pr[0] + pr[2]) / 2, pcy = (pr[1] + pr[3]) / 2;
    float cx = v0 * l[0] * pw + pcx, cy = v1 * l[1] * ph + pcy;
    float w = expf(v2 * l[2]) * pw, h = expf(v3 * l[3]) * ph;
    o[0] = cx - w / 2;
    o[1] = cy - h / 2;
    o[2] = cx + w / 2;
    o[3] = cy + h / 2;
    break;
  }
  }
  if (p->clip)
    for (int k = 0; k < 4; k++)
      o[k] = fminf(fmaxf(o[k], 0.0f), 1.0f);
}

/* The scratch regions, laid out as cn__ref_detection_output_scratch sized
 * them. */
typedef struct det_work {
  float *dec;     /* decoded boxes, [prior][loc class][4] */
  scored_t *cand; /* one class's candidates */
  int *kept;      /* per class, its kept prior indices */
  int *nkept;
  pooled_t *pool;
} det_work_t;

static det_work_t det_work(void *scratch, const det_dims_t *d) {
  size_t np = (size_t)d->np, nc = (size_t)d->ncls, nl = (size_t)d->nloc;
  det_work_t w;
  unsigned char *s = scratch;
  w.dec = (float *)(void *)s;
  s += ALIGN16(np * nl * 4 * sizeof(float));
  w.cand = (scored_t *)(void *)s;
  s += ALIGN16(np * sizeof(scored_t));
  w.kept = (int *)(void *)s;
  s += ALIGN16(nc * np * sizeof(int));
  w.nkept = (int *)(void *)s;
  s += ALIGN16(nc * sizeof(int));
  w.pool = (pooled_t *)(void *)s;
  return w;
}

static void decode_image(const cn_detection_output_params_t *p,
                         const det_dims_t *d, const float *priors,
                         const float *loc, float *dec) {
  size_t np = (size_t)d->np, nl = (size_t)d->nloc;
  const float *prior = priors, *pvar = priors + np * 4;
  for (size_t i = 0; i < np; i++)
    for (size_t c = 0; c < nl; c++)
      decode(p, prior + i * 4, pvar + i * 4, loc + (i * nl + c) * 4,
             dec + (i * nl + c) * 4);
}

/* One class of one image: the candidates above the confidence threshold,
 * best top_k first, through greedy NMS. Returns how many were kept; their
 * prior indices are in w->kept's row for class c. */
static int nms_class(const cn_detection_output_params_t *p, const det_dims_t *d,
                     const float *conf, size_t c, const det_work_t *w) {
  size_t np = (size_t)d->np, nc = (size_t)d->ncls, nl = (size_t)d->nloc;
  scored_t *cand = w->cand;
  size_t nb = 0;
  for (size_t i = 0; i < np; i++) {
    float sc = conf[i * nc + c];
    if (sc > p->confidence_threshold) {
      cand[nb].score = sc;
      cand[nb].idx = (int)i;
      nb++;
    }
  }
  qsort(cand, nb, sizeof *cand, cmp_scored);
  if (p->top_k > -1 && (size_t)p->top_k < nb)
    nb = (size_t)p->top_k;
  const float *boxes = w->dec + (p->share_location ? 0 : c * 4);
  size_t stride = nl * 4;
  float thr = p->nms_threshold;
  int *kc = w->kept + c * np;
  int nkept = 0;
  for (size_t j = 0; j < nb; j++) {
    const float *bj = boxes + (size_t)cand[j].idx * stride;
    int keep = 1;
    for (int k = 0; k < nkept && keep; k++)
      keep = jaccard(bj, boxes + (size_t)kc[k] * stride) <= thr;
    if (keep) {
      kc[nkept++] = cand[j].idx;
      if (p->eta < 1 && thr > 0.5f)
        thr *= p->eta;
    }
  }
  return nkept;
}

/* Pools every kept box as (score, label, index) in label order, cut to the
 * best keep_top_k overall; returns the pooled count. */
static size_t pool_kept(const cn_detection_output_params_t *p,
                        const det_dims_t *d, const float *conf, int64_t ndet,
                        const det_work_t *w) {
  size_t np = (size_t)d->np, nc = (size_t)d->ncls;
  const int *kept = w->kept, *nkept = w->nkept;
  pooled_t *pool = w->pool;
  size_t npool = 0;
  for (size_t c = 0; c < nc; c++)
    for (int k = 0; k < nkept[c]; k++) {
      pool[npool].score = conf[(size_t)kept[c * np + (size_t)k] * nc + c];
      pool[npool].label = (int)c;
      pool[npool].idx = kept[c * np + (size_t)k];
      pool[npool].order = (int)npool;
      npool++;
    }
  if (p->keep_top_k > -1 && ndet > p->keep_top_k) {
    /* The best keep_top_k overall, then back to label order. */
    qsort(pool, npool, sizeof *pool, cmp_pooled);
    npool = (size_t)p->keep_top_k;
    qsort(pool, npool, sizeof *pool, cmp_label_order);
  }
  return npool;
}

/* Writes image im's pooled detections from row on; returns the next row. */
static int64_t write_rows(const cn_detection_output_params_t *p,
                          const det_dims_t *d, int64_t im, const det_work_t *w,
                          size_t npool, float *y, int64_t row) {
  size_t nl = (size_t)d->nloc;
  for (size_t k = 0; k < npool; k++, row++) {
    const pooled_t *q = &w->pool[k];
    const float *b =
        w->dec +
        ((size_t)q->idx * nl + (p->share_location ? 0 : (size_t)q->label)) * 4;
    float *o = y + row * 7;
    o[0] = (float)im;
    o[1] = (float)q->label;
    o[2] = q->score;
    o[3] = b[0];
    o[4] = b[1];
    o[5] = b[2];
    o[6] = b[3];
  }
  return row;
}

int cn__ref_detection_output(const cn_graph_t *g, const cn_node_t *n,
                             const float *const *in, float *const *out,
                             void *scratch, cn_err_t *err) {
  const cn_detection_output_params_t *p = &n->p.det;
  det_dims_t d;
  if (det_dims(g, n, &d))
    return ssd_err(g, n, err, "inconsistent DetectionOutput shapes");
  if (p->code_type < CN_BOX_CORNER || p->code_type > CN_BOX_CORNER_SIZE)
    return ssd_err(g, n, err, "unknown box code type");
  size_t np = (size_t)d.np, nc = (size_t)d.ncls, nl = (size_t)d.nloc;
  det_work_t w = det_work(scratch, &d);
  float *y = out[0];
  int64_t total_rows = d.rows, per_img = d.rows / d.nimg, row = 0;
  for (int64_t i = 0; i < total_rows * 7; i++)
    y[i] = -1;
  for (int64_t im = 0; im < d.nimg; im++) {
    const float *loc = in[0] + (size_t)im * np * nl * 4;
    const float *conf = in[1] + (size_t)im * np * nc;
    decode_image(p, &d, in[2], loc, w.dec);
    int64_t ndet = 0;
    for (size_t c = 0; c < nc; c++) {
      w.nkept[c] =
          (int)c == p->background_label_id ? 0 : nms_class(p, &d, conf, c, &w);
      ndet += w.nkept[c];
    }
    size_t npool = pool_kept(p, &d, conf, ndet, &w);
    if ((int64_t)npool > per_img)
      return ssd_err(g, n, err, "more detections than output rows");
    row = write_rows(p, &d, im, &w, npool, y, row);
  }
  return 0;
}
