#include "camnet/overlay.h"

#include <cairo.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Canvases come from a small pool and keep their pixel buffers, so a
 * cairo surface and context made for a buffer once serve every later
 * picture drawn into it: no allocation per frame in steady state. */
#define CN__OV_CACHE 32

typedef struct ov_target {
  uint8_t *data;
  int width, height, stride;
  cairo_surface_t *surf;
  cairo_t *cr;
} ov_target_t;

struct cn_overlay {
  const cn_labels_t *labels;
  cairo_font_face_t *face;
  ov_target_t cache[CN__OV_CACHE];
  int next; /* slot the next new buffer replaces */
};

int cn_overlay_create(const cn_labels_t *labels, cn_overlay_t **out,
                      cn_err_t *err) {
  cn_overlay_t *ov = calloc(1, sizeof *ov);
  if (!ov)
    return cn_err_set(err, CN_ENOMEM, "overlay: out of memory");
  ov->labels = labels;
  ov->face = cairo_toy_font_face_create("sans-serif", CAIRO_FONT_SLANT_NORMAL,
                                        CAIRO_FONT_WEIGHT_BOLD);
  if (cairo_font_face_status(ov->face) != CAIRO_STATUS_SUCCESS) {
    cairo_font_face_destroy(ov->face);
    free(ov);
    return cn_err_set(err, CN_ENOMEM, "overlay: cannot make a font face");
  }
  *out = ov;
  return 0;
}

static void target_clear(ov_target_t *t) {
  if (t->cr)
    cairo_destroy(t->cr);
  if (t->surf)
    cairo_surface_destroy(t->surf);
  memset(t, 0, sizeof *t);
}

void cn_overlay_destroy(cn_overlay_t *ov) {
  if (!ov)
    return;
  for (int i = 0; i < CN__OV_CACHE; i++)
    target_clear(&ov->cache[i]);
  cairo_font_face_destroy(ov->face);
  free(ov);
}

static ov_target_t *target_slot(cn_overlay_t *ov, cairo_t *cr) {
  for (int i = 0; i < CN__OV_CACHE; i++)
    if (ov->cache[i].cr == cr)
      return &ov->cache[i];
  return NULL;
}

/* The context drawing into canvas's pixels, made on first use. A context
 * that could not be made is returned uncached, in its error state. */
static cairo_t *target_for(cn_overlay_t *ov, const cn_frame_t *canvas) {
  for (int i = 0; i < CN__OV_CACHE; i++) {
    ov_target_t *t = &ov->cache[i];
    if (t->cr && t->data == canvas->data && t->width == canvas->width &&
        t->height == canvas->height && t->stride == canvas->stride)
      return t->cr;
  }
  ov_target_t *t = &ov->cache[ov->next];
  ov->next = (ov->next + 1) % CN__OV_CACHE;
  target_clear(t);
  t->surf = cairo_image_surface_create_for_data(
      canvas->data, CAIRO_FORMAT_RGB24, canvas->width, canvas->height,
      canvas->stride);
  t->cr = cairo_create(t->surf);
  if (cairo_status(t->cr) != CAIRO_STATUS_SUCCESS) {
    cairo_t *bad = t->cr;
    t->cr = NULL; /* not cached; the caller reads its status */
    cairo_surface_destroy(t->surf);
    t->surf = NULL;
    return bad;
  }
  cairo_set_font_face(t->cr, ov->face);
  t->data = canvas->data;
  t->width = canvas->width;
  t->height = canvas->height;
  t->stride = canvas->stride;
  return t->cr;
}

/* Expands packed BGR to BGRX, row by row (strides differ). */
static void copy_bgr_to_bgra(const cn_frame_t *src, cn_frame_t *dst) {
  for (int y = 0; y < src->height; y++) {
    const uint8_t *s = src->data + (size_t)y * (size_t)src->stride;
    uint32_t *d = (uint32_t *)(dst->data + (size_t)y * (size_t)dst->stride);
    for (int x = 0; x < src->width; x++, s += 3)
      d[x] = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
             0xff000000u;
  }
}

/* A colour per class, spread around the hue circle. Any int is a class
 * here (a decoder's bad index must not index past the table). */
