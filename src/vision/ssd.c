/* Caffe SSD's DetectionOutput: rows of (image_id, label, conf, xmin, ymin,
 * xmax, ymax), coordinates normalized to the input. Caffe pads an empty
 * result with a row of -1s, so rows with image_id < 0 are skipped. */
#include <math.h>

#include "vision/decode_internal.h"

typedef struct ssd {
  int out;      /* the output index */
  int64_t rows; /* N of [1,1,N,7] */
} ssd_t;

static int ssd_fit(cn_decoder_t *d, const cn_model_t *m,
                   const cn_decoder_opts_t *o, bool strict, cn_err_t *err) {
  (void)o;
  ssd_t *s = d->state;
  int nout = cn_model_num_outputs(m);
  for (int j = 0; j < nout; j++) {
    const cn_tensor_desc_t *t = cn_model_output(m, j);
    if (t->ndim == 4 && t->dims[0] == 1 && t->dims[1] == 1 && t->dims[2] >= 1 &&
        t->dims[3] == 7 && (!strict || nout == 1)) {
      s->out = j;
      s->rows = t->dims[2];
      d->ncand = s->rows;
      d->nclasses = 0;
      return 0;
    }
  }
  return cn_err_set(err, CN_EINVAL,
                    "decoder ssd: model has no output shaped [1,1,N,7]%s",
                    strict && nout > 1 ? " as its only output" : "");
}

static int ssd_run(cn_decoder_t *d, const float *const *outs,
                   cn_result_t *res) {
  (void)res;
  const ssd_t *s = d->state;
  const float *rows = outs[s->out];
  const float W = (float)d->in_w, H = (float)d->in_h;
  int n = 0;
  for (int64_t i = 0; i < s->rows; i++) {
    const float *r = rows + i * 7;
    if (!(r[0] >= 0.0f) || !(r[2] >= d->threshold) || !(r[1] >= 0.0f) ||
        r[1] > 1e6f)
      continue;
    float x0 = r[3] * W, y0 = r[4] * H, x1 = r[5] * W, y1 = r[6] * H;
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1) ||
        !(x1 > x0 && y1 > y0))
      continue;
    cn_box_t *b = &d->cand[n++];
    b->x = x0;
    b->y = y0;
    b->w = x1 - x0;
    b->h = y1 - y0;
    b->score = r[2];
    b->cls = (int)r[1];
    b->nkp = 0;
  }
  return n;
}

const cn__dec_kind_t cn__dec_ssd = {
    .name = "ssd",
    .family = "ssd",
    .task = CN_TASK_DETECT,
    .probe = true,
    .state_size = sizeof(ssd_t),
    .threshold = 0.5f,
    .nms_iou = 0.0f, /* DetectionOutput has suppressed already */
    .fit = ssd_fit,
    .run = ssd_run,
};
