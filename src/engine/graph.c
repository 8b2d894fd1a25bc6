#include "engine/graph.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/graph_internal.h"

/* Largest tensor the engine accepts: 2^30 elements (4 GiB of float32).
 * Anything bigger in a model file is an absurd dimension, not a network
 * this machine could run. */
#define CN_MAX_NUMEL ((int64_t)1 << 30)

/* The arena: a list of blocks, each carved front to back in 64-byte
 * aligned pieces (weights are read by SIMD kernels). Nothing is freed
 * before the graph, so rewritten weights stay until destroy; that costs
 * memory only while optimizing models with BatchNorm. */
typedef struct cn__block {
  struct cn__block *next;
  size_t size, used;
  unsigned char *base; /* aligned start inside this allocation */
  size_t mapped;       /* > 0: an mmap of this many bytes, else malloc */
} cn__block_t;

struct cn__graph_priv {
  cn__block_t *blocks;
  cn__block_t *big; /* the current huge-page chunk, also in blocks */
  int cap_tensors, cap_nodes;
  int *hash; /* open addressing over tensor names: -1 empty, else id */
  int hash_cap;
  int temp_counter;
};

#define CN__ALIGN 64
#define CN__BLOCK 65536
/* Allocations from this size on (weights) come from chunks mapped with
 * transparent huge pages: on a VM every 4 KiB page fault costs
 * microseconds, and a 100 MB model would spend most of its load faulting.
 * A chunk reserves CN__CHUNK of address space; pages never touched cost
 * nothing, so the unused tail of a chunk is free. */
#define CN__HUGE ((size_t)1 << 16)
#define CN__CHUNK ((size_t)64 << 20)

static size_t align_up(size_t v) {
  return (v + CN__ALIGN - 1) & ~(size_t)(CN__ALIGN - 1);
}

static void *arena_alloc(cn_graph_t *g, size_t size, int zero);

void *cn_graph_alloc(cn_graph_t *g, size_t size) {
  return arena_alloc(g, size, 1);
}

void *cn__graph_alloc_raw(cn_graph_t *g, size_t size) {
  return arena_alloc(g, size, 0);
}

static cn__block_t *new_block(cn_graph_t *g, size_t bs, int huge) {
  size_t total = sizeof(cn__block_t) + CN__ALIGN + bs, mapped = 0;
  unsigned char *raw;
  if (huge) {
    mapped = (total + ((size_t)2 << 20) - 1) & ~(((size_t)2 << 20) - 1);
    void *m = mmap(NULL, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
      return NULL;
#ifdef MADV_HUGEPAGE
    madvise(m, mapped, MADV_HUGEPAGE);
#endif
    raw = m;
  } else {
    raw = malloc(total);
    if (!raw)
      return NULL;
  }
  cn__block_t *b = (cn__block_t *)(void *)raw;
  b->mapped = mapped;
  uintptr_t p = (uintptr_t)(raw + sizeof(cn__block_t));
  p = (p + CN__ALIGN - 1) & ~(uintptr_t)(CN__ALIGN - 1);
  b->base = (unsigned char *)p;
  b->size = bs;
  b->used = 0;
  /* Behind the head, so the current small block stays the head. */
  if (g->priv->blocks) {
    b->next = g->priv->blocks->next;
    g->priv->blocks->next = b;
  } else {
    b->next = NULL;
    g->priv->blocks = b;
  }
  return b;
}

static void *arena_alloc(cn_graph_t *g, size_t size, int zero) {
  if (size == 0)
    size = 1;
  size = align_up(size);
  struct cn__graph_priv *pv = g->priv;
  cn__block_t *b;
  if (size >= CN__HUGE) {
    b = pv->big;
    if (!b || b->size - b->used < size) {
      b = new_block(g, size > CN__CHUNK ? size : CN__CHUNK, 1);
      if (!b)
        return NULL;
      pv->big = b;
    }
  } else {
    b = pv->blocks;
    if (!b || b == pv->big || b->mapped || b->size - b->used < size) {
      cn__block_t *nb = new_block(g, CN__BLOCK, 0);
      if (!nb)
        return NULL;
      /* new_block put it second; make it the head. */
      if (pv->blocks != nb) {
        pv->blocks->next = nb->next;
        nb->next = pv->blocks;
        pv->blocks = nb;
      }
      b = nb;
    }
  }
  void *r = b->base + b->used;
  b->used += size;
  /* Chunk memory is fresh from mmap (the arena never reuses): zero. */
  if (zero && !b->mapped)
    memset(r, 0, size);
  return r;
}

const char *cn_graph_strdup(cn_graph_t *g, const char *s) {
  size_t n = strlen(s);
  char *r = cn_graph_alloc(g, n + 1);
  if (r)
    memcpy(r, s, n + 1);
  return r;
}

cn_graph_t *cn_graph_create(const char *source) {
  cn_graph_t *g = calloc(1, sizeof *g);
  if (!g)
    return NULL;
  g->priv = calloc(1, sizeof *g->priv);
  if (!g->priv) {
    free(g);
    return NULL;
  }
  g->source = cn_graph_strdup(g, source ? source : "graph");
  if (!g->source) {
    cn_graph_destroy(g);
    return NULL;
  }
  return g;
}

void cn_graph_destroy(cn_graph_t *g) {
  if (!g)
    return;
  if (g->priv) {
    cn__block_t *b = g->priv->blocks;
    while (b) {
      cn__block_t *n = b->next;
      if (b->mapped)
        munmap(b, b->mapped);
      else
        free(b);
      b = n;
    }
    free(g->priv->hash);
    free(g->priv);
  }
  free(g->tensors);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  free(g);
}

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int hash_rebuild(cn_graph_t *g, int cap) {
  int *h = malloc((size_t)cap * sizeof *h);
  if (!h)
    return CN_ENOMEM;
  for (int i = 0; i < cap; i++)
    h[i] = -1;
  for (int id = 0; id < g->ntensors; id++) {
    uint32_t k = name_hash(g->tensors[id].name) & (uint32_t)(cap - 1);
    while (h[k] >= 0)
      k = (k + 1) & (uint32_t)(cap - 1);
    h[k] = id;
  }
  free(g->priv->hash);
  g->priv->hash = h;
  g->priv->hash_cap = cap;
  return 0;
}

int cn_graph_find(const cn_graph_t *g, const char *name) {
  if (!name || !g->priv->hash)
    return -1;
  uint32_t mask = (uint32_t)(g->priv->hash_cap - 1);
  for (uint32_t k = name_hash(name) & mask;; k = (k + 1) & mask) {
    int id = g->priv->hash[k];
    if (id < 0)
      return -1;
    if (strcmp(g->tensors[id].name, name) == 0)
      return id;
  }
}

static int check_dims(const cn_graph_t *g, const char *name, int ndim,
                      const int64_t *dims, cn_err_t *err) {
  if (ndim < 0 || ndim > CN_MAX_DIMS)
    return cn_err_set(err, CN_EFORMAT,
                      "%s: tensor %s has %d dimensions (max %d)", g->source,
                      name, ndim, CN_MAX_DIMS);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0 || dims[i] > CN_MAX_NUMEL)
      return cn_err_set(err, CN_EFORMAT,
                        "%s: tensor %s: dimension %d is %" PRId64, g->source,
                        name, i, dims[i]);
    n *= dims[i];
    if (n > CN_MAX_NUMEL)
      return cn_err_set(err, CN_EFORMAT,
                        "%s: tensor %s: more than %" PRId64 " elements",
                        g->source, name, CN_MAX_NUMEL);
  }
  return 0;
}

