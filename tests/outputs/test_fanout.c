/* The record fan-out: each record reaches every sink, in order; a waiting
 * sink gets all of them however slow it is, a dropping sink counts what
 * it missed; a sink's write error stops publishing; and the steady state
 * allocates nothing (malloc is wrapped and counted). Also the JSON writer
 * on top of it: one serialization, the same bytes in every sink. */
#include "harness.h"

#include "alloc_count.h"

#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "outputs/fanout.h"
#include "outputs/jsonl_internal.h"

#define N 2000
#define LINE 64

/* A sink that keeps what it gets, in a preallocated array. */
typedef struct mem_sink {
  char (*lines)[LINE];
  int n;
  int delay_us; /* per record: a slow disk or client */
  int fail_at;  /* 1-based record whose write fails; 0 never */
  bool closed;
} mem_sink_t;

static int mem_write(void *ctx, const char *rec, size_t len, cn_err_t *err) {
  mem_sink_t *m = ctx;
  if (m->delay_us)
    cn_test_sleep_ms(m->delay_us / 1000);
  if (m->fail_at && m->n + 1 >= m->fail_at)
    return cn_err_set(err, CN_EIO, "mem: write failed");
  if (m->n < N && len < LINE) {
    memcpy(m->lines[m->n], rec, len);
    m->lines[m->n][len] = '\0';
  }
  m->n++;
  return 0;
}

static int mem_close(void *ctx, cn_err_t *err) {
  (void)err;
  ((mem_sink_t *)ctx)->closed = true;
  return 0;
}

static const cn_rsink_ops_t mem_ops = {"mem", mem_write, NULL, mem_close};

static void publish_n(cn_fanout_t *fo, int from, int n) {
  for (int i = from; i < from + n; i++) {
    cn_rbuf_t *b = cn_fanout_buffer(fo);
    assert_int_equal(cn_rbuf_reserve(b, LINE), 0);
    b->len = (size_t)snprintf(b->data, b->cap, "{\"i\":%d}", i);
    assert_int_equal(cn_fanout_publish(fo, b, NULL), 0);
  }
}

static void test_every_sink_gets_every_record_in_order(void **state) {
  (void)state;
  mem_sink_t fast = {.lines = calloc(N, LINE)};
  mem_sink_t slow = {.lines = calloc(N, LINE), .delay_us = 1000};
  mem_sink_t lossy = {.lines = calloc(N, LINE), .delay_us = 2000};
  cn_fanout_t *fo = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_fanout_create(&fo, &err), 0);
  assert_int_equal(cn_fanout_add(fo, &mem_ops, &fast, 0, false, &err), 0);
  assert_int_equal(cn_fanout_add(fo, &mem_ops, &slow, 4, false, &err), 0);
  assert_int_equal(cn_fanout_add(fo, &mem_ops, &lossy, 4, true, &err), 0);
  assert_int_equal(cn_fanout_sinks(fo), 3);
  /* Warm up: every buffer gets its first allocation. */
  publish_n(fo, 0, 100);
  cn_test_alloc_start();
  publish_n(fo, 100, 200);
  assert_int_equal(cn_test_alloc_stop(), 0);
  uint64_t dropped = cn_fanout_dropped(fo, 2);
  assert_int_equal(cn_fanout_close(fo, &err), 0);
  assert_true(fast.closed && slow.closed && lossy.closed);
  assert_int_equal(fast.n, 300);
  assert_int_equal(slow.n, 300);
  for (int i = 0; i < 300; i++) {
    char want[LINE];
    snprintf(want, sizeof want, "{\"i\":%d}", i);
    assert_string_equal(fast.lines[i], want);
    assert_string_equal(slow.lines[i], want);
  }
  /* The dropping sink fell behind and says by how much; what it did get
   * is in order. */
  assert_true(dropped > 0);
  assert_true(lossy.n < 300);
  int last = -1;
  for (int i = 0; i < lossy.n; i++) {
    int v = -1;
    assert_int_equal(sscanf(lossy.lines[i], "{\"i\":%d}", &v), 1);
    assert_true(v > last);
    last = v;
  }
  free(fast.lines);
  free(slow.lines);
  free(lossy.lines);
}

static void test_write_error_stops_publishing(void **state) {
  (void)state;
  mem_sink_t bad = {.lines = calloc(N, LINE), .fail_at = 5};
  cn_fanout_t *fo = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_fanout_create(&fo, &err), 0);
  assert_int_equal(cn_fanout_add(fo, &mem_ops, &bad, 2, false, &err), 0);
  int rc = 0;
  for (int i = 0; i < 1000 && !rc; i++) {
    cn_rbuf_t *b = cn_fanout_buffer(fo);
    assert_int_equal(cn_rbuf_reserve(b, LINE), 0);
    b->len = (size_t)snprintf(b->data, b->cap, "%d", i);
    rc = cn_fanout_publish(fo, b, &err);
  }
  assert_int_equal(rc, CN_EIO);
  assert_string_equal(err.msg, "mem: write failed");
  cn_err_t cerr = {0};
  assert_int_equal(cn_fanout_close(fo, &cerr), CN_EIO);
  assert_string_equal(cerr.msg, "mem: write failed");
  assert_int_equal(bad.n, 4);
  free(bad.lines);
}

