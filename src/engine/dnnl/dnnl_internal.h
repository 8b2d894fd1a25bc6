/* Internal state of the oneDNN executor (not public; see backend.h).
 *
 * prepare() lowers the graph node by node into a list of steps: oneDNN
 * primitives (created once, weights reordered once) and, for ops oneDNN
 * lacks, reference kernels on plain buffers. Every activation lives in a
 * "value": a oneDNN memory descriptor (the layout its producer chose) over
 * a byte range of a "store". A tensor can have several values: its native
 * one, views (reshape, slice, transpose share the store) and conversions
 * to other layouts (made by a reorder step, cached so each is done once).
 *
 * Stores are what memory planning places: after lowering, each root store
 * gets [first step, last step] and an offset in one arena, and stores whose
 * lifetimes do not overlap share bytes. A store can sit inside another
 * (parent/poff): concat in place, where a producer writes straight into its
 * slice of the concat output. Graph inputs and outputs are stores outside
 * the arena whose address is the caller's buffer, set at each run.
 *
 * run() then only sets the caller's buffer addresses and executes the steps.
 */
#ifndef CN_ENGINE_DNNL_INTERNAL_H
#define CN_ENGINE_DNNL_INTERNAL_H

#include <dnnl.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/backend.h"
#include "engine/interrupt.h"

enum { CN__ST_ARENA, CN__ST_INPUT, CN__ST_OUTPUT, CN__ST_CONST };

typedef struct cn__dstore {
  int kind; /* CN__ST_* */
  int ext;  /* graph input/output index for INPUT/OUTPUT stores */
  size_t size;
  int parent; /* -1, or the store this one lives inside */
  size_t poff;
  int last_node; /* last node reading anything held here (roots only) */
  int first_step, last_step; /* planning (roots only) */
  size_t off;                /* arena offset (roots only) */
} cn__dstore_t;

typedef struct cn__dval {
  dnnl_memory_desc_t md;
  int store;  /* -1 for constants that own their dnnl memory */
  size_t off; /* bytes from the store's start */
  int tensor; /* graph tensor held, -1 for prepared weights */
  int next;   /* next value of the same tensor, -1 */
  dnnl_memory_t mem;
  int dense;   /* 1: a layout a primitive may take as is (not a strided view) */
  size_t boff; /* after planning: bytes from the root store's start */
} cn__dval_t;

enum { CN__STEP_PRIM, CN__STEP_REF };

typedef struct cn__dstep {
  int kind;
  int node;         /* graph node it belongs to, -1 for the output reorders */
  const char *what; /* short label for describe(): "conv", "reorder", ... */
  /* PRIM */
  dnnl_primitive_t prim;
  int nargs;
  int *arg_ids, *arg_vals; /* DNNL_ARG_*, value index */
  dnnl_exec_arg_t *args;   /* built after planning, one more for scratchpad */
  dnnl_memory_desc_t scratch_md;
  size_t scratch_size;
  dnnl_memory_t scratch_mem;
  /* REF */
  int nin, nout;
  int *in_vals, *out_vals; /* -1: absent or constant (kernel reads t->data) */
  const float **inp;
  float **outp;
} cn__dstep_t;

/* A weight tensor waiting for its reorder (done once all sizes are known,
 * into one mapping: see cn__dnnl_load_weights). */
typedef struct cn__dpend {
  int val;
  const void *src;
  dnnl_memory_desc_t umd; /* layout of src */
} cn__dpend_t;

typedef struct cn__dnnl {
  const cn_graph_t *g;
  int threads;
  const cn_interrupt_t *intr; /* while preparing only; NULL: none */
  dnnl_engine_t eng;
  dnnl_stream_t strm;

  cn__dval_t *vals;
  int nvals, cvals;
  cn__dstore_t *stores;
  int nstores, cstores;
  cn__dstep_t *steps;
  int nsteps, csteps;

  int *tval;     /* per tensor: its native value, -1 before it exists */
  int *last_use; /* per tensor: last node reading it (nnodes for outputs) */

  cn__dpend_t *pend;
  int npend, cpend;
  void *wmem; /* reordered weights, one mapping */
  size_t wmem_size;

  void *arena;
  size_t arena_size, arena_map;
  int *ext_vals; /* values pointing into the caller's buffers */
  int n_ext;

  void *scratch; /* shared by every step: they run one at a time */
  size_t scratch_size;

  cn_engine_step_t *info; /* per step, for profiles (profile.c) */

  /* counters for describe() and the tests */
  int n_ref_nodes, n_reorders_in_graph, n_inplace_sum, n_inplace_concat;
  int n_copy_concat;
} cn__dnnl_t;

/* state.c (a leaf; lower.c and exec.c use it): value, store and step
 * bookkeeping, plain descriptors, huge-page mappings. */
int cn__dnnl_new_store(cn__dnnl_t *s, int kind, size_t size, int last_node);
int cn__dnnl_new_val(cn__dnnl_t *s, int tensor, const dnnl_memory_desc_t *md,
                     int store, size_t off);
int cn__dnnl_root(const cn__dnnl_t *s, int store);
void cn__dnnl_touch(cn__dnnl_t *s, int store, int node);
/* Appends a primitive step; takes ownership of pd (destroyed here). */
int cn__dnnl_add_prim(cn__dnnl_t *s, int node, const char *what,
                      dnnl_primitive_desc_t pd, int nargs, const int *ids,
                      const int *vals, cn_err_t *err);

void *cn__dnnl_map(size_t size, size_t *mapped);
void cn__dnnl_unmap(void *p, size_t mapped);
void cn__dnnl_md_plain(dnnl_memory_desc_t *md, int ndim, const int64_t *dims);

/* lower.c (exec.c calls it) */
int cn__dnnl_load_weights(cn__dnnl_t *s, cn_err_t *err);
int cn__dnnl_lower_node(cn__dnnl_t *s, int node, cn_err_t *err);
int cn__dnnl_lower_outputs(cn__dnnl_t *s, cn_err_t *err);

/* profile.c: fills s->info (names, reference flags, estimated cost) once
 * the steps exist; returns 0 or CN_ENOMEM. */
int cn__dnnl_profile_init(cn__dnnl_t *s, cn_err_t *err);

/* exec.c: counters and the step list (tests, debugging). */
void cn__dnnl_describe(const void *state, FILE *f);

#endif