static int add_tensor_copied(cn_graph_t *g, const char *name, cn_dtype_t dt,
                             int ndim, const int64_t *dims);

static int add_tensor(cn_graph_t *g, const char *name, cn_dtype_t dt, int ndim,
                      const int64_t *dims_in) {
  if (!name || !*name || cn_graph_find(g, name) >= 0)
    return CN_EINVAL;
  if (check_dims(g, name, ndim, dims_in, NULL) < 0)
    return CN_EFORMAT;
  /* Callers may pass another tensor's dims (or name), which the realloc
   * below can move: copy them first. */
  int64_t dims[CN_MAX_DIMS];
  for (int i = 0; i < ndim; i++)
    dims[i] = dims_in[i];
  char local[128];
  char *heap = NULL;
  size_t nl = strlen(name);
  if (nl < sizeof local) {
    memcpy(local, name, nl + 1);
    name = local;
  } else {
    heap = malloc(nl + 1);
    if (!heap)
      return CN_ENOMEM;
    memcpy(heap, name, nl + 1);
    name = heap;
  }
  int r = add_tensor_copied(g, name, dt, ndim, dims);
  free(heap);
  return r;
}

static int add_tensor_copied(cn_graph_t *g, const char *name, cn_dtype_t dt,
                             int ndim, const int64_t *dims) {
  struct cn__graph_priv *p = g->priv;
  if (g->ntensors == p->cap_tensors) {
    int cap = p->cap_tensors ? p->cap_tensors * 2 : 64;
    cn_tensor_t *t = realloc(g->tensors, (size_t)cap * sizeof *t);
    if (!t)
      return CN_ENOMEM;
    g->tensors = t;
    p->cap_tensors = cap;
  }
  cn_tensor_t *t = &g->tensors[g->ntensors];
  memset(t, 0, sizeof *t);
  t->name = cn_graph_strdup(g, name);
  if (!t->name)
    return CN_ENOMEM;
  t->dtype = dt;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->dims[i] = dims[i];
  t->producer = -1;
  int id = g->ntensors++;
  if (2 * g->ntensors > p->hash_cap) {
    int r = hash_rebuild(g, p->hash_cap ? p->hash_cap * 2 : 256);
    if (r < 0) {
      g->ntensors--;
      return r;
    }
  } else {
    uint32_t mask = (uint32_t)(p->hash_cap - 1);
    uint32_t k = name_hash(name) & mask;
    while (p->hash[k] >= 0)
      k = (k + 1) & mask;
    p->hash[k] = id;
  }
  return id;
}

int cn_graph_add_tensor(cn_graph_t *g, const char *name, cn_dtype_t dt,
                        int ndim, const int64_t *dims) {
  return add_tensor(g, name, dt, ndim, dims);
}

int cn_graph_add_const(cn_graph_t *g, const char *name, cn_dtype_t dt, int ndim,
                       const int64_t *dims, const void *data) {
  int id = add_tensor(g, name, dt, ndim, dims);
  if (id < 0)
    return id;
  cn_tensor_t *t = &g->tensors[id];
  size_t bytes = (size_t)cn_tensor_numel(t) * (dt == CN_DT_I64 ? 8 : 4);
  t->data = arena_alloc(g, bytes, data == NULL);
  if (!t->data)
    return CN_ENOMEM;
  if (data && bytes)
    memcpy(t->data, data, bytes);
  t->flags |= CN_TENSOR_CONST;
  return id;
}

int cn__graph_add_const_ref(cn_graph_t *g, const char *name, cn_dtype_t dt,
                            int ndim, const int64_t *dims, void *arena_data) {
  int id = add_tensor(g, name, dt, ndim, dims);
  if (id < 0)
    return id;
  g->tensors[id].data = arena_data;
  g->tensors[id].flags |= CN_TENSOR_CONST;
  return id;
}

int cn_graph_add_temp(cn_graph_t *g, const char *stem) {
  char name[256];
  for (;;) {
    snprintf(name, sizeof name, "%.200s_%d", stem ? stem : "t",
             ++g->priv->temp_counter);
    if (cn_graph_find(g, name) < 0)
      return add_tensor(g, name, CN_DT_F32, 0, NULL);
  }
}

int cn_graph_add_node(cn_graph_t *g, cn_op_t op, const char *name, int nin,
                      const int *in, int nout, const int *out) {
  if (op < 0 || op >= CN_OP_COUNT_ || nin < 0 || nout < 1)
    return CN_EINVAL;
  struct cn__graph_priv *p = g->priv;
  if (g->nnodes == p->cap_nodes) {
    int cap = p->cap_nodes ? p->cap_nodes * 2 : 64;
    cn_node_t *n = realloc(g->nodes, (size_t)cap * sizeof *n);
    if (!n)
      return CN_ENOMEM;
    g->nodes = n;
    p->cap_nodes = cap;
  }
  cn_node_t *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  n->op = op;
  char buf[32];
  if (!name || !*name) {
    snprintf(buf, sizeof buf, "node%d", g->nnodes);
    name = buf;
  }
  n->name = cn_graph_strdup(g, name);
  n->inputs = cn_graph_alloc(g, sizeof(int) * (size_t)(nin ? nin : 1));
  n->outputs = cn_graph_alloc(g, sizeof(int) * (size_t)nout);
  if (!n->name || !n->inputs || !n->outputs)
    return CN_ENOMEM;
  for (int i = 0; i < nin; i++) {
    if (in[i] < -1 || in[i] >= g->ntensors)
      return CN_EINVAL;
    n->inputs[i] = in[i];
  }
  for (int i = 0; i < nout; i++) {
    if (out[i] < 0 || out[i] >= g->ntensors)
      return CN_EINVAL;
    n->outputs[i] = out[i];
  }
  n->ninputs = nin;
  n->noutputs = nout;
  return g->nnodes++;
}

