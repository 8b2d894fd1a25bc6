/* Op kinds and their typed parameters: the data half of the IR's node
 * (engine/ir/graph.h holds tensors, nodes and the graph; engine/ir/ops.h
 * the per-op table of behaviour). Plain data: no functions, no ownership.
 * Input slots per op are listed at cn_op_t; weights may be constants or
 * runtime inputs (see graph.h, "Weights").
 *
 * Adding an op: a value at the end of cn_op_t (or of cn_act_t for a new
 * elementwise activation), and its params struct in cn_op_params_t if it
 * has any. docs/engine.md, "How to add an op", lists the other files.
 */
#ifndef CN_ENGINE_IR_OP_PARAMS_H
#define CN_ENGINE_IR_OP_PARAMS_H

#include <stdint.h>

#define CN_MAX_DIMS 8
#define CN_MAX_POSTOPS 4
#define CN_SSD_MAX 16 /* list lengths in PriorBox parameters */

/* Ops and their input slots (see "Weights" in engine/ir/graph.h). */
typedef enum cn_op {
  CN_OP_CONV,          /* x, W[OC,IC/G,KH,KW], B[OC]|-1, then post-op inputs */
  CN_OP_DECONV,        /* x, W[IC,OC/G,KH,KW], B[OC]|-1 (ConvTranspose) */
  CN_OP_POOL,          /* x */
  CN_OP_INNER_PRODUCT, /* x (flattened from axis), W[OC,K], B[OC]|-1, post */
  CN_OP_MATMUL,        /* a, b: numpy matmul, both may be runtime tensors */
  CN_OP_BINARY,        /* a, b: numpy (multidirectional) broadcasting */
  CN_OP_ELTWISE,       /* x0..xn-1, identical shapes (Caffe Eltwise) */
  CN_OP_ACT,           /* x: elementwise activation / unary math */
  CN_OP_PRELU,         /* x, slope broadcast unidirectionally to x */
  CN_OP_SOFTMAX,       /* x */
  CN_OP_BATCHNORM,     /* x, scale[C], bias[C], mean[C], var[C] */
  CN_OP_SCALE,         /* x, scale, bias|-1: y = x*s (+b), s shaped like x's
                          dims [axis, axis+ndim(s)) (Caffe Scale) */
  CN_OP_LRN,           /* x */
  CN_OP_CONCAT,        /* x0..xn-1 */
  CN_OP_SPLIT,         /* x -> y0..yn-1, sizes from the outputs' shapes */
  CN_OP_SLICE,         /* x */
  CN_OP_RESHAPE,       /* x: same data, output shape (also Flatten/Squeeze) */
  CN_OP_TRANSPOSE,     /* x */
  CN_OP_PAD,           /* x */
  CN_OP_RESIZE,        /* x */
  CN_OP_IDENTITY,      /* x (Identity, Dropout at inference) */
  CN_OP_PRIOR_BOX,     /* feature map, image: shape only. Output shape is set
                          by the importer; see ref/ref.h for the kernels. */
  CN_OP_DETECTION_OUTPUT, /* loc, conf, priors. Output shape set by the
                        importer: [1,1,keep_top_k*N,7], unused rows have
                        image_id -1. */
  CN_OP_REDUCE,           /* x: reduction over p.reduce.axes */
  CN_OP_LAYERNORM,        /* x, scale|-1, bias|-1 -> y [, mean, inv_std_dev]:
                             over dims [axis, ndim); scale and bias hold
                             prod(dims[axis..]) values */
  CN_OP_INSTNORM,         /* x[N,C,...], scale[C], bias[C]: per (n, c) */
  CN_OP_GATHER_ELEMENTS,  /* data, indices: indices are float holding
                             integers in [0, dims[axis]) (the importer
                             converts and checks them) */
  CN_OP_WHERE,            /* cond (float, 0 = false), x, y: broadcast */
  CN_OP_TILE,             /* x: repeated p.tile.repeats times per axis */
  CN_OP_COUNT_
} cn_op_t;

typedef enum cn_act {
  CN_ACT_NONE = 0,
  CN_ACT_RELU, /* alpha: negative slope (LeakyRelu) */
  CN_ACT_CLIP, /* alpha = min, beta = max (ReLU6: 0, 6) */
  CN_ACT_SIGMOID,
  CN_ACT_TANH,
  CN_ACT_HARDSIGMOID, /* max(0, min(1, alpha*x + beta)) */
  CN_ACT_HARDSWISH,   /* x * max(0, min(1, x/6 + 1/2)) */
  CN_ACT_ELU,         /* alpha */
  CN_ACT_SELU,        /* alpha, beta = gamma */
  CN_ACT_SOFTPLUS,
  CN_ACT_ABS,
  CN_ACT_NEG,
  CN_ACT_EXP,
  CN_ACT_LOG,
  CN_ACT_SQRT,
  CN_ACT_RECIPROCAL,
  CN_ACT_FLOOR,
  CN_ACT_CEIL,
  CN_ACT_LINEAR,   /* alpha*x + beta (Caffe Power with power 1) */
  CN_ACT_ERF,      /* the error function (GELU as exported before opset 20) */
  CN_ACT_MISH,     /* x * tanh(softplus(x)) */
  CN_ACT_GELU,     /* x/2 * (1 + erf(x/sqrt(2))), the exact GELU */
  CN_ACT_SOFTSIGN, /* x / (1 + |x|) */
  CN_ACT_THRESHOLDED_RELU, /* x > alpha ? x : 0 */
  CN_ACT_SIN,
  CN_ACT_COS,
  CN_ACT_SIGN,
  CN_ACT_ROUND, /* half to even */
  CN_ACT_CELU,  /* max(0,x) + min(0, alpha*(exp(x/alpha)-1)) */
  CN_ACT_SWISH, /* x * sigmoid(alpha*x) (SiLU: alpha 1), from x*Sigmoid(x) */
  CN_ACT_COUNT_
} cn_act_t;

