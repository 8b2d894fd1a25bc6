#include "camnet/model.h"
#include "engine/model_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/caffe/caffe_import.h"
#include "engine/interrupt.h"
#include "engine/ir/graph.h"
#include "engine/ir/graph_internal.h"
#include "engine/ir/optimize.h"
#include "engine/onnx/onnx_import.h"

struct cn_model {
  cn_graph_t *g;
  const cn_engine_ops_t *ops;
  void *state;
  cn_tensor_desc_t *in, *out;
  int nin, nout;
  double flops;
  int64_t params;
  pthread_mutex_t lock; /* serializes run() */
};

void cn_model_opts_default(cn_model_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->optimize = 1;
}

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

static int import(const char *path, const cn_model_opts_t *o, cn_graph_t **g,
                  cn_err_t *err) {
  const char *fmt = o->format;
  if (!fmt) {
    if (ends_with(path, ".onnx"))
      fmt = "onnx";
    else if (ends_with(path, ".prototxt") || ends_with(path, ".pbtxt") ||
             ends_with(path, ".caffemodel"))
      fmt = "caffe";
    else if (o->prototxt || o->weights)
      fmt = "caffe";
    else
      fmt = "onnx";
  }
  if (!strcmp(fmt, "onnx"))
    return cn_onnx_load_opts(path, o, g, err);
  if (!strcmp(fmt, "caffe")) {
    const char *proto = path, *weights = o->weights;
    if (ends_with(path, ".caffemodel") || o->prototxt) {
      proto = o->prototxt;
      weights = path;
    }
    if (!proto)
      return cn_err_set(err, CN_EINVAL, "%s: a Caffe model needs its .prototxt",
                        path);
    return cn_caffe_load(proto, weights, &o->interrupt, g, err);
  }
  return cn_err_set(err, CN_EINVAL, "%s: unknown model format '%s'", path, fmt);
}

static const cn_engine_ops_t *pick_backend(const char *name) {
  if (!name || !*name) {
#ifdef CN_HAVE_DNNL
    return &cn_engine_dnnl;
#else
    return &cn_engine_ref;
#endif
  }
  if (!strcmp(name, "ref"))
    return &cn_engine_ref;
#ifdef CN_HAVE_DNNL
  if (!strcmp(name, "dnnl"))
    return &cn_engine_dnnl;
#endif
  return NULL;
}

static int describe(const cn_graph_t *g, const int *ids, int n,
                    cn_tensor_desc_t **out) {
  cn_tensor_desc_t *d = calloc((size_t)(n ? n : 1), sizeof *d);
  if (!d)
    return CN_ENOMEM;
  for (int i = 0; i < n; i++) {
    const cn_tensor_t *t = &g->tensors[ids[i]];
    d[i].name = t->name;
    d[i].ndim = t->ndim;
    for (int k = 0; k < t->ndim; k++)
      d[i].dims[k] = t->dims[k];
    d[i].numel = cn_tensor_numel(t);
    for (int k = 0; t->dim_syms && k < t->ndim; k++)
      d[i].symbols[k] = t->dim_syms[k];
  }
  *out = d;
  return 0;
}

/* Once per load: reference steps that may cost more than 2 % of a run,
 * by the backend's estimate (a slow path hiding in a graph). */
static void warn_reference(const cn_model_t *m, const char *path,
                           const cn_logger_t *log) {
  const cn_engine_step_t *st = NULL;
  int n = m->ops->steps ? m->ops->steps(m->state, &st) : 0;
  double total = 0;
  for (int k = 0; k < n; k++)
    total += st[k].est_s;
  for (int k = 0, shown = 0; k < n && total > 0; k++) {
    double share = st[k].est_s / total;
    if (!st[k].reference || share <= CN_MODEL_REF_WARN_SHARE)
      continue;
    if (shown++ == 4) {
      cn_log(log, CN_LOG_WARN, "model", "%s: more reference steps", path);
      break;
    }
    const cn_node_t *nd = st[k].node >= 0 ? &m->g->nodes[st[k].node] : NULL;
    cn_log(log, CN_LOG_WARN, "model",
           "%s: node %d (%s, %s) runs on a reference implementation (%s), "
           "an estimated %.0f %% of a run: camnet bench --profile measures it",
           path, st[k].node, nd && nd->name ? nd->name : "output",
           nd ? cn_op_name(nd->op) : st[k].what, st[k].impl, 100 * share);
  }
}