static int set_ids(cn_graph_t *g, int **dst, int *cnt, const int *ids, int n) {
  int *a = malloc(sizeof(int) * (size_t)(n ? n : 1));
  if (!a)
    return CN_ENOMEM;
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= g->ntensors) {
      free(a);
      return CN_EINVAL;
    }
    a[i] = ids[i];
  }
  free(*dst);
  *dst = a;
  *cnt = n;
  return 0;
}

int cn_graph_set_inputs(cn_graph_t *g, const int *ids, int n) {
  return set_ids(g, &g->inputs, &g->ninputs, ids, n);
}

int cn_graph_set_outputs(cn_graph_t *g, const int *ids, int n) {
  return set_ids(g, &g->outputs, &g->noutputs, ids, n);
}

int64_t cn_tensor_numel(const cn_tensor_t *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->dims[i];
  return n;
}

static const char *const op_names[CN_OP_COUNT_] = {
    [CN_OP_CONV] = "Conv",
    [CN_OP_DECONV] = "Deconv",
    [CN_OP_POOL] = "Pool",
    [CN_OP_INNER_PRODUCT] = "InnerProduct",
    [CN_OP_MATMUL] = "MatMul",
    [CN_OP_BINARY] = "Binary",
    [CN_OP_ELTWISE] = "Eltwise",
    [CN_OP_ACT] = "Act",
    [CN_OP_PRELU] = "PRelu",
    [CN_OP_SOFTMAX] = "Softmax",
    [CN_OP_BATCHNORM] = "BatchNorm",
    [CN_OP_SCALE] = "Scale",
    [CN_OP_LRN] = "LRN",
    [CN_OP_CONCAT] = "Concat",
    [CN_OP_SPLIT] = "Split",
    [CN_OP_SLICE] = "Slice",
    [CN_OP_RESHAPE] = "Reshape",
    [CN_OP_TRANSPOSE] = "Transpose",
    [CN_OP_PAD] = "Pad",
    [CN_OP_RESIZE] = "Resize",
    [CN_OP_IDENTITY] = "Identity",
    [CN_OP_PRIOR_BOX] = "PriorBox",
    [CN_OP_DETECTION_OUTPUT] = "DetectionOutput",
    [CN_OP_REDUCE] = "Reduce",
};

const char *cn_op_name(cn_op_t op) {
  return op >= 0 && op < CN_OP_COUNT_ ? op_names[op] : "deleted";
}

static const char *const act_names[CN_ACT_COUNT_] = {
    [CN_ACT_NONE] = "none",
    [CN_ACT_RELU] = "relu",
    [CN_ACT_CLIP] = "clip",
    [CN_ACT_SIGMOID] = "sigmoid",
    [CN_ACT_TANH] = "tanh",
    [CN_ACT_HARDSIGMOID] = "hardsigmoid",
    [CN_ACT_HARDSWISH] = "hardswish",
    [CN_ACT_ELU] = "elu",
    [CN_ACT_SELU] = "selu",
    [CN_ACT_SOFTPLUS] = "softplus",
    [CN_ACT_ABS] = "abs",
    [CN_ACT_NEG] = "neg",
    [CN_ACT_EXP] = "exp",
    [CN_ACT_LOG] = "log",
    [CN_ACT_SQRT] = "sqrt",
    [CN_ACT_RECIPROCAL] = "reciprocal",
    [CN_ACT_FLOOR] = "floor",
    [CN_ACT_CEIL] = "ceil",
    [CN_ACT_LINEAR] = "linear",
};

const char *cn_act_name(cn_act_t act) {
  return act >= 0 && act < CN_ACT_COUNT_ ? act_names[act] : "?";
}

/* ---- shape inference --------------------------------------------------- */

#define NODE_ERR(code, ...) node_err(g, ni, err, code, __VA_ARGS__)

static int node_err(const cn_graph_t *g, int ni, cn_err_t *err, int code,
                    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int node_err(const cn_graph_t *g, int ni, cn_err_t *err, int code,
                    const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return cn_err_set(err, code, "%s: node %d (%s): %s", g->source, ni,
                    g->nodes[ni].name, what);
}

static void shape_str(const cn_tensor_t *t, char *buf, size_t n) {
  size_t o = 0;
  o += (size_t)snprintf(buf + o, n - o, "[");
  for (int i = 0; i < t->ndim && o < n; i++)
    o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, i ? "," : "",
                          t->dims[i]);
  if (o < n)
    snprintf(buf + o, n - o, "]");
}

static void set_shape(cn_tensor_t *t, int ndim, const int64_t *dims) {
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->dims[i] = dims[i];
}

static int same_shape(const cn_tensor_t *a, const cn_tensor_t *b) {
  if (a->ndim != b->ndim)
    return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i])
      return 0;
  return 1;
}

/* numpy multidirectional broadcasting of a and b into out; -1 if they do
 * not broadcast. */
static int broadcast_shape(const cn_tensor_t *a, const cn_tensor_t *b,
                           int *ndim, int64_t *dims) {
  int n = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da == db || db == 1)
      dims[i] = da;
    else if (da == 1)
      dims[i] = db;
    else
      return -1;
  }
  *ndim = n;
  return 0;
}

/* Input slot counts: [min, max]; max -1 = unbounded. */
static const int slots[CN_OP_COUNT_][2] = {
    [CN_OP_CONV] = {2, 3 + CN_MAX_POSTOPS},
    [CN_OP_DECONV] = {2, 3},
    [CN_OP_POOL] = {1, 1},
    [CN_OP_INNER_PRODUCT] = {2, 3 + CN_MAX_POSTOPS},
    [CN_OP_MATMUL] = {2, 2},
    [CN_OP_BINARY] = {2, 2},
    [CN_OP_ELTWISE] = {1, -1},
    [CN_OP_ACT] = {1, 1},
    [CN_OP_PRELU] = {2, 2},
    [CN_OP_SOFTMAX] = {1, 1},
    [CN_OP_BATCHNORM] = {5, 5},
    [CN_OP_SCALE] = {2, 3},
    [CN_OP_LRN] = {1, 1},
    [CN_OP_CONCAT] = {1, -1},
    [CN_OP_SPLIT] = {1, 1},
    [CN_OP_SLICE] = {1, 1},
    [CN_OP_RESHAPE] = {1, 1},
    [CN_OP_TRANSPOSE] = {1, 1},
    [CN_OP_PAD] = {1, 1},
    [CN_OP_RESIZE] = {1, 1},
    [CN_OP_IDENTITY] = {1, 1},
    [CN_OP_PRIOR_BOX] = {1, 2},
    [CN_OP_DETECTION_OUTPUT] = {3, 3},
    [CN_OP_REDUCE] = {1, 1},
};

