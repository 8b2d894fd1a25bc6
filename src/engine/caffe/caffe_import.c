/* Caffe importer: a deploy .prototxt (parsed by prototxt.c into the
 * caffe.proto messages) plus the weights of a binary .caffemodel, into a
 * cn_graph_t.
 *
 * Both layer forms are read through one view (lview_t): the current
 * `layer { type: "Convolution" }` and the V1 `layers { type: CONVOLUTION }`
 * (whose parameter messages are the same). Layers are filtered by Caffe's
 * NetStateRule logic for the TEST phase, then imported in file order; each
 * node's output shapes are inferred as it is added, so every layer sees the
 * real shapes of its bottoms, which is what the blob size checks need.
 *
 * Blob names: Caffe lets a top reuse a bottom's name (in-place ReLU,
 * BatchNorm, Scale, Dropout), the IR wants unique tensor names. The last
 * write of a blob keeps its Caffe name (so outputs and `--output NAME` mean
 * what they mean in Caffe: the blob after the in-place chain), earlier
 * versions are named "blob@layer".
 *
 * Weights come from the caffemodel's layer of the same name (either form).
 * The caffemodel is mapped, not unpacked: a small walker over the protobuf
 * wire format (wm_parse) records each layer's name and the byte spans of
 * its BlobProtos, and values are copied once, straight into the graph. A
 * 240 MB CaffeNet thus costs one copy instead of three. Every blob's value
 * count is checked against the count the prototxt and the bottom shapes
 * imply. Without a caffemodel, weights are zeros (for shape inspection and
 * tests).
 */
#include "engine/caffe/caffe_import.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "engine/caffe.pb-c.h"
#include "engine/pb_wire.h"
#include "engine/caffe/prototxt.h"
#include "engine/interrupt.h"

#define MAX_MODEL_BYTES ((size_t)2 << 30) /* protobuf's own 2 GiB limit */

/* ---- a small string -> int map (keys borrowed, not copied) ------------- */

typedef struct strmap {
  const char **keys;
  int *vals;
  size_t cap, n;
} strmap_t;

static uint32_t str_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int *map_slot(strmap_t *m, const char *key, int insert) {
  if (insert && 2 * (m->n + 1) > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    const char **k = calloc(cap, sizeof *k);
    int *v = calloc(cap, sizeof *v);
    if (!k || !v) {
      free(k);
      free(v);
      return NULL;
    }
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->keys[i])
        continue;
      size_t j = str_hash(m->keys[i]) & (cap - 1);
      while (k[j])
        j = (j + 1) & (cap - 1);
      k[j] = m->keys[i];
      v[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = cap;
  }
  if (!m->cap)
    return NULL;
  size_t j = str_hash(key) & (m->cap - 1);
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0)
      return &m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  if (!insert)
    return NULL;
  m->keys[j] = key;
  m->vals[j] = 0;
  m->n++;
  return &m->vals[j];
}

static void map_free(strmap_t *m) {
  free(m->keys);
  free(m->vals);
}

/* ---- one view over LayerParameter and V1LayerParameter ---------------- */

typedef struct lview {
  const char *name, *type;
  size_t nbottom, ntop, nblobs, ninclude, nexclude;
  char **bottom, **top;
  Caffe__BlobProto **blobs;
  Caffe__NetStateRule **include, **exclude;
  const Caffe__ConvolutionParameter *conv;
  const Caffe__PoolingParameter *pool;
  const Caffe__InnerProductParameter *ip;
  const Caffe__LRNParameter *lrn;
  const Caffe__ReLUParameter *relu;
  const Caffe__PReLUParameter *prelu;
  const Caffe__ConcatParameter *concat;
  const Caffe__SliceParameter *slice;
  const Caffe__EltwiseParameter *eltwise;
  const Caffe__BatchNormParameter *bn;
  const Caffe__ScaleParameter *scale;
  const Caffe__FlattenParameter *flatten;
  const Caffe__ReshapeParameter *reshape;
  const Caffe__PermuteParameter *permute;
  const Caffe__SoftmaxParameter *softmax;
  const Caffe__PriorBoxParameter *prior;
  const Caffe__DetectionOutputParameter *det;
  const Caffe__InputParameter *input;
} lview_t;

static void view_layer(const Caffe__LayerParameter *l, lview_t *v) {
  memset(v, 0, sizeof *v);
  v->name = l->name ? l->name : "";
  v->type = l->type ? l->type : "";
  v->nbottom = l->n_bottom;
  v->bottom = l->bottom;
  v->ntop = l->n_top;
  v->top = l->top;
  v->nblobs = l->n_blobs;
  v->blobs = l->blobs;
  v->ninclude = l->n_include;
  v->include = l->include;
  v->nexclude = l->n_exclude;
  v->exclude = l->exclude;
  v->conv = l->convolution_param;
  v->pool = l->pooling_param;
  v->ip = l->inner_product_param;
  v->lrn = l->lrn_param;
  v->relu = l->relu_param;
  v->prelu = l->prelu_param;
  v->concat = l->concat_param;
  v->slice = l->slice_param;
  v->eltwise = l->eltwise_param;
  v->bn = l->batch_norm_param;
  v->scale = l->scale_param;
  v->flatten = l->flatten_param;
  v->reshape = l->reshape_param;
  v->permute = l->permute_param;
  v->softmax = l->softmax_param;
  v->prior = l->prior_box_param;
  v->det = l->detection_output_param;
  v->input = l->input_param;
}

/* The V1 enum names mapped to the current type strings ("" if unknown). */
static const char *const v1_names[] = {
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__ABSVAL] = "AbsVal",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__ACCURACY] = "Accuracy",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__ARGMAX] = "ArgMax",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__BNLL] = "BNLL",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__CONCAT] = "Concat",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__CONTRASTIVE_LOSS] =
        "ContrastiveLoss",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__CONVOLUTION] = "Convolution",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__DATA] = "Data",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__DECONVOLUTION] = "Deconvolution",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__DROPOUT] = "Dropout",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__DUMMY_DATA] = "DummyData",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__EUCLIDEAN_LOSS] = "EuclideanLoss",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__ELTWISE] = "Eltwise",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__EXP] = "Exp",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__FLATTEN] = "Flatten",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__HDF5_DATA] = "HDF5Data",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__HDF5_OUTPUT] = "HDF5Output",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__HINGE_LOSS] = "HingeLoss",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__IM2COL] = "Im2col",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__IMAGE_DATA] = "ImageData",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__INFOGAIN_LOSS] = "InfogainLoss",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__INNER_PRODUCT] = "InnerProduct",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__LRN] = "LRN",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__MEMORY_DATA] = "MemoryData",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__MULTINOMIAL_LOGISTIC_LOSS] =
        "MultinomialLogisticLoss",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__MVN] = "MVN",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__POOLING] = "Pooling",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__POWER] = "Power",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__RELU] = "ReLU",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SIGMOID] = "Sigmoid",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SIGMOID_CROSS_ENTROPY_LOSS] =
        "SigmoidCrossEntropyLoss",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SILENCE] = "Silence",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SOFTMAX] = "Softmax",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SOFTMAX_LOSS] = "SoftmaxWithLoss",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SPLIT] = "Split",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SLICE] = "Slice",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__TANH] = "TanH",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__WINDOW_DATA] = "WindowData",
    [CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__THRESHOLD] = "Threshold",
};

static const char *v1_type_name(int t) {
  if (t < 0 || (size_t)t >= sizeof v1_names / sizeof v1_names[0] ||
      !v1_names[t])
    return "";
  return v1_names[t];
}

static void view_v1(const Caffe__V1LayerParameter *l, lview_t *v) {
  memset(v, 0, sizeof *v);
  v->name = l->name ? l->name : "";
  v->type = v1_type_name(l->type);
  v->nbottom = l->n_bottom;
  v->bottom = l->bottom;
  v->ntop = l->n_top;
  v->top = l->top;
  v->nblobs = l->n_blobs;
  v->blobs = l->blobs;
  v->ninclude = l->n_include;
  v->include = l->include;
  v->nexclude = l->n_exclude;
  v->exclude = l->exclude;
  v->conv = l->convolution_param;
  v->pool = l->pooling_param;
  v->ip = l->inner_product_param;
  v->lrn = l->lrn_param;
  v->relu = l->relu_param;
  v->concat = l->concat_param;
  v->slice = l->slice_param;
  v->eltwise = l->eltwise_param;
  v->softmax = l->softmax_param;
}

/* ---- the caffemodel's weights, read from the wire format -------------- */

/* The bytes of one BlobProto inside the mapped caffemodel. */
typedef struct wspan {
  const uint8_t *p;
  size_t len;
} wspan_t;

typedef struct wlayer {
  char *name;
  size_t first, n; /* blobs[first .. first+n) */
} wlayer_t;

typedef struct wmodel {
  wlayer_t *layers;
  size_t nlayers, caplayers;
  wspan_t *blobs;
  size_t nblobs, capblobs;
} wmodel_t;

static void wm_free(wmodel_t *wm) {
  for (size_t i = 0; i < wm->nlayers; i++)
    free(wm->layers[i].name);
  free(wm->layers);
  free(wm->blobs);
  memset(wm, 0, sizeof *wm);
}

