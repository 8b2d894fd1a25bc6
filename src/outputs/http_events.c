/* The record backlog behind /events: the last CN_HTTP_BACKLOG records,
 * each with a global id (1, 2, ...), fed by a record sink of the fan-out
 * (fanout.h) that drops rather than waits, so a stalled client never
 * holds up the records. Each client reads at its own pace from its own
 * position; one that falls more than the backlog behind skips to the
 * oldest record kept (counted), which is also as far as Last-Event-ID
 * can reach back.
 *
 * Memory: the ring's entries keep their buffers (grown to the largest
 * record once); a client's buffer holds one event.
 */
#include "outputs/http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"

typedef struct entry {
  uint64_t id;
  int source;
  char *data;
  size_t len, cap;
} entry_t;

struct cn__events {
  pthread_mutex_t lock;
  pthread_cond_t added; /* a record arrived, or stop */
  entry_t ring[CN_HTTP_BACKLOG];
  uint64_t next_id; /* the id the next record gets */
  uint64_t skipped; /* records clients missed by falling behind */
  bool stop;
};

int cn__events_create(cn__events_t **out, cn_err_t *err) {
  *out = NULL;
  cn__events_t *e = calloc(1, sizeof *e);
  if (!e)
    return cn_err_set(err, CN_ENOMEM, "http: out of memory");
  e->next_id = 1;
  pthread_mutex_init(&e->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->added, &ca);
  pthread_condattr_destroy(&ca);
  *out = e;
  return 0;
}

void cn__events_destroy(cn__events_t *e) {
  if (!e)
    return;
  for (int i = 0; i < CN_HTTP_BACKLOG; i++)
    free(e->ring[i].data);
  pthread_cond_destroy(&e->added);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

void cn__events_stop(cn__events_t *e) {
  pthread_mutex_lock(&e->lock);
  e->stop = true;
  pthread_cond_broadcast(&e->added);
  pthread_mutex_unlock(&e->lock);
}

/* Records are camnet's own (jsonl.c): "source" is the second key of
 * both kinds, {"type":"...","source":N,...}. */
static int source_of(const char *rec, size_t len) {
  static const char key[] = "\"source\":";
  for (size_t i = 0; i + sizeof key < len && i < 64; i++)
    if (!memcmp(rec + i, key, sizeof key - 1))
      return atoi(rec + i + sizeof key - 1);
  return -1;
}

static int events_write(void *ctx, const char *rec, size_t len, cn_err_t *err) {
  cn__events_t *e = ctx;
  int source = source_of(rec, len);
  pthread_mutex_lock(&e->lock);
  entry_t *en = &e->ring[e->next_id % CN_HTTP_BACKLOG];
  if (len > en->cap) {
    char *d = realloc(en->data, len);
    if (!d) {
      pthread_mutex_unlock(&e->lock);
      /* The record is lost for the web clients only. */
      (void)err;
      return 0;
    }
    en->data = d;
    en->cap = len;
  }
  memcpy(en->data, rec, len);
  en->len = len;
  en->source = source;
  en->id = e->next_id++;
  pthread_cond_broadcast(&e->added);
  pthread_mutex_unlock(&e->lock);
  return 0;
}

/* The backlog belongs to the server, which outlives the fan-out. */
static int events_close(void *ctx, cn_err_t *err) {
  (void)ctx;
  (void)err;
  return 0;
}

static const cn_rsink_ops_t events_ops = {"http events", events_write, NULL,
                                          events_close};

int cn__events_sink_add(cn__events_t *e, cn_fanout_t *fo, cn_err_t *err) {
  return cn_fanout_add(fo, &events_ops, e, 256, true, err);
}

/* The oldest id still kept; lock held. */
static uint64_t oldest(const cn__events_t *e) {
  return e->next_id > CN_HTTP_BACKLOG ? e->next_id - CN_HTTP_BACKLOG : 1;
}

/* Copies entry en as one SSE event into *buf; lock held. */
static long format(const entry_t *en, char **buf, size_t *cap) {
  size_t need = en->len + 48;
  if (need > *cap) {
    char *d = realloc(*buf, need);
    if (!d)
      return CN_ENOMEM;
    *buf = d;
    *cap = need;
  }
  int n = snprintf(*buf, *cap, "id: %llu\ndata: ", (unsigned long long)en->id);
  memcpy(*buf + n, en->data, en->len);
  memcpy(*buf + n + en->len, "\n\n", 2);
  return (long)((size_t)n + en->len + 2);
}

long cn__events_next(cn__events_t *e, uint64_t *after, int source, char **buf,
                     size_t *cap, int64_t deadline) {
  struct timespec ts = {(time_t)(deadline / CN_NS_PER_S),
                        (long)(deadline % CN_NS_PER_S)};
  long rc = 0;
  pthread_mutex_lock(&e->lock);
  for (;;) {
    if (e->stop) {
      rc = CN_ECLOSED;
      break;
    }
    uint64_t want = *after + 1;
    if (want < oldest(e)) {
      e->skipped += oldest(e) - want;
      want = oldest(e);
    }
    /* Past records of other sources are skipped without waiting. */
    while (want < e->next_id && source >= 0 &&
           e->ring[want % CN_HTTP_BACKLOG].source != source)
      want++;
    *after = want - 1;
    if (want < e->next_id) {
      *after = want;
      rc = format(&e->ring[want % CN_HTTP_BACKLOG], buf, cap);
      break;
    }
    if (pthread_cond_timedwait(&e->added, &e->lock, &ts))
      break; /* timed out: rc 0 */
  }
  pthread_mutex_unlock(&e->lock);
  return rc;
}

uint64_t cn__events_last(cn__events_t *e, uint64_t *skipped) {
  pthread_mutex_lock(&e->lock);
  uint64_t id = e->next_id - 1;
  if (skipped)
    *skipped = e->skipped;
  pthread_mutex_unlock(&e->lock);
  return id;
}

uint64_t cn__events_oldest(cn__events_t *e) {
  pthread_mutex_lock(&e->lock);
  uint64_t id = oldest(e);
  pthread_mutex_unlock(&e->lock);
  return id;
}