static int postops_check(cn_graph_t *g, int ni, const cn_postops_t *po,
                         int first_extra, cn_err_t *err) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *y = &g->tensors[n->outputs[0]];
  if (po->n < 0 || po->n > CN_MAX_POSTOPS)
    return NODE_ERR(CN_EFORMAT, "%d post-ops", po->n);
  for (int i = 0; i < po->n; i++) {
    const cn_postop_t *o = &po->op[i];
    if (o->kind == CN_POST_SUM) {
      if (o->input < first_extra || o->input >= n->ninputs ||
          n->inputs[o->input] < 0)
        return NODE_ERR(CN_EFORMAT, "sum post-op input slot %d", o->input);
      if (!same_shape(&g->tensors[n->inputs[o->input]], y))
        return NODE_ERR(CN_EFORMAT, "sum post-op operand %s has another shape",
                        g->tensors[n->inputs[o->input]].name);
    } else if (o->kind != CN_POST_ACT || o->act <= CN_ACT_NONE ||
               o->act >= CN_ACT_COUNT_) {
      return NODE_ERR(CN_EFORMAT, "bad post-op %d", i);
    }
  }
  return 0;
}

/* Output extent of a window op along one axis; -1 when none fits. */
static int64_t window_out(int64_t in, int k, int s, int d, int p0, int p1,
                          int ceil_mode) {
  int64_t ek = (int64_t)d * (k - 1) + 1;
  int64_t span = in + p0 + p1 - ek;
  if (span < 0 || s <= 0)
    return -1;
  int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  /* The last window must start inside the input or the leading pad. */
  if (ceil_mode && (o - 1) * s >= in + p0)
    o--;
  return o;
}

