/* The inference stage. Opening does every check once (decoder against
 * the outputs, labels against the classes, preprocessing against the
 * input, by building one stage), so a run fails only on what a frame
 * brings; each stage sizes its buffers then and runs without allocating. */
#include "vision/stage_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "camnet/mean.h"
#include "vision/decode.h"

struct cn_stage_model {
  cn_model_t *model;
  cn_labels_t *labels; /* the file's, or the decoder's names; NULL */
  cn_mean_t mean;      /* zeroed without a mean image */
  cn_preproc_opts_t pre;
  cn_decoder_opts_t dec; /* its strings point to the copies below */
  cn_task_t task;
  const char *kind; /* decoder kind picked (a static string) */
  char *name, *decoder, *output;
};

struct cn_stage {
  const cn_stage_model_t *m;
  cn_preproc_t *pre;
  cn_decoder_t *dec;
  float *input;
  float **outputs;
  int noutputs;
  cn_result_t result;
  cn_trace_ring_t *trace;
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

void cn_stage_opts_default(cn_stage_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->rgb = -1;
  o->top = 3;
  o->threshold = -1.0f;
  o->nms = -1.0f;
}

#define CN__STAGE_SHAPES 8

/* Open input dimensions come from --input-shape, then --size (the
 * spatial ones), then the file's own default (camnet/model.h). */
static int load_model(const cn_stage_opts_t *o, cn_stage_model_t *m,
                      cn_err_t *err) {
  cn_model_opts_t mo;
  cn_model_opts_default(&mo);
  mo.backend = o->backend;
  mo.threads = o->threads;
  mo.weights = o->weights;
  mo.log = o->log;
  mo.interrupt = o->interrupt;
  cn_input_shape_t shapes[CN__STAGE_SHAPES];
  if (o->ninput_shapes > CN__STAGE_SHAPES)
    return cn_err_set(err, CN_EINVAL, "option --input-shape: at most %d",
                      CN__STAGE_SHAPES);
  for (int i = 0; i < o->ninput_shapes; i++) {
    cn_err_t e = {0};
    if (cn_input_shape_parse(o->input_shapes[i], &shapes[i], &e))
      return cn_err_set(err, CN_EINVAL, "option --input-shape: %s", e.msg);
  }
  mo.input_shapes = shapes;
  mo.ninput_shapes = o->ninput_shapes;
  char tail;
  if (o->size && sscanf(o->size, "%dx%d%c", &mo.width, &mo.height, &tail) != 2)
    mo.width = mo.height = 0; /* refused with its message in setup_preproc */
  return cn_model_load(&m->model, o->model, &mo, err);
}

/* Labels from the file's "names" metadata when none were given. */
static int meta_labels(cn_stage_model_t *m, cn_err_t *err) {
  const char *names = cn_model_find_metadata(m->model, "names");
  if (!names || m->labels)
    return 0;
  char what[300];
  snprintf(what, sizeof what, "%.200s: metadata 'names'", m->name);
  return cn_labels_from_dict(names, what, &m->labels, err);
}

/* Copies of the strings the decoder options keep. */
static int copy_strings(const cn_stage_opts_t *o, cn_stage_model_t *m,
                        cn_err_t *err) {
  m->name = strdup(o->model);
  m->decoder = o->decoder ? strdup(o->decoder) : NULL;
  m->output = o->output ? strdup(o->output) : NULL;
  if (!m->name || (o->decoder && !m->decoder) || (o->output && !m->output))
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", o->model);
  return 0;
}

/* The decoder's own class names as labels, when it has any. */
static int builtin_labels(const cn_decoder_t *d, cn_stage_model_t *m,
                          cn_err_t *err) {
  int n = 0;
  while (cn_decoder_class_name(d, n))
    n++;
  if (n == 0)
    return 0;
  const char **names = malloc((size_t)n * sizeof *names);
  if (!names)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", m->name);
  for (int i = 0; i < n; i++)
    names[i] = cn_decoder_class_name(d, i);
  int rc = cn_labels_from_names(names, n, &m->labels, err);
  free(names);
  return rc;
}

/* Picks the decoder (a trial one: each stage makes its own), checks the
 * task and the labels against it and takes the preprocessing its kind
 * needs. */
static int setup_decoder(const cn_stage_opts_t *o, cn_stage_model_t *m,
                         cn_err_t *err) {
  cn_decoder_opts_default(&m->dec);
  m->dec.kind = m->decoder;
  if (!m->dec.kind && o->task == CN_TASK_CLASSIFY)
    m->dec.kind = "classify";
  m->dec.top_k = o->top;
  m->dec.threshold = o->threshold;
  m->dec.nms_iou = o->nms;
  m->dec.output = m->output;
  m->dec.model_name = m->name;
  cn_decoder_t *probe = NULL;
  int rc = cn_decoder_create(&m->dec, m->model, &probe, err);
  if (rc)
    return rc;
  m->task = cn_decoder_task(probe);
  m->kind = cn_decoder_kind(probe);
  int classes = cn_decoder_num_classes(probe);
  if (o->task == CN_TASK_DETECT && m->task != CN_TASK_DETECT)
    rc = cn_err_set(err, CN_EINVAL,
                    "%s: --task detect needs --decoder "
                    "blazeface|ssd|yolo",
                    m->name);
  else if (m->labels && m->task == CN_TASK_CLASSIFY && classes > 0 &&
           cn_labels_count(m->labels) < classes)
    rc = cn_err_set(err, CN_EINVAL,
                    "%s: has %d labels, the model has %d "
                    "classes",
                    o->labels, cn_labels_count(m->labels), classes);
  else if (!m->labels)
    rc = builtin_labels(probe, m, err);
  cn_preproc_opts_default(&m->pre);
  if (!rc)
    rc = cn_preproc_opts_from_model(&m->pre, m->model, 0, err);
  if (!rc)
    cn_decoder_apply_input(probe, &m->pre);
  cn_decoder_destroy(probe);
  return rc;
}

static int setup_mean(const cn_stage_opts_t *o, cn_stage_model_t *m,
                      cn_err_t *err) {
  if (!o->mean)
    return 0;
  float v[3];
  int n = parse_triple(o->mean, v);
  if (n > 0 && !ends_with(o->mean, ".npy") &&
      !ends_with(o->mean, ".binaryproto")) {
    memcpy(m->pre.mean, v, sizeof v);
    return 0;
  }
  /* A mean image is in the network's channel order (Caffe's mean files
   * are BGR like its inputs). */
  int rc = cn_mean_load(o->mean, 3, m->pre.height, m->pre.width, &m->mean, err);
  if (rc == 0)
    m->pre.mean_image = &m->mean;
  return rc;
}

/* The options over what the model and the decoder asked for. */
static int setup_preproc(const cn_stage_opts_t *o, cn_stage_model_t *m,
                         cn_err_t *err) {
  if (o->size) {
    char tail;
    if (sscanf(o->size, "%dx%d%c", &m->pre.width, &m->pre.height, &tail) != 2 ||
        m->pre.width <= 0 || m->pre.height <= 0)
      return cn_err_set(err, CN_EINVAL, "option --size: '%s' is not WxH",
                        o->size);
  }
  if (o->rgb >= 0)
    m->pre.rgb = o->rgb != 0;
  if (o->crop)
    m->pre.crop = true;
  if (o->scale > 0)
    m->pre.scale = o->scale;
  if (o->std && parse_triple(o->std, m->pre.std) < 0)
    return cn_err_set(err, CN_EINVAL, "option --std: '%s' is not S or B,G,R",
                      o->std);
  return setup_mean(o, m, err);
}

int cn_stage_model_open(const cn_stage_opts_t *o, cn_stage_model_t **out,
                        cn_err_t *err) {
  *out = NULL;
  if (!o->model)
    return cn_err_set(err, CN_EINVAL, "stage: no model given");
  cn_stage_model_t *m = calloc(1, sizeof *m);
  if (!m)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", o->model);
  int rc = copy_strings(o, m, err);
  if (!rc)
    rc = load_model(o, m, err);
  if (!rc && o->labels)
    rc = cn_labels_load(o->labels, &m->labels, err);
  if (!rc)
    rc = meta_labels(m, err);
  if (!rc)
    rc = setup_decoder(o, m, err);
  if (!rc)
    rc = setup_preproc(o, m, err);
  /* Build one stage now so every mismatch is reported before the run. */
  cn_stage_t *s = NULL;
  if (!rc)
    rc = cn_stage_create(m, &s, err);
  cn_stage_destroy(s);
  if (rc) {
    cn_stage_model_close(m);
    return rc;
  }
  *out = m;
  return 0;
}

void cn_stage_model_close(cn_stage_model_t *m) {
  if (!m)
    return;
  cn_model_free(m->model);
  cn_labels_destroy(m->labels);
  cn_mean_free(&m->mean);
  free(m->name);
  free(m->decoder);
  free(m->output);
  free(m);
}

cn_task_t cn_stage_model_task(const cn_stage_model_t *m) { return m->task; }

const char *cn_stage_model_kind(const cn_stage_model_t *m) { return m->kind; }

const cn_labels_t *cn_stage_model_labels(const cn_stage_model_t *m) {
  return m ? m->labels : NULL;
}

const cn_model_t *cn_stage_model_handle(const cn_stage_model_t *m) {
  return m->model;
}

const char *cn_stage_model_name(const cn_stage_model_t *m) { return m->name; }

const cn_preproc_opts_t *cn_stage_model_preproc(const cn_stage_model_t *m) {
  return &m->pre;
}

int cn_stage_create(const cn_stage_model_t *m, cn_stage_t **out,
                    cn_err_t *err) {
  *out = NULL;
  cn_stage_t *s = calloc(1, sizeof *s);
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
                      m->name, cn_model_num_inputs(m->model),
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
    cn_stage_destroy(s);
    return rc;
  }
  *out = s;
  return 0;
}

