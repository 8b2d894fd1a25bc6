/* The newest encoded picture of each variant, and the thread encoding it.
 *
 * Renderers post pictures (a reference swap under the lock: the
 * variant's pending picture is replaced, the old one dropped after the
 * lock). The encoder thread takes the pending picture of each variant in
 * turn, scales it (libswscale) when the variant is narrower, encodes it
 * (libturbojpeg) into a free buffer and makes it the variant's newest,
 * waking the clients. A picture is therefore encoded once per variant
 * however many clients watch, and only while someone watches (posts go
 * nowhere otherwise: renderers do not even draw).
 *
 * Memory bound: each client holds at most one buffer (the one it sends),
 * each variant one (its newest), the encoder one: the buffers are
 * max_clients + sources x variants + 1, made once, and their pixels grow
 * to the largest picture once; nothing is allocated per picture.
 */
#include "outputs/http_internal.h"

#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "camnet/clock.h"

#define QUALITY 80

struct cn__variant {
  int source;
  bool raw;
  int width;   /* 0: the picture's own */
  int viewers; /* clients and snapshot waiters */
  cn_frame_t *pending;
  cn__jpeg_t *latest;
  uint64_t gen;
  struct SwsContext *sws;
  uint8_t *scaled;
  size_t scaled_cap;
};

struct cn__store {
  pthread_mutex_t lock;
  pthread_cond_t work;  /* a picture is pending, or stop */
  pthread_cond_t fresh; /* a picture was encoded, or stop */
  int nsources;
  cn__variant_t v[CN_HTTP_MAX_SOURCES][CN_HTTP_VARIANTS];
  atomic_int watchers[CN_HTTP_MAX_SOURCES][2];
  cn__jpeg_t *jpegs;
  int njpegs;
  bool stop;
  int next; /* round robin over variants */
  pthread_t thread;
  bool started;
  tjhandle tj;
  const cn_logger_t *log;
  void (*tick)(void *);
  void *tick_opaque;
  _Atomic uint64_t encodes, encode_cpu_ns;
};

/* Called with the lock held. */
static void release(cn__jpeg_t *j) {
  if (j)
    j->refs--;
}

static cn__jpeg_t *free_jpeg(cn__store_t *s) {
  for (int i = 0; i < s->njpegs; i++)
    if (!s->jpegs[i].refs) {
      s->jpegs[i].refs = 1;
      return &s->jpegs[i];
    }
  return NULL; /* cannot happen: see the bound above */
}

/* Scales pic for v when it is narrower; returns the pixels to encode. */
static const uint8_t *scaled(cn__variant_t *v, const cn_frame_t *pic, int bpp,
                             int *w, int *h, int *stride) {
  *w = pic->width;
  *h = pic->height;
  *stride = pic->stride;
  if (!v->width || v->width >= pic->width)
    return pic->data;
  int dw = v->width, dh = (int)((int64_t)pic->height * dw / pic->width) & ~1;
  if (dh < 2)
    dh = 2;
  enum AVPixelFormat fmt = bpp == 4 ? AV_PIX_FMT_BGR0 : AV_PIX_FMT_BGR24;
  v->sws = sws_getCachedContext(v->sws, pic->width, pic->height, fmt, dw, dh,
                                fmt, SWS_BILINEAR, NULL, NULL, NULL);
  size_t need = (size_t)dw * (size_t)dh * (size_t)bpp;
  if (need > v->scaled_cap) {
    uint8_t *p = realloc(v->scaled, need);
    if (!p)
      return NULL;
    v->scaled = p;
    v->scaled_cap = need;
  }
  if (!v->sws)
    return NULL;
  const uint8_t *src[4] = {pic->data};
  int sstride[4] = {pic->stride};
  uint8_t *dst[4] = {v->scaled};
  int dstride[4] = {dw * bpp};
  sws_scale(v->sws, src, sstride, 0, pic->height, dst, dstride);
  *w = dw;
  *h = dh;
  *stride = dw * bpp;
  return v->scaled;
}

/* Encodes pic into j (the encoder thread, no lock held). */
static int encode(cn__store_t *s, cn__variant_t *v, const cn_frame_t *pic,
                  cn__jpeg_t *j) {
  int bpp = pic->format == CN_PIX_BGRA ? 4 : 3;
  if (pic->format != CN_PIX_BGRA && pic->format != CN_PIX_BGR24)
    return -1;
  int w, h, stride;
  const uint8_t *px = scaled(v, pic, bpp, &w, &h, &stride);
  if (!px)
    return -1;
  unsigned long need = tjBufSize(w, h, TJSAMP_420);
  if (need > j->cap) {
    unsigned char *d = tjAlloc((int)need);
    if (!d)
      return -1;
    tjFree(j->data);
    j->data = d;
    j->cap = need;
  }
  j->len = j->cap;
  if (tjCompress2(s->tj, px, w, stride, h, bpp == 4 ? TJPF_BGRX : TJPF_BGR,
                  &j->data, &j->len, TJSAMP_420, QUALITY,
                  TJFLAG_NOREALLOC | TJFLAG_FASTDCT)) {
    cn_log(s->log, CN_LOG_WARN, "http", "jpeg: %s", tjGetErrorStr2(s->tj));
    return -1;
  }
  j->seq = pic->seq;
  j->t_capture = pic->t_capture;
  j->t_wall = pic->t_wall;
  j->width = w;
  j->height = h;
  return 0;
}