static int infer_node(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_node_t *n = &g->nodes[ni];
  cn_tensor_t *T = g->tensors;
  const cn_tensor_t *x =
      n->ninputs > 0 && n->inputs[0] >= 0 ? &T[n->inputs[0]] : NULL;
  cn_tensor_t *y = &T[n->outputs[0]];
  int64_t d[CN_MAX_DIMS];
  char s1[96], s2[96];

  if (!x)
    return NODE_ERR(CN_EFORMAT, "first input is missing");
  switch (n->op) {
  case CN_OP_CONV:
  case CN_OP_DECONV: {
    cn_conv_params_t *c = &n->p.conv;
    const cn_tensor_t *w = &T[n->inputs[1]];
    if (x->ndim != 4)
      return NODE_ERR(CN_EUNSUPPORTED,
                      "input has %d dimensions, expected 4 (NCHW)", x->ndim);
    if (w->ndim != 4)
      return NODE_ERR(CN_EFORMAT, "weights have %d dimensions, expected 4",
                      w->ndim);
    if (c->group < 1)
      return NODE_ERR(CN_EFORMAT, "group %d", c->group);
    for (int i = 0; i < 2; i++) {
      if (c->kernel[i] < 1 || c->stride[i] < 1 || c->dilation[i] < 1)
        return NODE_ERR(CN_EFORMAT, "kernel/stride/dilation must be >= 1");
      if (c->kernel[i] != w->dims[2 + i])
        return NODE_ERR(CN_EFORMAT,
                        "kernel %dx%d does not match weights %" PRId64
                        "x%" PRId64,
                        c->kernel[0], c->kernel[1], w->dims[2], w->dims[3]);
    }
    for (int i = 0; i < 4; i++)
      if (c->pads[i] < 0)
        return NODE_ERR(CN_EFORMAT, "negative pad %d", c->pads[i]);
    int64_t oc;
    if (n->op == CN_OP_CONV) {
      oc = w->dims[0];
      if (x->dims[1] != w->dims[1] * c->group || oc % c->group)
        return NODE_ERR(CN_EFORMAT,
                        "input has %" PRId64 " channels, weights %" PRId64
                        "x%" PRId64 " with group %d",
                        x->dims[1], w->dims[0], w->dims[1], c->group);
    } else {
      oc = w->dims[1] * c->group;
      if (x->dims[1] != w->dims[0] || w->dims[0] % c->group)
        return NODE_ERR(CN_EFORMAT,
                        "input has %" PRId64 " channels, weights have %" PRId64,
                        x->dims[1], w->dims[0]);
    }
    c->out_channels = (int)oc;
    if (c->has_bias != (n->ninputs > 2 && n->inputs[2] >= 0))
      return NODE_ERR(CN_EFORMAT, "has_bias does not match inputs");
    if (c->has_bias) {
      const cn_tensor_t *b = &T[n->inputs[2]];
      if (cn_tensor_numel(b) != oc)
        return NODE_ERR(CN_EFORMAT,
                        "bias has %" PRId64 " values, expected %" PRId64,
                        cn_tensor_numel(b), oc);
    }
    d[0] = x->dims[0];
    d[1] = oc;
    for (int i = 0; i < 2; i++) {
      int64_t o;
      if (n->op == CN_OP_CONV) {
        o = window_out(x->dims[2 + i], c->kernel[i], c->stride[i],
                       c->dilation[i], c->pads[i], c->pads[2 + i], 0);
      } else {
        if (c->output_padding[i] < 0)
          return NODE_ERR(CN_EFORMAT, "negative output_padding");
        o = (x->dims[2 + i] - 1) * c->stride[i] - c->pads[i] - c->pads[2 + i] +
            (int64_t)c->dilation[i] * (c->kernel[i] - 1) + 1 +
            c->output_padding[i];
      }
      if (o < 1)
        return NODE_ERR(CN_EFORMAT,
                        "output would be empty (input %" PRId64 ", kernel %d)",
                        x->dims[2 + i], c->kernel[i]);
      d[2 + i] = o;
    }
    set_shape(y, 4, d);
    if (n->op == CN_OP_DECONV && c->post.n)
      return NODE_ERR(CN_EFORMAT, "post-ops on a deconvolution");
    return postops_check(g, ni, &c->post, 3, err);
  }
  case CN_OP_POOL: {
    cn_pool_params_t *p = &n->p.pool;
    if (x->ndim != 4)
      return NODE_ERR(CN_EUNSUPPORTED,
                      "input has %d dimensions, expected 4 (NCHW)", x->ndim);
    if (p->global) {
      p->kernel[0] = (int)x->dims[2];
      p->kernel[1] = (int)x->dims[3];
      p->stride[0] = p->stride[1] = 1;
      p->dilation[0] = p->dilation[1] = 1;
      memset(p->pads, 0, sizeof p->pads);
    }
    d[0] = x->dims[0];
    d[1] = x->dims[1];
    for (int i = 0; i < 2; i++) {
      if (p->kernel[i] < 1 || p->stride[i] < 1 || p->dilation[i] < 1)
        return NODE_ERR(CN_EFORMAT, "kernel/stride/dilation must be >= 1");
      if (p->pads[i] < 0 || p->pads[2 + i] < 0)
        return NODE_ERR(CN_EFORMAT, "negative pad");
      if (p->pads[i] >= p->kernel[i] * p->dilation[i] ||
          p->pads[2 + i] >= p->kernel[i] * p->dilation[i])
        return NODE_ERR(CN_EFORMAT, "pad %d/%d not smaller than kernel %d",
                        p->pads[i], p->pads[2 + i], p->kernel[i]);
      int64_t o =
          window_out(x->dims[2 + i], p->kernel[i], p->stride[i], p->dilation[i],
                     p->pads[i], p->pads[2 + i], p->ceil_mode);
      if (o < 1)
        return NODE_ERR(CN_EFORMAT,
                        "kernel %d larger than padded input %" PRId64,
                        p->kernel[i], x->dims[2 + i]);
      d[2 + i] = o;
    }
    set_shape(y, 4, d);
    return 0;
  }
  case CN_OP_INNER_PRODUCT: {
    cn_ip_params_t *p = &n->p.ip;
    const cn_tensor_t *w = &T[n->inputs[1]];
    if (p->axis < 0 || p->axis > x->ndim)
      return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", p->axis, x->ndim);
    int64_t k = 1;
    for (int i = p->axis; i < x->ndim; i++)
      k *= x->dims[i];
    if (w->ndim != 2 || w->dims[1] != k)
      return NODE_ERR(CN_EFORMAT, "weights %s do not take %" PRId64 " inputs",
                      (shape_str(w, s1, sizeof s1), s1), k);
    p->out_features = (int)w->dims[0];
    if (p->has_bias != (n->ninputs > 2 && n->inputs[2] >= 0))
      return NODE_ERR(CN_EFORMAT, "has_bias does not match inputs");
    if (p->has_bias && cn_tensor_numel(&T[n->inputs[2]]) != w->dims[0])
      return NODE_ERR(CN_EFORMAT,
                      "bias has %" PRId64 " values, expected %" PRId64,
                      cn_tensor_numel(&T[n->inputs[2]]), w->dims[0]);
    for (int i = 0; i < p->axis; i++)
      d[i] = x->dims[i];
    d[p->axis] = w->dims[0];
    set_shape(y, p->axis + 1, d);
    return postops_check(g, ni, &p->post, 3, err);
  }
  case CN_OP_MATMUL: {
    const cn_tensor_t *b = &T[n->inputs[1]];
    if (x->ndim < 1 || b->ndim < 1)
      return NODE_ERR(CN_EFORMAT, "matmul of a scalar");
    cn_tensor_t a2 = *x, b2 = *b;
    if (a2.ndim == 1) { /* [K] -> [1,K] */
      a2.dims[1] = a2.dims[0];
      a2.dims[0] = 1;
      a2.ndim = 2;
    }
    if (b2.ndim == 1) { /* [K] -> [K,1] */
      b2.dims[1] = 1;
      b2.ndim = 2;
    }
    int64_t m = a2.dims[a2.ndim - 2], k = a2.dims[a2.ndim - 1];
    int64_t kb = b2.dims[b2.ndim - 2], nn = b2.dims[b2.ndim - 1];
    if (k != kb)
      return NODE_ERR(CN_EFORMAT, "matmul %s x %s: inner dimensions differ",
                      (shape_str(x, s1, sizeof s1), s1),
                      (shape_str(b, s2, sizeof s2), s2));
    cn_tensor_t ba = a2, bb = b2;
    ba.ndim -= 2;
    bb.ndim -= 2;
    int nd;
    if (broadcast_shape(&ba, &bb, &nd, d) < 0 || nd + 2 > CN_MAX_DIMS)
      return NODE_ERR(CN_EFORMAT, "matmul batch dimensions do not broadcast");
    if (x->ndim > 1)
      d[nd++] = m;
    if (b->ndim > 1)
      d[nd++] = nn;
    set_shape(y, nd, d);
    return 0;
  }
  case CN_OP_BINARY: {
    const cn_tensor_t *b = &T[n->inputs[1]];
    int nd;
    if (broadcast_shape(x, b, &nd, d) < 0)
      return NODE_ERR(CN_EFORMAT, "shapes %s and %s do not broadcast",
                      (shape_str(x, s1, sizeof s1), s1),
                      (shape_str(b, s2, sizeof s2), s2));
    set_shape(y, nd, d);
    return 0;
  }
  case CN_OP_ELTWISE:
    for (int i = 1; i < n->ninputs; i++)
      if (n->inputs[i] < 0 || !same_shape(x, &T[n->inputs[i]]))
        return NODE_ERR(CN_EFORMAT, "input %d has another shape than input 0",
                        i);
    set_shape(y, x->ndim, x->dims);
    return 0;
  case CN_OP_PRELU: {
    const cn_tensor_t *s = &T[n->inputs[1]];
    int nd;
    if (broadcast_shape(x, s, &nd, d) < 0 || nd != x->ndim)
      return NODE_ERR(CN_EFORMAT, "slope %s does not broadcast to %s",
                      (shape_str(s, s1, sizeof s1), s1),
                      (shape_str(x, s2, sizeof s2), s2));
    for (int i = 0; i < nd; i++)
      if (d[i] != x->dims[i])
        return NODE_ERR(CN_EFORMAT, "slope %s does not broadcast to %s",
                        (shape_str(s, s1, sizeof s1), s1),
                        (shape_str(x, s2, sizeof s2), s2));
    set_shape(y, x->ndim, x->dims);
    return 0;
  }
  case CN_OP_ACT:
    if (n->p.act.kind <= CN_ACT_NONE || n->p.act.kind >= CN_ACT_COUNT_)
      return NODE_ERR(CN_EFORMAT, "activation kind %d", (int)n->p.act.kind);
    set_shape(y, x->ndim, x->dims);
    return 0;
  case CN_OP_SOFTMAX:
    if (n->p.softmax.axis < 0 || n->p.softmax.axis >= x->ndim)
      return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", n->p.softmax.axis,
                      x->ndim);
    set_shape(y, x->ndim, x->dims);
    return 0;
  case CN_OP_BATCHNORM:
    if (x->ndim < 2)
      return NODE_ERR(CN_EFORMAT, "input has %d dimensions, expected >= 2",
                      x->ndim);
    for (int i = 1; i < 5; i++)
      if (n->inputs[i] < 0 || cn_tensor_numel(&T[n->inputs[i]]) != x->dims[1])
        return NODE_ERR(CN_EFORMAT,
                        "parameter %d does not have %" PRId64 " values", i,
                        x->dims[1]);
    set_shape(y, x->ndim, x->dims);
    return 0;
  case CN_OP_SCALE: {
    const cn_tensor_t *s = &T[n->inputs[1]];
    int ax = n->p.scale.axis;
    if (ax < 0 || ax + s->ndim > x->ndim)
      return NODE_ERR(CN_EFORMAT, "scale %s at axis %d does not fit %s",
                      (shape_str(s, s1, sizeof s1), s1), ax,
                      (shape_str(x, s2, sizeof s2), s2));
    for (int i = 0; i < s->ndim; i++)
      if (s->dims[i] != x->dims[ax + i])
        return NODE_ERR(CN_EFORMAT, "scale %s at axis %d does not fit %s",
                        (shape_str(s, s1, sizeof s1), s1), ax,
                        (shape_str(x, s2, sizeof s2), s2));
    if (n->p.scale.has_bias != (n->ninputs > 2 && n->inputs[2] >= 0))
      return NODE_ERR(CN_EFORMAT, "has_bias does not match inputs");
    if (n->p.scale.has_bias &&
        cn_tensor_numel(&T[n->inputs[2]]) != cn_tensor_numel(s))
      return NODE_ERR(CN_EFORMAT, "bias and scale sizes differ");
    set_shape(y, x->ndim, x->dims);
    return 0;
  }
  case CN_OP_LRN:
    if (x->ndim != 4)
      return NODE_ERR(CN_EUNSUPPORTED, "input has %d dimensions, expected 4",
                      x->ndim);
    if (n->p.lrn.size < 1)
      return NODE_ERR(CN_EFORMAT, "size %d", n->p.lrn.size);
    set_shape(y, x->ndim, x->dims);
    return 0;
  case CN_OP_CONCAT: {
    int ax = n->p.axis.axis;
    if (ax < 0 || ax >= x->ndim)
      return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", ax, x->ndim);
    set_shape(y, x->ndim, x->dims);
    y->dims[ax] = 0;
    for (int i = 0; i < n->ninputs; i++) {
      const cn_tensor_t *t = n->inputs[i] >= 0 ? &T[n->inputs[i]] : NULL;
      if (!t || t->ndim != x->ndim)
        return NODE_ERR(CN_EFORMAT, "input %d has another rank", i);
      for (int k = 0; k < x->ndim; k++)
        if (k != ax && t->dims[k] != x->dims[k])
          return NODE_ERR(CN_EFORMAT, "input %d %s does not match input 0 %s",
                          i, (shape_str(t, s1, sizeof s1), s1),
                          (shape_str(x, s2, sizeof s2), s2));
      y->dims[ax] += t->dims[ax];
    }
    return check_dims(g, y->name, y->ndim, y->dims, err);
  }
  case CN_OP_SPLIT: {
    int ax = n->p.axis.axis;
    if (ax < 0 || ax >= x->ndim)
      return NODE_ERR(CN_EFORMAT, "axis %d for a %d-D input", ax, x->ndim);
    int64_t sum = 0;
    for (int i = 0; i < n->noutputs; i++) {
      const cn_tensor_t *t = &T[n->outputs[i]];
      if (t->ndim != x->ndim)
        return NODE_ERR(CN_EFORMAT, "output %d has another rank", i);
      for (int k = 0; k < x->ndim; k++)
        if (k != ax && t->dims[k] != x->dims[k])
          return NODE_ERR(CN_EFORMAT, "output %d does not match the input", i);
      sum += t->dims[ax];
    }
    if (sum != x->dims[ax])
      return NODE_ERR(CN_EFORMAT,
                      "split sizes add up to %" PRId64 ", axis has %" PRId64,
                      sum, x->dims[ax]);
    return 0;
  }
  case CN_OP_SLICE: {
    if (y->ndim != x->ndim)
      return NODE_ERR(CN_EFORMAT, "output rank differs from the input");
    for (int k = 0; k < x->ndim; k++) {
      int64_t st = n->p.slice.starts[k], sp = n->p.slice.steps[k],
              c = y->dims[k];
      if (sp == 0)
        return NODE_ERR(CN_EFORMAT, "step 0 on axis %d", k);
      if (c > 1 && (sp > x->dims[k] || sp < -x->dims[k]))
        return NODE_ERR(CN_EFORMAT, "slice on axis %d leaves the input", k);
      if (c > 0 && (st < 0 || st >= x->dims[k] || st + (c - 1) * sp < 0 ||
                    st + (c - 1) * sp >= x->dims[k]))
        return NODE_ERR(CN_EFORMAT, "slice on axis %d leaves the input", k);
    }
    return 0;
  }
  case CN_OP_RESHAPE:
    if (cn_tensor_numel(y) != cn_tensor_numel(x))
      return NODE_ERR(CN_EFORMAT, "reshape %s to %s changes the element count",
                      (shape_str(x, s1, sizeof s1), s1),
                      (shape_str(y, s2, sizeof s2), s2));
    return 0;
  case CN_OP_TRANSPOSE: {
    unsigned seen = 0;
    for (int k = 0; k < x->ndim; k++) {
      int pk = n->p.transpose.perm[k];
      if (pk < 0 || pk >= x->ndim || (seen & (1u << pk)))
        return NODE_ERR(CN_EFORMAT, "perm is not a permutation of %d axes",
                        x->ndim);
      seen |= 1u << pk;
      d[k] = x->dims[pk];
    }
    set_shape(y, x->ndim, d);
    return 0;
  }
  case CN_OP_PAD: {
    const cn_pad_params_t *p = &n->p.pad;
    for (int k = 0; k < x->ndim; k++) {
      int64_t b = p->pads[k], e = p->pads[x->ndim + k];
      if (b > CN_MAX_NUMEL || e > CN_MAX_NUMEL)
        return NODE_ERR(CN_EFORMAT, "absurd pad on axis %d", k);
      d[k] = x->dims[k] + b + e;
      if (d[k] < 0)
        return NODE_ERR(CN_EFORMAT, "pads remove more than axis %d holds", k);
      if (p->mode == CN_PAD_REFLECT && (b >= x->dims[k] || e >= x->dims[k]) &&
          (b > 0 || e > 0))
        return NODE_ERR(CN_EFORMAT,
                        "reflect pad on axis %d not smaller than the axis", k);
      if (p->mode == CN_PAD_EDGE && x->dims[k] == 0 && (b > 0 || e > 0))
        return NODE_ERR(CN_EFORMAT, "edge pad of an empty axis");
    }
    set_shape(y, x->ndim, d);
    return check_dims(g, y->name, y->ndim, y->dims, err);
  }
  case CN_OP_RESIZE:
    if (y->ndim != x->ndim)
      return NODE_ERR(CN_EFORMAT, "output rank differs from the input");
    return 0;
  case CN_OP_IDENTITY:
    set_shape(y, x->ndim, x->dims);
    return 0;
  case CN_OP_REDUCE: {
    const cn_reduce_params_t *p = &n->p.reduce;
    if (x->ndim < 32 && (p->axes >> x->ndim) != 0)
      return NODE_ERR(CN_EFORMAT, "reduction axes 0x%x for a %d-D input",
                      p->axes, x->ndim);
    int nd = 0;
    for (int k = 0; k < x->ndim; k++) {
      if (!(p->axes & (1u << k)))
        d[nd++] = x->dims[k];
      else if (x->dims[k] == 0 &&
               (p->kind == CN_REDUCE_MAX || p->kind == CN_REDUCE_MIN))
        return NODE_ERR(CN_EFORMAT, "max/min over an empty axis");
      else if (p->keepdims)
        d[nd++] = 1;
    }
    set_shape(y, nd, d);
    return 0;
  }
  case CN_OP_PRIOR_BOX:
  case CN_OP_DETECTION_OUTPUT:
    if (y->ndim < 1)
      return NODE_ERR(CN_EFORMAT, "output shape not set by the importer");
    return 0;
  default:
    return NODE_ERR(CN_EINTERNAL, "unknown op %d", (int)n->op);
  }
}

