/* ONNX importer: ModelProto (protobuf-c over Debian's onnx.proto) -> IR.
 *
 * Every ONNX node becomes zero or more IR nodes. Shapes are inferred node by
 * node while importing, because handlers need them (Reshape with 0/-1,
 * Flatten, opset<13 Softmax). Constants flow through the import as constant
 * tensors: int64 shape arithmetic (Shape, Gather, Cast, ConstantOfShape,
 * Unsqueeze, Concat, ...) is evaluated here on int64 data, and any IR node
 * whose inputs are all float constants is evaluated at once with the
 * reference kernels (cn_graph_fold_node). So a backend only ever sees float
 * tensors and no shape computations.
 *
 * Everything read from the file is checked: counts, attribute types and
 * lengths, tensor payload sizes against dims. Errors name the file, the
 * node index and name: "m.onnx: node 12 (Conv_3): kernel_shape has 3
 * values, expected 2".
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "engine/interrupt.h"
#include "engine/ir/graph.h"
#include "engine/ir/graph_internal.h"
#include "engine/ir/optimize.h"
#include "engine/onnx.pb-c.h"
#include "engine/onnx/onnx_import.h"
#include "engine/onnx/onnx_wire.h"

#define CN_ONNX_MAX_FILE ((size_t)2 << 30)
#define MAXD CN_MAX_DIMS

typedef struct imp {
  cn_graph_t *g;
  const char *src;
  int64_t opset;
  int ni; /* ONNX node index for messages */
  const Onnx__NodeProto *node;
  char nname[128];         /* node name for messages */
  uint8_t *image;          /* zero-copy load: the file, in the arena */
  const cn__span_t *spans; /* its initializers' raw_data payloads */
  size_t nspans;
  int sub;                  /* IR nodes emitted for this ONNX node */
  int counter;              /* for generated names */
  const cn_model_opts_t *o; /* open input dimensions; may be NULL */
  int64_t imgsz[2];         /* the file's default input H, W; 0: none */
  cn_err_t *err;
} imp_t;

static int ierr(imp_t *m, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int ierr(imp_t *m, int code, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (m->node)
    return cn_err_set(m->err, code, "%s: node %d (%s): %s", m->src, m->ni,
                      m->nname, what);
  return cn_err_set(m->err, code, "%s: %s", m->src, what);
}

#define TRY(x)                                                                 \
  do {                                                                         \
    int r_ = (x);                                                              \
    if (r_ < 0)                                                                \
      return r_;                                                               \
  } while (0)

/* ---- attributes --------------------------------------------------------- */

static const Onnx__AttributeProto *attr(imp_t *m, const char *name) {
  for (size_t i = 0; i < m->node->n_attribute; i++) {
    const Onnx__AttributeProto *a = m->node->attribute[i];
    if (a->name && strcmp(a->name, name) == 0)
      return a;
  }
  return NULL;
}

static int attr_int(imp_t *m, const char *name, int64_t def, int64_t *v) {
  const Onnx__AttributeProto *a = attr(m, name);
  *v = def;
  if (!a)
    return 0;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
    return ierr(m, CN_EFORMAT, "attribute %s is not an int", name);
  *v = a->i;
  return 1;
}

static int attr_float(imp_t *m, const char *name, float def, float *v) {
  const Onnx__AttributeProto *a = attr(m, name);
  *v = def;
  if (!a)
    return 0;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
    return ierr(m, CN_EFORMAT, "attribute %s is not a float", name);
  *v = a->f;
  return 1;
}

/* Returns the count (0 when absent); *v points into the model, or at an
 * empty array (never NULL, so callers may memcpy 0 bytes from it). */
static const int64_t no_ints[1];
static const float no_floats[1];

static int attr_ints(imp_t *m, const char *name, const int64_t **v) {
  const Onnx__AttributeProto *a = attr(m, name);
  *v = no_ints;
  if (!a)
    return 0;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
    return ierr(m, CN_EFORMAT, "attribute %s is not a list of ints", name);
  if (a->n_ints > 64)
    return ierr(m, CN_EFORMAT, "attribute %s has %zu values", name, a->n_ints);
  *v = a->ints ? a->ints : no_ints;
  return (int)a->n_ints;
}

static int attr_floats(imp_t *m, const char *name, const float **v) {
  const Onnx__AttributeProto *a = attr(m, name);
  *v = no_floats;
  if (!a)
    return 0;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS)
    return ierr(m, CN_EFORMAT, "attribute %s is not a list of floats", name);
  if (a->n_floats > 64)
    return ierr(m, CN_EFORMAT, "attribute %s has %zu values", name,
                a->n_floats);
  *v = a->floats ? a->floats : no_floats;
  return (int)a->n_floats;
}

static int attr_str(imp_t *m, const char *name, const char *def, char *buf,
                    size_t n) {
  const Onnx__AttributeProto *a = attr(m, name);
  snprintf(buf, n, "%s", def);
  if (!a)
    return 0;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
    return ierr(m, CN_EFORMAT, "attribute %s is not a string", name);
  size_t l = a->s.len < n - 1 ? a->s.len : n - 1;
  if (l)
    memcpy(buf, a->s.data, l);
  buf[l] = 0;
  return 1;
}

/* ---- tensors ------------------------------------------------------------ */

static int tensor_numel(imp_t *m, const char *what, size_t nd,
                        const int64_t *dims, int64_t *numel) {
  if (nd > MAXD)
    return ierr(m, CN_EUNSUPPORTED, "%s has %zu dimensions (max %d)", what, nd,
                MAXD);
  int64_t n = 1;
  for (size_t i = 0; i < nd; i++) {
    if (dims[i] < 0 || dims[i] > ((int64_t)1 << 31))
      return ierr(m, CN_EFORMAT, "%s: dimension %zu is %" PRId64, what, i,
                  dims[i]);
    n *= dims[i];
    if (n > ((int64_t)1 << 31))
      return ierr(m, CN_EFORMAT, "%s: too many elements", what);
  }
  *numel = n;
  return 0;
}

