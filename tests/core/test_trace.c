/* The tracer against an independent reader (jansson): what was recorded
 * is in the file with the right thread, times and arguments; a full ring
 * loses events but counts every one; recording allocates nothing. */
#include "harness.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc_count.h"
#include "camnet/clock.h"
#include "core/trace.h"

static char path[4096];
static char *dir;

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  snprintf(path, sizeof path, "%s/trace.json", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cn_test_rmtree(dir);
  free(dir);
  return 0;
}

static json_t *load_events(void) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    fail_msg("%s: %s (line %d)", path, je.text, je.line);
  json_t *ev = json_object_get(root, "traceEvents");
  assert_true(json_is_array(ev));
  json_incref(ev);
  json_decref(root);
  return ev;
}

/* The tid the metadata names `name`, or -1. */
static json_int_t tid_of(json_t *ev, const char *name) {
  size_t i;
  json_t *e;
  json_array_foreach(ev, i, e) {
    const char *n = json_string_value(json_object_get(e, "name"));
    const char *a =
        json_string_value(json_object_get(json_object_get(e, "args"), "name"));
    if (n && a && !strcmp(n, "thread_name") && !strcmp(a, name))
      return json_integer_value(json_object_get(e, "tid"));
  }
  return -1;
}

/* The one event with this phase and name, or fails. */
static json_t *find(json_t *ev, const char *ph, const char *name) {
  size_t i;
  json_t *e, *hit = NULL;
  json_array_foreach(ev, i, e) {
    if (!strcmp(json_string_value(json_object_get(e, "ph")), ph) &&
        !strcmp(json_string_value(json_object_get(e, "name")), name)) {
      assert_null(hit);
      hit = e;
    }
  }
  if (!hit)
    fail_msg("no %s event named %s", ph, name);
  return hit;
}

static double num(json_t *e, const char *key) {
  json_t *v = json_object_get(e, key);
  assert_true(json_is_number(v));
  return json_number_value(v);
}

static json_int_t frame_arg(json_t *e) {
  return json_integer_value(
      json_object_get(json_object_get(e, "args"), "frame"));
}

typedef struct capture_arg {
  cn_trace_t *t;
  int64_t t0;
  int tid;
} capture_arg_t;

static void *capture_thread(void *arg) {
  capture_arg_t *a = arg;
  cn_trace_ring_t *r = cn_trace_thread(a->t, "capture 3", 3, true);
  a->tid = (int)syscall(SYS_gettid);
  cn_trace_span(r, CN_TR_CAPTURE, 3, 7, a->t0, a->t0 + 2500000);
  cn_trace_instant(r, CN_TR_DROP, 3, 8, a->t0 + 4000000);
  cn_trace_span(r, CN_TR_SLOT, 3, 8, a->t0 + 3000000, a->t0 + 4000000);
  return NULL;
}

