#include "vision/decode_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vision/nms.h"

void cn_decoder_opts_default(cn_decoder_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->top_k = 3;
  o->threshold = -1.0f;
  o->nms_iou = -1.0f;
}

int cn__squeeze_dims(const cn_tensor_desc_t *t, int64_t *dims) {
  int i = 0;
  while (i < t->ndim - 1 && t->dims[i] == 1)
    i++;
  int n = 0;
  for (; i < t->ndim; i++)
    dims[n++] = t->dims[i];
  return n;
}

const char *cn__shape_str(const cn_tensor_desc_t *t, char *buf, int n) {
  int len = snprintf(buf, (size_t)n, "[");
  for (int i = 0; i < t->ndim && len < n; i++)
    len += snprintf(buf + len, (size_t)(n - len), "%s%lld", i ? "," : "",
                    (long long)t->dims[i]);
  if (len < n)
    snprintf(buf + len, (size_t)(n - len), "]");
  return buf;
}

/* The model's input size, for outputs in normalized coordinates. */
static void input_size(const cn_model_t *m, int *w, int *h) {
  cn_preproc_opts_t po;
  cn_preproc_opts_default(&po);
  if (cn_preproc_opts_from_model(&po, m, 0, NULL) == 0) {
    *w = po.width;
    *h = po.height;
  } else {
    *w = *h = 1;
  }
}

static int fit_kind(cn_decoder_t *d, const cn_model_t *m, const char *kind,
                    const cn_decoder_opts_t *o, bool strict, cn_err_t *err) {
  if (!strcmp(kind, "classify")) {
    d->kind = CN__DEC_CLASSIFY;
    return cn__classify_fit(d, m, o->output, err);
  }
  if (!strcmp(kind, "blazeface")) {
    d->kind = CN__DEC_BLAZEFACE;
    return cn__blazeface_fit(d, m, strict, err);
  }
  if (!strcmp(kind, "ssd")) {
    d->kind = CN__DEC_SSD;
    return cn__ssd_fit(d, m, strict, err);
  }
  int version = !strcmp(kind, "yolo")     ? 0
                : !strcmp(kind, "yolov5") ? 5
                : !strcmp(kind, "yolov8") ? 8
                                          : -1;
  if (version >= 0) {
    d->kind = CN__DEC_YOLO;
    return cn__yolo_fit(d, m, version, strict, err);
  }
  return cn_err_set(err, CN_EINVAL,
                    "unknown decoder '%s': expected classify, blazeface, ssd, "
                    "yolo, yolov5 or yolov8",
                    kind);
}

/* Auto: the one kind whose fit check passes. Checks are strict (every
 * output accounted for) so a model with extra heads is not mistaken for
 * one kind. */
static int fit_auto(cn_decoder_t *d, const cn_model_t *m,
                    const cn_decoder_opts_t *o, cn_err_t *err) {
  static const char *const kinds[] = {"classify", "blazeface", "ssd", "yolo"};
  int fits = 0;
  const char *which = NULL;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    cn_decoder_t probe = *d;
    if (fit_kind(&probe, m, kinds[i], o, true, NULL) == 0) {
      fits++;
      which = kinds[i];
    }
  }
  if (fits == 1)
    return fit_kind(d, m, which, o, true, err);
  char shapes[160] = "", one[64];
  int nout = cn_model_num_outputs(m), len = 0;
  for (int j = 0; j < nout && len < (int)sizeof shapes; j++) {
    if (j == 4) {
      snprintf(shapes + len, sizeof shapes - (size_t)len, ",...");
      break;
    }
    len += snprintf(shapes + len, sizeof shapes - (size_t)len, "%s%s",
                    j ? "," : "",
                    cn__shape_str(cn_model_output(m, j), one, sizeof one));
  }
  return cn_err_set(err, CN_EINVAL,
                    "model%s%s: cannot tell the task from its outputs (%d "
                    "output%s %s): pass --task classify|detect --decoder "
                    "blazeface|ssd|yolo",
                    o->model_name ? " " : "",
                    o->model_name ? o->model_name : "", nout,
                    nout == 1 ? "" : "s", shapes);
}

