/* Mean images and .npy arrays; see mean.h. */
#include "camnet/mean.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "engine/caffe.pb-c.h"

#define MAX_NUMEL ((int64_t)1 << 31)
#define MAX_FILE ((size_t)1 << 33)

static int read_file(const char *path, unsigned char **buf, size_t *len,
                     cn_err_t *err) {
  return cn_file_read(path, "mean", MAX_FILE, (char **)buf, len, err);
}

/* Headers may hold any bytes: keep the message on one line. */
static int one_line(int r, cn_err_t *err) {
  if (r && err)
    for (char *c = err->msg; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = '?';
  return r;
}

void cn_npy_free(cn_npy_t *a) {
  if (!a)
    return;
  free(a->data);
  memset(a, 0, sizeof *a);
}

/* ---- the .npy header: a Python dict literal ----------------------------- */

typedef struct hdr {
  const char *s, *e;
} hdr_t;

static void skip_ws(hdr_t *h) {
  while (h->s < h->e &&
         (*h->s == ' ' || *h->s == '\t' || *h->s == '\n' || *h->s == '\r'))
    h->s++;
}

static int eat(hdr_t *h, char c) {
  skip_ws(h);
  if (h->s < h->e && *h->s == c) {
    h->s++;
    return 1;
  }
  return 0;
}

/* A quoted Python string (no escapes appear in numpy headers). */
static int py_string(hdr_t *h, const char **s, size_t *n) {
  skip_ws(h);
  if (h->s >= h->e || (*h->s != '\'' && *h->s != '"'))
    return -1;
  char q = *h->s++;
  const char *b = h->s;
  while (h->s < h->e && *h->s != q)
    h->s++;
  if (h->s >= h->e)
    return -1;
  *s = b;
  *n = (size_t)(h->s - b);
  h->s++;
  return 0;
}

static int word_is(const char *s, size_t n, const char *w) {
  return n == strlen(w) && memcmp(s, w, n) == 0;
}

typedef enum { DT_F4, DT_F8, DT_U1 } dtype_t;

/* The 'descr' value: the element type. */
static int npy_descr(hdr_t *h, const char *name, dtype_t *dt, cn_err_t *err) {
  const char *v;
  size_t vn;
  if (py_string(h, &v, &vn))
    return cn_err_set(err, CN_EUNSUPPORTED,
                      "%s: structured .npy dtypes are not supported", name);
  if (word_is(v, vn, "<f4"))
    *dt = DT_F4;
  else if (word_is(v, vn, "<f8"))
    *dt = DT_F8;
  else if (word_is(v, vn, "|u1") || word_is(v, vn, "<u1") ||
           word_is(v, vn, "u1"))
    *dt = DT_U1;
  else if (vn && v[0] == '>')
    return cn_err_set(err, CN_EUNSUPPORTED,
                      "%s: big-endian dtype '%.*s' is not supported", name,
                      (int)(vn < 16 ? vn : 16), v);
  else
    return cn_err_set(err, CN_EUNSUPPORTED,
                      "%s: dtype '%.*s' is not supported (float32, float64, "
                      "uint8)",
                      name, (int)(vn < 16 ? vn : 16), v);
  return 0;
}

/* The 'fortran_order' value: only False (C order) is taken. */
static int npy_order(hdr_t *h, const char *name, cn_err_t *err) {
  skip_ws(h);
  if (h->e - h->s >= 5 && memcmp(h->s, "False", 5) == 0) {
    h->s += 5;
    return 0;
  }
  if (h->e - h->s >= 4 && memcmp(h->s, "True", 4) == 0)
    return cn_err_set(err, CN_EUNSUPPORTED,
                      "%s: Fortran-ordered arrays are not supported", name);
  return cn_err_set(err, CN_EFORMAT, "%s: malformed .npy header", name);
}

/* The 'shape' tuple into a->dims, a->ndim and a->numel. */
static int npy_shape(hdr_t *h, const char *name, cn_npy_t *a, cn_err_t *err) {
  if (!eat(h, '('))
    return cn_err_set(err, CN_EFORMAT, "%s: malformed .npy shape", name);
  a->ndim = 0;
  a->numel = 1;
  while (!eat(h, ')')) {
    skip_ws(h);
    int64_t v = 0;
    int digits = 0;
    while (h->s < h->e && *h->s >= '0' && *h->s <= '9') {
      v = v * 10 + (*h->s++ - '0');
      digits++;
      if (v > MAX_NUMEL)
        return cn_err_set(err, CN_EFORMAT, "%s: absurd .npy dimension", name);
    }
    if (!digits)
      return cn_err_set(err, CN_EFORMAT, "%s: malformed .npy shape", name);
    if (a->ndim == CN_NPY_MAX_DIMS)
      return cn_err_set(err, CN_EUNSUPPORTED, "%s: more than %d dimensions",
                        name, CN_NPY_MAX_DIMS);
    a->dims[a->ndim++] = v;
    a->numel *= v;
    if (a->numel > MAX_NUMEL)
      return cn_err_set(err, CN_EFORMAT, "%s: absurd .npy shape", name);
    if (!eat(h, ',')) {
      if (!eat(h, ')'))
        return cn_err_set(err, CN_EFORMAT, "%s: malformed .npy shape", name);
      break;
    }
  }
  return 0;
}

static int parse_header(hdr_t *h, const char *name, dtype_t *dt, cn_npy_t *a,
                        cn_err_t *err) {
  int have_descr = 0, have_order = 0, have_shape = 0, rc;
  if (!eat(h, '{'))
    return cn_err_set(err, CN_EFORMAT, "%s: .npy header is not a dict", name);
  while (!eat(h, '}')) {
    const char *k;
    size_t kn;
    if (py_string(h, &k, &kn) || !eat(h, ':'))
      return cn_err_set(err, CN_EFORMAT, "%s: malformed .npy header", name);
    if (word_is(k, kn, "descr")) {
      if ((rc = npy_descr(h, name, dt, err)))
        return rc;
      have_descr = 1;
    } else if (word_is(k, kn, "fortran_order")) {
      if ((rc = npy_order(h, name, err)))
        return rc;
      have_order = 1;
    } else if (word_is(k, kn, "shape")) {
      if ((rc = npy_shape(h, name, a, err)))
        return rc;
      have_shape = 1;
    } else {
      return cn_err_set(err, CN_EFORMAT,
                        "%s: unknown key '%.*s' in .npy header", name,
                        (int)(kn < 32 ? kn : 32), k);
    }
    if (!eat(h, ',')) {
      if (!eat(h, '}'))
        return cn_err_set(err, CN_EFORMAT, "%s: malformed .npy header", name);
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape)
    return cn_err_set(err, CN_EFORMAT,
                      "%s: .npy header lacks descr, fortran_order or shape",
                      name);
  return 0;
}

int cn_npy_read_mem(const void *buf, size_t len, const char *name,
                    cn_npy_t *out, cn_err_t *err) {
  memset(out, 0, sizeof *out);
  const unsigned char *b = buf;
  name = name ? name : "<npy>";
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return cn_err_set(err, CN_EFORMAT, "%s: not a .npy file (wrong magic)",
                      name);
  unsigned major = b[6];
  size_t hlen, hoff;
  if (major == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hoff = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12)
      return cn_err_set(err, CN_EFORMAT, "%s: truncated .npy header", name);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
           (size_t)b[11] << 24;
    hoff = 12;
  } else {
    return cn_err_set(err, CN_EUNSUPPORTED, "%s: .npy format version %u.%u",
                      name, major, b[7]);
  }
  if (hlen > len - hoff)
    return cn_err_set(err, CN_EFORMAT, "%s: truncated .npy header", name);
  hdr_t h = {(const char *)b + hoff, (const char *)b + hoff + hlen};
  dtype_t dt = DT_F4;
  cn_npy_t a;
  memset(&a, 0, sizeof a);
  int r = parse_header(&h, name, &dt, &a, err);
  if (r)
    return one_line(r, err);
  size_t isz = dt == DT_F8 ? 8 : dt == DT_F4 ? 4 : 1;
  size_t need = (size_t)a.numel * isz, have = len - hoff - hlen;
  if (have < need)
    return cn_err_set(err, CN_EFORMAT,
                      "%s: truncated: %zu bytes of data, expected %zu", name,
                      have, need);
  a.data = malloc(a.numel ? (size_t)a.numel * sizeof(float) : 1);
  if (!a.data)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", name);
  const unsigned char *d = b + hoff + hlen;
  for (int64_t i = 0; i < a.numel; i++) {
    if (dt == DT_U1) {
      a.data[i] = d[i];
    } else if (dt == DT_F4) {
      uint32_t u = (uint32_t)d[4 * i] | (uint32_t)d[4 * i + 1] << 8 |
                   (uint32_t)d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24;
      memcpy(&a.data[i], &u, 4);
    } else {
      uint64_t u = 0;
      for (int k = 7; k >= 0; k--)
        u = u << 8 | d[8 * i + k];
      double v;
      memcpy(&v, &u, 8);
      a.data[i] = (float)v;
    }
  }
  *out = a;
  return 0;
}

int cn_npy_read(const char *path, cn_npy_t *out, cn_err_t *err) {
  memset(out, 0, sizeof *out);
  unsigned char *buf;
  size_t len;
  int r = read_file(path, &buf, &len, err);
  if (r)
    return r;
  r = cn_npy_read_mem(buf, len, path, out, err);
  free(buf);
  return r;
}

int cn_npy_write(const char *path, const float *data, int ndim,
                 const int64_t *dims, cn_err_t *err) {
  if (ndim < 0 || ndim > CN_NPY_MAX_DIMS)
    return cn_err_set(err, CN_EINVAL, "%s: %d dimensions", path, ndim);
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr,
                   "{'descr': '<f4', 'fortran_order': False, "
                   "'shape': (");
  int64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s", (long long)dims[i],
                  ndim == 1 || i + 1 < ndim ? ", " : "");
    numel *= dims[i];
  }
  n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
  /* Pad with spaces so the data starts at a multiple of 64, then '\n'. */
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f) {
    int e = errno;
    return cn_err_set(err, cn_err_from_errno(e), "%s: %s", path, strerror(e));
  }
  unsigned hl = (unsigned)(n + pad + 1);
  unsigned char pre[10] = {0x93,
                           'N',
                           'U',
                           'M',
                           'P',
                           'Y',
                           1,
                           0,
                           (unsigned char)(hl & 0xff),
                           (unsigned char)(hl >> 8)};
  int ok =
      fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n;
  for (int i = 0; ok && i < pad; i++)
    ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF;
  for (int64_t i = 0; ok && i < numel; i++) {
    uint32_t u;
    memcpy(&u, &data[i], 4);
    unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8),
                           (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
    ok = fwrite(le, 1, 4, f) == 4;
  }
  if (fclose(f) != 0)
    ok = 0;
  if (!ok)
    return cn_err_set(err, CN_EIO, "%s: write error", path);
  return 0;
}

