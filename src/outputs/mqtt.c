#include "outputs/mqtt.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "camnet/clock.h"
#include "camnet/redact.h"
#include "camnet/result.h"

#define DEFAULT_QUEUE 256
#define ENTRY_CAP 4096
/* Messages handed to libmosquitto and not yet acknowledged, at most: the
 * rest wait in our ring, where the oldest can still be dropped (what
 * libmosquitto holds it keeps, unbounded). */
#define WINDOW 32
#define DRAIN_NS (2 * CN_NS_PER_S)
#define KEEPALIVE_S 30
/* Offline for this long: retry less often (as the sources do). */
#define PATIENT_NS (30 * CN_NS_PER_S)
/* Boxes of the same class closer than this IoU are "the same" (change). */
#define SAME_IOU 0.5

/* Topics per source; entries of the ring are of the first two. */
enum { T_RESULT, T_STATE, T_SET, T_KINDS };

typedef struct entry {
  int kind, source;
  char *data;
  size_t len, cap;
} entry_t;

/* What --mqtt-rate last let through for a source (the sink thread's). */
typedef struct last {
  int64_t t, next;
  int n;
  struct {
    int cls;
    double x, y, w, h;
  } box[CN_MAX_BOXES];
} last_t;

struct cn_mqtt {
  cn_mqtt_url_t url;
  char name[600];
  struct mosquitto *mosq;
  int qos;
  cn_mqtt_rate_t rate;
  int64_t state_every_ns;
  cn_source_t *sources[CN_MQTT_MAX_SOURCES];
  const char *names[CN_MQTT_MAX_SOURCES];
  int n;
  char status_topic[CN_MQTT_FIELD * 3];
  char set_filter[CN_MQTT_FIELD * 3]; /* PREFIX/INSTANCE/+/set */
  void (*on_set)(void *opaque, int k, const cn_mqtt_cmd_t *cmd);
  void *opaque;
  char *topics[CN_MQTT_MAX_SOURCES][T_KINDS];
  const cn_logger_t *log;
  atomic_bool results_on;
  last_t *last;    /* per source; the sink thread's */
  last_t *scratch; /* the record being judged; the sink thread's */
  cn_fanout_t *fo; /* the fan-out feeding us, and our index in it */
  int fo_index;

  pthread_mutex_t lock; /* everything below */
  pthread_cond_t cond;  /* ring, connection or acknowledgements changed */
  entry_t *ents;
  entry_t **q, **fre; /* ring of queued entries, stack of free ones */
  int depth, head, count, nfree;
  bool stop, connected, loop_started, thread_started, warned_refused;
  int status_mid;           /* -1: none awaiting its PUBACK */
  bool patient;             /* the slower retry delays are set */
  bool state_due;           /* (re)connected: every source's state now */
  char why[CN_ERR_MSG_MAX]; /* why the first connect failed */
  /* What commands set, per source, for the state (-1: not set). */
  int detect[CN_MQTT_MAX_SOURCES];
  double threshold[CN_MQTT_MAX_SOURCES];
  int64_t t_offline;
  uint64_t records, results, skipped, published, acked, dropped, connects;
  pthread_t thread;
};

/* ---- the ring: drop-oldest, no allocation once every buffer has grown */

/* Copies a message in; the oldest queued one makes room when every
 * buffer is in use. Any thread. */
static void enqueue(cn_mqtt_t *m, int kind, int k, const char *data,
                    size_t len) {
  pthread_mutex_lock(&m->lock);
  entry_t *e;
  if (m->nfree) {
    e = m->fre[--m->nfree];
  } else {
    e = m->q[m->head];
    m->head = (m->head + 1) % m->depth;
    m->count--;
    m->dropped++;
  }
  if (len > e->cap) {
    /* Larger than any before in this buffer: grow once, keep the size. */
    char *d = realloc(e->data, len);
    if (!d) {
      m->fre[m->nfree++] = e;
      m->records++;
      m->dropped++;
      pthread_mutex_unlock(&m->lock);
      return;
    }
    e->data = d;
    e->cap = len;
  }
  memcpy(e->data, data, len);
  e->len = len;
  e->kind = kind;
  e->source = k;
  m->q[(m->head + m->count) % m->depth] = e;
  m->count++;
  m->records++;
  m->results += kind == T_RESULT;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
}

