#include "vision/preprocess.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

/* Rows of the resized region are 32-byte aligned for libswscale's SIMD. */
#define ROW_ALIGN 32

struct cn_preproc {
  cn_preproc_opts_t o;
  int numel;
  /* lut[c][p]: the value of byte p in network channel c, before the mean
   * image (if any) is subtracted. */
  float lut[3][256];
  float mul[3];    /* scale / std per network channel, for the mean image */
  int byte_of[3];  /* which byte of a B,G,R pixel feeds network channel c */
  float *mean;     /* planar C x H x W in network order, or NULL */
  float *mean_pad; /* value of a black pad pixel per element, or NULL */

  /* The resized region as planes G, B, R of at most W x H each. */
  uint8_t *buf;
  struct SwsContext *sws;
  /* The region's last rows, copied with room after them (see scale()). */
  uint8_t *tail;
  size_t tail_cap;
};

static int align_up(int n, int a) { return (n + a - 1) / a * a; }

void cn_preproc_opts_default(cn_preproc_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->channels = 3;
  o->layout = CN_LAYOUT_NCHW;
  o->scale = 1.0f;
  for (int c = 0; c < 3; c++)
    o->std[c] = 1.0f;
}

int cn_preproc_opts_from_model(cn_preproc_opts_t *o, const cn_model_t *m, int i,
                               cn_err_t *err) {
  const cn_tensor_desc_t *d = cn_model_input(m, i);
  if (!d)
    return cn_err_set(err, CN_EINVAL, "model has no input %d", i);
  if (d->ndim != 4 || d->dims[0] != 1)
    return cn_err_set(err, CN_EINVAL,
                      "model input '%s' has %d dims (batch %lld): expected "
                      "an image [1,C,H,W] or [1,H,W,C]",
                      d->name, d->ndim, (long long)(d->ndim ? d->dims[0] : 0));
  int nhwc = (d->dims[3] == 1 || d->dims[3] == 3) && d->dims[1] != 1 &&
             d->dims[1] != 3;
  int64_t c = nhwc ? d->dims[3] : d->dims[1];
  int64_t h = nhwc ? d->dims[1] : d->dims[2];
  int64_t w = nhwc ? d->dims[2] : d->dims[3];
  if (h < 1 || w < 1 || h > 16384 || w > 16384)
    return cn_err_set(err, CN_EINVAL, "model input '%s': bad size %lldx%lld",
                      d->name, (long long)w, (long long)h);
  o->layout = nhwc ? CN_LAYOUT_NHWC : CN_LAYOUT_NCHW;
  o->channels = (int)c;
  o->width = (int)w;
  o->height = (int)h;
  return 0;
}

static int check_opts(const cn_preproc_opts_t *o, cn_err_t *err) {
  if (o->width < 1 || o->height < 1 || o->width > 16384 || o->height > 16384)
    return cn_err_set(err, CN_EINVAL, "preprocess: bad input size %dx%d",
                      o->width, o->height);
  if (o->channels != 3)
    return cn_err_set(err, CN_EINVAL,
                      "preprocess: the network takes %d channels; only 3 "
                      "(colour) is supported",
                      o->channels);
  if (o->layout != CN_LAYOUT_NCHW && o->layout != CN_LAYOUT_NHWC)
    return cn_err_set(err, CN_EINVAL, "preprocess: bad layout %d",
                      (int)o->layout);
  if (o->crop && o->letterbox)
    return cn_err_set(err, CN_EINVAL,
                      "preprocess: crop and letterbox exclude each other");
  if (!isfinite(o->scale) || o->scale == 0.0f)
    return cn_err_set(err, CN_EINVAL, "preprocess: bad scale %g",
                      (double)o->scale);
  for (int c = 0; c < 3; c++) {
    if (!isfinite(o->std[c]) || o->std[c] == 0.0f)
      return cn_err_set(err, CN_EINVAL, "preprocess: bad std %g",
                        (double)o->std[c]);
    if (!isfinite(o->mean[c]))
      return cn_err_set(err, CN_EINVAL, "preprocess: bad mean %g",
                        (double)o->mean[c]);
  }
  const cn_mean_t *mi = o->mean_image;
  if (mi && (mi->c != o->channels || mi->h != o->height || mi->w != o->width ||
             !mi->data))
    return cn_err_set(err, CN_EINVAL,
                      "preprocess: the mean image is %dx%dx%d, the network "
                      "input is %dx%dx%d",
                      mi->c, mi->h, mi->w, o->channels, o->height, o->width);
  return 0;
}

