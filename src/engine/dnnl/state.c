/* The oneDNN executor's bookkeeping: growing the lists of stores, values
 * and steps, root stores and lifetimes, plain memory descriptors, and the
 * huge-page mappings. A leaf: lowering (lower.c) and planning/running
 * (exec.c) both use it, and it uses neither. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/dnnl/dnnl_internal.h"

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static int grow(void **arr, int *cap, int n, size_t elem) {
  if (n < *cap)
    return 0;
  int c = *cap ? 2 * *cap : 64;
  void *p = realloc(*arr, (size_t)c * elem);
  if (!p)
    return CN_ENOMEM;
  *arr = p;
  *cap = c;
  return 0;
}

/* Big buffers (weights, activations) come straight from mmap, asking for
 * huge pages: on the VMs camnet is measured on, first-touching fresh
 * memory costs far more per 4 KiB page than the copy itself, and 2 MiB
 * pages halve it. The mapping is prefaulted here, at load, so no run pays
 * for it. */
void *cn__dnnl_map(size_t size, size_t *mapped) {
  size_t huge = (size_t)2 << 20;
  size_t n = align_up(size, 4096);
  if (n >= huge)
    n = align_up(n, huge);
  void *p =
      mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
#ifdef MADV_HUGEPAGE
  if (n >= huge)
    madvise(p, n, MADV_HUGEPAGE);
#endif
  memset(p, 0, n);
  *mapped = n;
  return p;
}

void cn__dnnl_unmap(void *p, size_t mapped) {
  if (p)
    munmap(p, mapped);
}

int cn__dnnl_new_store(cn__dnnl_t *s, int kind, size_t size, int last_node) {
  if (grow((void **)&s->stores, &s->cstores, s->nstores, sizeof(*s->stores)))
    return CN_ENOMEM;
  cn__dstore_t *st = &s->stores[s->nstores];
  memset(st, 0, sizeof(*st));
  st->kind = kind;
  st->ext = -1;
  st->size = size;
  st->parent = -1;
  st->last_node = last_node;
  return s->nstores++;
}

int cn__dnnl_new_val(cn__dnnl_t *s, int tensor, const dnnl_memory_desc_t *md,
                     int store, size_t off) {
  if (grow((void **)&s->vals, &s->cvals, s->nvals, sizeof(*s->vals)))
    return CN_ENOMEM;
  cn__dval_t *v = &s->vals[s->nvals];
  memset(v, 0, sizeof(*v));
  v->md = *md;
  v->store = store;
  v->off = off;
  v->tensor = tensor;
  v->next = -1;
  return s->nvals++;
}

int cn__dnnl_root(const cn__dnnl_t *s, int store) {
  while (s->stores[store].parent >= 0)
    store = s->stores[store].parent;
  return store;
}

void cn__dnnl_touch(cn__dnnl_t *s, int store, int node) {
  int r = cn__dnnl_root(s, store);
  if (node > s->stores[r].last_node)
    s->stores[r].last_node = node;
}

int cn__dnnl_add_prim(cn__dnnl_t *s, int node, const char *what,
                      dnnl_primitive_desc_t pd, int nargs, const int *ids,
                      const int *vals, cn_err_t *err) {
  if (grow((void **)&s->steps, &s->csteps, s->nsteps, sizeof(*s->steps))) {
    dnnl_primitive_desc_destroy(pd);
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  cn__dstep_t *st = &s->steps[s->nsteps];
  memset(st, 0, sizeof(*st));
  st->kind = CN__STEP_PRIM;
  st->node = node;
  st->what = what;
  const dnnl_memory_desc_t *sp =
      dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (sp && sp->ndims > 0) {
    st->scratch_md = *sp;
    st->scratch_size = dnnl_memory_desc_get_size(sp);
  }
  dnnl_status_t rs = dnnl_primitive_create(&st->prim, pd);
  dnnl_primitive_desc_destroy(pd);
  if (rs != dnnl_success) {
    const char *name = node >= 0 ? s->g->nodes[node].name : "output";
    return cn_err_set(err, CN_EINTERNAL,
                      "dnnl: node %d (%s): creating %s (status %d)", node,
                      name ? name : "?", what, rs);
  }
  st->nargs = nargs;
  st->arg_ids = malloc((size_t)nargs * sizeof(int));
  st->arg_vals = malloc((size_t)nargs * sizeof(int));
  s->nsteps++; /* counted now so destroy() frees the primitive */
  if (!st->arg_ids || !st->arg_vals)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  memcpy(st->arg_ids, ids, (size_t)nargs * sizeof(int));
  memcpy(st->arg_vals, vals, (size_t)nargs * sizeof(int));
  return 0;
}

void cn__dnnl_md_plain(dnnl_memory_desc_t *md, int ndim, const int64_t *dims) {
  dnnl_dims_t d, st;
  if (ndim == 0) {
    d[0] = 1;
    ndim = 1;
  } else {
    for (int i = 0; i < ndim; i++)
      d[i] = dims[i];
  }
  dnnl_dim_t acc = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= d[i] > 0 ? d[i] : 1;
  }
  dnnl_memory_desc_init_by_strides(md, ndim, d, dnnl_f32, st);
}