static float half_to_float(uint16_t h) {
  int e = (h >> 10) & 31, f = h & 1023;
  float v = e == 0    ? ldexpf((float)f, -24)
            : e == 31 ? (f ? NAN : INFINITY)
                      : ldexpf((float)(f | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

/* protobuf-c allocator: large blocks (weights' raw_data) come from the
 * graph's arena, so float weights become constants without another copy;
 * small ones from malloc. The byte before each block says which. */
#define CN__PB_BIG 4096
#define CN__PB_HDR 64

static void *pb_alloc(void *data, size_t size) {
  unsigned char *p;
  if (size >= CN__PB_BIG) {
    p = cn__graph_alloc_raw(data, size + CN__PB_HDR);
    if (!p)
      return NULL;
    p += CN__PB_HDR;
    p[-1] = 1;
  } else {
    p = malloc(size + 16);
    if (!p)
      return NULL;
    p += 16;
    p[-1] = 0;
  }
  return p;
}

static void pb_free(void *data, void *ptr) {
  (void)data;
  unsigned char *p = ptr;
  if (p && p[-1] == 0)
    free(p - 16);
}

static int in_arena(const void *ptr) {
  return ((const unsigned char *)ptr)[-1] == 1;
}

/* Weights in external files and segmented tensors are refused. */
static int tp_check(imp_t *m, const Onnx__TensorProto *tp, const char *what) {
  if (tp->has_data_location &&
      tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    const char *loc = "?";
    for (size_t i = 0; i < tp->n_external_data; i++)
      if (tp->external_data[i]->key &&
          strcmp(tp->external_data[i]->key, "location") == 0 &&
          tp->external_data[i]->value)
        loc = tp->external_data[i]->value;
    return ierr(m, CN_EUNSUPPORTED,
                "%s: weights in external data file '%.80s' are not supported",
                what, loc);
  }
  if (tp->segment)
    return ierr(m, CN_EUNSUPPORTED, "%s: segmented tensors are not supported",
                what);
  return 0;
}

/* The IR type and the element size in raw_data of ONNX data type dt; -1
 * for types the importer does not take. */
static int tp_dtype(int dt, cn_dtype_t *cdt, size_t *esz) {
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    *cdt = CN_DT_F32, *esz = 4;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    *cdt = CN_DT_F32, *esz = 8;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    *cdt = CN_DT_F32, *esz = 2;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
    *cdt = CN_DT_I64, *esz = 8;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    *cdt = CN_DT_I64, *esz = 4;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
    *cdt = CN_DT_I64, *esz = 2;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    *cdt = CN_DT_I64, *esz = 1;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    *cdt = CN_DT_BOOL, *esz = 1;
    break;
  default:
    return -1;
  }
  return 0;
}

/* numel elements of ONNX type dt from raw little-endian bytes into f
 * (float types) or q (integer and bool types). */
static void tp_from_raw(int dt, const uint8_t *r, size_t esz, int64_t numel,
                        float *f, int64_t *q) {
  for (int64_t i = 0; i < numel; i++, r += esz) {
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
      memcpy(&f[i], r, 4);
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
      double d;
      memcpy(&d, r, 8);
      f[i] = (float)d;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: {
      uint16_t h;
      memcpy(&h, r, 2);
      f[i] = half_to_float(h);
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
      memcpy(&q[i], r, 8);
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
      int32_t v;
      memcpy(&v, r, 4);
      q[i] = v;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: {
      uint32_t v;
      memcpy(&v, r, 4);
      q[i] = v;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: {
      int16_t v;
      memcpy(&v, r, 2);
      q[i] = v;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: {
      uint16_t v;
      memcpy(&v, r, 2);
      q[i] = v;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
      q[i] = (int8_t)*r;
      break;
    default:
      q[i] = *r;
      break;
    }
  }
}

/* Typed fields: float_data, int64_data, double_data, int32_data (int32,
 * int16, int8, uint16, uint8, bool and float16 bits), uint64_data. */
static int tp_from_fields(imp_t *m, const Onnx__TensorProto *tp,
                          const char *what, int64_t numel, float *f,
                          int64_t *q) {
  int dt = tp->data_type;
  size_t have;
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    have = tp->n_float_data;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    have = tp->n_double_data;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    have = tp->n_int64_data;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    have = tp->n_uint64_data;
    break;
  default:
    have = tp->n_int32_data;
    break;
  }
  if ((int64_t)have != numel)
    return ierr(m, CN_EFORMAT, "%s has %zu values, dims need %" PRId64, what,
                have, numel);
  for (int64_t i = 0; i < numel; i++) {
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
      f[i] = tp->float_data[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
      f[i] = (float)tp->double_data[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
      f[i] = half_to_float((uint16_t)tp->int32_data[i]);
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
      q[i] = tp->int64_data[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
      q[i] = (int64_t)tp->uint64_data[i];
      break;
    default:
      q[i] = tp->int32_data[i];
      break;
    }
  }
  return 0;
}

/* Adds a TensorProto as a constant (float types -> F32, integer and bool
 * types -> I64). name overrides tp->name when not NULL. */
static int add_tensor_proto(imp_t *m, const Onnx__TensorProto *tp,
                            const char *name, const cn__span_t *span) {
  const char *tn = name ? name : tp->name;
  char what[160];
  snprintf(what, sizeof what, "tensor %.100s", tn ? tn : "?");
  if (!tn || !*tn)
    return ierr(m, CN_EFORMAT, "a tensor without a name");
  TRY(tp_check(m, tp, what));
  int64_t numel = 0;
  TRY(tensor_numel(m, what, tp->n_dims, tp->dims, &numel));
  int dt = tp->data_type;
  cn_dtype_t cdt;
  size_t esz;
  if (tp_dtype(dt, &cdt, &esz) < 0)
    return ierr(m, CN_EUNSUPPORTED, "%s: data type %d is not supported", what,
                dt);
  int64_t dims[MAXD];
  for (size_t i = 0; i < tp->n_dims; i++)
    dims[i] = tp->dims[i];
  int id;
  /* The raw bytes: in the file image (zero-copy load), else unpacked. */
  int has_raw = tp->has_raw_data;
  uint8_t *raw = tp->raw_data.data;
  size_t raw_len = tp->raw_data.len;
  int owned = has_raw && raw_len >= CN__PB_BIG && in_arena(raw);
  if (span && span->len) {
    has_raw = owned = 1;
    raw = cn__onnx_align_payload(m->image, span);
    raw_len = span->len;
  }
  if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && has_raw && numel > 0 &&
      (int64_t)raw_len == numel * 4) {
    /* The common case, float weights as raw bytes: use them in place when
     * they lie in the arena, else copy them once. */
    void *d = raw;
    if (owned && ((uintptr_t)d & 3) == 0)
      id = cn__graph_add_const_ref(m->g, tn, CN_DT_F32, (int)tp->n_dims, dims,
                                   d);
    else
      id = cn_graph_add_const(m->g, tn, CN_DT_F32, (int)tp->n_dims, dims, d);
    if (id == CN_EINVAL)
      return ierr(m, CN_EFORMAT, "%s is defined twice", what);
    if (id < 0)
      return ierr(m, id, "%s: cannot add (%s)", what, cn_strerror(id));
    return id;
  }
  id = cn_graph_add_const(m->g, tn, cdt, (int)tp->n_dims, dims, NULL);
  if (id == CN_EINVAL)
    return ierr(m, CN_EFORMAT, "%s is defined twice", what);
  if (id < 0)
    return ierr(m, id, "%s: cannot add (%s)", what, cn_strerror(id));
  void *dst = m->g->tensors[id].data;
  float *f = dst;
  int64_t *q = dst;
  if (has_raw) {
    if ((int64_t)raw_len != numel * (int64_t)esz)
      return ierr(m, CN_EFORMAT,
                  "%s: raw_data has %zu bytes, dims need %" PRId64, what,
                  raw_len, numel * (int64_t)esz);
    tp_from_raw(dt, raw, esz, numel, f, q);
    return id;
  }
  TRY(tp_from_fields(m, tp, what, numel, f, q));
  return id;
}

/* ---- inputs, outputs and emission -----------------------------------------
 */

static int nin(imp_t *m) { return (int)m->node->n_input; }
static int nout(imp_t *m) { return (int)m->node->n_output; }

/* Tensor id of input i; -1 when absent (beyond the list or ""). */
static int in_id(imp_t *m, int i) {
  if (i >= nin(m) || !m->node->input[i] || !m->node->input[i][0])
    return -1;
  return cn_graph_find(m->g, m->node->input[i]);
}

static cn_tensor_t *T(imp_t *m, int id) { return &m->g->tensors[id]; }
static int is_const(imp_t *m, int id) {
  return id >= 0 && (T(m, id)->flags & CN_TENSOR_CONST);
}

static int need_in(imp_t *m, int i, int *id) {
  *id = in_id(m, i);
  if (*id < 0)
    return ierr(m, CN_EFORMAT, "input %d is missing", i);
  return 0;
}

/* Shapes, axes, indices and the like are evaluated at load: once the
 * inputs' shapes are known, everything computed from shapes is constant.
 * What is left depends on the data itself. */
static int need_const(imp_t *m, int i, const char *what, int *id) {
  TRY(need_in(m, i, id));
  if (!is_const(m, *id))
    return ierr(m, CN_EUNSUPPORTED,
                "%s (input %d, %.60s) needs runtime shapes: it depends on "
                "the input data, not only on its shape",
                what, i, T(m, *id)->name);
  return 0;
}

/* For ops evaluated only at load (integer and bool work). */
static int need_runtime_free(imp_t *m) {
  for (int i = 0; i < nin(m); i++) {
    int id = in_id(m, i);
    if (id >= 0 && !is_const(m, id))
      return ierr(m, CN_EUNSUPPORTED,
                  "%s needs runtime shapes: input %d (%.60s) depends on the "
                  "input data, and camnet evaluates %s only at load",
                  m->node->op_type, i, T(m, id)->name, m->node->op_type);
  }
  return 0;
}

/* A float copy of an integer constant, for float ops given one (Pow(x,
 * int64 2)); other tensors are returned as they are. */
static int as_float(imp_t *m, int id, int *out);

/* Reads a constant of any type as int64 values (max n). */
static int const_ints(imp_t *m, int id, const char *what, int64_t *v, int max) {
  const cn_tensor_t *t = T(m, id);
  int64_t n = cn_tensor_numel(t);
  if (n > max)
    return ierr(m, CN_EFORMAT, "%s has %" PRId64 " values (max %d)", what, n,
                max);
  for (int64_t i = 0; i < n; i++) {
    if (cn_dtype_is_int(t->dtype)) {
      v[i] = ((const int64_t *)t->data)[i];
    } else {
      float f = ((const float *)t->data)[i];
      if (!(fabsf(f) < 9e15f))
        return ierr(m, CN_EFORMAT, "%s holds %g", what, (double)f);
      v[i] = (int64_t)f;
    }
  }
  return (int)n;
}

static int const_floats(imp_t *m, int id, const char *what, float *v, int max) {
  const cn_tensor_t *t = T(m, id);
  int64_t n = cn_tensor_numel(t);
  if (n > max)
    return ierr(m, CN_EFORMAT, "%s has %" PRId64 " values (max %d)", what, n,
                max);
  for (int64_t i = 0; i < n; i++)
    v[i] = cn_dtype_is_int(t->dtype) ? (float)((const int64_t *)t->data)[i]
                                     : ((const float *)t->data)[i];
  return (int)n;
}

static int new_out(imp_t *m, int k, int *id) {
  *id = -1;
  if (k >= nout(m) || !m->node->output[k] || !m->node->output[k][0])
    return ierr(m, CN_EFORMAT, "output %d is missing", k);
  int r = cn_graph_add_tensor(m->g, m->node->output[k], CN_DT_F32, 0, NULL);
  if (r == CN_EINVAL)
    return ierr(m, CN_EFORMAT, "tensor %.80s is defined twice",
                m->node->output[k]);
  if (r < 0)
    return ierr(m, r, "cannot add a tensor");
  *id = r;
  return 0;
}

static int new_tmp(imp_t *m, int *id) {
  *id = -1;
  char stem[160];
  snprintf(stem, sizeof stem, "%.100s/t", m->nname);
  int r = cn_graph_add_temp(m->g, stem);
  if (r < 0)
    return ierr(m, r, "cannot add a tensor");
  *id = r;
  return 0;
}

/* A name no tensor has yet: "<node>/<stem><n>". */
static void uniq(imp_t *m, const char *stem, char *buf, size_t n) {
  do
    snprintf(buf, n, "%.100s/%s%d", m->nname, stem, ++m->counter);
  while (cn_graph_find(m->g, buf) >= 0);
}

static int new_const(imp_t *m, cn_dtype_t dt, int nd, const int64_t *dims,
                     const void *data, int *id) {
  *id = -1;
  char nm[160];
  uniq(m, "c", nm, sizeof nm);
  int r = cn_graph_add_const(m->g, nm, dt, nd, dims, data);
  if (r < 0)
    return ierr(m, r, "cannot add a constant");
  *id = r;
  return 0;
}

static int as_float(imp_t *m, int id, int *out) {
  *out = id;
  if (!is_const(m, id) || !cn_dtype_is_int(T(m, id)->dtype))
    return 0;
  TRY(new_const(m, CN_DT_F32, T(m, id)->ndim, T(m, id)->dims, NULL, out));
  for (int64_t i = 0; i < cn_tensor_numel(T(m, id)); i++)
    ((float *)T(m, *out)->data)[i] = (float)((int64_t *)T(m, id)->data)[i];
  return 0;
}

static int scalar_const(imp_t *m, float v, int *id) {
  return new_const(m, CN_DT_F32, 0, NULL, &v, id);
}

/* Makes an output named like ONNX output k a constant with the given data. */
static int out_const(imp_t *m, int k, cn_dtype_t dt, int nd,
                     const int64_t *dims, const void *data) {
  if (k >= nout(m) || !m->node->output[k] || !m->node->output[k][0])
    return ierr(m, CN_EFORMAT, "output %d is missing", k);
  int r = cn_graph_add_const(m->g, m->node->output[k], dt, nd, dims, data);
  if (r == CN_EINVAL)
    return ierr(m, CN_EFORMAT, "tensor %.80s is defined twice",
                m->node->output[k]);
  if (r < 0)
    return ierr(m, r, "cannot add a constant");
  return r;
}

/* Appends one IR node, infers its output shapes and folds it when every
 * input is a float constant. */
static int emit(imp_t *m, cn_op_t op, const cn_op_params_t *p, int n_in,
                const int *ins, int n_out, const int *outs) {
  for (int i = 0; i < n_in; i++)
    if (ins[i] >= 0 && T(m, ins[i])->dtype != CN_DT_F32)
      return ierr(m, CN_EUNSUPPORTED,
                  "integer tensor %.80s used as data (only float32 is)",
                  T(m, ins[i])->name);
  char name[200];
  if (m->sub == 0)
    snprintf(name, sizeof name, "%s", m->nname);
  else
    snprintf(name, sizeof name, "%.150s:%d", m->nname, m->sub);
  m->sub++;
  int ni = cn_graph_add_node(m->g, op, name, n_in, ins, n_out, outs);
  if (ni < 0)
    return ierr(m, ni, "cannot add a node");
  if (p)
    m->g->nodes[ni].p = *p;
  cn_err_t e2 = {0};
  int r = cn_graph_infer_node(m->g, ni, &e2);
  if (r < 0) {
    /* Re-word with the ONNX node index rather than the IR index. */
    const char *what = strstr(e2.msg, "): ");
    return ierr(m, r, "%s", what ? what + 3 : e2.msg);
  }
  r = cn_graph_fold_node(m->g, ni, m->err);
  return r < 0 ? r : 0;
}

static int emit1(imp_t *m, cn_op_t op, const cn_op_params_t *p, int n_in,
                 const int *ins, int out) {
  return emit(m, op, p, n_in, ins, 1, &out);
}

/* Reshape of x to dims; result in *out (a new temp, or `dst` if >= 0). */
static int reshape_to(imp_t *m, int x, int nd, const int64_t *dims, int dst,
                      int *out) {
  *out = -1;
  int y = dst;
  if (y < 0)
    TRY(new_tmp(m, &y));
  if (T(m, y)->flags & CN_TENSOR_CONST)
    return ierr(m, CN_EINTERNAL, "reshape into a constant");
  T(m, y)->ndim = nd;
  for (int i = 0; i < nd; i++)
    T(m, y)->dims[i] = dims[i];
  TRY(emit1(m, CN_OP_RESHAPE, NULL, 1, &x, y));
  *out = y;
  return 0;
}

/* ---- int64 constant evaluation ---------------------------------------- */

/* Elementwise / data movement on int64 constants, for shape arithmetic.
 * The output tensor `out` (already named) becomes an I64 constant. */
static int64_t *make_i64_out(imp_t *m, int k, int nd, const int64_t *dims,
                             int *id) {
  int r = out_const(m, k, CN_DT_I64, nd, dims, NULL);
  if (r < 0) {
    *id = r;
    return NULL;
  }
  *id = r;
  return T(m, r)->data;
}

static int any_i64(imp_t *m) {
  for (int i = 0; i < nin(m); i++) {
    int id = in_id(m, i);
    if (id >= 0 && cn_dtype_is_int(T(m, id)->dtype))
      return 1;
  }
  return 0;
}

static int all_const(imp_t *m) {
  for (int i = 0; i < nin(m); i++) {
    int id = in_id(m, i);
    if (id >= 0 && !is_const(m, id))
      return 0;
  }
  return 1;
}

/* Element i of a constant as int64; floats out of range (or NaN) read as 0
 * rather than an undefined conversion. */
static int64_t i64_at(imp_t *m, int id, int64_t i) {
  const cn_tensor_t *t = T(m, id);
  if (cn_dtype_is_int(t->dtype))
    return ((const int64_t *)t->data)[i];
  float f = ((const float *)t->data)[i];
  return fabsf(f) < 9.2e18f ? (int64_t)f : 0;
}

/* Element value of a constant as a double (either type). */
static double f64_at(imp_t *m, int id, int64_t i) {
  const cn_tensor_t *t = T(m, id);
  return cn_dtype_is_int(t->dtype) ? (double)((const int64_t *)t->data)[i]
                                   : (double)((const float *)t->data)[i];
}

static int is_compare(const char *op) {
  static const char *const c[] = {
      "Equal",          "Less", "Greater", "LessOrEqual",
      "GreaterOrEqual", "And",  "Or",      "Xor"};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    if (!strcmp(op, c[i]))
      return 1;
  return 0;
}

/* One element of op in double (comparisons give 0 or 1); 1 when op is
 * not one of these. */
static int bin_f64(const char *op, double x, double z, double *r) {
  if (!strcmp(op, "Add"))
    *r = x + z;
  else if (!strcmp(op, "Sub"))
    *r = x - z;
  else if (!strcmp(op, "Mul"))
    *r = x * z;
  else if (!strcmp(op, "Div"))
    *r = x / z;
  else if (!strcmp(op, "Pow"))
    *r = pow(x, z);
  else if (!strcmp(op, "Max"))
    *r = x > z || isnan(x) ? x : z;
  else if (!strcmp(op, "Min"))
    *r = x < z || isnan(x) ? x : z;
  else if (!strcmp(op, "Equal"))
    *r = x == z;
  else if (!strcmp(op, "Less"))
    *r = x < z;
  else if (!strcmp(op, "Greater"))
    *r = x > z;
  else if (!strcmp(op, "LessOrEqual"))
    *r = x <= z;
  else if (!strcmp(op, "GreaterOrEqual"))
    *r = x >= z;
  else if (!strcmp(op, "And"))
    *r = x != 0 && z != 0;
  else if (!strcmp(op, "Or"))
    *r = x != 0 || z != 0;
  else if (!strcmp(op, "Xor"))
    *r = (x != 0) != (z != 0);
  else
    return 1;
  return 0;
}

/* The same in int64, wrapping as ONNX runtimes do, without UB. */
static int bin_i64(imp_t *m, const char *op, int64_t x, int64_t z, int64_t *r) {
  if (!strcmp(op, "Add"))
    *r = (int64_t)((uint64_t)x + (uint64_t)z);
  else if (!strcmp(op, "Sub"))
    *r = (int64_t)((uint64_t)x - (uint64_t)z);
  else if (!strcmp(op, "Mul"))
    *r = (int64_t)((uint64_t)x * (uint64_t)z);
  else if (!strcmp(op, "Div")) {
    if (z == 0)
      return ierr(m, CN_EFORMAT, "integer division by zero");
    *r = (x == INT64_MIN && z == -1) ? x : x / z;
  } else if (!strcmp(op, "Max"))
    *r = x > z ? x : z;
  else if (!strcmp(op, "Min"))
    *r = x < z ? x : z;
  else {
    double d;
    if (bin_f64(op, (double)x, (double)z, &d))
      return ierr(m, CN_EUNSUPPORTED, "%s on integer constants", op);
    *r = fabs(d) < 9.2e18 ? (int64_t)d : 0;
  }
  return 0;
}

/* The output of a broadcasting binary op on constants a and b: its shape
 * and each operand's strides (0 on broadcast axes). */
static int bcast(imp_t *m, const cn_tensor_t *ta, const cn_tensor_t *tb,
                 int64_t *dims, int64_t *sa, int64_t *sb) {
  int nd = ta->ndim > tb->ndim ? ta->ndim : tb->ndim;
  int64_t s1 = 1, s2 = 1;
  for (int i = nd - 1; i >= 0; i--) {
    int ia = i - (nd - ta->ndim), ib = i - (nd - tb->ndim);
    int64_t da = ia >= 0 ? ta->dims[ia] : 1, db = ib >= 0 ? tb->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return ierr(m, CN_EFORMAT, "shapes do not broadcast");
    dims[i] = da > db ? da : db;
    if (da == 0 || db == 0)
      dims[i] = 0;
    sa[i] = da == 1 ? 0 : s1;
    sb[i] = db == 1 ? 0 : s2;
    s1 *= da;
    s2 *= db;
  }
  return nd;
}

/* Broadcasting binary op on constants (shape math, masks): in int64 when
 * both are integers, else in double; comparisons and logic give bool,
 * anything else input 0's type. */
static int const_binary(imp_t *m, const char *op) {
  int a, b, o;
  TRY(need_in(m, 0, &a));
  TRY(need_in(m, 1, &b));
  int64_t dims[MAXD], sa[MAXD], sb[MAXD], idx[MAXD] = {0};
  int nd = bcast(m, T(m, a), T(m, b), dims, sa, sb);
  TRY(nd);
  int ints = cn_dtype_is_int(T(m, a)->dtype) && cn_dtype_is_int(T(m, b)->dtype);
  cn_dtype_t dt = is_compare(op)                    ? CN_DT_BOOL
                  : cn_dtype_is_int(T(m, a)->dtype) ? CN_DT_I64
                                                    : CN_DT_F32;
  o = out_const(m, 0, dt, nd, dims, NULL);
  TRY(o);
  int64_t numel = cn_tensor_numel(T(m, o));
  for (int64_t e = 0; e < numel; e++) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < nd; i++) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    int64_t q = 0;
    double d = 0;
    if (ints)
      TRY(bin_i64(m, op, i64_at(m, a, oa), i64_at(m, b, ob), &q));
    else if (bin_f64(op, f64_at(m, a, oa), f64_at(m, b, ob), &d))
      return ierr(m, CN_EUNSUPPORTED, "%s on constants", op);
    if (dt == CN_DT_F32)
      ((float *)T(m, o)->data)[e] = ints ? (float)q : (float)d;
    else
      ((int64_t *)T(m, o)->data)[e] =
          ints ? q : (fabs(d) < 9.2e18 ? (int64_t)d : 0);
    for (int i = nd - 1; i >= 0; i--) {
      if (++idx[i] < dims[i])
        break;
      idx[i] = 0;
    }
  }
  return 0;
}

/* Strides of t read as the broadcast shape dims (rank nd): 0 on the axes
 * it broadcasts; -1 when it does not broadcast to dims. */
static int bstrides(const cn_tensor_t *t, int nd, const int64_t *dims,
                    int64_t *st) {
  int64_t s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    int it = i - (nd - t->ndim);
    int64_t d = it >= 0 ? t->dims[it] : 1;
    if (d != dims[i] && d != 1)
      return -1;
    st[i] = d == 1 ? 0 : s;
    s *= d;
  }
  return 0;
}

/* Where on constants (masks built from shapes): cond ? x : y with
 * broadcasting, in x's type. */
static int const_where(imp_t *m) {
  int id[3];
  int64_t dims[MAXD], st[3][MAXD], idx[MAXD] = {0};
  int nd = 0;
  for (int k = 0; k < 3; k++) {
    TRY(need_in(m, k, &id[k]));
    if (T(m, id[k])->ndim > nd)
      nd = T(m, id[k])->ndim;
  }
  for (int i = 0; i < nd; i++) {
    dims[i] = 1;
    for (int k = 0; k < 3; k++) {
      const cn_tensor_t *t = T(m, id[k]);
      int it = i - (nd - t->ndim);
      if (it >= 0 && t->dims[it] != 1)
        dims[i] = t->dims[it];
    }
  }
  for (int k = 0; k < 3; k++)
    if (bstrides(T(m, id[k]), nd, dims, st[k]) < 0)
      return ierr(m, CN_EFORMAT, "shapes do not broadcast");
  cn_dtype_t dt = T(m, id[1])->dtype;
  if (cn_dtype_is_int(dt) != cn_dtype_is_int(T(m, id[2])->dtype))
    return ierr(m, CN_EFORMAT, "X and Y differ in type");
  int o = out_const(m, 0, dt, nd, dims, NULL);
  TRY(o);
  size_t es = cn_dtype_size(dt);
  int64_t numel = cn_tensor_numel(T(m, o));
  for (int64_t e = 0; e < numel; e++) {
    int64_t off[3] = {0, 0, 0};
    for (int i = 0; i < nd; i++)
      for (int k = 0; k < 3; k++)
        off[k] += idx[i] * st[k][i];
    int pick = f64_at(m, id[0], off[0]) != 0 ? 1 : 2;
    memcpy((unsigned char *)T(m, o)->data + (size_t)e * es,
           (const unsigned char *)T(m, id[pick])->data + (size_t)off[pick] * es,
           es);
    for (int i = nd - 1; i >= 0; i--) {
      if (++idx[i] < dims[i])
        break;
      idx[i] = 0;
    }
  }
  return 0;
}

/* Data movement on a constant of either type with a generic element size:
 * what the IR op would do, done here so int64 shape tensors never reach
 * the graph. kind: 'r' reshape/copy, 's' slice, 't' transpose. */
static int const_move(imp_t *m, char kind, int x, const cn_op_params_t *p,
                      int nd, const int64_t *odims, int k_out) {
  const cn_tensor_t *t = T(m, x);
  size_t es = cn_dtype_size(t->dtype);
  int o = out_const(m, k_out, t->dtype, nd, odims, NULL);
  if (o < 0)
    return o;
  t = T(m, x);
  const unsigned char *src = t->data;
  unsigned char *dst = T(m, o)->data;
  int64_t numel = cn_tensor_numel(T(m, o));
  if (kind == 'r') {
    memcpy(dst, src, (size_t)numel * es);
    return 0;
  }
  int64_t xs[MAXD], idx[MAXD] = {0}, s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    xs[i] = s;
    s *= t->dims[i];
  }
  for (int64_t e = 0; e < numel; e++) {
    int64_t off = 0;
    for (int i = 0; i < nd; i++)
      off += kind == 's'
                 ? (p->slice.starts[i] + idx[i] * p->slice.steps[i]) * xs[i]
                 : idx[i] * xs[p->transpose.perm[i]];
    memcpy(dst + (size_t)e * es, src + (size_t)off * es, es);
    for (int i = nd - 1; i >= 0; i--) {
      if (++idx[i] < odims[i])
        break;
      idx[i] = 0;
    }
  }
  return 0;
}

/* ---- spatial helpers ------------------------------------------------------
 */

typedef struct spatial {
  int nsp; /* 1 or 2 spatial axes in the model */
  int k[2], s[2], d[2];
  int pads[4]; /* top, left, bottom, right (2-D after lifting) */
} spatial_t;

static int int_list(imp_t *m, const char *name, int want, int def, int *out) {
  const int64_t *v;
  int n = attr_ints(m, name, &v);
  TRY(n);
  for (int i = 0; i < want; i++)
    out[i] = def;
  if (n == 0)
    return 0;
  if (n != want)
    return ierr(m, CN_EFORMAT, "%s has %d values, expected %d", name, n, want);
  for (int i = 0; i < n; i++) {
    if (v[i] < 0 || v[i] > 65536)
      return ierr(m, CN_EFORMAT, "%s[%d] is %" PRId64, name, i, v[i]);
    out[i] = (int)v[i];
  }
  return 1;
}

/* Reads kernel_shape/strides/dilations/pads/auto_pad for nsp spatial axes
 * of input dims `in` (spatial part) and lifts 1-D to 2-D (H = 1). kernel
 * may come from the weights (kdef != NULL). */
static int read_spatial(imp_t *m, int nsp, const int64_t *in, const int *kdef,
                        int transposed, spatial_t *sp) {
  int k[2], s[2], d[2], pads[4];
  int hk = int_list(m, "kernel_shape", nsp, 0, k);
  TRY(hk);
  if (!hk) {
    if (!kdef)
      return ierr(m, CN_EFORMAT, "kernel_shape is missing");
    for (int i = 0; i < nsp; i++)
      k[i] = kdef[i];
  }
  TRY(int_list(m, "strides", nsp, 1, s));
  TRY(int_list(m, "dilations", nsp, 1, d));
  TRY(int_list(m, "pads", 2 * nsp, 0, pads));
  for (int i = 0; i < nsp; i++)
    if (k[i] < 1 || s[i] < 1 || d[i] < 1)
      return ierr(m, CN_EFORMAT,
                  "kernel, strides and dilations must be positive");
  char ap[32];
  TRY(attr_str(m, "auto_pad", "NOTSET", ap, sizeof ap));
  if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
    if (!transposed) {
      for (int i = 0; i < nsp; i++) {
        int64_t o = (in[i] + s[i] - 1) / s[i];
        int64_t tot = (o - 1) * s[i] + (int64_t)(k[i] - 1) * d[i] + 1 - in[i];
        if (tot < 0)
          tot = 0;
        int64_t lo = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
        pads[i] = (int)lo;
        pads[nsp + i] = (int)(tot - lo);
      }
    }
    /* ConvTranspose resolves SAME from its output shape (caller). */
  } else if (!strcmp(ap, "VALID")) {
    for (int i = 0; i < 2 * nsp; i++)
      pads[i] = 0;
  } else if (strcmp(ap, "NOTSET") != 0) {
    return ierr(m, CN_EFORMAT, "auto_pad '%s'", ap);
  }
  sp->nsp = nsp;
  if (nsp == 1) {
    sp->k[0] = 1, sp->k[1] = k[0];
    sp->s[0] = 1, sp->s[1] = s[0];
    sp->d[0] = 1, sp->d[1] = d[0];
    sp->pads[0] = 0, sp->pads[1] = pads[0], sp->pads[2] = 0,
    sp->pads[3] = pads[1];
  } else {
    memcpy(sp->k, k, sizeof k);
    memcpy(sp->s, s, sizeof s);
    memcpy(sp->d, d, sizeof d);
    memcpy(sp->pads, pads, sizeof pads);
  }
  return 0;
}