int cn_input_shape_parse(const char *text, cn_input_shape_t *out,
                         cn_err_t *err) {
  memset(out, 0, sizeof *out);
  const char *colon = strrchr(text, ':'), *p = colon ? colon + 1 : text;
  if (colon) {
    size_t n = (size_t)(colon - text);
    if (n == 0 || n >= sizeof out->name)
      return cn_err_set(err, CN_EINVAL,
                        "input shape '%.80s': the name before ':' is %s", text,
                        n ? "too long" : "empty");
    memcpy(out->name, text, n);
  }
  int64_t numel = 1;
  for (;;) {
    char *end;
    if (*p < '0' || *p > '9' || out->ndim == CN_MODEL_MAX_DIMS)
      break;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || v < 1 || v > CN_INPUT_MAX_DIM)
      return cn_err_set(err, CN_EINVAL,
                        "input shape '%.80s': dimension %d must be 1 to "
                        "%" PRId64,
                        text, out->ndim, (int64_t)CN_INPUT_MAX_DIM);
    out->dims[out->ndim++] = v;
    numel *= v;
    if (numel > CN_INPUT_MAX_NUMEL)
      return cn_err_set(err, CN_EINVAL,
                        "input shape '%.80s' has more than %" PRId64 " values",
                        text, (int64_t)CN_INPUT_MAX_NUMEL);
    p = end;
    if (*p == 0)
      return 0;
    if (*p++ != 'x')
      break;
  }
  return cn_err_set(err, CN_EINVAL,
                    "input shape '%.80s' is not [NAME:]D1xD2x... (1 to %d "
                    "positive dimensions)",
                    text, CN_MODEL_MAX_DIMS);
}

/* Importers without open dimensions (Caffe) still check the given input
 * shapes: each must name an input and agree with it. */
static int check_input_shapes(const cn_graph_t *g, const cn_model_opts_t *o,
                              cn_err_t *err) {
  for (int i = 0; i < o->ninput_shapes; i++) {
    const cn_input_shape_t *e = &o->input_shapes[i];
    if (e->hint)
      continue;
    int id = e->name[0] ? cn_graph_find(g, e->name)
                        : (g->ninputs ? g->inputs[0] : -1);
    const cn_tensor_t *t = id >= 0 ? &g->tensors[id] : NULL;
    if (!t || !(t->flags & CN_TENSOR_INPUT))
      return cn_err_set(err, CN_EINVAL, "%s: no input named '%s'", g->source,
                        e->name);
    int same = t->ndim == e->ndim;
    for (int k = 0; same && k < t->ndim; k++)
      same = t->dims[k] == e->dims[k];
    if (!same) {
      char s[96];
      cn__graph_shape_str(t, s, sizeof s);
      return cn_err_set(err, CN_EINVAL,
                        "%s: input %s is %s, the given shape differs",
                        g->source, t->name, s);
    }
  }
  return 0;
}

/* The tensors asked for instead of the graph's outputs (opts->outputs). */
static int set_outputs(cn_graph_t *g, const char *path,
                       const cn_model_opts_t *opts, cn_err_t *err) {
  int *ids = malloc(sizeof(int) * (size_t)opts->noutputs);
  if (!ids)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  for (int i = 0; i < opts->noutputs; i++) {
    ids[i] = opts->outputs[i] ? cn_graph_find(g, opts->outputs[i]) : -1;
    if (ids[i] < 0) {
      free(ids);
      return cn_err_set(err, CN_EINVAL, "%s: no tensor named '%s'", path,
                        opts->outputs[i] ? opts->outputs[i] : "(null)");
    }
  }
  int r = cn_graph_set_outputs(g, ids, opts->noutputs);
  free(ids);
  if (r < 0 || (r = cn_graph_finalize(g, err)) < 0) {
    if (r == CN_ENOMEM)
      cn_err_set(err, r, "%s: out of memory", path);
  }
  return r;
}

