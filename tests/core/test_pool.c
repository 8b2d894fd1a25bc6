#include "harness.h"

#include <math.h>
#include <pthread.h>

#include "camnet/pool.h"

typedef struct counters {
  int inits, resets, frees, ctx_freed, develops;
} counters_t;

static int priv_init(void *ctx, cn_frame_t *f, cn_err_t *err) {
  (void)err;
  ((counters_t *)ctx)->inits++;
  f->priv = ctx;
  return 0;
}
static void priv_reset(void *ctx, cn_frame_t *f) {
  (void)f;
  ((counters_t *)ctx)->resets++;
}
static void priv_free(void *ctx, cn_frame_t *f) {
  (void)f;
  ((counters_t *)ctx)->frees++;
}
static void ctx_free(void *ctx) { ((counters_t *)ctx)->ctx_freed++; }
static int develop(void *ctx, cn_frame_t *f, cn_err_t *err) {
  ((counters_t *)ctx)->develops++;
  int rc = cn_frame_alloc_pixels(f, 10, 4, CN_PIX_BGR24, err);
  if (rc == 0)
    f->data[0] = 42;
  return rc;
}

static cn_pool_opts_t opts_for(counters_t *c, int max) {
  cn_pool_opts_t o = {.max_frames = max,
                      .priv_init = priv_init,
                      .priv_reset = priv_reset,
                      .priv_free = priv_free,
                      .develop = develop,
                      .ctx = c,
                      .ctx_free = ctx_free};
  return o;
}

static void test_frames_are_reused_not_reallocated(void **state) {
  (void)state;
  counters_t c = {0};
  cn_pool_opts_t o = opts_for(&c, 4);
  cn_pool_t *pool = cn_pool_create(&o, NULL);
  for (int i = 0; i < 1000; i++) {
    cn_frame_t *f = cn_pool_get(pool, NULL);
    assert_non_null(f);
    assert_true(isnan(f->pts));
    assert_int_equal(f->seq, 0);
    f->seq = (uint64_t)i + 1;
    cn_frame_unref(&f);
    assert_null(f);
  }
  assert_int_equal(cn_pool_allocated(pool), 1);
  assert_int_equal(c.inits, 1);
  assert_int_equal(c.resets, 1000);
  cn_pool_destroy(pool);
  assert_int_equal(c.frees, 1);
  assert_int_equal(c.ctx_freed, 1);
}

static void test_cap_and_refcount(void **state) {
  (void)state;
  counters_t c = {0};
  cn_pool_opts_t o = opts_for(&c, 2);
  cn_pool_t *pool = cn_pool_create(&o, NULL);
  cn_frame_t *a = cn_pool_get(pool, NULL), *b = cn_pool_get(pool, NULL);
  cn_err_t err = {0};
  assert_null(cn_pool_get(pool, &err));
  assert_int_equal(err.code, CN_EAGAIN);
  assert_true(cn_frame_is_writable(a));
  cn_frame_t *a2 = cn_frame_ref(a);
  assert_false(cn_frame_is_writable(a));
  cn_frame_unref(&a);
  assert_int_equal(c.resets, 0); /* a2 still holds it */
  assert_true(cn_frame_is_writable(a2));
  cn_frame_unref(&a2);
  assert_int_equal(c.resets, 1);
  cn_frame_t *again = cn_pool_get(pool, NULL);
  assert_non_null(again);
  cn_frame_unref(&again);
  cn_frame_unref(&b);
  cn_pool_destroy(pool);
}

static void test_destroy_is_deferred_until_last_frame(void **state) {
  (void)state;
  counters_t c = {0};
  cn_pool_opts_t o = opts_for(&c, 4);
  cn_pool_t *pool = cn_pool_create(&o, NULL);
  cn_frame_t *f = cn_pool_get(pool, NULL);
  cn_pool_destroy(pool);
  assert_int_equal(c.ctx_freed, 0);
  f->seq = 7; /* still valid memory */
  cn_frame_unref(&f);
  assert_int_equal(c.ctx_freed, 1);
  assert_int_equal(c.frees, 1);
}

static void test_develop_runs_once(void **state) {
  (void)state;
  counters_t c = {0};
  cn_pool_opts_t o = opts_for(&c, 4);
  cn_pool_t *pool = cn_pool_create(&o, NULL);
  cn_frame_t *f = cn_pool_get(pool, NULL);
  assert_int_equal(f->format, CN_PIX_NONE);
  assert_int_equal(cn_frame_develop(f, NULL), 0);
  assert_int_equal(cn_frame_develop(f, NULL), 0);
  assert_int_equal(c.develops, 1);
  assert_int_equal(f->format, CN_PIX_BGR24);
  assert_int_equal(f->width, 10);
  assert_int_equal(f->stride % 32, 0);
  assert_int_equal(f->data[0], 42);
  assert_true(f->t_develop > 0);
  cn_frame_unref(&f);
  f = cn_pool_get(pool, NULL); /* reused: must develop afresh */
  assert_int_equal(f->format, CN_PIX_NONE);
  assert_int_equal(cn_frame_develop(f, NULL), 0);
  assert_int_equal(c.develops, 2);
  cn_frame_unref(&f);
  cn_pool_destroy(pool);
}

/* Many threads dropping references to shared frames: each frame must come
 * back to the pool exactly once (run under TSan in CI). */
#define THREADS 4
#define BATCH 4
#define BATCHES 500
static void *drop_refs(void *arg) {
  cn_frame_t **frames = arg;
  for (int i = 0; i < BATCH; i++)
    cn_frame_unref(&frames[i]);
  return NULL;
}

static void test_concurrent_unref(void **state) {
  (void)state;
  counters_t c = {0};
  cn_pool_opts_t o = opts_for(&c, 8);
  o.priv_reset = NULL; /* the counters are not atomic */
  cn_pool_t *pool = cn_pool_create(&o, NULL);
  for (int b = 0; b < BATCHES; b++) {
    cn_frame_t *refs[THREADS][BATCH];
    for (int i = 0; i < BATCH; i++) {
      cn_frame_t *f = cn_pool_get(pool, NULL);
      assert_non_null(f);
      for (int t = 0; t < THREADS; t++)
        refs[t][i] = cn_frame_ref(f);
      cn_frame_unref(&f);
    }
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
      pthread_create(&th[t], NULL, drop_refs, refs[t]);
    for (int t = 0; t < THREADS; t++)
      pthread_join(th[t], NULL);
  }
  /* Every frame came back, so BATCH frames served every batch. */
  assert_int_equal(cn_pool_allocated(pool), BATCH);
  cn_pool_destroy(pool);
  assert_int_equal(c.ctx_freed, 1);
  assert_int_equal(c.frees, BATCH);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames_are_reused_not_reallocated),
      cmocka_unit_test(test_cap_and_refcount),
      cmocka_unit_test(test_destroy_is_deferred_until_last_frame),
      cmocka_unit_test(test_develop_runs_once),
      cmocka_unit_test(test_concurrent_unref),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