/* 3-D [N,C,L] -> 4-D [N,C,1,L] for 1-D convs and pools. */
static int lift(imp_t *m, int x, int *x4) {
  const cn_tensor_t *t = T(m, x);
  if (t->ndim == 4) {
    *x4 = x;
    return 0;
  }
  int64_t d[4] = {t->dims[0], t->dims[1], 1, t->dims[2]};
  return reshape_to(m, x, 4, d, -1, x4);
}

static int spatial_rank(imp_t *m, int x, int *nsp) {
  *nsp = 2;
  int nd = T(m, x)->ndim;
  if (nd == 4 || nd == 3) {
    *nsp = nd - 2;
    return 0;
  }
  return ierr(m, CN_EUNSUPPORTED,
              "%d-D input: only 1-D and 2-D spatial ops are supported", nd);
}

/* Emits op on the (lifted) input; reshapes the 4-D result back when the
 * model is 1-D. */
static int emit_spatial(imp_t *m, cn_op_t op, const cn_op_params_t *p, int n_in,
                        int *ins, int nsp) {
  int y;
  if (nsp == 2) {
    TRY(new_out(m, 0, &y));
    return emit1(m, op, p, n_in, ins, y);
  }
  int t4, y3;
  TRY(new_tmp(m, &t4));
  TRY(emit1(m, op, p, n_in, ins, t4));
  const cn_tensor_t *t = T(m, t4);
  int64_t d[3] = {t->dims[0], t->dims[1], t->dims[3]};
  TRY(new_out(m, 0, &y3));
  return reshape_to(m, t4, 3, d, y3, &y3);
}

/* ---- op handlers ------------------------------------------------------ */

/* ConvTranspose's output_padding, and its pads from output_shape or
 * SAME auto_pad, in lifted 2-D terms. */
static int deconv_pads(imp_t *m, int x, int nsp, const spatial_t *sp,
                       cn_conv_params_t *c) {
  int op1[2], osh1[2];
  TRY(int_list(m, "output_padding", nsp, 0, op1));
  int hos = int_list(m, "output_shape", nsp, 0, osh1);
  TRY(hos);
  /* Everything in lifted 2-D terms. */
  const int64_t *xd = T(m, x)->dims;
  int64_t in2[2] = {nsp == 1 ? 1 : xd[2], nsp == 1 ? xd[2] : xd[3]};
  int op[2] = {0, nsp == 1 ? op1[0] : op1[1]};
  int64_t osh[2] = {1, nsp == 1 ? osh1[0] : osh1[1]};
  if (nsp == 2) {
    op[0] = op1[0];
    osh[0] = osh1[0];
  }
  char ap[32];
  TRY(attr_str(m, "auto_pad", "NOTSET", ap, sizeof ap));
  int same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
  if (hos || same) {
    for (int i = 0; i < 2; i++) {
      if (nsp == 1 && i == 0)
        continue;
      int64_t want = hos ? osh[i] : in2[i] * sp->s[i];
      int64_t tot = (int64_t)sp->s[i] * (in2[i] - 1) + op[i] +
                    (int64_t)(sp->k[i] - 1) * sp->d[i] + 1 - want;
      /* Python floor division, as the spec's formula is written. */
      int64_t half = tot >= 0 ? tot / 2 : -((-tot + 1) / 2);
      int64_t lo, hi;
      if (!strcmp(ap, "SAME_UPPER")) {
        lo = half;
        hi = tot - half;
      } else {
        lo = tot - half;
        hi = half;
      }
      if (lo < 0 || hi < 0) {
        /* A larger output than the natural one: extra rows at the end,
         * which is more output padding. */
        if (lo < 0)
          return ierr(m, CN_EUNSUPPORTED,
                      "output_shape needs negative leading padding");
        op[i] += (int)-hi;
        hi = 0;
      }
      c->pads[i] = (int)lo;
      c->pads[2 + i] = (int)hi;
    }
  }
  c->output_padding[0] = op[0];
  c->output_padding[1] = op[1];
  return 0;
}

static int op_conv(imp_t *m, int transposed) {
  int x, w, b = in_id(m, 2);
  TRY(need_in(m, 0, &x));
  TRY(need_in(m, 1, &w));
  int nsp;
  TRY(spatial_rank(m, x, &nsp));
  const cn_tensor_t *wt = T(m, w);
  if (wt->ndim != nsp + 2)
    return ierr(m, CN_EFORMAT, "weights have %d dimensions, expected %d",
                wt->ndim, nsp + 2);
  int kdef[2] = {(int)wt->dims[2], nsp == 2 ? (int)wt->dims[3] : 0};
  spatial_t sp;
  TRY(read_spatial(m, nsp, T(m, x)->dims + 2, kdef, transposed, &sp));
  int64_t group;
  TRY(attr_int(m, "group", 1, &group));
  if (group < 1 || group > T(m, x)->dims[1])
    return ierr(m, CN_EFORMAT, "group %" PRId64 " for %" PRId64 " channels",
                group, T(m, x)->dims[1]);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  memcpy(p.conv.kernel, sp.k, sizeof sp.k);
  memcpy(p.conv.stride, sp.s, sizeof sp.s);
  memcpy(p.conv.dilation, sp.d, sizeof sp.d);
  memcpy(p.conv.pads, sp.pads, sizeof sp.pads);
  p.conv.group = (int)group;
  p.conv.has_bias = b >= 0;
  if (transposed)
    TRY(deconv_pads(m, x, nsp, &sp, &p.conv));
  int ins[3] = {x, w, b};
  int x4 = x, w4 = w;
  if (nsp == 1) {
    TRY(lift(m, x, &x4));
    TRY(lift(m, w, &w4));
  }
  ins[0] = x4;
  ins[1] = w4;
  return emit_spatial(m, transposed ? CN_OP_DECONV : CN_OP_CONV, &p,
                      b >= 0 ? 3 : 2, ins, nsp);
}

static int op_pool(imp_t *m, cn_pool_kind_t kind, int global) {
  int x;
  TRY(need_in(m, 0, &x));
  if (nout(m) > 1 && m->node->output[1][0])
    return ierr(m, CN_EUNSUPPORTED,
                "the Indices output of MaxPool is not supported");
  int nsp;
  TRY(spatial_rank(m, x, &nsp));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.pool.kind = kind;
  p.pool.global = global;
  if (!global) {
    spatial_t sp;
    TRY(read_spatial(m, nsp, T(m, x)->dims + 2, NULL, 0, &sp));
    memcpy(p.pool.kernel, sp.k, sizeof sp.k);
    memcpy(p.pool.stride, sp.s, sizeof sp.s);
    memcpy(p.pool.dilation, sp.d, sizeof sp.d);
    memcpy(p.pool.pads, sp.pads, sizeof sp.pads);
    int64_t v;
    TRY(attr_int(m, "ceil_mode", 0, &v));
    p.pool.ceil_mode = v != 0;
    TRY(attr_int(m, "count_include_pad", 0, &v));
    p.pool.count_include_pad = v != 0;
    TRY(attr_int(m, "storage_order", 0, &v));
    if (kind == CN_POOL_AVG &&
        (p.pool.dilation[0] != 1 || p.pool.dilation[1] != 1))
      return ierr(m, CN_EUNSUPPORTED, "dilated average pooling");
  }
  int x4 = x;
  if (nsp == 1)
    TRY(lift(m, x, &x4));
  return emit_spatial(m, CN_OP_POOL, &p, 1, &x4, nsp);
}

static int op_act(imp_t *m, cn_act_t kind, float alpha, float beta) {
  int x, y;
  TRY(need_in(m, 0, &x));
  if (is_const(m, x) && cn_dtype_is_int(T(m, x)->dtype) &&
      (kind == CN_ACT_NEG || kind == CN_ACT_ABS)) {
    /* Shape arithmetic (-axis, |x|) on int64 constants. */
    int o;
    int64_t *v = make_i64_out(m, 0, T(m, x)->ndim, T(m, x)->dims, &o);
    if (!v)
      return o;
    for (int64_t i = 0; i < cn_tensor_numel(T(m, o)); i++) {
      int64_t a = i64_at(m, x, i);
      /* Wrapping, as int64 arithmetic in ONNX runtimes does, without UB. */
      v[i] = (kind == CN_ACT_NEG || a < 0) ? (int64_t)(0 - (uint64_t)a) : a;
    }
    return 0;
  }
  TRY(new_out(m, 0, &y));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.act.kind = kind;
  p.act.alpha = alpha;
  p.act.beta = beta;
  return emit1(m, CN_OP_ACT, &p, 1, &x, y);
}

static int op_clip(imp_t *m, int arg) {
  (void)arg;
  float lo = -FLT_MAX, hi = FLT_MAX;
  if (m->opset < 11) {
    TRY(attr_float(m, "min", -FLT_MAX, &lo));
    TRY(attr_float(m, "max", FLT_MAX, &hi));
  } else {
    int id;
    float v;
    if ((id = in_id(m, 1)) >= 0) {
      TRY(need_const(m, 1, "min", &id));
      if (const_floats(m, id, "min", &v, 1) != 1)
        return ierr(m, CN_EFORMAT, "min must hold one value");
      lo = v;
    }
    if ((id = in_id(m, 2)) >= 0) {
      TRY(need_const(m, 2, "max", &id));
      if (const_floats(m, id, "max", &v, 1) != 1)
        return ierr(m, CN_EFORMAT, "max must hold one value");
      hi = v;
    }
  }
  if (lo == 0 && hi == FLT_MAX)
    return op_act(m, CN_ACT_RELU, 0, 0);
  return op_act(m, CN_ACT_CLIP, lo, hi);
}

static int op_binary(imp_t *m, cn_binary_kind_t k, const char *name) {
  if (all_const(m) && any_i64(m))
    return const_binary(m, name);
  int n = nin(m);
  if (n < 1)
    return ierr(m, CN_EFORMAT, "no inputs");
  int acc;
  TRY(need_in(m, 0, &acc));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.binary = k;
  if (n == 1) {
    int y;
    TRY(new_out(m, 0, &y));
    return emit1(m, CN_OP_IDENTITY, NULL, 1, &acc, y);
  }
  TRY(as_float(m, acc, &acc));
  for (int i = 1; i < n; i++) {
    int b, y;
    TRY(need_in(m, i, &b));
    TRY(as_float(m, b, &b));
    if (i == n - 1)
      TRY(new_out(m, 0, &y));
    else
      TRY(new_tmp(m, &y));
    int ins[2] = {acc, b};
    TRY(emit1(m, CN_OP_BINARY, &p, 2, ins, y));
    acc = y;
  }
  return 0;
}

static int op_mean(imp_t *m, int arg) {
  (void)arg;
  int n = nin(m), acc;
  TRY(need_in(m, 0, &acc));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.binary = CN_BIN_ADD;
  for (int i = 1; i < n; i++) {
    int b, y;
    TRY(need_in(m, i, &b));
    TRY(new_tmp(m, &y));
    int ins[2] = {acc, b};
    TRY(emit1(m, CN_OP_BINARY, &p, 2, ins, y));
    acc = y;
  }
  int c, y;
  TRY(scalar_const(m, 1.0f / (float)n, &c));
  TRY(new_out(m, 0, &y));
  p.binary = CN_BIN_MUL;
  int ins[2] = {acc, c};
  return emit1(m, CN_OP_BINARY, &p, 2, ins, y);
}

static int op_prelu(imp_t *m, int arg) {
  (void)arg;
  int x, s, y;
  TRY(need_in(m, 0, &x));
  TRY(need_in(m, 1, &s));
  TRY(new_out(m, 0, &y));
  int ins[2] = {x, s};
  return emit1(m, CN_OP_PRELU, NULL, 2, ins, y);
}

/* Normalizes a possibly negative axis: [-rank, rank) or, when inclusive
 * (Flatten), [-rank, rank]. */
static int norm_axis(imp_t *m, int64_t axis, int rank, int inclusive,
                     int *out) {
  *out = 0;
  if (axis < -rank || axis >= rank + inclusive)
    return ierr(m, CN_EFORMAT, "axis %" PRId64 " out of range for rank %d",
                axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return 0;
}

static int op_softmax(imp_t *m, int log) {
  int x, y;
  TRY(need_in(m, 0, &x));
  int rank = T(m, x)->ndim;
  int64_t a;
  TRY(attr_int(m, "axis", m->opset < 13 ? 1 : -1, &a));
  int axis;
  if (rank == 0)
    return ierr(m, CN_EFORMAT, "softmax of a scalar");
  TRY(norm_axis(m, a, rank, 0, &axis));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.softmax.log = log;
  if (m->opset >= 13 || axis == rank - 1) {
    p.softmax.axis = axis;
    TRY(new_out(m, 0, &y));
    return emit1(m, CN_OP_SOFTMAX, &p, 1, &x, y);
  }
  /* Before opset 13 the input is coerced to 2-D at axis. */
  const cn_tensor_t *t = T(m, x);
  int64_t d2[2] = {1, 1}, od[MAXD];
  for (int i = 0; i < rank; i++) {
    d2[i >= axis] *= t->dims[i];
    od[i] = t->dims[i];
  }
  int x2, y2;
  TRY(reshape_to(m, x, 2, d2, -1, &x2));
  TRY(new_tmp(m, &y2));
  p.softmax.axis = 1;
  TRY(emit1(m, CN_OP_SOFTMAX, &p, 1, &x2, y2));
  TRY(new_out(m, 0, &y));
  return reshape_to(m, y2, rank, od, y, &y);
}

static int op_batchnorm(imp_t *m, int arg) {
  (void)arg;
  int ins[5], y;
  for (int i = 0; i < 5; i++)
    TRY(need_in(m, i, &ins[i]));
  for (int k = 1; k < nout(m); k++)
    if (m->node->output[k][0])
      return ierr(m, CN_EUNSUPPORTED,
                  "training-mode outputs are not supported");
  int64_t v;
  TRY(attr_int(m, "training_mode", 0, &v));
  if (v)
    return ierr(m, CN_EUNSUPPORTED, "training_mode=1 is not supported");
  TRY(attr_int(m, "spatial", 1, &v));
  if (!v)
    return ierr(m, CN_EUNSUPPORTED, "spatial=0 is not supported");
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  TRY(attr_float(m, "epsilon", 1e-5f, &p.bn.eps));
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_BATCHNORM, &p, 5, ins, y);
}

/* *y = the 2-D transpose of x, a new temporary. */
static int emit_t2d(imp_t *m, int x, int *y) {
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.transpose.perm[0] = 1;
  p.transpose.perm[1] = 0;
  TRY(new_tmp(m, y));
  return emit1(m, CN_OP_TRANSPOSE, &p, 1, &x, *y);
}

/* *y = x * f, a new temporary. */
static int emit_scaled(imp_t *m, int x, float f, int *y) {
  int s;
  TRY(scalar_const(m, f, &s));
  TRY(new_tmp(m, y));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.binary = CN_BIN_MUL;
  int ins[2] = {x, s};
  return emit1(m, CN_OP_BINARY, &p, 2, ins, *y);
}

/* Gemm's beta*C: folded into the inner product (*bias) when it is a
 * constant per output column and the weights are constant; otherwise a
 * broadcast Add afterwards (*add_c). */
static int gemm_bias(imp_t *m, int c, float beta, int64_t N, int w, int *bias,
                     int *add_c) {
  *bias = *add_c = -1;
  if (c < 0 || beta == 0.0f)
    return 0;
  const cn_tensor_t *ct = T(m, c);
  int64_t cn = cn_tensor_numel(ct);
  int per_col =
      is_const(m, c) && cn == N && ct->dims[ct->ndim ? ct->ndim - 1 : 0] == N;
  int cc = c;
  if (beta != 1.0f)
    TRY(emit_scaled(m, c, beta, &cc));
  if (per_col && is_const(m, w)) {
    int64_t d1 = N;
    return reshape_to(m, cc, 1, &d1, -1, bias);
  }
  *add_c = cc;
  return 0;
}

/* a x w^T (+ bias) into *out: an inner product for constant weights, else
 * MatMul against w transposed back to [K, N]. */
static int gemm_product(imp_t *m, int a, int w, int bias, int last, int *out) {
  if (is_const(m, w)) {
    cn_op_params_t p;
    memset(&p, 0, sizeof p);
    p.ip.axis = 1;
    p.ip.has_bias = bias >= 0;
    int ins[3] = {a, w, bias};
    if (last)
      TRY(new_out(m, 0, out));
    else
      TRY(new_tmp(m, out));
    return emit1(m, CN_OP_INNER_PRODUCT, &p, bias >= 0 ? 3 : 2, ins, *out);
  }
  int bk;
  TRY(emit_t2d(m, w, &bk));
  if (last)
    TRY(new_out(m, 0, out));
  else
    TRY(new_tmp(m, out));
  int ins[2] = {a, bk};
  return emit1(m, CN_OP_MATMUL, NULL, 2, ins, *out);
}

static int op_gemm(imp_t *m, int arg) {
  (void)arg;
  int a, b, c = in_id(m, 2), y;
  TRY(need_in(m, 0, &a));
  TRY(need_in(m, 1, &b));
  int64_t ta, tb;
  float alpha, beta;
  TRY(attr_int(m, "transA", 0, &ta));
  TRY(attr_int(m, "transB", 0, &tb));
  TRY(attr_float(m, "alpha", 1.0f, &alpha));
  TRY(attr_float(m, "beta", 1.0f, &beta));
  if (T(m, a)->ndim != 2 || T(m, b)->ndim != 2)
    return ierr(m, CN_EFORMAT, "Gemm inputs must be 2-D");
  if (ta)
    TRY(emit_t2d(m, a, &a));
  int64_t N = tb ? T(m, b)->dims[0] : T(m, b)->dims[1];
  /* Weights as [N, K]: the inner-product layout. */
  int w = b;
  if (!tb)
    TRY(emit_t2d(m, b, &w));
  if (alpha != 1.0f)
    TRY(emit_scaled(m, w, alpha, &w));
  int bias, add_c, out;
  TRY(gemm_bias(m, c, beta, N, w, &bias, &add_c));
  TRY(gemm_product(m, a, w, bias, add_c < 0, &out));
  if (add_c >= 0) {
    cn_op_params_t p;
    memset(&p, 0, sizeof p);
    p.binary = CN_BIN_ADD;
    TRY(new_out(m, 0, &y));
    int ins[2] = {out, add_c};
    TRY(emit1(m, CN_OP_BINARY, &p, 2, ins, y));
    if (T(m, y)->ndim != 2 || T(m, y)->dims[0] != T(m, out)->dims[0] ||
        T(m, y)->dims[1] != T(m, out)->dims[1])
      return ierr(m, CN_EFORMAT, "C does not broadcast to the Gemm result");
  }
  return 0;
}