static int64_t inflight(const cn_mqtt_t *m) {
  return (int64_t)(m->published - m->acked);
}

/* Hands the oldest queued message to libmosquitto. Lock held: on_publish
 * takes it too, so a PUBACK cannot be counted before its publish is. */
static void publish_one(cn_mqtt_t *m) {
  entry_t *e = m->q[m->head];
  m->head = (m->head + 1) % m->depth;
  m->count--;
  int rc = mosquitto_publish(m->mosq, NULL, m->topics[e->source][e->kind],
                             (int)e->len, e->data, m->qos, e->kind == T_STATE);
  if (rc == MOSQ_ERR_SUCCESS) {
    m->published++;
  } else if (rc == MOSQ_ERR_NO_CONN) {
    /* Lost meanwhile: back to the front; on_connect wakes us again. */
    m->head = (m->head + m->depth - 1) % m->depth;
    m->q[m->head] = e;
    m->count++;
    m->connected = false;
    return;
  } else {
    m->dropped++;
    cn_log(m->log, CN_LOG_WARN, NULL, "%s: cannot publish on %s: %s", m->name,
           m->topics[e->source][e->kind], mosquitto_strerror(rc));
  }
  m->fre[m->nfree++] = e;
}

/* ---- libmosquitto's callbacks (its loop thread) */

static void on_connect(struct mosquitto *mosq, void *obj, int rc) {
  cn_mqtt_t *m = obj;
  if (rc) {
    pthread_mutex_lock(&m->lock);
    bool told = m->warned_refused;
    m->warned_refused = true;
    pthread_mutex_unlock(&m->lock);
    if (!told)
      cn_log(m->log, CN_LOG_WARN, NULL, "%s: the broker refused: %s", m->name,
             mosquitto_connack_string(rc));
    return;
  }
  pthread_mutex_lock(&m->lock);
  m->connected = true;
  m->state_due = true;
  m->warned_refused = false;
  uint64_t n = ++m->connects;
  int mid = -1;
  if (mosquitto_publish(mosq, &mid, m->status_topic, 6, "online", 1, true) ==
      MOSQ_ERR_SUCCESS)
    m->status_mid = mid;
  if (m->on_set) /* clean session: subscribe on every connection */
    mosquitto_subscribe(mosq, NULL, m->set_filter, 1);
  if (m->patient)
    mosquitto_reconnect_delay_set(mosq, 1, 1, false);
  m->patient = false;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
  cn_log(m->log, CN_LOG_INFO, NULL, "%s: %s", m->name,
         n > 1 ? "connected again" : "connected");
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc) {
  (void)mosq;
  cn_mqtt_t *m = obj;
  pthread_mutex_lock(&m->lock);
  bool was = m->connected, stopping = m->stop;
  m->connected = false;
  m->t_offline = cn_clock_now();
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
  if (rc && was && !stopping)
    cn_log(m->log, CN_LOG_WARN, NULL,
           "%s: connection lost; reconnecting (records queue meanwhile)",
           m->name);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid) {
  (void)mosq;
  cn_mqtt_t *m = obj;
  pthread_mutex_lock(&m->lock);
  if (mid == m->status_mid)
    m->status_mid = -1;
  else
    m->acked++;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
}

/* A command on PREFIX/INSTANCE/NAME/set: applied by the run, then the
 * state says what is in force. */
