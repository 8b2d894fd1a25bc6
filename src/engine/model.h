/* cn_model: the engine's public API. Load a Caffe or ONNX network, describe
 * its inputs and outputs, run it on float tensors.
 *
 *   cn_model_opts_t o; cn_model_opts_default(&o);
 *   cn_model_t *m; cn_err_t err;
 *   if (cn_model_load(&m, "resnet50.onnx", &o, &err) < 0) puts(err.msg);
 *   const cn_tensor_desc_t *in = cn_model_input(m, 0);   // NCHW dims
 *   cn_model_run(m, &src, &dst, &err);
 *   cn_model_free(m);
 *
 * Formats: ".onnx" is ONNX; ".prototxt" (with opts.weights = the
 * .caffemodel) or ".caffemodel" (with opts.prototxt) is Caffe; opts.format
 * overrides the guess. Loading imports, optimizes (opts.optimize) and
 * prepares the backend (primitives, reordered weights, activation memory);
 * cn_model_run() then allocates nothing.
 *
 * Tensors at the API are dense row-major float32 in the logical shape
 * given by the descriptions (NCHW for images, batch fixed by the model).
 *
 * Ownership: the model owns its descriptions (valid until cn_model_free);
 * run() reads caller-owned input buffers and writes caller-owned outputs.
 *
 * Threads: load/free on any thread. cn_model_run() on one model is
 * serialized internally (calls from several threads wait for each other);
 * different models run in parallel.
 *
 * Errors: negative CN_E* plus a one-line message in err: CN_ENOENT (file),
 * CN_EFORMAT (bad model: "m.onnx: node 12 (Conv_3): kernel_shape has 3
 * values, expected 2"), CN_EUNSUPPORTED (valid but not implemented),
 * CN_EINVAL (bad options), CN_ENOMEM. A failed load leaves nothing to free.
 */
#ifndef CN_ENGINE_MODEL_H
#define CN_ENGINE_MODEL_H

#include <stdint.h>

#include "core/error.h"
#include "core/log.h"

#define CN_MODEL_MAX_DIMS 8

typedef struct cn_model cn_model_t;

typedef struct cn_model_opts {
  const char *format;   /* "onnx", "caffe" or NULL: from the extension */
  const char *prototxt; /* Caffe: network text when path is the weights */
  const char *weights;  /* Caffe: .caffemodel when path is the prototxt */
  const char *backend;  /* "dnnl", "ref" or NULL: best available */
  int threads;          /* 0: backend default (OMP_NUM_THREADS) */
  int optimize;         /* 1 (default): run all optimizer passes */
  /* Names of tensors to return instead of the graph's outputs (any
   * intermediate tensor; kept alive by the optimizer). NULL: graph's. */
  const char *const *outputs;
  int noutputs;
  const cn_logger_t *log; /* NULL: stderr at INFO */
} cn_model_opts_t;

typedef struct cn_tensor_desc {
  const char *name;
  int ndim;
  int64_t dims[CN_MODEL_MAX_DIMS];
  int64_t numel; /* product of dims */
} cn_tensor_desc_t;

void cn_model_opts_default(cn_model_opts_t *opts);

/* Loads and prepares a model. On success *out owns everything. */
int cn_model_load(cn_model_t **out, const char *path,
                  const cn_model_opts_t *opts, cn_err_t *err);
void cn_model_free(cn_model_t *m); /* NULL is a no-op */

int cn_model_num_inputs(const cn_model_t *m);
int cn_model_num_outputs(const cn_model_t *m);
/* NULL when i is out of range. */
const cn_tensor_desc_t *cn_model_input(const cn_model_t *m, int i);
const cn_tensor_desc_t *cn_model_output(const cn_model_t *m, int i);
/* Index of the named input/output, or -1. */
int cn_model_find_input(const cn_model_t *m, const char *name);
int cn_model_find_output(const cn_model_t *m, const char *name);

/* Runs the network: inputs[i] holds cn_model_input(m, i)->numel floats,
 * outputs[j] receives cn_model_output(m, j)->numel floats. Returns 0 or a
 * negative CN_E*. */
int cn_model_run(cn_model_t *m, const float *const *inputs,
                 float *const *outputs, cn_err_t *err);

/* For `camnet info`: the backend's name, the optimized graph (an
 * engine/ir/graph.h cn_graph_t, read-only), its FLOPs and parameter count. */
const char *cn_model_backend(const cn_model_t *m);
const struct cn_graph *cn_model_graph(const cn_model_t *m);
double cn_model_flops(const cn_model_t *m);
int64_t cn_model_params(const cn_model_t *m);

#endif