int cn_preproc_create(const cn_preproc_opts_t *o, cn_preproc_t **out,
                      cn_err_t *err) {
  *out = NULL;
  int rc = check_opts(o, err);
  if (rc)
    return rc;
  cn_preproc_t *p = calloc(1, sizeof *p);
  if (!p)
    return cn_err_set(err, CN_ENOMEM, "preprocess: out of memory");
  p->o = *o;
  p->o.mean_image = NULL;
  if (!p->o.sws_flags)
    p->o.sws_flags = SWS_AREA;
  int plane = o->width * o->height;
  p->numel = plane * 3;
  for (int c = 0; c < 3; c++) {
    int b = o->rgb ? 2 - c : c; /* B,G,R position of network channel c */
    p->byte_of[c] = b;
    p->mul[c] = o->scale / o->std[b];
    float mean = o->mean_image ? 0.0f : o->mean[b];
    for (int v = 0; v < 256; v++)
      p->lut[c][v] = ((float)v - mean) * o->scale / o->std[b];
  }
  size_t bufsz = (size_t)align_up(o->width, ROW_ALIGN) * (size_t)o->height * 3;
  p->buf = malloc(bufsz);
  if (!p->buf)
    goto nomem;
  if (o->mean_image) {
    p->mean = malloc((size_t)p->numel * sizeof(float));
    p->mean_pad = malloc((size_t)p->numel * sizeof(float));
    if (!p->mean || !p->mean_pad)
      goto nomem;
    memcpy(p->mean, o->mean_image->data, (size_t)p->numel * sizeof(float));
    for (int c = 0; c < 3; c++)
      for (int i = 0; i < plane; i++)
        p->mean_pad[c * plane + i] =
            (0.0f - p->mean[c * plane + i]) * p->mul[c];
  }
  *out = p;
  return 0;
nomem:
  cn_preproc_destroy(p);
  return cn_err_set(err, CN_ENOMEM, "preprocess: out of memory");
}

void cn_preproc_destroy(cn_preproc_t *p) {
  if (!p)
    return;
  sws_freeContext(p->sws);
  free(p->tail);
  free(p->buf);
  free(p->mean);
  free(p->mean_pad);
  free(p);
}

int cn_preproc_numel(const cn_preproc_t *p) { return p->numel; }

/* Where the frame's region lands in the input: the region (rx, ry, rw,
 * rh) of the source is resized to (ix, iy, iw, ih) of the input; the rest
 * of the input is padding. */
typedef struct geom {
  int rx, ry, rw, rh;
  int ix, iy, iw, ih;
} geom_t;

static geom_t geometry(const cn_preproc_opts_t *o, int w, int h) {
  geom_t g = {0, 0, w, h, 0, 0, o->width, o->height};
  if (o->crop) {
    int s = w < h ? w : h;
    g.rx = (w - s) / 2;
    g.ry = (h - s) / 2;
    g.rw = g.rh = s;
  }
  if (o->letterbox) {
    double kx = (double)o->width / g.rw, ky = (double)o->height / g.rh;
    if (kx <= ky) {
      g.ih = (int)lround(g.rh * kx);
    } else {
      g.iw = (int)lround(g.rw * ky);
    }
    g.iw = g.iw < 1 ? 1 : g.iw > o->width ? o->width : g.iw;
    g.ih = g.ih < 1 ? 1 : g.ih > o->height ? o->height : g.ih;
    g.ix = (o->width - g.iw) / 2;
    g.iy = (o->height - g.ih) / 2;
  }
  return g;
}