static void test_spans_threads_and_flow(void **state) {
  (void)state;
  cn_trace_t *t = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_trace_open(path, &t, &err), 0);
  capture_arg_t a = {t, cn_clock_now(), 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, capture_thread, &a), 0);
  pthread_join(th, NULL);
  cn_trace_ring_t *r = cn_trace_thread(t, "infer \"3\"", 3, false);
  assert_non_null(r);
  cn_trace_span(r, CN_TR_FLOW, 3, 7, a.t0 + 2500000, a.t0 + 5000000);
  cn_trace_span(r, CN_TR_INFERENCE, 3, 7, a.t0 + 5000000, a.t0 + 15123456);
  uint64_t lost = 1;
  assert_int_equal(cn_trace_close(t, &lost, &err), 0);
  assert_int_equal(lost, 0);

  json_t *ev = load_events();
  json_int_t cap = tid_of(ev, "capture 3"), inf = tid_of(ev, "infer \"3\"");
  assert_int_equal(cap, a.tid);
  assert_int_equal(inf, (json_int_t)syscall(SYS_gettid));
  json_int_t slot = tid_of(ev, "slot 3");
  assert_true(slot > 0 && slot != cap && slot != inf);

  json_t *c = find(ev, "X", "capture"), *n = find(ev, "X", "inference");
  assert_int_equal(json_integer_value(json_object_get(c, "tid")), cap);
  assert_int_equal(json_integer_value(json_object_get(n, "tid")), inf);
  assert_int_equal(frame_arg(c), 7);
  assert_int_equal(frame_arg(n), 7);
  /* Microseconds, to the nanosecond. */
  assert_float_equal(num(c, "dur"), 2500.0, 1e-9);
  assert_float_equal(num(n, "dur"), 10123.456, 1e-9);
  assert_float_equal(num(n, "ts") - num(c, "ts"), 5000.0, 1e-6);

  json_t *d = find(ev, "i", "drop"), *w = find(ev, "X", "wait in slot");
  assert_int_equal(frame_arg(d), 8);
  assert_int_equal(json_integer_value(json_object_get(d, "tid")), cap);
  assert_int_equal(json_integer_value(json_object_get(w, "tid")), slot);
  assert_float_equal(num(w, "dur"), 1000.0, 1e-9);

  /* The arrow: from inside the capture slice to the inference. */
  json_t *s = find(ev, "s", "frame"), *f = find(ev, "f", "frame");
  assert_int_equal(json_integer_value(json_object_get(s, "tid")), cap);
  assert_int_equal(json_integer_value(json_object_get(f, "tid")), inf);
  assert_true(json_equal(json_object_get(s, "id"), json_object_get(f, "id")));
  assert_true(num(s, "ts") > num(c, "ts") &&
              num(s, "ts") < num(c, "ts") + num(c, "dur"));
  assert_float_equal(num(f, "ts"), num(n, "ts"), 1e-6);
  json_decref(ev);
}

/* A full ring drops events instead of waiting; none vanish uncounted. */
static void test_full_ring_counts_what_it_loses(void **state) {
  (void)state;
  cn_trace_t *t = NULL;
  assert_int_equal(cn_trace_open(path, &t, NULL), 0);
  cn_trace_ring_t *r = cn_trace_thread(t, "busy", 0, false);
  const int n = 100000;
  int64_t t0 = cn_clock_now();
  for (int i = 0; i < n; i++)
    cn_trace_span(r, CN_TR_DRAW, 0, (uint64_t)i, t0 + i, t0 + i + 1);
  uint64_t lost = 0;
  assert_int_equal(cn_trace_close(t, &lost, NULL), 0);
  json_t *ev = load_events();
  size_t i, written = 0;
  json_t *e;
  json_array_foreach(ev, i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    written += !strcmp(name, "draw");
  }
  assert_int_equal(written + lost, n);
  json_decref(ev);
}

static void test_recording_allocates_nothing(void **state) {
  (void)state;
  cn_trace_t *t = NULL;
  assert_int_equal(cn_trace_open(path, &t, NULL), 0);
  cn_trace_ring_t *r = cn_trace_thread(t, "infer 0", 0, false);
  int64_t t0 = cn_clock_now();
  cn_test_alloc_start();
  for (int i = 0; i < 1000; i++)
    cn_trace_span(r, CN_TR_PREPROCESS, 0, (uint64_t)i, t0, t0 + 10);
  assert_int_equal(cn_test_alloc_stop(), 0);
  assert_int_equal(cn_trace_close(t, NULL, NULL), 0);
}

static void test_off_and_bad_path(void **state) {
  (void)state;
  /* Off: no tracer, no ring, the hooks do nothing. */
  assert_null(cn_trace_thread(NULL, "x", 0, false));
  cn_trace_span(NULL, CN_TR_DRAW, 0, 1, 0, 1);
  assert_int_equal(cn_trace_close(NULL, NULL, NULL), 0);
  cn_trace_t *t = NULL;
  cn_err_t err = {0};
  char bad[4200];
  snprintf(bad, sizeof bad, "%s/no/such/dir/t.json", dir);
  assert_int_equal(cn_trace_open(bad, &t, &err), CN_EIO);
  assert_null(t);
  assert_non_null(strstr(err.msg, bad));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_spans_threads_and_flow, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_full_ring_counts_what_it_loses,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_recording_allocates_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_off_and_bad_path, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