/* One LayerParameter (v1: V1LayerParameter): its name and blob spans. */
static int wm_layer(wmodel_t *wm, const uint8_t *p, const uint8_t *e, int v1) {
  uint32_t name_f = v1 ? 4 : 1, blobs_f = v1 ? 6 : 7;
  const uint8_t *name = NULL;
  size_t name_len = 0, first = wm->nblobs;
  cn__pb_field_t f;
  while (p < e) {
    if (cn__pb_next(&p, e, &f))
      return CN_EFORMAT;
    if (f.wt == CN_PB_LEN && f.num == name_f) {
      name = f.payload;
      name_len = f.len;
    } else if (f.wt == CN_PB_LEN && f.num == blobs_f) {
      if (wm->nblobs == wm->capblobs) {
        size_t cap = wm->capblobs ? 2 * wm->capblobs : 64;
        wspan_t *b = realloc(wm->blobs, cap * sizeof *b);
        if (!b)
          return CN_ENOMEM;
        wm->blobs = b;
        wm->capblobs = cap;
      }
      wm->blobs[wm->nblobs].p = f.payload;
      wm->blobs[wm->nblobs].len = f.len;
      wm->nblobs++;
    }
  }
  if (wm->nlayers == wm->caplayers) {
    size_t cap = wm->caplayers ? 2 * wm->caplayers : 64;
    wlayer_t *l = realloc(wm->layers, cap * sizeof *l);
    if (!l)
      return CN_ENOMEM;
    wm->layers = l;
    wm->caplayers = cap;
  }
  wlayer_t *l = &wm->layers[wm->nlayers];
  l->name = malloc(name_len + 1);
  if (!l->name)
    return CN_ENOMEM;
  if (name_len)
    memcpy(l->name, name, name_len);
  l->name[name_len] = 0;
  l->first = first;
  l->n = wm->nblobs - first;
  wm->nlayers++;
  return 0;
}

/* Walks a NetParameter: `layer` (100) and `layers` (2) entries. Returns 0,
 * CN_EFORMAT for bytes that are not a well-formed protobuf, or CN_ENOMEM. */
static int wm_parse(const uint8_t *buf, size_t len, wmodel_t *wm) {
  const uint8_t *p = buf, *e = buf + len;
  cn__pb_field_t f;
  while (p < e) {
    if (cn__pb_next(&p, e, &f))
      return CN_EFORMAT;
    if (f.wt == CN_PB_LEN && (f.num == 100 || f.num == 2)) {
      int r = wm_layer(wm, f.payload, f.end, f.num == 2);
      if (r)
        return r;
    }
  }
  return 0;
}

/* Counts a BlobProto's values: data (field 5, float) or, when there is
 * none, double_data (field 8), each packed or not. -1: malformed. */
static int blob_count(wspan_t b, size_t *n, int *dbl) {
  const uint8_t *p = b.p, *e = b.p + b.len;
  size_t nf = 0, nd = 0;
  cn__pb_field_t f;
  while (p < e) {
    if (cn__pb_next(&p, e, &f))
      return -1;
    int packed = f.wt == CN_PB_LEN;
    if (f.num == 5 && !((packed && f.len % 4 == 0) || f.wt == CN_PB_I32))
      return -1;
    if (f.num == 8 && !((packed && f.len % 8 == 0) || f.wt == CN_PB_I64))
      return -1;
    if (f.num == 5)
      nf += packed ? f.len / 4 : 1;
    if (f.num == 8)
      nd += packed ? f.len / 8 : 1;
  }
  *dbl = nf == 0 && nd > 0;
  *n = *dbl ? nd : nf;
  return 0;
}

#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
static float le_float(const uint8_t *s) {
  uint32_t u = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
               (uint32_t)s[3] << 24;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
#endif

static double le_double(const uint8_t *s) {
  uint64_t u = 0;
  for (int k = 7; k >= 0; k--)
    u = u << 8 | s[k];
  double d;
  memcpy(&d, &u, 8);
  return d;
}

/* Copies the values blob_count() counted (the span is known well-formed). */
static void blob_copy(wspan_t b, int dbl, float *dst) {
  const uint8_t *p = b.p, *e = b.p + b.len;
  uint32_t want = dbl ? 8 : 5;
  cn__pb_field_t f;
  while (p < e) {
    if (cn__pb_next(&p, e, &f))
      return;
    if (f.num == want) {
      size_t isz = dbl ? 8 : 4, n = f.wt == CN_PB_LEN ? f.len / isz : 1;
      const uint8_t *v = f.payload;
      if (!dbl) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(dst, v, n * 4);
#else
        for (size_t i = 0; i < n; i++)
          dst[i] = le_float(v + 4 * i);
#endif
      } else {
        for (size_t i = 0; i < n; i++)
          dst[i] = (float)le_double(v + 8 * i);
      }
      dst += n;
    }
  }
}

/* ---- the import ------------------------------------------------------- */

typedef struct imp {
  cn_graph_t *g;
  const char *pname, *mname; /* prototxt and caffemodel names for errors */
  const Caffe__NetParameter *net;
  const wmodel_t *wm; /* the caffemodel, NULL without one */
  const Caffe__NetState *state;
  cn_err_t *err;
  strmap_t blob;           /* blob name -> current tensor id */
  strmap_t writes;         /* blob name -> writes still to come */
  strmap_t weights;        /* layer name -> index into wm->layers */
  unsigned char *consumed; /* per tensor id */
  int *produced;           /* tensor ids in production order */
  int nproduced, capproduced;
  int *inputs;
  int ninputs;
  const cn_interrupt_t *intr; /* asked between layers; NULL: none */
} imp_t;

