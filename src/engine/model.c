#include "camnet/model.h"
#include "engine/model_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/caffe/caffe_import.h"
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
    return cn_onnx_load(path, g, err);
  if (!strcmp(fmt, "caffe")) {
    const char *proto = path, *weights = o->weights;
    if (ends_with(path, ".caffemodel") || o->prototxt) {
      proto = o->prototxt;
      weights = path;
    }
    if (!proto)
      return cn_err_set(err, CN_EINVAL, "%s: a Caffe model needs its .prototxt",
                        path);
    return cn_caffe_load(proto, weights, g, err);
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
  }
  *out = d;
  return 0;
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
  cn_model_t *m = calloc(1, sizeof *m);
  if (!m)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  int r = import(path, opts, &m->g, err);
  if (r < 0)
    goto fail;
  if (opts->noutputs > 0) {
    int *ids = malloc(sizeof(int) * (size_t)opts->noutputs);
    if (!ids) {
      r = cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
      goto fail;
    }
    for (int i = 0; i < opts->noutputs; i++) {
      ids[i] = opts->outputs[i] ? cn_graph_find(m->g, opts->outputs[i]) : -1;
      if (ids[i] < 0) {
        r = cn_err_set(err, CN_EINVAL, "%s: no tensor named '%s'", path,
                       opts->outputs[i] ? opts->outputs[i] : "(null)");
        free(ids);
        goto fail;
      }
    }
    r = cn_graph_set_outputs(m->g, ids, opts->noutputs);
    free(ids);
    if (r < 0 || (r = cn_graph_finalize(m->g, err)) < 0) {
      if (r == CN_ENOMEM)
        cn_err_set(err, r, "%s: out of memory", path);
      goto fail;
    }
  }
  if (opts->optimize && (r = cn_graph_optimize(m->g, CN_OPT_ALL, err)) < 0)
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
  cn_engine_opts_t eo = {.threads = opts->threads};
  if ((r = ops->prepare(m->g, &eo, &m->state, err)) < 0)
    goto fail;
  m->ops = ops;
  if (pthread_mutex_init(&m->lock, NULL) != 0) {
    ops->destroy(m->state);
    m->ops = NULL;
    r = cn_err_set(err, CN_ENOMEM, "%s: cannot create a lock", path);
    goto fail;
  }
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

const char *cn_model_backend(const cn_model_t *m) { return m->ops->name; }
const struct cn_graph *cn_model_graph(const cn_model_t *m) { return m->g; }
double cn_model_flops(const cn_model_t *m) { return m->flops; }
int64_t cn_model_params(const cn_model_t *m) { return m->params; }