/* The JSON writer serializes once: two sinks get the same bytes, and
 * they parse as the documented records. */
/* Frame records, once warm, allocate nothing on their way to a sink. */
static void test_jsonl_steady_state_allocates_nothing(void **state) {
  (void)state;
  cn_fanout_t *fo = NULL;
  cn_jsonl_t *w = NULL;
  cn_err_t err = {0};
  const char *names[] = {"a", "b"};
  assert_int_equal(cn_fanout_create(&fo, &err), 0);
  assert_int_equal(cn_sink_file_add(fo, "/dev/null", &err), 0);
  assert_int_equal(cn_jsonl_create(fo, &w, &err), 0);
  assert_int_equal(cn_jsonl_set_names(w, names, 2, &err), 0);
  cn_frame_t f = {.pts = 0.5, .t_capture = 1, .t_wall = 1};
  for (int i = 0; i < 400; i++) {
    f.source = i % 2;
    f.seq = (uint64_t)i + 1;
    if (i == 200)
      cn_test_alloc_start();
    assert_int_equal(cn_jsonl_write(w, &f, NULL, &err), 0);
  }
  assert_int_equal(cn_test_alloc_stop(), 0);
  assert_int_equal(cn_fanout_close(fo, &err), 0);
  cn_jsonl_destroy(w);
}

static void test_jsonl_same_bytes_in_every_sink(void **state) {
  (void)state;
  cn_fanout_t *fo = NULL;
  cn_jsonl_t *w = NULL;
  cn_err_t err = {0};
  char *dir = cn_test_mkdtemp();
  char p1[600], p2[600];
  snprintf(p1, sizeof p1, "%s/a.jsonl", dir);
  snprintf(p2, sizeof p2, "%s/b.jsonl", dir);
  const char *names[] = {"door"};
  assert_int_equal(cn_fanout_create(&fo, &err), 0);
  assert_int_equal(cn_sink_file_add(fo, p1, &err), 0);
  assert_int_equal(cn_sink_file_add(fo, p2, &err), 0);
  assert_int_equal(cn_jsonl_create(fo, &w, &err), 0);
  assert_int_equal(cn_jsonl_set_names(w, names, 1, &err), 0);
  cn_frame_t f = {.source = 0,
                  .seq = 7,
                  .pts = 0.5,
                  .t_capture = 1000000000,
                  .t_decode = 1000000000,
                  .t_wall = 1700000000123000000};
  assert_int_equal(cn_jsonl_write(w, &f, NULL, &err), 0);
  assert_int_equal(cn_jsonl_write_source(w, 0, false, "rtsp://h/x: refused",
                                         2000000000, &err),
                   0);
  assert_int_equal(cn_fanout_close(fo, &err), 0);
  cn_jsonl_destroy(w);
  char out1[4096], out2[4096];
  assert_int_equal(cn_test_sh(out1, sizeof out1, "cat %s", p1), 0);
  assert_int_equal(cn_test_sh(out2, sizeof out2, "cat %s", p2), 0);
  assert_string_equal(out1, out2);
  json_error_t je;
  json_t *rec = json_loadb(out1, strcspn(out1, "\n"), 0, &je);
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "type")), "frame");
  assert_string_equal(json_string_value(json_object_get(rec, "name")), "door");
  assert_int_equal(json_integer_value(json_object_get(rec, "frame")), 7);
  assert_true(fabs(json_number_value(json_object_get(rec, "t_wall")) -
                   1700000000.123) < 1e-6);
  json_decref(rec);
  const char *second = strchr(out1, '\n') + 1;
  rec = json_loadb(second, strcspn(second, "\n"), 0, &je);
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "type")),
                      "source");
  assert_true(json_is_false(json_object_get(rec, "online")));
  assert_string_equal(json_string_value(json_object_get(rec, "reason")),
                      "rtsp://h/x: refused");
  assert_true(fabs(json_number_value(json_object_get(rec, "t_state")) - 2.0) <
              1e-9);
  json_decref(rec);
  cn_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_sink_gets_every_record_in_order),
      cmocka_unit_test(test_write_error_stops_publishing),
      cmocka_unit_test(test_jsonl_steady_state_allocates_nothing),
      cmocka_unit_test(test_jsonl_same_bytes_in_every_sink),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
