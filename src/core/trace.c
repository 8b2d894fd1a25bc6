/* The tracer: single-producer rings drained by one writer thread.
 *
 * Ring protocol: the owner thread writes the record at head, then
 * publishes it with a release store of head + 1; the writer reads head
 * with acquire, formats records up to it and releases them with a store
 * of tail. A producer that finds the ring full (head - tail == capacity)
 * drops its event and counts it, so the hot path never waits for the
 * disk. Rings are allocated when a thread registers and published through
 * nrings (release), so the writer never sees a half-made ring.
 *
 * The writer wakes every DRAIN_NS, not per event: a condition variable
 * signalled per event would cost the producers a syscall now and then.
 * At 60 frames/s and ~12 events a frame a ring sees ~70 events per wake,
 * far below RING_CAP.
 */
#include "core/trace.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "camnet/clock.h"

#define RING_CAP 8192 /* events per thread; a power of two */
#define MAX_RINGS 64
#define DRAIN_NS (100 * CN_NS_PER_MS)
#define SLOT_TID_BASE 1000000 /* lanes of the slots: not real threads */

typedef struct ev {
  int64_t t0, t1;
  uint64_t frame;
  int32_t source;
  uint16_t name;
} ev_t;

struct cn_trace_ring {
  ev_t *ev;
  _Atomic uint64_t head, tail;
  atomic_uint_fast64_t lost;
  int tid, source;
  bool capture;
  char name[64];
};

struct cn_trace {
  FILE *f;
  char *path;
  int pid;
  int64_t t_open;
  cn_trace_ring_t rings[MAX_RINGS];
  atomic_int nrings;
  pthread_mutex_t lock; /* registration; the writer's wake-up */
  pthread_cond_t wake;
  bool stop;
  pthread_t writer;
  bool first_event; /* writer only: no comma before the first event */
  int slot_lanes;   /* writer only: highest slot lane named + 1 */
  bool write_failed;
};

/* The fixed table of names: what the JSON and the timeline show. */
static const char *const names[CN_TR_NAMES] = {
    [CN_TR_RECEIVE] = "receive",
    [CN_TR_DECODE] = "decode",
    [CN_TR_CAPTURE] = "capture",
    [CN_TR_SLOT] = "wait in slot",
    [CN_TR_DEVELOP] = "develop",
    [CN_TR_PREPROCESS] = "preprocess",
    [CN_TR_INFERENCE] = "inference",
    [CN_TR_OUTDECODE] = "output decoding",
    [CN_TR_DRAW] = "draw",
    [CN_TR_OUT_JSON] = "output json",
    [CN_TR_OUT_PICTURE] = "output picture",
    [CN_TR_DROP] = "drop",
    [CN_TR_FLOW] = "frame",
};