static int lerr(imp_t *im, const lview_t *l, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int lerr(imp_t *im, const lview_t *l, int code, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return cn_err_set(im->err, code, "%s: layer %s: %s", im->pname, l->name,
                    what);
}

static int oom(imp_t *im) {
  return cn_err_set(im->err, CN_ENOMEM, "%s: out of memory", im->pname);
}

static const cn_tensor_t *T(const imp_t *im, int id) {
  return &im->g->tensors[id];
}

static int rule_met(const imp_t *im, const Caffe__NetStateRule *r) {
  const Caffe__NetState *s = im->state;
  int level = s && s->has_level ? s->level : 0;
  if (r->has_phase && r->phase != CAFFE__PHASE__TEST)
    return 0;
  if (r->has_min_level && level < r->min_level)
    return 0;
  if (r->has_max_level && level > r->max_level)
    return 0;
  for (size_t i = 0; i < r->n_stage; i++) {
    int found = 0;
    for (size_t k = 0; s && k < s->n_stage; k++)
      found |= strcmp(s->stage[k], r->stage[i]) == 0;
    if (!found)
      return 0;
  }
  for (size_t i = 0; i < r->n_not_stage; i++)
    for (size_t k = 0; s && k < s->n_stage; k++)
      if (strcmp(s->stage[k], r->not_stage[i]) == 0)
        return 0;
  return 1;
}

/* Caffe's Net::FilterNet for the TEST phase. */
static int layer_included(const imp_t *im, const lview_t *l) {
  if (l->ninclude) {
    for (size_t i = 0; i < l->ninclude; i++)
      if (rule_met(im, l->include[i]))
        return 1;
    return 0;
  }
  for (size_t i = 0; i < l->nexclude; i++)
    if (rule_met(im, l->exclude[i]))
      return 0;
  return 1;
}

static int finalize(imp_t *im) { return cn_graph_finalize(im->g, im->err); }

/* Canonical axis index as Caffe's Blob::CanonicalAxisIndex. */
static int canon_axis(imp_t *im, const lview_t *l, int64_t axis, int ndim,
                      int *out) {
  if (axis < -ndim || axis >= ndim)
    return lerr(im, l, CN_EFORMAT,
                "axis %" PRId64 " out of range for a %d-D blob", axis, ndim);
  *out = (int)(axis < 0 ? axis + ndim : axis);
  return 0;
}

/* A tensor for the k-th top, named by the in-place rule (see the top). */
static int new_top(imp_t *im, const lview_t *l, size_t k, int ndim,
                   const int64_t *dims, int *id) {
  const char *top = l->top[k];
  int *left = map_slot(&im->writes, top, 0);
  int last = !left || --*left <= 0;
  char name[512];
  if (last)
    snprintf(name, sizeof name, "%s", top);
  else
    snprintf(name, sizeof name, "%.250s@%.250s", top, l->name);
  int r = -1;
  if (cn_graph_find(im->g, name) < 0)
    r = cn_graph_add_tensor(im->g, name, CN_DT_F32, ndim, dims);
  if (r == CN_EFORMAT)
    return lerr(im, l, CN_EFORMAT, "top %s has an absurd shape", top);
  if (r < 0) {
    r = cn_graph_add_temp(im->g, top);
    if (r >= 0 && ndim > 0) {
      cn_tensor_t *t = &im->g->tensors[r];
      t->ndim = ndim;
      memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    }
  }
  if (r < 0)
    return oom(im);
  *id = r;
  return 0;
}

static int grow_tracking(imp_t *im) {
  /* consumed[] follows ntensors; produced[] grows with it. */
  int n = im->g->ntensors;
  if (n > im->capproduced) {
    int cap = im->capproduced ? im->capproduced : 64;
    while (cap < n)
      cap *= 2;
    unsigned char *c = realloc(im->consumed, (size_t)cap);
    if (!c)
      return oom(im);
    memset(c + im->capproduced, 0, (size_t)(cap - im->capproduced));
    im->consumed = c;
    int *p = realloc(im->produced, sizeof(int) * (size_t)cap);
    if (!p)
      return oom(im);
    im->produced = p;
    im->capproduced = cap;
  }
  return 0;
}

/* Records that the layer's k-th top is now tensor id. */
static int bind_top(imp_t *im, const lview_t *l, size_t k, int id) {
  int *slot = map_slot(&im->blob, l->top[k], 1);
  if (!slot)
    return oom(im);
  *slot = id;
  int r = grow_tracking(im);
  if (r)
    return r;
  im->produced[im->nproduced++] = id;
  return 0;
}

/* Adds a node with params p, binds the tops and infers the shapes of its
 * outputs (the whole graph is finalized once at the end). */
static int add_node(imp_t *im, const lview_t *l, cn_op_t op, int nin,
                    const int *in, int nout, const int *out,
                    const cn_op_params_t *p) {
  int ni = cn_graph_add_node(im->g, op, l->name, nin, in, nout, out);
  if (ni == CN_ENOMEM)
    return oom(im);
  if (ni < 0)
    return lerr(im, l, CN_EINTERNAL, "cannot add node");
  if (p)
    im->g->nodes[ni].p = *p;
  for (int k = 0; k < nout; k++) {
    int r = bind_top(im, l, (size_t)k, out[k]);
    if (r)
      return r;
  }
  return cn_graph_infer_node(im->g, ni, im->err);
}

/* A constant from the layer's blob bi with the shape the prototxt implies:
 * from the caffemodel's layer of the same name, else from blobs written in
 * the prototxt itself. Without either the values are zeros. */
static int blob_const(imp_t *im, const lview_t *l, size_t bi, const char *what,
                      int ndim, const int64_t *dims, int *id) {
  int64_t want = 1;
  for (int i = 0; i < ndim; i++) {
    /* Bounded before multiplying: dims come from arbitrary parameters. */
    if (dims[i] < 0 || dims[i] > ((int64_t)1 << 31) ||
        (dims[i] && want > ((int64_t)1 << 40) / dims[i]))
      return lerr(im, l, CN_EFORMAT, "%s blob has an absurd shape", what);
    want *= dims[i];
  }
  const Caffe__BlobProto *bp = NULL; /* from the prototxt */
  const wspan_t *ws = NULL;          /* from the caffemodel */
  int dbl = 0;
  if (im->wm || l->nblobs) {
    const char *src = im->wm ? im->mname : im->pname;
    size_t nb = l->nblobs;
    const wlayer_t *wl = NULL;
    if (im->wm) {
      int *w = map_slot(&im->weights, l->name, 0);
      wl = w ? &im->wm->layers[*w] : NULL;
      nb = wl ? wl->n : 0;
    }
    if (bi >= nb) {
      if (nb == 0)
        return cn_err_set(im->err, CN_EFORMAT, "%s: layer %s: no weights", src,
                          l->name);
      return cn_err_set(im->err, CN_EFORMAT,
                        "%s: layer %s: %s blob missing (%zu blobs)", src,
                        l->name, what, nb);
    }
    size_t have;
    if (wl) {
      ws = &im->wm->blobs[wl->first + bi];
      if (blob_count(*ws, &have, &dbl))
        return cn_err_set(im->err, CN_EFORMAT,
                          "%s: layer %s: %s blob is not a valid BlobProto", src,
                          l->name, what);
    } else {
      bp = l->blobs[bi];
      have = bp->n_data ? bp->n_data : bp->n_double_data;
    }
    if ((int64_t)have != want)
      return cn_err_set(
          im->err, CN_EFORMAT,
          "%s: layer %s: %s blob has %zu values, expected %" PRId64, src,
          l->name, what, have, want);
  }
  char name[512];
  snprintf(name, sizeof name, "%.250s/%.200s", l->name, what);
  int r = cn_graph_find(im->g, name) < 0
              ? cn_graph_add_const(im->g, name, CN_DT_F32, ndim, dims, NULL)
              : -1;
  if (r == CN_EFORMAT)
    return lerr(im, l, CN_EFORMAT, "%s blob has an absurd shape", what);
  if (r < 0 && r != CN_ENOMEM) {
    r = cn_graph_add_temp(im->g, name);
    if (r >= 0) {
      cn_tensor_t *t = &im->g->tensors[r];
      t->ndim = ndim;
      memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
      t->data = cn_graph_alloc(im->g, (size_t)want * sizeof(float));
      t->flags |= CN_TENSOR_CONST;
      if (!t->data)
        r = CN_ENOMEM;
    }
  }
  if (r < 0)
    return oom(im);
  float *dst = im->g->tensors[r].data;
  if (ws)
    blob_copy(*ws, dbl, dst);
  else if (bp && bp->n_data)
    memcpy(dst, bp->data, (size_t)want * sizeof(float));
  else if (bp)
    for (int64_t i = 0; i < want; i++)
      dst[i] = (float)bp->double_data[i];
  *id = r;
  return 0;
}

/* A constant with given values (not from a blob). */
static int value_const(imp_t *im, const lview_t *l, const char *what, int ndim,
                       const int64_t *dims, float fill, int *id) {
  char name[512];
  snprintf(name, sizeof name, "%.250s/%.200s", l->name, what);
  int r = cn_graph_find(im->g, name) < 0
              ? cn_graph_add_const(im->g, name, CN_DT_F32, ndim, dims, NULL)
              : cn_graph_add_temp(im->g, name);
  if (r >= 0 && !im->g->tensors[r].data) {
    cn_tensor_t *t = &im->g->tensors[r];
    t->ndim = ndim;
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    t->data = cn_graph_alloc(im->g, (size_t)cn_tensor_numel(t) * sizeof(float));
    t->flags |= CN_TENSOR_CONST;
    if (!t->data)
      r = CN_ENOMEM;
  }
  if (r < 0)
    return r == CN_EFORMAT ? lerr(im, l, CN_EFORMAT, "absurd %s shape", what)
                           : oom(im);
  float *d = im->g->tensors[r].data;
  int64_t n = cn_tensor_numel(&im->g->tensors[r]);
  for (int64_t i = 0; i < n; i++)
    d[i] = fill;
  *id = r;
  return 0;
}

static int check_counts(imp_t *im, const lview_t *l, size_t nb_min,
                        size_t nb_max, size_t nt_min, size_t nt_max) {
  if (l->nbottom < nb_min || l->nbottom > nb_max)
    return lerr(im, l, CN_EFORMAT, "%s takes %zu..%zu bottoms, has %zu",
                l->type, nb_min, nb_max, l->nbottom);
  if (l->ntop < nt_min || l->ntop > nt_max)
    return lerr(im, l, CN_EFORMAT, "%s takes %zu..%zu tops, has %zu", l->type,
                nt_min, nt_max, l->ntop);
  return 0;
}

/* A single-output node whose output shape finalize() computes. */
static int simple_node(imp_t *im, const lview_t *l, cn_op_t op, int nin,
                       const int *in, const cn_op_params_t *p) {
  int y;
  int r = new_top(im, l, 0, 0, NULL, &y);
  if (r)
    return r;
  return add_node(im, l, op, nin, in, 1, &y, p);
}

/* ---- layers ------------------------------------------------------------ */

/* Kernel, stride, pad and dilation as ConvolutionParameter spells them:
 * the _h/_w fields, or one or two values of the repeated fields. */
static int conv_dims(imp_t *im, const lview_t *l, const char *what, size_t n,
                     const uint32_t *v, int has_h, uint32_t h, int has_w,
                     uint32_t w, int def, int out[2]) {
  if (has_h || has_w) {
    if (!(has_h && has_w))
      return lerr(im, l, CN_EFORMAT, "%s_h and %s_w must be given together",
                  what, what);
    if (n)
      return lerr(im, l, CN_EFORMAT, "both %s and %s_h/%s_w given", what, what,
                  what);
    out[0] = (int)h;
    out[1] = (int)w;
  } else if (n == 0) {
    out[0] = out[1] = def;
  } else if (n == 1) {
    out[0] = out[1] = (int)v[0];
  } else if (n == 2) {
    out[0] = (int)v[0];
    out[1] = (int)v[1];
  } else {
    return lerr(im, l, CN_EUNSUPPORTED, "%zu %s values (only 2-D is supported)",
                n, what);
  }
  if (out[0] < 0 || out[1] < 0 || out[0] > 65535 || out[1] > 65535)
    return lerr(im, l, CN_EFORMAT, "%s %d x %d out of range", what, out[0],
                out[1]);
  return 0;
}

static int imp_conv(imp_t *im, const lview_t *l, const int *bot, int deconv) {
  static const Caffe__ConvolutionParameter def =
      CAFFE__CONVOLUTION_PARAMETER__INIT;
  const Caffe__ConvolutionParameter *c = l->conv ? l->conv : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  if (x->ndim != 4)
    return lerr(im, l, CN_EUNSUPPORTED, "bottom has %d axes, expected 4 (NCHW)",
                x->ndim);
  if (c->axis != 1)
    return lerr(im, l, CN_EUNSUPPORTED, "axis %d (only 1)", (int)c->axis);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  cn_conv_params_t *cp = &p.conv;
  if ((r = conv_dims(im, l, "kernel", c->n_kernel_size, c->kernel_size,
                     c->has_kernel_h, c->kernel_h, c->has_kernel_w, c->kernel_w,
                     0, cp->kernel)) ||
      (r = conv_dims(im, l, "stride", c->n_stride, c->stride, c->has_stride_h,
                     c->stride_h, c->has_stride_w, c->stride_w, 1,
                     cp->stride)) ||
      (r = conv_dims(im, l, "pad", c->n_pad, c->pad, c->has_pad_h, c->pad_h,
                     c->has_pad_w, c->pad_w, 0, cp->pads)) ||
      (r = conv_dims(im, l, "dilation", c->n_dilation, c->dilation, 0, 0, 0, 0,
                     1, cp->dilation)))
    return r;
  if (cp->kernel[0] < 1 || cp->kernel[1] < 1)
    return lerr(im, l, CN_EFORMAT, "kernel size not given");
  if (cp->stride[0] < 1 || cp->stride[1] < 1 || cp->dilation[0] < 1 ||
      cp->dilation[1] < 1)
    return lerr(im, l, CN_EFORMAT, "stride and dilation must be at least 1");
  cp->pads[2] = cp->pads[0];
  cp->pads[3] = cp->pads[1];
  int64_t oc = c->num_output, ic = x->dims[1];
  int64_t g = c->group;
  if (oc < 1)
    return lerr(im, l, CN_EFORMAT, "num_output not given");
  if (g < 1 || ic % g || oc % g)
    return lerr(im, l, CN_EFORMAT,
                "group %" PRId64 " does not divide %" PRId64
                " inputs and %" PRId64 " outputs",
                g, ic, oc);
  cp->group = (int)g;
  cp->has_bias = c->bias_term;
  int64_t wd[4] = {oc, ic / g, cp->kernel[0], cp->kernel[1]};
  if (deconv) {
    wd[0] = ic;
    wd[1] = oc / g;
  }
  int in[3] = {bot[0], -1, -1};
  if ((r = blob_const(im, l, 0, "weight", 4, wd, &in[1])))
    return r;
  if (c->bias_term && (r = blob_const(im, l, 1, "bias", 1, &oc, &in[2])))
    return r;
  return simple_node(im, l, deconv ? CN_OP_DECONV : CN_OP_CONV,
                     c->bias_term ? 3 : 2, in, &p);
}

static int imp_pool(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__PoolingParameter def = CAFFE__POOLING_PARAMETER__INIT;
  const Caffe__PoolingParameter *c = l->pool ? l->pool : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  if (x->ndim != 4)
    return lerr(im, l, CN_EUNSUPPORTED, "bottom has %d axes, expected 4 (NCHW)",
                x->ndim);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  cn_pool_params_t *pp = &p.pool;
  if (c->pool == CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX)
    pp->kind = CN_POOL_MAX;
  else if (c->pool == CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE)
    pp->kind = CN_POOL_AVG;
  else
    return lerr(im, l, CN_EUNSUPPORTED, "stochastic pooling");
  uint32_t ks = c->kernel_size, st = c->stride, pd = c->pad;
  if ((r = conv_dims(im, l, "kernel", c->has_kernel_size, &ks, c->has_kernel_h,
                     c->kernel_h, c->has_kernel_w, c->kernel_w, 0,
                     pp->kernel)) ||
      (r = conv_dims(im, l, "stride", 1, &st, c->has_stride_h, c->stride_h,
                     c->has_stride_w, c->stride_w, 1, pp->stride)) ||
      (r = conv_dims(im, l, "pad", 1, &pd, c->has_pad_h, c->pad_h, c->has_pad_w,
                     c->pad_w, 0, pp->pads)))
    return r;
  if (c->global_pooling) {
    if (c->has_kernel_size || c->has_kernel_h)
      return lerr(im, l, CN_EFORMAT, "global pooling with a kernel size");
    pp->global = 1;
    pp->kernel[0] = (int)x->dims[2];
    pp->kernel[1] = (int)x->dims[3];
    pp->stride[0] = pp->stride[1] = 1;
    pp->pads[0] = pp->pads[1] = 0;
  } else if (pp->kernel[0] < 1 || pp->kernel[1] < 1) {
    return lerr(im, l, CN_EFORMAT, "kernel size not given");
  }
  if (pp->stride[0] < 1 || pp->stride[1] < 1)
    return lerr(im, l, CN_EFORMAT, "stride must be at least 1");
  pp->pads[2] = pp->pads[0];
  pp->pads[3] = pp->pads[1];
  pp->dilation[0] = pp->dilation[1] = 1;
  pp->ceil_mode = c->round_mode == CAFFE__POOLING_PARAMETER__ROUND_MODE__CEIL;
  /* Caffe's average divides by the window clipped to the padded input. */
  pp->count_include_pad = 1;
  return simple_node(im, l, CN_OP_POOL, 1, bot, &p);
}

static int imp_ip(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__InnerProductParameter def =
      CAFFE__INNER_PRODUCT_PARAMETER__INIT;
  const Caffe__InnerProductParameter *c = l->ip ? l->ip : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  int axis = 0;
  if ((r = canon_axis(im, l, c->axis, x->ndim, &axis)))
    return r;
  int64_t k = 1, n = c->num_output;
  for (int i = axis; i < x->ndim; i++)
    k *= x->dims[i];
  if (n < 1)
    return lerr(im, l, CN_EFORMAT, "num_output not given");
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.ip.axis = axis;
  p.ip.has_bias = c->bias_term;
  int64_t wd[2] = {n, k};
  int in[3] = {bot[0], -1, -1};
  if ((r = blob_const(im, l, 0, "weight", 2, wd, &in[1])))
    return r;
  if (c->transpose) {
    /* Stored [K, N]; the IR wants [N, K]. */
    float *w = im->g->tensors[in[1]].data;
    float *tmp = malloc((size_t)(n * k) * sizeof(float));
    if (!tmp)
      return oom(im);
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < n; j++)
        tmp[j * k + i] = w[i * n + j];
    memcpy(w, tmp, (size_t)(n * k) * sizeof(float));
    free(tmp);
  }
  if (c->bias_term && (r = blob_const(im, l, 1, "bias", 1, &n, &in[2])))
    return r;
  return simple_node(im, l, CN_OP_INNER_PRODUCT, c->bias_term ? 3 : 2, in, &p);
}