static void fill_xform(const cn_preproc_opts_t *o, const geom_t *g, int w,
                       int h, cn_xform_t *xf) {
  xf->sx = (float)g->rw / (float)g->iw;
  xf->sy = (float)g->rh / (float)g->ih;
  xf->ox = (float)g->rx - (float)g->ix * xf->sx;
  xf->oy = (float)g->ry - (float)g->iy * xf->sy;
  xf->in_w = o->width;
  xf->in_h = o->height;
  xf->src_w = w;
  xf->src_h = h;
}

void cn_preproc_xform(const cn_preproc_t *p, int w, int h, cn_xform_t *xf) {
  geom_t g = geometry(&p->o, w, h);
  fill_xform(&p->o, &g, w, h, xf);
}

void cn_xform_apply(const cn_xform_t *xf, float *x, float *y) {
  *x = *x * xf->sx + xf->ox;
  *y = *y * xf->sy + xf->oy;
}

void cn_xform_invert(const cn_xform_t *xf, float *x, float *y) {
  *x = (*x - xf->ox) / xf->sx;
  *y = (*y - xf->oy) / xf->sy;
}

/* One output row y of the input. s[c] points at the first region pixel of
 * network channel c in this row, pixels step bytes apart (3 for packed BGR,
 * 1 for planes); s is NULL for a padding row. Pixels outside [ix, ix+iw)
 * are padding, whose value is that of a black pixel. */
static void convert_row(const cn_preproc_t *p, const geom_t *g, int y,
                        const uint8_t *const *s, int step, float *dst) {
  const int W = p->o.width, plane = W * p->o.height;
  const int lo = s ? g->ix : W, hi = s ? g->ix + g->iw : W;
  if (p->o.layout == CN_LAYOUT_NCHW) {
    for (int c = 0; c < 3; c++) {
      float *d = dst + c * plane + y * W;
      const uint8_t *sc = s ? s[c] - lo * step : NULL;
      if (!p->mean) {
        const float *lut = p->lut[c];
        const float pad = lut[0];
        for (int x = 0; x < lo; x++)
          d[x] = pad;
        for (int x = lo; x < hi; x++)
          d[x] = lut[sc[x * step]];
        for (int x = hi; x < W; x++)
          d[x] = pad;
      } else {
        const float *mp = p->mean_pad + c * plane + y * W;
        const float *m = p->mean + c * plane + y * W;
        const float k = p->mul[c];
        for (int x = 0; x < lo; x++)
          d[x] = mp[x];
        for (int x = lo; x < hi; x++)
          d[x] = ((float)sc[x * step] - m[x]) * k;
        for (int x = hi; x < W; x++)
          d[x] = mp[x];
      }
    }
    return;
  }
  float *d = dst + (size_t)y * W * 3;
  for (int x = 0; x < W; x++, d += 3) {
    int in = x >= lo && x < hi;
    int o = (x - lo) * step;
    for (int c = 0; c < 3; c++) {
      if (!p->mean) {
        d[c] = p->lut[c][in ? s[c][o] : 0];
      } else {
        int i = c * plane + y * W + x;
        d[c] = in ? ((float)s[c][o] - p->mean[i]) * p->mul[c] : p->mean_pad[i];
      }
    }
  }
}

/* What run() needs to know of a frame's pixel format: libswscale's name
 * for it, bytes per pixel of plane 0, and whether its chroma is at half
 * resolution (then crops start on even pixels). */
typedef struct fmt_info {
  enum AVPixelFormat av;
  int bpp;
  bool subsampled;
} fmt_info_t;

static bool fmt_lookup(cn_pixfmt_t f, fmt_info_t *fi) {
  static const fmt_info_t table[] = {
      [CN_PIX_BGR24] = {AV_PIX_FMT_BGR24, 3, false},
      [CN_PIX_BGRA] = {AV_PIX_FMT_BGR0, 4, false},
      [CN_PIX_RGB24] = {AV_PIX_FMT_RGB24, 3, false},
      [CN_PIX_GRAY8] = {AV_PIX_FMT_GRAY8, 1, false},
      [CN_PIX_NV12] = {AV_PIX_FMT_NV12, 1, true},
      [CN_PIX_YUV420P] = {AV_PIX_FMT_YUV420P, 1, true},
  };
  if ((int)f <= CN_PIX_NONE || (size_t)f >= sizeof table / sizeof *table)
    return false;
  *fi = table[f];
  return true;
}

