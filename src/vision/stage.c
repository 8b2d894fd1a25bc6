#include "vision/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

struct cn_app_stage {
  const cn_app_model_t *m;
  cn_preproc_t *pre;
  cn_decoder_t *dec;
  float *input;
  float **outputs;
  int noutputs;
  cn_result_t result;
};

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* "1,2,3" -> 3 floats; returns how many were read (1 or 3), or -1. */
static int parse_triple(const char *s, float v[3]) {
  char tail;
  int n = sscanf(s, "%f,%f,%f%c", &v[0], &v[1], &v[2], &tail);
  if (n == 3)
    return 3;
  if (sscanf(s, "%f%c", &v[0], &tail) == 1) {
    v[1] = v[2] = v[0];
    return 1;
  }
  return -1;
}

static int load_model(const cn_app_config_t *cfg, cn_app_model_t *m,
                      cn_err_t *err) {
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.backend = cfg->backend;
  o.threads = (int)cfg->threads;
  const char *path = cfg->model;
  /* The seed's form: --prototxt deploy.prototxt --model x.caffemodel. */
  if (cfg->prototxt) {
    path = cfg->prototxt;
    o.weights = cfg->model;
  }
  return cn_model_load(&m->model, path, &o, err);
}

static int setup_mean(const cn_app_config_t *cfg, cn_app_model_t *m,
                      cn_err_t *err) {
  if (!cfg->mean)
    return 0;
  float v[3];
  int n = parse_triple(cfg->mean, v);
  if (n > 0 && !ends_with(cfg->mean, ".npy") &&
      !ends_with(cfg->mean, ".binaryproto")) {
    memcpy(m->pre.mean, v, sizeof v);
    return 0;
  }
  /* A mean image is in the network's channel order (Caffe's mean files
   * are BGR like its inputs). */
  int rc =
      cn_mean_load(cfg->mean, 3, m->pre.height, m->pre.width, &m->mean, err);
  if (rc == 0)
    m->pre.mean_image = &m->mean;
  return rc;
}

int cn_app_model_open(const cn_app_config_t *cfg, cn_app_model_t *m,
                      cn_err_t *err) {
  memset(m, 0, sizeof *m);
  int rc = load_model(cfg, m, err);
  if (rc < 0)
    return rc;
  if (cfg->labels && (rc = cn_labels_load(cfg->labels, &m->labels, err)))
    goto fail;

  cn_decoder_opts_default(&m->dec);
  m->dec.kind = cfg->decoder;
  if (!m->dec.kind && cfg->task && !strcmp(cfg->task, "classify"))
    m->dec.kind = "classify";
  m->dec.top_k = (int)cfg->top;
  m->dec.threshold = (float)cfg->threshold;
  m->dec.nms_iou = (float)cfg->nms;
  m->dec.output = cfg->output;
  m->dec.model_name = cfg->prototxt ? cfg->prototxt : cfg->model;
  cn_decoder_t *probe = NULL;
  if ((rc = cn_decoder_create(&m->dec, m->model, &probe, err)))
    goto fail;
  m->task = cn_decoder_task(probe);
  m->kind = cn_decoder_kind(probe);
  int classes = cn_decoder_num_classes(probe);
  cn_decoder_destroy(probe);
  if (cfg->task && !strcmp(cfg->task, "detect") && m->task != CN_TASK_DETECT) {
    rc = cn_err_set(err, CN_EINVAL,
                    "%s: --task detect needs --decoder "
                    "blazeface|ssd|yolo",
                    m->dec.model_name);
    goto fail;
  }
  if (m->labels && m->task == CN_TASK_CLASSIFY && classes > 0 &&
      cn_labels_count(m->labels) < classes) {
    rc = cn_err_set(err, CN_EINVAL,
                    "%s: has %d labels, the model has %d "
                    "classes",
                    cfg->labels, cn_labels_count(m->labels), classes);
    goto fail;
  }

  cn_preproc_opts_default(&m->pre);
  if ((rc = cn_preproc_opts_from_model(&m->pre, m->model, 0, err)))
    goto fail;
  if (cfg->size) {
    char tail;
    if (sscanf(cfg->size, "%dx%d%c", &m->pre.width, &m->pre.height, &tail) !=
            2 ||
        m->pre.width <= 0 || m->pre.height <= 0) {
      rc = cn_err_set(err, CN_EINVAL, "option --size: '%s' is not WxH",
                      cfg->size);
      goto fail;
    }
  }
  /* BlazeFace wants what MediaPipe feeds it: RGB in [-1, 1], letterboxed. */
  if (!strcmp(m->kind, "blazeface")) {
    m->pre.rgb = true;
    m->pre.letterbox = true;
    m->pre.mean[0] = m->pre.mean[1] = m->pre.mean[2] = 127.5f;
    m->pre.scale = 1.0f / 127.5f;
  }
  if (cfg->rgb)
    m->pre.rgb = true;
  if (cfg->bgr)
    m->pre.rgb = false;
  if (cfg->crop)
    m->pre.crop = true;
  if (cfg->scale > 0)
    m->pre.scale = (float)cfg->scale;
  if (cfg->std && parse_triple(cfg->std, m->pre.std) < 0) {
    rc = cn_err_set(err, CN_EINVAL, "option --std: '%s' is not S or B,G,R",
                    cfg->std);
    goto fail;
  }
  if ((rc = setup_mean(cfg, m, err)))
    goto fail;
  /* Build one stage now so every mismatch is reported before the run. */
  cn_app_stage_t *s = NULL;
  if ((rc = cn_app_stage_create(m, &s, err)))
    goto fail;
  cn_app_stage_destroy(s);
  return 0;
fail:
  cn_app_model_close(m);
  return rc;
}

