/* Frames and their pool live in one file: a frame's release path is the
 * pool's return path, and they share the private item layout. */
#include "camnet/frame.h"
#include "camnet/clock.h"
#include "camnet/pool.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_item {
  cn_frame_t pub; /* first: a cn_frame_t * is a pool_item * */
  atomic_int refs;
  cn_pool_t *pool;
  struct pool_item *next_free;
  struct pool_item *next_all;
  uint8_t *buf; /* own pixel buffer, grown on demand */
  size_t cap;
  int developed; /* 0 not yet, 1 done, <0 failed with that code */
  bool wrapped;  /* caller's pixels (cn_frame_wrap); pool is NULL */
} pool_item_t;

struct cn_pool {
  cn_pool_opts_t opts;
  pthread_mutex_t lock;         /* free list, counts, destroyed flag */
  pthread_mutex_t develop_lock; /* serialises develop callbacks */
  pool_item_t *free_list;
  pool_item_t *all;
  int allocated;
  int outstanding; /* frames handed out and not yet back */
  bool destroyed;
};

static pool_item_t *item_of(const cn_frame_t *f) { return (pool_item_t *)f; }

static void clear_frame(cn_frame_t *f) {
  void *priv = f->priv;
  memset(f, 0, sizeof *f);
  f->priv = priv;
  f->pts = NAN;
}

static void pool_free_all(cn_pool_t *pool) {
  pool_item_t *it = pool->all;
  while (it) {
    pool_item_t *next = it->next_all;
    if (pool->opts.priv_free)
      pool->opts.priv_free(pool->opts.ctx, &it->pub);
    free(it->buf);
    free(it);
    it = next;
  }
  if (pool->opts.ctx_free)
    pool->opts.ctx_free(pool->opts.ctx);
  pthread_mutex_destroy(&pool->develop_lock);
  pthread_mutex_destroy(&pool->lock);
  free(pool);
}

cn_pool_t *cn_pool_create(const cn_pool_opts_t *opts, cn_err_t *err) {
  cn_pool_t *pool = calloc(1, sizeof *pool);
  if (!pool) {
    cn_err_set(err, CN_ENOMEM, "frame pool: out of memory");
    return NULL;
  }
  if (opts)
    pool->opts = *opts;
  if (pool->opts.max_frames <= 0)
    pool->opts.max_frames = 16;
  pthread_mutex_init(&pool->lock, NULL);
  pthread_mutex_init(&pool->develop_lock, NULL);
  return pool;
}

cn_frame_t *cn_pool_get(cn_pool_t *pool, cn_err_t *err) {
  pthread_mutex_lock(&pool->lock);
  pool_item_t *it = pool->free_list;
  if (it) {
    pool->free_list = it->next_free;
    pool->outstanding++;
    pthread_mutex_unlock(&pool->lock);
  } else if (pool->allocated >= pool->opts.max_frames) {
    pthread_mutex_unlock(&pool->lock);
    cn_err_set(err, CN_EAGAIN, "frame pool: all %d frames in use",
               pool->opts.max_frames);
    return NULL;
  } else {
    /* Reserve the place before allocating outside the lock. */
    pool->allocated++;
    pool->outstanding++;
    pthread_mutex_unlock(&pool->lock);
    it = calloc(1, sizeof *it);
    if (it && pool->opts.priv_init &&
        pool->opts.priv_init(pool->opts.ctx, &it->pub, err) < 0) {
      free(it);
      it = NULL;
    } else if (!it) {
      cn_err_set(err, CN_ENOMEM, "frame pool: out of memory");
    }
    pthread_mutex_lock(&pool->lock);
    if (!it) {
      pool->allocated--;
      pool->outstanding--;
      pthread_mutex_unlock(&pool->lock);
      return NULL;
    }
    it->pool = pool;
    it->next_all = pool->all;
    pool->all = it;
    pthread_mutex_unlock(&pool->lock);
  }
  clear_frame(&it->pub);
  it->developed = pool->opts.develop ? 0 : 1;
  atomic_store_explicit(&it->refs, 1, memory_order_relaxed);
  return &it->pub;
}