static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *msg) {
  (void)mosq;
  cn_mqtt_t *m = obj;
  int k = 0;
  while (k < m->n && strcmp(msg->topic, m->topics[k][T_SET]))
    k++;
  if (k == m->n)
    return;
  cn_mqtt_cmd_t cmd;
  if (!cn_mqtt_parse_cmd(msg->payload, msg->payloadlen, &cmd)) {
    cn_log(m->log, CN_LOG_WARN, NULL,
           "%s: %s: not ON, OFF, a threshold from 0 to 1 or "
           "{\"detect\":..,\"threshold\":..}; ignored",
           m->name, msg->topic);
    return;
  }
  m->on_set(m->opaque, k, &cmd);
  char what[64] = "";
  size_t w = 0;
  if (cmd.detect >= 0)
    w = (size_t)snprintf(what, sizeof what, " detect %s",
                         cmd.detect ? "on" : "off");
  if (cmd.threshold >= 0 && w < sizeof what)
    snprintf(what + w, sizeof what - w, " threshold %g", cmd.threshold);
  cn_log(m->log, CN_LOG_INFO, NULL, "%s: %s:%s", m->name, msg->topic, what);
  pthread_mutex_lock(&m->lock);
  if (cmd.detect >= 0)
    m->detect[k] = cmd.detect;
  if (cmd.threshold >= 0)
    m->threshold[k] = cmd.threshold;
  m->state_due = true;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
}

/* ---- state messages */

static const char *state_word(const cn_source_stats_t *s) {
  return s->online ? "online" : s->finished ? "finished" : "offline";
}

/* The retained state of source k: from the source record that announced a
 * change (rec), else from its counters now. Rare: allocates. */
static void publish_state(cn_mqtt_t *m, int k, const char *rec, size_t len) {
  cn_source_stats_t s;
  cn_source_get_stats(m->sources[k], &s);
  char reason[CN_ERR_MSG_MAX];
  cn_source_reason(m->sources[k], reason, sizeof reason);
  const char *state = state_word(&s);
  json_t *r = rec ? json_loadb(rec, len, 0, NULL) : NULL;
  if (r) {
    state = json_is_true(json_object_get(r, "online")) ? "online" : "offline";
    const char *why = json_string_value(json_object_get(r, "reason"));
    snprintf(reason, sizeof reason, "%s", why ? why : "");
  }
  pthread_mutex_lock(&m->lock);
  int detect = m->detect[k];
  double threshold = m->threshold[k];
  uint64_t q = (uint64_t)m->count + (uint64_t)inflight(m);
  json_t *mq =
      json_pack("{s:I, s:I, s:I, s:I}", "records", (json_int_t)m->records,
                "acknowledged", (json_int_t)m->acked, "dropped",
                (json_int_t)m->dropped, "queued", (json_int_t)q);
  pthread_mutex_unlock(&m->lock);
  json_t *o = json_pack(
      "{s:i, s:s, s:s, s:s?, s:f, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:f, "
      "s:o}",
      "source", k, "name", m->names[k], "state", state, "reason",
      reason[0] ? reason : NULL, "t_wall",
      round(cn_ns_to_s(cn_clock_wall()) * 1e3) / 1e3, "captured",
      (json_int_t)s.captured, "delivered", (json_int_t)s.delivered, "dropped",
      (json_int_t)s.dropped, "decode_errors", (json_int_t)s.decode_errors,
      "reconnects", (json_int_t)s.reconnects, "width", s.width, "height",
      s.height, "fps", s.fps, "mqtt", mq);
  if (o && m->on_set) {
    json_object_set_new(o, "detect", json_boolean(detect != 0));
    json_object_set_new(o, "threshold",
                        threshold >= 0 ? json_real(threshold) : json_null());
  }
  char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                     JSON_REAL_PRECISION(15))
                 : NULL;
  if (text)
    enqueue(m, T_STATE, k, text, strlen(text));
  free(text);
  json_decref(o);
  json_decref(r);
}

/* ---- the publisher thread */