/* A variant with a pending picture, round robin; lock held. */
static cn__variant_t *next_pending(cn__store_t *s) {
  int n = s->nsources * CN_HTTP_VARIANTS;
  for (int i = 0; i < n; i++) {
    int at = (s->next + i) % n;
    cn__variant_t *v = &s->v[at / CN_HTTP_VARIANTS][at % CN_HTTP_VARIANTS];
    if (v->pending) {
      s->next = (at + 1) % n;
      return v;
    }
  }
  return NULL;
}

static void *encoder(void *arg) {
  cn__store_t *s = arg;
  int64_t t_tick = cn_clock_now();
  pthread_mutex_lock(&s->lock);
  while (!s->stop) {
    int64_t now = cn_clock_now();
    if (now - t_tick >= CN_NS_PER_S) {
      t_tick = now;
      pthread_mutex_unlock(&s->lock);
      s->tick(s->tick_opaque);
      pthread_mutex_lock(&s->lock);
      continue;
    }
    cn__variant_t *v = next_pending(s);
    if (!v) {
      int64_t until = t_tick + CN_NS_PER_S;
      struct timespec ts = {(time_t)(until / CN_NS_PER_S),
                            (long)(until % CN_NS_PER_S)};
      pthread_cond_timedwait(&s->work, &s->lock, &ts);
      continue;
    }
    cn_frame_t *pic = v->pending;
    v->pending = NULL;
    cn__jpeg_t *j = free_jpeg(s);
    pthread_mutex_unlock(&s->lock);
    int64_t cpu = cn_clock_thread_cpu();
    int rc = j ? encode(s, v, pic, j) : -1;
    atomic_fetch_add(&s->encode_cpu_ns, cn_clock_thread_cpu() - cpu);
    cn_frame_unref(&pic);
    pthread_mutex_lock(&s->lock);
    if (rc) {
      release(j);
      continue;
    }
    atomic_fetch_add(&s->encodes, 1);
    j->gen = ++v->gen;
    release(v->latest);
    v->latest = j;
    pthread_cond_broadcast(&s->fresh);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

int cn__store_create(int nsources, int max_clients, const cn_logger_t *log,
                     void (*tick)(void *), void *tick_opaque, cn__store_t **out,
                     cn_err_t *err) {
  *out = NULL;
  cn__store_t *s = calloc(1, sizeof *s);
  if (!s)
    return cn_err_set(err, CN_ENOMEM, "http: out of memory");
  s->nsources = nsources;
  s->log = log;
  s->tick = tick;
  s->tick_opaque = tick_opaque;
  s->njpegs = max_clients + nsources * CN_HTTP_VARIANTS + 1;
  s->jpegs = calloc((size_t)s->njpegs, sizeof *s->jpegs);
  s->tj = tjInitCompress();
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->work, &ca);
  pthread_cond_init(&s->fresh, &ca);
  pthread_condattr_destroy(&ca);
  for (int k = 0; k < nsources; k++)
    for (int i = 0; i < CN_HTTP_VARIANTS; i++)
      s->v[k][i].source = k;
  if (!s->jpegs || !s->tj ||
      pthread_create(&s->thread, NULL, encoder, s) != 0) {
    cn__store_destroy(s);
    return cn_err_set(err, CN_ENOMEM, "http: cannot start the JPEG encoder");
  }
  s->started = true;
  *out = s;
  return 0;
}

void cn__store_stop(cn__store_t *s) {
  pthread_mutex_lock(&s->lock);
  s->stop = true;
  pthread_cond_broadcast(&s->work);
  pthread_cond_broadcast(&s->fresh);
  pthread_mutex_unlock(&s->lock);
}

void cn__store_destroy(cn__store_t *s) {
  if (!s)
    return;
  cn__store_stop(s);
  if (s->started)
    pthread_join(s->thread, NULL);
  for (int k = 0; k < s->nsources; k++)
    for (int i = 0; i < CN_HTTP_VARIANTS; i++) {
      cn__variant_t *v = &s->v[k][i];
      cn_frame_unref(&v->pending);
      sws_freeContext(v->sws);
      free(v->scaled);
    }
  for (int i = 0; s->jpegs && i < s->njpegs; i++)
    tjFree(s->jpegs[i].data);
  free(s->jpegs);
  if (s->tj)
    tjDestroy(s->tj);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->fresh);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

bool cn__store_wants(cn__store_t *s, int k, cn_http_kind_t kind) {
  return k >= 0 && k < s->nsources && atomic_load(&s->watchers[k][kind]) > 0;
}

void cn__store_post(cn__store_t *s, cn_frame_t *pic, cn_http_kind_t kind) {
  int k = pic->source;
  if (k < 0 || k >= s->nsources)
    return;
  cn_frame_t *old[CN_HTTP_VARIANTS] = {0};
  bool any = false;
  pthread_mutex_lock(&s->lock);
  for (int i = 0; i < CN_HTTP_VARIANTS; i++) {
    cn__variant_t *v = &s->v[k][i];
    /* NO SIGNAL (seq 0) is the picture of both kinds. */
    if (!v->viewers || (pic->seq && v->raw != (kind == CN_HTTP_RAW)))
      continue;
    old[i] = v->pending;
    v->pending = cn_frame_ref(pic);
    any = true;
  }
  if (any)
    pthread_cond_signal(&s->work);
  pthread_mutex_unlock(&s->lock);
  /* The replaced pictures go back to their pools outside the lock. */
  for (int i = 0; i < CN_HTTP_VARIANTS; i++)
    cn_frame_unref(&old[i]);
}

cn__variant_t *cn__store_join(cn__store_t *s, int k, bool raw, int width,
                              uint64_t *after) {
  cn__variant_t *v = NULL, *spare = NULL;
  cn__jpeg_t *drop = NULL;
  pthread_mutex_lock(&s->lock);
  for (int i = 0; i < CN_HTTP_VARIANTS && !v; i++) {
    cn__variant_t *c = &s->v[k][i];
    if (c->gen && c->raw == raw && c->width == width)
      v = c;
    else if (!c->viewers && (!spare || (spare->gen && !c->gen)))
      spare = c;
  }
  if (!v && spare) {
    /* An unwatched variant takes the new settings. */
    v = spare;
    drop = v->latest;
    v->latest = NULL;
    v->raw = raw;
    v->width = width;
    v->gen = 1; /* marks it in use; pictures count from 2 */
  }
  if (v) {
    *after = v->viewers > 0 && v->latest ? 0 : v->gen;
    if (v->viewers++ == 0)
      atomic_fetch_add(&s->watchers[k][raw], 1);
  }
  release(drop);
  pthread_mutex_unlock(&s->lock);
  return v;
}

void cn__store_leave(cn__store_t *s, cn__variant_t *v) {
  if (!v)
    return;
  cn_frame_t *pending = NULL;
  pthread_mutex_lock(&s->lock);
  if (--v->viewers == 0) {
    atomic_fetch_sub(&s->watchers[v->source][v->raw], 1);
    pending = v->pending;
    v->pending = NULL;
  }
  pthread_mutex_unlock(&s->lock);
  cn_frame_unref(&pending);
}

int cn__store_next(cn__store_t *s, cn__variant_t *v, uint64_t after,
                   int64_t deadline, cn__jpeg_t **out) {
  struct timespec ts = {(time_t)(deadline / CN_NS_PER_S),
                        (long)(deadline % CN_NS_PER_S)};
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  while (!s->stop && !(v->latest && v->latest->gen > after) && rc == 0)
    rc = pthread_cond_timedwait(&s->fresh, &s->lock, &ts);
  if (s->stop) {
    rc = CN_ECLOSED;
  } else if (v->latest && v->latest->gen > after) {
    *out = v->latest;
    v->latest->refs++;
    rc = 0;
  } else {
    rc = CN_ETIMEDOUT;
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

int cn__store_sleep(cn__store_t *s, int64_t deadline) {
  struct timespec ts = {(time_t)(deadline / CN_NS_PER_S),
                        (long)(deadline % CN_NS_PER_S)};
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  while (!s->stop && rc == 0)
    rc = pthread_cond_timedwait(&s->fresh, &s->lock, &ts) ? 1 : 0;
  rc = s->stop ? CN_ECLOSED : 0;
  pthread_mutex_unlock(&s->lock);
  return rc;
}

void cn__store_unref(cn__store_t *s, cn__jpeg_t **j) {
  if (!*j)
    return;
  pthread_mutex_lock(&s->lock);
  release(*j);
  pthread_mutex_unlock(&s->lock);
  *j = NULL;
}

uint64_t cn__store_encodes(const cn__store_t *s, double *cpu_ms) {
  cn__store_t *m = (cn__store_t *)s;
  if (cpu_ms)
    *cpu_ms = (double)atomic_load(&m->encode_cpu_ns) / 1e6;
  return atomic_load(&m->encodes);
}
