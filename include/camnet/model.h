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

#include "camnet/version.h"

#include <stdint.h>

#include "camnet/error.h"
#include "camnet/log.h"

#define CN_MODEL_MAX_DIMS 8

typedef struct cn_model cn_model_t;

/* The size of one model input, for dimensions the file leaves open
 * (symbolic: ONNX dim_param, e.g. "batch", "height"). Every dimension is
 * given; those the file fixes must agree with it. */
typedef struct cn_input_shape {
  char name[128]; /* the input; "" (empty): the model's first input */
  int ndim;
  int64_t dims[CN_MODEL_MAX_DIMS]; /* each 1..CN_INPUT_MAX_DIM */
  /* 1: only fills open dimensions (a data file's shape): ignored when its
   * rank differs, fixed dimensions are not checked against it. */
  int hint;
} cn_input_shape_t;

/* Bounds of a given input shape: one dimension, and the whole input. */
#define CN_INPUT_MAX_DIM ((int64_t)1 << 20)
#define CN_INPUT_MAX_NUMEL ((int64_t)1 << 28)

/* Asked while a model loads (between parsing and each layer's preparation):
 * nonzero abandons the load with CN_EINTR. Called on the loading thread;
 * cheap and thread-safe (an atomic stop flag). As FFmpeg's AVIOInterruptCB. */
typedef struct cn_interrupt {
  int (*callback)(void *opaque);
  void *opaque;
} cn_interrupt_t;

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
  const cn_logger_t *log; /* load warnings (slow kernels); NULL: silent */
  /* Open input dimensions are resolved at load, in this order: the entry
   * of input_shapes naming the input (the first such entry wins; "" names
   * the first input), then width and height for the spatial dimensions of
   * a 4-D input (NCHW, or NHWC when its last dimension is fixed), then
   * the file's own default size (Ultralytics' "imgsz" metadata), and an
   * open batch (dimension 0) is 1. A dimension still open, an entry that
   * names no input or disagrees with the file's fixed dimensions or rank,
   * is CN_EINVAL naming the input and the dimension's symbol. */
  const cn_input_shape_t *input_shapes;
  int ninput_shapes;
  int width, height;        /* 0: not given */
  cn_interrupt_t interrupt; /* {NULL}: never interrupted */
} cn_model_opts_t;

typedef struct cn_tensor_desc {
  const char *name;
  int ndim;
  int64_t dims[CN_MODEL_MAX_DIMS];
  int64_t numel; /* product of dims */
  /* Inputs: the file's symbol for each dimension it left open (resolved
   * at load, see cn_model_opts_t), NULL for fixed ones. */
  const char *symbols[CN_MODEL_MAX_DIMS];
} cn_tensor_desc_t;

/* Fills the defaults documented above (every field 0/NULL but optimize). */
CN_API void cn_model_opts_default(cn_model_opts_t *opts);

/* Loads and prepares a model. On success *out owns everything. */
CN_API int cn_model_load(cn_model_t **out, const char *path,
                         const cn_model_opts_t *opts, cn_err_t *err);
CN_API void cn_model_free(cn_model_t *m); /* NULL is a no-op */

/* How many inputs and outputs the network has. */
CN_API int cn_model_num_inputs(const cn_model_t *m);
CN_API int cn_model_num_outputs(const cn_model_t *m);
/* NULL when i is out of range. */
CN_API const cn_tensor_desc_t *cn_model_input(const cn_model_t *m, int i);
CN_API const cn_tensor_desc_t *cn_model_output(const cn_model_t *m, int i);
/* Index of the named input/output, or -1. */
CN_API int cn_model_find_input(const cn_model_t *m, const char *name);
CN_API int cn_model_find_output(const cn_model_t *m, const char *name);

/* Runs the network: inputs[i] holds cn_model_input(m, i)->numel floats,
 * outputs[j] receives cn_model_output(m, j)->numel floats. Returns 0 or a
 * negative CN_E*. */
CN_API int cn_model_run(cn_model_t *m, const float *const *inputs,
                        float *const *outputs, cn_err_t *err);

/* Parses "NAME:1x3x480x640" (or "1x3x480x640" for the first input) into
 * *out. CN_EINVAL with a one-line message for a malformed text, a
 * dimension of 0, negative or over CN_INPUT_MAX_DIM, more than
 * CN_MODEL_MAX_DIMS dimensions or more than CN_INPUT_MAX_NUMEL values. */
CN_API int cn_input_shape_parse(const char *text, cn_input_shape_t *out,
                                cn_err_t *err);

/* The file's metadata (ONNX metadata_props): the value of the i-th pair
 * and its key in *key, NULL past the end. */
CN_API const char *cn_model_metadata(const cn_model_t *m, int i,
                                     const char **key);
/* The value stored under key, or NULL. */
CN_API const char *cn_model_find_metadata(const cn_model_t *m, const char *key);

/* For `camnet info`: the backend's name, its FLOPs and parameter count. */
CN_API const char *cn_model_backend(const cn_model_t *m);
CN_API double cn_model_flops(const cn_model_t *m);
CN_API int64_t cn_model_params(const cn_model_t *m);

#endif
