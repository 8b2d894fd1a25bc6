/* The oneDNN executor: prepare (lower, plan, bind), run, destroy.
 * See dnnl_internal.h for the model of values, stores and steps.
 *
 * Memory planning: each root store in the arena lives from the first step
 * that touches it to the last; stores are placed largest first at the
 * lowest offset that no store with an overlapping lifetime occupies. A
 * step's inputs and outputs overlap in time, so they never share bytes,
 * except where lowering put them in one store on purpose (the residual SUM
 * written into the dead shortcut, views, concat in place).
 *
 * Steady state: run() sets the caller's buffer addresses on the few memory
 * objects that point at them and executes the prepared steps; camnet's code
 * allocates nothing there. (oneDNN 2.6 itself builds a small argument map
 * on the heap inside every dnnl_primitive_execute; that is the library's.)
 */
#include <limits.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "engine/dnnl/dnnl_internal.h"

#define ARENA_ALIGN 64

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static void dnnl_destroy(void *state) {
  cn__dnnl_t *s = state;
  if (!s)
    return;
  for (int i = 0; i < s->nsteps; i++) {
    cn__dstep_t *st = &s->steps[i];
    if (st->prim)
      dnnl_primitive_destroy(st->prim);
    if (st->scratch_mem)
      dnnl_memory_destroy(st->scratch_mem);
    free(st->arg_ids);
    free(st->arg_vals);
    free(st->args);
    free(st->in_vals);
    free(st->out_vals);
    free(st->inp);
    free(st->outp);
  }
  for (int i = 0; i < s->nvals; i++)
    if (s->vals[i].mem)
      dnnl_memory_destroy(s->vals[i].mem);
  free(s->steps);
  free(s->info);
  free(s->vals);
  free(s->stores);
  free(s->tval);
  free(s->last_use);
  free(s->ext_vals);
  free(s->pend);
  cn__dnnl_unmap(s->wmem, s->wmem_size);
  cn__dnnl_unmap(s->arena, s->arena_map);
  free(s->scratch);
  if (s->strm)
    dnnl_stream_destroy(s->strm);
  if (s->eng)
    dnnl_engine_destroy(s->eng);
  free(s);
}

/* Calls fn(s, value) for every value step k reads or writes. */
static void step_vals(cn__dnnl_t *s, int k, void (*fn)(cn__dnnl_t *, int, int),
                      int arg) {
  cn__dstep_t *st = &s->steps[k];
  if (st->kind == CN__STEP_PRIM) {
    for (int a = 0; a < st->nargs; a++)
      fn(s, st->arg_vals[a], arg);
  } else {
    for (int a = 0; a < st->nin; a++)
      if (st->in_vals[a] >= 0)
        fn(s, st->in_vals[a], arg);
    for (int a = 0; a < st->nout; a++)
      fn(s, st->out_vals[a], arg);
  }
}

static void extend_life(cn__dnnl_t *s, int v, int step) {
  if (s->vals[v].store < 0)
    return;
  cn__dstore_t *r = &s->stores[cn__dnnl_root(s, s->vals[v].store)];
  if (step < r->first_step)
    r->first_step = step;
  if (step > r->last_step)
    r->last_step = step;
}

typedef struct {
  size_t size, off;
  int first, last, id;
} place_t;

static int by_size_desc(const void *a, const void *b) {
  const place_t *x = a, *y = b;
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  return x->first - y->first;
}

static int by_off(const void *a, const void *b) {
  const place_t *x = *(place_t *const *)a, *y = *(place_t *const *)b;
  return x->off < y->off ? -1 : x->off > y->off;
}