int cn_decoder_create(const cn_decoder_opts_t *o, const cn_model_t *m,
                      cn_decoder_t **out, cn_err_t *err) {
  *out = NULL;
  if (o->top_k < 1)
    return cn_err_set(err, CN_EINVAL, "decoder: top-k %d: expected 1..%d",
                      o->top_k, CN_MAX_TOP);
  if (isnan(o->threshold) || o->threshold > 1.0f)
    return cn_err_set(err, CN_EINVAL, "decoder: threshold %g: expected 0..1",
                      (double)o->threshold);
  if (isnan(o->nms_iou) || o->nms_iou > 1.0f)
    return cn_err_set(err, CN_EINVAL, "decoder: NMS IoU %g: expected 0..1",
                      (double)o->nms_iou);
  cn_decoder_t *d = calloc(1, sizeof *d);
  if (!d)
    return cn_err_set(err, CN_ENOMEM, "decoder: out of memory");
  d->top_k = o->top_k > CN_MAX_TOP ? CN_MAX_TOP : o->top_k;
  input_size(m, &d->model_w, &d->model_h);
  int rc =
      o->kind ? fit_kind(d, m, o->kind, o, false, err) : fit_auto(d, m, o, err);
  if (rc) {
    cn_decoder_destroy(d);
    return rc;
  }
  if (d->top_k > d->nclasses && d->kind == CN__DEC_CLASSIFY)
    d->top_k = d->nclasses;

  float thr = 0.5f, iou = 0.0f;
  switch (d->kind) {
  case CN__DEC_BLAZEFACE:
    iou = 0.3f;
    d->weighted = true;
    break;
  case CN__DEC_YOLO:
    thr = 0.25f;
    iou = 0.45f;
    break;
  default:
    break;
  }
  d->threshold = o->threshold >= 0 ? o->threshold : thr;
  d->nms_iou = o->nms_iou >= 0 ? o->nms_iou : iou;

  if (d->kind != CN__DEC_CLASSIFY) {
    if (d->n > (1 << 24)) {
      rc = cn_err_set(err, CN_EINVAL, "decoder %s: %lld boxes is too many",
                      cn_decoder_kind(d), (long long)d->n);
      cn_decoder_destroy(d);
      return rc;
    }
    d->cap = (int)d->n;
    d->cand = malloc((size_t)(d->cap ? d->cap : 1) * sizeof *d->cand);
    d->scratch = malloc((size_t)(d->cap ? d->cap : 1) * sizeof *d->scratch);
    if (!d->cand || !d->scratch) {
      cn_decoder_destroy(d);
      return cn_err_set(err, CN_ENOMEM, "decoder: out of memory");
    }
  }
  if (d->kind == CN__DEC_BLAZEFACE && (rc = cn__blazeface_init(d, err))) {
    cn_decoder_destroy(d);
    return rc;
  }
  *out = d;
  return 0;
}

void cn_decoder_destroy(cn_decoder_t *d) {
  if (!d)
    return;
  free(d->cand);
  free(d->scratch);
  free(d->anchors);
  free(d);
}

const char *cn_decoder_kind(const cn_decoder_t *d) {
  switch (d->kind) {
  case CN__DEC_CLASSIFY:
    return "classify";
  case CN__DEC_BLAZEFACE:
    return "blazeface";
  case CN__DEC_SSD:
    return "ssd";
  case CN__DEC_YOLO:
    return "yolo";
  }
  return "?";
}

cn_task_t cn_decoder_task(const cn_decoder_t *d) {
  return d->kind == CN__DEC_CLASSIFY ? CN_TASK_CLASSIFY : CN_TASK_DETECT;
}

int cn_decoder_num_classes(const cn_decoder_t *d) { return d->nclasses; }

static float clampf(float v, float lo, float hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Input pixels -> source pixels, clipped to the frame. Returns 0 when
 * nothing of the box is left inside (it lay in the letterbox padding). */
static int map_box(cn_box_t *b, const cn_xform_t *xf) {
  float x0 = b->x, y0 = b->y, x1 = b->x + b->w, y1 = b->y + b->h;
  cn_xform_apply(xf, &x0, &y0);
  cn_xform_apply(xf, &x1, &y1);
  x0 = clampf(x0, 0, (float)xf->src_w);
  x1 = clampf(x1, 0, (float)xf->src_w);
  y0 = clampf(y0, 0, (float)xf->src_h);
  y1 = clampf(y1, 0, (float)xf->src_h);
  if (!(x1 > x0 && y1 > y0))
    return 0;
  b->x = x0;
  b->y = y0;
  b->w = x1 - x0;
  b->h = y1 - y0;
  for (int k = 0; k < b->nkp; k++)
    cn_xform_apply(xf, &b->kp[k][0], &b->kp[k][1]);
  return 1;
}

int cn_decoder_run(cn_decoder_t *d, const float *const *outputs,
                   const cn_xform_t *xf, cn_result_t *res, cn_err_t *err) {
  res->ntop = 0;
  res->nboxes = 0;
  if (!outputs)
    return cn_err_set(err, CN_EINVAL, "decoder %s: no outputs",
                      cn_decoder_kind(d));
  if (d->kind == CN__DEC_CLASSIFY) {
    res->task = CN_TASK_CLASSIFY;
    cn__classify_run(d, outputs, res);
    return 0;
  }
  res->task = CN_TASK_DETECT;
  cn_xform_t ident = {1,          1,          0,          0,
                      d->model_w, d->model_h, d->model_w, d->model_h};
  if (!xf)
    xf = &ident;
  d->in_w = xf->in_w;
  d->in_h = xf->in_h;
  int n = d->kind == CN__DEC_BLAZEFACE ? cn__blazeface_run(d, outputs)
          : d->kind == CN__DEC_SSD     ? cn__ssd_run(d, outputs)
                                       : cn__yolo_run(d, outputs);
  int kept;
  if (d->weighted) {
    kept = cn_nms_weighted(d->cand, n, d->nms_iou, d->scratch, d->kept,
                           CN_MAX_BOXES);
  } else if (d->nms_iou > 0) {
    kept =
        cn_nms(d->cand, n, d->nms_iou, true, d->scratch, d->kept, CN_MAX_BOXES);
  } else {
    cn_nms_sort(d->cand, d->scratch, n);
    kept = n < CN_MAX_BOXES ? n : CN_MAX_BOXES;
    for (int i = 0; i < kept; i++)
      d->kept[i] = d->cand[d->scratch[i]];
  }
  for (int i = 0; i < kept; i++) {
    cn_box_t b = d->kept[i];
    if (map_box(&b, xf))
      res->boxes[res->nboxes++] = b;
  }
  return 0;
}