/* Until a first connection is under way there is no loop thread (its
 * reconnects only follow a connection that once started): the publisher
 * thread retries, and starts the loop once connect_async took. Returns 0
 * once the loop runs. Lock not held. */
static int first_connect(cn_mqtt_t *m, bool first) {
  int rc =
      mosquitto_connect_async(m->mosq, m->url.host, m->url.port, KEEPALIVE_S);
  if (!rc)
    rc = mosquitto_loop_start(m->mosq);
  if (rc) {
    if (first)
      snprintf(m->why, sizeof m->why, "%s",
               rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    return rc;
  }
  pthread_mutex_lock(&m->lock);
  m->loop_started = true;
  pthread_mutex_unlock(&m->lock);
  return 0;
}

static void deadline_in(struct timespec *ts, int64_t ns) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  int64_t t = (int64_t)ts->tv_sec * CN_NS_PER_S + ts->tv_nsec + ns;
  ts->tv_sec = (time_t)(t / CN_NS_PER_S);
  ts->tv_nsec = (long)(t % CN_NS_PER_S);
}

/* Retries every second for the first 30 s offline (a broker restarting is
 * back in time), then 1 to 5 s apart. libmosquitto reads these fields
 * between attempts without a lock; a torn read of an int cannot happen. */
static void pace_retries(cn_mqtt_t *m, int64_t now) {
  if (!m->connected && !m->patient && now - m->t_offline > PATIENT_NS) {
    mosquitto_reconnect_delay_set(m->mosq, 1, 5, false);
    m->patient = true;
  }
}

static void *publisher(void *arg) {
  cn_mqtt_t *m = arg;
  pthread_mutex_lock(&m->lock);
  int64_t next_state = cn_clock_now() + m->state_every_ns;
  int64_t next_try = cn_clock_now() + CN_NS_PER_S;
  while (!m->stop) {
    if (m->count && m->connected && inflight(m) < WINDOW) {
      publish_one(m);
      continue;
    }
    int64_t now = cn_clock_now();
    if (now >= next_state || m->state_due) {
      m->state_due = false;
      pthread_mutex_unlock(&m->lock);
      for (int k = 0; k < m->n; k++)
        publish_state(m, k, NULL, 0);
      pthread_mutex_lock(&m->lock);
      next_state = now + m->state_every_ns;
      continue;
    }
    if (!m->loop_started && now >= next_try) {
      pthread_mutex_unlock(&m->lock);
      first_connect(m, false);
      pthread_mutex_lock(&m->lock);
      /* As the loop's own retries: each second, after 30 s 1 to 5 s. */
      int64_t off = now - m->t_offline;
      int64_t step =
          off < PATIENT_NS ? CN_NS_PER_S : (off / PATIENT_NS) * CN_NS_PER_S;
      next_try = now + (step < 5 * CN_NS_PER_S ? step : 5 * CN_NS_PER_S);
      continue;
    }
    if (m->loop_started)
      pace_retries(m, now);
    int64_t wait = next_state - now;
    struct timespec ts;
    deadline_in(&ts, wait < CN_NS_PER_S ? wait : CN_NS_PER_S);
    pthread_cond_timedwait(&m->cond, &m->lock, &ts);
  }
  pthread_mutex_unlock(&m->lock);
  return NULL;
}

/* ---- --mqtt-rate */

static double iou(double ax, double ay, double aw, double ah, double bx,
                  double by, double bw, double bh) {
  double x0 = fmax(ax, bx), y0 = fmax(ay, by);
  double x1 = fmin(ax + aw, bx + bw), y1 = fmin(ay + ah, by + bh);
  double in = fmax(0, x1 - x0) * fmax(0, y1 - y0);
  double un = aw * ah + bw * bh - in;
  return un > 0 ? in / un : 1;
}

/* Reads the record's result into cur: classify: its top class; detect:
 * its boxes. Returns false when it has neither. */