static void class_colour(int cls, double *r, double *g, double *b) {
  double f = fmod(cls * 0.61803398875, 1.0);
  if (f < 0)
    f += 1.0;
  double h = f * 6.0;
  double x = 1.0 - fabs(fmod(h, 2.0) - 1.0);
  double c[6][3] = {{1, x, 0}, {x, 1, 0}, {0, 1, x},
                    {0, x, 1}, {x, 0, 1}, {1, 0, x}};
  int i = (int)h;
  if (i > 5)
    i = 5;
  *r = 0.2 + 0.8 * c[i][0];
  *g = 0.2 + 0.8 * c[i][1];
  *b = 0.2 + 0.8 * c[i][2];
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (stray continuation, overlong form, surrogate, beyond U+10FFFF). */
static int utf8_seq(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  int n = c >= 0xc2 && c <= 0xdf   ? 2
          : c >= 0xe0 && c <= 0xef ? 3
          : c >= 0xf0 && c <= 0xf4 ? 4
                                   : 0;
  unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
  if (c == 0xe0)
    lo = 0xa0;
  else if (c == 0xed)
    hi = 0x9f;
  else if (c == 0xf0)
    lo = 0x90;
  else if (c == 0xf4)
    hi = 0x8f;
  for (int i = 1; i < n; i++) {
    unsigned b = s[i];
    if (i == 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf)
      return 0;
  }
  return n;
}

/* Copies s into buf replacing bytes that are not UTF-8 with '?': cairo
 * refuses such strings and then draws nothing more on the context, and a
 * Latin-1 labels file must not blank the overlay. */
static const char *utf8_clean(const char *s, char *buf, size_t n) {
  size_t o = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p && o + 5 < n) {
    int k = utf8_seq(p);
    if (k == 0) {
      buf[o++] = '?';
      p++;
      continue;
    }
    memcpy(buf + o, p, (size_t)k);
    o += (size_t)k;
    p += k;
  }
  buf[o] = '\0';
  return buf;
}

/* Font size that fits s into width w, at most size. Advances are not
 * quite linear in the size (glyphs snap to pixels), so it measures again
 * after each shrink. */
static double fit_size(cairo_t *cr, const char *s, double size, double w) {
  cairo_text_extents_t te;
  for (int i = 0; i < 4; i++) {
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    if (te.x_advance <= w || te.x_advance <= 0)
      break;
    size *= w / te.x_advance * 0.98;
  }
  return size;
}

/* Text on a translucent dark band: readable on any picture. */
static void text_line(cairo_t *cr, double x, double y, double size,
                      const char *text) {
  char clean[512];
  const char *s = utf8_clean(text, clean, sizeof clean);
  cairo_text_extents_t te;
  cairo_set_font_size(cr, size);
  cairo_text_extents(cr, s, &te);
  double pad = size * 0.25;
  cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
  cairo_rectangle(cr, x - pad, y - size - pad * 0.5, te.x_advance + 2 * pad,
                  size * 1.35 + pad);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, s);
}

static const char *label_of(const cn_overlay_t *ov, int cls, char *buf,
                            size_t n) {
  const char *l = cn_labels_get(ov->labels, cls);
  if (l)
    return l;
  snprintf(buf, n, "class %d", cls);
  return buf;
}

static void draw_result(cn_overlay_t *ov, cairo_t *cr, const cn_result_t *res,
                        double size) {
  char line[512], num[32];
  if (res->task == CN_TASK_CLASSIFY) {
    int ntop = res->ntop < CN_MAX_TOP ? res->ntop : CN_MAX_TOP;
    for (int i = 0; i < ntop; i++) {
      snprintf(line, sizeof line, "%.4f %s", res->top[i].prob,
               label_of(ov, res->top[i].cls, num, sizeof num));
      text_line(cr, size * 0.6, size * (1.4 + 1.5 * i), size, line);
    }
    return;
  }
  cairo_set_line_width(cr, fmax(2.0, size / 8));
  int nboxes = res->nboxes < CN_MAX_BOXES ? res->nboxes : CN_MAX_BOXES;
  for (int i = 0; i < nboxes; i++) {
    const cn_box_t *b = &res->boxes[i];
    double r, g, bl;
    class_colour(b->cls, &r, &g, &bl);
    cairo_set_source_rgb(cr, r, g, bl);
    cairo_rectangle(cr, b->x, b->y, b->w, b->h);
    cairo_stroke(cr);
    for (int k = 0; k < b->nkp && k < CN_MAX_KP; k++) {
      cairo_arc(cr, b->kp[k][0], b->kp[k][1], fmax(2.0, size / 6), 0, 2 * M_PI);
      cairo_fill(cr);
    }
    snprintf(line, sizeof line, "%s %.2f",
             label_of(ov, b->cls, num, sizeof num), b->score);
    double ty = b->y - size * 0.4;
    text_line(cr, b->x + size * 0.25, ty < size * 1.2 ? b->y + size * 1.2 : ty,
              size * 0.8, line);
  }
}

