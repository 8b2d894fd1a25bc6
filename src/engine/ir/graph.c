#include "engine/ir/graph.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/ir/graph_internal.h"

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

int cn__check_dims(const cn_graph_t *g, const char *name, int ndim,
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
  if (cn__check_dims(g, name, ndim, dims_in, NULL) < 0)
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
  size_t bytes = (size_t)cn_tensor_numel(t) * cn_dtype_size(dt);
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

/* ---- shape inference --------------------------------------------------- */

#define NODE_ERR(code, ...) cn__node_err(g, ni, err, code, __VA_ARGS__)

int cn__node_err(const cn_graph_t *g, int ni, cn_err_t *err, int code,
                 const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return cn_err_set(err, code, "%s: node %d (%s): %s", g->source, ni,
                    g->nodes[ni].name, what);
}

void cn__graph_shape_str(const cn_tensor_t *t, char *buf, size_t n) {
  size_t o = 0;
  o += (size_t)snprintf(buf + o, n - o, "[");
  for (int i = 0; i < t->ndim && o < n; i++)
    o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, i ? "," : "",
                          t->dims[i]);
  if (o < n)
    snprintf(buf + o, n - o, "]");
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

/* The op's input count, then its shape function, then the output sizes. */
static int node_shape(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_node_t *n = &g->nodes[ni];
  const cn_op_info_t *oi = cn_op_info(n->op);
  if (!oi)
    return NODE_ERR(CN_EINTERNAL, "unknown op %d", (int)n->op);
  if (n->ninputs < oi->min_in || (oi->max_in >= 0 && n->ninputs > oi->max_in))
    return NODE_ERR(CN_EFORMAT, "%s takes %d..%d inputs, has %d", oi->name,
                    oi->min_in, oi->max_in, n->ninputs);
  if (n->ninputs < 1 || n->inputs[0] < 0)
    return NODE_ERR(CN_EFORMAT, "first input is missing");
  int r = oi->shape(g, ni, err);
  for (int i = 0; r == 0 && i < n->noutputs; i++) {
    cn_tensor_t *t = &g->tensors[n->outputs[i]];
    r = cn__check_dims(g, t->name, t->ndim, t->dims, err);
  }
  return r;
}

static int infer_node_impl(cn_graph_t *g, int ni, cn_err_t *err) {
  if (ni < 0 || ni >= g->nnodes)
    return cn_err_set(err, CN_EINVAL, "%s: no node %d", g->source, ni);
  return node_shape(g, ni, err);
}

static int finalize_inputs(cn_graph_t *g, cn_err_t *err) {
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
  return 0;
}

/* Order, uses and types of one node's inputs and outputs, then its shape. */
static int finalize_node(cn_graph_t *g, int ni, cn_err_t *err) {
  cn_node_t *n = &g->nodes[ni];
  const cn_op_info_t *oi = cn_op_info(n->op);
  if (!oi)
    return NODE_ERR(CN_EINTERNAL, "deleted node left in the graph");
  if (n->ninputs < oi->min_in || (oi->max_in >= 0 && n->ninputs > oi->max_in))
    return NODE_ERR(CN_EFORMAT, "%s takes %d..%d inputs, has %d", oi->name,
                    oi->min_in, oi->max_in, n->ninputs);
  if ((oi->max_out >= 0 && n->noutputs > oi->max_out) || n->noutputs < 1)
    return NODE_ERR(CN_EFORMAT, "%d outputs", n->noutputs);
  for (int i = 0; i < n->ninputs; i++) {
    int id = n->inputs[i];
    if (id < 0)
      continue;
    cn_tensor_t *t = &g->tensors[id];
    if (!(t->flags & (CN_TENSOR_CONST | CN_TENSOR_INPUT)) && t->producer < 0)
      return NODE_ERR(CN_EFORMAT, "input %s is not computed before this node",
                      t->name);
    if (!(oi->dtypes & CN_DTYPE_BIT(t->dtype)))
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
  return node_shape(g, ni, err);
}

static int finalize_impl(cn_graph_t *g, cn_err_t *err) {
  int r = finalize_inputs(g, err);
  for (int ni = 0; r == 0 && ni < g->nnodes; ni++)
    r = finalize_node(g, ni, err);
  if (r < 0)
    return r;
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
    cn__graph_shape_str(&g->tensors[n->inputs[0]], s1, sizeof s1);
    cn__graph_shape_str(&g->tensors[n->outputs[0]], s2, sizeof s2);
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