/* ---- .binaryproto ------------------------------------------------------- */

int cn_blobproto_read_mem(const void *buf, size_t len, const char *name,
                          cn_npy_t *out, cn_err_t *err) {
  memset(out, 0, sizeof *out);
  name = name ? name : "<binaryproto>";
  if (len == 0)
    return cn_err_set(err, CN_EFORMAT, "%s: empty file", name);
  Caffe__BlobProto *b = caffe__blob_proto__unpack(NULL, len, buf);
  if (!b)
    return cn_err_set(err, CN_EFORMAT,
                      "%s: not a Caffe BlobProto (truncated or corrupt)", name);
  cn_npy_t a;
  memset(&a, 0, sizeof a);
  a.numel = 1;
  int r = 0;
  if (b->shape && b->shape->n_dim) {
    if (b->shape->n_dim > CN_NPY_MAX_DIMS)
      r = cn_err_set(err, CN_EUNSUPPORTED, "%s: %zu dimensions", name,
                     b->shape->n_dim);
    for (size_t i = 0; !r && i < b->shape->n_dim; i++)
      a.dims[a.ndim++] = b->shape->dim[i];
  } else {
    a.ndim = 4;
    a.dims[0] = b->num;
    a.dims[1] = b->channels;
    a.dims[2] = b->height;
    a.dims[3] = b->width;
  }
  for (int i = 0; !r && i < a.ndim; i++) {
    if (a.dims[i] < 0 || a.dims[i] > MAX_NUMEL ||
        (a.numel *= a.dims[i]) > MAX_NUMEL)
      r = cn_err_set(err, CN_EFORMAT, "%s: absurd blob shape", name);
  }
  size_t have = b->n_data ? b->n_data : b->n_double_data;
  if (!r && (int64_t)have != a.numel)
    r = cn_err_set(err, CN_EFORMAT, "%s: blob has %zu values, its shape %lld",
                   name, have, (long long)a.numel);
  if (!r && !(a.data = malloc(a.numel ? (size_t)a.numel * sizeof(float) : 1)))
    r = cn_err_set(err, CN_ENOMEM, "%s: out of memory", name);
  for (int64_t i = 0; !r && i < a.numel; i++)
    a.data[i] = b->n_data ? b->data[i] : (float)b->double_data[i];
  caffe__blob_proto__free_unpacked(b, NULL);
  if (r) {
    free(a.data);
    return r;
  }
  *out = a;
  return 0;
}