static int plan(cn__dnnl_t *s, cn_err_t *err) {
  for (int i = 0; i < s->nstores; i++) {
    s->stores[i].first_step = INT_MAX;
    s->stores[i].last_step = -1;
  }
  for (int k = 0; k < s->nsteps; k++)
    step_vals(s, k, extend_life, k);

  int n = 0;
  place_t *items = calloc((size_t)s->nstores + 1, sizeof(*items));
  place_t **conf = calloc((size_t)s->nstores + 1, sizeof(*conf));
  if (!items || !conf) {
    free(items);
    free(conf);
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  }
  for (int i = 0; i < s->nstores; i++) {
    cn__dstore_t *st = &s->stores[i];
    if (st->parent >= 0 || st->kind != CN__ST_ARENA || st->last_step < 0)
      continue;
    items[n] = (place_t){align_up(st->size, ARENA_ALIGN), 0, st->first_step,
                         st->last_step, i};
    n++;
  }
  qsort(items, (size_t)n, sizeof(*items), by_size_desc);
  size_t total = 0;
  for (int j = 0; j < n; j++) {
    int nc = 0;
    for (int p = 0; p < j; p++)
      if (items[p].first <= items[j].last && items[j].first <= items[p].last)
        conf[nc++] = &items[p];
    qsort(conf, (size_t)nc, sizeof(*conf), by_off);
    size_t off = 0;
    for (int c = 0; c < nc; c++) {
      if (off + items[j].size <= conf[c]->off)
        break;
      if (conf[c]->off + conf[c]->size > off)
        off = conf[c]->off + conf[c]->size;
    }
    items[j].off = off;
    s->stores[items[j].id].off = off;
    if (off + items[j].size > total)
      total = off + items[j].size;
  }
  s->arena_size = total;
  free(items);
  free(conf);
  return 0;
}

/* Creates the memory objects and argument arrays once the arena exists. */
static int bind(cn__dnnl_t *s, cn_err_t *err) {
  if (s->arena_size) {
    s->arena = cn__dnnl_map(s->arena_size, &s->arena_map);
    if (!s->arena)
      return cn_err_set(err, CN_ENOMEM,
                        "dnnl: no memory for %zu bytes of activations",
                        s->arena_size);
  }
  size_t scratch = 0;
  for (int k = 0; k < s->nsteps; k++)
    if (s->steps[k].scratch_size > scratch)
      scratch = s->steps[k].scratch_size;
  if (scratch) {
    s->scratch_size = align_up(scratch, 4096);
    s->scratch = aligned_alloc(4096, s->scratch_size);
    if (!s->scratch)
      return cn_err_set(err, CN_ENOMEM, "dnnl: no memory for the scratchpad");
  }

  s->ext_vals = calloc((size_t)s->nvals + 1, sizeof(int));
  if (!s->ext_vals)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  for (int i = 0; i < s->nvals; i++) {
    cn__dval_t *v = &s->vals[i];
    if (v->store < 0)
      continue; /* constants own their memory already */
    int r = v->store;
    size_t boff = v->off;
    while (s->stores[r].parent >= 0) {
      boff += s->stores[r].poff;
      r = s->stores[r].parent;
    }
    v->boff = boff;
    void *h = DNNL_MEMORY_NONE;
    const cn__dstore_t *rs = &s->stores[r];
    if (rs->kind == CN__ST_ARENA && rs->last_step >= 0)
      h = (char *)s->arena + rs->off + boff;
    else if (rs->kind == CN__ST_INPUT || rs->kind == CN__ST_OUTPUT)
      s->ext_vals[s->n_ext++] = i;
    dnnl_status_t st = dnnl_memory_create(&v->mem, &v->md, s->eng, h);
    if (st != dnnl_success)
      return cn_err_set(err, CN_EINTERNAL, "dnnl: memory object (status %d)",
                        st);
  }
  for (int k = 0; k < s->nsteps; k++) {
    cn__dstep_t *st = &s->steps[k];
    if (st->kind == CN__STEP_REF)
      continue;
    st->args = calloc((size_t)st->nargs + 1, sizeof(*st->args));
    if (!st->args)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    for (int a = 0; a < st->nargs; a++)
      st->args[a] =
          (dnnl_exec_arg_t){st->arg_ids[a], s->vals[st->arg_vals[a]].mem};
    if (st->scratch_size) {
      if (dnnl_memory_create(&st->scratch_mem, &st->scratch_md, s->eng,
                             s->scratch) != dnnl_success)
        return cn_err_set(err, CN_EINTERNAL, "dnnl: scratchpad memory");
      st->args[st->nargs] =
          (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, st->scratch_mem};
    }
  }
  return 0;
}

/* The graph inputs: plain float32 memories the caller's data lands in. */
static int lower_inputs(cn__dnnl_t *s, cn_err_t *err) {
  const cn_graph_t *g = s->g;
  for (int j = 0; j < g->ninputs; j++) {
    const cn_tensor_t *t = &g->tensors[g->inputs[j]];
    if (t->dtype != CN_DT_F32)
      return cn_err_set(err, CN_EUNSUPPORTED,
                        "dnnl: input %d (%s) is not float32", j, t->name);
    dnnl_memory_desc_t md;
    cn__dnnl_md_plain(&md, t->ndim, t->dims);
    int st = cn__dnnl_new_store(s, CN__ST_INPUT, dnnl_memory_desc_get_size(&md),
                                s->last_use[g->inputs[j]]);
    int v = st < 0 ? st : cn__dnnl_new_val(s, g->inputs[j], &md, st, 0);
    if (v < 0)
      return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    s->stores[st].ext = j;
    s->vals[v].dense = 1;
    s->tval[g->inputs[j]] = v;
  }
  return 0;
}