static int op_matmul(imp_t *m, int arg) {
  (void)arg;
  int a, b, y;
  TRY(need_in(m, 0, &a));
  TRY(need_in(m, 1, &b));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  if (is_const(m, b) && !is_const(m, a) && T(m, b)->ndim == 2 &&
      T(m, a)->ndim >= 2) {
    int w;
    TRY(new_tmp(m, &w));
    p.transpose.perm[0] = 1;
    p.transpose.perm[1] = 0;
    TRY(emit1(m, CN_OP_TRANSPOSE, &p, 1, &b, w));
    memset(&p, 0, sizeof p);
    p.ip.axis = T(m, a)->ndim - 1;
    TRY(new_out(m, 0, &y));
    int ins[2] = {a, w};
    return emit1(m, CN_OP_INNER_PRODUCT, &p, 2, ins, y);
  }
  TRY(new_out(m, 0, &y));
  int ins[2] = {a, b};
  return emit1(m, CN_OP_MATMUL, NULL, 2, ins, y);
}

/* Reshape-like ops compute the output shape and either move constant data
 * (int64 shape tensors) or emit an IR Reshape. */
static int finish_reshape(imp_t *m, int x, int nd, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < nd; i++) {
    if (dims[i] < 0 || dims[i] > ((int64_t)1 << 40))
      return ierr(m, CN_EFORMAT, "shape[%d] = %" PRId64, i, dims[i]);
    n *= dims[i];
    if (n > ((int64_t)1 << 40))
      return ierr(m, CN_EFORMAT, "absurd shape");
  }
  if (n != cn_tensor_numel(T(m, x)))
    return ierr(m, CN_EFORMAT,
                "cannot reshape %" PRId64 " elements into %" PRId64,
                cn_tensor_numel(T(m, x)), n);
  if (is_const(m, x) && cn_dtype_is_int(T(m, x)->dtype))
    return const_move(m, 'r', x, NULL, nd, dims, 0);
  int y;
  TRY(new_out(m, 0, &y));
  return reshape_to(m, x, nd, dims, y, &y);
}

static int op_reshape(imp_t *m, int arg) {
  (void)arg;
  int x, s;
  TRY(need_in(m, 0, &x));
  int64_t shape[MAXD + 1];
  int n;
  if (m->opset < 5) {
    const int64_t *v;
    n = attr_ints(m, "shape", &v);
    TRY(n);
    if (n > MAXD)
      return ierr(m, CN_EFORMAT, "shape has %d values", n);
    memcpy(shape, v, sizeof *v * (size_t)n);
  } else {
    TRY(need_const(m, 1, "shape", &s));
    n = const_ints(m, s, "shape", shape, MAXD);
    TRY(n);
  }
  int64_t allowzero;
  TRY(attr_int(m, "allowzero", 0, &allowzero));
  const cn_tensor_t *t = T(m, x);
  int64_t known = 1;
  int neg = -1;
  for (int i = 0; i < n; i++) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= t->ndim)
        return ierr(m, CN_EFORMAT,
                    "shape[%d] = 0 copies a dimension the input lacks", i);
      shape[i] = t->dims[i];
    }
    if (shape[i] == -1) {
      if (neg >= 0)
        return ierr(m, CN_EFORMAT, "shape has two -1");
      neg = i;
    } else if (shape[i] < 0) {
      return ierr(m, CN_EFORMAT, "shape[%d] = %" PRId64, i, shape[i]);
    } else {
      if (shape[i] > ((int64_t)1 << 40))
        return ierr(m, CN_EFORMAT, "shape[%d] = %" PRId64, i, shape[i]);
      known *= shape[i];
      if (known > ((int64_t)1 << 40))
        return ierr(m, CN_EFORMAT, "absurd shape");
    }
  }
  int64_t total = cn_tensor_numel(t);
  if (neg >= 0) {
    if (known == 0 || total % known)
      return ierr(m, CN_EFORMAT, "cannot infer -1 from %" PRId64 " elements",
                  total);
    shape[neg] = total / known;
  }
  return finish_reshape(m, x, n, shape);
}

static int op_flatten(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  const cn_tensor_t *t = T(m, x);
  int64_t a;
  TRY(attr_int(m, "axis", 1, &a));
  int axis;
  TRY(norm_axis(m, a, t->ndim, 1, &axis));
  int64_t d[2] = {1, 1};
  for (int i = 0; i < t->ndim; i++)
    d[i >= axis] *= t->dims[i];
  return finish_reshape(m, x, 2, d);
}

/* Axes from the attribute (opset < 13) or input 1. Returns count or -1
 * when absent. */
static int axes_of(imp_t *m, int64_t *axes, int max, int opset_input) {
  if (m->opset < opset_input) {
    const int64_t *v;
    int n = attr_ints(m, "axes", &v);
    TRY(n);
    const Onnx__AttributeProto *a = attr(m, "axes");
    if (!a)
      return -1;
    if (n > max)
      return ierr(m, CN_EFORMAT, "axes has %d values", n);
    memcpy(axes, v, sizeof *v * (size_t)n);
    return n;
  }
  int id = in_id(m, 1);
  if (id < 0)
    return -1;
  TRY(need_const(m, 1, "axes", &id));
  return const_ints(m, id, "axes", axes, max);
}

static int op_squeeze(imp_t *m, int unsq) {
  int x;
  TRY(need_in(m, 0, &x));
  int64_t axes[MAXD];
  int n = axes_of(m, axes, MAXD, 13);
  if (n < -1)
    return n;
  const cn_tensor_t *t = T(m, x);
  int64_t d[MAXD];
  int nd = 0;
  if (unsq) {
    if (n < 0)
      return ierr(m, CN_EFORMAT, "axes is missing");
    int out_rank = t->ndim + n;
    if (out_rank > MAXD)
      return ierr(m, CN_EUNSUPPORTED, "result has %d dimensions", out_rank);
    int mark[MAXD] = {0};
    for (int i = 0; i < n; i++) {
      int a;
      TRY(norm_axis(m, axes[i], out_rank, 0, &a));
      if (mark[a])
        return ierr(m, CN_EFORMAT, "axis %d repeated", a);
      mark[a] = 1;
    }
    for (int i = 0, k = 0; i < out_rank; i++)
      d[nd++] = mark[i] ? 1 : t->dims[k++];
  } else {
    int mark[MAXD] = {0};
    for (int i = 0; i < n; i++) {
      int a;
      TRY(norm_axis(m, axes[i], t->ndim, 0, &a));
      if (t->dims[a] != 1)
        return ierr(m, CN_EFORMAT, "cannot squeeze axis %d of size %" PRId64, a,
                    t->dims[a]);
      mark[a] = 1;
    }
    for (int i = 0; i < t->ndim; i++)
      if (!(n < 0 ? t->dims[i] == 1 : mark[i]))
        d[nd++] = t->dims[i];
  }
  return finish_reshape(m, x, nd, d);
}

static int op_transpose(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  const cn_tensor_t *t = T(m, x);
  const int64_t *v;
  int n = attr_ints(m, "perm", &v);
  TRY(n);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  if (n && n != t->ndim)
    return ierr(m, CN_EFORMAT, "perm has %d values for rank %d", n, t->ndim);
  int64_t d[MAXD];
  unsigned seen = 0;
  for (int i = 0; i < t->ndim; i++) {
    int64_t pi = n ? v[i] : t->ndim - 1 - i;
    if (pi < 0 || pi >= t->ndim || (seen & (1u << pi)))
      return ierr(m, CN_EFORMAT, "perm is not a permutation");
    seen |= 1u << pi;
    p.transpose.perm[i] = (int)pi;
    d[i] = t->dims[pi];
  }
  if (is_const(m, x) && cn_dtype_is_int(t->dtype))
    return const_move(m, 't', x, &p, t->ndim, d, 0);
  int y;
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_TRANSPOSE, &p, 1, &x, y);
}

static int op_concat(imp_t *m, int arg) {
  (void)arg;
  int n = nin(m), x0;
  TRY(need_in(m, 0, &x0));
  int64_t a;
  if (!attr(m, "axis") && m->opset >= 4)
    return ierr(m, CN_EFORMAT, "axis is missing");
  TRY(attr_int(m, "axis", 1, &a));
  int rank = T(m, x0)->ndim, axis;
  TRY(norm_axis(m, a, rank, 0, &axis));
  int *ins = cn_graph_alloc(m->g, sizeof(int) * (size_t)(n ? n : 1));
  if (!ins)
    return ierr(m, CN_ENOMEM, "out of memory");
  int k = 0;
  for (int i = 0; i < n; i++) {
    int id;
    TRY(need_in(m, i, &id));
    if (T(m, id)->ndim != rank)
      return ierr(m, CN_EFORMAT, "input %d has rank %d, input 0 has %d", i,
                  T(m, id)->ndim, rank);
    /* Exporters concatenate empty tensors; they add nothing. */
    if (T(m, id)->dims[axis] == 0 && n > 1)
      continue;
    ins[k++] = id;
  }
  if (k == 0)
    ins[k++] = x0;
  if (all_const(m) && any_i64(m)) {
    int64_t d[MAXD];
    for (int i = 0; i < rank; i++)
      d[i] = T(m, x0)->dims[i];
    d[axis] = 0;
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < rank; j++)
        if (j != axis && T(m, ins[i])->dims[j] != d[j])
          return ierr(m, CN_EFORMAT, "input shapes differ");
      d[axis] += T(m, ins[i])->dims[axis];
    }
    int o;
    int64_t *y = make_i64_out(m, 0, rank, d, &o);
    if (!y)
      return o;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
      outer *= d[i];
    for (int i = axis + 1; i < rank; i++)
      inner *= d[i];
    int64_t pos = 0;
    for (int64_t oo = 0; oo < outer; oo++)
      for (int i = 0; i < k; i++) {
        int64_t row = T(m, ins[i])->dims[axis] * inner;
        for (int64_t j = 0; j < row; j++)
          y[pos++] = i64_at(m, ins[i], oo * row + j);
      }
    return 0;
  }
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  int y;
  TRY(new_out(m, 0, &y));
  if (k == 1)
    return emit1(m, CN_OP_IDENTITY, NULL, 1, ins, y);
  return emit1(m, CN_OP_CONCAT, &p, k, ins, y);
}

/* Split-18 without sizes: num_outputs chunks of ceil(len / n), the last
 * one smaller. */
static int split_num_outputs(imp_t *m, int64_t len, int no, int64_t *sizes) {
  int64_t k;
  TRY(attr_int(m, "num_outputs", 0, &k));
  if (k != no)
    return ierr(m, CN_EFORMAT, "num_outputs %" PRId64 " for %d outputs", k, no);
  int64_t chunk = (len + no - 1) / no;
  for (int i = 0; i < no; i++) {
    int64_t left = len - chunk * i;
    sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
  }
  return 0;
}

/* Split of an integer constant (TF-style folded shape arithmetic): each
 * part becomes a constant. */
static int split_const(imp_t *m, int x, int axis, int no,
                       const int64_t *sizes) {
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  int nd = T(m, x)->ndim;
  int64_t d[MAXD];
  for (int i = 0; i < nd; i++) {
    d[i] = T(m, x)->dims[i];
    p.slice.steps[i] = 1;
  }
  for (int k = 0; k < no; k++) {
    d[axis] = sizes[k];
    TRY(const_move(m, 's', x, &p, nd, d, k));
    p.slice.starts[axis] += sizes[k];
  }
  return 0;
}

static int op_split(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  const cn_tensor_t *t = T(m, x);
  int64_t a;
  TRY(attr_int(m, "axis", 0, &a));
  int axis;
  TRY(norm_axis(m, a, t->ndim, 0, &axis));
  int no = nout(m);
  if (no < 1 || no > 1024)
    return ierr(m, CN_EFORMAT, "%d outputs", no);
  int64_t sizes[1024];
  int ns;
  if (m->opset < 13) {
    const int64_t *v;
    ns = attr_ints(m, "split", &v);
    TRY(ns);
    memcpy(sizes, v, sizeof *v * (size_t)ns);
  } else {
    int id = in_id(m, 1);
    ns = 0;
    if (id >= 0) {
      TRY(need_const(m, 1, "split", &id));
      ns = const_ints(m, id, "split", sizes, 1024);
      TRY(ns);
    }
  }
  int64_t len = t->dims[axis];
  if (ns == 0 && m->opset >= 18) {
    TRY(split_num_outputs(m, len, no, sizes));
  } else if (ns == 0) {
    if (len % no)
      return ierr(m, CN_EFORMAT, "axis of %" PRId64 " does not split in %d",
                  len, no);
    for (int i = 0; i < no; i++)
      sizes[i] = len / no;
  } else if (ns != no) {
    return ierr(m, CN_EFORMAT, "split has %d values for %d outputs", ns, no);
  }
  int64_t sum = 0;
  for (int i = 0; i < no; i++) {
    if (sizes[i] < 0 || sizes[i] > len)
      return ierr(m, CN_EFORMAT,
                  "split size %" PRId64 " for an axis of %" PRId64, sizes[i],
                  len);
    sum += sizes[i];
  }
  if (sum != len)
    return ierr(m, CN_EFORMAT,
                "split sizes add up to %" PRId64 ", axis has %" PRId64, sum,
                len);
  if (is_const(m, x) && cn_dtype_is_int(T(m, x)->dtype))
    return split_const(m, x, axis, no, sizes);
  int outs[1024];
  for (int i = 0; i < no; i++) {
    TRY(new_out(m, i, &outs[i]));
    cn_tensor_t *o = T(m, outs[i]);
    t = T(m, x);
    o->ndim = t->ndim;
    memcpy(o->dims, t->dims, sizeof o->dims);
    o->dims[axis] = sizes[i];
  }
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  return emit(m, CN_OP_SPLIT, &p, 1, &x, no, outs);
}

/* Clamps one Slice axis as the ONNX spec does; returns the element count. */
static int64_t slice_axis(int64_t dim, int64_t st, int64_t en, int64_t *step,
                          int64_t *start) {
  /* Steps beyond the axis take one element at most; clamping them keeps
   * the arithmetic below (and the backends') far from overflow. */
  int64_t lim = dim + 1;
  if (*step > lim)
    *step = lim;
  if (*step < -lim)
    *step = -lim;
  if (st < 0)
    st += dim;
  if (en < 0)
    en += dim;
  if (*step > 0) {
    st = st < 0 ? 0 : st > dim ? dim : st;
    en = en < 0 ? 0 : en > dim ? dim : en;
    *start = st;
    return en > st ? 1 + (en - st - 1) / *step : 0;
  }
  st = st < 0 ? -1 : st > dim - 1 ? dim - 1 : st;
  en = en < -1 ? -1 : en > dim - 1 ? dim - 1 : en;
  *start = st;
  return st > en ? 1 + (st - en - 1) / -*step : 0;
}

/* Slice's starts, ends and optional axes and steps: attributes before
 * opset 10, constant inputs after. na / nsp are -1 when absent. */
typedef struct slice_args {
  int64_t st[MAXD], en[MAXD], ax[MAXD], sp[MAXD];
  int n, na, nsp;
} slice_args_t;

static int slice_args(imp_t *m, slice_args_t *sa) {
  sa->na = sa->nsp = -1;
  if (m->opset < 10) {
    const int64_t *v;
    sa->n = attr_ints(m, "starts", &v);
    TRY(sa->n);
    if (sa->n > MAXD)
      return ierr(m, CN_EFORMAT, "starts has %d values", sa->n);
    memcpy(sa->st, v, sizeof *v * (size_t)sa->n);
    int ne = attr_ints(m, "ends", &v);
    TRY(ne);
    if (ne != sa->n)
      return ierr(m, CN_EFORMAT, "starts and ends differ in length");
    memcpy(sa->en, v, sizeof *v * (size_t)sa->n);
    sa->na = attr_ints(m, "axes", &v);
    TRY(sa->na);
    if (sa->na > MAXD)
      return ierr(m, CN_EFORMAT, "axes has %d values", sa->na);
    if (sa->na)
      memcpy(sa->ax, v, sizeof *v * (size_t)sa->na);
    else
      sa->na = -1;
  } else {
    int id;
    TRY(need_const(m, 1, "starts", &id));
    sa->n = const_ints(m, id, "starts", sa->st, MAXD);
    TRY(sa->n);
    TRY(need_const(m, 2, "ends", &id));
    int ne = const_ints(m, id, "ends", sa->en, MAXD);
    TRY(ne);
    if (ne != sa->n)
      return ierr(m, CN_EFORMAT, "starts and ends differ in length");
    if (in_id(m, 3) >= 0) {
      TRY(need_const(m, 3, "axes", &id));
      sa->na = const_ints(m, id, "axes", sa->ax, MAXD);
      TRY(sa->na);
    }
    if (in_id(m, 4) >= 0) {
      TRY(need_const(m, 4, "steps", &id));
      sa->nsp = const_ints(m, id, "steps", sa->sp, MAXD);
      TRY(sa->nsp);
    }
  }
  return 0;
}

static int op_slice(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  slice_args_t sa;
  TRY(slice_args(m, &sa));
  const cn_tensor_t *t = T(m, x);
  if ((sa.na >= 0 && sa.na != sa.n) || (sa.nsp >= 0 && sa.nsp != sa.n))
    return ierr(m, CN_EFORMAT, "starts, ends, axes and steps differ in length");
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  int64_t d[MAXD];
  for (int i = 0; i < t->ndim; i++) {
    p.slice.starts[i] = 0;
    p.slice.steps[i] = 1;
    d[i] = t->dims[i];
  }
  unsigned seen = 0;
  for (int i = 0; i < sa.n; i++) {
    int a = i;
    if (sa.na >= 0)
      TRY(norm_axis(m, sa.ax[i], t->ndim, 0, &a));
    else if (i >= t->ndim)
      return ierr(m, CN_EFORMAT, "more starts than axes");
    if (seen & (1u << a))
      return ierr(m, CN_EFORMAT, "axis %d repeated", a);
    seen |= 1u << a;
    int64_t step = sa.nsp >= 0 ? sa.sp[i] : 1;
    if (step == 0)
      return ierr(m, CN_EFORMAT, "step 0");
    d[a] =
        slice_axis(t->dims[a], sa.st[i], sa.en[i], &step, &p.slice.starts[a]);
    p.slice.steps[a] = step;
  }
  if (is_const(m, x) && cn_dtype_is_int(t->dtype))
    return const_move(m, 's', x, &p, t->ndim, d, 0);
  int y;
  TRY(new_out(m, 0, &y));
  T(m, y)->ndim = T(m, x)->ndim;
  memcpy(T(m, y)->dims, d, sizeof d);
  return emit1(m, CN_OP_SLICE, &p, 1, &x, y);
}

/* A Gather on axis `axis` of x by the constant indices idx. */
typedef struct gather {
  int x, idx, axis, out_rank;
  int64_t ni, len, outer, inner;
  int64_t od[MAXD]; /* the result's shape */
} gather_t;