void cn__err_clean(cn_err_t *err) {
  if (!err)
    return;
  for (char *c = err->msg; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
}

static int infer_node_impl(cn_graph_t *g, int ni, cn_err_t *err);
static int finalize_impl(cn_graph_t *g, cn_err_t *err);

int cn_graph_infer_node(cn_graph_t *g, int ni, cn_err_t *err) {
  int r = infer_node_impl(g, ni, err);
  if (r < 0)
    cn__err_clean(err);
  return r;
}

int cn_graph_finalize(cn_graph_t *g, cn_err_t *err) {
  int r = finalize_impl(g, err);
  if (r < 0)
    cn__err_clean(err);
  return r;
}

static int infer_node_impl(cn_graph_t *g, int ni, cn_err_t *err) {
  if (ni < 0 || ni >= g->nnodes)
    return cn_err_set(err, CN_EINVAL, "%s: no node %d", g->source, ni);
  cn_node_t *n = &g->nodes[ni];
  int mn = slots[n->op][0], mx = slots[n->op][1];
  if (n->ninputs < mn || (mx >= 0 && n->ninputs > mx))
    return NODE_ERR(CN_EFORMAT, "%s takes %d..%d inputs, has %d",
                    cn_op_name(n->op), mn, mx, n->ninputs);
  int r = infer_node(g, ni, err);
  for (int i = 0; r == 0 && i < n->noutputs; i++) {
    cn_tensor_t *t = &g->tensors[n->outputs[i]];
    r = check_dims(g, t->name, t->ndim, t->dims, err);
  }
  return r;
}

static int finalize_impl(cn_graph_t *g, cn_err_t *err) {
  for (int t = 0; t < g->ntensors; t++) {
    g->tensors[t].producer = -1;
    g->tensors[t].nuses = 0;
    g->tensors[t].flags &= ~(unsigned)(CN_TENSOR_INPUT | CN_TENSOR_OUTPUT);
  }
  for (int i = 0; i < g->ninputs; i++) {
    cn_tensor_t *t = &g->tensors[g->inputs[i]];
    if (t->flags & CN_TENSOR_CONST)
      return cn_err_set(err, CN_EFORMAT, "%s: input %s is a constant",
                        g->source, t->name);
    if (t->dtype != CN_DT_F32)
      return cn_err_set(err, CN_EUNSUPPORTED, "%s: input %s is not float32",
                        g->source, t->name);
    for (int k = 0; k < t->ndim; k++)
      if (t->dims[k] < 1)
        return cn_err_set(err, CN_EFORMAT,
                          "%s: input %s has dimension %d = %" PRId64, g->source,
                          t->name, k, t->dims[k]);
    t->flags |= CN_TENSOR_INPUT;
  }
  for (int ni = 0; ni < g->nnodes; ni++) {
    cn_node_t *n = &g->nodes[ni];
    if (n->op < 0 || n->op >= CN_OP_COUNT_)
      return NODE_ERR(CN_EINTERNAL, "deleted node left in the graph");
    int mn = slots[n->op][0], mx = slots[n->op][1];
    if (n->ninputs < mn || (mx >= 0 && n->ninputs > mx))
      return NODE_ERR(CN_EFORMAT, "%s takes %d..%d inputs, has %d",
                      cn_op_name(n->op), mn, mx, n->ninputs);
    if ((n->op != CN_OP_SPLIT && n->noutputs != 1) || n->noutputs < 1)
      return NODE_ERR(CN_EFORMAT, "%d outputs", n->noutputs);
    for (int i = 0; i < n->ninputs; i++) {
      int id = n->inputs[i];
      if (id < 0)
        continue;
      cn_tensor_t *t = &g->tensors[id];
      if (!(t->flags & (CN_TENSOR_CONST | CN_TENSOR_INPUT)) && t->producer < 0)
        return NODE_ERR(CN_EFORMAT, "input %s is not computed before this node",
                        t->name);
      if (t->dtype != CN_DT_F32)
        return NODE_ERR(CN_EUNSUPPORTED, "input %s is not float32", t->name);
      t->nuses++;
    }
    for (int i = 0; i < n->noutputs; i++) {
      cn_tensor_t *t = &g->tensors[n->outputs[i]];
      if (t->producer >= 0 || (t->flags & (CN_TENSOR_CONST | CN_TENSOR_INPUT)))
        return NODE_ERR(CN_EFORMAT, "output %s is written twice", t->name);
      t->producer = ni;
      t->dtype = CN_DT_F32;
    }
    int r = infer_node(g, ni, err);
    if (r < 0)
      return r;
    for (int i = 0; i < n->noutputs; i++) {
      cn_tensor_t *t = &g->tensors[n->outputs[i]];
      r = check_dims(g, t->name, t->ndim, t->dims, err);
      if (r < 0)
        return r;
    }
  }
  for (int i = 0; i < g->noutputs; i++) {
    cn_tensor_t *t = &g->tensors[g->outputs[i]];
    if (t->producer < 0 && !(t->flags & (CN_TENSOR_INPUT | CN_TENSOR_CONST)))
      return cn_err_set(err, CN_EFORMAT, "%s: output %s is never computed",
                        g->source, t->name);
    if (t->dtype != CN_DT_F32)
      return cn_err_set(err, CN_EUNSUPPORTED, "%s: output %s is not float32",
                        g->source, t->name);
    t->flags |= CN_TENSOR_OUTPUT;
  }
  return 0;
}

int cn_graph_compact(cn_graph_t *g, cn_err_t *err) {
  int *map = malloc(sizeof(int) * (size_t)(g->ntensors ? g->ntensors : 1));
  if (!map)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
  for (int t = 0; t < g->ntensors; t++)
    map[t] = -1;
  int nn = 0;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].op < 0 || g->nodes[i].op >= CN_OP_COUNT_)
      continue;
    g->nodes[nn++] = g->nodes[i];
  }
  g->nnodes = nn;
  for (int i = 0; i < g->nnodes; i++) {
    for (int k = 0; k < g->nodes[i].ninputs; k++)
      if (g->nodes[i].inputs[k] >= 0)
        map[g->nodes[i].inputs[k]] = 1;
    for (int k = 0; k < g->nodes[i].noutputs; k++)
      map[g->nodes[i].outputs[k]] = 1;
  }
  for (int i = 0; i < g->ninputs; i++)
    map[g->inputs[i]] = 1;
  for (int i = 0; i < g->noutputs; i++)
    map[g->outputs[i]] = 1;
  int nt = 0;
  for (int t = 0; t < g->ntensors; t++) {
    if (map[t] < 0)
      continue;
    map[t] = nt;
    g->tensors[nt++] = g->tensors[t];
  }
  g->ntensors = nt;
  for (int i = 0; i < g->nnodes; i++) {
    for (int k = 0; k < g->nodes[i].ninputs; k++)
      if (g->nodes[i].inputs[k] >= 0)
        g->nodes[i].inputs[k] = map[g->nodes[i].inputs[k]];
    for (int k = 0; k < g->nodes[i].noutputs; k++)
      g->nodes[i].outputs[k] = map[g->nodes[i].outputs[k]];
  }
  for (int i = 0; i < g->ninputs; i++)
    g->inputs[i] = map[g->inputs[i]];
  for (int i = 0; i < g->noutputs; i++)
    g->outputs[i] = map[g->outputs[i]];
  free(map);
  int cap = 256;
  while (cap < 2 * g->ntensors + 2)
    cap *= 2;
  if (hash_rebuild(g, cap) < 0)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
  return cn_graph_finalize(g, err);
}