/* Byte of a packed pixel that holds network channel c (B,G,R order in
 * byte_of); every channel of a gray pixel is its one byte. */
static int packed_byte(const cn_preproc_t *p, cn_pixfmt_t fmt, int c) {
  if (fmt == CN_PIX_GRAY8)
    return 0;
  return fmt == CN_PIX_RGB24 ? 2 - p->byte_of[c] : p->byte_of[c];
}

/* The frame's pixels at the region's top-left corner, per plane. */
static void region_planes(const cn_frame_t *f, const fmt_info_t *fi,
                          const geom_t *g, const uint8_t *src[4],
                          int strides[4]) {
  src[0] =
      f->data + (size_t)g->ry * (size_t)f->stride + (size_t)g->rx * fi->bpp;
  strides[0] = f->stride;
  src[1] = src[2] = src[3] = NULL;
  strides[1] = strides[2] = strides[3] = 0;
  if (!fi->subsampled)
    return;
  int cbpp = f->format == CN_PIX_NV12 ? 2 : 1;
  for (int i = 0; i < (f->format == CN_PIX_NV12 ? 1 : 2); i++) {
    src[i + 1] = f->chroma[i] +
                 (size_t)(g->ry / 2) * (size_t)f->chroma_stride[i] +
                 (size_t)(g->rx / 2) * cbpp;
    strides[i + 1] = f->chroma_stride[i];
  }
}

static int check_frame(const cn_frame_t *f, fmt_info_t *fi, cn_err_t *err) {
  unsigned long long seq = f ? (unsigned long long)f->seq : 0ULL;
  if (!f || !fmt_lookup(f->format, fi) || !f->data || f->width < 1 ||
      f->height < 1 || f->stride < f->width * fi->bpp)
    return cn_err_set(err, CN_EINVAL, "preprocess: frame %llu has no pixels",
                      seq);
  if (fi->subsampled &&
      (!f->chroma[0] || (f->format == CN_PIX_YUV420P && !f->chroma[1])))
    return cn_err_set(err, CN_EINVAL,
                      "preprocess: frame %llu has no chroma planes", seq);
  return 0;
}

/* Bytes in one row of plane i of a w-pixel-wide region. */
static int plane_row_bytes(const cn_frame_t *f, const fmt_info_t *fi, int i,
                           int w) {
  if (i == 0)
    return w * fi->bpp;
  return f->format == CN_PIX_NV12 ? (w + 1) / 2 * 2 : (w + 1) / 2;
}

/* libswscale's SIMD readers may read past the last pixel of a row (by up
 * to 64 bytes). Inside a frame that is the next row; after the region's
 * last rows it may be past the end of memory camnet does not own (a
 * caller's wrapped pixels, a mapped GStreamer buffer) and fault at a page
 * boundary. So the region is scaled in two slices: all but its last rows
 * in place, the last rows from a copy with room after each. The copy is
 * sized once per size (no allocation per frame). */