/* ReLU's negative_slope is its alpha (LeakyReLU); the others take none. */
static int imp_act(imp_t *im, const lview_t *l, const int *bot, int kind) {
  float alpha = kind == CN_ACT_RELU && l->relu ? l->relu->negative_slope : 0;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.act.kind = (cn_act_t)kind;
  p.act.alpha = alpha;
  return simple_node(im, l, CN_OP_ACT, 1, bot, &p);
}

static int imp_prelu(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__PReLUParameter def = CAFFE__PRE_LUPARAMETER__INIT;
  const Caffe__PReLUParameter *c = l->prelu ? l->prelu : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  if (x->ndim < 2)
    return lerr(im, l, CN_EFORMAT, "bottom has %d axes, expected at least 2",
                x->ndim);
  /* Slopes per channel, shaped [C,1,..,1] so they broadcast over NCHW. */
  int64_t d[CN_MAX_DIMS];
  int nd = 1;
  d[0] = 1;
  if (!c->channel_shared) {
    nd = x->ndim - 1;
    d[0] = x->dims[1];
    for (int i = 1; i < nd; i++)
      d[i] = 1;
  }
  int in[2] = {bot[0], -1};
  if ((r = blob_const(im, l, 0, "slope", nd, d, &in[1])))
    return r;
  return simple_node(im, l, CN_OP_PRELU, 2, in, NULL);
}

static int imp_lrn(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__LRNParameter def = CAFFE__LRNPARAMETER__INIT;
  const Caffe__LRNParameter *c = l->lrn ? l->lrn : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  if (c->local_size < 1 || c->local_size % 2 == 0 || c->local_size > 1023)
    return lerr(im, l, CN_EFORMAT, "local_size %u (must be odd)",
                c->local_size);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.lrn.size = (int)c->local_size;
  p.lrn.alpha = c->alpha;
  p.lrn.beta = c->beta;
  p.lrn.within_channel =
      c->norm_region == CAFFE__LRNPARAMETER__NORM_REGION__WITHIN_CHANNEL;
  /* Caffe's within-channel LRN computes (1 + alpha*avg)^-beta: k is 1. */
  p.lrn.k = p.lrn.within_channel ? 1.0f : c->k;
  return simple_node(im, l, CN_OP_LRN, 1, bot, &p);
}

