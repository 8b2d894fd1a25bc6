#include "outputs/jsonl_internal.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "outputs/fanout.h"

struct cn_jsonl {
  cn_fanout_t *fo;
  bool own_fo;          /* made by cn_jsonl_open, closed by cn_jsonl_close */
  pthread_mutex_t lock; /* the objects below; the order of records */
  json_t *rec;          /* the record object, reused for every frame */
  json_t *source, *frame, *pts, *t_capture, *t_wall, *t_decode, *t_out, *age_ms;
  json_t **names; /* per source: its "name" string */
  int nnames;
  json_t *srec; /* the source record, reused for every state change */
  json_t *s_source, *s_t_state, *s_t_wall;
  /* With a model: result fields, all made once by cn_jsonl_set_task. */
  cn_task_t task;
  json_t *infer_ms, *latency_ms, *list; /* list: "top" or "boxes" */
  json_t **entries;                     /* CN_MAX_TOP or CN_MAX_BOXES */
  json_t **kps;                         /* per box: its "keypoints" array */
  json_t **points;                      /* per box: CN_MAX_KP [x, y] arrays */
  json_t **labels;                      /* per class: the label string */
  int nlabels;
};

/* Adds a field whose value object we keep and update in place. */
static json_t *field(json_t *rec, const char *key, json_t *value) {
  json_object_set_new(rec, key, value);
  return value;
}

int cn_jsonl_create(cn_fanout_t *fo, cn_jsonl_t **out, cn_err_t *err) {
  *out = NULL;
  cn_jsonl_t *w = calloc(1, sizeof *w);
  if (!w)
    return cn_err_set(err, CN_ENOMEM, "records: out of memory");
  w->fo = fo;
  pthread_mutex_init(&w->lock, NULL);
  w->rec = json_object();
  json_object_set_new(w->rec, "type", json_string("frame"));
  w->source = field(w->rec, "source", json_integer(0));
  json_object_set_new(w->rec, "name", json_null());
  w->frame = field(w->rec, "frame", json_integer(0));
  w->pts = json_real(0);
  json_object_set_new(w->rec, "pts", json_null());
  w->t_capture = field(w->rec, "t_capture", json_real(0));
  w->t_wall = field(w->rec, "t_wall", json_real(0));
  w->t_decode = field(w->rec, "t_decode", json_real(0));
  w->t_out = field(w->rec, "t_out", json_real(0));
  w->age_ms = field(w->rec, "age_ms", json_real(0));
  w->srec = json_object();
  json_object_set_new(w->srec, "type", json_string("source"));
  w->s_source = field(w->srec, "source", json_integer(0));
  json_object_set_new(w->srec, "name", json_null());
  json_object_set_new(w->srec, "online", json_false());
  json_object_set_new(w->srec, "reason", json_null());
  w->s_t_state = field(w->srec, "t_state", json_real(0));
  w->s_t_wall = field(w->srec, "t_wall", json_real(0));
  *out = w;
  return 0;
}

/* jansson prints reals with 17 significant digits; round so records stay
 * short: microseconds for times, 1/1000 ms for ages. */
static double round_to(double v, double unit) { return round(v / unit) * unit; }

int cn_jsonl_set_names(cn_jsonl_t *w, const char *const *names, int n,
                       cn_err_t *err) {
  w->names = calloc((size_t)n, sizeof *w->names);
  if (!w->names)
    return cn_err_set(err, CN_ENOMEM, "records: out of memory");
  w->nnames = n;
  for (int i = 0; i < n; i++)
    if (!(w->names[i] = json_string(names[i])))
      return cn_err_set(err, CN_EINVAL,
                        "records: name of source %d is not UTF-8", i);
  return 0;
}

static json_t *name_of(cn_jsonl_t *w, int source) {
  return source >= 0 && source < w->nnames ? w->names[source] : json_null();
}

static json_t *num(json_t *obj, const char *key, json_t *v) {
  return field(obj, key, v);
}