double cn_node_flops(const cn_graph_t *g, int ni) {
  const cn_node_t *n = &g->nodes[ni];
  const cn_tensor_t *y = &g->tensors[n->outputs[0]];
  switch (n->op) {
  case CN_OP_CONV: {
    const cn_tensor_t *w = &g->tensors[n->inputs[1]];
    return 2.0 * (double)cn_tensor_numel(y) *
           (double)(w->dims[1] * w->dims[2] * w->dims[3]);
  }
  case CN_OP_DECONV: {
    const cn_tensor_t *x = &g->tensors[n->inputs[0]];
    const cn_tensor_t *w = &g->tensors[n->inputs[1]];
    return 2.0 * (double)cn_tensor_numel(x) *
           (double)(w->dims[1] * w->dims[2] * w->dims[3]);
  }
  case CN_OP_INNER_PRODUCT: {
    const cn_tensor_t *w = &g->tensors[n->inputs[1]];
    return 2.0 * (double)cn_tensor_numel(y) * (double)w->dims[1];
  }
  case CN_OP_MATMUL: {
    const cn_tensor_t *a = &g->tensors[n->inputs[0]];
    return 2.0 * (double)cn_tensor_numel(y) * (double)a->dims[a->ndim - 1];
  }
  default:
    return (double)cn_tensor_numel(y);
  }
}

