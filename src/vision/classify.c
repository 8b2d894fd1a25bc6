#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vision/decode_internal.h"

typedef struct classify {
  int out;   /* the output index */
  int64_t n; /* classes */
} classify_t;

static int classify_fit(cn_decoder_t *d, const cn_model_t *m,
                        const cn_decoder_opts_t *o, bool strict,
                        cn_err_t *err) {
  (void)strict; /* one output is picked; others may be anything */
  classify_t *c = d->state;
  const char *output = o->output;
  int nout = cn_model_num_outputs(m), j = 0;
  if (output) {
    j = cn_model_find_output(m, output);
    if (j < 0) {
      char names[160] = "";
      int len = 0;
      for (int i = 0; i < nout && len < (int)sizeof names; i++)
        len += snprintf(names + len, sizeof names - (size_t)len, "%s%s",
                        i ? ", " : "", cn_model_output(m, i)->name);
      return cn_err_set(err, CN_EINVAL,
                        "decoder classify: model has no output '%s' (it has "
                        "%s)",
                        output, names);
    }
  } else if (nout != 1) {
    return cn_err_set(err, CN_EINVAL,
                      "decoder classify: model has %d outputs: pass --output "
                      "NAME for the class scores",
                      nout);
  }
  const cn_tensor_desc_t *t = cn_model_output(m, j);
  int big = 0;
  for (int i = 0; i < t->ndim; i++)
    big += t->dims[i] > 1;
  char shape[64];
  if (big != 1 || t->numel < 2 || t->numel > (1 << 24))
    return cn_err_set(err, CN_EINVAL,
                      "decoder classify: output '%s' is shaped %s, not "
                      "[1,C] class scores",
                      t->name, cn__shape_str(t, shape, sizeof shape));
  c->out = j;
  c->n = t->numel;
  d->nclasses = (int)t->numel;
  return 0;
}

/* Probabilities already (a Softmax or Caffe's "prob" at the end): every
 * value in [0,1] and the sum 1 up to float rounding. */
static int looks_like_probs(const float *x, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!(x[i] >= 0.0f && x[i] <= 1.0f))
      return 0;
    sum += x[i];
  }
  return fabs(sum - 1.0) <= 1e-3;
}

static int classify_run(cn_decoder_t *d, const float *const *outs,
                        cn_result_t *res) {
  const classify_t *c = d->state;
  const float *x = outs[c->out];
  const int64_t n = c->n;
  const int k = d->top_k;
  /* Top k by raw value (softmax keeps the order); a later equal value
   * does not displace an earlier one. NaN is never ranked. */
  int nt = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    if (isnan(v) || (nt == k && !(v > res->top[k - 1].prob)))
      continue;
    int pos = nt < k ? nt++ : k - 1;
    while (pos > 0 && v > res->top[pos - 1].prob) {
      res->top[pos] = res->top[pos - 1];
      pos--;
    }
    res->top[pos].cls = (int)i;
    res->top[pos].prob = v;
  }
  res->ntop = nt;
  if (nt == 0 || looks_like_probs(x, n))
    return 0;
  /* Softmax, shifted by the maximum so exp never overflows. */
  double max = res->top[0].prob, sum = 0;
  if (isinf(max)) {
    for (int i = 0; i < nt; i++)
      res->top[i].prob = res->top[i].prob == (float)max ? 1.0f : 0.0f;
    return 0;
  }
  for (int64_t i = 0; i < n; i++)
    if (!isnan(x[i]))
      sum += exp((double)x[i] - max);
  for (int i = 0; i < nt; i++)
    res->top[i].prob = (float)(exp((double)res->top[i].prob - max) / sum);
  return 0;
}

const cn__dec_kind_t cn__dec_classify = {
    .name = "classify",
    .family = "classify",
    .task = CN_TASK_CLASSIFY,
    .probe = true,
    .state_size = sizeof(classify_t),
    .threshold = 0.5f,
    .fit = classify_fit,
    .run = classify_run,
};