int cn_model_load(cn_model_t **out, const char *path,
                  const cn_model_opts_t *opts, cn_err_t *err) {
  *out = NULL;
  cn_model_opts_t def;
  if (!opts) {
    cn_model_opts_default(&def);
    opts = &def;
  }
  if (!path)
    return cn_err_set(err, CN_EINVAL, "model: no path");
  const cn_engine_ops_t *ops = pick_backend(opts->backend);
  if (!ops)
    return cn_err_set(err, CN_EUNSUPPORTED, "%s: backend '%s' is not available",
                      path, opts->backend);
  if (opts->noutputs < 0 || (opts->noutputs > 0 && !opts->outputs))
    return cn_err_set(err, CN_EINVAL, "%s: bad output list", path);
  if (opts->ninput_shapes < 0 || (opts->ninput_shapes && !opts->input_shapes))
    return cn_err_set(err, CN_EINVAL, "%s: bad input shape list", path);
  cn_model_t *m = calloc(1, sizeof *m);
  if (!m)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  int r = import(path, opts, &m->g, err);
  if (r < 0 || (r = check_input_shapes(m->g, opts, err)) < 0)
    goto fail;
  if (opts->noutputs > 0 && (r = set_outputs(m->g, path, opts, err)) < 0)
    goto fail;
  if ((r = cn__load_interrupted(&opts->interrupt, path, err)) < 0 ||
      (opts->optimize && (r = cn_graph_optimize(m->g, CN_OPT_ALL, err)) < 0))
    goto fail;
  m->flops = cn_graph_flops(m->g);
  m->params = cn_graph_params(m->g);
  if (describe(m->g, m->g->inputs, m->g->ninputs, &m->in) < 0 ||
      describe(m->g, m->g->outputs, m->g->noutputs, &m->out) < 0) {
    r = cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
    goto fail;
  }
  m->nin = m->g->ninputs;
  m->nout = m->g->noutputs;
  cn_engine_opts_t eo = {.threads = opts->threads,
                         .interrupt = &opts->interrupt};
  if ((r = cn__load_interrupted(&opts->interrupt, path, err)) < 0 ||
      (r = ops->prepare(m->g, &eo, &m->state, err)) < 0)
    goto fail;
  m->ops = ops;
  if (pthread_mutex_init(&m->lock, NULL) != 0) {
    ops->destroy(m->state);
    m->ops = NULL;
    r = cn_err_set(err, CN_ENOMEM, "%s: cannot create a lock", path);
    goto fail;
  }
  warn_reference(m, path, opts->log);
  *out = m;
  return 0;
fail:
  cn__err_clean(err);
  cn_graph_destroy(m->g);
  free(m->in);
  free(m->out);
  free(m);
  return r;
}

void cn_model_free(cn_model_t *m) {
  if (!m)
    return;
  if (m->ops) {
    m->ops->destroy(m->state);
    pthread_mutex_destroy(&m->lock);
  }
  cn_graph_destroy(m->g);
  free(m->in);
  free(m->out);
  free(m);
}

int cn_model_num_inputs(const cn_model_t *m) { return m->nin; }
int cn_model_num_outputs(const cn_model_t *m) { return m->nout; }

const cn_tensor_desc_t *cn_model_input(const cn_model_t *m, int i) {
  return i >= 0 && i < m->nin ? &m->in[i] : NULL;
}

const cn_tensor_desc_t *cn_model_output(const cn_model_t *m, int i) {
  return i >= 0 && i < m->nout ? &m->out[i] : NULL;
}

static int find(const cn_tensor_desc_t *d, int n, const char *name) {
  for (int i = 0; name && i < n; i++)
    if (!strcmp(d[i].name, name))
      return i;
  return -1;
}

int cn_model_find_input(const cn_model_t *m, const char *name) {
  return find(m->in, m->nin, name);
}

int cn_model_find_output(const cn_model_t *m, const char *name) {
  return find(m->out, m->nout, name);
}

int cn_model_run(cn_model_t *m, const float *const *inputs,
                 float *const *outputs, cn_err_t *err) {
  if (!m || (!inputs && m->nin) || (!outputs && m->nout))
    return cn_err_set(err, CN_EINVAL, "model: run without buffers");
  pthread_mutex_lock(&m->lock);
  int r = m->ops->run(m->state, inputs, outputs, err);
  pthread_mutex_unlock(&m->lock);
  return r;
}

const char *cn_model_metadata(const cn_model_t *m, int i, const char **key) {
  if (i < 0 || i >= m->g->nmeta)
    return NULL;
  if (key)
    *key = m->g->meta[2 * i];
  return m->g->meta[2 * i + 1];
}

const char *cn_model_find_metadata(const cn_model_t *m, const char *key) {
  for (int i = 0; key && i < m->g->nmeta; i++)
    if (!strcmp(m->g->meta[2 * i], key))
      return m->g->meta[2 * i + 1];
  return NULL;
}

const char *cn_model_backend(const cn_model_t *m) { return m->ops->name; }
const struct cn_graph *cn_model_graph(const cn_model_t *m) { return m->g; }
double cn_model_flops(const cn_model_t *m) { return m->flops; }
int64_t cn_model_params(const cn_model_t *m) { return m->params; }

int cn_model_steps(const cn_model_t *m, const cn_engine_step_t **steps) {
  *steps = NULL;
  return m->ops->steps ? m->ops->steps(m->state, steps) : 0;
}

int cn_model_run_timed(cn_model_t *m, const float *const *inputs,
                       float *const *outputs, int64_t *step_ns, cn_err_t *err) {
  if (!m->ops->run_timed)
    return cn_err_set(err, CN_EUNSUPPORTED,
                      "model: backend %s has no per-step timing", m->ops->name);
  pthread_mutex_lock(&m->lock);
  int r = m->ops->run_timed(m->state, inputs, outputs, step_ns, err);
  pthread_mutex_unlock(&m->lock);
  return r;
}
