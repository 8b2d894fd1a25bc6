/* BlazeFace as MediaPipe decodes it (face_detection_short_range: SSD
 * anchors with fixed size 1, two per cell on a g x g grid then six per
 * cell on (g/2) x (g/2); boxes and keypoints are offsets in input pixels
 * from the anchor centre; raw scores are clipped to +-100 and go through
 * a sigmoid; weighted NMS afterwards, in decode.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vision/decode_internal.h"

/* Largest number of output tensors a BlazeFace split may use. */
#define MAX_PARTS 4

/* Outputs in anchor order (biggest layer first) and the rows of each. */
typedef struct blazeface {
  int nparts;
  int part_scores[MAX_PARTS], part_boxes[MAX_PARTS];
  int64_t part_rows[MAX_PARTS];
  int box_cols;
  int64_t n;           /* anchors */
  float (*anchors)[2]; /* n anchor centres, 0..1 (made by init) */
} blazeface_t;

typedef struct part {
  int out;
  int64_t rows, cols;
} part_t;

/* Sorts parts by rows, largest first (the 16x16 layer's anchors come
 * first); equal sizes keep their output order. */
static void sort_parts(part_t *p, int n) {
  for (int i = 1; i < n; i++) {
    part_t t = p[i];
    int j = i;
    while (j > 0 && p[j - 1].rows < t.rows) {
      p[j] = p[j - 1];
      j--;
    }
    p[j] = t;
  }
}

/* 2 g^2 + 6 (g/2)^2 = 3.5 g^2 anchors; returns g, or 0 if none fits. */
static int grid_for(int64_t total) {
  for (int g = 2; g <= 256; g += 2)
    if ((int64_t)g * g * 7 == total * 2)
      return g;
  return 0;
}

static int blazeface_fit(cn_decoder_t *d, const cn_model_t *m,
                         const cn_decoder_opts_t *o, bool strict,
                         cn_err_t *err) {
  (void)o;
  blazeface_t *bf = d->state;
  part_t boxes[MAX_PARTS], scores[MAX_PARTS];
  int nb = 0, ns = 0, nout = cn_model_num_outputs(m);
  char shapes[128] = "", one[64];
  int len = 0;
  for (int j = 0; j < nout; j++) {
    const cn_tensor_desc_t *t = cn_model_output(m, j);
    if (len < (int)sizeof shapes)
      len += snprintf(shapes + len, sizeof shapes - (size_t)len, "%s%s",
                      j ? "," : "", cn__shape_str(t, one, sizeof one));
    int64_t dims[CN_MODEL_MAX_DIMS];
    int nd = cn__squeeze_dims(t, dims);
    int64_t cols = nd == 2 ? dims[1] : 1;
    int ok = (nd == 1 || nd == 2) && dims[0] > 1;
    if (ok && cols == 1 && ns < MAX_PARTS) {
      scores[ns++] = (part_t){j, dims[0], 1};
    } else if (ok && cols >= 4 && cols % 2 == 0 && cols <= 4 + 2 * 64 &&
               nb < MAX_PARTS) {
      boxes[nb++] = (part_t){j, dims[0], cols};
    } else if (strict) {
      return cn_err_set(err, CN_EINVAL,
                        "decoder blazeface: output '%s' shaped %s is neither "
                        "scores [1,A,1] nor boxes [1,A,16]",
                        t->name, cn__shape_str(t, one, sizeof one));
    }
  }
  if (nb == 0 || nb != ns)
    return cn_err_set(err, CN_EINVAL,
                      "decoder blazeface: model has no outputs shaped "
                      "[1,A,16] and [1,A,1] in pairs (it has %s)",
                      shapes);
  sort_parts(boxes, nb);
  sort_parts(scores, ns);
  int64_t total = 0;
  for (int i = 0; i < nb; i++) {
    if (boxes[i].rows != scores[i].rows || boxes[i].cols != boxes[0].cols)
      return cn_err_set(err, CN_EINVAL,
                        "decoder blazeface: box and score outputs do not "
                        "pair up (%s)",
                        shapes);
    bf->part_boxes[i] = boxes[i].out;
    bf->part_scores[i] = scores[i].out;
    bf->part_rows[i] = boxes[i].rows;
    total += boxes[i].rows;
  }
  if (!grid_for(total))
    return cn_err_set(err, CN_EINVAL,
                      "decoder blazeface: %lld anchors; expected 2 per cell "
                      "of a g x g grid and 6 per cell of g/2 x g/2 (896 for "
                      "g = 16)",
                      (long long)total);
  bf->nparts = nb;
  bf->box_cols = (int)boxes[0].cols;
  bf->n = total;
  d->ncand = total;
  d->nclasses = 1;
  return 0;
}