int cn_jsonl_set_task(cn_jsonl_t *w, cn_task_t task, const cn_labels_t *labels,
                      cn_err_t *err) {
  int n = task == CN_TASK_CLASSIFY ? CN_MAX_TOP : CN_MAX_BOXES;
  w->task = task;
  w->infer_ms = field(w->rec, "infer_ms", json_real(0));
  w->latency_ms = field(w->rec, "latency_ms", json_real(0));
  w->list =
      field(w->rec, task == CN_TASK_CLASSIFY ? "top" : "boxes", json_array());
  w->entries = calloc((size_t)n, sizeof *w->entries);
  w->kps = calloc((size_t)n, sizeof *w->kps);
  w->points = calloc((size_t)n * CN_MAX_KP, sizeof *w->points);
  w->nlabels = cn_labels_count(labels);
  w->labels = calloc((size_t)w->nlabels + 1, sizeof *w->labels);
  if (!w->entries || !w->kps || !w->points || !w->labels)
    return cn_err_set(err, CN_ENOMEM, "records: out of memory");
  for (int i = 0; i < w->nlabels; i++)
    w->labels[i] = json_string(cn_labels_get(labels, i));
  for (int i = 0; i < n; i++) {
    json_t *e = w->entries[i] = json_object();
    if (task == CN_TASK_DETECT) {
      num(e, "x", json_real(0));
      num(e, "y", json_real(0));
      num(e, "w", json_real(0));
      num(e, "h", json_real(0));
      num(e, "score", json_real(0));
    }
    num(e, "class", json_integer(0));
    json_object_set_new(e, "label", json_null());
    if (task == CN_TASK_CLASSIFY) {
      num(e, "prob", json_real(0));
    } else {
      w->kps[i] = field(e, "keypoints", json_array());
      for (int k = 0; k < CN_MAX_KP; k++) {
        json_t *pt = w->points[i * CN_MAX_KP + k] = json_array();
        json_array_append_new(pt, json_real(0));
        json_array_append_new(pt, json_real(0));
      }
    }
    /* Grow the list to its full size once so later appends never
     * reallocate; it is emptied before every record. */
    json_array_append(w->list, e);
  }
  json_array_clear(w->list);
  return 0;
}

static void set_label(cn_jsonl_t *w, json_t *e, int cls) {
  json_object_set(e, "label",
                  cls >= 0 && cls < w->nlabels && w->labels[cls]
                      ? w->labels[cls]
                      : json_null());
}

static void fill_result(cn_jsonl_t *w, const cn_result_t *res) {
  json_array_clear(w->list);
  if (!res)
    return;
  if (w->task == CN_TASK_CLASSIFY) {
    for (int i = 0; i < res->ntop && i < CN_MAX_TOP; i++) {
      json_t *e = w->entries[i];
      json_integer_set(json_object_get(e, "class"), res->top[i].cls);
      json_real_set(json_object_get(e, "prob"),
                    round_to(res->top[i].prob, 1e-6));
      set_label(w, e, res->top[i].cls);
      json_array_append(w->list, e);
    }
    return;
  }
  for (int i = 0; i < res->nboxes && i < CN_MAX_BOXES; i++) {
    const cn_box_t *b = &res->boxes[i];
    json_t *e = w->entries[i];
    json_real_set(json_object_get(e, "x"), round_to(b->x, 0.01));
    json_real_set(json_object_get(e, "y"), round_to(b->y, 0.01));
    json_real_set(json_object_get(e, "w"), round_to(b->w, 0.01));
    json_real_set(json_object_get(e, "h"), round_to(b->h, 0.01));
    json_real_set(json_object_get(e, "score"), round_to(b->score, 1e-4));
    json_integer_set(json_object_get(e, "class"), b->cls);
    set_label(w, e, b->cls);
    json_array_clear(w->kps[i]);
    for (int k = 0; k < b->nkp && k < CN_MAX_KP; k++) {
      json_t *pt = w->points[i * CN_MAX_KP + k];
      json_real_set(json_array_get(pt, 0), round_to(b->kp[k][0], 0.01));
      json_real_set(json_array_get(pt, 1), round_to(b->kp[k][1], 0.01));
      json_array_append(w->kps[i], pt);
    }
    json_array_append(w->list, e);
  }
}

/* Serializes obj once into a fan-out buffer and publishes it to every
 * sink; called with the lock held, so records keep their order. */
static int publish(cn_jsonl_t *w, json_t *obj, cn_err_t *err) {
  const size_t flags =
      JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
  cn_rbuf_t *b = cn_fanout_buffer(w->fo);
  size_t n = json_dumpb(obj, b->data, b->cap, flags);
  int rc = 0;
  if (n > b->cap) {
    /* Larger than any record before: grow once, the buffer keeps it. */
    rc = cn_rbuf_reserve(b, n);
    n = rc ? 0 : json_dumpb(obj, b->data, b->cap, flags);
  }
  b->len = n; /* 0: nothing to publish, the buffer just goes back */
  int prc = cn_fanout_publish(w->fo, b, err);
  if (rc)
    return cn_err_set(err, rc, "records: out of memory");
  return prc;
}