static bool read_result(const char *rec, size_t len, last_t *cur) {
  json_t *r = json_loadb(rec, len, 0, NULL);
  json_t *top = json_object_get(r, "top"), *boxes = json_object_get(r, "boxes");
  cur->n = 0;
  if (json_is_array(top) && json_array_size(top)) {
    cur->box[0].cls = (int)json_integer_value(
        json_object_get(json_array_get(top, 0), "class"));
    cur->box[0].x = cur->box[0].y = cur->box[0].w = cur->box[0].h = 0;
    cur->n = 1;
  }
  size_t i;
  json_t *b;
  json_array_foreach(boxes, i, b) {
    if (i >= CN_MAX_BOXES)
      break;
    cur->box[i].cls = (int)json_integer_value(json_object_get(b, "class"));
    cur->box[i].x = json_number_value(json_object_get(b, "x"));
    cur->box[i].y = json_number_value(json_object_get(b, "y"));
    cur->box[i].w = json_number_value(json_object_get(b, "w"));
    cur->box[i].h = json_number_value(json_object_get(b, "h"));
    cur->n = (int)i + 1;
  }
  bool ok = r != NULL;
  json_decref(r);
  return ok;
}

/* Changed: a different number of entries, or one without a counterpart of
 * its class (for boxes: overlapping by IoU >= SAME_IOU) in the other. */
static bool changed(const last_t *a, const last_t *b) {
  if (a->n != b->n)
    return true;
  for (int i = 0; i < a->n; i++) {
    bool found = false;
    for (int j = 0; j < b->n && !found; j++)
      found =
          a->box[i].cls == b->box[j].cls &&
          iou(a->box[i].x, a->box[i].y, a->box[i].w, a->box[i].h, b->box[j].x,
              b->box[j].y, b->box[j].w, b->box[j].h) >= SAME_IOU;
    if (!found)
      return true;
  }
  return false;
}

/* Whether the rate lets this record of source k through (sink thread). */
static bool rate_pass(cn_mqtt_t *m, int k, const char *rec, size_t len) {
  last_t *l = &m->last[k];
  int64_t now = cn_clock_now();
  if (m->rate.kind == CN_MQTT_RATE_ALL)
    return true;
  if (m->rate.kind == CN_MQTT_RATE_MAX) {
    if (l->t && now < l->next)
      return false;
    int64_t step = (int64_t)(1e9 / m->rate.per_s);
    /* Due every 1/N s after the previous one was due: jitter in the frame
     * times does not lower the rate; a gap does not make a burst. */
    l->next = l->t && now - l->next < step ? l->next + step : now + step;
    l->t = now;
    return true;
  }
  last_t *cur = m->scratch;
  if (!read_result(rec, len, cur))
    return true;
  bool beat = !l->t || now - l->t >= (int64_t)(m->rate.heartbeat_s * 1e9);
  if (!beat && !changed(cur, l) && !changed(l, cur))
    return false;
  memcpy(l->box, cur->box, (size_t)cur->n * sizeof cur->box[0]);
  l->n = cur->n;
  l->t = now;
  return true;
}

/* ---- the record sink (the fan-out's sink thread) */

/* The record's type and source from its fixed first fields (jsonl.c
 * writes "type" then "source", always in that order). */
static int record_source(const char *rec, size_t len, const char *type) {
  char head[64];
  int n = snprintf(head, sizeof head, "{\"type\":\"%s\",\"source\":", type);
  if (len <= (size_t)n || memcmp(rec, head, (size_t)n))
    return -1;
  long k = strtol(rec + n, NULL, 10);
  return k >= 0 && k < CN_MQTT_MAX_SOURCES ? (int)k : -1;
}