int cn_pool_allocated(cn_pool_t *pool) {
  pthread_mutex_lock(&pool->lock);
  int n = pool->allocated;
  pthread_mutex_unlock(&pool->lock);
  return n;
}

void cn_pool_destroy(cn_pool_t *pool) {
  if (!pool)
    return;
  pthread_mutex_lock(&pool->lock);
  pool->destroyed = true;
  bool last = pool->outstanding == 0;
  pthread_mutex_unlock(&pool->lock);
  if (last)
    pool_free_all(pool);
}

cn_frame_t *cn_frame_ref(cn_frame_t *f) {
  atomic_fetch_add_explicit(&item_of(f)->refs, 1, memory_order_relaxed);
  return f;
}

/* The release path: acq_rel on the decrement makes every write by every
 * former holder visible to the thread that resets the frame. */
void cn_frame_unref(cn_frame_t **pf) {
  cn_frame_t *f = pf ? *pf : NULL;
  if (!f)
    return;
  *pf = NULL;
  pool_item_t *it = item_of(f);
  if (atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (it->wrapped) {
    free(it);
    return;
  }
  cn_pool_t *pool = it->pool;
  if (pool->opts.priv_reset)
    pool->opts.priv_reset(pool->opts.ctx, f);
  pthread_mutex_lock(&pool->lock);
  it->next_free = pool->free_list;
  pool->free_list = it;
  pool->outstanding--;
  bool last = pool->destroyed && pool->outstanding == 0;
  pthread_mutex_unlock(&pool->lock);
  if (last)
    pool_free_all(pool);
}

bool cn_frame_is_writable(const cn_frame_t *f) {
  return !item_of(f)->wrapped &&
         atomic_load_explicit(&item_of(f)->refs, memory_order_acquire) == 1;
}

int cn_frame_develop(cn_frame_t *f, cn_err_t *err) {
  pool_item_t *it = item_of(f);
  if (it->wrapped)
    return 0; /* the caller's pixels are what they are */
  cn_pool_t *pool = it->pool;
  pthread_mutex_lock(&pool->develop_lock);
  int rc = it->developed;
  if (rc == 0) {
    rc = pool->opts.develop(pool->opts.ctx, f, err);
    it->developed = rc < 0 ? rc : 1;
    if (rc >= 0) {
      rc = 1;
      f->t_develop = cn_clock_now();
    }
  } else if (rc < 0) {
    cn_err_set(err, rc, "frame %llu: could not be developed earlier: %s",
               (unsigned long long)f->seq, cn_strerror(rc));
  }
  pthread_mutex_unlock(&pool->develop_lock);
  return rc < 0 ? rc : 0;
}

int cn_frame_alloc_pixels(cn_frame_t *f, int width, int height,
                          cn_pixfmt_t format, cn_err_t *err) {
  pool_item_t *it = item_of(f);
  if (it->wrapped)
    return cn_err_set(err, CN_EINVAL,
                      "frame: a wrapped frame's pixels are the caller's");
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384 ||
      (format != CN_PIX_BGR24 && format != CN_PIX_BGRA))
    return cn_err_set(err, CN_EINVAL, "frame: bad pixel size %dx%d", width,
                      height);
  int bpp = format == CN_PIX_BGRA ? 4 : 3;
  int stride = (width * bpp + 31) & ~31;
  size_t need = (size_t)stride * (size_t)height;
  if (need > it->cap) {
    /* Aligned for SIMD scalers; only when a larger size first appears.
     * The 64 spare bytes are for libswscale, whose SIMD input readers
     * may read a little past the last pixel (FFmpeg pads its own frames
     * the same way): without them it faulted on a page boundary. */
    uint8_t *buf = aligned_alloc(64, (need + 64 + 63) & ~(size_t)63);
    if (!buf)
      return cn_err_set(err, CN_ENOMEM, "frame: out of memory for %dx%d", width,
                        height);
    free(it->buf);
    it->buf = buf;
    it->cap = need;
  }
  cn_frame_set_pixels(f, it->buf, stride, width, height, format);
  return 0;
}