/* Post-ops applied in order to a conv / inner-product result (after bias),
 * in oneDNN's sense: SUM computes y = y + scale * node->inputs[input];
 * ACT applies act(alpha, beta). A fused residual block is [SUM, ACT RELU]. */
typedef enum cn_postop_kind {
  CN_POST_SUM = 1,
  CN_POST_ACT = 2
} cn_postop_kind_t;
typedef struct cn_postop {
  cn_postop_kind_t kind;
  cn_act_t act;
  float alpha, beta;
  float scale; /* SUM only */
  int input;   /* SUM only: index into node->inputs of the added tensor,
                  which has exactly the node's output shape */
} cn_postop_t;
typedef struct cn_postops {
  int n;
  cn_postop_t op[CN_MAX_POSTOPS];
} cn_postops_t;

/* Pads are [top, left, bottom, right]; they may differ (ONNX asymmetric
 * pads, Caffe ceil rounding). Output shapes are in the output tensor. */
typedef struct cn_conv_params {
  int kernel[2], stride[2], dilation[2], pads[4];
  int group;
  int out_channels;
  int has_bias;
  int output_padding[2]; /* DECONV only (extra bottom/right rows) */
  cn_postops_t post;
} cn_conv_params_t;

typedef enum cn_pool_kind { CN_POOL_MAX, CN_POOL_AVG } cn_pool_kind_t;
/* global: kernel = input HxW, pads 0, stride 1. ceil_mode: output size
 * rounds up, but the last window must start inside the input or the
 * top/left padding (Caffe, PyTorch and ONNX Runtime agree). AVG divisor:
 * count_include_pad counts the explicit pads, never the extra rows that
 * ceil rounding adds past the bottom/right pad; otherwise only real
 * elements. */
typedef struct cn_pool_params {
  cn_pool_kind_t kind;
  int kernel[2], stride[2], dilation[2], pads[4];
  int ceil_mode, count_include_pad, global;
} cn_pool_params_t;

/* y[n, o] = sum_k x[n, k] * W[o, k] + B[o]; x is flattened to 2-D at axis
 * (N = prod(dims[0..axis)), K = the rest). */
typedef struct cn_ip_params {
  int axis;
  int out_features;
  int has_bias;
  cn_postops_t post;
} cn_ip_params_t;

typedef enum cn_binary_kind {
  CN_BIN_ADD,
  CN_BIN_SUB,
  CN_BIN_MUL,
  CN_BIN_DIV,
  CN_BIN_MAX,
  CN_BIN_MIN,
  CN_BIN_POW
} cn_binary_kind_t;

typedef enum cn_eltwise_kind {
  CN_ELT_SUM,
  CN_ELT_PROD,
  CN_ELT_MAX
} cn_eltwise_kind_t;
typedef struct cn_eltwise_params {
  cn_eltwise_kind_t kind;
  const float *coeffs; /* SUM only: one per input, arena-owned; NULL = 1s */
} cn_eltwise_params_t;

typedef struct cn_act_params {
  cn_act_t kind;
  float alpha, beta;
} cn_act_params_t;

typedef struct cn_softmax_params {
  int axis; /* normalized to [0, ndim); one axis (opset-13 semantics) */
  int log;  /* LogSoftmax */
} cn_softmax_params_t;

typedef struct cn_bn_params {
  float eps;
} cn_bn_params_t;
typedef struct cn_scale_params {
  int axis;
  int has_bias;
} cn_scale_params_t;

/* y = x / (k + alpha/n * sum(x^2))^beta over `size` neighbours: across
 * channels (n = size), or within a channel (n = size*size window, Caffe). */
typedef struct cn_lrn_params {
  int size;
  float alpha, beta, k;
  int within_channel;
} cn_lrn_params_t;

typedef struct cn_axis_params {
  int axis;
} cn_axis_params_t; /* concat, split */

/* out[i] = x[starts[d] + i*steps[d]] per dim d; counts are the output dims.
 * Steps may be negative; starts are already clamped. */
typedef struct cn_slice_params {
  int64_t starts[CN_MAX_DIMS];
  int64_t steps[CN_MAX_DIMS];
} cn_slice_params_t;