double cn_graph_flops(const cn_graph_t *g) {
  double f = 0;
  for (int i = 0; i < g->nnodes; i++)
    f += cn_node_flops(g, i);
  return f;
}

int64_t cn_graph_params(const cn_graph_t *g) {
  int64_t p = 0;
  for (int t = 0; t < g->ntensors; t++)
    if ((g->tensors[t].flags & CN_TENSOR_CONST) && g->tensors[t].nuses > 0)
      p += cn_tensor_numel(&g->tensors[t]);
  return p;
}

void cn_graph_print(const cn_graph_t *g, FILE *f) {
  char s1[96], s2[96];
  for (int i = 0; i < g->nnodes; i++) {
    const cn_node_t *n = &g->nodes[i];
    shape_str(&g->tensors[n->inputs[0]], s1, sizeof s1);
    shape_str(&g->tensors[n->outputs[0]], s2, sizeof s2);
    fprintf(f, "%4d %-15s %-28s %s -> %s", i, cn_op_name(n->op), n->name, s1,
            s2);
    const cn_postops_t *po = n->op == CN_OP_CONV            ? &n->p.conv.post
                             : n->op == CN_OP_INNER_PRODUCT ? &n->p.ip.post
                                                            : NULL;
    for (int k = 0; po && k < po->n; k++)
      fprintf(f, " +%s",
              po->op[k].kind == CN_POST_SUM ? "sum"
                                            : cn_act_name(po->op[k].act));
    if (n->op == CN_OP_ACT)
      fprintf(f, " %s", cn_act_name(n->p.act.kind));
    fputc('\n', f);
  }
}