void cn__trace_put(cn_trace_ring_t *r, cn_trace_name_t name, int source,
                   uint64_t frame, int64_t t0, int64_t t1) {
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  if (head - tail >= RING_CAP) {
    atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
    return;
  }
  ev_t *e = &r->ev[head & (RING_CAP - 1)];
  e->t0 = t0;
  e->t1 = t1;
  e->frame = frame;
  e->source = source;
  e->name = (uint16_t)name;
  atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

/* Microseconds since open with three decimals, from integers. */
static void put_us(FILE *f, const cn_trace_t *t, int64_t ns) {
  int64_t d = ns - t->t_open;
  const char *sign = d < 0 ? "-" : "";
  if (d < 0)
    d = -d;
  fprintf(f, "%s%lld.%03lld", sign, (long long)(d / 1000),
          (long long)(d % 1000));
}

static void begin_event(cn_trace_t *t) {
  if (!t->first_event)
    fputs(",\n", t->f);
  t->first_event = false;
}

static void put_args(cn_trace_t *t, const ev_t *e) {
  fprintf(t->f, ",\"args\":{\"source\":%d,\"frame\":%llu}}", (int)e->source,
          (unsigned long long)e->frame);
}

static int capture_tid(const cn_trace_t *t, int source) {
  int n = atomic_load_explicit(&t->nrings, memory_order_acquire);
  for (int i = 0; i < n; i++)
    if (t->rings[i].capture && t->rings[i].source == source)
      return t->rings[i].tid;
  return 0;
}

static void put_flow(cn_trace_t *t, const cn_trace_ring_t *r, const ev_t *e) {
  int from = capture_tid(t, e->source);
  if (!from)
    return;
  unsigned long long id = ((unsigned long long)e->source << 40) | e->frame;
  begin_event(t);
  /* The start binds to the capture slice enclosing it: just inside. */
  fprintf(t->f,
          "{\"ph\":\"s\",\"cat\":\"frame\",\"name\":\"frame\",\"id\":%llu,"
          "\"pid\":%d,\"tid\":%d,\"ts\":",
          id, t->pid, from);
  put_us(t->f, t, e->t0 - 1000);
  put_args(t, e);
  begin_event(t);
  fprintf(t->f,
          "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"frame\",\"name\":\"frame\","
          "\"id\":%llu,\"pid\":%d,\"tid\":%d,\"ts\":",
          id, t->pid, r->tid);
  put_us(t->f, t, e->t1);
  put_args(t, e);
}

static void put_event(cn_trace_t *t, const cn_trace_ring_t *r, const ev_t *e) {
  if (e->name >= CN_TR_NAMES)
    return;
  if (e->name == CN_TR_FLOW) {
    put_flow(t, r, e);
    return;
  }
  int tid = r->tid;
  if (e->name == CN_TR_SLOT) {
    tid = SLOT_TID_BASE + e->source;
    if (e->source >= t->slot_lanes)
      t->slot_lanes = e->source + 1;
  }
  begin_event(t);
  if (e->name == CN_TR_DROP) {
    fprintf(t->f,
            "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,"
            "\"ts\":",
            names[e->name], t->pid, tid);
    put_us(t->f, t, e->t0);
  } else {
    fprintf(t->f, "{\"ph\":\"X\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":",
            names[e->name], t->pid, tid);
    put_us(t->f, t, e->t0);
    fputs(",\"dur\":", t->f);
    put_us(t->f, t, t->t_open + (e->t1 > e->t0 ? e->t1 - e->t0 : 0));
  }
  put_args(t, e);
}

/* Writer thread (or close, once the writer is gone). */
static void drain(cn_trace_t *t) {
  int n = atomic_load_explicit(&t->nrings, memory_order_acquire);
  for (int i = 0; i < n; i++) {
    cn_trace_ring_t *r = &t->rings[i];
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    for (; tail != head; tail++)
      put_event(t, r, &r->ev[tail & (RING_CAP - 1)]);
    atomic_store_explicit(&r->tail, tail, memory_order_release);
  }
  if (fflush(t->f))
    t->write_failed = true;
}

static void *writer(void *arg) {
  cn_trace_t *t = arg;
  pthread_mutex_lock(&t->lock);
  while (!t->stop) {
    struct timespec ts;
    int64_t d = cn_clock_now() + DRAIN_NS;
    ts.tv_sec = (time_t)(d / CN_NS_PER_S);
    ts.tv_nsec = (long)(d % CN_NS_PER_S);
    pthread_cond_timedwait(&t->wake, &t->lock, &ts);
    pthread_mutex_unlock(&t->lock);
    drain(t);
    pthread_mutex_lock(&t->lock);
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

int cn_trace_open(const char *path, cn_trace_t **out, cn_err_t *err) {
  *out = NULL;
  cn_trace_t *t = calloc(1, sizeof *t);
  if (!t || !(t->path = strdup(path))) {
    free(t);
    return cn_err_set(err, CN_ENOMEM, "--trace %s: out of memory", path);
  }
  t->f = fopen(path, "w");
  if (!t->f) {
    cn_err_set(err, CN_EIO, "--trace %s: %s", path, strerror(errno));
    free(t->path);
    free(t);
    return CN_EIO;
  }
  t->pid = (int)getpid();
  t->t_open = cn_clock_now();
  t->first_event = true;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&t->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&t->lock, NULL);
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", t->f);
  if (pthread_create(&t->writer, NULL, writer, t)) {
    fclose(t->f);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t->path);
    free(t);
    return cn_err_set(err, CN_ENOMEM, "--trace %s: cannot start its writer",
                      path);
  }
  *out = t;
  return 0;
}

cn_trace_ring_t *cn_trace_thread(cn_trace_t *t, const char *name, int source,
                                 bool capture) {
  if (!t)
    return NULL;
  pthread_mutex_lock(&t->lock);
  int n = atomic_load_explicit(&t->nrings, memory_order_relaxed);
  cn_trace_ring_t *r = NULL;
  if (n < MAX_RINGS && (t->rings[n].ev = calloc(RING_CAP, sizeof(ev_t)))) {
    r = &t->rings[n];
    r->tid = (int)syscall(SYS_gettid);
    r->source = source;
    r->capture = capture;
    snprintf(r->name, sizeof r->name, "%s", name);
    atomic_store_explicit(&t->nrings, n + 1, memory_order_release);
  }
  pthread_mutex_unlock(&t->lock);
  return r;
}

/* One metadata event: jansson escapes the name. */
static void put_meta(cn_trace_t *t, const char *what, int tid, const char *name,
                     int sort) {
  json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:{s:s}}", "ph", "M", "name", what,
                        "pid", t->pid, "tid", tid, "args", "name", name);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (s) {
    begin_event(t);
    fputs(s, t->f);
  }
  free(s);
  json_decref(o);
  if (sort < 0)
    return;
  begin_event(t);
  fprintf(t->f,
          "{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%d,"
          "\"tid\":%d,\"args\":{\"sort_index\":%d}}",
          t->pid, tid, sort);
}

static void put_metadata(cn_trace_t *t) {
  put_meta(t, "process_name", t->pid, "camnet", -1);
  int n = atomic_load(&t->nrings);
  for (int i = 0; i < n; i++)
    put_meta(t, "thread_name", t->rings[i].tid, t->rings[i].name,
             t->rings[i].capture ? 10 * t->rings[i].source : 10 * i + 5);
  for (int k = 0; k < t->slot_lanes; k++) {
    char name[32];
    snprintf(name, sizeof name, "slot %d", k);
    put_meta(t, "thread_name", SLOT_TID_BASE + k, name, 10 * k + 1);
  }
}

int cn_trace_close(cn_trace_t *t, uint64_t *lost_out, cn_err_t *err) {
  if (lost_out)
    *lost_out = 0;
  if (!t)
    return 0;
  pthread_mutex_lock(&t->lock);
  t->stop = true;
  pthread_cond_signal(&t->wake);
  pthread_mutex_unlock(&t->lock);
  pthread_join(t->writer, NULL);
  drain(t);
  put_metadata(t);
  fputs("\n]}\n", t->f);
  uint64_t lost = 0;
  int n = atomic_load(&t->nrings);
  for (int i = 0; i < n; i++) {
    lost += atomic_load(&t->rings[i].lost);
    free(t->rings[i].ev);
  }
  bool failed = t->write_failed || ferror(t->f);
  failed |= fclose(t->f) != 0;
  int rc = 0;
  if (failed)
    rc = cn_err_set(err, CN_EIO, "--trace %s: write failed", t->path);
  if (lost_out)
    *lost_out = lost;
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->lock);
  free(t->path);
  free(t);
  return rc;
}
