/* cn_graph: the engine's intermediate representation, independent of the
 * file format it came from and of the backend that runs it.
 *
 * Shape of the IR
 * - Tensors are numbered and named. Shapes are static (open input sizes
 *   are resolved at load), logical row-major (NCHW). Activations are
 *   float32; constants carry their data. Integer and bool tensors exist
 *   only as constants during import (ir/dtype.h), never as node inputs.
 * - Nodes are kept in topological order: a backend walks g->nodes[0..n) and
 *   every input of node i is a graph input, a constant, or an output of a
 *   node before i. Each node has typed parameters in a union selected by op.
 *   Input slots are fixed per op (see cn_op_t); an absent optional input is
 *   -1. Shapes of all outputs are set by cn_graph_finalize().
 * - Graph inputs and outputs are tensor ids in g->inputs / g->outputs, in
 *   the order cn_model_run() takes and returns buffers. An output may be a
 *   constant or a graph input (the backend copies it); an input may be 0-D.
 * - Weights (W, B, BN/Scale parameters, slopes) are constants in every
 *   real model, but a graph may take them as runtime inputs (the ONNX node
 *   tests do): the reference kernels accept both; a backend may fall back
 *   to them for such nodes.
 *
 * Ownership: the graph owns every tensor, node, name and weight, all in one
 * arena freed by cn_graph_destroy(). A backend reads the graph in prepare()
 * and keeps whatever it needs in its own state (reordered weights, plans);
 * it never writes to the graph. The optimizer rewrites a graph in place
 * before any backend sees it.
 *
 * Threads: a graph is built and optimized by one thread; once finalized it
 * is read-only and may be read from any thread.
 *
 * Errors: CN_EFORMAT with "FILE: node N (NAME): what", CN_EUNSUPPORTED for
 * valid models using something not implemented, CN_ENOMEM.
 *
 * Changes to this header after the first commit are announced in a comment
 * block "CHANGES" at the end of this comment and kept source-compatible.
 *
 * CHANGES
 * - added CN_DT_BOOL and ir/dtype.h, cn_tensor_t.dim_syms (open input
 *   dimensions) and cn_graph_t.meta (the file's metadata pairs).
 * - added cn_graph_infer_node() and cn_graph_fold_node() for importers that
 *   need shapes and constant values while they build.
 * - added CN_OP_REDUCE (cn_reduce_params_t) at the end of cn_op_t; backends
 *   without it use the reference kernel (cn_ref_node_run).
 * - moved to engine/ir/: op kinds and params are in ir/op_params.h, the op
 *   table (cn_op_name, cn_act_name, cn_node_flops) in ir/ops.h, both
 *   included here; the optimizer (cn_graph_optimize, cn_graph_fold_node)
 *   is in ir/optimize.h, the importers' entry points in onnx/onnx_import.h
 *   and caffe/caffe_import.h.
 */
#ifndef CN_ENGINE_GRAPH_H
#define CN_ENGINE_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "camnet/error.h"

#include "engine/ir/dtype.h"
#include "engine/ir/ops.h"

enum {
  CN_TENSOR_INPUT = 1u,  /* a graph input */
  CN_TENSOR_OUTPUT = 2u, /* a graph output */
  CN_TENSOR_CONST = 4u,  /* data != NULL, never written */
};

typedef struct cn_tensor {
  const char *name;
  cn_dtype_t dtype;
  int ndim;
  int64_t dims[CN_MAX_DIMS];
  void *data; /* constants only: row-major, arena-owned */
  /* Inputs: the file's symbol of each open dimension, else NULL. */
  const char **dim_syms;
  unsigned flags; /* CN_TENSOR_* */
  int producer;   /* node index; -1 for inputs and constants (finalize) */
  int nuses;      /* how many node input slots read it (finalize) */
} cn_tensor_t;

typedef struct cn_node {
  cn_op_t op;
  const char *name;
  int ninputs, noutputs;
  int *inputs;  /* tensor ids, -1 = absent optional input; arena-owned */
  int *outputs; /* tensor ids */
  cn_op_params_t p;
} cn_node_t;

typedef struct cn_graph {
  const char *source; /* file name used in messages */
  cn_tensor_t *tensors;
  int ntensors;
  cn_node_t *nodes; /* topological order */
  int nnodes;
  int *inputs, ninputs;    /* tensor ids */
  int *outputs, noutputs;  /* tensor ids */
  const char *const *meta; /* the file's metadata: key, value pairs */
  int nmeta;
  struct cn__graph_priv *priv; /* arena and capacities */
} cn_graph_t;

/* create returns NULL on allocation failure. destroy(NULL) is a no-op. */
cn_graph_t *cn_graph_create(const char *source);
void cn_graph_destroy(cn_graph_t *g);

/* Arena memory freed with the graph (zeroed). NULL on failure. */
void *cn_graph_alloc(cn_graph_t *g, size_t size);
const char *cn_graph_strdup(cn_graph_t *g, const char *s);

/* Adds a tensor; returns its id or a negative error. data (may be NULL:
 * zeros) makes it a constant and is copied. Names must be unique. */
int cn_graph_add_tensor(cn_graph_t *g, const char *name, cn_dtype_t dt,
                        int ndim, const int64_t *dims);
int cn_graph_add_const(cn_graph_t *g, const char *name, cn_dtype_t dt, int ndim,
                       const int64_t *dims, const void *data);
/* A fresh unique name from a stem ("conv1_bn" -> "conv1_bn_1"). */
int cn_graph_add_temp(cn_graph_t *g, const char *stem);
/* -1 when no tensor has that name. */
int cn_graph_find(const cn_graph_t *g, const char *name);

/* Appends a node; returns its index or a negative error. Arrays are copied.
 * Fill the params through &g->nodes[idx].p (pointers move on later adds). */
int cn_graph_add_node(cn_graph_t *g, cn_op_t op, const char *name, int nin,
                      const int *in, int nout, const int *out);
int cn_graph_set_inputs(cn_graph_t *g, const int *ids, int n);
int cn_graph_set_outputs(cn_graph_t *g, const int *ids, int n);

/* Checks the node order and input slots, computes producer/nuses and the
 * shape of every node output from its inputs and params. Idempotent; call
 * after import and after every rewrite. */
int cn_graph_finalize(cn_graph_t *g, cn_err_t *err);

/* Shapes of one node's outputs from its inputs' current shapes, for
 * importers that need them while building (finalize redoes all). */
int cn_graph_infer_node(cn_graph_t *g, int node, cn_err_t *err);

/* Removes nodes with op == CN_OP_COUNT_ ("deleted") and tensors no longer
 * referenced, renumbering ids; then finalizes. */
int cn_graph_compact(cn_graph_t *g, cn_err_t *err);

int64_t cn_tensor_numel(const cn_tensor_t *t);
/* Multiply-adds x2 of the whole graph (see cn_node_flops); weights'
 * element count. */
double cn_graph_flops(const cn_graph_t *g);
int64_t cn_graph_params(const cn_graph_t *g);
/* One line per node: "12 CONV conv1 [1,3,224,224] -> [1,64,112,112] ...". */
void cn_graph_print(const cn_graph_t *g, FILE *f);

#endif