static int scale(cn_preproc_t *p, const cn_frame_t *f, const fmt_info_t *fi,
                 const geom_t *g, const uint8_t *const src[4],
                 const int src_strides[4], uint8_t *const planes[4],
                 const int strides[4], cn_err_t *err) {
  int nplanes = !fi->subsampled ? 1 : f->format == CN_PIX_NV12 ? 2 : 3;
  /* For 4:2:0 the split is on an even row: a chroma row covers two. */
  int head = g->rh > 2 ? g->rh - 2 : 0;
  if (fi->subsampled)
    head &= ~1;
  int tail_rows = g->rh - head, ts[4] = {0, 0, 0, 0};
  size_t need = 0, off[3];
  for (int i = 0; i < nplanes; i++) {
    ts[i] = (plane_row_bytes(f, fi, i, g->rw) + 64 + 63) & ~63;
    off[i] = need;
    need += (size_t)ts[i] * (size_t)tail_rows;
  }
  if (need > p->tail_cap) {
    uint8_t *t = realloc(p->tail, need);
    if (!t)
      return cn_err_set(err, CN_ENOMEM, "preprocess: out of memory");
    p->tail = t;
    p->tail_cap = need;
  }
  const uint8_t *tail_src[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < nplanes; i++) {
    int sub = i > 0, rows = sub ? (tail_rows + 1) / 2 : tail_rows;
    const uint8_t *from =
        src[i] + (size_t)(sub ? head / 2 : head) * (size_t)src_strides[i];
    for (int y = 0; y < rows; y++)
      memcpy(p->tail + off[i] + (size_t)y * (size_t)ts[i],
             from + (size_t)y * (size_t)src_strides[i],
             (size_t)plane_row_bytes(f, fi, i, g->rw));
    tail_src[i] = p->tail + off[i];
  }
  int got =
      head ? sws_scale(p->sws, src, src_strides, 0, head, planes, strides) : 0;
  got += sws_scale(p->sws, tail_src, ts, head, tail_rows, planes, strides);
  if (got != g->ih)
    return cn_err_set(err, CN_EINTERNAL,
                      "preprocess: libswscale wrote %d of %d rows", got, g->ih);
  return 0;
}

int cn_preproc_run(cn_preproc_t *p, const cn_frame_t *f, float *dst,
                   cn_xform_t *xf, cn_err_t *err) {
  fmt_info_t fi = {AV_PIX_FMT_NONE, 0, false};
  int rc = check_frame(f, &fi, err);
  if (rc)
    return rc;
  geom_t g = geometry(&p->o, f->width, f->height);
  if (fi.subsampled) { /* a chroma sample covers 2x2 luma pixels */
    g.rx &= ~1;
    g.ry &= ~1;
  }
  if (xf)
    fill_xform(&p->o, &g, f->width, f->height, xf);

  const uint8_t *src[4];
  int src_strides[4];
  region_planes(f, &fi, &g, src, src_strides);
  const uint8_t *s[3];
  if (g.rw == g.iw && g.rh == g.ih && !fi.subsampled) {
    /* No resize: read the frame's own pixels. */
    for (int y = 0; y < p->o.height; y++) {
      int ry = y - g.iy;
      int in = ry >= 0 && ry < g.ih;
      const uint8_t *row = src[0] + (size_t)(in ? ry : 0) * (size_t)f->stride;
      for (int c = 0; c < 3; c++)
        s[c] = row + packed_byte(p, f->format, c);
      convert_row(p, &g, y, in ? s : NULL, fi.bpp, dst);
    }
    return 0;
  }
  /* Resized (and converted from YUV) into planes G, B, R (libswscale's
   * GBRP). Full chroma keeps the channels independent: without it
   * libswscale subsamples colour and rings at edges. The context is
   * cached: rebuilt only when the geometry or the format changes. */
  p->sws = sws_getCachedContext(
      p->sws, g.rw, g.rh, fi.av, g.iw, g.ih, AV_PIX_FMT_GBRP,
      p->o.sws_flags | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, NULL, NULL,
      NULL);
  if (!p->sws)
    return cn_err_set(err, CN_ENOMEM, "preprocess: cannot scale %dx%d to %dx%d",
                      g.rw, g.rh, g.iw, g.ih);
  int ps = align_up(g.iw, ROW_ALIGN);
  size_t psz = (size_t)ps * (size_t)g.ih;
  uint8_t *const planes[4] = {p->buf, p->buf + psz, p->buf + 2 * psz, NULL};
  const int strides[4] = {ps, ps, ps, 0};
  if ((rc = scale(p, f, &fi, &g, src, src_strides, planes, strides, err)))
    return rc;
  /* B, G, R byte index -> GBRP plane. */
  static const int plane_of[3] = {1, 0, 2};
  for (int y = 0; y < p->o.height; y++) {
    int ry = y - g.iy;
    int in = ry >= 0 && ry < g.ih;
    for (int c = 0; c < 3; c++)
      s[c] = planes[plane_of[p->byte_of[c]]] + (size_t)(in ? ry : 0) * ps;
    convert_row(p, &g, y, in ? s : NULL, 1, dst);
  }
  return 0;
}
