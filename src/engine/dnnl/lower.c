/* Lowering of graph nodes to oneDNN primitives (see dnnl_internal.h).
 *
 * Layout policy: compute-heavy primitives (convolution, deconvolution,
 * inner product weights) get dnnl_format_tag_any and oneDNN picks; every
 * other primitive is handed its producer's actual descriptor, so layouts
 * flow through the graph without reorders. A reorder ("conversion") is
 * made only where a consumer cannot take the layout it is given: the graph
 * input, the plain buffers of a reference-kernel fallback, and the graph
 * outputs. Conversions are cached per tensor and layout.
 *
 * A lowering function returns 0, a negative CN_E*, or FALLBACK when oneDNN
 * cannot do the node; the node then runs on the reference kernel.
 */
#include <float.h>
#include <math.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dnnl/dnnl_internal.h"

#define FALLBACK 1

static const cn_tensor_t *tens(const cn__dnnl_t *s, int id) {
  return &s->g->tensors[id];
}

static int nerr(const cn__dnnl_t *s, int node, cn_err_t *err, int code,
                const char *what, int status) {
  const cn_node_t *n = &s->g->nodes[node];
  return cn_err_set(err, code, "dnnl: node %d (%s): %s (oneDNN status %d)",
                    node, n->name ? n->name : cn_op_name(n->op), what, status);
}

static void md_tensor_plain(const cn__dnnl_t *s, int t,
                            dnnl_memory_desc_t *md) {
  const cn_tensor_t *tt = tens(s, t);
  cn__dnnl_md_plain(md, tt->ndim, tt->dims);
}

static void md_any(dnnl_memory_desc_t *md, int ndim, const int64_t *dims) {
  dnnl_dims_t d;
  for (int i = 0; i < ndim; i++)
    d[i] = dims[i];
  dnnl_memory_desc_init_by_tag(md, ndim, d, dnnl_f32, dnnl_format_tag_any);
}

static void md_tag(dnnl_memory_desc_t *md, int ndim, const dnnl_dim_t *dims,
                   dnnl_format_tag_t tag) {
  dnnl_dims_t d;
  for (int i = 0; i < ndim; i++)
    d[i] = dims[i];
  dnnl_memory_desc_init_by_tag(md, ndim, d, dnnl_f32, tag);
}

static int is_const(const cn__dnnl_t *s, int t) {
  return (tens(s, t)->flags & CN_TENSOR_CONST) != 0;
}

/* Executes a reorder once, now (weights at load). */
static int reorder_now(cn__dnnl_t *s, dnnl_memory_t from, dnnl_memory_t to) {
  const dnnl_memory_desc_t *a, *b;
  dnnl_memory_get_memory_desc(from, &a);
  dnnl_memory_get_memory_desc(to, &b);
  dnnl_primitive_desc_t pd;
  dnnl_status_t st =
      dnnl_reorder_primitive_desc_create(&pd, a, s->eng, b, s->eng, NULL);
  if (st != dnnl_success)
    return st;
  dnnl_primitive_t p;
  st = dnnl_primitive_create(&p, pd);
  dnnl_primitive_desc_destroy(pd);
  if (st != dnnl_success)
    return st;
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  st = dnnl_primitive_execute(p, s->strm, 2, args);
  if (st == dnnl_success)
    st = dnnl_stream_wait(s->strm);
  dnnl_primitive_destroy(p);
  return st;
}

/* A constant in layout `want`, read from t->data laid out as `user`. The
 * data is used in place when the layouts agree, else reordered once into
 * memory oneDNN allocates (freed with the value). */
