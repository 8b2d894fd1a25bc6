/* The reference backend: every node by a plain loop kernel, every tensor in
 * its own dense buffer (no reuse, no layouts). It is the oracle the oneDNN
 * executor is compared with, so it favours obviousness over speed. */
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ref/ref.h"

static cn__ref_kernel_fn kernel_of(cn_op_t op) {
  const cn_op_info_t *oi = cn_op_info(op);
  return oi ? oi->ref : NULL;
}

size_t cn_ref_node_scratch(const cn_graph_t *g, int node) {
  const cn_node_t *n = &g->nodes[node];
  const cn_op_info_t *oi = cn_op_info(n->op);
  return oi && oi->ref_scratch ? oi->ref_scratch(g, n) : 0;
}

#define CN__REF_MAX_IO 64

static int run_node(const cn_graph_t *g, int node, const float **in,
                    float *const *out, void *scratch, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[node];
  cn__ref_kernel_fn fn = kernel_of(n->op);
  if (!fn)
    return cn_err_set(err, CN_EUNSUPPORTED,
                      "ref: node %d (%s): op %s has no kernel", node, n->name,
                      cn_op_name(n->op));
  for (int i = 0; i < n->ninputs; i++)
    if (!in[i] && n->inputs[i] >= 0)
      in[i] = g->tensors[n->inputs[i]].data;
  return fn(g, n, in, out, scratch, err);
}

int cn_ref_node_run(const cn_graph_t *g, int node, const float *const *in,
                    float *const *out, void *scratch, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[node];
  const float *local[CN__REF_MAX_IO];
  const float **ins = local;
  if (n->ninputs > CN__REF_MAX_IO) {
    ins = malloc(sizeof *ins * (size_t)n->ninputs);
    if (!ins)
      return cn_err_set(err, CN_ENOMEM, "ref: out of memory");
  }
  for (int i = 0; i < n->ninputs; i++)
    ins[i] = in[i];
  int r = run_node(g, node, ins, out, scratch, err);
  if (ins != local)
    free(ins);
  return r;
}

typedef struct ref_state {
  const cn_graph_t *g;
  float **buf;        /* per tensor: data pointer while running */
  unsigned char *mem; /* one block for every computed tensor */
  void *scratch;
  const float **ins; /* per node input pointers, laid out by node */
  int *in_off;       /* node -> offset into ins */
  float **outs;
  int *out_off;
} ref_state_t;

static void ref_destroy(void *st) {
  ref_state_t *s = st;
  if (!s)
    return;
  free(s->buf);
  free(s->mem);
  free(s->scratch);
  free(s->ins);
  free(s->in_off);
  free(s->outs);
  free(s->out_off);
  free(s);
}

static int ref_prepare(const cn_graph_t *g, const cn_engine_opts_t *opts,
                       void **out, cn_err_t *err) {
  (void)opts;
  *out = NULL;
  ref_state_t *s = calloc(1, sizeof *s);
  if (!s)
    return cn_err_set(err, CN_ENOMEM, "ref: out of memory");
  s->g = g;
  size_t nt = (size_t)(g->ntensors ? g->ntensors : 1);
  size_t nn = (size_t)(g->nnodes ? g->nnodes : 1);
  s->buf = calloc(nt, sizeof *s->buf);
  s->in_off = calloc(nn, sizeof *s->in_off);
  s->out_off = calloc(nn, sizeof *s->out_off);
  if (!s->buf || !s->in_off || !s->out_off)
    goto oom;
  size_t total = 0, scratch = 0;
  int nin = 0, nout = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const cn_node_t *n = &g->nodes[i];
    if (!kernel_of(n->op)) {
      ref_destroy(s);
      return cn_err_set(err, CN_EUNSUPPORTED,
                        "ref: node %d (%s): op %s has no kernel", i, n->name,
                        cn_op_name(n->op));
    }
    s->in_off[i] = nin;
    s->out_off[i] = nout;
    nin += n->ninputs;
    nout += n->noutputs;
    for (int k = 0; k < n->noutputs; k++)
      total +=
          ((size_t)cn_tensor_numel(&g->tensors[n->outputs[k]]) * sizeof(float) +
           63) &
          ~(size_t)63;
    size_t sc = cn_ref_node_scratch(g, i);
    scratch = sc > scratch ? sc : scratch;
  }
  s->mem = malloc(total ? total : 1);
  s->scratch = scratch ? malloc(scratch) : NULL;
  s->ins = calloc((size_t)(nin ? nin : 1), sizeof *s->ins);
  s->outs = calloc((size_t)(nout ? nout : 1), sizeof *s->outs);
  if (!s->mem || (scratch && !s->scratch) || !s->ins || !s->outs)
    goto oom;
  size_t off = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const cn_node_t *n = &g->nodes[i];
    for (int k = 0; k < n->noutputs; k++) {
      const cn_tensor_t *t = &g->tensors[n->outputs[k]];
      s->buf[n->outputs[k]] = (float *)(void *)(s->mem + off);
      off += ((size_t)cn_tensor_numel(t) * sizeof(float) + 63) & ~(size_t)63;
    }
  }
  for (int t = 0; t < g->ntensors; t++)
    if (g->tensors[t].flags & CN_TENSOR_CONST)
      s->buf[t] = g->tensors[t].data;
  *out = s;
  return 0;
oom:
  ref_destroy(s);
  return cn_err_set(err, CN_ENOMEM, "ref: out of memory");
}

static int ref_run(void *st, const float *const *inputs, float *const *outputs,
                   cn_err_t *err) {
  ref_state_t *s = st;
  const cn_graph_t *g = s->g;
  for (int i = 0; i < g->ninputs; i++)
    s->buf[g->inputs[i]] = (float *)(uintptr_t)inputs[i];
  for (int i = 0; i < g->nnodes; i++) {
    const cn_node_t *n = &g->nodes[i];
    const float **ins = s->ins + s->in_off[i];
    float **outs = s->outs + s->out_off[i];
    for (int k = 0; k < n->ninputs; k++)
      ins[k] = n->inputs[k] >= 0 ? s->buf[n->inputs[k]] : NULL;
    for (int k = 0; k < n->noutputs; k++)
      outs[k] = s->buf[n->outputs[k]];
    int r = run_node(g, i, ins, outs, s->scratch, err);
    if (r < 0)
      return r;
  }
  for (int i = 0; i < g->noutputs; i++) {
    const cn_tensor_t *t = &g->tensors[g->outputs[i]];
    int64_t numel = cn_tensor_numel(t);
    if (numel)
      memmove(outputs[i], s->buf[g->outputs[i]], (size_t)numel * sizeof(float));
  }
  return 0;
}

const cn_engine_ops_t cn_engine_ref = {
    .name = "ref",
    .prepare = ref_prepare,
    .run = ref_run,
    .destroy = ref_destroy,
};