/* Index j of the gather, made non-negative, or an error. */
static int gather_index(imp_t *m, const gather_t *q, int64_t j, int64_t *v) {
  *v = i64_at(m, q->idx, j);
  if (*v < 0)
    *v += q->len;
  if (*v < 0 || *v >= q->len)
    return ierr(m, CN_EFORMAT, "index %" PRId64 " out of range %" PRId64,
                i64_at(m, q->idx, j), q->len);
  return 0;
}

/* Constant data (shape vectors, embedding tables): gather here. */
static int gather_const(imp_t *m, const gather_t *q) {
  cn_dtype_t dt = T(m, q->x)->dtype;
  int o = out_const(m, 0, dt, q->out_rank, q->od, NULL);
  if (o < 0)
    return o;
  size_t es = cn_dtype_size(dt);
  const unsigned char *src = T(m, q->x)->data;
  unsigned char *dst = T(m, o)->data;
  for (int64_t oo = 0; oo < q->outer; oo++)
    for (int64_t j = 0; j < q->ni; j++) {
      int64_t v;
      TRY(gather_index(m, q, j, &v));
      memcpy(dst + (size_t)((oo * q->ni + j) * q->inner) * es,
             src + (size_t)((oo * q->len + v) * q->inner) * es,
             (size_t)q->inner * es);
    }
  return 0;
}

/* Runtime data: one Slice per index, then Concat, then a Reshape to the
 * gathered shape. */
static int gather_runtime(imp_t *m, const gather_t *q) {
  int parts[4096];
  if (q->ni < 1) /* an empty result: empty tensors are not supported */
    return ierr(m, CN_EUNSUPPORTED, "gather of no indices");
  cn_op_params_t p;
  int x = q->x;
  for (int64_t j = 0; j < q->ni; j++) {
    int64_t v;
    TRY(gather_index(m, q, j, &v));
    memset(&p, 0, sizeof p);
    for (int i = 0; i < T(m, x)->ndim; i++)
      p.slice.steps[i] = 1;
    p.slice.starts[q->axis] = v;
    TRY(new_tmp(m, &parts[j]));
    cn_tensor_t *pt = T(m, parts[j]);
    const cn_tensor_t *t = T(m, x);
    pt->ndim = t->ndim;
    memcpy(pt->dims, t->dims, sizeof pt->dims);
    pt->dims[q->axis] = 1;
    TRY(emit1(m, CN_OP_SLICE, &p, 1, &x, parts[j]));
  }
  int cat = parts[0];
  if (q->ni > 1) {
    TRY(new_tmp(m, &cat));
    memset(&p, 0, sizeof p);
    p.axis.axis = q->axis;
    TRY(emit1(m, CN_OP_CONCAT, &p, (int)q->ni, parts, cat));
  }
  int y;
  TRY(new_out(m, 0, &y));
  return reshape_to(m, cat, q->out_rank, q->od, y, &y);
}

static int op_gather(imp_t *m, int arg) {
  (void)arg;
  gather_t q;
  TRY(need_in(m, 0, &q.x));
  TRY(need_const(m, 1, "indices", &q.idx));
  const cn_tensor_t *t = T(m, q.x);
  int64_t a;
  TRY(attr_int(m, "axis", 0, &a));
  TRY(norm_axis(m, a, t->ndim, 0, &q.axis));
  const cn_tensor_t *it = T(m, q.idx);
  q.ni = cn_tensor_numel(it);
  q.out_rank = t->ndim - 1 + it->ndim;
  if (q.out_rank > MAXD)
    return ierr(m, CN_EUNSUPPORTED, "result has %d dimensions", q.out_rank);
  if (q.ni > 4096)
    return ierr(m, CN_EUNSUPPORTED, "gather of %" PRId64 " indices", q.ni);
  int k = 0;
  for (int i = 0; i < q.axis; i++)
    q.od[k++] = t->dims[i];
  for (int i = 0; i < it->ndim; i++)
    q.od[k++] = it->dims[i];
  for (int i = q.axis + 1; i < t->ndim; i++)
    q.od[k++] = t->dims[i];
  q.len = t->dims[q.axis];
  q.outer = q.inner = 1;
  for (int i = 0; i < q.axis; i++)
    q.outer *= t->dims[i];
  for (int i = q.axis + 1; i < t->ndim; i++)
    q.inner *= t->dims[i];
  return is_const(m, q.x) ? gather_const(m, &q) : gather_runtime(m, &q);
}

static int op_shape(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  const cn_tensor_t *t = T(m, x);
  int64_t s, e;
  TRY(attr_int(m, "start", 0, &s));
  TRY(attr_int(m, "end", t->ndim, &e));
  if (s < 0)
    s += t->ndim;
  if (e < 0)
    e += t->ndim;
  s = s < 0 ? 0 : s > t->ndim ? t->ndim : s;
  e = e < 0 ? 0 : e > t->ndim ? t->ndim : e;
  int64_t n = e > s ? e - s : 0;
  int64_t v[MAXD];
  for (int64_t i = 0; i < n; i++)
    v[i] = t->dims[s + i];
  int r = out_const(m, 0, CN_DT_I64, 1, &n, v);
  return r < 0 ? r : 0;
}

static int op_size(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  int64_t v = cn_tensor_numel(T(m, x));
  int r = out_const(m, 0, CN_DT_I64, 0, NULL, &v);
  return r < 0 ? r : 0;
}

static int op_constant(imp_t *m, int arg) {
  (void)arg;
  const Onnx__AttributeProto *a;
  if ((a = attr(m, "value"))) {
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
      return ierr(m, CN_EFORMAT, "value is not a tensor");
    if (nout(m) < 1 || !m->node->output[0][0])
      return ierr(m, CN_EFORMAT, "output 0 is missing");
    int r = add_tensor_proto(m, a->t, m->node->output[0], NULL);
    return r < 0 ? r : 0;
  }
  int r;
  if ((a = attr(m, "value_float"))) {
    float v;
    TRY(attr_float(m, "value_float", 0, &v));
    r = out_const(m, 0, CN_DT_F32, 0, NULL, &v);
  } else if ((a = attr(m, "value_int"))) {
    int64_t v;
    TRY(attr_int(m, "value_int", 0, &v));
    r = out_const(m, 0, CN_DT_I64, 0, NULL, &v);
  } else if ((a = attr(m, "value_floats"))) {
    const float *v;
    int n = attr_floats(m, "value_floats", &v);
    TRY(n);
    int64_t d = n;
    r = out_const(m, 0, CN_DT_F32, 1, &d, v);
  } else if ((a = attr(m, "value_ints"))) {
    const int64_t *v;
    int n = attr_ints(m, "value_ints", &v);
    TRY(n);
    int64_t d = n;
    r = out_const(m, 0, CN_DT_I64, 1, &d, v);
  } else {
    return ierr(m, CN_EUNSUPPORTED,
                "Constant without a tensor, float or int value");
  }
  return r < 0 ? r : 0;
}

static int op_constant_of_shape(imp_t *m, int arg) {
  (void)arg;
  int s;
  TRY(need_const(m, 0, "shape", &s));
  int64_t d[MAXD];
  int n = const_ints(m, s, "shape", d, MAXD);
  TRY(n);
  int64_t numel = 1;
  for (int i = 0; i < n; i++) {
    if (d[i] < 0 || d[i] > ((int64_t)1 << 30))
      return ierr(m, CN_EFORMAT, "shape[%d] = %" PRId64, i, d[i]);
    numel *= d[i];
    /* A generated constant, not weights read from the file: 16M elements
     * is far beyond any real use and bounds what a hostile file costs. */
    if (numel > ((int64_t)1 << 24))
      return ierr(m, CN_EFORMAT, "ConstantOfShape of %" PRId64 "+ elements",
                  numel);
  }
  cn_dtype_t dt = CN_DT_F32;
  double val = 0;
  const Onnx__AttributeProto *a = attr(m, "value");
  if (a) {
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
      return ierr(m, CN_EFORMAT, "value is not a tensor");
    /* Decode through a temporary constant to reuse the checks. */
    char nm[160];
    uniq(m, "value", nm, sizeof nm);
    int id = add_tensor_proto(m, a->t, nm, NULL);
    TRY(id);
    if (cn_tensor_numel(T(m, id)) != 1)
      return ierr(m, CN_EFORMAT, "value must hold one element");
    dt = T(m, id)->dtype;
    val = cn_dtype_is_int(dt) ? (double)((int64_t *)T(m, id)->data)[0]
                              : ((float *)T(m, id)->data)[0];
  }
  int o = out_const(m, 0, dt, n, d, NULL);
  TRY(o);
  if (val == 0)
    return 0; /* constants start zeroed */
  if (cn_dtype_is_int(dt)) {
    int64_t *q = T(m, o)->data, iv = fabs(val) < 9.2e18 ? (int64_t)val : 0;
    for (int64_t i = 0; i < numel; i++)
      q[i] = iv;
  } else {
    float *f = T(m, o)->data, fv = (float)val;
    for (int64_t i = 0; i < numel; i++)
      f[i] = fv;
  }
  return 0;
}

/* float -> IEEE half -> float, rounding to nearest even: what a Cast to
 * float16 keeps of a constant. */
static float round_half(float f) {
  if (!isfinite(f) || f == 0)
    return f;
  int e;
  frexpf(f, &e); /* |f| = m * 2^e, m in [0.5, 1) */
  if (e > 16)
    return f > 0 ? INFINITY : -INFINITY;
  /* 11 significant bits, fewer below the normal range (2^-14). */
  int bits = e >= -13 ? 11 : 11 - (-13 - e);
  if (bits < 0)
    return 0.0f * f;
  float q = ldexpf(1.0f, e - bits);
  float r = nearbyintf(f / q) * q;
  return fabsf(r) >= 65520.0f ? (f > 0 ? INFINITY : -INFINITY) : r;
}

/* v converted to ONNX integer type `to`, wrapping to its width as
 * runtimes do; bool is v != 0. */
static int64_t cast_int(double v, int64_t to) {
  if (to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
    return v != 0;
  int64_t q = (int64_t)v; /* the caller checks the range */
  switch (to) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    return (int32_t)(uint32_t)(uint64_t)q;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    return (int16_t)(uint16_t)(uint64_t)q;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    return (int8_t)(uint8_t)(uint64_t)q;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    return (uint8_t)(uint64_t)q;
  default:
    return q;
  }
}

static int cast_const(imp_t *m, int x, int64_t to, int to_float) {
  const cn_tensor_t *t = T(m, x);
  cn_dtype_t dt = to_float                                    ? CN_DT_F32
                  : to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? CN_DT_BOOL
                                                              : CN_DT_I64;
  int o = out_const(m, 0, dt, t->ndim, t->dims, NULL);
  TRY(o);
  int64_t n = cn_tensor_numel(T(m, x));
  for (int64_t i = 0; i < n; i++) {
    double v = f64_at(m, x, i);
    if (dt == CN_DT_F32) {
      float f = (float)v;
      ((float *)T(m, o)->data)[i] =
          to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? round_half(f) : f;
      continue;
    }
    if (!(fabs(v) < 9.2e18) && dt != CN_DT_BOOL)
      return ierr(m, CN_EFORMAT, "cannot cast %g to an integer", v);
    ((int64_t *)T(m, o)->data)[i] = cast_int(v, to);
  }
  return 0;
}

/* Constants are converted here. At run time only float types exist in
 * the engine: a Cast between them is an identity (float16 and double are
 * computed in float32), and a Cast to an integer type needs the data. */
static int op_cast(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  int64_t to;
  TRY(attr_int(m, "to", 0, &to));
  int to_float = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                 to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                 to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
  int to_int = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
               to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
               to == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 ||
               to == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ||
               to == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
               to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
  if (!to_float && !to_int)
    return ierr(m, CN_EUNSUPPORTED, "Cast to type %" PRId64, to);
  if (is_const(m, x))
    return cast_const(m, x, to, to_float);
  if (!to_float)
    return ierr(m, CN_EUNSUPPORTED,
                "Cast to an integer type needs runtime shapes: %.60s depends "
                "on the input data",
                T(m, x)->name);
  int y;
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_IDENTITY, NULL, 1, &x, y);
}

static int op_identity(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  for (int k = 1; k < nout(m); k++)
    if (m->node->output[k][0])
      return ierr(m, CN_EUNSUPPORTED,
                  "the mask output of Dropout is not supported");
  if (is_const(m, x) && cn_dtype_is_int(T(m, x)->dtype))
    return const_move(m, 'r', x, NULL, T(m, x)->ndim, T(m, x)->dims, 0);
  if (!strcmp(m->node->op_type, "Dropout") && m->opset >= 12) {
    int id = in_id(m, 2);
    if (id >= 0) {
      int64_t v;
      TRY(need_const(m, 2, "training_mode", &id));
      if (const_ints(m, id, "training_mode", &v, 1) == 1 && v)
        return ierr(m, CN_EUNSUPPORTED, "training_mode=1 is not supported");
    }
  }
  int y;
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_IDENTITY, NULL, 1, &x, y);
}

/* Pad-18's axes input: pads[2 * naxes] spread over the listed axes (the
 * others get 0). Returns the new count, 2 * rank. */
static int pad_axes(imp_t *m, int rank, int64_t *pads, int n) {
  int id;
  int64_t axes[MAXD], full[2 * MAXD] = {0};
  TRY(need_const(m, 3, "axes", &id));
  int na = const_ints(m, id, "axes", axes, MAXD);
  TRY(na);
  if (n != 2 * na)
    return ierr(m, CN_EFORMAT, "pads has %d values for %d axes", n, na);
  for (int i = 0; i < na; i++) {
    int a;
    TRY(norm_axis(m, axes[i], rank, 0, &a));
    full[a] = pads[i];
    full[rank + a] = pads[na + i];
  }
  memcpy(pads, full, sizeof(int64_t) * (size_t)(2 * rank));
  return 2 * rank;
}

static int op_pad(imp_t *m, int arg) {
  (void)arg;
  int x;
  TRY(need_in(m, 0, &x));
  const cn_tensor_t *t = T(m, x);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  char mode[32];
  TRY(attr_str(m, "mode", "constant", mode, sizeof mode));
  if (!strcmp(mode, "constant"))
    p.pad.mode = CN_PAD_CONSTANT;
  else if (!strcmp(mode, "reflect"))
    p.pad.mode = CN_PAD_REFLECT;
  else if (!strcmp(mode, "edge"))
    p.pad.mode = CN_PAD_EDGE;
  else
    return ierr(m, CN_EUNSUPPORTED, "pad mode '%s'", mode);
  int64_t pads[2 * MAXD];
  int n;
  if (m->opset < 11) {
    const int64_t *v;
    n = attr_ints(m, "pads", &v);
    TRY(n);
    if (n > 2 * MAXD)
      return ierr(m, CN_EFORMAT, "pads has %d values", n);
    memcpy(pads, v, sizeof *v * (size_t)n);
    TRY(attr_float(m, "value", 0.0f, &p.pad.value));
  } else {
    int id;
    TRY(need_const(m, 1, "pads", &id));
    n = const_ints(m, id, "pads", pads, 2 * MAXD);
    TRY(n);
    if ((id = in_id(m, 2)) >= 0) {
      TRY(need_const(m, 2, "constant_value", &id));
      float v;
      if (const_floats(m, id, "constant_value", &v, 1) == 1)
        p.pad.value = v;
    }
    if (in_id(m, 3) >= 0)
      TRY(n = pad_axes(m, t->ndim, pads, n));
  }
  if (n != 2 * t->ndim)
    return ierr(m, CN_EFORMAT, "pads has %d values, expected %d", n,
                2 * t->ndim);
  for (int i = 0; i < n; i++) {
    if (pads[i] > ((int64_t)1 << 30) || pads[i] < -((int64_t)1 << 30))
      return ierr(m, CN_EFORMAT, "pads[%d] = %" PRId64, i, pads[i]);
    p.pad.pads[i] = pads[i];
  }
  int y;
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_PAD, &p, 1, &x, y);
}

/* What a Resize / Upsample node gives for its output size. */
typedef struct resize_in {
  float scales[MAXD];
  int64_t sizes[MAXD];
  int ns, nz; /* counts of scales and sizes (one is 0) */
  float roi[2 * MAXD];
  int nroi;
  int64_t axes[MAXD]; /* Resize-18 axes (na of them; 0: all) */
  int na;
  unsigned mask; /* the axes resized: bit per axis */
  int policy;    /* keep_aspect_ratio_policy: 0 stretch, 1 not_larger, 2
                    not_smaller */
} resize_in_t;

static int resize_mode(imp_t *m, cn_resize_params_t *p) {
  char mode[32];
  TRY(attr_str(m, "mode", "nearest", mode, sizeof mode));
  if (!strcmp(mode, "nearest"))
    p->mode = CN_RESIZE_NEAREST;
  else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear"))
    p->mode = CN_RESIZE_LINEAR;
  else if (!strcmp(mode, "cubic"))
    p->mode = CN_RESIZE_CUBIC;
  else
    return ierr(m, CN_EUNSUPPORTED, "resize mode '%s'", mode);
  return 0;
}

/* Upsample and Resize-10: asymmetric coordinates, nearest rounds down,
 * scales only. */
static int resize_legacy(imp_t *m, int upsample, cn_resize_params_t *p,
                         resize_in_t *ri) {
  p->coord = CN_COORD_ASYMMETRIC;
  p->nearest = CN_NEAREST_FLOOR;
  if (upsample && m->opset < 9) {
    const float *v;
    ri->ns = attr_floats(m, "scales", &v);
    TRY(ri->ns);
    if (ri->ns > MAXD)
      return ierr(m, CN_EFORMAT, "scales has %d values", ri->ns);
    memcpy(ri->scales, v, sizeof *v * (size_t)ri->ns);
  } else {
    int id;
    TRY(need_const(m, 1, "scales", &id));
    ri->ns = const_floats(m, id, "scales", ri->scales, MAXD);
    TRY(ri->ns);
  }
  if (ri->ns == 0)
    return ierr(m, CN_EFORMAT, "scales is missing");
  return 0;
}