static int imp_concat(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__ConcatParameter def = CAFFE__CONCAT_PARAMETER__INIT;
  const Caffe__ConcatParameter *c = l->concat ? l->concat : &def;
  int r = check_counts(im, l, 1, 4096, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  if (c->has_concat_dim && !c->has_axis)
    r = canon_axis(im, l, c->concat_dim, x->ndim, &p.axis.axis);
  else
    r = canon_axis(im, l, c->axis, x->ndim, &p.axis.axis);
  if (r)
    return r;
  return simple_node(im, l, CN_OP_CONCAT, (int)l->nbottom, bot, &p);
}

static int imp_slice(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__SliceParameter def = CAFFE__SLICE_PARAMETER__INIT;
  const Caffe__SliceParameter *c = l->slice ? l->slice : &def;
  int r = check_counts(im, l, 1, 1, 1, 4096);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  int axis = 0;
  if (c->has_slice_dim && !c->has_axis)
    r = canon_axis(im, l, c->slice_dim, x->ndim, &axis);
  else
    r = canon_axis(im, l, c->axis, x->ndim, &axis);
  if (r)
    return r;
  int64_t len = x->dims[axis];
  size_t nt = l->ntop;
  if (c->n_slice_point && c->n_slice_point != nt - 1)
    return lerr(im, l, CN_EFORMAT, "%zu slice points for %zu tops",
                c->n_slice_point, nt);
  if (!c->n_slice_point && len % (int64_t)nt)
    return lerr(im, l, CN_EFORMAT,
                "axis of %" PRId64 " does not split into %zu equal parts", len,
                nt);
  int64_t xd[CN_MAX_DIMS];
  int xn = x->ndim;
  memcpy(xd, x->dims, sizeof xd);
  int *outs = malloc(sizeof(int) * nt);
  if (!outs)
    return oom(im);
  int64_t prev = 0;
  for (size_t k = 0; k < nt && !r; k++) {
    int64_t end = c->n_slice_point
                      ? (k + 1 < nt ? (int64_t)c->slice_point[k] : len)
                      : (int64_t)(k + 1) * (len / (int64_t)nt);
    if (end <= prev || end > len) {
      r = lerr(im, l, CN_EFORMAT,
               "slice points do not increase within %" PRId64, len);
      break;
    }
    int64_t d[CN_MAX_DIMS];
    memcpy(d, xd, sizeof d);
    d[axis] = end - prev;
    prev = end;
    r = new_top(im, l, k, xn, d, &outs[k]);
  }
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  if (!r)
    r = add_node(im, l, CN_OP_SPLIT, 1, bot, (int)nt, outs, &p);
  free(outs);
  return r;
}

static int imp_eltwise(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__EltwiseParameter def = CAFFE__ELTWISE_PARAMETER__INIT;
  const Caffe__EltwiseParameter *c = l->eltwise ? l->eltwise : &def;
  int r = check_counts(im, l, 2, 4096, 1, 1);
  if (r)
    return r;
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  switch (c->operation) {
  case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__SUM:
    p.eltwise.kind = CN_ELT_SUM;
    break;
  case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__PROD:
    p.eltwise.kind = CN_ELT_PROD;
    break;
  case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__MAX:
    p.eltwise.kind = CN_ELT_MAX;
    break;
  default:
    return lerr(im, l, CN_EUNSUPPORTED, "operation %d", (int)c->operation);
  }
  if (c->n_coeff) {
    if (p.eltwise.kind != CN_ELT_SUM)
      return lerr(im, l, CN_EFORMAT, "coefficients are only for SUM");
    if (c->n_coeff != l->nbottom)
      return lerr(im, l, CN_EFORMAT, "%zu coefficients for %zu bottoms",
                  c->n_coeff, l->nbottom);
    float *co = cn_graph_alloc(im->g, sizeof(float) * c->n_coeff);
    if (!co)
      return oom(im);
    memcpy(co, c->coeff, sizeof(float) * c->n_coeff);
    p.eltwise.coeffs = co;
  }
  return simple_node(im, l, CN_OP_ELTWISE, (int)l->nbottom, bot, &p);
}

static int imp_batchnorm(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__BatchNormParameter def =
      CAFFE__BATCH_NORM_PARAMETER__INIT;
  const Caffe__BatchNormParameter *c = l->bn ? l->bn : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  if (c->has_use_global_stats && !c->use_global_stats)
    return lerr(im, l, CN_EUNSUPPORTED,
                "use_global_stats: false (batch statistics at inference)");
  const cn_tensor_t *x = T(im, bot[0]);
  if (x->ndim < 2)
    return lerr(im, l, CN_EFORMAT, "bottom has %d axes, expected at least 2",
                x->ndim);
  int64_t ch = x->dims[1], one = 1;
  int in[5] = {bot[0], -1, -1, -1, -1}, sf;
  if ((r = value_const(im, l, "scale", 1, &ch, 1.0f, &in[1])) ||
      (r = value_const(im, l, "shift", 1, &ch, 0.0f, &in[2])) ||
      (r = blob_const(im, l, 0, "mean", 1, &ch, &in[3])) ||
      (r = blob_const(im, l, 1, "variance", 1, &ch, &in[4])) ||
      (r = blob_const(im, l, 2, "moving average factor", 1, &one, &sf)))
    return r;
  /* Caffe stores running sums; the factor turns them into averages. */
  float f = *(float *)im->g->tensors[sf].data;
  float s = f == 0.0f ? 0.0f : 1.0f / f;
  float *m = im->g->tensors[in[3]].data, *v = im->g->tensors[in[4]].data;
  for (int64_t i = 0; i < ch; i++) {
    m[i] *= s;
    v[i] *= s;
  }
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  p.bn.eps = c->eps;
  return simple_node(im, l, CN_OP_BATCHNORM, 5, in, &p);
}

/* Scale (and Bias, as a Scale by ones): y = x * s (+ b), s and b spanning
 * x's axes [axis, axis + num_axes). */
static int imp_scale(imp_t *im, const lview_t *l, const int *bot,
                     int bias_only) {
  static const Caffe__ScaleParameter def = CAFFE__SCALE_PARAMETER__INIT;
  const Caffe__ScaleParameter *c = l->scale ? l->scale : &def;
  int r = check_counts(im, l, 1, bias_only ? 1 : 2, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  int axis = 0;
  if ((r = canon_axis(im, l, c->axis, x->ndim, &axis)))
    return r;
  int in[3] = {bot[0], -1, -1};
  int64_t d[CN_MAX_DIMS];
  int nd;
  if (l->nbottom == 2) {
    const cn_tensor_t *s = T(im, bot[1]);
    in[1] = bot[1];
    nd = s->ndim;
    memcpy(d, s->dims, sizeof(int64_t) * (size_t)nd);
  } else {
    int64_t na = c->num_axes;
    if (na < -1 || axis + na > x->ndim)
      return lerr(im, l, CN_EFORMAT, "num_axes %" PRId64 " for a %d-D bottom",
                  na, x->ndim);
    nd = na == -1 ? x->ndim - axis : (int)na;
    for (int i = 0; i < nd; i++)
      d[i] = x->dims[axis + i];
    if (nd == 0) {
      nd = 1;
      d[0] = 1;
    }
    if (bias_only)
      r = value_const(im, l, "ones", nd, d, 1.0f, &in[1]);
    else
      r = blob_const(im, l, 0, "scale", nd, d, &in[1]);
    if (r)
      return r;
  }
  int has_bias = bias_only || c->bias_term;
  if (has_bias) {
    size_t bi = bias_only || l->nbottom == 2 ? 0 : 1;
    if ((r = blob_const(im, l, bi, "bias", nd, d, &in[2])))
      return r;
  }
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  /* A scalar scale ([1]) is spelled as a size-1 axis at axis. */
  p.scale.axis = axis;
  p.scale.has_bias = has_bias;
  if (nd == 1 && d[0] == 1 && x->dims[axis] != 1) {
    /* The IR wants s's dims to equal x's at axis: a scalar becomes a
     * constant filled across that axis. */
    const cn_tensor_t *s = T(im, in[1]);
    if (!(s->flags & CN_TENSOR_CONST))
      return lerr(im, l, CN_EUNSUPPORTED, "scalar scale from a bottom");
    float sv = *(float *)s->data, bv = 0;
    if (has_bias)
      bv = *(float *)T(im, in[2])->data;
    int64_t n = x->dims[axis];
    if ((r = value_const(im, l, "scale_b", 1, &n, sv, &in[1])))
      return r;
    if (has_bias && (r = value_const(im, l, "bias_b", 1, &n, bv, &in[2])))
      return r;
  }
  return simple_node(im, l, CN_OP_SCALE, has_bias ? 3 : 2, in, &p);
}

static int imp_reshape_to(imp_t *im, const lview_t *l, const int *bot, int nd,
                          const int64_t *d) {
  int y, r = new_top(im, l, 0, nd, d, &y);
  if (r)
    return r;
  return add_node(im, l, CN_OP_RESHAPE, 1, bot, 1, &y, NULL);
}

static int imp_flatten(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__FlattenParameter def = CAFFE__FLATTEN_PARAMETER__INIT;
  const Caffe__FlattenParameter *c = l->flatten ? l->flatten : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  int a = 0, e = 0;
  if ((r = canon_axis(im, l, c->axis, x->ndim, &a)) ||
      (r = canon_axis(im, l, c->end_axis, x->ndim, &e)))
    return r;
  if (e < a)
    return lerr(im, l, CN_EFORMAT, "end_axis before axis");
  int64_t d[CN_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < a; i++)
    d[nd++] = x->dims[i];
  int64_t m = 1;
  for (int i = a; i <= e; i++)
    m *= x->dims[i];
  d[nd++] = m;
  for (int i = e + 1; i < x->ndim; i++)
    d[nd++] = x->dims[i];
  return imp_reshape_to(im, l, bot, nd, d);
}

/* Caffe's ReshapeLayer: 0 copies the bottom's dimension, -1 is inferred;
 * axis/num_axes select the part of the bottom's shape that is replaced. */
static int imp_reshape(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__ReshapeParameter def = CAFFE__RESHAPE_PARAMETER__INIT;
  const Caffe__ReshapeParameter *c = l->reshape ? l->reshape : &def;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  if (!c->shape)
    return lerr(im, l, CN_EFORMAT, "reshape_param has no shape");
  const cn_tensor_t *x = T(im, bot[0]);
  int xn = x->ndim;
  int64_t start = c->axis < 0 ? (int64_t)c->axis + xn + 1 : c->axis;
  if (start < 0 || start > xn)
    return lerr(im, l, CN_EFORMAT, "axis %d for a %d-D bottom", (int)c->axis,
                xn);
  int64_t end = c->num_axes == -1 ? xn : start + c->num_axes;
  if (c->num_axes < -1 || end > xn)
    return lerr(im, l, CN_EFORMAT, "num_axes %d for a %d-D bottom",
                (int)c->num_axes, xn);
  size_t ns = c->shape->n_dim;
  int64_t nd = start + (int64_t)ns + (xn - end);
  if (nd > CN_MAX_DIMS)
    return lerr(im, l, CN_EUNSUPPORTED, "%" PRId64 " axes", nd);
  int64_t d[CN_MAX_DIMS], known = 1;
  int k = 0, infer = -1;
  for (int64_t i = 0; i < start; i++)
    d[k++] = x->dims[i];
  for (size_t i = 0; i < ns; i++, k++) {
    int64_t v = c->shape->dim[i];
    if (v == 0) {
      if (start + (int64_t)i >= xn)
        return lerr(im, l, CN_EFORMAT, "dim %zu copies a missing axis", i);
      v = x->dims[start + (int64_t)i];
    } else if (v == -1) {
      if (infer >= 0)
        return lerr(im, l, CN_EFORMAT, "more than one -1 in the shape");
      infer = k;
      d[k] = 1;
      continue;
    } else if (v < 0) {
      return lerr(im, l, CN_EFORMAT, "dim %" PRId64, v);
    }
    d[k] = v;
    if (v > 0 && known > INT64_MAX / v)
      return lerr(im, l, CN_EFORMAT, "absurd shape");
    known *= v;
  }
  for (int64_t i = end; i < xn; i++) {
    d[k++] = x->dims[i];
    known *= x->dims[i];
  }
  for (int64_t i = 0; i < start; i++)
    known *= x->dims[i];
  int64_t total = cn_tensor_numel(x);
  if (infer >= 0) {
    if (known == 0 || total % known)
      return lerr(im, l, CN_EFORMAT,
                  "cannot infer -1: %" PRId64 " values into blocks of %" PRId64,
                  total, known);
    d[infer] = total / known;
  } else if (known != total) {
    return lerr(im, l, CN_EFORMAT,
                "shape has %" PRId64 " values, bottom %" PRId64, known, total);
  }
  return imp_reshape_to(im, l, bot, k, d);
}

static int imp_permute(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *x = T(im, bot[0]);
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  unsigned seen = 0;
  int k = 0;
  size_t n = l->permute ? l->permute->n_order : 0;
  if (n > (size_t)x->ndim)
    return lerr(im, l, CN_EFORMAT, "%zu orders for a %d-D bottom", n, x->ndim);
  for (size_t i = 0; i < n; i++) {
    uint32_t o = l->permute->order[i];
    if (o >= (uint32_t)x->ndim || (seen & (1u << o)))
      return lerr(im, l, CN_EFORMAT, "order %u repeated or out of range", o);
    seen |= 1u << o;
    p.transpose.perm[k++] = (int)o;
  }
  /* Axes not listed keep their relative order at the end. */
  for (int i = 0; i < x->ndim; i++)
    if (!(seen & (1u << i)))
      p.transpose.perm[k++] = i;
  return simple_node(im, l, CN_OP_TRANSPOSE, 1, bot, &p);
}

static int imp_softmax(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  int64_t axis = l->softmax ? l->softmax->axis : 1;
  if ((r = canon_axis(im, l, axis, T(im, bot[0])->ndim, &p.softmax.axis)))
    return r;
  return simple_node(im, l, CN_OP_SOFTMAX, 1, bot, &p);
}

/* Distinct aspect ratios as the SSD PriorBoxLayer builds them: 1 first,
 * then each new ratio and (flip) its reciprocal. */
static int prior_ratios(const cn_prior_box_params_t *p) {
  float ar[1 + 2 * CN_SSD_MAX];
  int n = 0;
  ar[n++] = 1.0f;
  for (int i = 0; i < p->nar; i++) {
    int dup = 0;
    for (int k = 0; k < n; k++)
      dup |= fabsf(p->aspect_ratio[i] - ar[k]) < 1e-6f;
    if (dup)
      continue;
    ar[n++] = p->aspect_ratio[i];
    if (p->flip)
      ar[n++] = 1.0f / p->aspect_ratio[i];
  }
  return n;
}

/* One variance (default 0.1) for all four coordinates, or four. */
static int prior_variance(imp_t *im, const lview_t *l,
                          const Caffe__PriorBoxParameter *c,
                          cn_prior_box_params_t *pb) {
  if (c->n_variance == 0) {
    pb->nvar = 1;
    pb->variance[0] = 0.1f;
  } else if (c->n_variance == 1 || c->n_variance == 4) {
    pb->nvar = (int)c->n_variance;
    for (size_t i = 0; i < c->n_variance; i++) {
      if (!(c->variance[i] > 0))
        return lerr(im, l, CN_EFORMAT, "variance must be positive");
      pb->variance[i] = c->variance[i];
    }
  } else {
    return lerr(im, l, CN_EFORMAT, "%zu variances (1 or 4)", c->n_variance);
  }
  for (int i = pb->nvar; i < 4; i++)
    pb->variance[i] = pb->variance[0];
  return 0;
}

static int imp_prior_box(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  static const Caffe__PriorBoxParameter def = CAFFE__PRIOR_BOX_PARAMETER__INIT;
  const Caffe__PriorBoxParameter *c = l->prior ? l->prior : &def;
  int r = check_counts(im, l, 2, 2, 1, 1);
  if (r)
    return r;
  const cn_tensor_t *f = T(im, bot[0]), *img = T(im, bot[1]);
  if (f->ndim != 4 || img->ndim != 4)
    return lerr(im, l, CN_EFORMAT, "bottoms must be 4-D (NCHW)");
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  cn_prior_box_params_t *pb = &p.prior_box;
  if (c->n_min_size < 1)
    return lerr(im, l, CN_EFORMAT, "min_size not given");
  if (c->n_min_size > CN_SSD_MAX || c->n_aspect_ratio > CN_SSD_MAX)
    return lerr(im, l, CN_EUNSUPPORTED, "more than %d sizes or ratios",
                CN_SSD_MAX);
  if (c->n_max_size && c->n_max_size != c->n_min_size)
    return lerr(im, l, CN_EFORMAT, "%zu max_size for %zu min_size",
                c->n_max_size, c->n_min_size);
  pb->nmin = (int)c->n_min_size;
  pb->nmax = (int)c->n_max_size;
  pb->nar = (int)c->n_aspect_ratio;
  for (int i = 0; i < pb->nmin; i++) {
    pb->min_size[i] = c->min_size[i];
    if (!(c->min_size[i] > 0))
      return lerr(im, l, CN_EFORMAT, "min_size must be positive");
    if (pb->nmax) {
      pb->max_size[i] = c->max_size[i];
      if (!(c->max_size[i] > c->min_size[i]))
        return lerr(im, l, CN_EFORMAT, "max_size must exceed min_size");
    }
  }
  for (int i = 0; i < pb->nar; i++) {
    pb->aspect_ratio[i] = c->aspect_ratio[i];
    if (!(c->aspect_ratio[i] > 0) || !isfinite(c->aspect_ratio[i]))
      return lerr(im, l, CN_EFORMAT, "aspect ratio %g",
                  (double)c->aspect_ratio[i]);
  }
  pb->flip = c->flip;
  pb->clip = c->clip;
  if ((r = prior_variance(im, l, c, pb)))
    return r;
  if (c->has_img_size && (c->has_img_h || c->has_img_w))
    return lerr(im, l, CN_EFORMAT, "img_size and img_h/img_w both given");
  pb->img_h = pb->img_w = c->has_img_size ? (float)c->img_size : 0;
  if (c->has_img_h || c->has_img_w) {
    pb->img_h = (float)c->img_h;
    pb->img_w = (float)c->img_w;
  }
  if (c->has_step && (c->has_step_h || c->has_step_w))
    return lerr(im, l, CN_EFORMAT, "step and step_h/step_w both given");
  pb->step_h = pb->step_w = c->has_step ? c->step : 0;
  if (c->has_step_h || c->has_step_w) {
    pb->step_h = c->step_h;
    pb->step_w = c->step_w;
  }
  if (pb->step_h < 0 || pb->step_w < 0)
    return lerr(im, l, CN_EFORMAT, "negative step");
  pb->offset = c->offset;
  int64_t np = (int64_t)prior_ratios(pb) * pb->nmin + pb->nmax;
  int64_t d[3] = {1, 2, f->dims[2] * f->dims[3] * np * 4};
  int y;
  if ((r = new_top(im, l, 0, 3, d, &y)))
    return r;
  return add_node(im, l, CN_OP_PRIOR_BOX, 2, bot, 1, &y, &p);
}

static int imp_detection_output(imp_t *im, const lview_t *l, const int *bot,
                                int arg) {
  (void)arg;
  static const Caffe__DetectionOutputParameter def =
      CAFFE__DETECTION_OUTPUT_PARAMETER__INIT;
  const Caffe__DetectionOutputParameter *c = l->det ? l->det : &def;
  int r = check_counts(im, l, 3, 3, 1, 1);
  if (r)
    return r;
  cn_op_params_t p;
  memset(&p, 0, sizeof p);
  cn_detection_output_params_t *dp = &p.det;
  if (!c->has_num_classes || c->num_classes < 1 || c->num_classes > 100000)
    return lerr(im, l, CN_EFORMAT, "num_classes not given");
  dp->num_classes = (int)c->num_classes;
  dp->share_location = c->share_location;
  dp->background_label_id = c->background_label_id;
  dp->nms_threshold = c->nms_param ? c->nms_param->nms_threshold : 0.3f;
  dp->eta = c->nms_param ? c->nms_param->eta : 1.0f;
  dp->top_k =
      c->nms_param && c->nms_param->has_top_k ? c->nms_param->top_k : -1;
  dp->keep_top_k = c->keep_top_k;
  dp->confidence_threshold =
      c->has_confidence_threshold ? c->confidence_threshold : -INFINITY;
  dp->code_type = (cn_box_code_t)c->code_type;
  dp->variance_encoded_in_target = c->variance_encoded_in_target;
  dp->clip = 0;
  if (!(dp->nms_threshold >= 0) || !(dp->eta > 0 && dp->eta <= 1))
    return lerr(im, l, CN_EFORMAT, "nms_threshold/eta out of range");
  const cn_tensor_t *loc = T(im, bot[0]), *conf = T(im, bot[1]),
                    *pri = T(im, bot[2]);
  int64_t n = loc->dims[0];
  if (pri->ndim != 3 || pri->dims[1] != 2 || pri->dims[2] % 4)
    return lerr(im, l, CN_EFORMAT, "priors must be [N,2,4*P]");
  int64_t np = pri->dims[2] / 4;
  int64_t nloc = dp->share_location ? 1 : dp->num_classes;
  if (cn_tensor_numel(loc) != n * np * nloc * 4)
    return lerr(im, l, CN_EFORMAT,
                "%" PRId64 " location values for %" PRId64 " priors",
                cn_tensor_numel(loc), np);
  if (cn_tensor_numel(conf) != n * np * dp->num_classes)
    return lerr(im, l, CN_EFORMAT,
                "%" PRId64 " confidences for %" PRId64 " priors x %d classes",
                cn_tensor_numel(conf), np, dp->num_classes);
  /* Fixed output rows: keep_top_k per image, or everything NMS could keep. */
  int64_t per_class = dp->top_k >= 0 && dp->top_k < np ? dp->top_k : np;
  int64_t rows =
      dp->keep_top_k >= 0 ? dp->keep_top_k : per_class * dp->num_classes;
  if (rows > per_class * dp->num_classes)
    rows = per_class * dp->num_classes;
  if (rows < 1)
    rows = 1;
  int64_t d[4] = {1, 1, rows * n, 7};
  int y;
  if ((r = new_top(im, l, 0, 4, d, &y)))
    return r;
  return add_node(im, l, CN_OP_DETECTION_OUTPUT, 3, bot, 1, &y, &p);
}

static int imp_identity(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  int r = check_counts(im, l, 1, 1, 1, 1);
  if (r)
    return r;
  return simple_node(im, l, CN_OP_IDENTITY, 1, bot, NULL);
}

/* Split: every top is the bottom itself. */
static int imp_split(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)arg;
  int r = check_counts(im, l, 1, 1, 1, 4096);
  if (r)
    return r;
  for (size_t k = 0; k < l->ntop; k++) {
    int *left = map_slot(&im->writes, l->top[k], 0);
    if (left)
      --*left;
    int *slot = map_slot(&im->blob, l->top[k], 1);
    if (!slot)
      return oom(im);
    *slot = bot[0];
  }
  return 0;
}

static int add_input(imp_t *im, const char *name, size_t ndim,
                     const int64_t *dims, const lview_t *l) {
  if (ndim < 1 || ndim > CN_MAX_DIMS)
    return cn_err_set(im->err, CN_EFORMAT, "%s: input %s has %zu axes",
                      im->pname, name, ndim);
  for (size_t i = 0; i < ndim; i++)
    if (dims[i] < 1)
      return cn_err_set(im->err, CN_EFORMAT,
                        "%s: input %s: dimension %zu is %" PRId64, im->pname,
                        name, i, dims[i]);
  if (map_slot(&im->blob, name, 0))
    return cn_err_set(im->err, CN_EFORMAT, "%s: input %s defined twice",
                      im->pname, name);
  int id;
  if (l) {
    size_t k = 0;
    while (strcmp(l->top[k], name))
      k++;
    int r = new_top(im, l, k, (int)ndim, dims, &id);
    if (r)
      return r;
  } else {
    int *left = map_slot(&im->writes, name, 0);
    if (left)
      --*left;
    id = cn_graph_add_tensor(im->g, name, CN_DT_F32, (int)ndim, dims);
    if (id == CN_EFORMAT)
      return cn_err_set(im->err, CN_EFORMAT, "%s: input %s has an absurd shape",
                        im->pname, name);
    if (id < 0)
      return oom(im);
  }
  int *slot = map_slot(&im->blob, name, 1);
  int *in = realloc(im->inputs, sizeof(int) * (size_t)(im->ninputs + 1));
  if (!slot || !in)
    return oom(im);
  *slot = id;
  im->inputs = in;
  im->inputs[im->ninputs++] = id;
  if (cn_graph_set_inputs(im->g, im->inputs, im->ninputs) < 0)
    return oom(im);
  return grow_tracking(im);
}

static int imp_input(imp_t *im, const lview_t *l) {
  const Caffe__InputParameter *c = l->input;
  if (l->nbottom)
    return lerr(im, l, CN_EFORMAT, "an Input layer takes no bottoms");
  size_t ns = c ? c->n_shape : 0;
  if (ns == 0)
    return lerr(im, l, CN_EFORMAT, "input_param has no shape");
  if (ns != 1 && ns != l->ntop)
    return lerr(im, l, CN_EFORMAT, "%zu shapes for %zu tops", ns, l->ntop);
  for (size_t k = 0; k < l->ntop; k++) {
    const Caffe__BlobShape *s = c->shape[ns == 1 ? 0 : k];
    int r = add_input(im, l->top[k], s->n_dim, s->dim, l);
    if (r)
      return r;
  }
  return 0;
}

/* Legacy inputs: net-level `input` with `input_shape` or `input_dim`. */
static int imp_net_inputs(imp_t *im) {
  const Caffe__NetParameter *n = im->net;
  if (!n->n_input) {
    if (n->n_input_shape || n->n_input_dim)
      return cn_err_set(im->err, CN_EFORMAT,
                        "%s: input shapes without input names", im->pname);
    return 0;
  }
  if (n->n_input_shape) {
    if (n->n_input_dim)
      return cn_err_set(im->err, CN_EFORMAT,
                        "%s: both input_shape and input_dim", im->pname);
    if (n->n_input_shape != n->n_input)
      return cn_err_set(im->err, CN_EFORMAT,
                        "%s: %zu input_shape for %zu inputs", im->pname,
                        n->n_input_shape, n->n_input);
    for (size_t i = 0; i < n->n_input; i++) {
      int r = add_input(im, n->input[i], n->input_shape[i]->n_dim,
                        n->input_shape[i]->dim, NULL);
      if (r)
        return r;
    }
    return 0;
  }
  if (n->n_input_dim != 4 * n->n_input)
    return cn_err_set(im->err, CN_EFORMAT,
                      "%s: %zu input_dim values for %zu inputs (4 each)",
                      im->pname, n->n_input_dim, n->n_input);
  for (size_t i = 0; i < n->n_input; i++) {
    int64_t d[4];
    for (int k = 0; k < 4; k++)
      d[k] = n->input_dim[4 * i + (size_t)k];
    int r = add_input(im, n->input[i], 4, d, NULL);
    if (r)
      return r;
  }
  return 0;
}

static int imp_silence(imp_t *im, const lview_t *l, const int *bot, int arg) {
  (void)bot, (void)arg;
  return l->ntop ? lerr(im, l, CN_EFORMAT, "Silence has no tops") : 0;
}

typedef struct layer_type {
  const char *name;
  int (*fn)(imp_t *im, const lview_t *l, const int *bot, int arg);
  int arg;
} layer_type_t;

/* Every layer type the importer converts (Input aside, which has no
 * bottoms), sorted by strcmp for bsearch. */
static const layer_type_t layer_types[] = {
    {"AbsVal", imp_act, CN_ACT_ABS},
    {"BNLL", imp_act, CN_ACT_SOFTPLUS},
    {"BatchNorm", imp_batchnorm, 0},
    {"Bias", imp_scale, 1},
    {"Concat", imp_concat, 0},
    {"Convolution", imp_conv, 0},
    {"Deconvolution", imp_conv, 1},
    {"DetectionOutput", imp_detection_output, 0},
    {"Dropout", imp_identity, 0},
    {"Eltwise", imp_eltwise, 0},
    {"Flatten", imp_flatten, 0},
    {"InnerProduct", imp_ip, 0},
    {"LRN", imp_lrn, 0},
    {"PReLU", imp_prelu, 0},
    {"Permute", imp_permute, 0},
    {"Pooling", imp_pool, 0},
    {"PriorBox", imp_prior_box, 0},
    {"ReLU", imp_act, CN_ACT_RELU},
    {"Reshape", imp_reshape, 0},
    {"Scale", imp_scale, 0},
    {"Sigmoid", imp_act, CN_ACT_SIGMOID},
    {"Silence", imp_silence, 0},
    {"Slice", imp_slice, 0},
    {"Softmax", imp_softmax, 0},
    {"Split", imp_split, 0},
    {"TanH", imp_act, CN_ACT_TANH},
};
#define N_LAYER_TYPES (sizeof layer_types / sizeof layer_types[0])

static int layer_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const layer_type_t *)elem)->name);
}

