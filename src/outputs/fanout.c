#include "outputs/fanout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DEPTH 32
#define FIRST_CAP 4096

typedef struct slot {
  cn_rbuf_t b; /* first: a cn_rbuf_t * is its slot */
  int refs;    /* queues holding it; under the lock */
} slot_t;

typedef struct sink {
  cn_fanout_t *fo;
  const cn_rsink_ops_t *ops;
  void *ctx;
  bool drop, started, failed;
  int depth, head, count;
  slot_t **q; /* ring of depth entries */
  uint64_t dropped;
  cn_err_t err;
  pthread_cond_t ready; /* a record was queued, or closing */
  pthread_cond_t space; /* a record left the queue */
  pthread_t thread;
} sink_t;

struct cn_fanout {
  pthread_mutex_t lock;
  pthread_cond_t freed; /* a buffer came back */
  slot_t slots[CN_FANOUT_BUFFERS];
  slot_t *free_list[CN_FANOUT_BUFFERS];
  int nfree;
  sink_t sinks[CN_FANOUT_MAX_SINKS];
  int n;
  bool closing;
  cn_err_t err; /* a waiting sink's first failure: sticky */
};

int cn_fanout_create(cn_fanout_t **out, cn_err_t *err) {
  *out = NULL;
  cn_fanout_t *fo = calloc(1, sizeof *fo);
  if (!fo)
    return cn_err_set(err, CN_ENOMEM, "records: out of memory");
  pthread_mutex_init(&fo->lock, NULL);
  pthread_cond_init(&fo->freed, NULL);
  /* Every buffer now, not on first use: which buffers a run uses depends
   * on how far behind the sinks are. */
  for (int i = 0; i < CN_FANOUT_BUFFERS; i++) {
    fo->free_list[fo->nfree++] = &fo->slots[i];
    if (cn_rbuf_reserve(&fo->slots[i].b, FIRST_CAP)) {
      cn_fanout_close(fo, NULL);
      return cn_err_set(err, CN_ENOMEM, "records: out of memory");
    }
  }
  *out = fo;
  return 0;
}

/* Called with the lock held. */
static void release(cn_fanout_t *fo, slot_t *s) {
  if (--s->refs > 0)
    return;
  fo->free_list[fo->nfree++] = s;
  pthread_cond_signal(&fo->freed);
}

static void *sink_thread(void *arg) {
  sink_t *k = arg;
  cn_fanout_t *fo = k->fo;
  pthread_mutex_lock(&fo->lock);
  for (;;) {
    while (!k->count && !fo->closing)
      pthread_cond_wait(&k->ready, &fo->lock);
    if (!k->count)
      break;
    slot_t *s = k->q[k->head];
    k->head = (k->head + 1) % k->depth;
    k->count--;
    pthread_cond_broadcast(&k->space);
    bool failed = k->failed;
    pthread_mutex_unlock(&fo->lock);
    cn_err_t e = {0};
    int rc = failed ? 0 : k->ops->write(k->ctx, s->b.data, s->b.len, &e);
    pthread_mutex_lock(&fo->lock);
    if (!rc && !failed && !k->count && k->ops->flush) {
      pthread_mutex_unlock(&fo->lock);
      rc = k->ops->flush(k->ctx, &e);
      pthread_mutex_lock(&fo->lock);
    }
    if (rc && !k->failed) {
      k->failed = true;
      k->err = e;
      if (!k->drop && !fo->err.code)
        fo->err = e;
    }
    release(fo, s);
  }
  pthread_mutex_unlock(&fo->lock);
  return NULL;
}