int cn_blobproto_read(const char *path, cn_npy_t *out, cn_err_t *err) {
  memset(out, 0, sizeof *out);
  unsigned char *buf;
  size_t len;
  int r = read_file(path, &buf, &len, err);
  if (r)
    return r;
  r = cn_blobproto_read_mem(buf, len, path, out, err);
  free(buf);
  return r;
}

/* ---- fitting a mean to the input ------------------------------------- */

void cn_mean_free(cn_mean_t *m) {
  if (!m)
    return;
  free(m->data);
  memset(m, 0, sizeof *m);
}

static int mean_alloc(int c, int h, int w, cn_mean_t *out, cn_err_t *err) {
  memset(out, 0, sizeof *out);
  if (c < 1 || h < 1 || w < 1 || (int64_t)c * h * w > MAX_NUMEL)
    return cn_err_set(err, CN_EINVAL, "mean: input %dx%dx%d", c, h, w);
  out->data = malloc((size_t)c * (size_t)h * (size_t)w * sizeof(float));
  if (!out->data)
    return cn_err_set(err, CN_ENOMEM, "mean: out of memory");
  out->c = c;
  out->h = h;
  out->w = w;
  return 0;
}

int cn_mean_from_values(const float *v, int n, int c, int h, int w,
                        cn_mean_t *out, cn_err_t *err) {
  memset(out, 0, sizeof *out);
  if (n != 1 && n != c)
    return cn_err_set(err, CN_EINVAL, "mean: %d values for %d channels", n, c);
  int r = mean_alloc(c, h, w, out, err);
  if (r)
    return r;
  size_t plane = (size_t)h * (size_t)w;
  for (int k = 0; k < c; k++)
    for (size_t i = 0; i < plane; i++)
      out->data[(size_t)k * plane + i] = v[n == 1 ? 0 : k];
  return 0;
}