int cn_jsonl_write(cn_jsonl_t *w, cn_frame_t *f, const cn_result_t *res,
                   cn_err_t *err) {
  pthread_mutex_lock(&w->lock);
  f->t_out = cn_clock_now();
  json_integer_set(w->source, f->source);
  json_object_set(w->rec, "name", name_of(w, f->source));
  json_integer_set(w->frame, (json_int_t)f->seq);
  if (isnan(f->pts)) {
    json_object_set(w->rec, "pts", json_null());
  } else {
    json_real_set(w->pts, round_to(f->pts, 1e-6));
    json_object_set(w->rec, "pts", w->pts);
  }
  json_real_set(w->t_capture, round_to(cn_ns_to_s(f->t_capture), 1e-6));
  /* Epoch seconds need 10 digits before the point: milliseconds keep them
   * within the 15 significant digits records are printed with. */
  json_real_set(w->t_wall, round_to(cn_ns_to_s(f->t_wall), 1e-3));
  json_real_set(w->t_decode, round_to(cn_ns_to_s(f->t_decode), 1e-6));
  json_real_set(w->t_out, round_to(cn_ns_to_s(f->t_out), 1e-6));
  json_real_set(w->age_ms,
                round_to(cn_ns_to_ms(f->t_out - f->t_capture), 1e-3));
  if (w->task) {
    json_real_set(
        w->infer_ms,
        round_to(cn_ns_to_ms(f->t_infer_end - f->t_infer_begin), 1e-3));
    json_real_set(w->latency_ms,
                  round_to(cn_ns_to_ms(f->t_infer_end - f->t_capture), 1e-3));
    fill_result(w, res);
  }
  int rc = publish(w, w->rec, err);
  pthread_mutex_unlock(&w->lock);
  return rc;
}

int cn_jsonl_write_source(cn_jsonl_t *w, int source, bool online,
                          const char *reason, int64_t t_state, cn_err_t *err) {
  pthread_mutex_lock(&w->lock);
  json_integer_set(w->s_source, source);
  json_object_set(w->srec, "name", name_of(w, source));
  json_object_set_new(w->srec, "online", json_boolean(online));
  json_object_set_new(w->srec, "reason",
                      reason ? json_string(reason) : json_null());
  json_real_set(w->s_t_state, round_to(cn_ns_to_s(t_state), 1e-6));
  int64_t wall = cn_clock_wall() - (cn_clock_now() - t_state);
  json_real_set(w->s_t_wall, round_to(cn_ns_to_s(wall), 1e-3));
  int rc = publish(w, w->srec, err);
  pthread_mutex_unlock(&w->lock);
  return rc;
}

void cn_jsonl_destroy(cn_jsonl_t *w) {
  if (!w)
    return;
  json_decref(w->pts);
  json_decref(w->rec);
  json_decref(w->srec);
  for (int i = 0; w->names && i < w->nnames; i++)
    json_decref(w->names[i]);
  free(w->names);
  int n = w->task == CN_TASK_CLASSIFY ? CN_MAX_TOP : CN_MAX_BOXES;
  for (int i = 0; w->entries && i < n; i++) {
    json_decref(w->entries[i]);
    for (int k = 0; w->points && k < CN_MAX_KP; k++)
      json_decref(w->points[i * CN_MAX_KP + k]);
  }
  for (int i = 0; w->labels && i < w->nlabels; i++)
    json_decref(w->labels[i]);
  free(w->entries);
  free(w->kps);
  free(w->points);
  free(w->labels);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

int cn_jsonl_open(const char *path, cn_jsonl_t **out, cn_err_t *err) {
  *out = NULL;
  cn_fanout_t *fo = NULL;
  int rc = cn_fanout_create(&fo, err);
  if (!rc)
    rc = cn_sink_file_add(fo, path, err);
  if (!rc)
    rc = cn_jsonl_create(fo, out, err);
  if (rc) {
    cn_fanout_close(fo, NULL);
    return rc;
  }
  (*out)->own_fo = true;
  return 0;
}

int cn_jsonl_close(cn_jsonl_t *w, cn_err_t *err) {
  if (!w)
    return 0;
  int rc = w->own_fo ? cn_fanout_close(w->fo, err) : 0;
  cn_jsonl_destroy(w);
  return rc;
}
