/* The thread policy as a table: each row a machine and a source, and the
 * engines and team it must get (engine/thread_policy.h gives the rule). */
#include "harness.h"

#include "engine/thread_policy.h"

typedef struct row {
  const char *what;
  cn_thread_policy_in_t in;
  int engines, threads;
} row_t;

static const row_t rows[] = {
    /* The case: 2 cores, 720p60, GoogLeNet at ~20 ms on 1 thread:
     * a 2-thread team would share a core with the decoder; two 1-thread
     * engines alternate. */
    {"2 cores 720p60 GoogLeNet", {2, 1, 0.22, 60, 20, 0}, 2, 1},
    /* 30 fps: one 1-thread engine keeps up (20 ms < 33 ms). */
    {"2 cores 720p30 GoogLeNet", {2, 1, 0.11, 30, 20, 0}, 1, 1},
    /* MobileNetV2 keeps up at 60 fps on 1 thread. */
    {"2 cores 720p60 MobileNetV2", {2, 1, 0.22, 60, 6, 0}, 1, 1},
    /* A slow network: as many 1-thread engines as the spare cores hold. */
    {"2 cores 720p60 ResNet-50", {2, 1, 0.22, 60, 45, 0}, 2, 1},
    /* 8 cores: the team takes what the decoder leaves. */
    {"8 cores 720p30", {8, 1, 0.11, 30, 4, 0}, 1, 7},
    /* A slow network there: a second 7-thread team would oversubscribe. */
    {"8 cores 720p60 slow", {8, 1, 0.22, 60, 30, 0}, 1, 7},
    /* Four cameras on 8 cores: a team of 1 each; no room for a second. */
    {"8 cores 4 sources", {8, 4, 0.9, 30, 25, 0}, 1, 1},
    /* More sources than cores: never below one thread. */
    {"2 cores 4 sources", {2, 4, 0.5, 30, 50, 0}, 1, 1},
    /* Unknown load: a tenth of a core per source. */
    {"2 cores unknown load", {2, 1, -1, 30, 0, 0}, 1, 1},
    /* Unpaced file: every core, one engine. */
    {"2 cores every frame", {2, 1, 0.2, 0, 20, 0}, 1, 2},
    /* --threads N is obeyed. */
    {"--threads 2", {2, 1, 0.22, 60, 20, 2}, 1, 2},
};

static void test_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    cn_thread_policy_t p;
    cn_thread_policy(&rows[i].in, &p);
    if (p.engines != rows[i].engines || p.threads != rows[i].threads)
      fail_msg("%s: %d engines x %d threads, expected %d x %d", rows[i].what,
               p.engines, p.threads, rows[i].engines, rows[i].threads);
    assert_true(p.passive_wait);
  }
}

/* The load estimate: 720p60 is twice 720p30; 1080p30 is 2.25x 720p30. */
static void test_load(void **state) {
  (void)state;
  double l30 = cn_thread_policy_load(1280, 720, 30);
  assert_true(l30 > 0.05 && l30 < 0.5);
  assert_float_equal(cn_thread_policy_load(1280, 720, 60), 2 * l30, 1e-9);
  assert_float_equal(cn_thread_policy_load(1920, 1080, 30), 2.25 * l30, 1e-9);
  assert_true(cn_thread_policy_load(0, 720, 30) < 0);
  assert_true(cn_thread_policy_load(1280, 720, 0) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
