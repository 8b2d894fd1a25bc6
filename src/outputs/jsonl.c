#include "outputs/jsonl.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

struct cn_jsonl {
  FILE *fp;
  char *path;
  bool is_stdout;
  int write_errno; /* first failure, reported at close */
  pthread_mutex_t lock;
  json_t *rec; /* the record object, reused for every frame */
  json_t *source, *frame, *pts, *t_capture, *t_decode, *t_out, *age_ms;
};

/* Adds a field whose value object we keep and update in place. */
static json_t *field(json_t *rec, const char *key, json_t *value) {
  json_object_set_new(rec, key, value);
  return value;
}

int cn_jsonl_open(const char *path, cn_jsonl_t **out, cn_err_t *err) {
  *out = NULL;
  cn_jsonl_t *w = calloc(1, sizeof *w);
  if (!w)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  w->is_stdout = strcmp(path, "-") == 0;
  w->fp = w->is_stdout ? stdout : fopen(path, "w");
  if (!w->fp) {
    int e = errno;
    free(w);
    return cn_err_set(err, cn_err_from_errno(e), "%s: cannot write: %s", path,
                      strerror(e));
  }
  w->path = strdup(path);
  pthread_mutex_init(&w->lock, NULL);
  w->rec = json_object();
  w->source = field(w->rec, "source", json_integer(0));
  w->frame = field(w->rec, "frame", json_integer(0));
  w->pts = json_real(0);
  json_object_set_new(w->rec, "pts", json_null());
  w->t_capture = field(w->rec, "t_capture", json_real(0));
  w->t_decode = field(w->rec, "t_decode", json_real(0));
  w->t_out = field(w->rec, "t_out", json_real(0));
  w->age_ms = field(w->rec, "age_ms", json_real(0));
  *out = w;
  return 0;
}

/* jansson prints reals with 17 significant digits; round so records stay
 * short: microseconds for times, 1/1000 ms for ages. */
static double round_to(double v, double unit) { return round(v / unit) * unit; }

static int dump_cb(const char *buf, size_t size, void *data) {
  return fwrite(buf, 1, size, data) == size ? 0 : -1;
}

int cn_jsonl_write(cn_jsonl_t *w, cn_frame_t *f, cn_err_t *err) {
  pthread_mutex_lock(&w->lock);
  f->t_out = cn_clock_now();
  json_integer_set(w->source, f->source);
  json_integer_set(w->frame, (json_int_t)f->seq);
  if (isnan(f->pts)) {
    json_object_set(w->rec, "pts", json_null());
  } else {
    json_real_set(w->pts, round_to(f->pts, 1e-6));
    json_object_set(w->rec, "pts", w->pts);
  }
  json_real_set(w->t_capture, round_to(cn_ns_to_s(f->t_capture), 1e-6));
  json_real_set(w->t_decode, round_to(cn_ns_to_s(f->t_decode), 1e-6));
  json_real_set(w->t_out, round_to(cn_ns_to_s(f->t_out), 1e-6));
  json_real_set(w->age_ms, round_to(cn_ns_to_ms(f->t_out - f->t_capture), 1e-3));
  int rc = json_dump_callback(w->rec, dump_cb, w->fp, JSON_COMPACT |
                              JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
  if (rc == 0 && fputc('\n', w->fp) == EOF)
    rc = -1;
  if (rc == 0 && w->is_stdout && fflush(w->fp))
    rc = -1;
  if (rc && !w->write_errno)
    w->write_errno = errno ? errno : EIO;
  int e = w->write_errno;
  pthread_mutex_unlock(&w->lock);
  if (e)
    return cn_err_set(err, CN_EIO, "%s: write failed: %s", w->path,
                      strerror(e));
  return 0;
}

int cn_jsonl_close(cn_jsonl_t *w, cn_err_t *err) {
  if (!w)
    return 0;
  int rc = 0;
  if (fflush(w->fp) && !w->write_errno)
    w->write_errno = errno;
  if (!w->is_stdout && fclose(w->fp) && !w->write_errno)
    w->write_errno = errno;
  if (w->write_errno)
    rc = cn_err_set(err, CN_EIO, "%s: write failed: %s", w->path,
                    strerror(w->write_errno));
  json_decref(w->pts);
  json_decref(w->rec);
  pthread_mutex_destroy(&w->lock);
  free(w->path);
  free(w);
  return rc;
}