static int blazeface_init(cn_decoder_t *d, cn_err_t *err) {
  blazeface_t *bf = d->state;
  bf->anchors = malloc((size_t)bf->n * sizeof *bf->anchors);
  if (!bf->anchors)
    return cn_err_set(err, CN_ENOMEM, "decoder blazeface: out of memory");
  const int g = grid_for(bf->n);
  const int grids[2] = {g, g / 2}, per_cell[2] = {2, 6};
  int a = 0;
  for (int l = 0; l < 2; l++)
    for (int y = 0; y < grids[l]; y++)
      for (int x = 0; x < grids[l]; x++)
        for (int k = 0; k < per_cell[l]; k++, a++) {
          bf->anchors[a][0] = ((float)x + 0.5f) / (float)grids[l];
          bf->anchors[a][1] = ((float)y + 0.5f) / (float)grids[l];
        }
  return 0;
}

static void blazeface_fini(cn_decoder_t *d) {
  blazeface_t *bf = d->state;
  free(bf->anchors);
}

static int blazeface_run(cn_decoder_t *d, const float *const *outs,
                         cn_result_t *res) {
  (void)res;
  const blazeface_t *bf = d->state;
  const float W = (float)d->in_w, H = (float)d->in_h;
  const int cols = bf->box_cols;
  int nkp = (cols - 4) / 2;
  if (nkp > CN_MAX_KP)
    nkp = CN_MAX_KP;
  int n = 0, a = 0;
  for (int p = 0; p < bf->nparts; p++) {
    const float *sc = outs[bf->part_scores[p]];
    const float *bx = outs[bf->part_boxes[p]];
    for (int64_t i = 0; i < bf->part_rows[p]; i++, a++) {
      float raw = sc[i];
      if (isnan(raw))
        continue;
      raw = raw < -100.0f ? -100.0f : raw > 100.0f ? 100.0f : raw;
      float score = 1.0f / (1.0f + expf(-raw));
      if (score < d->threshold)
        continue;
      const float *r = bx + i * cols;
      const float ax = bf->anchors[a][0] * W, ay = bf->anchors[a][1] * H;
      float cx = ax + r[0], cy = ay + r[1], w = r[2], h = r[3];
      if (!isfinite(cx) || !isfinite(cy) || !isfinite(w) || !isfinite(h))
        continue;
      cn_box_t *b = &d->cand[n++];
      b->x = cx - w / 2;
      b->y = cy - h / 2;
      b->w = w;
      b->h = h;
      b->score = score;
      b->cls = 0;
      b->nkp = nkp;
      for (int k = 0; k < nkp; k++) {
        b->kp[k][0] = ax + r[4 + 2 * k];
        b->kp[k][1] = ay + r[5 + 2 * k];
      }
    }
  }
  return n;
}

/* MediaPipe feeds the network RGB in [-1, 1], letterboxed to its square
 * input (face_detection_short_range's ImageToTensorCalculator). */
static const cn_decoder_input_t blazeface_input = {
    .rgb = true, .letterbox = true, .mean = 127.5f, .scale = 1.0f / 127.5f};
static const char *const blazeface_classes[] = {"face"};

const cn__dec_kind_t cn__dec_blazeface = {
    .name = "blazeface",
    .family = "blazeface",
    .task = CN_TASK_DETECT,
    .probe = true,
    .state_size = sizeof(blazeface_t),
    .threshold = 0.5f,
    .nms_iou = 0.3f,
    .weighted_nms = true,
    .input = &blazeface_input,
    .class_names = blazeface_classes,
    .nclass_names = 1,
    .fit = blazeface_fit,
    .init = blazeface_init,
    .fini = blazeface_fini,
    .run = blazeface_run,
};