static int sink_write(void *ctx, const char *rec, size_t len, cn_err_t *err) {
  (void)err;
  cn_mqtt_t *m = ctx;
  int k = record_source(rec, len, "frame");
  if (k >= 0 && k < m->n) {
    if (!atomic_load(&m->results_on))
      return 0;
    if (rate_pass(m, k, rec, len)) {
      enqueue(m, T_RESULT, k, rec, len);
    } else {
      pthread_mutex_lock(&m->lock);
      m->skipped++;
      pthread_mutex_unlock(&m->lock);
    }
    return 0;
  }
  k = record_source(rec, len, "source");
  if (k >= 0 && k < m->n)
    publish_state(m, k, rec, len);
  return 0;
}

/* The fan-out is closing (the sources have stopped): give the ring and the
 * acknowledgements up to DRAIN_NS, so the summary's figures are final. */
static int sink_close(void *ctx, cn_err_t *err) {
  (void)err;
  cn_mqtt_t *m = ctx;
  /* Records the fan-out's queue for us dropped (a sink thread that did
   * not keep up: not seen in practice, the copy takes microseconds) count
   * as records and as dropped. The fan-out is closing: its lock is free. */
  uint64_t lost = cn_fanout_dropped(m->fo, m->fo_index);
  pthread_mutex_lock(&m->lock);
  m->records += lost;
  m->dropped += lost;
  pthread_mutex_unlock(&m->lock);
  /* The last word on each source: its final counters. */
  for (int k = 0; k < m->n; k++)
    publish_state(m, k, NULL, 0);
  struct timespec ts;
  deadline_in(&ts, DRAIN_NS);
  pthread_mutex_lock(&m->lock);
  while ((m->count || inflight(m) > 0) &&
         pthread_cond_timedwait(&m->cond, &m->lock, &ts) == 0)
    ;
  pthread_mutex_unlock(&m->lock);
  return 0;
}

static const cn_rsink_ops_t sink_ops = {"mqtt", sink_write, NULL, sink_close};

int cn_mqtt_sink_add(cn_mqtt_t *m, cn_fanout_t *fo, cn_err_t *err) {
  m->fo = fo;
  m->fo_index = cn_fanout_sinks(fo);
  /* The default depth (32): a dropping sink holding more of the fan-out's
   * 64 buffers could make the producer wait for one. */
  return cn_fanout_add(fo, &sink_ops, m, 0, true, err);
}

void cn_mqtt_set_results(cn_mqtt_t *m, bool on) {
  atomic_store(&m->results_on, on);
}

void cn_mqtt_get_stats(cn_mqtt_t *m, cn_mqtt_stats_t *s) {
  pthread_mutex_lock(&m->lock);
  *s = (cn_mqtt_stats_t){.records = m->records,
                         .results = m->results,
                         .skipped = m->skipped,
                         .published = m->published,
                         .acknowledged = m->acked,
                         .dropped = m->dropped,
                         .queued = (uint64_t)m->count + (uint64_t)inflight(m),
                         .connects = m->connects,
                         .connected = m->connected};
  pthread_mutex_unlock(&m->lock);
}

const char *cn_mqtt_name(const cn_mqtt_t *m) { return m->name; }

/* ---- open and close */

/* A topic level from a name: the wildcards and the separator would change
 * what the topic means. */
static void level_of(const char *in, char *out, size_t n) {
  size_t i = 0;
  for (; in[i] && i + 1 < n; i++)
    out[i] = strchr("/+#", in[i]) ? '_' : in[i];
  out[i] = 0;
}

static int make_topics(cn_mqtt_t *m, const char *instance) {
  char inst[CN_MQTT_FIELD], level[CN_MQTT_FIELD];
  level_of(instance, inst, sizeof inst);
  snprintf(m->status_topic, sizeof m->status_topic, "%s/%s/status",
           m->url.prefix, inst);
  snprintf(m->set_filter, sizeof m->set_filter, "%s/%s/+/set", m->url.prefix,
           inst);
  static const char *const tails[T_KINDS] = {"result", "state", "set"};
  for (int k = 0; k < m->n; k++) {
    level_of(m->names[k], level, sizeof level);
    for (int t = 0; t < T_KINDS; t++) {
      size_t need = strlen(m->url.prefix) + strlen(inst) + strlen(level) + 16;
      if (!(m->topics[k][t] = malloc(need)))
        return CN_ENOMEM;
      snprintf(m->topics[k][t], need, "%s/%s/%s/%s", m->url.prefix, inst, level,
               tails[t]);
    }
  }
  return 0;
}