/* cairo draws on 32-bit pixels only: the canvas gets src's picture as
 * BGRX, and src's stamps so that sinks can time it. */
static int canvas_from(const cn_frame_t *src, cn_frame_t *canvas,
                       cn_err_t *err) {
  if (src->format != CN_PIX_BGR24)
    return cn_err_set(err, CN_EINVAL, "overlay: frame %llu is not BGR24",
                      (unsigned long long)src->seq);
  /* Someone else (the window, the recorder) may be reading this canvas:
   * drawing over it would show them a half-drawn picture. */
  if (!cn_frame_is_writable(canvas))
    return cn_err_set(err, CN_EINVAL,
                      "overlay: canvas for frame %llu is still in use",
                      (unsigned long long)src->seq);
  int rc =
      cn_frame_alloc_pixels(canvas, src->width, src->height, CN_PIX_BGRA, err);
  if (rc)
    return rc;
  canvas->source = src->source;
  canvas->seq = src->seq;
  canvas->pts = src->pts;
  canvas->t_capture = src->t_capture;
  canvas->t_decode = src->t_decode;
  canvas->t_wall = src->t_wall;
  canvas->t_develop = src->t_develop;
  canvas->t_take = src->t_take;
  /* Not the stage stamps: the inference thread may still be writing them
   * while the display thread draws the same frame. */
  canvas->t_infer_begin = canvas->t_infer_end = canvas->t_out = 0;
  copy_bgr_to_bgra(src, canvas);
  return 0;
}

static void draw_info(cairo_t *cr, const cn_frame_t *canvas,
                      const cn_overlay_info_t *info, double size) {
  char line[256], which[32] = "";
  if (info->nsources > 1)
    snprintf(which, sizeof which, "[source %d]  ", info->source);
  int n =
      snprintf(line, sizeof line,
               "%snet %.1f fps  cam %.1f fps  age %.0f ms  drops %llu", which,
               info->net_fps, info->cam_fps, info->age_ms, info->drops);
  if (info->result_lag >= 0 && n > 0 && n < (int)sizeof line)
    snprintf(line + n, sizeof line - (size_t)n, "  result %ld frame%s old",
             info->result_lag, info->result_lag == 1 ? "" : "s");
  /* Bottom left, shrunk to fit narrow pictures; the help sits on the
   * line above, clear of the top-k list and of the status line. */
  double avail = canvas->width - size * 1.6;
  double ys = canvas->height - size * 0.6;
  text_line(cr, size * 0.6, ys, fit_size(cr, line, size * 0.75, avail), line);
  if (info->offline) {
    const char *off = "NO SIGNAL";
    double fs = fit_size(cr, off, size * 1.5, avail);
    cairo_text_extents_t te;
    cairo_set_font_size(cr, fs);
    cairo_text_extents(cr, off, &te);
    text_line(cr, (canvas->width - te.x_advance) / 2.0,
              (canvas->height + fs * 0.7) / 2.0, fs, off);
  }
  if (info->help) {
    const char *help =
        "\"Esc\" to Quit, \"H\" for Help, \"F\" to Toggle Fullscreen";
    text_line(cr, size * 0.6, ys - size * 1.4,
              fit_size(cr, help, size * 0.8, avail), help);
  }
}

/* Hands back cr (from target_for; cached: the overlay keeps it). cairo
 * keeps the first error on the context rather than returning it from each
 * call, so this one check covers the whole drawing. */