static int resize_coord(imp_t *m, cn_resize_params_t *p) {
  static const struct {
    const char *n;
    cn_resize_coord_t c;
  } cm[] = {
      {"half_pixel", CN_COORD_HALF_PIXEL},
      {"asymmetric", CN_COORD_ASYMMETRIC},
      {"align_corners", CN_COORD_ALIGN_CORNERS},
      {"pytorch_half_pixel", CN_COORD_PYTORCH_HALF_PIXEL},
      {"tf_half_pixel_for_nn", CN_COORD_TF_HALF_PIXEL_FOR_NN},
      {"tf_crop_and_resize", CN_COORD_TF_CROP_AND_RESIZE},
  };
  char ctm[40], nm[40];
  TRY(attr_str(m, "coordinate_transformation_mode", "half_pixel", ctm,
               sizeof ctm));
  size_t i;
  for (i = 0; i < sizeof cm / sizeof cm[0]; i++)
    if (!strcmp(ctm, cm[i].n))
      break;
  if (i == sizeof cm / sizeof cm[0])
    return ierr(m, CN_EUNSUPPORTED, "coordinate_transformation_mode '%s'", ctm);
  p->coord = cm[i].c;
  TRY(attr_str(m, "nearest_mode", "round_prefer_floor", nm, sizeof nm));
  if (!strcmp(nm, "round_prefer_floor"))
    p->nearest = CN_NEAREST_ROUND_PREFER_FLOOR;
  else if (!strcmp(nm, "round_prefer_ceil"))
    p->nearest = CN_NEAREST_ROUND_PREFER_CEIL;
  else if (!strcmp(nm, "floor"))
    p->nearest = CN_NEAREST_FLOOR;
  else if (!strcmp(nm, "ceil"))
    p->nearest = CN_NEAREST_CEIL;
  else
    return ierr(m, CN_EUNSUPPORTED, "nearest_mode '%s'", nm);
  return 0;
}

/* Resize-18's axes and keep_aspect_ratio_policy attributes. */
static int resize_18(imp_t *m, resize_in_t *ri) {
  const int64_t *v;
  ri->na = attr_ints(m, "axes", &v);
  TRY(ri->na);
  if (ri->na > MAXD)
    return ierr(m, CN_EFORMAT, "axes has %d values", ri->na);
  memcpy(ri->axes, v, sizeof *v * (size_t)ri->na);
  char pol[24];
  TRY(attr_str(m, "keep_aspect_ratio_policy", "stretch", pol, sizeof pol));
  if (!strcmp(pol, "stretch"))
    ri->policy = 0;
  else if (!strcmp(pol, "not_larger"))
    ri->policy = 1;
  else if (!strcmp(pol, "not_smaller"))
    ri->policy = 2;
  else
    return ierr(m, CN_EFORMAT, "keep_aspect_ratio_policy '%s'", pol);
  return 0;
}

/* keep_aspect_ratio_policy on sizes: one scale for the listed axes (all
 * when none are), the smallest (not_larger) or largest (not_smaller)
 * sizes/dims ratio; sizes become round(scale * dim) and the coordinate
 * transform uses that scale (ONNX's reference does the same). */
static void resize_policy(const cn_tensor_t *t, resize_in_t *ri) {
  int nd = t->ndim;
  double sc = ri->policy == 1 ? INFINITY : 0;
  for (int i = 0; i < nd; i++) {
    if (!(ri->mask & (1u << i)))
      continue;
    double r = (double)ri->sizes[i] / (double)t->dims[i];
    sc = ri->policy == 1 ? fmin(sc, r) : fmax(sc, r);
  }
  for (int i = 0; i < nd; i++) {
    ri->scales[i] = 1.0f;
    if (!(ri->mask & (1u << i)) || !(sc > 0 && sc < 65536))
      continue;
    ri->sizes[i] = (int64_t)floor(sc * (double)t->dims[i] + 0.5);
    ri->scales[i] = (float)sc;
  }
}

/* Spreads per-axis scales / sizes / roi given for ri->axes over all rank
 * axes (the others keep their size), then applies the aspect policy. */
static int resize_full_rank(imp_t *m, const cn_tensor_t *t, resize_in_t *ri) {
  int nd = t->ndim, na = ri->na;
  ri->mask = na ? 0u : (1u << nd) - 1u;
  if (na) {
    int given = ri->ns ? ri->ns : ri->nz;
    if (given != na || (ri->nroi && ri->nroi != 2 * na))
      return ierr(m, CN_EFORMAT, "%d scales/sizes for %d axes", given, na);
    resize_in_t f = *ri;
    for (int i = 0; i < nd; i++) {
      f.scales[i] = 1.0f;
      f.sizes[i] = t->dims[i];
      f.roi[i] = 0.0f;
      f.roi[nd + i] = 1.0f;
    }
    for (int k = 0; k < na; k++) {
      int a;
      TRY(norm_axis(m, ri->axes[k], nd, 0, &a));
      f.scales[a] = ri->scales[k];
      f.sizes[a] = ri->sizes[k];
      f.mask |= 1u << a;
      if (ri->nroi) {
        f.roi[a] = ri->roi[k];
        f.roi[nd + a] = ri->roi[na + k];
      }
    }
    f.ns = ri->ns ? nd : 0;
    f.nz = ri->nz ? nd : 0;
    f.nroi = ri->nroi ? 2 * nd : 0;
    *ri = f;
  }
  if (ri->policy && ri->nz == nd)
    resize_policy(t, ri);
  return 0;
}

/* Resize-11 and later: attributes, then roi / scales / sizes inputs. */
static int resize_modern(imp_t *m, cn_resize_params_t *p, resize_in_t *ri) {
  TRY(resize_coord(m, p));
  TRY(attr_float(m, "cubic_coeff_a", -0.75f, &p->cubic_a));
  int64_t ex, aa;
  TRY(attr_int(m, "exclude_outside", 0, &ex));
  p->exclude_outside = ex != 0;
  TRY(attr_float(m, "extrapolation_value", 0.0f, &p->extrapolation_value));
  TRY(attr_int(m, "antialias", 0, &aa));
  if (aa)
    return ierr(m, CN_EUNSUPPORTED, "antialias");
  TRY(resize_18(m, ri));
  int id;
  if ((id = in_id(m, 1)) >= 0 && cn_tensor_numel(T(m, id)) > 0) {
    TRY(need_const(m, 1, "roi", &id));
    ri->nroi = const_floats(m, id, "roi", ri->roi, 2 * MAXD);
    TRY(ri->nroi);
  }
  if ((id = in_id(m, 2)) >= 0 && cn_tensor_numel(T(m, id)) > 0) {
    TRY(need_const(m, 2, "scales", &id));
    ri->ns = const_floats(m, id, "scales", ri->scales, MAXD);
    TRY(ri->ns);
  }
  if ((id = in_id(m, 3)) >= 0 && cn_tensor_numel(T(m, id)) > 0) {
    TRY(need_const(m, 3, "sizes", &id));
    ri->nz = const_ints(m, id, "sizes", ri->sizes, MAXD);
    TRY(ri->nz);
  }
  if ((ri->ns > 0) == (ri->nz > 0))
    return ierr(m, CN_EFORMAT, "exactly one of scales and sizes must be given");
  return 0;
}

/* Output extent of axis i and the scale the kernel's coordinate transform
 * uses (out/in when the model gave sizes). */
static int resize_axis(imp_t *m, const cn_tensor_t *t, int i,
                       const resize_in_t *ri, cn_resize_params_t *p,
                       int64_t *od) {
  int nd = t->ndim;
  if (ri->nz) {
    if (ri->sizes[i] < 1 || ri->sizes[i] > ((int64_t)1 << 24))
      return ierr(m, CN_EFORMAT, "sizes[%d] = %" PRId64, i, ri->sizes[i]);
    *od = ri->sizes[i];
    p->scales[i] = (float)ri->sizes[i] / (float)t->dims[i];
    return 0;
  }
  if (!(ri->scales[i] > 0 && ri->scales[i] < 65536))
    return ierr(m, CN_EFORMAT, "scales[%d] = %g", i, (double)ri->scales[i]);
  double span = p->coord == CN_COORD_TF_CROP_AND_RESIZE
                    ? (double)(p->roi[nd + i] - p->roi[i])
                    : 1.0;
  double o = floor((double)t->dims[i] * span * ri->scales[i]);
  if (!(o < (double)((int64_t)1 << 30)))
    return ierr(m, CN_EFORMAT, "resized axis %d would have %g elements", i, o);
  *od = o >= 1 ? (int64_t)o : 0;
  if (*od < 1)
    return ierr(m, CN_EFORMAT, "resized axis %d would be empty", i);
  p->scales[i] = ri->scales[i];
  return 0;
}

static int op_resize(imp_t *m, int upsample) {
  int x;
  TRY(need_in(m, 0, &x));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  resize_in_t ri;
  memset(&ri, 0, sizeof ri);
  TRY(resize_mode(m, &p.resize));
  if (upsample || m->opset < 11)
    TRY(resize_legacy(m, upsample, &p.resize, &ri));
  else
    TRY(resize_modern(m, &p.resize, &ri));
  const cn_tensor_t *t = T(m, x);
  int nd = t->ndim;
  TRY(resize_full_rank(m, t, &ri));
  if ((ri.ns && ri.ns != nd) || (ri.nz && ri.nz != nd))
    return ierr(m, CN_EFORMAT, "%d scales/sizes for rank %d",
                ri.ns ? ri.ns : ri.nz, nd);
  if (p.resize.coord == CN_COORD_TF_CROP_AND_RESIZE) {
    if (ri.nroi != 2 * nd)
      return ierr(m, CN_EFORMAT, "roi has %d values, expected %d", ri.nroi,
                  2 * nd);
    memcpy(p.resize.roi, ri.roi, sizeof(float) * (size_t)ri.nroi);
  }
  int64_t od[MAXD];
  for (int i = 0; i < nd; i++) {
    TRY(resize_axis(m, T(m, x), i, &ri, &p.resize, &od[i]));
    if (ri.policy && ri.nz)
      p.resize.scales[i] = ri.scales[i];
  }
  int y;
  TRY(new_out(m, 0, &y));
  T(m, y)->ndim = nd;
  memcpy(T(m, y)->dims, od, sizeof od);
  return emit1(m, CN_OP_RESIZE, &p, 1, &x, y);
}

static int op_lrn(imp_t *m, int arg) {
  (void)arg;
  int x, y;
  TRY(need_in(m, 0, &x));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  int64_t size;
  if (!attr(m, "size"))
    return ierr(m, CN_EFORMAT, "size is missing");
  TRY(attr_int(m, "size", 1, &size));
  if (size < 1 || size > 1024)
    return ierr(m, CN_EFORMAT, "size %" PRId64, size);
  p.lrn.size = (int)size;
  TRY(attr_float(m, "alpha", 1e-4f, &p.lrn.alpha));
  TRY(attr_float(m, "beta", 0.75f, &p.lrn.beta));
  TRY(attr_float(m, "bias", 1.0f, &p.lrn.k));
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_LRN, &p, 1, &x, y);
}

/* A reduction of an integer constant over the axes in mask (ReduceProd
 * of a shape is an element count). */
static int reduce_const(imp_t *m, int x, cn_reduce_kind_t kind, unsigned mask,
                        int keep) {
  if (kind != CN_REDUCE_SUM && kind != CN_REDUCE_PROD &&
      kind != CN_REDUCE_MAX && kind != CN_REDUCE_MIN)
    return ierr(m, CN_EUNSUPPORTED, "%s of integer constants",
                m->node->op_type);
  const cn_tensor_t *t = T(m, x);
  int nd = 0;
  int64_t od[MAXD], kd[MAXD], st[MAXD], s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    kd[i] = (mask >> i) & 1 ? 1 : t->dims[i];
    st[i] = (mask >> i) & 1 ? 0 : s;
    s *= kd[i];
  }
  for (int i = 0; i < t->ndim; i++)
    if (keep || !((mask >> i) & 1))
      od[nd++] = kd[i];
  int o = out_const(m, 0, CN_DT_I64, nd, od, NULL);
  TRY(o);
  int64_t *y = T(m, o)->data, n = cn_tensor_numel(T(m, o)), idx[MAXD] = {0};
  for (int64_t e = 0; e < n; e++)
    y[e] = kind == CN_REDUCE_PROD  ? 1
           : kind == CN_REDUCE_MAX ? INT64_MIN
           : kind == CN_REDUCE_MIN ? INT64_MAX
                                   : 0;
  for (int64_t e = 0; e < cn_tensor_numel(T(m, x)); e++) {
    int64_t off = 0, v = i64_at(m, x, e);
    for (int i = 0; i < T(m, x)->ndim; i++)
      off += idx[i] * st[i];
    int64_t *r = &y[off];
    if (kind == CN_REDUCE_SUM)
      *r = (int64_t)((uint64_t)*r + (uint64_t)v);
    else if (kind == CN_REDUCE_PROD)
      *r = (int64_t)((uint64_t)*r * (uint64_t)v);
    else if (kind == CN_REDUCE_MAX ? v > *r : v < *r)
      *r = v;
    for (int i = T(m, x)->ndim - 1; i >= 0; i--) {
      if (++idx[i] < T(m, x)->dims[i])
        break;
      idx[i] = 0;
    }
  }
  return 0;
}

/* Reductions. Over H and W of a 4-D tensor with keepdims (how exporters
 * write global pooling) Mean and Max become global pooling, which every
 * backend runs fast; anything else is a Reduce node. */
static int op_reduce(imp_t *m, int kind_arg) {
  cn_reduce_kind_t kind = (cn_reduce_kind_t)kind_arg;
  int x;
  TRY(need_in(m, 0, &x));
  const cn_tensor_t *t = T(m, x);
  int64_t axes[MAXD];
  int axes_input = !strcmp(m->node->op_type, "ReduceSum") ? 13 : 18;
  int n = axes_of(m, axes, MAXD, axes_input);
  if (n < -1)
    return n;
  int64_t keep, noop;
  TRY(attr_int(m, "keepdims", 1, &keep));
  TRY(attr_int(m, "noop_with_empty_axes", 0, &noop));
  int y;
  if (n <= 0 && noop) {
    TRY(new_out(m, 0, &y));
    return emit1(m, CN_OP_IDENTITY, NULL, 1, &x, y);
  }
  unsigned mask = 0;
  if (n <= 0)
    mask = t->ndim ? (unsigned)((1u << t->ndim) - 1) : 0;
  for (int i = 0; i < n; i++) {
    int a;
    TRY(norm_axis(m, axes[i], t->ndim, 0, &a));
    mask |= 1u << a;
  }
  if (is_const(m, x) && cn_dtype_is_int(t->dtype))
    return reduce_const(m, x, kind, mask, keep != 0);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  TRY(new_out(m, 0, &y));
  if (t->ndim == 4 && mask == 12u && keep &&
      (kind == CN_REDUCE_MEAN || kind == CN_REDUCE_MAX)) {
    p.pool.kind = kind == CN_REDUCE_MEAN ? CN_POOL_AVG : CN_POOL_MAX;
    p.pool.global = 1;
    return emit1(m, CN_OP_POOL, &p, 1, &x, y);
  }
  p.reduce.kind = kind;
  p.reduce.axes = mask;
  p.reduce.keepdims = keep != 0;
  return emit1(m, CN_OP_REDUCE, &p, 1, &x, y);
}

/* Expand of an integer constant to the broadcast of its shape and
 * shape[0..n). */
static int expand_const(imp_t *m, int x, int n, const int64_t *d) {
  const cn_tensor_t *t = T(m, x);
  int nd = n > t->ndim ? n : t->ndim;
  int64_t od[MAXD], st[MAXD], idx[MAXD] = {0}, numel = 1;
  for (int i = 0; i < nd; i++) {
    int it = i - (nd - t->ndim), is = i - (nd - n);
    int64_t a = it >= 0 ? t->dims[it] : 1, b = is >= 0 ? d[is] : 1;
    if (a != b && a != 1 && b != 1)
      return ierr(m, CN_EFORMAT, "shapes do not broadcast");
    od[i] = a == 1 ? b : a;
    numel *= od[i];
    if (numel > ((int64_t)1 << 24))
      return ierr(m, CN_EFORMAT, "Expand to %" PRId64 "+ elements", numel);
  }
  if (bstrides(t, nd, od, st) < 0)
    return ierr(m, CN_EFORMAT, "shapes do not broadcast");
  int o = out_const(m, 0, T(m, x)->dtype, nd, od, NULL);
  TRY(o);
  for (int64_t e = 0; e < numel; e++) {
    int64_t off = 0;
    for (int i = 0; i < nd; i++)
      off += idx[i] * st[i];
    ((int64_t *)T(m, o)->data)[e] = i64_at(m, x, off);
    for (int i = nd - 1; i >= 0; i--) {
      if (++idx[i] < od[i])
        break;
      idx[i] = 0;
    }
  }
  return 0;
}

static int op_expand(imp_t *m, int arg) {
  (void)arg;
  int x, s;
  TRY(need_in(m, 0, &x));
  TRY(need_const(m, 1, "shape", &s));
  int64_t d[MAXD];
  int n = const_ints(m, s, "shape", d, MAXD);
  TRY(n);
  for (int i = 0; i < n; i++)
    if (d[i] < 0 || d[i] > ((int64_t)1 << 24))
      return ierr(m, CN_EFORMAT, "shape[%d] = %" PRId64, i, d[i]);
  if (is_const(m, x) && cn_dtype_is_int(T(m, x)->dtype))
    return expand_const(m, x, n, d);
  if (cn_dtype_is_int(T(m, x)->dtype))
    return ierr(m, CN_EUNSUPPORTED, "Expand of an integer tensor");
  /* x * ones(shape) broadcasts exactly as Expand does. */
  int ones, y;
  int64_t numel = 1;
  for (int i = 0; i < n; i++) {
    numel *= d[i];
    if (numel > ((int64_t)1 << 24))
      return ierr(m, CN_EFORMAT, "Expand to %" PRId64 "+ elements", numel);
  }
  TRY(new_const(m, CN_DT_F32, n, d, NULL, &ones));
  for (int64_t i = 0; i < numel; i++)
    ((float *)T(m, ones)->data)[i] = 1.0f;
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.binary = CN_BIN_MUL;
  TRY(new_out(m, 0, &y));
  int ins[2] = {x, ones};
  return emit1(m, CN_OP_BINARY, &p, 2, ins, y);
}

static int op_range(imp_t *m, int arg) {
  (void)arg;
  int a, b, c;
  TRY(need_const(m, 0, "start", &a));
  TRY(need_const(m, 1, "limit", &b));
  TRY(need_const(m, 2, "delta", &c));
  float s, l, d;
  if (const_floats(m, a, "start", &s, 1) != 1 ||
      const_floats(m, b, "limit", &l, 1) != 1 ||
      const_floats(m, c, "delta", &d, 1) != 1 || d == 0)
    return ierr(m, CN_EFORMAT, "bad Range arguments");
  if (!(fabsf(s) < 1e15f && fabsf(l) < 1e15f && fabsf(d) < 1e15f))
    return ierr(m, CN_EFORMAT, "Range arguments out of range");
  double cnt = ceil(((double)l - s) / d);
  if (!(cnt <= (double)(1 << 24)))
    return ierr(m, CN_EFORMAT, "Range of %g values", cnt);
  int64_t n = cnt > 0 ? (int64_t)cnt : 0;
  cn_dtype_t dt = T(m, a)->dtype;
  int o = out_const(m, 0, dt, 1, &n, NULL);
  TRY(o);
  for (int64_t i = 0; i < n; i++) {
    if (cn_dtype_is_int(dt))
      ((int64_t *)T(m, o)->data)[i] = (int64_t)s + i * (int64_t)d;
    else
      ((float *)T(m, o)->data)[i] = s + (float)i * d;
  }
  return 0;
}