static int const_val(cn__dnnl_t *s, int node, int t,
                     const dnnl_memory_desc_t *user,
                     const dnnl_memory_desc_t *want, cn_err_t *err) {
  const cn_tensor_t *tt = tens(s, t);
  if (tt->dtype != CN_DT_F32 || !tt->data)
    return nerr(s, node, err, CN_EUNSUPPORTED, "constant is not float32", 0);
  if (dnnl_memory_desc_get_size(user) !=
      (size_t)cn_tensor_numel(tt) * sizeof(float))
    return nerr(s, node, err, CN_EFORMAT, "constant has the wrong size", 0);
  dnnl_memory_t um;
  dnnl_status_t st = dnnl_memory_create(&um, user, s->eng, tt->data);
  if (st != dnnl_success)
    return nerr(s, node, err, CN_EINTERNAL, "memory for a constant", st);
  dnnl_memory_t m = um;
  /* Weights used in place from an ONNX file image are only 4-byte
   * aligned: kernels read them every run, so give them a 64-byte home. */
  if (!dnnl_memory_desc_equal(user, want) || ((uintptr_t)tt->data & 63)) {
    st = dnnl_memory_create(&m, want, s->eng, DNNL_MEMORY_ALLOCATE);
    if (st == dnnl_success) {
      st = reorder_now(s, um, m);
      if (st != dnnl_success)
        dnnl_memory_destroy(m);
    }
    dnnl_memory_destroy(um);
    if (st != dnnl_success)
      return nerr(s, node, err, CN_EINTERNAL, "reordering weights", st);
  }
  int v = cn__dnnl_new_val(s, -1, want, -1, 0);
  if (v < 0) {
    dnnl_memory_destroy(m);
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  s->vals[v].mem = m;
  s->vals[v].dense = 1;
  return v;
}

/* Conv/IP weights in layout `want`: the reorder is deferred so that all
 * of them land in one mapping made once their total size is known. */
static int weights_val(cn__dnnl_t *s, int node, int t,
                       const dnnl_memory_desc_t *user,
                       const dnnl_memory_desc_t *want, cn_err_t *err) {
  const cn_tensor_t *tt = tens(s, t);
  if (dnnl_memory_desc_equal(user, want))
    return const_val(s, node, t, user, want, err);
  if (tt->dtype != CN_DT_F32 || !tt->data)
    return nerr(s, node, err, CN_EUNSUPPORTED, "weights are not float32", 0);
  if (dnnl_memory_desc_get_size(user) !=
      (size_t)cn_tensor_numel(tt) * sizeof(float))
    return nerr(s, node, err, CN_EFORMAT, "weights have the wrong size", 0);
  if (s->npend == s->cpend) {
    int c = s->cpend ? 2 * s->cpend : 64;
    cn__dpend_t *np = realloc(s->pend, (size_t)c * sizeof(*np));
    if (!np)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    s->pend = np;
    s->cpend = c;
  }
  int v = cn__dnnl_new_val(s, -1, want, -1, 0);
  if (v < 0)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  s->vals[v].dense = 1;
  s->pend[s->npend++] = (cn__dpend_t){v, tt->data, *user};
  return v;
}

int cn__dnnl_load_weights(cn__dnnl_t *s, cn_err_t *err) {
  size_t total = 0;
  for (int k = 0; k < s->npend; k++)
    total +=
        (dnnl_memory_desc_get_size(&s->vals[s->pend[k].val].md) + 63) / 64 * 64;
  if (!total)
    return 0;
  s->wmem = cn__dnnl_map(total, &s->wmem_size);
  if (!s->wmem)
    return cn_err_set(err, CN_ENOMEM,
                      "dnnl: no memory for %zu bytes of weights", total);
  size_t off = 0;
  for (int k = 0; k < s->npend; k++) {
    int rc = cn__load_interrupted(s->intr, s->g->source, err);
    if (rc)
      return rc;
    cn__dval_t *v = &s->vals[s->pend[k].val];
    dnnl_memory_t um;
    dnnl_status_t st =
        dnnl_memory_create(&v->mem, &v->md, s->eng, (char *)s->wmem + off);
    if (st == dnnl_success) {
      st = dnnl_memory_create(&um, &s->pend[k].umd, s->eng,
                              (void *)(uintptr_t)s->pend[k].src);
      if (st == dnnl_success) {
        st = reorder_now(s, um, v->mem);
        dnnl_memory_destroy(um);
      }
    }
    if (st != dnnl_success)
      return cn_err_set(err, CN_EINTERNAL,
                        "dnnl: reordering weights (status %d)", st);
    off += (dnnl_memory_desc_get_size(&v->md) + 63) / 64 * 64;
  }
  return 0;
}

static int add_reorder(cn__dnnl_t *s, int node, int from, int to,
                       cn_err_t *err) {
  dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_reorder_primitive_desc_create(
      &pd, &s->vals[from].md, s->eng, &s->vals[to].md, s->eng, NULL);
  if (st != dnnl_success)
    return nerr(s, node, err, CN_EINTERNAL, "reorder", st);
  int ids[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, vv[2] = {from, to};
  return cn__dnnl_add_prim(s, node, "reorder", pd, 2, ids, vv, err);
}

/* A fresh store and value for tensor t (node output) in layout md. */
static int fresh_val(cn__dnnl_t *s, int t, const dnnl_memory_desc_t *md,
                     cn_err_t *err) {
  int last = t >= 0 ? s->last_use[t] : -1;
  int st =
      cn__dnnl_new_store(s, CN__ST_ARENA, dnnl_memory_desc_get_size(md), last);
  int v = st < 0 ? st : cn__dnnl_new_val(s, t, md, st, 0);
  if (v < 0)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  s->vals[v].dense = 1;
  return v;
}

/* Makes v the native value of tensor t (the first in its chain). */
static void set_native(cn__dnnl_t *s, int t, int v) {
  s->vals[v].tensor = t;
  s->vals[v].next = -1;
  s->tval[t] = v;
}

/* Tensor t in layout want (NULL: as produced). Constants come from t->data
 * (plain); activations in another layout get a cached conversion. */
static int val_for(cn__dnnl_t *s, int node, int t,
                   const dnnl_memory_desc_t *want, cn_err_t *err) {
  if (s->tval[t] < 0) {
    if (!is_const(s, t))
      return nerr(s, node, err, CN_EINTERNAL,
                  "input used before it is computed", 0);
    dnnl_memory_desc_t pm;
    md_tensor_plain(s, t, &pm);
    int v = const_val(s, node, t, &pm, &pm, err);
    if (v < 0)
      return v;
    set_native(s, t, v);
  }
  int v0 = s->tval[t];
  if (!want)
    return v0;
  for (int v = v0; v >= 0; v = s->vals[v].next)
    if (dnnl_memory_desc_equal(&s->vals[v].md, want))
      return v;
  int v;
  if (is_const(s, t)) {
    dnnl_memory_desc_t pm;
    md_tensor_plain(s, t, &pm);
    v = const_val(s, node, t, &pm, want, err);
    if (v < 0)
      return v;
  } else {
    v = fresh_val(s, t, want, err);
    if (v < 0)
      return v;
    int rc = add_reorder(s, node, v0, v, err);
    if (rc < 0)
      return rc;
    int root = cn__dnnl_root(s, s->vals[v0].store);
    if (s->stores[root].kind == CN__ST_INPUT)
      ; /* the input reorder: expected once per layout */
    else
      s->n_reorders_in_graph++;
  }
  s->vals[v].tensor = t;
  s->vals[v].next = s->vals[v0].next;
  s->vals[v0].next = v;
  return v;
}

static int val_plain(cn__dnnl_t *s, int node, int t, cn_err_t *err) {
  dnnl_memory_desc_t pm;
  md_tensor_plain(s, t, &pm);
  return val_for(s, node, t, &pm, err);
}

/* The tensor in a layout a primitive can take directly: as produced, or
 * plain when it is a strided view. */
static int val_dense(cn__dnnl_t *s, int node, int t, cn_err_t *err) {
  int v = val_for(s, node, t, NULL, err);
  if (v < 0 || s->vals[v].dense)
    return v;
  return val_plain(s, node, t, err);
}

/* A view of value v's bytes with another descriptor, as tensor t's native
 * value. The store now also holds t, so it lives as long as t is read. */
static int add_view(cn__dnnl_t *s, int t, int v, const dnnl_memory_desc_t *md,
                    int dense, cn_err_t *err) {
  int nv = cn__dnnl_new_val(s, t, md, s->vals[v].store, s->vals[v].off);
  if (nv < 0)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  if (s->vals[v].store < 0) { /* a constant: share its memory's data */
    void *h = NULL;
    dnnl_memory_get_data_handle(s->vals[v].mem, &h);
    dnnl_status_t st = dnnl_memory_create(&s->vals[nv].mem, md, s->eng, h);
    if (st != dnnl_success)
      return cn_err_set(err, CN_EINTERNAL,
                        "dnnl: view of a constant (status %d)", st);
  } else {
    cn__dnnl_touch(s, s->vals[v].store, s->last_use[t]);
  }
  s->vals[nv].dense = dense;
  set_native(s, t, nv);
  return nv;
}

/* Tensor `in` seen with dims (ndim, dims) through a oneDNN reshape of its
 * layout; when the layout cannot express it (NHWC flattened), of its plain
 * conversion. Returns a value whose md has those dims (not registered). */
static int reshaped(cn__dnnl_t *s, int node, int in, int ndim,
                    const int64_t *dims, dnnl_memory_desc_t *md,
                    cn_err_t *err) {
  dnnl_dims_t d;
  for (int i = 0; i < ndim; i++)
    d[i] = dims[i];
  int v = val_dense(s, node, in, err);
  if (v < 0)
    return v;
  if (dnnl_memory_desc_reshape(md, &s->vals[v].md, ndim, d) == dnnl_success)
    return v;
  v = val_plain(s, node, in, err);
  if (v < 0)
    return v;
  if (dnnl_memory_desc_reshape(md, &s->vals[v].md, ndim, d) != dnnl_success)
    return nerr(s, node, err, CN_EINTERNAL, "reshape of a plain layout", 0);
  return v;
}

/* ---- activations and post-ops ------------------------------------------ */

typedef struct {
  int n;
  dnnl_alg_kind_t alg[2];
  float a[2], b[2];
} elt_seq_t;

/* Activations that are one oneDNN algorithm without parameters; 0 for the
 * others. */
static dnnl_alg_kind_t act_plain_alg(cn_act_t k) {
  static const struct {
    cn_act_t act;
    dnnl_alg_kind_t alg;
  } tab[] = {
      {CN_ACT_SIGMOID, dnnl_eltwise_logistic},
      {CN_ACT_TANH, dnnl_eltwise_tanh},
      {CN_ACT_HARDSWISH, dnnl_eltwise_hardswish},
      {CN_ACT_SOFTPLUS, dnnl_eltwise_soft_relu},
      {CN_ACT_ABS, dnnl_eltwise_abs},
      {CN_ACT_EXP, dnnl_eltwise_exp},
      {CN_ACT_LOG, dnnl_eltwise_log},
      {CN_ACT_SQRT, dnnl_eltwise_sqrt},
      {CN_ACT_MISH, dnnl_eltwise_mish},
      {CN_ACT_GELU, dnnl_eltwise_gelu_erf},
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (tab[i].act == k)
      return tab[i].alg;
  return (dnnl_alg_kind_t)0;
}

static void elt_set(elt_seq_t *q, int i, dnnl_alg_kind_t alg, float a,
                    float b) {
  q->alg[i] = alg;
  q->a[i] = a;
  q->b[i] = b;
}

static int act_seq(cn_act_t k, float alpha, float beta, elt_seq_t *q) {
  q->n = 1;
  q->a[0] = q->b[0] = 0.f;
  if ((q->alg[0] = act_plain_alg(k)) != 0)
    return 0;
  switch (k) {
  case CN_ACT_RELU:
    elt_set(q, 0, dnnl_eltwise_relu, alpha, 0.f);
    break;
  case CN_ACT_CLIP:
    elt_set(q, 0, dnnl_eltwise_clip, alpha, beta);
    break;
  case CN_ACT_HARDSIGMOID: /* 2.6 has none: clip(alpha*x+beta, 0, 1) */
    q->n = 2;
    elt_set(q, 0, dnnl_eltwise_linear, alpha, beta);
    elt_set(q, 1, dnnl_eltwise_clip, 0.f, 1.f);
    break;
  case CN_ACT_ELU:
  case CN_ACT_SWISH: /* x * sigmoid(alpha * x) */
    elt_set(q, 0, k == CN_ACT_ELU ? dnnl_eltwise_elu : dnnl_eltwise_swish,
            alpha, 0.f);
    break;
  case CN_ACT_SELU: /* gamma * elu(alpha) */
    q->n = 2;
    elt_set(q, 0, dnnl_eltwise_elu, alpha, 0.f);
    elt_set(q, 1, dnnl_eltwise_linear, beta, 0.f);
    break;
  case CN_ACT_NEG:
    elt_set(q, 0, dnnl_eltwise_linear, -1.f, 0.f);
    break;
  case CN_ACT_RECIPROCAL: /* pow: alpha * x^beta */
    elt_set(q, 0, dnnl_eltwise_pow, 1.f, -1.f);
    break;
  case CN_ACT_LINEAR:
    elt_set(q, 0, dnnl_eltwise_linear, alpha, beta);
    break;
  default:
    return FALLBACK;
  }
  return 0;
}

/* Builds the attributes (user scratchpad, post-ops). *sum_in is the node
 * input slot of the SUM operand or -1. FALLBACK for what oneDNN lacks. */
static int make_attr(const cn_postops_t *po, dnnl_primitive_attr_t *attr,
                     int *sum_in) {
  *sum_in = -1;
  if (dnnl_primitive_attr_create(attr) != dnnl_success)
    return CN_ENOMEM;
  dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
  if (!po || po->n == 0)
    return 0;
  dnnl_post_ops_t ops;
  if (dnnl_post_ops_create(&ops) != dnnl_success) {
    dnnl_primitive_attr_destroy(*attr);
    return CN_ENOMEM;
  }
  int rc = 0;
  for (int i = 0; i < po->n && rc == 0; i++) {
    const cn_postop_t *p = &po->op[i];
    if (p->kind == CN_POST_SUM) {
      if (*sum_in >= 0)
        rc = FALLBACK; /* one accumulation target per primitive */
      else {
        *sum_in = p->input;
        dnnl_post_ops_append_sum(ops, p->scale);
      }
    } else {
      elt_seq_t q;
      rc = act_seq(p->act, p->alpha, p->beta, &q);
      for (int j = 0; rc == 0 && j < q.n; j++)
        dnnl_post_ops_append_eltwise(ops, 1.f, q.alg[j], q.a[j], q.b[j]);
    }
  }
  if (rc == 0)
    dnnl_primitive_attr_set_post_ops(*attr, ops);
  dnnl_post_ops_destroy(ops);
  if (rc != 0)
    dnnl_primitive_attr_destroy(*attr);
  return rc;
}

static dnnl_primitive_attr_t plain_attr(void) {
  dnnl_primitive_attr_t a = NULL;
  if (dnnl_primitive_attr_create(&a) == dnnl_success)
    dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user);
  return a;
}

static const dnnl_memory_desc_t *qmd(const_dnnl_primitive_desc_t pd,
                                     dnnl_query_t what, int i) {
  return dnnl_primitive_desc_query_md(pd, what, i);
}

/* The destination of a primitive with a SUM post-op accumulates into what
 * it holds, so it must be the operand's memory: written in place when the
 * operand is dead after this node, else a copy of it. Returns the value
 * for output tensor y in layout dst. */
static int sum_dst(cn__dnnl_t *s, int node, int operand, int y,
                   const dnnl_memory_desc_t *dst, cn_err_t *err) {
  int sv = val_for(s, node, operand, dst, err);
  if (sv < 0)
    return sv;
  int st = s->vals[sv].store;
  int root = st >= 0 ? cn__dnnl_root(s, st) : -1;
  if (root >= 0 && s->stores[root].kind == CN__ST_ARENA &&
      s->stores[root].last_node <= node && s->vals[sv].dense) {
    int v = cn__dnnl_new_val(s, y, dst, st, s->vals[sv].off);
    if (v < 0)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    s->vals[v].dense = 1;
    cn__dnnl_touch(s, st, s->last_use[y]);
    set_native(s, y, v);
    s->n_inplace_sum++;
    return v;
  }
  int v = fresh_val(s, y, dst, err);
  if (v < 0)
    return v;
  int rc = add_reorder(s, node, sv, v, err);
  if (rc < 0)
    return rc;
  set_native(s, y, v);
  return v;
}

/* ---- convolution and deconvolution -------------------------------------- */

/* A convolution's descriptors and geometry, as oneDNN takes them. */
typedef struct conv_desc {
  int deconv, bias;
  dnnl_memory_desc_t src, wany, wuser, bmd, dst;
  dnnl_dims_t strides, dil, pl, pr;
} conv_desc_t;

static void conv_desc(const cn__dnnl_t *s, const cn_node_t *n, int64_t G,
                      conv_desc_t *c) {
  const cn_conv_params_t *p = &n->p.conv;
  const cn_tensor_t *x = tens(s, n->inputs[0]), *y = tens(s, n->outputs[0]);
  int64_t IC = x->dims[1], OC = y->dims[1];
  int64_t KH = p->kernel[0], KW = p->kernel[1];
  memset(c, 0, sizeof *c);
  c->deconv = n->op == CN_OP_DECONV;
  c->bias = n->ninputs > 2 && n->inputs[2] >= 0;
  md_any(&c->src, 4, x->dims);
  md_any(&c->dst, 4, y->dims);
  if (G == 1) {
    dnnl_dim_t wd[4] = {OC, IC, KH, KW};
    md_tag(&c->wuser, 4, wd, c->deconv ? dnnl_iohw : dnnl_oihw);
    md_tag(&c->wany, 4, wd, dnnl_format_tag_any);
  } else { /* grouped and depthwise: 5-D {G, OC/G, IC/G, KH, KW} */
    dnnl_dim_t wd[5] = {G, OC / G, IC / G, KH, KW};
    md_tag(&c->wuser, 5, wd, c->deconv ? dnnl_giohw : dnnl_goihw);
    md_tag(&c->wany, 5, wd, dnnl_format_tag_any);
  }
  int64_t bd = OC;
  if (c->bias)
    cn__dnnl_md_plain(&c->bmd, 1, &bd);
  for (int k = 0; k < 2; k++) {
    c->strides[k] = p->stride[k];
    c->dil[k] = p->dilation[k] - 1;
    c->pl[k] = p->pads[k];
    c->pr[k] = p->pads[2 + k];
  }
  if (c->deconv) { /* output_padding and rounding: pr from the output size */
    for (int k = 0; k < 2; k++) {
      int64_t ke = (p->kernel[k] - 1) * p->dilation[k] + 1;
      c->pr[k] =
          (x->dims[2 + k] - 1) * p->stride[k] + ke - c->pl[k] - y->dims[2 + k];
    }
  }
}

/* The primitive descriptor. With a residual SUM (sum_t >= 0), the
 * shortcut's own layout is tried for dst first: the sum then needs no
 * conversion. */
static dnnl_status_t conv_pd(const cn__dnnl_t *s, const conv_desc_t *c,
                             dnnl_primitive_attr_t attr, int sum_t,
                             dnnl_primitive_desc_t *pd) {
  dnnl_status_t st = dnnl_unimplemented;
  const dnnl_memory_desc_t *bmd = c->bias ? &c->bmd : NULL;
  for (int attempt = 0; attempt < 2 && st != dnnl_success; attempt++) {
    dnnl_memory_desc_t d = c->dst;
    if (attempt == 0) {
      if (sum_t < 0 || s->tval[sum_t] < 0 || !s->vals[s->tval[sum_t]].dense)
        continue;
      d = s->vals[s->tval[sum_t]].md;
    }
    union {
      dnnl_convolution_desc_t c;
      dnnl_deconvolution_desc_t d;
    } od;
    if (c->deconv)
      st = dnnl_dilated_deconvolution_forward_desc_init(
          &od.d, dnnl_forward_inference, dnnl_deconvolution_direct, &c->src,
          &c->wany, bmd, &d, c->strides, c->dil, c->pl, c->pr);
    else
      st = dnnl_dilated_convolution_forward_desc_init(
          &od.c, dnnl_forward_inference, dnnl_convolution_direct, &c->src,
          &c->wany, bmd, &d, c->strides, c->dil, c->pl, c->pr);
    if (st == dnnl_success)
      st = dnnl_primitive_desc_create(pd, &od, attr, s->eng, NULL);
  }
  return st;
}

static int lower_conv(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_conv_params_t *p = &n->p.conv;
  int xi = n->inputs[0], wi = n->inputs[1];
  int bi = n->ninputs > 2 ? n->inputs[2] : -1;
  const cn_tensor_t *x = tens(s, xi), *y = tens(s, n->outputs[0]);
  if (x->ndim != 4 || y->ndim != 4 || !is_const(s, wi) ||
      (bi >= 0 && !is_const(s, bi)))
    return FALLBACK;
  int64_t G = p->group > 0 ? p->group : 1, IC = x->dims[1], OC = y->dims[1];
  if (IC % G || OC % G)
    return FALLBACK;
  conv_desc_t c;
  conv_desc(s, n, G, &c);

  dnnl_primitive_attr_t attr;
  int sum_in;
  int rc = make_attr(&p->post, &attr, &sum_in);
  if (rc != 0)
    return rc == FALLBACK ? FALLBACK
                          : cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  int sum_t = sum_in >= 0 ? n->inputs[sum_in] : -1;
  if (sum_in >= 0 && (sum_t < 0 || is_const(s, sum_t))) {
    dnnl_primitive_attr_destroy(attr);
    return FALLBACK;
  }
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t st = conv_pd(s, &c, attr, sum_t, &pd);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success)
    return FALLBACK;

  dnnl_memory_desc_t srcmd = *qmd(pd, dnnl_query_src_md, 0);
  dnnl_memory_desc_t wmd = *qmd(pd, dnnl_query_weights_md, 0);
  dnnl_memory_desc_t dstmd = *qmd(pd, dnnl_query_dst_md, 0);
  int xv = val_for(s, i, xi, &srcmd, err);
  int wv = xv < 0 ? xv : weights_val(s, i, wi, &c.wuser, &wmd, err);
  int bv = 0;
  if (wv >= 0 && bi >= 0)
    bv = const_val(s, i, bi, &c.bmd, qmd(pd, dnnl_query_weights_md, 1), err);
  int yv = bv;
  if (bv >= 0)
    yv = sum_t >= 0 ? sum_dst(s, i, sum_t, n->outputs[0], &dstmd, err)
                    : fresh_val(s, n->outputs[0], &dstmd, err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  set_native(s, n->outputs[0], yv);
  int ids[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
  int vv[4] = {xv, wv, yv, bv};
  return cn__dnnl_add_prim(s, i, c.deconv ? "deconv" : "conv", pd,
                           bi >= 0 ? 4 : 3, ids, vv, err);
}

/* ---- pooling, LRN, softmax, eltwise ---------------------------------------
 */

static int lower_pool(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_pool_params_t *p = &n->p.pool;
  const cn_tensor_t *x = tens(s, n->inputs[0]), *y = tens(s, n->outputs[0]);
  if (x->ndim != 4 || y->ndim != 4)
    return FALLBACK;
  dnnl_dims_t k, str, dil, pl, pr;
  for (int d = 0; d < 2; d++) {
    int64_t in = x->dims[2 + d], out = y->dims[2 + d];
    if (p->global) {
      k[d] = in;
      str[d] = 1;
      dil[d] = 0;
      pl[d] = pr[d] = 0;
    } else {
      k[d] = p->kernel[d];
      str[d] = p->stride[d];
      dil[d] = p->dilation[d] > 0 ? p->dilation[d] - 1 : 0;
      pl[d] = p->pads[d];
      pr[d] = p->pads[2 + d];
    }
    /* Caffe/ONNX ceil rounding is extra bottom/right padding: take the
     * smallest right pad that yields the graph's output size, unless the
     * model's own pad already does. */
    int64_t ke = (k[d] - 1) * (dil[d] + 1) + 1;
    int64_t got = (in + pl[d] + pr[d] - ke) / str[d] + 1;
    if (got != out) {
      int64_t need = (out - 1) * str[d] + ke - in - pl[d];
      if (need < 0)
        need = 0;
      if ((in + pl[d] + need - ke) / str[d] + 1 != out)
        return FALLBACK;
      if (p->kind == CN_POOL_AVG && p->count_include_pad && need > pr[d] &&
          (p->pads[0] || p->pads[1] || p->pads[2] || p->pads[3]))
        return FALLBACK; /* oneDNN would count the extra rows as padding */
      pr[d] = need;
    }
  }
  dnnl_alg_kind_t alg = dnnl_pooling_max;
  if (p->kind == CN_POOL_AVG) {
    int explicit_pads =
        !p->global && (p->pads[0] || p->pads[1] || p->pads[2] || p->pads[3]);
    alg = p->count_include_pad && explicit_pads
              ? dnnl_pooling_avg_include_padding
              : dnnl_pooling_avg_exclude_padding;
  }
  int xv = val_dense(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_memory_desc_t dst;
  md_any(&dst, 4, y->dims);
  dnnl_pooling_v2_desc_t od;
  dnnl_status_t st = dnnl_pooling_v2_forward_desc_init(
      &od, dnnl_forward_inference, alg, &s->vals[xv].md, &dst, str, k, dil, pl,
      pr);
  dnnl_primitive_desc_t pd;
  dnnl_primitive_attr_t attr = plain_attr();
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(&pd, &od, attr, s->eng, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success)
    return FALLBACK;
  int yv = fresh_val(s, n->outputs[0], qmd(pd, dnnl_query_dst_md, 0), err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  set_native(s, n->outputs[0], yv);
  int ids[2] = {DNNL_ARG_SRC, DNNL_ARG_DST}, vv[2] = {xv, yv};
  return cn__dnnl_add_prim(s, i, "pool", pd, 2, ids, vv, err);
}

/* Shared tail: an op descriptor od on src value xv, output node's tensor 0. */
static int finish_unary(cn__dnnl_t *s, int i, const char *what, const void *od,
                        dnnl_primitive_attr_t attr, int xv, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_primitive_desc_create(&pd, od, attr, s->eng, NULL);
  if (st != dnnl_success)
    return FALLBACK;
  int yv = fresh_val(s, n->outputs[0], qmd(pd, dnnl_query_dst_md, 0), err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  set_native(s, n->outputs[0], yv);
  int ids[2] = {DNNL_ARG_SRC, DNNL_ARG_DST}, vv[2] = {xv, yv};
  return cn__dnnl_add_prim(s, i, what, pd, 2, ids, vv, err);
}

static int lower_lrn(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_lrn_params_t *p = &n->p.lrn;
  if (tens(s, n->inputs[0])->ndim != 4)
    return FALLBACK;
  int xv = val_dense(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_lrn_desc_t od;
  if (dnnl_lrn_forward_desc_init(&od, dnnl_forward_inference,
                                 p->within_channel ? dnnl_lrn_within_channel
                                                   : dnnl_lrn_across_channels,
                                 &s->vals[xv].md, p->size, p->alpha, p->beta,
                                 p->k) != dnnl_success)
    return FALLBACK;
  dnnl_primitive_attr_t attr = plain_attr();
  int rc = finish_unary(s, i, "lrn", &od, attr, xv, err);
  dnnl_primitive_attr_destroy(attr);
  return rc;
}

static int lower_softmax(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_softmax_params_t *p = &n->p.softmax;
  int xv = val_dense(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_memory_desc_t dst = s->vals[xv].md;
  dnnl_softmax_v2_desc_t od;
  if (dnnl_softmax_v2_forward_desc_init(
          &od, dnnl_forward_inference,
          p->log ? dnnl_softmax_log : dnnl_softmax_accurate, &s->vals[xv].md,
          &dst, p->axis) != dnnl_success)
    return FALLBACK;
  dnnl_primitive_attr_t attr = plain_attr();
  int rc = finish_unary(s, i, "softmax", &od, attr, xv, err);
  dnnl_primitive_attr_destroy(attr);
  return rc;
}

/* A standalone activation. Two-op sequences (hard sigmoid, SELU) run as two
 * jit eltwise steps, the second in place: oneDNN 2.6 serves an eltwise
 * with an eltwise post-op only with its slow reference kernel. */
static int lower_act(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  elt_seq_t q;
  if (act_seq(n->p.act.kind, n->p.act.alpha, n->p.act.beta, &q) != 0)
    return FALLBACK;
  int xv = val_dense(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_primitive_desc_t pd[2] = {NULL, NULL};
  for (int k = 0; k < q.n; k++) {
    dnnl_eltwise_desc_t od;
    dnnl_primitive_attr_t attr = plain_attr();
    dnnl_status_t st = dnnl_eltwise_forward_desc_init(
        &od, dnnl_forward_inference, q.alg[k], &s->vals[xv].md, q.a[k], q.b[k]);
    if (st == dnnl_success)
      st = dnnl_primitive_desc_create(&pd[k], &od, attr, s->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
      if (k)
        dnnl_primitive_desc_destroy(pd[0]);
      return FALLBACK;
    }
  }
  int yv = fresh_val(s, n->outputs[0], qmd(pd[0], dnnl_query_dst_md, 0), err);
  if (yv < 0) {
    for (int k = 0; k < q.n; k++)
      dnnl_primitive_desc_destroy(pd[k]);
    return yv;
  }
  set_native(s, n->outputs[0], yv);
  int rc = 0;
  for (int k = 0; k < q.n; k++) {
    int ids[2] = {DNNL_ARG_SRC, DNNL_ARG_DST}, vv[2] = {k ? yv : xv, yv};
    if (rc == 0)
      rc = cn__dnnl_add_prim(s, i, "eltwise", pd[k], 2, ids, vv, err);
    else
      dnnl_primitive_desc_destroy(pd[k]);
  }
  return rc;
}

/* ---- inner product ---------------------------------------------------- */

/* x's value for the inner product, and the weights' logical dims (nd of
 * them in wd). x keeps its own layout when it is [N, C, spatial...] (axis
 * 1): the weights are then seen as [OC, C, spatial...] and reordered to
 * match, so an NHWC feature map needs no flattening reorder. */
static int ip_src(cn__dnnl_t *s, int i, int64_t N, int64_t K,
                  dnnl_memory_desc_t *srcmd, int *nd, int64_t *wd,
                  cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_ip_params_t *p = &n->p.ip;
  int xi = n->inputs[0];
  const cn_tensor_t *x = tens(s, xi);
  int64_t OC = p->out_features;
  int xv;
  if (p->axis == 1 && x->ndim >= 2 && x->ndim <= 5) {
    xv = val_dense(s, i, xi, err);
    if (xv < 0)
      return xv;
    *srcmd = s->vals[xv].md;
    *nd = x->ndim;
    wd[0] = OC;
    for (int d = 1; d < *nd; d++)
      wd[d] = x->dims[d];
  } else {
    int64_t d2[2] = {N, K};
    xv = reshaped(s, i, xi, 2, d2, srcmd, err);
    if (xv < 0)
      return xv;
    *nd = 2;
    wd[0] = OC;
    wd[1] = K;
  }
  return xv;
}

/* The output value and the step. The tensor may be [N, OC, 1, 1] (Caffe):
 * its value keeps those dims and the primitive writes a 2-D view of it.
 * Owns pd. */
static int ip_output(cn__dnnl_t *s, int i, dnnl_primitive_desc_t pd, int sum_t,
                     int xv, int wv, int bv, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *y = tens(s, n->outputs[0]);
  int bi = n->ninputs > 2 ? n->inputs[2] : -1;
  dnnl_memory_desc_t dstmd = *qmd(pd, dnnl_query_dst_md, 0);
  int yv = bv;
  if (bv >= 0 && xv >= 0) {
    /* the tensor may be [N, OC, 1, 1] (Caffe): keep its dims in the value */
    dnnl_memory_desc_t ymd = dstmd;
    if (y->ndim != 2) {
      dnnl_dims_t yd;
      for (int d = 0; d < y->ndim; d++)
        yd[d] = y->dims[d];
      if (dnnl_memory_desc_reshape(&ymd, &dstmd, y->ndim, yd) != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return FALLBACK;
      }
    }
    if (sum_t >= 0)
      yv = sum_dst(s, i, sum_t, n->outputs[0], &dstmd, err);
    else {
      yv = fresh_val(s, n->outputs[0], &ymd, err);
      if (yv >= 0)
        set_native(s, n->outputs[0], yv);
      if (yv >= 0 && y->ndim != 2) { /* the primitive writes the 2-D view */
        int v2 = cn__dnnl_new_val(s, -1, &dstmd, s->vals[yv].store, 0);
        if (v2 < 0)
          yv = cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
        else {
          s->vals[v2].dense = 1;
          int ids[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST,
                        DNNL_ARG_BIAS};
          int vv[4] = {xv, wv, v2, bv};
          return cn__dnnl_add_prim(s, i, "ip", pd, bi >= 0 ? 4 : 3, ids, vv,
                                   err);
        }
      }
    }
  }
  if (yv < 0 || xv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv < 0 ? yv : xv;
  }
  int ids[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
  int vv[4] = {xv, wv, yv, bv};
  return cn__dnnl_add_prim(s, i, "ip", pd, bi >= 0 ? 4 : 3, ids, vv, err);
}

static int lower_ip(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_ip_params_t *p = &n->p.ip;
  int xi = n->inputs[0], wi = n->inputs[1];
  int bi = n->ninputs > 2 ? n->inputs[2] : -1;
  const cn_tensor_t *x = tens(s, xi), *y = tens(s, n->outputs[0]);
  if (!is_const(s, wi) || (bi >= 0 && !is_const(s, bi)) || p->axis < 1 ||
      p->axis > x->ndim)
    return FALLBACK;
  int64_t N = 1, K = 1, OC = p->out_features;
  for (int d = 0; d < x->ndim; d++)
    *(d < p->axis ? &N : &K) *= x->dims[d];
  if (N * OC != cn_tensor_numel(y))
    return FALLBACK;

  int xv, nd;
  dnnl_memory_desc_t srcmd, wuser;
  int64_t wd[5] = {0};
  xv = ip_src(s, i, N, K, &srcmd, &nd, wd, err);
  if (xv < 0)
    return xv;
  cn__dnnl_md_plain(&wuser, nd, wd);
  dnnl_memory_desc_t wany, bmd, dst;
  md_any(&wany, nd, wd);
  int64_t bd = OC, dd[2] = {N, OC};
  if (bi >= 0)
    cn__dnnl_md_plain(&bmd, 1, &bd);
  md_any(&dst, 2, dd);

  dnnl_primitive_attr_t attr;
  int sum_in;
  int rc = make_attr(&p->post, &attr, &sum_in);
  if (rc != 0)
    return rc == FALLBACK ? FALLBACK
                          : cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  int sum_t = sum_in >= 0 ? n->inputs[sum_in] : -1;
  if (sum_in >= 0 && (sum_t < 0 || is_const(s, sum_t) || y->ndim != 2)) {
    dnnl_primitive_attr_destroy(attr);
    return FALLBACK;
  }
  dnnl_inner_product_desc_t od;
  dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_inner_product_forward_desc_init(
      &od, dnnl_forward_inference, &srcmd, &wany, bi >= 0 ? &bmd : NULL, &dst);
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(&pd, &od, attr, s->eng, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success)
    return FALLBACK;
  if (!dnnl_memory_desc_equal(qmd(pd, dnnl_query_src_md, 0), &srcmd)) {
    /* took another layout than given: convert x as the primitive wants */
    if (p->axis == 1 && x->ndim >= 2 && x->ndim <= 5) {
      xv = val_for(s, i, xi, qmd(pd, dnnl_query_src_md, 0), err);
    } else {
      dnnl_primitive_desc_destroy(pd);
      return FALLBACK;
    }
  }
  dnnl_memory_desc_t wmd = *qmd(pd, dnnl_query_weights_md, 0);
  int wv = xv < 0 ? xv : weights_val(s, i, wi, &wuser, &wmd, err);
  int bv = 0;
  if (wv >= 0 && bi >= 0)
    bv = const_val(s, i, bi, &bmd, qmd(pd, dnnl_query_weights_md, 1), err);
  return ip_output(s, i, pd, sum_t, xv, wv, bv, err);
}

/* ---- concat ----------------------------------------------------------- */

/* The layout of proto (a plain permutation such as NHWC) for tensor t's
 * dims. 0 when proto is blocked or of another rank. */
static int md_like(const dnnl_memory_desc_t *proto, const cn_tensor_t *t,
                   dnnl_memory_desc_t *out) {
  if (proto->format_kind != dnnl_blocked ||
      proto->format_desc.blocking.inner_nblks != 0 || proto->ndims != t->ndim ||
      proto->offset0 != 0)
    return 0;
  int nd = t->ndim, order[CN_MAX_DIMS];
  for (int i = 0; i < nd; i++)
    order[i] = i;
  const dnnl_dim_t *ps = proto->format_desc.blocking.strides;
  for (int i = 0; i < nd; i++) /* outermost first; ties keep logical order */
    for (int j = i + 1; j < nd; j++)
      if (ps[order[j]] > ps[order[i]] ||
          (ps[order[j]] == ps[order[i]] && order[j] < order[i])) {
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
      }
  dnnl_dims_t d, st;
  dnnl_dim_t acc = 1;
  for (int i = nd - 1; i >= 0; i--) {
    st[order[i]] = acc;
    acc *= t->dims[order[i]];
  }
  for (int i = 0; i < nd; i++)
    d[i] = t->dims[i];
  return dnnl_memory_desc_init_by_strides(out, nd, d, dnnl_f32, st) ==
         dnnl_success;
}

/* Can input value v be written in place as the slice of the concat output
 * (layout D) that sub describes? Only when its bytes are exactly a
 * contiguous block of the output: the descriptors agree once the offset
 * and the strides of size-1 dims are ignored (N=1 with a channel-outer
 * layout, or a concat over the outermost dim). NHWC channel concat never
 * qualifies: there a slice is strided. */
static int concat_inplace_ok(const cn__dnnl_t *s, int v,
                             const dnnl_memory_desc_t *sub) {
  const cn__dval_t *val = &s->vals[v];
  if (val->store < 0 || !val->dense || val->off != 0)
    return 0;
  const cn__dstore_t *st = &s->stores[val->store];
  if (st->kind != CN__ST_ARENA || st->parent >= 0 ||
      st->size != dnnl_memory_desc_get_size(&val->md))
    return 0;
  if (sub->format_kind != dnnl_blocked || val->md.format_kind != dnnl_blocked)
    return 0;
  dnnl_memory_desc_t a = *sub;
  a.offset0 = 0;
  for (int d = 0; d < a.ndims; d++) {
    a.padded_offsets[d] = 0;
    if (a.dims[d] == 1)
      a.format_desc.blocking.strides[d] =
          val->md.format_desc.blocking.strides[d];
  }
  return dnnl_memory_desc_equal(&a, &val->md);
}

/* Runs a concat of load-time constants once; its output is a constant. */
static int concat_now(cn__dnnl_t *s, int i, dnnl_primitive_desc_t pd, int nin,
                      const int *iv, const dnnl_memory_desc_t *D,
                      cn_err_t *err) {
  dnnl_primitive_t p = NULL;
  dnnl_memory_t m = NULL, sp = NULL;
  dnnl_exec_arg_t *args = calloc((size_t)nin + 2, sizeof(*args));
  const dnnl_memory_desc_t *spmd = qmd(pd, dnnl_query_scratchpad_md, 0);
  dnnl_status_t st = args ? dnnl_primitive_create(&p, pd) : dnnl_out_of_memory;
  if (st == dnnl_success)
    st = dnnl_memory_create(&m, D, s->eng, DNNL_MEMORY_ALLOCATE);
  int na = 0;
  if (st == dnnl_success) {
    for (int k = 0; k < nin; k++)
      args[na++] =
          (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + k, s->vals[iv[k]].mem};
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_DST, m};
    if (spmd && dnnl_memory_desc_get_size(spmd)) {
      st = dnnl_memory_create(&sp, spmd, s->eng, DNNL_MEMORY_ALLOCATE);
      args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sp};
    }
  }
  if (st == dnnl_success)
    st = dnnl_primitive_execute(p, s->strm, na, args);
  if (st == dnnl_success)
    st = dnnl_stream_wait(s->strm);
  free(args);
  if (sp)
    dnnl_memory_destroy(sp);
  if (p)
    dnnl_primitive_destroy(p);
  dnnl_primitive_desc_destroy(pd);
  int v = st == dnnl_success
              ? cn__dnnl_new_val(s, s->g->nodes[i].outputs[0], D, -1, 0)
              : -1;
  if (v < 0) {
    if (m)
      dnnl_memory_destroy(m);
    return nerr(s, i, err, CN_EINTERNAL, "concat of constants", st);
  }
  s->vals[v].mem = m;
  s->vals[v].dense = 1;
  set_native(s, s->g->nodes[i].outputs[0], v);
  return 0;
}

/* The concat's input values, all in one layout: the first activation's.
 * Constants (the zero channels BlazeFace appends) are reordered to it once
 * at load, since a concat of mixed layouts runs on oneDNN's reference
 * kernel. */
static int concat_inputs(cn__dnnl_t *s, int i, int *iv, dnnl_memory_desc_t *mds,
                         cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  int nin = n->ninputs, rc = 0;
  int proto = -1;
  for (int k = 0; k < nin && proto < 0; k++)
    if (!is_const(s, n->inputs[k]))
      proto = k;
  for (int k = 0; k < nin && rc >= 0; k++) {
    dnnl_memory_desc_t like;
    if (proto >= 0 && k != proto &&
        md_like(&s->vals[iv[proto]].md, tens(s, n->inputs[k]), &like))
      iv[k] = val_for(s, i, n->inputs[k], &like, err);
    else
      iv[k] = val_dense(s, i, n->inputs[k], err);
    if (iv[k] < 0)
      rc = iv[k];
    else
      mds[k] = s->vals[iv[k]].md;
    if (k ==
        proto) /* the prototype's value is now known: redo the earlier ones */
      for (int j = 0; j < k && rc >= 0; j++)
        if (md_like(&s->vals[iv[proto]].md, tens(s, n->inputs[j]), &like)) {
          iv[j] = val_for(s, i, n->inputs[j], &like, err);
          if (iv[j] < 0)
            rc = iv[j];
          else
            mds[j] = s->vals[iv[j]].md;
        }
  }
  return rc;
}

/* The slice of the concat output D that input k occupies. */
static void concat_sub(cn__dnnl_t *s, const cn_node_t *n, int k,
                       const dnnl_memory_desc_t *D, dnnl_dims_t offs,
                       dnnl_memory_desc_t *sub, dnnl_status_t *st) {
  const cn_tensor_t *x = tens(s, n->inputs[k]);
  dnnl_dims_t xd;
  for (int d = 0; d < x->ndim; d++)
    xd[d] = x->dims[d];
  *st = dnnl_memory_desc_init_submemory(sub, D, xd, offs);
  offs[n->p.axis.axis] += x->dims[n->p.axis.axis];
}

/* Which inputs can be written in place: where the producers' bytes are
 * contiguous slices of D. Returns how many. */
static int concat_inplace_plan(cn__dnnl_t *s, const cn_node_t *n, const int *iv,
                               const dnnl_memory_desc_t *D, int *inpl) {
  int nin = n->ninputs, ninpl = 0;
  dnnl_dims_t offs = {0};
  for (int k = 0; k < nin; k++) {
    dnnl_memory_desc_t sub;
    dnnl_status_t st;
    concat_sub(s, n, k, D, offs, &sub, &st);
    int ok = !is_const(s, n->inputs[k]) && st == dnnl_success &&
             concat_inplace_ok(s, iv[k], &sub);
    for (int j = 0; ok && j < nin; j++) /* a store can sit in one place only */
      if (j != k && s->vals[iv[j]].store == s->vals[iv[k]].store)
        ok = 0;
    inpl[k] = ok;
    ninpl += ok;
  }
  return ninpl;
}

/* No input in place: one concat primitive copies them all. Owns pd. */
static int concat_copy(cn__dnnl_t *s, int i, dnnl_primitive_desc_t pd,
                       const int *iv, const dnnl_memory_desc_t *D,
                       cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  int nin = n->ninputs;
  int yv = fresh_val(s, n->outputs[0], D, err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  set_native(s, n->outputs[0], yv);
  int *ids = calloc((size_t)nin + 1, sizeof(int)),
      *vv = calloc((size_t)nin + 1, sizeof(int));
  if (!ids || !vv) {
    free(ids);
    free(vv);
    dnnl_primitive_desc_destroy(pd);
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  for (int k = 0; k < nin; k++) {
    ids[k] = DNNL_ARG_MULTIPLE_SRC + k;
    vv[k] = iv[k];
  }
  ids[nin] = DNNL_ARG_DST;
  vv[nin] = yv;
  int rc = cn__dnnl_add_prim(s, i, "concat", pd, nin + 1, ids, vv, err);
  free(ids);
  free(vv);
  s->n_copy_concat++;
  return rc;
}

/* In place: the inputs marked in inpl become children of the output's
 * store at their slice; the others are reordered into theirs. */
static int concat_place(cn__dnnl_t *s, int i, const int *iv, const int *inpl,
                        const dnnl_memory_desc_t *D, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  int yv = fresh_val(s, n->outputs[0], D, err);
  if (yv < 0)
    return yv;
  set_native(s, n->outputs[0], yv);
  int cst = s->vals[yv].store, rc = 0;
  dnnl_dims_t offs = {0};
  for (int k = 0; k < n->ninputs && rc >= 0; k++) {
    dnnl_memory_desc_t sub;
    dnnl_status_t st;
    concat_sub(s, n, k, D, offs, &sub, &st);
    if (inpl[k]) {
      cn__dstore_t *child = &s->stores[s->vals[iv[k]].store];
      child->parent = cst;
      child->poff = (size_t)sub.offset0 * sizeof(float);
      cn__dnnl_touch(s, cst, child->last_node);
      s->n_inplace_concat++;
    } else { /* copy this input into its slice */
      int sv = cn__dnnl_new_val(s, -1, &sub, cst, 0);
      if (sv < 0)
        return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
      rc = add_reorder(s, i, iv[k], sv, err);
    }
  }
  return rc;
}

static int lower_concat(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *y = tens(s, n->outputs[0]);
  int axis = n->p.axis.axis, nin = n->ninputs;
  if (nin < 1 || axis < 0 || axis >= y->ndim)
    return FALLBACK;
  int *iv = calloc((size_t)nin, sizeof(int));
  dnnl_memory_desc_t *mds = calloc((size_t)nin, sizeof(*mds));
  int *inpl = calloc((size_t)nin, sizeof(int));
  int rc = 0;
  if (!iv || !mds || !inpl) {
    rc = cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    goto out;
  }
  rc = concat_inputs(s, i, iv, mds, err);
  if (rc < 0)
    goto out;
  dnnl_memory_desc_t dst;
  md_any(&dst, y->ndim, y->dims);
  dnnl_primitive_desc_t pd;
  dnnl_primitive_attr_t attr = plain_attr();
  dnnl_status_t st = dnnl_concat_primitive_desc_create(&pd, &dst, nin, axis,
                                                       mds, attr, s->eng);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success) {
    rc = FALLBACK;
    goto out;
  }
  dnnl_memory_desc_t D = *qmd(pd, dnnl_query_dst_md, 0);
  int ninpl = concat_inplace_plan(s, n, iv, &D, inpl);
  int all_const = 1;
  for (int k = 0; k < nin; k++)
    all_const &= s->vals[iv[k]].store < 0;
  if (all_const) { /* the SSD priors: concatenated once, here */
    rc = concat_now(s, i, pd, nin, iv, &D, err);
  } else if (ninpl == 0) {
    rc = concat_copy(s, i, pd, iv, &D, err);
  } else {
    dnnl_primitive_desc_destroy(pd);
    rc = concat_place(s, i, iv, inpl, &D, err);
  }
out:
  free(iv);
  free(mds);
  free(inpl);
  return rc;
}

/* ---- binary and Caffe eltwise ----------------------------------------- */

static int binary_alg(cn_binary_kind_t k, dnnl_alg_kind_t *alg, int *commutes) {
  *commutes = 0;
  switch (k) {
  case CN_BIN_ADD:
    *alg = dnnl_binary_add;
    *commutes = 1;
    return 0;
  case CN_BIN_MUL:
    *alg = dnnl_binary_mul;
    *commutes = 1;
    return 0;
  case CN_BIN_MAX:
    *alg = dnnl_binary_max;
    *commutes = 1;
    return 0;
  case CN_BIN_MIN:
    *alg = dnnl_binary_min;
    *commutes = 1;
    return 0;
  case CN_BIN_SUB:
    *alg = dnnl_binary_sub;
    return 0;
  case CN_BIN_DIV:
    *alg = dnnl_binary_div;
    return 0;
  default:
    return FALLBACK;
  }
}

/* Operand t as a value with y's rank (leading 1s), in layout `like` when
 * it has y's full shape (so src0 and src1 agree), else plain. */
static int bin_operand(cn__dnnl_t *s, int i, int t, int ndim,
                       const int64_t *ydims, const dnnl_memory_desc_t *like,
                       dnnl_memory_desc_t *md, cn_err_t *err) {
  const cn_tensor_t *x = tens(s, t);
  int64_t d[CN_MAX_DIMS];
  int lead = ndim - x->ndim, full = 1;
  for (int k = 0; k < ndim; k++) {
    d[k] = k < lead ? 1 : x->dims[k - lead];
    if (d[k] != ydims[k])
      full = 0;
  }
  if (full && like && !is_const(s, t) && x->ndim == ndim) {
    int v = val_for(s, i, t, like, err);
    if (v >= 0)
      *md = s->vals[v].md;
    return v;
  }
  return reshaped(s, i, t, ndim, d, md, err);
}

static int is_ref_pd(const_dnnl_primitive_desc_t pd) {
  const char *impl = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  return impl && !strncmp(impl, "ref", 3);
}

static dnnl_status_t binary_pd(const cn__dnnl_t *s, dnnl_alg_kind_t alg,
                               const dnnl_memory_desc_t *amd,
                               const dnnl_memory_desc_t *bmd,
                               const dnnl_memory_desc_t *ymd,
                               dnnl_primitive_desc_t *pd) {
  dnnl_binary_desc_t od;
  dnnl_status_t st = dnnl_binary_desc_init(&od, alg, amd, bmd, ymd);
  dnnl_primitive_attr_t attr = plain_attr();
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(pd, &od, attr, s->eng, NULL);
  dnnl_primitive_attr_destroy(attr);
  return st;
}

/* oneDNN 2.6 runs a broadcast src1 whose layout differs from a blocked
 * src0 (a plain [1,C,1,1] beside aBcd16b) on ref:any, 100x slower than
 * the jit kernel, and "any" for src1 does not follow src0. So src0's tag
 * is found among those convolutions choose, src1 asked in it, and
 * converted once (constants) or by a small reorder. */
static void binary_pick(const cn__dnnl_t *s, dnnl_alg_kind_t alg,
                        const dnnl_memory_desc_t *amd,
                        const dnnl_memory_desc_t *ymd,
                        dnnl_primitive_desc_t *pd, dnnl_memory_desc_t *bwant) {
  static const dnnl_format_tag_t tags[] = {
      dnnl_aBcd16b, dnnl_aBcd8b, dnnl_aBcd4b,   dnnl_acdb,    dnnl_aBc16b,
      dnnl_aBc8b,   dnnl_acb,    dnnl_aBcde16b, dnnl_aBcde8b, dnnl_acdeb};
  if (!is_ref_pd(*pd) || amd->format_kind != dnnl_blocked)
    return;
  for (size_t k = 0; k < sizeof tags / sizeof tags[0]; k++) {
    dnnl_memory_desc_t like, b2;
    if (dnnl_memory_desc_init_by_tag(&like, amd->ndims, amd->dims, dnnl_f32,
                                     tags[k]) != dnnl_success ||
        !dnnl_memory_desc_equal(&like, amd) ||
        dnnl_memory_desc_init_by_tag(&b2, bwant->ndims, bwant->dims, dnnl_f32,
                                     tags[k]) != dnnl_success)
      continue;
    dnnl_primitive_desc_t pd2;
    if (binary_pd(s, alg, amd, &b2, ymd, &pd2) != dnnl_success)
      return;
    if (is_ref_pd(pd2)) {
      dnnl_primitive_desc_destroy(pd2);
      return;
    }
    dnnl_primitive_desc_destroy(*pd);
    *pd = pd2;
    *bwant = b2;
    return;
  }
}

/* Value v's bytes seen with descriptor md (same bytes, another shape). */
static int view_as(cn__dnnl_t *s, int v, const dnnl_memory_desc_t *md,
                   cn_err_t *err) {
  int nv = cn__dnnl_new_val(s, -1, md, s->vals[v].store, s->vals[v].off);
  if (nv < 0)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  if (s->vals[v].store < 0) {
    void *h = NULL;
    dnnl_memory_get_data_handle(s->vals[v].mem, &h);
    if (dnnl_memory_create(&s->vals[nv].mem, md, s->eng, h) != dnnl_success)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  s->vals[nv].dense = 1;
  return nv;
}

/* Value v (layout of vals[v].md) converted to layout want: once now for a
 * constant, else by a reorder step before the node's own. */
static int converted(cn__dnnl_t *s, int i, int v,
                     const dnnl_memory_desc_t *want, cn_err_t *err) {
  if (s->vals[v].store >= 0) {
    int nv = fresh_val(s, -1, want, err);
    int rc = nv < 0 ? nv : add_reorder(s, i, v, nv, err);
    return rc < 0 ? rc : nv;
  }
  dnnl_memory_t m;
  dnnl_status_t st = dnnl_memory_create(&m, want, s->eng, DNNL_MEMORY_ALLOCATE);
  if (st == dnnl_success &&
      (st = reorder_now(s, s->vals[v].mem, m)) != dnnl_success)
    dnnl_memory_destroy(m);
  if (st != dnnl_success)
    return nerr(s, i, err, CN_EINTERNAL, "reordering a constant", st);
  int nv = cn__dnnl_new_val(s, -1, want, -1, 0);
  if (nv < 0) {
    dnnl_memory_destroy(m);
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  s->vals[nv].mem = m;
  s->vals[nv].dense = 1;
  return nv;
}

static int add_binary(cn__dnnl_t *s, int i, dnnl_alg_kind_t alg, int av,
                      const dnnl_memory_desc_t *amd, int bv,
                      const dnnl_memory_desc_t *bmd, int yv, cn_err_t *err) {
  dnnl_primitive_desc_t pd;
  dnnl_memory_desc_t ymd = s->vals[yv].md, bwant = *bmd;
  if (binary_pd(s, alg, amd, bmd, &ymd, &pd) != dnnl_success)
    return FALLBACK;
  binary_pick(s, alg, amd, &ymd, &pd, &bwant);
  if (is_ref_pd(pd)) { /* no jit layout ([1,C,H,1]): camnet's plain loop,
                          row by row, is still 10x faster than ref:any */
    dnnl_primitive_desc_destroy(pd);
    return FALLBACK;
  }
  /* operands seen through a reshaped descriptor need their own value */
  int ids[3] = {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST},
      vv[3] = {av, bv, yv};
  for (int k = 0; k < 2; k++) {
    const dnnl_memory_desc_t *want = k == 0 ? amd : bmd;
    if (!dnnl_memory_desc_equal(&s->vals[vv[k]].md, want))
      vv[k] = view_as(s, vv[k], want, err);
    if (vv[k] >= 0 && k == 1 && !dnnl_memory_desc_equal(bmd, &bwant))
      vv[k] = converted(s, i, vv[k], &bwant, err);
    if (vv[k] < 0) {
      dnnl_primitive_desc_destroy(pd);
      return vv[k];
    }
  }
  return cn__dnnl_add_prim(s, i, "binary", pd, 3, ids, vv, err);
}

static int lower_binary(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *y = tens(s, n->outputs[0]);
  dnnl_alg_kind_t alg;
  int commutes;
  if (binary_alg(n->p.binary, &alg, &commutes) != 0 || y->ndim == 0)
    return FALLBACK; /* 0-D: oneDNN memory descriptors have >= 1 dims */
  int a = n->inputs[0], b = n->inputs[1];
  /* src0 must have the output's shape; swap when only b has it */
  int a_full =
      cn_tensor_numel(tens(s, a)) == cn_tensor_numel(y) && !is_const(s, a);
  int b_full =
      cn_tensor_numel(tens(s, b)) == cn_tensor_numel(y) && !is_const(s, b);
  if (!a_full) {
    if (!b_full || !commutes)
      return FALLBACK;
    int t = a;
    a = b;
    b = t;
  }
  dnnl_memory_desc_t amd, bmd;
  int av = bin_operand(s, i, a, y->ndim, y->dims, NULL, &amd, err);
  if (av < 0)
    return av;
  int bv = bin_operand(s, i, b, y->ndim, y->dims, &amd, &bmd, err);
  if (bv < 0)
    return bv;
  int yv = fresh_val(s, n->outputs[0], &amd, err);
  if (yv < 0)
    return yv;
  int rc = add_binary(s, i, alg, av, &amd, bv, &bmd, yv, err);
  if (rc == 0)
    set_native(s, n->outputs[0], yv);
  return rc;
}

static int lower_eltwise(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_eltwise_params_t *p = &n->p.eltwise;
  int nin = n->ninputs;
  if (nin < 2 || nin > 64)
    return FALLBACK;
  for (int k = 0; k < nin; k++)
    if (is_const(s, n->inputs[k]) ||
        cn_tensor_numel(tens(s, n->inputs[k])) !=
            cn_tensor_numel(tens(s, n->outputs[0])))
      return FALLBACK;
  int v0 = val_dense(s, i, n->inputs[0], err);
  if (v0 < 0)
    return v0;
  dnnl_memory_desc_t md = s->vals[v0].md;
  int iv[64];
  dnnl_memory_desc_t mds[64];
  float sc[64];
  for (int k = 0; k < nin; k++) {
    iv[k] = val_for(s, i, n->inputs[k], &md, err);
    if (iv[k] < 0)
      return iv[k];
    mds[k] = md;
    sc[k] = p->kind == CN_ELT_SUM && p->coeffs ? p->coeffs[k] : 1.f;
  }
  if (p->kind == CN_ELT_SUM) {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr = plain_attr();
    dnnl_status_t st =
        dnnl_sum_primitive_desc_create(&pd, &md, nin, sc, mds, attr, s->eng);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
      return FALLBACK;
    int yv = fresh_val(s, n->outputs[0], &md, err);
    if (yv < 0) {
      dnnl_primitive_desc_destroy(pd);
      return yv;
    }
    set_native(s, n->outputs[0], yv);
    int ids[65], vv[65];
    for (int k = 0; k < nin; k++) {
      ids[k] = DNNL_ARG_MULTIPLE_SRC + k;
      vv[k] = iv[k];
    }
    ids[nin] = DNNL_ARG_DST;
    vv[nin] = yv;
    return cn__dnnl_add_prim(s, i, "sum", pd, nin + 1, ids, vv, err);
  }
  dnnl_alg_kind_t alg =
      p->kind == CN_ELT_PROD ? dnnl_binary_mul : dnnl_binary_max;
  int yv = fresh_val(s, n->outputs[0], &md, err);
  if (yv < 0)
    return yv;
  /* a chain into y: y = x0 op x1, then y = y op xk (in place on src0) */
  for (int k = 1; k < nin; k++) {
    int rc =
        add_binary(s, i, alg, k == 1 ? iv[0] : yv, &md, iv[k], &md, yv, err);
    if (rc != 0)
      return rc; /* a FALLBACK here leaves unused steps: only on k == 1 */
  }
  set_native(s, n->outputs[0], yv);
  return 0;
}

/* A constant made at load (folded BatchNorm factors): oneDNN-owned memory
 * in plain layout with dims (ndim, dims), filled from data. */
static int owned_const(cn__dnnl_t *s, int node, int ndim, const int64_t *dims,
                       const float *data, cn_err_t *err) {
  dnnl_memory_desc_t md;
  cn__dnnl_md_plain(&md, ndim, dims);
  dnnl_memory_t m;
  dnnl_status_t st = dnnl_memory_create(&m, &md, s->eng, DNNL_MEMORY_ALLOCATE);
  void *h = NULL;
  if (st == dnnl_success)
    st = dnnl_memory_get_data_handle(m, &h);
  if (st != dnnl_success)
    return nerr(s, node, err, CN_ENOMEM, "memory for a constant", st);
  memcpy(h, data, dnnl_memory_desc_get_size(&md));
  int v = cn__dnnl_new_val(s, -1, &md, -1, 0);
  if (v < 0) {
    dnnl_memory_destroy(m);
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  s->vals[v].mem = m;
  s->vals[v].dense = 1;
  return v;
}

/* BatchNorm (not folded into a convolution) and Caffe Scale: y = x*m + a
 * with per-channel constants, as a binary mul and an in-place binary add.
 * BatchNorm's m and a are computed here, once. */
static int lower_affine(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]);
  int64_t ed[CN_MAX_DIMS], len;
  int has_add;
  for (int k = 1; k < n->ninputs; k++)
    if (n->inputs[k] >= 0 && !is_const(s, n->inputs[k]))
      return FALLBACK;
  for (int d = 0; d < x->ndim; d++)
    ed[d] = 1;
  if (n->op == CN_OP_BATCHNORM) {
    if (x->ndim < 2)
      return FALLBACK;
    ed[1] = len = x->dims[1];
    has_add = 1;
  } else {
    const cn_tensor_t *sc = tens(s, n->inputs[1]);
    for (int d = 0; d < sc->ndim; d++)
      ed[n->p.scale.axis + d] = sc->dims[d];
    len = cn_tensor_numel(sc);
    has_add = n->p.scale.has_bias;
  }
  float *mul = malloc((size_t)len * sizeof(float)),
        *add = malloc((size_t)len * sizeof(float));
  if (!mul || !add) {
    free(mul);
    free(add);
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  if (n->op == CN_OP_BATCHNORM) {
    const float *g = tens(s, n->inputs[1])->data,
                *b = tens(s, n->inputs[2])->data;
    const float *mean = tens(s, n->inputs[3])->data,
                *var = tens(s, n->inputs[4])->data;
    for (int64_t c = 0; c < len; c++) {
      mul[c] = g[c] / sqrtf(var[c] + n->p.bn.eps);
      add[c] = b[c] - mean[c] * mul[c];
    }
  } else {
    memcpy(mul, tens(s, n->inputs[1])->data, (size_t)len * sizeof(float));
    if (has_add)
      memcpy(add, tens(s, n->inputs[2])->data, (size_t)len * sizeof(float));
  }
  int mv = owned_const(s, i, x->ndim, ed, mul, err);
  int av = mv >= 0 && has_add ? owned_const(s, i, x->ndim, ed, add, err) : 0;
  free(mul);
  free(add);
  if (mv < 0 || av < 0)
    return mv < 0 ? mv : av;
  int xv = val_dense(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_memory_desc_t xmd = s->vals[xv].md;
  int yv = fresh_val(s, n->outputs[0], &xmd, err);
  if (yv < 0)
    return yv;
  /* copies: add_binary may grow s->vals */
  dnnl_memory_desc_t mmd = s->vals[mv].md, amd = has_add ? s->vals[av].md : xmd;
  int rc = add_binary(s, i, dnnl_binary_mul, xv, &xmd, mv, &mmd, yv, err);
  if (rc == 0 && has_add)
    rc = add_binary(s, i, dnnl_binary_add, yv, &xmd, av, &amd, yv, err);
  if (rc == 0)
    set_native(s, n->outputs[0], yv);
  return rc; /* a FALLBACK after the first step leaves it unused: harmless */
}

static int lower_prelu(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]), *w = tens(s, n->inputs[1]);
  if (!is_const(s, n->inputs[1]) || w->ndim > x->ndim)
    return FALLBACK;
  int64_t ed[CN_MAX_DIMS];
  int lead = x->ndim - w->ndim;
  for (int d = 0; d < x->ndim; d++)
    ed[d] = d < lead ? 1 : w->dims[d - lead];
  dnnl_memory_desc_t wmd;
  cn__dnnl_md_plain(&wmd, x->ndim, ed);
  int xv = val_dense(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_prelu_desc_t od;
  dnnl_primitive_desc_t pd;
  dnnl_memory_desc_t wany;
  md_any(&wany, x->ndim, ed);
  dnnl_status_t st = dnnl_prelu_forward_desc_init(&od, dnnl_forward_inference,
                                                  &s->vals[xv].md, &wany);
  dnnl_primitive_attr_t attr = plain_attr();
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(&pd, &od, attr, s->eng, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success)
    return FALLBACK;
  int wv = const_val(s, i, n->inputs[1], &wmd,
                     qmd(pd, dnnl_query_weights_md, 0), err);
  int yv =
      wv < 0 ? wv
             : fresh_val(s, n->outputs[0], qmd(pd, dnnl_query_dst_md, 0), err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  set_native(s, n->outputs[0], yv);
  int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
      vv[3] = {xv, wv, yv};
  return cn__dnnl_add_prim(s, i, "prelu", pd, 3, ids, vv, err);
}

/* ---- views: reshape, identity, transpose, slice, split ------------------ */

static int lower_reshape(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *y = tens(s, n->outputs[0]);
  if (cn_tensor_numel(y) != cn_tensor_numel(tens(s, n->inputs[0])))
    return nerr(s, i, err, CN_EFORMAT, "reshape changes the element count", 0);
  dnnl_memory_desc_t md;
  int v = reshaped(s, i, n->inputs[0], y->ndim ? y->ndim : 1,
                   y->ndim ? y->dims : (const int64_t[]){1}, &md, err);
  if (v < 0)
    return v;
  int r = add_view(s, n->outputs[0], v, &md, 1, err);
  return r < 0 ? r : 0;
}

static int plain_equal(const cn__dnnl_t *s, int t,
                       const dnnl_memory_desc_t *md) {
  dnnl_memory_desc_t pm;
  md_tensor_plain(s, t, &pm);
  return dnnl_memory_desc_equal(&pm, md);
}

static int lower_transpose(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]);
  int v = val_dense(s, i, n->inputs[0], err);
  if (v < 0)
    return v;
  /* oneDNN: out.dims[q[k]] = in.dims[k]; Transpose: out.dims[d] =
   * in.dims[perm[d]], so q is perm's inverse. */
  int q[CN_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++)
    q[n->p.transpose.perm[d]] = d;
  dnnl_memory_desc_t md;
  if (dnnl_memory_desc_permute_axes(&md, &s->vals[v].md, q) != dnnl_success)
    return FALLBACK;
  int r = add_view(s, n->outputs[0], v, &md, plain_equal(s, n->outputs[0], &md),
                   err);
  return r < 0 ? r : 0;
}

/* Output o of node i as the block of input 0 starting at offs. */
static int sub_view(cn__dnnl_t *s, int i, int o, const int64_t *offs,
                    cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]), *y = tens(s, n->outputs[o]);
  dnnl_dims_t yd, od;
  for (int d = 0; d < x->ndim; d++) {
    yd[d] = y->dims[d];
    od[d] = offs[d];
  }
  int v = val_dense(s, i, n->inputs[0], err);
  if (v < 0)
    return v;
  dnnl_memory_desc_t md;
  if (dnnl_memory_desc_init_submemory(&md, &s->vals[v].md, yd, od) !=
      dnnl_success) {
    v = val_plain(s, i, n->inputs[0],
                  err); /* blocked layouts need aligned offsets */
    if (v < 0)
      return v;
    if (dnnl_memory_desc_init_submemory(&md, &s->vals[v].md, yd, od) !=
        dnnl_success)
      return FALLBACK;
  }
  int dense = plain_equal(s, n->outputs[o], &md) ||
              dnnl_memory_desc_equal(&md, &s->vals[v].md);
  int r = add_view(s, n->outputs[o], v, &md, dense, err);
  return r < 0 ? r : 0;
}

static int lower_slice(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]), *y = tens(s, n->outputs[0]);
  if (x->ndim != y->ndim || x->ndim == 0)
    return FALLBACK;
  for (int d = 0; d < x->ndim; d++)
    if (n->p.slice.steps[d] != 1 || n->p.slice.starts[d] < 0)
      return FALLBACK;
  return sub_view(s, i, 0, n->p.slice.starts, err);
}

static int lower_split(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]);
  int axis = n->p.axis.axis;
  if (axis < 0 || axis >= x->ndim)
    return FALLBACK;
  for (int o = 0; o < n->noutputs; o++)
    if (tens(s, n->outputs[o])->ndim != x->ndim)
      return FALLBACK;
  int64_t offs[CN_MAX_DIMS] = {0};
  for (int o = 0; o < n->noutputs; o++) {
    int rc = sub_view(s, i, o, offs, err);
    if (rc != 0)
      return rc; /* FALLBACK only possible on o == 0 (plain always works) */
    offs[axis] += tens(s, n->outputs[o])->dims[axis];
  }
  return 0;
}

/* ---- resize, matmul, reduction, layer normalization ------------------- */

/* The output's plain value and a view of it with other dims (a
 * primitive that sees the output as, e.g., 2-D or with kept axes). */
static int out_view(cn__dnnl_t *s, int t, int ndim, const int64_t *dims,
                    dnnl_memory_desc_t *vmd, cn_err_t *err) {
  dnnl_memory_desc_t pm;
  md_tensor_plain(s, t, &pm);
  cn__dnnl_md_plain(vmd, ndim, dims);
  int yv = fresh_val(s, t, &pm, err);
  if (yv < 0)
    return yv;
  set_native(s, t, yv);
  int v = cn__dnnl_new_val(s, -1, vmd, s->vals[yv].store, 0);
  if (v < 0)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  s->vals[v].dense = 1;
  return v;
}

/* t's plain value seen with other dims (same element order): the
 * layouts oneDNN's jit matmul and reduction kernels take. */
static int plain_view(cn__dnnl_t *s, int node, int t, int ndim,
                      const int64_t *dims, dnnl_memory_desc_t *md,
                      cn_err_t *err) {
  int v = val_plain(s, node, t, err);
  if (v < 0)
    return v;
  dnnl_dims_t d;
  for (int k = 0; k < ndim; k++)
    d[k] = dims[k];
  if (dnnl_memory_desc_reshape(md, &s->vals[v].md, ndim, d) != dnnl_success)
    return nerr(s, node, err, CN_EINTERNAL, "reshape of a plain layout", 0);
  return v;
}

/* Whether oneDNN's resampling computes this Resize: it maps output x to
 * input (x + 0.5) * in/out - 0.5 (linear: clamped to the edges; nearest:
 * rounded). That is ONNX's half_pixel (and pytorch_half_pixel for outputs
 * longer than 1) when the scale is exactly out/in. For nearest with an
 * integer upscaling factor F, output kF+r maps to k + (r+0.5)/F - 0.5,
 * strictly within k +- 0.5: half_pixel with either rounding mode and
 * asymmetric + floor (nn.Upsample) pick k, as oneDNN does. */
static int resize_fits(const cn_tensor_t *x, const cn_tensor_t *y,
                       const cn_resize_params_t *p) {
  if (x->ndim < 3 || x->ndim > 5 || y->dims[0] != x->dims[0] ||
      y->dims[1] != x->dims[1] || p->mode == CN_RESIZE_CUBIC)
    return 0;
  for (int d = 2; d < x->ndim; d++) {
    double r = (double)y->dims[d] / (double)x->dims[d];
    if (fabs(p->scales[d] - r) > 1e-6 * r || y->dims[d] < 2)
      return 0;
    int integer_up = y->dims[d] % x->dims[d] == 0;
    int half = p->coord == CN_COORD_HALF_PIXEL ||
               p->coord == CN_COORD_PYTORCH_HALF_PIXEL;
    int rounds = p->nearest == CN_NEAREST_ROUND_PREFER_FLOOR ||
                 p->nearest == CN_NEAREST_ROUND_PREFER_CEIL;
    int floor_asym =
        p->coord == CN_COORD_ASYMMETRIC && p->nearest == CN_NEAREST_FLOOR;
    if (p->mode == CN_RESIZE_LINEAR && !half)
      return 0;
    if (p->mode == CN_RESIZE_NEAREST &&
        !(integer_up && ((half && rounds) || floor_asym)))
      return 0;
  }
  return 1;
}

static int lower_resize(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]), *y = tens(s, n->outputs[0]);
  if (!resize_fits(x, y, &n->p.resize))
    return FALLBACK;
  int xv = val_dense(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_memory_desc_t dst;
  md_any(&dst, y->ndim, y->dims);
  dnnl_resampling_desc_t od;
  if (dnnl_resampling_forward_desc_init(
          &od, dnnl_forward_inference,
          n->p.resize.mode == CN_RESIZE_LINEAR ? dnnl_resampling_linear
                                               : dnnl_resampling_nearest,
          NULL, &s->vals[xv].md, &dst) != dnnl_success)
    return FALLBACK;
  dnnl_primitive_attr_t attr = plain_attr();
  int rc = finish_unary(s, i, "resampling", &od, attr, xv, err);
  dnnl_primitive_attr_destroy(attr);
  return rc;
}

/* numpy matmul as oneDNN matmul: 1-D operands get their unit axis, batch
 * axes are padded to one rank; oneDNN broadcasts size-1 batch axes. */
static int lower_matmul(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *a = tens(s, n->inputs[0]), *b = tens(s, n->inputs[1]);
  const cn_tensor_t *y = tens(s, n->outputs[0]);
  int64_t ad[CN_MAX_DIMS], bd[CN_MAX_DIMS], yd[CN_MAX_DIMS];
  int ra = a->ndim < 2 ? 2 : a->ndim, rb = b->ndim < 2 ? 2 : b->ndim;
  int nd = ra > rb ? ra : rb;
  if (nd > 6 || cn_tensor_numel(y) == 0 || a->ndim == 0 || b->ndim == 0)
    return FALLBACK;
  for (int k = 0; k < nd; k++)
    ad[k] = bd[k] = 1;
  if (a->ndim == 1)
    ad[nd - 1] = a->dims[0];
  for (int k = 0; a->ndim > 1 && k < a->ndim; k++)
    ad[nd - a->ndim + k] = a->dims[k];
  if (b->ndim == 1)
    bd[nd - 2] = b->dims[0];
  for (int k = 0; b->ndim > 1 && k < b->ndim; k++)
    bd[nd - b->ndim + k] = b->dims[k];
  for (int k = 0; k < nd - 2; k++)
    yd[k] = ad[k] > bd[k] ? ad[k] : bd[k];
  yd[nd - 2] = ad[nd - 2];
  yd[nd - 1] = bd[nd - 1];
  dnnl_memory_desc_t amd, bmd, ymd;
  int av = plain_view(s, i, n->inputs[0], nd, ad, &amd, err);
  int bv = av < 0 ? av : plain_view(s, i, n->inputs[1], nd, bd, &bmd, err);
  if (bv < 0)
    return bv;
  dnnl_matmul_desc_t od;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_attr_t attr = plain_attr();
  cn__dnnl_md_plain(&ymd, nd, yd);
  dnnl_status_t st = dnnl_matmul_desc_init(&od, &amd, &bmd, NULL, &ymd);
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(&pd, &od, attr, s->eng, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success)
    return FALLBACK;
  int yv = out_view(s, n->outputs[0], nd, yd, &ymd, err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
  int vv[3] = {av, bv, yv};
  return cn__dnnl_add_prim(s, i, "matmul", pd, 3, ids, vv, err);
}

/* oneDNN's reference implementations ("ref:any") are scalar loops. */
static int is_ref_impl(const_dnnl_primitive_desc_t pd) {
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) !=
          dnnl_success ||
      !impl)
    return 0;
  return strncmp(impl, "ref", 3) == 0;
}

static int reduce_alg(cn_reduce_kind_t k, dnnl_alg_kind_t *alg, float *p) {
  *p = 0.f;
  switch (k) {
  case CN_REDUCE_SUM:
    *alg = dnnl_reduction_sum;
    return 0;
  case CN_REDUCE_MEAN:
    *alg = dnnl_reduction_mean;
    return 0;
  case CN_REDUCE_MAX:
    *alg = dnnl_reduction_max;
    return 0;
  case CN_REDUCE_MIN:
    *alg = dnnl_reduction_min;
    return 0;
  case CN_REDUCE_PROD:
    *alg = dnnl_reduction_mul;
    return 0;
  case CN_REDUCE_L1:
  case CN_REDUCE_L2:
    *alg = dnnl_reduction_norm_lp_sum;
    *p = k == CN_REDUCE_L1 ? 1.f : 2.f;
    return 0;
  case CN_REDUCE_SUM_SQUARE:
    *alg = dnnl_reduction_norm_lp_power_p_sum;
    *p = 2.f;
    return 0;
  default:
    return FALLBACK;
  }
}

static int lower_reduce(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_reduce_params_t *p = &n->p.reduce;
  const cn_tensor_t *x = tens(s, n->inputs[0]);
  dnnl_alg_kind_t alg;
  float pw;
  if (reduce_alg(p->kind, &alg, &pw) != 0 || x->ndim < 1 || x->ndim > 6 ||
      cn_tensor_numel(x) == 0)
    return FALLBACK;
  int64_t kd[CN_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++)
    kd[d] = (p->axes & (1u << d)) ? 1 : x->dims[d];
  int xv = val_plain(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_memory_desc_t ymd;
  cn__dnnl_md_plain(&ymd, x->ndim, kd);
  dnnl_reduction_desc_t od;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_attr_t attr = plain_attr();
  dnnl_status_t st =
      dnnl_reduction_desc_init(&od, alg, &s->vals[xv].md, &ymd, pw, 0.f);
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(&pd, &od, attr, s->eng, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success)
    return FALLBACK;
  if (is_ref_impl(pd)) { /* the engine's kernel is faster than ref:any */
    dnnl_primitive_desc_destroy(pd);
    return FALLBACK;
  }
  int yv = out_view(s, n->outputs[0], x->ndim, kd, &ymd, err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  int ids[2] = {DNNL_ARG_SRC, DNNL_ARG_DST}, vv[2] = {xv, yv};
  return cn__dnnl_add_prim(s, i, "reduction", pd, 2, ids, vv, err);
}

/* Layer normalization over the trailing dims, seen as [outer, inner];
 * constant scale and bias become oneDNN's scale and shift. */
static int lower_layernorm(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  const cn_tensor_t *x = tens(s, n->inputs[0]);
  int sc = n->ninputs > 1 ? n->inputs[1] : -1;
  int bi = n->ninputs > 2 ? n->inputs[2] : -1;
  if (n->noutputs != 1 || (sc >= 0 && !is_const(s, sc)) ||
      (bi >= 0 && !is_const(s, bi)) || cn_tensor_numel(x) == 0)
    return FALLBACK;
  int64_t d2[2] = {1, 1};
  for (int d = 0; d < x->ndim; d++)
    d2[d >= n->p.norm.axis] *= x->dims[d];
  dnnl_memory_desc_t xmd, ymd, cmd;
  /* src and dst share one descriptor: both plain */
  int xv = val_plain(s, i, n->inputs[0], err);
  if (xv < 0)
    return xv;
  dnnl_dims_t dd = {d2[0], d2[1]};
  if (dnnl_memory_desc_reshape(&xmd, &s->vals[xv].md, 2, dd) != dnnl_success)
    return nerr(s, i, err, CN_EINTERNAL, "reshape of a plain layout", 0);
  cn__dnnl_md_plain(&cmd, 1, &d2[1]);
  int sv = sc >= 0 ? const_val(s, i, sc, &cmd, &cmd, err) : -1;
  int bv = bi >= 0 && sv >= -1 ? const_val(s, i, bi, &cmd, &cmd, err) : -1;
  if (sv < -1 || bv < -1)
    return sv < -1 ? sv : bv;
  unsigned flags =
      (sv >= 0 ? dnnl_use_scale : 0u) | (bv >= 0 ? dnnl_use_shift : 0u);
  dnnl_layer_normalization_desc_t od;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_attr_t attr = plain_attr();
  dnnl_status_t st = dnnl_layer_normalization_forward_desc_init(
      &od, dnnl_forward_inference, &xmd, NULL, n->p.norm.eps, flags);
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(&pd, &od, attr, s->eng, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success)
    return FALLBACK;
  int yv = out_view(s, n->outputs[0], 2, d2, &ymd, err);
  if (yv < 0) {
    dnnl_primitive_desc_destroy(pd);
    return yv;
  }
  int ids[4] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT};
  int vv[4] = {xv, yv, sv, bv}, na = 2;
  if (sv >= 0)
    na++;
  if (bv >= 0) {
    ids[na] = DNNL_ARG_SHIFT;
    vv[na++] = bv;
  }
  return cn__dnnl_add_prim(s, i, "layer_normalization", pd, na, ids, vv, err);
}

/* ---- reference fallback ---------------------------------------------- */

static int lower_ref(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  if (s->nsteps == s->csteps) {
    int c = s->csteps ? 2 * s->csteps : 64;
    cn__dstep_t *ns = realloc(s->steps, (size_t)c * sizeof(*ns));
    if (!ns)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    s->steps = ns;
    s->csteps = c;
  }
  int *iv = calloc((size_t)n->ninputs + 1, sizeof(int));
  int *ov = calloc((size_t)n->noutputs + 1, sizeof(int));
  const float **inp = calloc((size_t)n->ninputs + 1, sizeof(*inp));
  float **outp = calloc((size_t)n->noutputs + 1, sizeof(*outp));
  int rc = 0;
  if (!iv || !ov || !inp || !outp)
    rc = cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  for (int k = 0; rc == 0 && k < n->ninputs; k++) {
    int t = n->inputs[k];
    if (t < 0 || is_const(s, t) || tens(s, t)->dtype != CN_DT_F32) {
      iv[k] = -1;
      continue;
    }
    iv[k] = val_plain(s, i, t, err);
    if (iv[k] < 0)
      rc = iv[k];
  }
  for (int k = 0; rc == 0 && k < n->noutputs; k++) {
    dnnl_memory_desc_t pm;
    md_tensor_plain(s, n->outputs[k], &pm);
    ov[k] = fresh_val(s, n->outputs[k], &pm, err);
    if (ov[k] < 0)
      rc = ov[k];
    else
      set_native(s, n->outputs[k], ov[k]);
  }
  if (rc < 0) {
    free(iv);
    free(ov);
    free(inp);
    free(outp);
    return rc;
  }
  cn__dstep_t *st = &s->steps[s->nsteps++];
  memset(st, 0, sizeof(*st));
  st->kind = CN__STEP_REF;
  st->node = i;
  st->what = cn_op_name(n->op);
  st->nin = n->ninputs;
  st->nout = n->noutputs;
  st->in_vals = iv;
  st->out_vals = ov;
  st->inp = inp;
  st->outp = outp;
  st->scratch_size = cn_ref_node_scratch(s->g, i);
  s->n_ref_nodes++;
  return 0;
}

/* PriorBox depends on shapes only: computed once here, a constant after. */
static int lower_prior_box(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  if (n->noutputs != 1 || n->ninputs > 8)
    return FALLBACK;
  dnnl_memory_desc_t md;
  md_tensor_plain(s, n->outputs[0], &md);
  dnnl_memory_t m;
  void *h = NULL;
  if (dnnl_memory_create(&m, &md, s->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  dnnl_memory_get_data_handle(m, &h);
  size_t sz = cn_ref_node_scratch(s->g, i);
  void *scratch = sz ? malloc(sz) : NULL;
  const float *in[8] = {NULL};
  float *out[1] = {h};
  int rc = sz && !scratch ? cn_err_set(err, CN_ENOMEM, "dnnl: out of memory")
                          : cn_ref_node_run(s->g, i, in, out, scratch, err);
  free(scratch);
  int v = rc < 0 ? rc : cn__dnnl_new_val(s, n->outputs[0], &md, -1, 0);
  if (v < 0) {
    dnnl_memory_destroy(m);
    return rc < 0 ? rc : cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  s->vals[v].mem = m;
  s->vals[v].dense = 1;
  set_native(s, n->outputs[0], v);
  return 0;
}

/* oneDNN lowering per op; ops without an entry (or whose lowering answers
 * FALLBACK for a variant) run the op table's reference kernel. */
typedef int (*lower_fn)(cn__dnnl_t *s, int i, cn_err_t *err);
static const lower_fn lower_of[CN_OP_COUNT_] = {
    [CN_OP_CONV] = lower_conv,
    [CN_OP_DECONV] = lower_conv,
    [CN_OP_POOL] = lower_pool,
    [CN_OP_INNER_PRODUCT] = lower_ip,
    [CN_OP_LRN] = lower_lrn,
    [CN_OP_SOFTMAX] = lower_softmax,
    [CN_OP_ACT] = lower_act,
    [CN_OP_CONCAT] = lower_concat,
    [CN_OP_BINARY] = lower_binary,
    [CN_OP_ELTWISE] = lower_eltwise,
    [CN_OP_BATCHNORM] = lower_affine,
    [CN_OP_SCALE] = lower_affine,
    [CN_OP_PRELU] = lower_prelu,
    [CN_OP_PRIOR_BOX] = lower_prior_box,
    [CN_OP_RESHAPE] = lower_reshape,
    [CN_OP_IDENTITY] = lower_reshape,
    [CN_OP_TRANSPOSE] = lower_transpose,
    [CN_OP_SLICE] = lower_slice,
    [CN_OP_SPLIT] = lower_split,
    [CN_OP_RESIZE] = lower_resize,
    [CN_OP_MATMUL] = lower_matmul,
    [CN_OP_REDUCE] = lower_reduce,
    [CN_OP_LAYERNORM] = lower_layernorm,
};

int cn__dnnl_lower_node(cn__dnnl_t *s, int i, cn_err_t *err) {
  const cn_node_t *n = &s->g->nodes[i];
  int rc = FALLBACK;
  for (int k = 0; k < n->ninputs; k++) { /* int64 tensors: reference only */
    int t = n->inputs[k];
    if (t >= 0 && tens(s, t)->dtype != CN_DT_F32)
      return lower_ref(s, i, err);
  }
  for (int k = 0; k < n->noutputs; k++)
    if (tens(s, n->outputs[k])->dtype != CN_DT_F32)
      return lower_ref(s, i, err);
  lower_fn fn = n->op >= 0 && n->op < CN_OP_COUNT_ ? lower_of[n->op] : NULL;
  if (fn)
    rc = fn(s, i, err);
  if (rc == FALLBACK)
    rc = lower_ref(s, i, err);
  return rc;
}

int cn__dnnl_lower_outputs(cn__dnnl_t *s, cn_err_t *err) {
  for (int j = 0; j < s->g->noutputs; j++) {
    int t = s->g->outputs[j];
    int src = val_for(s, -1, t, NULL, err);
    if (src < 0)
      return src;
    dnnl_memory_desc_t pm;
    md_tensor_plain(s, t, &pm);
    int st = cn__dnnl_new_store(s, CN__ST_OUTPUT,
                                dnnl_memory_desc_get_size(&pm), INT_MAX);
    if (st < 0)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    s->stores[st].ext = j;
    int v = cn__dnnl_new_val(s, -1, &pm, st, 0);
    if (v < 0)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    s->vals[v].dense = 1;
    dnnl_primitive_desc_t pd;
    dnnl_status_t rs = dnnl_reorder_primitive_desc_create(
        &pd, &s->vals[src].md, s->eng, &pm, s->eng, NULL);
    if (rs != dnnl_success)
      return cn_err_set(err, CN_EINTERNAL,
                        "dnnl: output %d: reorder (status %d)", j, rs);
    int ids[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, vv[2] = {src, v};
    int rc = cn__dnnl_add_prim(s, -1, "output", pd, 2, ids, vv, err);
    if (rc < 0)
      return rc;
  }
  return 0;
}