static int dnnl_prepare(const cn_graph_t *g, const cn_engine_opts_t *opts,
                        void **state, cn_err_t *err) {
  *state = NULL;
  cn__dnnl_t *s = calloc(1, sizeof(*s));
  if (!s)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  s->g = g;
  s->threads = opts && opts->threads > 0 ? opts->threads : 0;
  s->intr = opts ? opts->interrupt : NULL;
  /* oneDNN sizes its blocking by the thread count at creation: create the
   * primitives with the count they will run with. */
  int saved_threads = omp_get_max_threads();
  if (s->threads)
    omp_set_num_threads(s->threads);
  int rc = 0;
  if (dnnl_engine_create(&s->eng, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&s->strm, s->eng, dnnl_stream_default_flags) !=
          dnnl_success) {
    rc = cn_err_set(err, CN_EINTERNAL, "dnnl: cannot create the CPU engine");
    goto out;
  }
  s->tval = malloc(((size_t)g->ntensors + 1) * sizeof(int));
  s->last_use = malloc(((size_t)g->ntensors + 1) * sizeof(int));
  if (!s->tval || !s->last_use) {
    rc = cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
    goto out;
  }
  for (int t = 0; t < g->ntensors; t++) {
    s->tval[t] = -1;
    s->last_use[t] = -1;
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].ninputs; k++)
      if (g->nodes[i].inputs[k] >= 0)
        s->last_use[g->nodes[i].inputs[k]] = i;
  for (int j = 0; j < g->noutputs; j++)
    s->last_use[g->outputs[j]] = INT_MAX;

  if (rc == 0)
    rc = lower_inputs(s, err);
  for (int i = 0; i < g->nnodes && rc == 0; i++)
    if (!(rc = cn__load_interrupted(s->intr, g->source, err)))
      rc = cn__dnnl_lower_node(s, i, err);
  if (rc == 0)
    rc = cn__dnnl_lower_outputs(s, err);
  if (rc == 0)
    rc = plan(s, err);
  if (rc == 0)
    rc =
        cn__dnnl_load_weights(s, err); /* before bind: args take the memories */
  if (rc == 0)
    rc = bind(s, err);
  if (rc == 0)
    rc = cn__dnnl_profile_init(s, err);
  s->intr = NULL; /* the caller's, valid only during the load */