/* ---- dispatch -------------------------------------------------------- */

static int import_act(imp_t *m, int kind) {
  return op_act(m, (cn_act_t)kind, 0, 0);
}

static int import_leaky_relu(imp_t *m, int arg) {
  float a;
  (void)arg;
  TRY(attr_float(m, "alpha", 0.01f, &a));
  return op_act(m, CN_ACT_RELU, a, 0);
}

static int import_hardsigmoid(imp_t *m, int arg) {
  float a, b;
  (void)arg;
  TRY(attr_float(m, "alpha", 0.2f, &a));
  TRY(attr_float(m, "beta", 0.5f, &b));
  return op_act(m, CN_ACT_HARDSIGMOID, a, b);
}

static int import_elu(imp_t *m, int arg) {
  float a;
  (void)arg;
  TRY(attr_float(m, "alpha", 1.0f, &a));
  return op_act(m, CN_ACT_ELU, a, 0);
}

static int import_selu(imp_t *m, int arg) {
  float a, g;
  (void)arg;
  TRY(attr_float(m, "alpha", 1.67326319217681884765625f, &a));
  TRY(attr_float(m, "gamma", 1.05070102214813232421875f, &g));
  return op_act(m, CN_ACT_SELU, a, g);
}

/* Sum is a chain of Adds (and int64 Sum folds as Add). */
static int import_binary(imp_t *m, int kind) {
  const char *name = kind == CN_BIN_ADD ? "Add" : m->node->op_type;
  return op_binary(m, (cn_binary_kind_t)kind, name);
}

static int import_pool(imp_t *m, int kind) {
  return op_pool(m, (cn_pool_kind_t)kind, 0);
}

static int import_global_pool(imp_t *m, int kind) {
  return op_pool(m, (cn_pool_kind_t)kind, 1);
}

/* Comparisons and logic: only on constants (shape arithmetic, masks),
 * folded at load. */
static int import_compare(imp_t *m, int arg) {
  (void)arg;
  TRY(need_runtime_free(m));
  return const_binary(m, m->node->op_type);
}

static int op_not(imp_t *m, int arg) {
  (void)arg;
  int x, o;
  TRY(need_in(m, 0, &x));
  TRY(need_runtime_free(m));
  o = out_const(m, 0, CN_DT_BOOL, T(m, x)->ndim, T(m, x)->dims, NULL);
  TRY(o);
  for (int64_t i = 0; i < cn_tensor_numel(T(m, o)); i++)
    ((int64_t *)T(m, o)->data)[i] = f64_at(m, x, i) == 0;
  return 0;
}

/* ---- normalization, indexing and layout ops of exporters' graphs ------- */

/* LayerNormalization-17: Y and optionally Mean and InvStdDev. */
static int op_layernorm(imp_t *m, int arg) {
  (void)arg;
  int ins[3] = {-1, -1, -1}, outs[3];
  TRY(need_in(m, 0, &ins[0]));
  ins[1] = in_id(m, 1);
  ins[2] = in_id(m, 2);
  int64_t a, stash;
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  TRY(attr_int(m, "axis", -1, &a));
  TRY(attr_int(m, "stash_type", 1, &stash));
  TRY(attr_float(m, "epsilon", 1e-5f, &p.norm.eps));
  if (stash != 1)
    return ierr(m, CN_EUNSUPPORTED, "stash_type %" PRId64, stash);
  TRY(norm_axis(m, a, T(m, ins[0])->ndim, 0, &p.norm.axis));
  int no = nout(m) > 3 ? 3 : nout(m);
  for (int k = 0; k < no; k++) {
    if (k > 0 && !m->node->output[k][0]) {
      no = k;
      break;
    }
    TRY(new_out(m, k, &outs[k]));
  }
  return emit(m, CN_OP_LAYERNORM, &p,
              ins[2] >= 0   ? 3
              : ins[1] >= 0 ? 2
                            : 1,
              ins, no, outs);
}

static int op_instnorm(imp_t *m, int arg) {
  (void)arg;
  int ins[3], y;
  for (int i = 0; i < 3; i++)
    TRY(need_in(m, i, &ins[i]));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.norm.axis = 1;
  TRY(attr_float(m, "epsilon", 1e-5f, &p.norm.eps));
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_INSTNORM, &p, 3, ins, y);
}

/* Constant integer indices as a float constant, negative ones wrapped and
 * every one checked against the axis length (the kernel trusts them). */
static int float_indices(imp_t *m, int id, int64_t len, int *out) {
  const cn_tensor_t *t = T(m, id);
  if (len > ((int64_t)1 << 24))
    return ierr(m, CN_EUNSUPPORTED, "indexed axis of %" PRId64, len);
  TRY(new_const(m, CN_DT_F32, t->ndim, t->dims, NULL, out));
  float *v = T(m, *out)->data;
  for (int64_t i = 0; i < cn_tensor_numel(T(m, *out)); i++) {
    int64_t k = i64_at(m, id, i);
    if (k < -len || k >= len)
      return ierr(m, CN_EFORMAT,
                  "index %" PRId64 " out of range for an axis of %" PRId64, k,
                  len);
    v[i] = (float)(k < 0 ? k + len : k);
  }
  return 0;
}

static int op_gather_elements(imp_t *m, int arg) {
  (void)arg;
  int x, ix, y;
  TRY(need_in(m, 0, &x));
  TRY(need_const(m, 1, "indices", &ix));
  int64_t a;
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  TRY(attr_int(m, "axis", 0, &a));
  TRY(norm_axis(m, a, T(m, x)->ndim, 0, &p.gather.axis));
  int fi;
  TRY(float_indices(m, ix, T(m, x)->dims[p.gather.axis], &fi));
  TRY(new_out(m, 0, &y));
  int ins[2] = {x, fi};
  return emit1(m, CN_OP_GATHER_ELEMENTS, &p, 2, ins, y);
}

/* Where on float data; the condition is a constant (bool) or a float
 * tensor (0 = false). */
static int op_where(imp_t *m, int arg) {
  (void)arg;
  int ins[3], y;
  for (int i = 0; i < 3; i++)
    TRY(need_in(m, i, &ins[i]));
  /* Masks built from shapes (integer or float) fold at load. */
  if (all_const(m))
    return const_where(m);
  if (cn_dtype_is_int(T(m, ins[0])->dtype)) {
    if (!is_const(m, ins[0]))
      return ierr(m, CN_EUNSUPPORTED,
                  "Where with a condition computed at run "
                  "time");
    const cn_tensor_t *c = T(m, ins[0]);
    int fc;
    TRY(new_const(m, CN_DT_F32, c->ndim, c->dims, NULL, &fc));
    for (int64_t i = 0; i < cn_tensor_numel(T(m, fc)); i++)
      ((float *)T(m, fc)->data)[i] = i64_at(m, ins[0], i) != 0;
    ins[0] = fc;
  }
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_WHERE, NULL, 3, ins, y);
}

static int op_tile(imp_t *m, int arg) {
  (void)arg;
  int x, r, y;
  TRY(need_in(m, 0, &x));
  TRY(need_const(m, 1, "repeats", &r));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  int n = const_ints(m, r, "repeats", p.tile.repeats, MAXD);
  TRY(n);
  if (n != T(m, x)->ndim)
    return ierr(m, CN_EFORMAT, "repeats has %d values for rank %d", n,
                T(m, x)->ndim);
  TRY(new_out(m, 0, &y));
  return emit1(m, CN_OP_TILE, &p, 1, &x, y);
}

/* DepthToSpace / SpaceToDepth as reshape, transpose, reshape: the
 * transpose is a single reorder in oneDNN. */
static int op_space_depth(imp_t *m, int to_depth) {
  int x, y, x6, t6;
  TRY(need_in(m, 0, &x));
  const cn_tensor_t *t = T(m, x);
  int64_t b;
  TRY(attr_int(m, "blocksize", 0, &b));
  char mode[8];
  TRY(attr_str(m, "mode", "DCR", mode, sizeof mode));
  int crd = !strcmp(mode, "CRD");
  if (!crd && strcmp(mode, "DCR"))
    return ierr(m, CN_EFORMAT, "mode '%s'", mode);
  if (t->ndim != 4 || b < 1 || b > 4096)
    return ierr(m, CN_EFORMAT, "blocksize %" PRId64 " on a %d-D input", b,
                t->ndim);
  int64_t N = t->dims[0], C = t->dims[1], H = t->dims[2], W = t->dims[3];
  int64_t d6[6], od[4];
  static const int dcr[6] = {0, 3, 4, 1, 5, 2}, crdp[6] = {0, 1, 4, 2, 5, 3},
                   s2d[6] = {0, 3, 5, 1, 2, 4};
  const int *perm = to_depth ? s2d : crd ? crdp : dcr;
  if (to_depth) {
    if (H % b || W % b)
      return ierr(m, CN_EFORMAT,
                  "%" PRId64 "x%" PRId64 " not a multiple of %" PRId64, H, W,
                  b);
    int64_t s[6] = {N, C, H / b, b, W / b, b},
            o[4] = {N, C * b * b, H / b, W / b};
    memcpy(d6, s, sizeof s);
    memcpy(od, o, sizeof o);
  } else {
    if (C % (b * b))
      return ierr(m, CN_EFORMAT, "%" PRId64 " channels for blocksize %" PRId64,
                  C, b);
    int64_t c = C / (b * b), o[4] = {N, c, H * b, W * b};
    int64_t sd[6] = {N, b, b, c, H, W}, sc[6] = {N, c, b, b, H, W};
    memcpy(d6, crd ? sc : sd, sizeof sd);
    memcpy(od, o, sizeof o);
  }
  TRY(reshape_to(m, x, 6, d6, -1, &x6));
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  for (int i = 0; i < 6; i++)
    p.transpose.perm[i] = perm[i];
  TRY(new_tmp(m, &t6));
  TRY(emit1(m, CN_OP_TRANSPOSE, &p, 1, &x6, t6));
  TRY(new_out(m, 0, &y));
  return reshape_to(m, t6, 4, od, y, &y);
}

static int import_alpha_act(imp_t *m, int kind) {
  float a;
  TRY(attr_float(m, "alpha", 1.0f, &a));
  if (kind == CN_ACT_CELU && a == 0)
    return ierr(m, CN_EFORMAT, "alpha 0");
  return op_act(m, (cn_act_t)kind, a, 0);
}

typedef struct onnx_op {
  const char *name;
  int (*fn)(imp_t *m, int arg);
  int arg;
} onnx_op_t;

/* Every op type of the default domain the importer converts, sorted by
 * strcmp (bsearch). Some are only accepted when they can be evaluated at
 * load (Shape, Size, ConstantOfShape, Range, Equal, Cast to integers). */
static const onnx_op_t onnx_ops[] = {
    {"Abs", import_act, CN_ACT_ABS},
    {"Add", import_binary, CN_BIN_ADD},
    {"And", import_compare, 0},
    {"AveragePool", import_pool, CN_POOL_AVG},
    {"BatchNormalization", op_batchnorm, 0},
    {"Cast", op_cast, 0},
    {"Ceil", import_act, CN_ACT_CEIL},
    {"Celu", import_alpha_act, CN_ACT_CELU},
    {"Clip", op_clip, 0},
    {"Concat", op_concat, 0},
    {"Constant", op_constant, 0},
    {"ConstantOfShape", op_constant_of_shape, 0},
    {"Conv", op_conv, 0},
    {"ConvTranspose", op_conv, 1},
    {"Cos", import_act, CN_ACT_COS},
    {"DepthToSpace", op_space_depth, 0},
    {"Div", import_binary, CN_BIN_DIV},
    {"Dropout", op_identity, 0},
    {"Elu", import_elu, 0},
    {"Equal", import_compare, 0},
    {"Erf", import_act, CN_ACT_ERF},
    {"Exp", import_act, CN_ACT_EXP},
    {"Expand", op_expand, 0},
    {"Flatten", op_flatten, 0},
    {"Floor", import_act, CN_ACT_FLOOR},
    {"Gather", op_gather, 0},
    {"GatherElements", op_gather_elements, 0},
    {"Gemm", op_gemm, 0},
    {"GlobalAveragePool", import_global_pool, CN_POOL_AVG},
    {"GlobalMaxPool", import_global_pool, CN_POOL_MAX},
    {"Greater", import_compare, 0},
    {"GreaterOrEqual", import_compare, 0},
    {"HardSigmoid", import_hardsigmoid, 0},
    {"HardSwish", import_act, CN_ACT_HARDSWISH},
    {"Identity", op_identity, 0},
    {"InstanceNormalization", op_instnorm, 0},
    {"LRN", op_lrn, 0},
    {"LayerNormalization", op_layernorm, 0},
    {"LeakyRelu", import_leaky_relu, 0},
    {"Less", import_compare, 0},
    {"LessOrEqual", import_compare, 0},
    {"Log", import_act, CN_ACT_LOG},
    {"LogSoftmax", op_softmax, 1},
    {"MatMul", op_matmul, 0},
    {"Max", import_binary, CN_BIN_MAX},
    {"MaxPool", import_pool, CN_POOL_MAX},
    {"Mean", op_mean, 0},
    {"Min", import_binary, CN_BIN_MIN},
    {"Mish", import_act, CN_ACT_MISH},
    {"Mul", import_binary, CN_BIN_MUL},
    {"Neg", import_act, CN_ACT_NEG},
    {"Not", op_not, 0},
    {"Or", import_compare, 0},
    {"PRelu", op_prelu, 0},
    {"Pad", op_pad, 0},
    {"Pow", import_binary, CN_BIN_POW},
    {"Range", op_range, 0},
    {"Reciprocal", import_act, CN_ACT_RECIPROCAL},
    {"ReduceL1", op_reduce, CN_REDUCE_L1},
    {"ReduceL2", op_reduce, CN_REDUCE_L2},
    {"ReduceLogSum", op_reduce, CN_REDUCE_LOG_SUM},
    {"ReduceLogSumExp", op_reduce, CN_REDUCE_LOG_SUM_EXP},
    {"ReduceMax", op_reduce, CN_REDUCE_MAX},
    {"ReduceMean", op_reduce, CN_REDUCE_MEAN},
    {"ReduceMin", op_reduce, CN_REDUCE_MIN},
    {"ReduceProd", op_reduce, CN_REDUCE_PROD},
    {"ReduceSum", op_reduce, CN_REDUCE_SUM},
    {"ReduceSumSquare", op_reduce, CN_REDUCE_SUM_SQUARE},
    {"Relu", import_act, CN_ACT_RELU},
    {"Reshape", op_reshape, 0},
    {"Resize", op_resize, 0},
    {"Round", import_act, CN_ACT_ROUND},
    {"Selu", import_selu, 0},
    {"Shape", op_shape, 0},
    {"Sigmoid", import_act, CN_ACT_SIGMOID},
    {"Sign", import_act, CN_ACT_SIGN},
    {"Sin", import_act, CN_ACT_SIN},
    {"Size", op_size, 0},
    {"Slice", op_slice, 0},
    {"Softmax", op_softmax, 0},
    {"Softplus", import_act, CN_ACT_SOFTPLUS},
    {"Softsign", import_act, CN_ACT_SOFTSIGN},
    {"SpaceToDepth", op_space_depth, 1},
    {"Split", op_split, 0},
    {"Sqrt", import_act, CN_ACT_SQRT},
    {"Squeeze", op_squeeze, 0},
    {"Sub", import_binary, CN_BIN_SUB},
    {"Sum", import_binary, CN_BIN_ADD},
    {"Tanh", import_act, CN_ACT_TANH},
    {"ThresholdedRelu", import_alpha_act, CN_ACT_THRESHOLDED_RELU},
    {"Tile", op_tile, 0},
    {"Transpose", op_transpose, 0},
    {"Unsqueeze", op_squeeze, 1},
    {"Upsample", op_resize, 1},
    {"Where", op_where, 0},
    {"Xor", import_compare, 0},
};
#define N_ONNX_OPS (sizeof onnx_ops / sizeof onnx_ops[0])

static int onnx_op_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const onnx_op_t *)elem)->name);
}

static const onnx_op_t *onnx_op_find(const char *op) {
  return bsearch(op, onnx_ops, N_ONNX_OPS, sizeof onnx_ops[0], onnx_op_cmp);
}

const char *cn_onnx_op_at(size_t i) {
  return i < N_ONNX_OPS ? onnx_ops[i].name : NULL;
}

int cn_onnx_op_supported(const char *op) { return op && onnx_op_find(op); }

static int import_node(imp_t *m) {
  const char *op = m->node->op_type ? m->node->op_type : "";
  if (m->node->domain && m->node->domain[0] &&
      strcmp(m->node->domain, "ai.onnx") != 0)
    return ierr(m, CN_EUNSUPPORTED, "op %s of domain %s", op, m->node->domain);
  if (m->opset < 7 && attr(m, "broadcast") && attr(m, "axis"))
    return ierr(m, CN_EUNSUPPORTED,
                "legacy broadcast with an axis (opset < 7)");
  if ((m->opset < 2 && (!strcmp(op, "Pad") || !strcmp(op, "Split"))) ||
      (m->opset < 7 && !strcmp(op, "Upsample")))
    return ierr(m, CN_EUNSUPPORTED, "%s of opset %" PRId64, op, m->opset);
  const onnx_op_t *h = onnx_op_find(op);
  if (!h)
    return ierr(m, CN_EUNSUPPORTED, "unsupported op %s", op);
  return h->fn(m, h->arg);
}

/* The default domain's opset, which must be one the importer knows. */
static int graph_opset(imp_t *m, const Onnx__ModelProto *mp) {
  m->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx"))
      m->opset = o->has_version ? o->version : 1;
  }
  if (m->opset < 0)
    return ierr(m, CN_EFORMAT, "no opset_import for the default domain");
  /* Opsets 7 to 17 are supported, and 18 for the forms exporters write
   * (docs/models.md); older models load when they use none of the legacy
   * forms refused in import_node (legacy broadcast, ...). */
  if (m->opset < 1)
    return ierr(m, CN_EFORMAT, "opset %" PRId64, m->opset);
  if (m->opset > 18)
    return ierr(m, CN_EUNSUPPORTED,
                "opset %" PRId64 " is newer than camnet reads: re-export "
                "with opset 17 or lower (torch.onnx.export(..., "
                "opset_version=17))",
                m->opset);
  return 0;
}

/* ---- runtime inputs and their open dimensions -------------------------- */

/* The entry of opts->input_shapes for the k-th runtime input named name:
 * the first that names it ("" names input 0). */
static const cn_input_shape_t *shape_entry(imp_t *m, const char *name, int k) {
  for (int i = 0; m->o && i < m->o->ninput_shapes; i++) {
    const cn_input_shape_t *e = &m->o->input_shapes[i];
    if (e->name[0] ? !strcmp(e->name, name) : k == 0)
      return e;
  }
  return NULL;
}