/* Bilinear sample of one plane at (y, x) in source pixel coordinates,
 * clamped at the borders. */
static float bilinear(const float *p, int64_t sh, int64_t sw, double y,
                      double x) {
  if (y < 0)
    y = 0;
  if (x < 0)
    x = 0;
  int64_t y0 = (int64_t)y, x0 = (int64_t)x;
  if (y0 > sh - 1)
    y0 = sh - 1;
  if (x0 > sw - 1)
    x0 = sw - 1;
  int64_t y1 = y0 + 1 < sh ? y0 + 1 : sh - 1,
          x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
  double fy = y - (double)y0, fx = x - (double)x0;
  if (fy > 1)
    fy = 1;
  if (fx > 1)
    fx = 1;
  double top = p[y0 * sw + x0] * (1 - fx) + p[y0 * sw + x1] * fx;
  double bot = p[y1 * sw + x0] * (1 - fx) + p[y1 * sw + x1] * fx;
  return (float)(top * (1 - fy) + bot * fy);
}

int cn_mean_fit(const cn_npy_t *a, const char *name, int c, int h, int w,
                cn_mean_t *out, cn_err_t *err) {
  memset(out, 0, sizeof *out);
  name = name ? name : "mean";
  for (int64_t i = 0; i < a->numel; i++)
    if (!isfinite(a->data[i]))
      return cn_err_set(err, CN_EFORMAT,
                        "%s: value %lld is %s (a mean must be finite)", name,
                        (long long)i, isnan(a->data[i]) ? "NaN" : "infinite");
  int64_t sc, sh, sw;
  if (a->ndim == 1 || a->ndim == 0) {
    if (a->numel != 1 && a->numel != c)
      return cn_err_set(err, CN_EFORMAT, "%s: %lld values for %d channels",
                        name, (long long)a->numel, c);
    return cn_mean_from_values(a->data, (int)a->numel, c, h, w, out, err);
  } else if (a->ndim == 3) {
    sc = a->dims[0], sh = a->dims[1], sw = a->dims[2];
  } else if (a->ndim == 4 && a->dims[0] == 1) {
    sc = a->dims[1], sh = a->dims[2], sw = a->dims[3];
  } else {
    return cn_err_set(
        err, CN_EFORMAT,
        "%s: a mean must be [C,H,W], [1,C,H,W] or [C] (has %d axes)", name,
        a->ndim);
  }
  if (sc != c && sc != 1)
    return cn_err_set(err, CN_EFORMAT, "%s: %lld channels, the input has %d",
                      name, (long long)sc, c);
  if (sh < 1 || sw < 1)
    return cn_err_set(err, CN_EFORMAT, "%s: empty mean image", name);
  int r = mean_alloc(c, h, w, out, err);
  if (r)
    return r;
  size_t plane = (size_t)h * (size_t)w;
  for (int k = 0; k < c; k++) {
    const float *src = a->data + (sc == 1 ? 0 : (size_t)k * (size_t)(sh * sw));
    float *dst = out->data + (size_t)k * plane;
    if (sh >= h && sw >= w) {
      /* Same size or larger: Caffe's center crop. */
      int64_t oy = (sh - h) / 2, ox = (sw - w) / 2;
      for (int y = 0; y < h; y++)
        memcpy(dst + (size_t)y * (size_t)w, src + (oy + y) * sw + ox,
               sizeof(float) * (size_t)w);
    } else {
      double ry = (double)sh / h, rx = (double)sw / w;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          dst[(size_t)y * (size_t)w + (size_t)x] =
              bilinear(src, sh, sw, (y + 0.5) * ry - 0.5, (x + 0.5) * rx - 0.5);
    }
  }
  return 0;
}

int cn_mean_load(const char *path, int c, int h, int w, cn_mean_t *out,
                 cn_err_t *err) {
  memset(out, 0, sizeof *out);
  unsigned char *buf;
  size_t len;
  int r = read_file(path, &buf, &len, err);
  if (r)
    return r;
  cn_npy_t a;
  size_t plen = strlen(path);
  bool named_npy = plen >= 4 && !strcmp(path + plen - 4, ".npy");
  if ((len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) || named_npy)
    r = cn_npy_read_mem(buf, len, path, &a, err); /* names a bad magic */
  else
    r = cn_blobproto_read_mem(buf, len, path, &a, err);
  free(buf);
  if (r)
    return r;
  r = cn_mean_fit(&a, path, c, h, w, out, err);
  cn_npy_free(&a);
  return r;
}
