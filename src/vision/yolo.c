/* YOLO-style ONNX heads, boxes already decoded to input pixels (cx, cy,
 * w, h): YOLOv8 [1,4+C,N] (class scores, no objectness), its transpose
 * [1,N,4+C], and YOLOv5 [1,N,5+C] (objectness, then class scores; the
 * score is their product, as Ultralytics' NMS computes it). */
#include <math.h>
#include <stdio.h>

#include "vision/decode_internal.h"

int cn__yolo_fit(cn_decoder_t *d, const cn_model_t *m, int version, bool strict,
                 cn_err_t *err) {
  int nout = cn_model_num_outputs(m);
  const char *why = "";
  for (int j = 0; j < nout; j++) {
    const cn_tensor_desc_t *t = cn_model_output(m, j);
    if (t->ndim != 3 || t->dims[0] != 1)
      continue;
    int64_t a = t->dims[1], b = t->dims[2];
    /* The long axis is the box axis: heads have far more boxes than
     * classes. */
    if (a == b) {
      why = " (a square [1,K,K] output is ambiguous)";
      continue;
    }
    int cols = a < b;
    int64_t n = cols ? b : a, k = cols ? a : b;
    cn__yolo_layout_t layout;
    int64_t c;
    if (cols) {
      if (version == 5) {
        why = " (YOLOv5 rows [1,N,5+C] expected; this is [1,4+C,N])";
        continue;
      }
      layout = CN__YOLO_COLS;
      c = k - 4;
    } else if (version == 8) {
      layout = CN__YOLO_ROWS;
      c = k - 4;
    } else {
      layout = CN__YOLO_ROWS_OBJ;
      c = k - 5;
    }
    if (c < 1)
      continue;
    if (strict && nout != 1)
      break;
    d->out = j;
    d->n = n;
    d->layout = layout;
    d->nclasses = (int)c;
    return 0;
  }
  return cn_err_set(err, CN_EINVAL,
                    "decoder yolo: model has no %soutput shaped [1,4+C,N] "
                    "or [1,N,5+C]%s",
                    strict && nout > 1 ? "single " : "", why);
}

int cn__yolo_run(cn_decoder_t *d, const float *const *outs) {
  const float *o = outs[d->out];
  const int64_t N = d->n;
  const int C = d->nclasses;
  const int obj = d->layout == CN__YOLO_ROWS_OBJ;
  /* Element (box i, field f) of either layout. */
  const int64_t si = d->layout == CN__YOLO_COLS ? 1 : 4 + obj + C;
  const int64_t sf = d->layout == CN__YOLO_COLS ? N : 1;
  int n = 0;
  for (int64_t i = 0; i < N; i++) {
    const float *r = o + i * si;
    float conf = obj ? r[4 * sf] : 1.0f;
    if (!(conf >= d->threshold))
      continue;
    int best = -1;
    float bs = 0;
    const float *cs = r + (4 + obj) * sf;
    for (int c = 0; c < C; c++) {
      float s = cs[c * sf];
      if (best < 0 ? !isnan(s) : s > bs) {
        best = c;
        bs = s;
      }
    }
    float score = conf * bs;
    if (best < 0 || !(score >= d->threshold))
      continue;
    float cx = r[0], cy = r[sf], w = r[2 * sf], h = r[3 * sf];
    if (!isfinite(cx) || !isfinite(cy) || !isfinite(w) || !isfinite(h) ||
        !(w > 0 && h > 0))
      continue;
    cn_box_t *b = &d->cand[n++];
    b->x = cx - w / 2;
    b->y = cy - h / 2;
    b->w = w;
    b->h = h;
    b->score = score;
    b->cls = best;
    b->nkp = 0;
  }
  return n;
}