/* "--input-shape x:Nx3xHxW" for the message about an open dimension:
 * fixed dimensions as numbers, open ones as letters. */
static void shape_hint(const char *name, int nd, const int64_t *d, char *buf,
                       size_t n) {
  static const char *const nchw[] = {"N", "C", "H", "W"};
  size_t o = (size_t)snprintf(buf, n, "--input-shape %.60s:", name);
  for (int k = 0; k < nd && o < n; k++) {
    if (d[k] > 0)
      o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, k ? "x" : "", d[k]);
    else if (nd == 4)
      o += (size_t)snprintf(buf + o, n - o, "%s%s", k ? "x" : "", nchw[k]);
    else
      o += (size_t)snprintf(buf + o, n - o, "%sD%d", k ? "x" : "", k);
  }
}

/* Open dimensions (d[k] == 0) from the options, in their order of
 * precedence (camnet/model.h); fixed ones checked against an entry. */
static int resolve_dims(imp_t *m, const char *name, int k, int nd, int64_t *d,
                        const char *const *sym) {
  const cn_input_shape_t *e = shape_entry(m, name, k);
  if (e && e->hint && e->ndim != nd)
    e = NULL;
  if (e && e->ndim != nd)
    return ierr(m, CN_EINVAL, "input %s has %d dimensions, the given shape %d",
                name, nd, e->ndim);
  for (int i = 0; e && i < nd; i++) {
    if (d[i] > 0 && d[i] != e->dims[i] && !e->hint)
      return ierr(m, CN_EINVAL,
                  "input %s: dimension %d is %" PRId64 " in the model, the "
                  "given shape says %" PRId64,
                  name, i, d[i], e->dims[i]);
    if (d[i] == 0)
      d[i] = e->dims[i];
  }
  int64_t w = m->o ? m->o->width : 0, h = m->o ? m->o->height : 0;
  if (w <= 0 || h <= 0)
    w = m->imgsz[1], h = m->imgsz[0];
  if (nd == 4 && w > 0 && h > 0) {
    /* NHWC when the channels are fixed last and H is open (BlazeFace). */
    int hi = d[3] > 0 && d[1] == 0 ? 1 : 2;
    if (d[hi] == 0)
      d[hi] = h;
    if (d[hi + 1] == 0)
      d[hi + 1] = w;
  }
  if (nd > 0 && d[0] == 0)
    d[0] = 1; /* an open batch runs with batch 1 */
  for (int i = 0; i < nd; i++)
    if (d[i] == 0) {
      char hint[160];
      shape_hint(name, nd, d, hint, sizeof hint);
      return ierr(m, CN_EINVAL,
                  "input %s: dimension %d ('%.40s') is open: give its size "
                  "(%s)",
                  name, i, sym[i] ? sym[i] : "?", hint);
    }
  return 0;
}

/* Dimension k of an input as the file gives it: > 0 fixed, 0 open (its
 * symbol in *sym), or an error. */
static int input_dim(imp_t *m, const Onnx__ValueInfoProto *vi, size_t k,
                     int64_t *d, const char **sym) {
  const Onnx__TensorShapeProto__Dimension *dm =
      vi->type->tensor_type->shape->dim[k];
  *sym = NULL;
  *d = 0;
  if (dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
    const char *p =
        dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
            ? dm->dim_param
            : NULL;
    *sym = cn_graph_strdup(m->g, p && p[0] ? p : "?");
    return *sym ? 0 : ierr(m, CN_ENOMEM, "out of memory");
  }
  *d = dm->dim_value;
  if (*d == 0)
    return ierr(m, CN_EUNSUPPORTED, "input %s: empty tensors are not supported",
                vi->name);
  if (*d < 1 || *d > ((int64_t)1 << 24))
    return ierr(m, CN_EFORMAT, "input %s: dimension %zu is %" PRId64, vi->name,
                k, *d);
  return 0;
}

/* A runtime input (not an initializer), the k-th: a float tensor whose
 * open dimensions are resolved from the options. Returns its id. */
static int graph_input(imp_t *m, const Onnx__ValueInfoProto *vi, int k) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
      !tp->tensor_type)
    return ierr(m, CN_EUNSUPPORTED, "input %s is not a tensor", vi->name);
  if (tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    return ierr(m, CN_EUNSUPPORTED,
                "input %s has element type %d, only float is supported",
                vi->name, tp->tensor_type->elem_type);
  const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
  if (!sh)
    return ierr(m, CN_EUNSUPPORTED, "input %s has no shape", vi->name);
  if (sh->n_dim > MAXD)
    return ierr(m, CN_EUNSUPPORTED, "input %s has %zu dimensions", vi->name,
                sh->n_dim);
  int64_t d[MAXD];
  const char **sym = cn_graph_alloc(m->g, sizeof(char *) * MAXD);
  if (!sym)
    return ierr(m, CN_ENOMEM, "out of memory");
  int open = 0;
  for (size_t i = 0; i < sh->n_dim; i++) {
    TRY(input_dim(m, vi, i, &d[i], &sym[i]));
    open += d[i] == 0;
  }
  TRY(resolve_dims(m, vi->name, k, (int)sh->n_dim, d, sym));
  int id = cn_graph_add_tensor(m->g, vi->name, CN_DT_F32, (int)sh->n_dim, d);
  if (id < 0)
    return ierr(m, CN_EINVAL, "input %s: the shape is too large", vi->name);
  if (open)
    m->g->tensors[id].dim_syms = sym;
  return id;
}

/* Every entry of opts->input_shapes must name a runtime input (checked
 * first: a misspelt name would otherwise read as a dimension left open). */
static int check_shape_names(imp_t *m, const Onnx__GraphProto *gp) {
  for (int i = 0; m->o && i < m->o->ninput_shapes; i++) {
    const cn_input_shape_t *e = &m->o->input_shapes[i];
    int found = e->hint, first = -1;
    for (size_t k = 0; k < gp->n_input; k++) {
      const char *nm = gp->input[k]->name;
      if (!nm || cn_graph_find(m->g, nm) >= 0)
        continue; /* an initializer */
      if (first < 0)
        first = (int)k;
      found |= !e->name[0] || !strcmp(nm, e->name);
    }
    if (!found)
      return ierr(m, CN_EINVAL, "no input named '%.80s' (the first is '%.80s')",
                  e->name, first >= 0 ? gp->input[first]->name : "");
  }
  return 0;
}

/* Inputs that are not initializers are the graph's runtime inputs. */
static int graph_inputs(imp_t *m, const Onnx__GraphProto *gp) {
  int *ins = cn_graph_alloc(m->g, sizeof(int) * (gp->n_input + 1));
  if (!ins)
    return ierr(m, CN_ENOMEM, "out of memory");
  int nins = 0;
  TRY(check_shape_names(m, gp));
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi->name || !vi->name[0])
      return ierr(m, CN_EFORMAT, "input %zu has no name", i);
    if (cn_graph_find(m->g, vi->name) >= 0)
      continue;
    int id = graph_input(m, vi, nins);
    TRY(id);
    ins[nins++] = id;
  }
  return cn_graph_set_inputs(m->g, ins, nins) < 0
             ? ierr(m, CN_ENOMEM, "out of memory")
             : 0;
}

/* A stop asked for while loading (cn_model_opts_t.interrupt). */
static int interrupted(const imp_t *m) {
  return cn__load_interrupted(m->o ? &m->o->interrupt : NULL, m->src, m->err);
}

static int graph_nodes(imp_t *m, const Onnx__GraphProto *gp) {
  for (size_t i = 0; i < gp->n_node; i++) {
    m->ni = (int)i;
    m->node = gp->node[i];
    m->sub = 0;
    const char *nm = m->node->name && m->node->name[0] ? m->node->name
                     : m->node->op_type                ? m->node->op_type
                                                       : "?";
    snprintf(m->nname, sizeof m->nname, "%s", nm);
    TRY(interrupted(m));
    for (size_t k = 0; k < m->node->n_input; k++) {
      const char *in = m->node->input[k];
      if (in && in[0] && cn_graph_find(m->g, in) < 0)
        return ierr(m, CN_EFORMAT,
                    "input '%.80s' is not defined before this node", in);
    }
    TRY(import_node(m));
  }
  m->node = NULL;
  return 0;
}

static int graph_outputs(imp_t *m, const Onnx__GraphProto *gp) {
  int *outs = cn_graph_alloc(m->g, sizeof(int) * (gp->n_output + 1));
  if (!outs)
    return ierr(m, CN_ENOMEM, "out of memory");
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__TypeProto *tp = gp->output[i]->type;
    if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
        tp->tensor_type && tp->tensor_type->has_elem_type &&
        tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
      return ierr(m, CN_EUNSUPPORTED,
                  "output %s has element type %d, only float is supported",
                  gp->output[i]->name ? gp->output[i]->name : "?",
                  tp->tensor_type->elem_type);
    if (tp && tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
        tp->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET)
      return ierr(m, CN_EUNSUPPORTED, "output %s is not a tensor",
                  gp->output[i]->name ? gp->output[i]->name : "?");
    const char *nm = gp->output[i]->name;
    int id = nm ? cn_graph_find(m->g, nm) : -1;
    if (id < 0)
      return ierr(m, CN_EFORMAT, "output '%.80s' is never computed",
                  nm ? nm : "");
    outs[i] = id;
  }
  if (gp->n_output == 0)
    return ierr(m, CN_EFORMAT, "the graph has no output");
  if (cn_graph_set_outputs(m->g, outs, (int)gp->n_output) < 0)
    return ierr(m, CN_ENOMEM, "out of memory");
  return 0;
}

/* Ultralytics' imgsz: "[640, 640]" (H, W) or "640". */
static void parse_imgsz(imp_t *m, const char *v) {
  long a = 0, b = 0;
  char tail;
  if (sscanf(v, " [ %ld , %ld ] %c", &a, &b, &tail) != 2 &&
      sscanf(v, " [ %ld ] %c", &a, &tail) != 1 &&
      sscanf(v, " %ld %c", &a, &tail) != 1)
    return;
  if (b == 0)
    b = a;
  if (a >= 1 && b >= 1 && a <= 16384 && b <= 16384)
    m->imgsz[0] = a, m->imgsz[1] = b;
}

/* metadata_props into the graph (key, value pairs); imgsz read here
 * because it resolves open input dimensions. */
static int import_meta(imp_t *m, const Onnx__ModelProto *mp) {
  size_t n = mp->n_metadata_props;
  if (n == 0)
    return 0;
  if (n > 4096)
    return ierr(m, CN_EFORMAT, "%zu metadata entries", n);
  const char **kv = cn_graph_alloc(m->g, sizeof(char *) * 2 * n);
  if (!kv)
    return ierr(m, CN_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
    kv[2 * i] = cn_graph_strdup(m->g, e->key ? e->key : "");
    kv[2 * i + 1] = cn_graph_strdup(m->g, e->value ? e->value : "");
    if (!kv[2 * i] || !kv[2 * i + 1])
      return ierr(m, CN_ENOMEM, "out of memory");
    if (!strcmp(kv[2 * i], "imgsz"))
      parse_imgsz(m, kv[2 * i + 1]);
  }
  m->g->meta = kv;
  m->g->nmeta = (int)n;
  return 0;
}

/* Every op type the importer does not convert, named in one message
 * before any node is converted: a new user learns at once all that a
 * model needs, not one op per attempt. */
static int scan_ops(imp_t *m, const Onnx__GraphProto *gp) {
  char seen[24][128], list[200] = "";
  int nseen = 0, nbad = 0, first = -1;
  size_t o = 0;
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *nd = gp->node[i];
    const char *op = nd->op_type ? nd->op_type : "";
    int foreign = nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx");
    if (!foreign && onnx_op_find(op))
      continue;
    char item[128];
    snprintf(item, sizeof item, "%.60s%s%.60s", foreign ? nd->domain : "",
             foreign ? "." : "", op);
    int dup = 0;
    for (int k = 0; k < nseen && !dup; k++)
      dup = !strcmp(seen[k], item);
    if (dup)
      continue;
    if (first < 0)
      first = (int)i;
    nbad++;
    if (nseen < 24)
      memcpy(seen[nseen++], item, sizeof item);
    if (o < sizeof list)
      o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "",
                            item);
  }
  if (nbad == 0)
    return 0;
  m->ni = first;
  m->node = gp->node[first];
  const char *nm = m->node->name && m->node->name[0] ? m->node->name
                   : m->node->op_type                ? m->node->op_type
                                                     : "?";
  snprintf(m->nname, sizeof m->nname, "%s", nm);
  return ierr(m, CN_EUNSUPPORTED, "unsupported op%s %s", nbad > 1 ? "s" : "",
              list);
}

static int import_graph(imp_t *m, const Onnx__ModelProto *mp) {
  const Onnx__GraphProto *gp = mp->graph;
  if (!gp)
    return ierr(m, CN_EFORMAT, "no graph in the model");
  TRY(graph_opset(m, mp));
  TRY(import_meta(m, mp));
  TRY(scan_ops(m, gp));
  for (size_t i = 0; i < gp->n_initializer; i++) {
    TRY(interrupted(m));
    TRY(add_tensor_proto(m, gp->initializer[i], NULL,
                         i < m->nspans ? &m->spans[i] : NULL));
  }
  if (gp->n_sparse_initializer)
    return ierr(m, CN_EUNSUPPORTED, "sparse initializers");
  TRY(graph_inputs(m, gp));
  TRY(graph_nodes(m, gp));
  TRY(graph_outputs(m, gp));
  return cn_graph_compact(m->g, m->err);
}

/* Unpacks buf (the whole file, or the skeleton of a zero-copy load) and
 * imports it into g; destroys g on failure. */
static int import_into(cn_graph_t *g, const uint8_t *buf, size_t len,
                       uint8_t *image, const cn__span_t *spans, size_t nspans,
                       const cn_model_opts_t *o, cn_graph_t **out,
                       cn_err_t *err) {
  ProtobufCAllocator alloc = {
      .alloc = pb_alloc, .free = pb_free, .allocator_data = g};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(&alloc, len, buf);
  if (!mp) {
    cn_err_set(err, CN_EFORMAT, "%s: not an ONNX model (protobuf parse failed)",
               g->source);
    cn_graph_destroy(g);
    return CN_EFORMAT;
  }
  imp_t m = {.g = g,
             .src = g->source,
             .err = err,
             .image = image,
             .spans = spans,
             .nspans = nspans,
             .o = o};
  int r = import_graph(&m, mp);
  if (r < 0)
    cn__err_clean(err);
  onnx__model_proto__free_unpacked(mp, &alloc);
  if (r < 0) {
    cn_graph_destroy(g);
    return r;
  }
  *out = g;
  return 0;
}

/* Weight payloads this size or larger are used where they lie in the file
 * image instead of being copied out by protobuf-c (onnx_wire.h). */
#define CN__ONNX_INPLACE 4096

/* Zero-copy load: the file is read once, into the graph's arena (read()
 * from the page cache costs a third of touching a file mapping here), and
 * protobuf-c unpacks a skeleton without the weight payloads, which the
 * constants then use in place. A file the splitter does not understand is
 * unpacked whole, and protobuf-c says what is wrong with it. */
static int load_image(cn_graph_t *g, uint8_t *image, size_t len,
                      const cn_model_opts_t *o, cn_graph_t **out,
                      cn_err_t *err) {
  size_t nspans = 0;
  int64_t n = cn__onnx_split(image, len, CN__ONNX_INPLACE, NULL, NULL, &nspans);
  if (n < 0)
    return import_into(g, image, len, NULL, NULL, 0, o, out, err);
  uint8_t *skel = malloc(n > 0 ? (size_t)n : 1);
  cn__span_t *spans = malloc((nspans ? nspans : 1) * sizeof *spans);
  if (!skel || !spans) {
    free(skel);
    free(spans);
    cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->source);
    cn_graph_destroy(g);
    return CN_ENOMEM;
  }
  size_t ns2 = 0;
  int64_t n2 = cn__onnx_split(image, len, CN__ONNX_INPLACE, skel, spans, &ns2);
  int r =
      n2 == n && ns2 == nspans
          ? import_into(g, skel, (size_t)n, image, spans, nspans, o, out, err)
          : import_into(g, image, len, NULL, NULL, 0, o, out, err);
  free(skel);
  free(spans);
  return r;
}

/* A new graph named name with room in its arena for a file image of len
 * bytes. Checks the size the same way for files and buffers. */
static int new_image(const char *name, uint64_t len, cn_graph_t **g,
                     uint8_t **image, cn_err_t *err) {
  if (len == 0)
    return cn_err_set(err, CN_EFORMAT, "%s: empty file", name);
  if (len > CN_ONNX_MAX_FILE)
    return cn_err_set(err, CN_EFORMAT, "%s: larger than 2 GiB", name);
  *g = cn_graph_create(name);
  *image = *g ? cn__graph_alloc_raw(*g, (size_t)len) : NULL;
  if (!*image) {
    cn_graph_destroy(*g);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory (%" PRIu64 " bytes)",
                      name, len);
  }
  return 0;
}

/* The same path as a file: one copy of buf into the arena, then the
 * zero-copy load from it (so the fuzz targets cover the splitter too). */
int cn_onnx_load_mem(const void *buf, size_t len, const char *name,
                     cn_graph_t **out, cn_err_t *err) {
  return cn_onnx_load_mem_opts(buf, len, name, NULL, out, err);
}

int cn_onnx_load(const char *path, cn_graph_t **out, cn_err_t *err) {
  return cn_onnx_load_opts(path, NULL, out, err);
}

int cn_onnx_load_mem_opts(const void *buf, size_t len, const char *name,
                          const cn_model_opts_t *opts, cn_graph_t **out,
                          cn_err_t *err) {
  *out = NULL;
  cn_graph_t *g;
  uint8_t *image;
  int r = new_image(name ? name : "model.onnx", len, &g, &image, err);
  if (r < 0)
    return r;
  memcpy(image, buf, len);
  return load_image(g, image, len, opts, out, err);
}

int cn_onnx_load_opts(const char *path, const cn_model_opts_t *opts,
                      cn_graph_t **out, cn_err_t *err) {
  *out = NULL;
  int fd = -1;
  size_t len = 0;
  int r = cn_file_open(path, "ONNX model", CN_ONNX_MAX_FILE, &fd, &len, err);
  if (r)
    return r;
  cn_graph_t *g;
  uint8_t *image;
  if ((r = new_image(path, len, &g, &image, err)) < 0) {
    close(fd);
    return r;
  }
  r = cn_file_read_fd(fd, path, image, len, err);
  close(fd);
  if (r) {
    cn_graph_destroy(g);
    return r;
  }
  return load_image(g, image, len, opts, out, err);
}