int cn_fanout_add(cn_fanout_t *fo, const cn_rsink_ops_t *ops, void *ctx,
                  int depth, bool drop, cn_err_t *err) {
  if (fo->n == CN_FANOUT_MAX_SINKS) {
    ops->close(ctx, NULL);
    return cn_err_set(err, CN_EINVAL, "records: more than %d sinks",
                      CN_FANOUT_MAX_SINKS);
  }
  sink_t *k = &fo->sinks[fo->n];
  memset(k, 0, sizeof *k);
  k->fo = fo;
  k->ops = ops;
  k->ctx = ctx;
  k->drop = drop;
  k->depth = depth > 0 ? depth : DEFAULT_DEPTH;
  k->q = calloc((size_t)k->depth, sizeof *k->q);
  pthread_cond_init(&k->ready, NULL);
  pthread_cond_init(&k->space, NULL);
  if (!k->q || pthread_create(&k->thread, NULL, sink_thread, k)) {
    free(k->q);
    pthread_cond_destroy(&k->ready);
    pthread_cond_destroy(&k->space);
    ops->close(ctx, NULL);
    return cn_err_set(err, CN_ENOMEM, "records: cannot start the %s sink",
                      ops->name);
  }
  k->started = true;
  fo->n++;
  return 0;
}

int cn_fanout_sinks(const cn_fanout_t *fo) { return fo ? fo->n : 0; }

cn_rbuf_t *cn_fanout_buffer(cn_fanout_t *fo) {
  pthread_mutex_lock(&fo->lock);
  while (!fo->nfree)
    pthread_cond_wait(&fo->freed, &fo->lock);
  slot_t *s = fo->free_list[--fo->nfree];
  pthread_mutex_unlock(&fo->lock);
  s->b.len = 0;
  return &s->b;
}

int cn_rbuf_reserve(cn_rbuf_t *b, size_t need) {
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : FIRST_CAP;
  while (cap < need)
    cap *= 2;
  char *d = realloc(b->data, cap);
  if (!d)
    return CN_ENOMEM;
  b->data = d;
  b->cap = cap;
  return 0;
}

/* Queues s on k, or drops it; called with the lock held. */
static void enqueue(cn_fanout_t *fo, sink_t *k, slot_t *s) {
  if (k->failed)
    return;
  while (k->count == k->depth && !k->drop && !k->failed)
    pthread_cond_wait(&k->space, &fo->lock);
  if (k->failed)
    return;
  if (k->count == k->depth) {
    k->dropped++;
    return;
  }
  k->q[(k->head + k->count) % k->depth] = s;
  k->count++;
  s->refs++;
  pthread_cond_signal(&k->ready);
}

int cn_fanout_publish(cn_fanout_t *fo, cn_rbuf_t *b, cn_err_t *err) {
  slot_t *s = (slot_t *)b;
  pthread_mutex_lock(&fo->lock);
  s->refs = 1; /* ours, until every queue has its own */
  for (int i = 0; i < fo->n && !fo->err.code && b->len; i++)
    enqueue(fo, &fo->sinks[i], s);
  release(fo, s);
  cn_err_t e = fo->err;
  pthread_mutex_unlock(&fo->lock);
  if (e.code && err)
    *err = e;
  return e.code;
}

uint64_t cn_fanout_dropped(const cn_fanout_t *fo, int i) {
  cn_fanout_t *f = (cn_fanout_t *)fo;
  pthread_mutex_lock(&f->lock);
  uint64_t n = i >= 0 && i < f->n ? f->sinks[i].dropped : 0;
  pthread_mutex_unlock(&f->lock);
  return n;
}

int cn_fanout_close(cn_fanout_t *fo, cn_err_t *err) {
  if (!fo)
    return 0;
  pthread_mutex_lock(&fo->lock);
  fo->closing = true;
  for (int i = 0; i < fo->n; i++)
    pthread_cond_signal(&fo->sinks[i].ready);
  pthread_mutex_unlock(&fo->lock);
  cn_err_t first = {0};
  for (int i = 0; i < fo->n; i++) {
    sink_t *k = &fo->sinks[i];
    pthread_join(k->thread, NULL);
    cn_err_t e = {0};
    if (k->ops->close(k->ctx, &e) && !k->failed) {
      k->failed = true;
      k->err = e;
    }
    if (k->failed && !k->drop && !first.code)
      first = k->err;
    free(k->q);
    pthread_cond_destroy(&k->ready);
    pthread_cond_destroy(&k->space);
  }
  for (int i = 0; i < CN_FANOUT_BUFFERS; i++)
    free(fo->slots[i].b.data);
  pthread_cond_destroy(&fo->freed);
  pthread_mutex_destroy(&fo->lock);
  free(fo);
  if (first.code && err)
    *err = first;
  return first.code;
}