void cn_stage_destroy(cn_stage_t *s) {
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

void cn__stage_set_trace(cn_stage_t *s, cn_trace_ring_t *ring) {
  s->trace = ring;
}

static void trace_run(cn_stage_t *s, const cn_frame_t *f, int64_t t_pre,
                      int64_t t_net) {
  cn_trace_ring_t *r = s->trace;
  cn_trace_span(r, CN_TR_FLOW, f->source, f->seq, f->t_decode,
                f->t_infer_begin);
  cn_trace_span(r, CN_TR_PREPROCESS, f->source, f->seq, f->t_infer_begin,
                t_pre);
  cn_trace_span(r, CN_TR_INFERENCE, f->source, f->seq, t_pre, t_net);
  cn_trace_span(r, CN_TR_OUTDECODE, f->source, f->seq, t_net, f->t_infer_end);
}

int cn_stage_run(cn_stage_t *s, cn_frame_t *f, const cn_result_t **res,
                 cn_err_t *err) {
  cn_xform_t xf;
  f->t_infer_begin = cn_clock_now();
  int rc = cn_preproc_run(s->pre, f, s->input, &xf, err);
  int64_t t_pre = cn_trace_on(s->trace) ? cn_clock_now() : 0;
  const float *ins[1] = {s->input};
  if (!rc)
    rc = cn_model_run(s->m->model, ins, s->outputs, err);
  int64_t t_net = cn_trace_on(s->trace) ? cn_clock_now() : 0;
  if (!rc)
    rc = cn_decoder_run(s->dec, (const float *const *)s->outputs, &xf,
                        &s->result, err);
  f->t_infer_end = cn_clock_now();
  if (cn_trace_on(s->trace))
    trace_run(s, f, t_pre, t_net);
  *res = rc ? NULL : &s->result;
  return rc;
}