void cn_app_model_close(cn_app_model_t *m) {
  cn_model_free(m->model);
  cn_labels_destroy(m->labels);
  cn_mean_free(&m->mean);
  memset(m, 0, sizeof *m);
}

int cn_app_stage_create(const cn_app_model_t *m, cn_app_stage_t **out,
                        cn_err_t *err) {
  *out = NULL;
  cn_app_stage_t *s = calloc(1, sizeof *s);
  if (!s)
    return cn_err_set(err, CN_ENOMEM, "out of memory");
  s->m = m;
  int rc = cn_preproc_create(&m->pre, &s->pre, err);
  if (!rc)
    rc = cn_decoder_create(&m->dec, m->model, &s->dec, err);
  if (!rc) {
    const cn_tensor_desc_t *in = cn_model_input(m->model, 0);
    if (cn_model_num_inputs(m->model) != 1 ||
        in->numel != cn_preproc_numel(s->pre))
      rc = cn_err_set(err, CN_EINVAL,
                      "%s: the model needs %d input(s) of %lld values; an "
                      "image gives one of %d (see --size)",
                      m->dec.model_name, cn_model_num_inputs(m->model),
                      (long long)in->numel, cn_preproc_numel(s->pre));
  }
  if (!rc) {
    s->noutputs = cn_model_num_outputs(m->model);
    s->input = malloc((size_t)cn_preproc_numel(s->pre) * sizeof(float));
    s->outputs = calloc((size_t)s->noutputs, sizeof *s->outputs);
    rc = s->input && s->outputs ? 0 : CN_ENOMEM;
    for (int j = 0; !rc && j < s->noutputs; j++)
      if (!(s->outputs[j] = malloc((size_t)cn_model_output(m->model, j)->numel *
                                   sizeof(float))))
        rc = CN_ENOMEM;
    if (rc)
      cn_err_set(err, rc, "out of memory");
  }
  if (rc) {
    cn_app_stage_destroy(s);
    return rc;
  }
  *out = s;
  return 0;
}

void cn_app_stage_destroy(cn_app_stage_t *s) {
  if (!s)
    return;
  cn_preproc_destroy(s->pre);
  cn_decoder_destroy(s->dec);
  for (int j = 0; s->outputs && j < s->noutputs; j++)
    free(s->outputs[j]);
  free(s->outputs);
  free(s->input);
  free(s);
}

int cn_app_stage_run(cn_app_stage_t *s, cn_frame_t *f, const cn_result_t **res,
                     cn_err_t *err) {
  cn_xform_t xf;
  f->t_infer_begin = cn_clock_now();
  int rc = cn_preproc_run(s->pre, f, s->input, &xf, err);
  const float *ins[1] = {s->input};
  if (!rc)
    rc = cn_model_run(s->m->model, ins, s->outputs, err);
  if (!rc)
    rc = cn_decoder_run(s->dec, (const float *const *)s->outputs, &xf,
                        &s->result, err);
  f->t_infer_end = cn_clock_now();
  *res = rc ? NULL : &s->result;
  return rc;
}
