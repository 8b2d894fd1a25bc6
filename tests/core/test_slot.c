#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "camnet/clock.h"
#include "camnet/pool.h"
#include "core/slot.h"

static cn_frame_t *make(cn_pool_t *pool, uint64_t seq) {
  cn_frame_t *f = cn_pool_get(pool, NULL);
  assert_non_null(f);
  f->seq = seq;
  f->t_capture = cn_clock_now();
  return f;
}

static void test_put_replaces_and_counts(void **state) {
  (void)state;
  cn_pool_t *pool = cn_pool_create(NULL, NULL);
  cn_slot_t *slot = cn_slot_create();
  cn_frame_t *got = NULL;
  assert_int_equal(cn_slot_take(slot, 0, 0, &got), CN_ETIMEDOUT);
  /* Each put after the first drops the one before it, and says which. */
  for (uint64_t s = 1; s <= 5; s++)
    assert_int_equal(cn_slot_put(slot, make(pool, s)), s - 1);
  /* Only the newest is there; the four before it were dropped. */
  assert_int_equal(cn_pool_allocated(pool), 2);
  assert_int_equal(cn_slot_take(slot, 0, 0, &got), 0);
  assert_int_equal(got->seq, 5);
  cn_frame_t *same = NULL;
  /* The same frame is never delivered twice to a consumer that says what
   * it last took. */
  assert_int_equal(cn_slot_take(slot, 5, 10 * CN_NS_PER_MS, &same),
                   CN_ETIMEDOUT);
  /* A second consumer may take the same frame; it is delivered once. */
  assert_int_equal(cn_slot_take(slot, 0, 0, &same), 0);
  assert_ptr_equal(same, got);
  cn_frame_unref(&same);
  cn_frame_unref(&got);
  cn_slot_counts_t c;
  cn_slot_get_counts(slot, &c);
  assert_int_equal(c.put, 5);
  assert_int_equal(c.delivered, 1);
  assert_int_equal(c.dropped, 4);
  assert_int_equal(c.pending, 0);
  cn_slot_put(slot, make(pool, 6));
  cn_slot_get_counts(slot, &c);
  assert_int_equal(c.pending, 1);
  assert_int_equal(c.put, c.delivered + c.dropped + c.pending);
  /* An untaken frame can be withdrawn (source offline); counted dropped. */
  cn_slot_drop_pending(slot);
  cn_slot_get_counts(slot, &c);
  assert_int_equal(c.pending, 0);
  assert_int_equal(c.dropped, 5);
  assert_int_equal(cn_slot_take(slot, 5, 0, &got), CN_ETIMEDOUT);
  cn_slot_put(slot, make(pool, 6));
  cn_slot_close(slot);
  /* Still there after close, then closed. */
  assert_int_equal(cn_slot_take(slot, 5, -1, &got), 0);
  assert_int_equal(got->seq, 6);
  cn_frame_unref(&got);
  assert_int_equal(cn_slot_take(slot, 6, -1, &got), CN_ECLOSED);
  cn_slot_put(slot, make(pool, 7)); /* discarded */
  cn_slot_get_counts(slot, &c);
  assert_int_equal(c.put, 8);
  assert_int_equal(c.dropped, 6);
  cn_slot_destroy(slot);
  cn_pool_destroy(pool);
}

/* A producer at a steady interval and a consumer four times slower. */
#define INTERVAL_MS 5
#define FRAMES 400
typedef struct run {
  cn_slot_t *slot;
  cn_pool_t *pool;
  atomic_bool done;
} run_t;

static void *producer(void *arg) {
  run_t *r = arg;
  for (uint64_t s = 1; s <= FRAMES; s++) {
    cn_slot_put(r->slot, make(r->pool, s));
    cn_test_sleep_ms(INTERVAL_MS);
  }
  cn_slot_close(r->slot);
  return NULL;
}