static int make_ring(cn_mqtt_t *m, int depth) {
  m->depth = depth > 0 ? depth : DEFAULT_QUEUE;
  m->ents = calloc((size_t)m->depth, sizeof *m->ents);
  m->q = calloc((size_t)m->depth, sizeof *m->q);
  m->fre = calloc((size_t)m->depth, sizeof *m->fre);
  m->last = calloc((size_t)m->n + 1, sizeof *m->last);
  m->scratch = calloc(1, sizeof *m->scratch);
  if (!m->ents || !m->q || !m->fre || !m->last || !m->scratch)
    return CN_ENOMEM;
  /* Every buffer now: which ones a run uses depends on the network. */
  for (int i = 0; i < m->depth; i++) {
    if (!(m->ents[i].data = malloc(ENTRY_CAP)))
      return CN_ENOMEM;
    m->ents[i].cap = ENTRY_CAP;
    m->fre[m->nfree++] = &m->ents[i];
  }
  return 0;
}

static int set_tls(cn_mqtt_t *m, const cn_mqtt_opts_t *o, cn_err_t *err) {
  if (!m->url.tls)
    return 0;
  /* No --mqtt-cafile: the system's certificate authorities. */
  int rc =
      mosquitto_tls_set(m->mosq, o->cafile, o->cafile ? NULL : "/etc/ssl/certs",
                        o->cert, o->key, NULL);
  if (rc)
    return cn_err_set(
        err, CN_EINVAL, "option --mqtt-cafile/--mqtt-cert/--mqtt-key: %s (%s)",
        mosquitto_strerror(rc), o->cafile ? o->cafile : "/etc/ssl/certs");
  return 0;
}

static int make_client(cn_mqtt_t *m, const cn_mqtt_opts_t *o, cn_err_t *err) {
  char id[CN_MQTT_FIELD + 16];
  /* One client per instance: INSTANCE is the level before "status". */
  const char *end = strrchr(m->status_topic, '/');
  const char *begin = end;
  while (begin > m->status_topic && begin[-1] != '/')
    begin--;
  snprintf(id, sizeof id, "camnet-%.*s", (int)(end - begin), begin);
  mosquitto_lib_init();
  if (!(m->mosq = mosquitto_new(id, true, m)))
    return cn_err_set(err, CN_ENOMEM, "%s: cannot make a client", m->name);
  const char *pw = o->password           ? o->password
                   : m->url.has_password ? m->url.password
                                         : NULL;
  if ((m->url.has_user || pw) &&
      mosquitto_username_pw_set(m->mosq, m->url.has_user ? m->url.user : "",
                                pw))
    return cn_err_set(err, CN_EINVAL, "option --mqtt: bad user name");
  mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1, true);
  if (set_tls(m, o, err))
    return err ? err->code : CN_EINVAL;
  mosquitto_connect_callback_set(m->mosq, on_connect);
  mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
  mosquitto_publish_callback_set(m->mosq, on_publish);
  mosquitto_message_callback_set(m->mosq, on_message);
  mosquitto_reconnect_delay_set(m->mosq, 1, 1, false);
  mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM, WINDOW);
  return 0;
}

/* Connects in the background: a broker that is down now is not fatal. */
static int start(cn_mqtt_t *m, cn_err_t *err) {
  if (first_connect(m, true))
    cn_log(m->log, CN_LOG_WARN, NULL,
           "%s: cannot connect now (%s); retrying every second", m->name,
           m->why);
  if (pthread_create(&m->thread, NULL, publisher, m))
    return cn_err_set(err, CN_ENOMEM, "%s: cannot start its thread", m->name);
  m->thread_started = true;
  return 0;
}