static int target_done(cn_overlay_t *ov, cairo_t *cr, bool cached,
                       cn_err_t *err) {
  cairo_status_t st = cairo_status(cr);
  cairo_surface_flush(cairo_get_target(cr));
  if (!cached)
    cairo_destroy(cr);
  else if (st != CAIRO_STATUS_SUCCESS)
    target_clear(target_slot(ov, cr)); /* errors stick to a context */
  if (st != CAIRO_STATUS_SUCCESS)
    return cn_err_set(err, CN_EINTERNAL, "overlay: cairo: %s",
                      cairo_status_to_string(st));
  return 0;
}

int cn_overlay_render(cn_overlay_t *ov, const cn_frame_t *src,
                      cn_frame_t *canvas, const cn_result_t *res,
                      const cn_overlay_info_t *info, cn_err_t *err) {
  int rc = canvas_from(src, canvas, err);
  if (rc)
    return rc;
  cairo_t *cr = target_for(ov, canvas);
  bool cached = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
  /* copy_bgr_to_bgra wrote behind cairo's back. */
  cairo_surface_mark_dirty(cairo_get_target(cr));
  cairo_save(cr);
  cairo_new_path(cr); /* save/restore keep the last frame's current point */
  /* Text scales with the picture: 1/30 of its height, at least 12 px. */
  double size = fmax(12.0, canvas->height / 30.0);
  if (res)
    draw_result(ov, cr, res, size);
  if (info)
    draw_info(cr, canvas, info, size);
  cairo_restore(cr);
  return target_done(ov, cr, cached, err);
}

/* Centred text on a band, shrunk to fit; returns the size used. */
static double centred(cairo_t *cr, const cn_frame_t *c, double y, double size,
                      const char *text) {
  double fs = fit_size(cr, text, size, c->width * 0.9);
  cairo_text_extents_t te;
  cairo_set_font_size(cr, fs);
  cairo_text_extents(cr, text, &te);
  text_line(cr, (c->width - te.x_advance) / 2.0, y, fs, text);
  return fs;
}

int cn_overlay_nosignal(cn_overlay_t *ov, cn_frame_t *canvas,
                        const cn_nosignal_t *ns, cn_err_t *err) {
  if (!cn_frame_is_writable(canvas))
    return cn_err_set(err, CN_EINVAL, "overlay: canvas is still in use");
  int w = ns->width > 0 ? ns->width : 640,
      h = ns->height > 0 ? ns->height : 480;
  int rc = cn_frame_alloc_pixels(canvas, w, h, CN_PIX_BGRA, err);
  if (rc)
    return rc;
  cairo_t *cr = target_for(ov, canvas);
  bool cached = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
  cairo_save(cr);
  cairo_new_path(cr);
  cairo_set_source_rgb(cr, CN_NOSIGNAL_R / 255.0, CN_NOSIGNAL_G / 255.0,
                       CN_NOSIGNAL_B / 255.0);
  cairo_paint(cr);
  double size = fmax(12.0, h / 30.0);
  double big = centred(cr, canvas, h * 0.42, size * 2.5, "NO SIGNAL");
  char line[512];
  double y = h * 0.42 + big * 0.6 + size * 1.6;
  centred(cr, canvas, y, size, ns->name ? ns->name : "");
  if (ns->reason && ns->reason[0])
    centred(cr, canvas, y + size * 1.6, size * 0.8, ns->reason);
  snprintf(line, sizeof line, "offline for %.0f s", floor(ns->offline_s));
  centred(cr, canvas, y + size * 3.0, size * 0.8, line);
  cairo_restore(cr);
  return target_done(ov, cr, cached, err);
}

int cn_overlay_write_png(const cn_frame_t *canvas, const char *path,
                         cn_err_t *err) {
  if (canvas->format != CN_PIX_BGRA)
    return cn_err_set(err, CN_EINVAL, "%s: canvas is not BGRA", path);
  cairo_surface_t *surf = cairo_image_surface_create_for_data(
      canvas->data, CAIRO_FORMAT_RGB24, canvas->width, canvas->height,
      canvas->stride);
  cairo_status_t st = cairo_surface_write_to_png(surf, path);
  cairo_surface_destroy(surf);
  if (st != CAIRO_STATUS_SUCCESS)
    return cn_err_set(err, CN_EIO, "%s: cannot write PNG: %s", path,
                      cairo_status_to_string(st));
  return 0;
}