static void test_slow_consumer_sees_fresh_increasing_frames(void **state) {
  (void)state;
  run_t r = {.slot = cn_slot_create()};
  cn_pool_opts_t po = {.max_frames = 4};
  r.pool = cn_pool_create(&po, NULL);
  pthread_t th;
  pthread_create(&th, NULL, producer, &r);
  uint64_t last = 0, taken = 0;
  int64_t ages[FRAMES];
  for (;;) {
    cn_frame_t *f = NULL;
    int rc = cn_slot_take(r.slot, last, -1, &f);
    if (rc == CN_ECLOSED)
      break;
    assert_int_equal(rc, 0);
    assert_true(f->seq > last); /* strictly increasing, never repeated */
    ages[taken++] = cn_clock_now() - f->t_capture;
    last = f->seq;
    cn_test_sleep_ms(4 * INTERVAL_MS); /* slow "inference" */
    cn_frame_unref(&f);
  }
  pthread_join(th, NULL);
  cn_slot_counts_t c;
  cn_slot_get_counts(r.slot, &c);
  assert_int_equal(c.put, FRAMES);
  assert_int_equal(c.delivered, taken);
  assert_int_equal(c.put, c.delivered + c.dropped + c.pending);
  assert_true(c.dropped >= FRAMES / 2); /* about 3 in 4 */
  /* Age at take: at most one interval plus scheduling slack, at median. */
  int64_t sorted[FRAMES];
  for (uint64_t i = 0; i < taken; i++) {
    uint64_t j = i;
    while (j > 0 && sorted[j - 1] > ages[i]) {
      sorted[j] = sorted[j - 1];
      j--;
    }
    sorted[j] = ages[i];
  }
  int64_t median = sorted[taken / 2];
  assert_true(median <= (INTERVAL_MS + 5) * CN_NS_PER_MS);
  /* No queue: the pool never needed more than slot + consumer + producer. */
  assert_true(cn_pool_allocated(r.pool) <= 3);
  cn_slot_destroy(r.slot);
  cn_pool_destroy(r.pool);
}

static void *blocking_producer(void *arg) {
  run_t *r = arg;
  for (uint64_t s = 1; s <= 50; s++)
    if (cn_slot_put_wait(r->slot, make(r->pool, s)))
      break;
  atomic_store(&r->done, true);
  cn_slot_close(r->slot);
  return NULL;
}

static void test_put_wait_loses_nothing(void **state) {
  (void)state;
  run_t r = {.slot = cn_slot_create(), .pool = cn_pool_create(NULL, NULL)};
  pthread_t th;
  pthread_create(&th, NULL, blocking_producer, &r);
  uint64_t last = 0;
  cn_frame_t *f = NULL;
  while (cn_slot_take(r.slot, last, -1, &f) == 0) {
    assert_int_equal(f->seq, last + 1); /* every frame, in order */
    last = f->seq;
    if (last % 7 == 0)
      cn_test_sleep_ms(2);
    cn_frame_unref(&f);
  }
  pthread_join(th, NULL);
  assert_int_equal(last, 50);
  cn_slot_counts_t c;
  cn_slot_get_counts(r.slot, &c);
  assert_int_equal(c.dropped, 0);
  assert_int_equal(c.delivered, 50);
  cn_slot_destroy(r.slot);
  cn_pool_destroy(r.pool);
}

static void *closer(void *arg) {
  cn_test_sleep_ms(50);
  cn_slot_close(arg);
  return NULL;
}

static void test_close_wakes_blocked_consumer(void **state) {
  (void)state;
  cn_slot_t *slot = cn_slot_create();
  pthread_t th;
  pthread_create(&th, NULL, closer, slot);
  cn_frame_t *f = NULL;
  int64_t t0 = cn_clock_now();
  assert_int_equal(cn_slot_take(slot, 0, 10 * CN_NS_PER_S, &f), CN_ECLOSED);
  assert_true(cn_clock_now() - t0 < 5 * CN_NS_PER_S);
  pthread_join(th, NULL);
  cn_slot_destroy(slot);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_replaces_and_counts),
      cmocka_unit_test(test_slow_consumer_sees_fresh_increasing_frames),
      cmocka_unit_test(test_put_wait_loses_nothing),
      cmocka_unit_test(test_close_wakes_blocked_consumer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