typedef struct cn_transpose_params {
  int perm[CN_MAX_DIMS];
} cn_transpose_params_t;

typedef enum cn_pad_mode {
  CN_PAD_CONSTANT,
  CN_PAD_REFLECT,
  CN_PAD_EDGE
} cn_pad_mode_t;
/* pads[d] = begin of dim d, pads[ndim+d] = end (ONNX order); may be < 0. */
typedef struct cn_pad_params {
  cn_pad_mode_t mode;
  int64_t pads[2 * CN_MAX_DIMS];
  float value;
} cn_pad_params_t;

typedef enum cn_resize_mode {
  CN_RESIZE_NEAREST,
  CN_RESIZE_LINEAR,
  CN_RESIZE_CUBIC
} cn_resize_mode_t;
typedef enum cn_resize_coord {
  CN_COORD_HALF_PIXEL,
  CN_COORD_ASYMMETRIC,
  CN_COORD_ALIGN_CORNERS,
  CN_COORD_PYTORCH_HALF_PIXEL,
  CN_COORD_TF_HALF_PIXEL_FOR_NN,
  CN_COORD_TF_CROP_AND_RESIZE
} cn_resize_coord_t;
typedef enum cn_resize_nearest {
  CN_NEAREST_ROUND_PREFER_FLOOR,
  CN_NEAREST_ROUND_PREFER_CEIL,
  CN_NEAREST_FLOOR,
  CN_NEAREST_CEIL
} cn_resize_nearest_t;
/* Output dims are the output tensor's; scales[d] is the factor used in the
 * coordinate transform (out/in when the model gave sizes). */
typedef struct cn_resize_params {
  cn_resize_mode_t mode;
  cn_resize_coord_t coord;
  cn_resize_nearest_t nearest;
  float cubic_a;
  int exclude_outside;
  float extrapolation_value;
  float scales[CN_MAX_DIMS];
  float roi[2 * CN_MAX_DIMS]; /* TF_CROP_AND_RESIZE only: starts, ends */
} cn_resize_params_t;

/* Caffe SSD PriorBox: aspect_ratios as written in the model (1 is implied,
 * flip adds reciprocals). img/step 0 mean "from the image input". */
typedef struct cn_prior_box_params {
  int nmin, nmax, nar, nvar;
  float min_size[CN_SSD_MAX], max_size[CN_SSD_MAX];
  float aspect_ratio[CN_SSD_MAX], variance[4];
  int flip, clip;
  float img_w, img_h, step_w, step_h, offset;
} cn_prior_box_params_t;

typedef enum cn_box_code {
  CN_BOX_CORNER = 1,
  CN_BOX_CENTER_SIZE = 2,
  CN_BOX_CORNER_SIZE = 3
} cn_box_code_t;
typedef struct cn_detection_output_params {
  int num_classes, share_location, background_label_id;
  float nms_threshold, eta, confidence_threshold;
  int top_k, keep_top_k;
  cn_box_code_t code_type;
  int variance_encoded_in_target, clip;
} cn_detection_output_params_t;

typedef enum cn_reduce_kind {
  CN_REDUCE_SUM,
  CN_REDUCE_MEAN,
  CN_REDUCE_MAX,
  CN_REDUCE_MIN,
  CN_REDUCE_PROD,
  CN_REDUCE_L1,
  CN_REDUCE_L2,
  CN_REDUCE_SUM_SQUARE,
  CN_REDUCE_LOG_SUM,
  CN_REDUCE_LOG_SUM_EXP
} cn_reduce_kind_t;
/* axes: bit d set = axis d is reduced; keepdims keeps them as size 1. */
typedef struct cn_reduce_params {
  cn_reduce_kind_t kind;
  unsigned axes;
  int keepdims;
} cn_reduce_params_t;

/* LAYERNORM: axis in [0, ndim); INSTNORM: axis unused (1). */
typedef struct cn_norm_params {
  int axis;
  float eps;
} cn_norm_params_t;

/* GATHER_ELEMENTS: axis in [0, ndim). */
typedef struct cn_tile_params {
  int64_t repeats[CN_MAX_DIMS];
} cn_tile_params_t;

typedef union cn_op_params {
  cn_conv_params_t conv; /* CONV, DECONV */
  cn_pool_params_t pool;
  cn_ip_params_t ip;
  cn_binary_kind_t binary;
  cn_eltwise_params_t eltwise;
  cn_act_params_t act;
  cn_softmax_params_t softmax;
  cn_bn_params_t bn;
  cn_scale_params_t scale;
  cn_lrn_params_t lrn;
  cn_axis_params_t axis; /* CONCAT, SPLIT */
  cn_slice_params_t slice;
  cn_transpose_params_t transpose;
  cn_pad_params_t pad;
  cn_resize_params_t resize;
  cn_prior_box_params_t prior_box;
  cn_detection_output_params_t det;
  cn_reduce_params_t reduce;
  cn_norm_params_t norm;   /* LAYERNORM, INSTNORM */
  cn_axis_params_t gather; /* GATHER_ELEMENTS */
  cn_tile_params_t tile;
} cn_op_params_t;

#endif
