/* YOLO-style ONNX heads, boxes already decoded to input pixels (cx, cy,
 * w, h): YOLOv8 [1,4+C,N] (class scores, no objectness), its transpose
 * [1,N,4+C], and YOLOv5 [1,N,5+C] (objectness, then class scores; the
 * score is their product, as Ultralytics' NMS computes it). */
#include <math.h>
#include <stdio.h>

#include "vision/decode_internal.h"

typedef enum yolo_layout {
  YOLO_COLS,    /* [4+C, N]: YOLOv8 as exported */
  YOLO_ROWS,    /* [N, 4+C]: YOLOv8 transposed */
  YOLO_ROWS_OBJ /* [N, 5+C]: YOLOv5 with objectness */
} yolo_layout_t;

typedef struct yolo {
  int out;   /* the output index */
  int64_t n; /* boxes */
  yolo_layout_t layout;
} yolo_t;

static int yolo_fit(cn_decoder_t *d, const cn_model_t *m,
                    const cn_decoder_opts_t *o, bool strict, cn_err_t *err) {
  (void)o;
  yolo_t *y = d->state;
  const int version = d->kind->variant;
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
    yolo_layout_t layout;
    int64_t c;
    if (cols) {
      if (version == 5) {
        why = " (YOLOv5 rows [1,N,5+C] expected; this is [1,4+C,N])";
        continue;
      }
      layout = YOLO_COLS;
      c = k - 4;
    } else if (version == 8) {
      layout = YOLO_ROWS;
      c = k - 4;
    } else {
      layout = YOLO_ROWS_OBJ;
      c = k - 5;
    }
    if (c < 1)
      continue;
    if (strict && nout != 1)
      break;
    y->out = j;
    y->n = n;
    y->layout = layout;
    d->ncand = n;
    d->nclasses = (int)c;
    return 0;
  }
  return cn_err_set(err, CN_EINVAL,
                    "decoder yolo: model has no %soutput shaped [1,4+C,N] "
                    "or [1,N,5+C]%s",
                    strict && nout > 1 ? "single " : "", why);
}

static int yolo_run(cn_decoder_t *d, const float *const *outs,
                    cn_result_t *res) {
  (void)res;
  const yolo_t *y = d->state;
  const float *o = outs[y->out];
  const int64_t N = y->n;
  const int C = d->nclasses;
  const int obj = y->layout == YOLO_ROWS_OBJ;
  /* Element (box i, field f) of either layout. */
  const int64_t si = y->layout == YOLO_COLS ? 1 : 4 + obj + C;
  const int64_t sf = y->layout == YOLO_COLS ? N : 1;
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

/* "yolo" tells the heads apart by shape; yolov5 and yolov8 force one. */
#define YOLO_KIND(kname, version, auto_)                                       \
  {                                                                            \
    .name = kname, .family = "yolo", .task = CN_TASK_DETECT, .probe = auto_,   \
    .variant = version, .state_size = sizeof(yolo_t), .threshold = 0.25f,      \
    .nms_iou = 0.45f, .fit = yolo_fit, .run = yolo_run,                        \
  }
const cn__dec_kind_t cn__dec_yolo = YOLO_KIND("yolo", 0, true);
const cn__dec_kind_t cn__dec_yolov5 = YOLO_KIND("yolov5", 5, false);
const cn__dec_kind_t cn__dec_yolov8 = YOLO_KIND("yolov8", 8, false);