int cn_mqtt_open(const cn_mqtt_opts_t *o, cn_mqtt_t **out, cn_err_t *err) {
  *out = NULL;
  cn_mqtt_t *m = calloc(1, sizeof *m);
  if (!m)
    return cn_err_set(err, CN_ENOMEM, "--mqtt: out of memory");
  pthread_mutex_init(&m->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&m->cond, &ca);
  pthread_condattr_destroy(&ca);
  m->status_mid = -1;
  m->t_offline = cn_clock_now();
  m->log = o->log;
  m->on_set = o->on_set;
  m->opaque = o->opaque;
  for (int k = 0; k < CN_MQTT_MAX_SOURCES; k++) {
    m->detect[k] = 1;
    m->threshold[k] = -1;
  }
  m->qos = o->qos ? 1 : 0;
  m->state_every_ns =
      (int64_t)((o->state_every_s > 0 ? o->state_every_s : 30) * 1e9);
  m->n = o->nsources < CN_MQTT_MAX_SOURCES ? o->nsources : CN_MQTT_MAX_SOURCES;
  for (int k = 0; k < m->n; k++) {
    m->sources[k] = o->sources[k];
    m->names[k] = o->names[k];
  }
  cn_redact_uri(o->url, m->name, sizeof m->name);
  char host[CN_MQTT_FIELD] = "camnet";
  if (!o->instance && gethostname(host, sizeof host - 1))
    snprintf(host, sizeof host, "camnet");
  int rc = cn_mqtt_parse_url(o->url, &m->url, err);
  if (!rc)
    rc = cn_mqtt_parse_rate(o->rate, &m->rate, err);
  if (!rc && (make_topics(m, o->instance ? o->instance : host) ||
              make_ring(m, o->queue)))
    rc = cn_err_set(err, CN_ENOMEM, "--mqtt: out of memory");
  if (!rc)
    rc = make_client(m, o, err);
  if (!rc)
    rc = start(m, err);
  if (rc) {
    cn_mqtt_close(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* A clean exit says "offline" itself (the will is for the unclean ones)
 * and waits up to a second for the broker to have it. */
static void say_offline(cn_mqtt_t *m) {
  struct timespec ts;
  deadline_in(&ts, CN_NS_PER_S);
  pthread_mutex_lock(&m->lock);
  int mid = -1;
  if (m->connected &&
      mosquitto_publish(m->mosq, &mid, m->status_topic, 7, "offline", 1,
                        true) == MOSQ_ERR_SUCCESS) {
    m->status_mid = mid;
    while (m->status_mid == mid && m->connected &&
           pthread_cond_timedwait(&m->cond, &m->lock, &ts) == 0)
      ;
  }
  m->stop = true;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
}

void cn_mqtt_close(cn_mqtt_t *m) {
  if (!m)
    return;
  if (m->mosq)
    say_offline(m); /* only when connected */
  pthread_mutex_lock(&m->lock);
  m->stop = true;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
  if (m->thread_started)
    pthread_join(m->thread, NULL);
  if (m->mosq) {
    mosquitto_disconnect(m->mosq);
    if (m->loop_started) /* stable: the publisher thread has ended */
      mosquitto_loop_stop(m->mosq, false);
    mosquitto_destroy(m->mosq);
    mosquitto_lib_cleanup();
  }
  for (int k = 0; k < m->n; k++)
    for (int t = 0; t < T_KINDS; t++)
      free(m->topics[k][t]);
  for (int i = 0; m->ents && i < m->depth; i++)
    free(m->ents[i].data);
  free(m->ents);
  free(m->q);
  free(m->fre);
  free(m->last);
  free(m->scratch);
  pthread_cond_destroy(&m->cond);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