static const layer_type_t *layer_find(const char *type) {
  return bsearch(type, layer_types, N_LAYER_TYPES, sizeof layer_types[0],
                 layer_cmp);
}

const char *cn_caffe_layer_at(size_t i) {
  if (i == 0)
    return "Input";
  return i <= N_LAYER_TYPES ? layer_types[i - 1].name : NULL;
}

static int imp_layer(imp_t *im, const lview_t *l) {
  const char *t = l->type;
  if (strcmp(t, "Input") == 0)
    return imp_input(im, l);
  if (l->nbottom > 4096 || l->ntop > 4096)
    return lerr(im, l, CN_EFORMAT, "too many bottoms or tops");
  int bot[8];
  int *b = l->nbottom <= 8 ? bot : malloc(sizeof(int) * l->nbottom);
  if (!b)
    return oom(im);
  int r = 0;
  for (size_t i = 0; i < l->nbottom && !r; i++) {
    int *id = map_slot(&im->blob, l->bottom[i], 0);
    if (!id) {
      r = lerr(im, l, CN_EFORMAT,
               "bottom %s is not produced by an earlier layer", l->bottom[i]);
      break;
    }
    b[i] = *id;
    im->consumed[*id] = 1;
  }
  if (r)
    goto out;
  for (size_t i = 0; i < l->ntop; i++)
    if (!l->top[i][0]) {
      r = lerr(im, l, CN_EFORMAT, "empty top name");
      goto out;
    }
  if (!t[0]) {
    r = lerr(im, l, CN_EFORMAT, "no layer type");
  } else {
    const layer_type_t *h = layer_find(t);
    r = h ? h->fn(im, l, b, h->arg)
          : lerr(im, l, CN_EUNSUPPORTED, "unknown layer type %.64s", t);
  }
out:
  if (b != bot)
    free(b);
  return r;
}