void cn_frame_set_pixels(cn_frame_t *f, uint8_t *data, int stride, int width,
                         int height, cn_pixfmt_t format) {
  f->data = data;
  f->stride = stride;
  f->width = width;
  f->height = height;
  f->format = format;
}

/* Bytes per pixel of plane 0 and how many planes a format has. */
static int plane_layout(cn_pixfmt_t fmt, int *bpp) {
  switch (fmt) {
  case CN_PIX_BGR24:
  case CN_PIX_RGB24:
    *bpp = 3;
    return 1;
  case CN_PIX_BGRA:
    *bpp = 4;
    return 1;
  case CN_PIX_GRAY8:
    *bpp = 1;
    return 1;
  case CN_PIX_NV12:
    *bpp = 1;
    return 2;
  case CN_PIX_YUV420P:
    *bpp = 1;
    return 3;
  default:
    return 0;
  }
}

static int check_image(const cn_image_t *img, cn_err_t *err) {
  int bpp = 0, planes = img ? plane_layout(img->format, &bpp) : 0;
  if (!planes)
    return cn_err_set(err, CN_EINVAL, "image: unknown pixel format %d",
                      img ? (int)img->format : -1);
  if (img->width < 1 || img->height < 1 || img->width > 16384 ||
      img->height > 16384)
    return cn_err_set(err, CN_EINVAL,
                      "image: size %dx%d is outside 1x1..16384x16384",
                      img->width, img->height);
  for (int i = 0; i < planes; i++) {
    /* Chroma rows: NV12's U,V pairs span the width; YUV420P's U and V
     * rows are half of it, rounded up. */
    int row = i == 0                       ? img->width * bpp
              : img->format == CN_PIX_NV12 ? (img->width + 1) / 2 * 2
                                           : (img->width + 1) / 2;
    if (!img->data[i])
      return cn_err_set(err, CN_EINVAL, "image: plane %d has no data", i);
    if (img->stride[i] < row)
      return cn_err_set(err, CN_EINVAL,
                        "image: plane %d stride %d is less than its row of "
                        "%d bytes",
                        i, img->stride[i], row);
  }
  return 0;
}

/* The caller's planes into f's pixel fields; camnet only reads them. */
static void point_at(cn_frame_t *f, const cn_image_t *img) {
  cn_frame_set_pixels(f, (uint8_t *)img->data[0], img->stride[0], img->width,
                      img->height, img->format);
  for (int i = 0; i < 2; i++) {
    f->chroma[i] = (uint8_t *)img->data[i + 1];
    f->chroma_stride[i] = img->stride[i + 1];
  }
  f->pts = img->pts;
  /* Handed in now: the moment the caller's picture arrived, as far as
   * camnet can know (records' ages and t_wall count from it). */
  f->t_capture = f->t_decode = f->t_develop = cn_clock_now();
  f->t_wall = cn_clock_wall();
}

int cn_frame_wrap(const cn_image_t *img, cn_frame_t **out, cn_err_t *err) {
  *out = NULL;
  int rc = check_image(img, err);
  if (rc)
    return rc;
  pool_item_t *it = calloc(1, sizeof *it);
  if (!it)
    return cn_err_set(err, CN_ENOMEM, "image: out of memory");
  it->wrapped = true;
  it->developed = 1;
  atomic_store_explicit(&it->refs, 1, memory_order_relaxed);
  clear_frame(&it->pub);
  it->pub.source = -1;
  it->pub.seq = 1;
  point_at(&it->pub, img);
  *out = &it->pub;
  return 0;
}

int cn_frame_rewrap(cn_frame_t *f, const cn_image_t *img, cn_err_t *err) {
  pool_item_t *it = item_of(f);
  if (!it->wrapped ||
      atomic_load_explicit(&it->refs, memory_order_acquire) != 1)
    return cn_err_set(err, CN_EINVAL,
                      "image: rewrap needs a wrapped frame held once");
  int rc = check_image(img, err);
  if (rc)
    return rc;
  uint64_t seq = f->seq;
  clear_frame(f);
  f->source = -1;
  f->seq = seq + 1;
  point_at(f, img);
  return 0;
}
