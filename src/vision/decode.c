/* The generic decoder: picks a kind from the table (by name, or the one
 * whose fit check passes), sizes the buffers, and after the kind's run
 * does what every detector shares: NMS, the map to source pixels,
 * clipping and the cap. */
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

/* The kinds, in the order the automatic choice tries them. */
static const cn__dec_kind_t *const kinds[] = {
    &cn__dec_classify, &cn__dec_blazeface, &cn__dec_ssd,
    &cn__dec_yolo,     &cn__dec_yolov5,    &cn__dec_yolov8,
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* Fits kind k into d, with a fresh zeroed state for it. */
static int fit_kind(cn_decoder_t *d, const cn__dec_kind_t *k,
                    const cn_model_t *m, const cn_decoder_opts_t *o,
                    bool strict, cn_err_t *err) {
  free(d->state);
  d->kind = k;
  d->state = calloc(1, k->state_size ? k->state_size : 1);
  if (!d->state)
    return cn_err_set(err, CN_ENOMEM, "decoder: out of memory");
  return k->fit(d, m, o, strict, err);
}

static int fit_named(cn_decoder_t *d, const cn_model_t *m,
                     const cn_decoder_opts_t *o, cn_err_t *err) {
  for (size_t i = 0; i < NKINDS; i++)
    if (!strcmp(o->kind, kinds[i]->name))
      return fit_kind(d, kinds[i], m, o, false, err);
  return cn_err_set(err, CN_EINVAL,
                    "unknown decoder '%s': expected classify, blazeface, ssd, "
                    "yolo, yolov5 or yolov8",
                    o->kind);
}

/* "[1,1000]" or "[1,896,16],[1,896,1]" (at most four, then ",..."). */
static void output_shapes(const cn_model_t *m, char *shapes, size_t size) {
  char one[64];
  int nout = cn_model_num_outputs(m), len = 0;
  shapes[0] = '\0';
  for (int j = 0; j < nout && len < (int)size; j++) {
    if (j == 4) {
      snprintf(shapes + len, size - (size_t)len, ",...");
      break;
    }
    len += snprintf(shapes + len, size - (size_t)len, "%s%s", j ? "," : "",
                    cn__shape_str(cn_model_output(m, j), one, sizeof one));
  }
}

/* Auto: the one kind whose fit check passes. Checks are strict (every
 * output accounted for) so a model with extra heads is not mistaken for
 * one kind. Trials use a decoder of their own: fit() only fills state. */
static int fit_auto(cn_decoder_t *d, const cn_model_t *m,
                    const cn_decoder_opts_t *o, cn_err_t *err) {
  int fits = 0;
  const cn__dec_kind_t *which = NULL;
  for (size_t i = 0; i < NKINDS; i++) {
    if (!kinds[i]->probe)
      continue;
    cn_decoder_t *probe = calloc(1, sizeof *probe);
    if (!probe)
      return cn_err_set(err, CN_ENOMEM, "decoder: out of memory");
    probe->model_w = d->model_w;
    probe->model_h = d->model_h;
    if (fit_kind(probe, kinds[i], m, o, true, NULL) == 0) {
      fits++;
      which = kinds[i];
    }
    free(probe->state);
    free(probe);
  }
  if (fits == 1)
    return fit_kind(d, which, m, o, true, err);
  char shapes[160];
  output_shapes(m, shapes, sizeof shapes);
  int nout = cn_model_num_outputs(m);
  return cn_err_set(err, CN_EINVAL,
                    "model%s%s: cannot tell the task from its outputs (%d "
                    "output%s %s): pass --task classify|detect --decoder "
                    "blazeface|ssd|yolo",
                    o->model_name ? " " : "",
                    o->model_name ? o->model_name : "", nout,
                    nout == 1 ? "" : "s", shapes);
}

static int check_opts(const cn_decoder_opts_t *o, cn_err_t *err) {
  if (o->top_k < 1)
    return cn_err_set(err, CN_EINVAL, "decoder: top-k %d: expected 1..%d",
                      o->top_k, CN_MAX_TOP);
  if (isnan(o->threshold) || o->threshold > 1.0f)
    return cn_err_set(err, CN_EINVAL, "decoder: threshold %g: expected 0..1",
                      (double)o->threshold);
  if (isnan(o->nms_iou) || o->nms_iou > 1.0f)
    return cn_err_set(err, CN_EINVAL, "decoder: NMS IoU %g: expected 0..1",
                      (double)o->nms_iou);
  return 0;
}

/* Candidate and NMS buffers, sized by the fit; then the kind's own. */
static int make_buffers(cn_decoder_t *d, cn_err_t *err) {
  if (d->kind->task == CN_TASK_DETECT) {
    if (d->ncand > (1 << 24))
      return cn_err_set(err, CN_EINVAL, "decoder %s: %lld boxes is too many",
                        cn_decoder_kind(d), (long long)d->ncand);
    d->cap = (int)d->ncand;
    d->cand = malloc((size_t)(d->cap ? d->cap : 1) * sizeof *d->cand);
    d->scratch = malloc((size_t)(d->cap ? d->cap : 1) * sizeof *d->scratch);
    if (!d->cand || !d->scratch)
      return cn_err_set(err, CN_ENOMEM, "decoder: out of memory");
  }
  return d->kind->init ? d->kind->init(d, err) : 0;
}

int cn_decoder_create(const cn_decoder_opts_t *o, const cn_model_t *m,
                      cn_decoder_t **out, cn_err_t *err) {
  *out = NULL;
  int rc = check_opts(o, err);
  if (rc)
    return rc;
  cn_decoder_t *d = calloc(1, sizeof *d);
  if (!d)
    return cn_err_set(err, CN_ENOMEM, "decoder: out of memory");
  d->top_k = o->top_k > CN_MAX_TOP ? CN_MAX_TOP : o->top_k;
  input_size(m, &d->model_w, &d->model_h);
  rc = o->kind ? fit_named(d, m, o, err) : fit_auto(d, m, o, err);
  if (rc == 0) {
    if (d->kind->task == CN_TASK_CLASSIFY && d->top_k > d->nclasses)
      d->top_k = d->nclasses;
    d->threshold = o->threshold >= 0 ? o->threshold : d->kind->threshold;
    d->nms_iou = o->nms_iou >= 0 ? o->nms_iou : d->kind->nms_iou;
    rc = make_buffers(d, err);
  }
  if (rc) {
    cn_decoder_destroy(d);
    return rc;
  }
  *out = d;
  return 0;
}

void cn_decoder_destroy(cn_decoder_t *d) {
  if (!d)
    return;
  if (d->state && d->kind->fini)
    d->kind->fini(d);
  free(d->state);
  free(d->cand);
  free(d->scratch);
  free(d);
}

const char *cn_decoder_kind(const cn_decoder_t *d) { return d->kind->family; }

cn_task_t cn_decoder_task(const cn_decoder_t *d) { return d->kind->task; }

int cn_decoder_num_classes(const cn_decoder_t *d) { return d->nclasses; }

const char *cn_decoder_class_name(const cn_decoder_t *d, int cls) {
  const cn__dec_kind_t *k = d->kind;
  return cls >= 0 && cls < k->nclass_names ? k->class_names[cls] : NULL;
}

const cn_decoder_input_t *cn_decoder_input(const cn_decoder_t *d) {
  return d->kind->input;
}

void cn_decoder_apply_input(const cn_decoder_t *d, cn_preproc_opts_t *po) {
  const cn_decoder_input_t *in = d->kind->input;
  if (!in)
    return;
  po->rgb = in->rgb;
  po->letterbox = in->letterbox;
  for (int c = 0; c < 3; c++)
    po->mean[c] = in->mean;
  po->scale = in->scale;
}

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
  res->task = d->kind->task;
  if (d->kind->task == CN_TASK_CLASSIFY) {
    d->kind->run(d, outputs, res);
    return 0;
  }
  cn_xform_t ident = {1,          1,          0,          0,
                      d->model_w, d->model_h, d->model_w, d->model_h};
  if (!xf)
    xf = &ident;
  d->in_w = xf->in_w;
  d->in_h = xf->in_h;
  int n = d->kind->run(d, outputs, res);
  int kept;
  if (d->kind->weighted_nms) {
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