static int collect_layers(const Caffe__NetParameter *n, lview_t **out,
                          size_t *nout) {
  size_t cnt = n->n_layer + n->n_layers;
  lview_t *v = calloc(cnt ? cnt : 1, sizeof *v);
  if (!v)
    return CN_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n->n_layer; i++)
    view_layer(n->layer[i], &v[k++]);
  for (size_t i = 0; i < n->n_layers; i++)
    view_v1(n->layers[i], &v[k++]);
  *out = v;
  *nout = cnt;
  return 0;
}

/* Outputs: what was produced and never consumed, in production order. */
static int net_outputs(imp_t *im) {
  int *outs = malloc(sizeof(int) * (size_t)(im->nproduced ? im->nproduced : 1));
  int no = 0, r = 0;
  if (!outs)
    return oom(im);
  for (int i = 0; i < im->nproduced; i++) {
    int id = im->produced[i];
    int dup = 0;
    for (int k = 0; k < no; k++)
      dup |= outs[k] == id;
    if (!im->consumed[id] && !dup)
      outs[no++] = id;
  }
  if (no == 0)
    r = cn_err_set(im->err, CN_EFORMAT, "%s: the network has no outputs",
                   im->pname);
  else if (cn_graph_set_outputs(im->g, outs, no) < 0)
    r = oom(im);
  free(outs);
  return r;
}