out:
  if (s->threads)
    omp_set_num_threads(saved_threads);
  if (rc < 0) {
    dnnl_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* One step; the caller has set the caller's buffer addresses. */
static int run_step(cn__dnnl_t *s, int k, cn_err_t *err) {
  cn__dstep_t *st = &s->steps[k];
  if (st->kind == CN__STEP_PRIM) {
    dnnl_status_t e = dnnl_primitive_execute(
        st->prim, s->strm, st->nargs + (st->scratch_size ? 1 : 0), st->args);
    if (e != dnnl_success)
      return cn_err_set(err, CN_EINTERNAL,
                        "dnnl: step %d (%s, node %d) failed (status %d)", k,
                        st->what, st->node, e);
    return 0;
  }
  dnnl_stream_wait(s->strm);
  for (int a = 0; a < st->nin; a++) {
    void *h = NULL;
    if (st->in_vals[a] >= 0)
      dnnl_memory_get_data_handle(s->vals[st->in_vals[a]].mem, &h);
    st->inp[a] = h;
  }
  for (int a = 0; a < st->nout; a++) {
    void *h = NULL;
    dnnl_memory_get_data_handle(s->vals[st->out_vals[a]].mem, &h);
    st->outp[a] = h;
  }
  return cn_ref_node_run(s->g, st->node, st->inp, st->outp, s->scratch, err);
}

/* step_ns: NULL, or per step ns added (the CPU stream runs each primitive
 * to completion inside execute, so a clock around it times the step). */
static int run_all(void *state, const float *const *inputs,
                   float *const *outputs, int64_t *step_ns, cn_err_t *err) {
  cn__dnnl_t *s = state;
  int saved_threads = 0;
  if (s->threads) {
    saved_threads = omp_get_max_threads();
    omp_set_num_threads(s->threads);
  }
  for (int k = 0; k < s->n_ext; k++) {
    cn__dval_t *v = &s->vals[s->ext_vals[k]];
    const cn__dstore_t *r = &s->stores[cn__dnnl_root(s, v->store)];
    char *base = r->kind == CN__ST_INPUT ? (char *)(uintptr_t)inputs[r->ext]
                                         : (char *)outputs[r->ext];
    dnnl_memory_set_data_handle(v->mem, base + v->boff);
  }
  int rc = 0;
  for (int k = 0; k < s->nsteps && rc == 0; k++) {
    int64_t t0 = step_ns ? cn_clock_now() : 0;
    rc = run_step(s, k, err);
    if (step_ns) {
      dnnl_stream_wait(s->strm);
      step_ns[k] += cn_clock_now() - t0;
    }
  }
  dnnl_stream_wait(s->strm);
  if (s->threads)
    omp_set_num_threads(saved_threads);
  return rc;
}

static int dnnl_run(void *state, const float *const *inputs,
                    float *const *outputs, cn_err_t *err) {
  return run_all(state, inputs, outputs, NULL, err);
}

static int dnnl_steps(void *state, const cn_engine_step_t **steps) {
  cn__dnnl_t *s = state;
  *steps = s->info;
  return s->nsteps;
}

/* "acdb", "aBcd16b": the physical order of a blocked descriptor. */
static void md_str(const dnnl_memory_desc_t *md, char *buf, size_t len) {
  if (md->format_kind != dnnl_blocked || md->ndims <= 0 || md->ndims > 12) {
    snprintf(buf, len, "opaque");
    return;
  }
  const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
  int order[12], nd = md->ndims;
  for (int i = 0; i < nd; i++)
    order[i] = i;
  for (int i = 0; i < nd; i++) /* selection sort by stride, outermost first */
    for (int j = i + 1; j < nd; j++)
      if (b->strides[order[j]] > b->strides[order[i]] ||
          (b->strides[order[j]] == b->strides[order[i]] &&
           order[j] < order[i])) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  size_t p = 0;
  for (int i = 0; i < nd && p + 1 < len; i++) {
    int blocked = 0;
    for (int k = 0; k < b->inner_nblks; k++)
      blocked |= b->inner_idxs[k] == order[i];
    buf[p++] = (char)((blocked ? 'A' : 'a') + order[i]);
  }
  buf[p] = 0;
  for (int k = 0; k < b->inner_nblks && p + 8 < len; k++)
    p += (size_t)snprintf(buf + p, len - p, "%d%c", (int)b->inner_blks[k],
                          'a' + (int)b->inner_idxs[k]);
  if (md->offset0 && p + 16 < len)
    snprintf(buf + p, len - p, "+%lld", (long long)md->offset0);
}

void cn__dnnl_describe(const void *state, FILE *f) {
  const cn__dnnl_t *s = state;
  fprintf(f,
          "dnnl: %d steps, %d reference nodes, %d reorders inside the graph, "
          "%d residual sums in place, %d concat inputs in place, %d copying "
          "concats, "
          "arena %.1f MiB, scratch %.1f KiB\n",
          s->nsteps, s->n_ref_nodes, s->n_reorders_in_graph, s->n_inplace_sum,
          s->n_inplace_concat, s->n_copy_concat,
          (double)s->arena_size / 1048576.0, (double)s->scratch_size / 1024.0);
  for (int k = 0; k < s->nsteps; k++) {
    const cn__dstep_t *st = &s->steps[k];
    const char *name = st->node >= 0 ? s->g->nodes[st->node].name : "";
    const char *impl = "reference";
    char lay[64] = "plain";
    if (st->kind == CN__STEP_PRIM) {
      const_dnnl_primitive_desc_t pd;
      if (dnnl_primitive_get_primitive_desc(st->prim, &pd) == dnnl_success)
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
      for (int a = 0; a < st->nargs; a++)
        if (st->arg_ids[a] == DNNL_ARG_DST)
          md_str(&s->vals[st->arg_vals[a]].md, lay, sizeof(lay));
    }
    fprintf(f, "  %3d %-8s %-24s %-24s -> %s\n", k, st->what, name ? name : "?",
            impl, lay);
  }
}

const cn_engine_ops_t cn_engine_dnnl = {
    .name = "dnnl",
    .prepare = dnnl_prepare,
    .run = dnnl_run,
    .destroy = dnnl_destroy,
    .steps = dnnl_steps,
    .run_timed = run_all,
};