static int import_net(imp_t *im) {
  const Caffe__NetParameter *net = im->net;
  if (net->n_layer && net->n_layers)
    return cn_err_set(im->err, CN_EFORMAT,
                      "%s: both `layer` and the old `layers` form", im->pname);
  lview_t *ls;
  size_t nl;
  if (collect_layers(net, &ls, &nl))
    return oom(im);
  int r = 0;
  for (size_t i = 0; im->wm && i < im->wm->nlayers; i++) {
    /* The first layer of a name wins, as in Caffe's CopyTrainedLayersFrom. */
    const char *name = im->wm->layers[i].name;
    if (!name[0] || map_slot(&im->weights, name, 0))
      continue;
    int *s = map_slot(&im->weights, name, 1);
    if (!s) {
      free(ls);
      return oom(im);
    }
    *s = (int)i;
  }
  unsigned char *inc = calloc(nl ? nl : 1, 1);
  if (!inc) {
    free(ls);
    return oom(im);
  }
  /* Pass 1: which layers run, and how often each blob is written. */
  for (size_t i = 0; i < nl && !r; i++) {
    inc[i] = (unsigned char)layer_included(im, &ls[i]);
    if (!inc[i])
      continue;
    for (size_t k = 0; k < ls[i].ntop; k++) {
      int *w = map_slot(&im->writes, ls[i].top[k], 1);
      if (!w)
        r = oom(im);
      else
        ++*w;
    }
  }
  for (size_t i = 0; i < net->n_input && !r; i++) {
    int *w = map_slot(&im->writes, net->input[i], 1);
    if (!w)
      r = oom(im);
    else
      ++*w;
  }
  if (!r)
    r = imp_net_inputs(im);
  for (size_t i = 0; i < nl && !r; i++)
    if (inc[i] && !(r = cn__load_interrupted(im->intr, im->pname, im->err)))
      r = imp_layer(im, &ls[i]);
  if (!r && im->ninputs == 0)
    r = cn_err_set(im->err, CN_EFORMAT, "%s: the network has no inputs",
                   im->pname);
  if (!r)
    r = net_outputs(im);
  if (!r)
    r = finalize(im);
  free(inc);
  free(ls);
  return r;
}

static int load_common(Caffe__NetParameter *net, const wmodel_t *wm,
                       const char *pname, const char *mname,
                       const cn_interrupt_t *intr, cn_graph_t **out,
                       cn_err_t *err) {
  imp_t im;
  memset(&im, 0, sizeof im);
  im.pname = pname;
  im.mname = mname ? mname : "<caffemodel>";
  im.net = net;
  im.wm = wm;
  im.state = net->state;
  im.err = err;
  im.intr = intr;
  im.g = cn_graph_create(pname);
  int r = im.g ? import_net(&im)
               : cn_err_set(err, CN_ENOMEM, "%s: out of memory", pname);
  map_free(&im.blob);
  map_free(&im.writes);
  map_free(&im.weights);
  free(im.consumed);
  free(im.produced);
  free(im.inputs);
  if (r) {
    cn_graph_destroy(im.g);
    return r;
  }
  *out = im.g;
  return 0;
}

/* Indexes the caffemodel bytes (which must outlive the import). */
static int index_model(const void *buf, size_t len, const char *mname,
                       wmodel_t *wm, cn_err_t *err) {
  memset(wm, 0, sizeof *wm);
  if (len == 0)
    return cn_err_set(err, CN_EFORMAT, "%s: empty file", mname);
  if (len >= MAX_MODEL_BYTES)
    return cn_err_set(err, CN_EFORMAT, "%s: larger than 2 GiB", mname);
  int r = wm_parse(buf, len, wm);
  if (r == 0 && wm->nlayers == 0)
    r = cn_err_set(err, CN_EFORMAT, "%s: not a caffemodel (no layers)", mname);
  else if (r == CN_ENOMEM)
    r = cn_err_set(err, CN_ENOMEM, "%s: out of memory", mname);
  else if (r)
    r = cn_err_set(err, CN_EFORMAT,
                   "%s: not a caffemodel (truncated or not a Caffe "
                   "NetParameter protobuf)",
                   mname);
  if (r)
    wm_free(wm);
  return r;
}

/* Names in a model are arbitrary strings: keep the message on one line. */
static int one_line(int r, cn_err_t *err) {
  if (r && err)
    for (char *c = err->msg; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = '?';
  return r;
}

static int load_net(ProtobufCMessage *nm, const void *model, size_t mlen,
                    const char *pname, const char *mname,
                    const cn_interrupt_t *intr, cn_graph_t **out,
                    cn_err_t *err) {
  wmodel_t wm;
  memset(&wm, 0, sizeof wm);
  int r = 0;
  if (model)
    r = index_model(model, mlen, mname, &wm, err);
  if (!r)
    r = load_common((Caffe__NetParameter *)nm, model ? &wm : NULL, pname, mname,
                    intr, out, err);
  wm_free(&wm);
  protobuf_c_message_free_unpacked(nm, NULL);
  return one_line(r, err);
}

int cn_caffe_load_mem(const char *text, size_t tlen, const void *model,
                      size_t mlen, const char *pname, const char *mname,
                      cn_graph_t **out, cn_err_t *err) {
  *out = NULL;
  pname = pname ? pname : "<prototxt>";
  mname = mname ? mname : "<caffemodel>";
  ProtobufCMessage *nm;
  int r = cn_prototxt_parse(text, tlen, pname,
                            &caffe__net_parameter__descriptor, &nm, err);
  if (r)
    return r;
  return load_net(nm, model, mlen, pname, mname, NULL, out, err);
}

int cn_caffe_load(const char *prototxt, const char *caffemodel,
                  const cn_interrupt_t *intr, cn_graph_t **out, cn_err_t *err) {
  *out = NULL;
  ProtobufCMessage *nm;
  int r =
      cn_prototxt_load(prototxt, &caffe__net_parameter__descriptor, &nm, err);
  if (r)
    return r;
  if (!caffemodel)
    return load_net(nm, NULL, 0, prototxt, NULL, intr, out, err);
  cn_file_map_t m;
  if ((r = cn_file_map(caffemodel, "Caffe model", MAX_MODEL_BYTES, &m, err))) {
    protobuf_c_message_free_unpacked(nm, NULL);
    return r;
  }
  r = load_net(nm, m.data, m.len, prototxt, caffemodel, intr, out, err);
  cn_file_unmap(&m);
  return r;
}
