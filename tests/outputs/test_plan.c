/* The presentation plan as a table: every combination of --display, a
 * file with --every-frame, --record, a window and --snapshot-every,
 * against the rules run.c applied before the plan existed (written out
 * here as they were: four booleans and present()'s conditions), plus the
 * invariants that must hold for any sink added later. */
#include "harness.h"

#include <stdio.h>

#include "outputs/plan.h"

/* The reference: what run.c decided with render_inferred, render_live,
 * live_to_window and rec_inferred, and what present() then sent where. */
typedef struct old_rules {
  bool render_inferred, render_live, live_to_window, rec_inferred;
} old_rules_t;

static old_rules_t old_make(bool window, bool rec, bool snapshots,
                            bool display_live, bool every) {
  old_rules_t o;
  bool live = display_live && !every;
  o.rec_inferred = rec && every;
  o.render_inferred =
      (window && !live) || o.rec_inferred || (every && snapshots);
  o.live_to_window = window && live;
  o.render_live =
      !every && (rec || o.live_to_window || (snapshots && !o.render_inferred));
  return o;
}

/* present() for source k, renderer inferred or live, with the window
 * showing k: the sinks it fed. */
static unsigned old_present(const old_rules_t *o, bool window, bool rec,
                            bool snapshots, int k, bool inferred) {
  unsigned m = 0;
  /* present() ran only in threads that had an overlay. */
  if (k == 0 && inferred && !o->render_inferred)
    return 0;
  if (k == 0 && !inferred && !o->render_live)
    return 0;
  if (k > 0 && (!window || !inferred))
    return 0;
  if (k == 0) {
    if (window && (inferred || o->live_to_window))
      m |= CN_SINK_BIT(CN_SINK_WINDOW);
    if (rec && inferred == o->rec_inferred)
      m |= CN_SINK_BIT(CN_SINK_RECORD);
    if (snapshots && inferred == o->render_inferred)
      m |= CN_SINK_BIT(CN_SINK_SNAPSHOTS);
  } else {
    if (window)
      m |= CN_SINK_BIT(CN_SINK_WINDOW);
    if (snapshots && window)
      m |= CN_SINK_BIT(CN_SINK_SNAPSHOTS);
  }
  return m;
}

static void test_table_matches_the_old_rules(void **state) {
  (void)state;
  int combos = 0;
  for (unsigned sinks = 0; sinks < 8; sinks++)
    for (int live = 0; live < 2; live++)
      for (int every = 0; every < 2; every++) {
        bool window = sinks & CN_SINK_BIT(CN_SINK_WINDOW);
        bool rec = sinks & CN_SINK_BIT(CN_SINK_RECORD);
        bool snaps = sinks & CN_SINK_BIT(CN_SINK_SNAPSHOTS);
        cn_plan_in_t in = {sinks, live, every};
        cn_plan_t p;
        cn_plan_make(&in, &p);
        old_rules_t o = old_make(window, rec, snaps, live, every);
        char what[96];
        snprintf(what, sizeof what,
                 "window %d record %d snapshots %d "
                 "live %d every %d",
                 window, rec, snaps, live, every);
        for (int k = 0; k < 2; k++)
          for (int inf = 0; inf < 2; inf++) {
            unsigned want = old_present(&o, window, rec, snaps, k, inf);
            unsigned got =
                cn_plan_sinks(&p, inf ? CN_RENDER_INFERRED : CN_RENDER_LIVE, k);
            if (want != got)
              fail_msg("%s: source %d %s: sinks %#x, want %#x", what, k,
                       inf ? "inferred" : "live", got, want);
          }
        if (p.live_thread != o.render_live ||
            p.first_inferred != o.render_inferred ||
            p.others_inferred != window)
          fail_msg("%s: renderers live %d first %d others %d", what,
                   p.live_thread, p.first_inferred, p.others_inferred);
        assert_int_equal(p.wait[CN_SINK_RECORD], o.rec_inferred);
        combos++;
      }
  assert_int_equal(combos, 32);
}

/* For every combination of every sink (later ones included). */
static void test_invariants(void **state) {
  (void)state;
  for (unsigned sinks = 0; sinks < (1u << CN_SINK_COUNT); sinks++)
    for (int live = 0; live < 2; live++)
      for (int every = 0; every < 2; every++) {
        cn_plan_in_t in = {sinks, live, every};
        cn_plan_t p;
        cn_plan_make(&in, &p);
        bool any_live = false, any_inferred = false;
        for (int s = 0; s < CN_SINK_COUNT; s++) {
          bool active = sinks & CN_SINK_BIT(s);
          /* Exactly one renderer per active sink, none for the others. */
          int feeders = 0;
          for (int r = CN_RENDER_INFERRED; r <= CN_RENDER_LIVE; r++)
            feeders += (cn_plan_sinks(&p, (cn_renderer_t)r, 0) >> s) & 1;
          assert_int_equal(feeders, active ? 1 : 0);
          for (int r = CN_RENDER_INFERRED; r <= CN_RENDER_LIVE; r++)
            if (!active)
              assert_false((cn_plan_sinks(&p, (cn_renderer_t)r, 1) >> s) & 1);
          /* Other sources are never drawn by the display thread. */
          assert_false((cn_plan_sinks(&p, CN_RENDER_LIVE, 1) >> s) & 1);
          any_live |= p.first[s] == CN_RENDER_LIVE;
          any_inferred |= p.first[s] == CN_RENDER_INFERRED;
          /* --every-frame on a file: no second taker, and nothing drops
           * but the HTTP view, which must never hold up the work (a
           * browser is not a file). */
          if (every && active) {
            assert_int_equal(p.first[s], CN_RENDER_INFERRED);
            assert_int_equal(p.wait[s], s != CN_SINK_HTTP);
          }
          /* The HTTP view shows every source, as the window does. */
          if (active && s == CN_SINK_HTTP)
            assert_int_equal(p.others[s], CN_RENDER_INFERRED);
          if (!every)
            assert_false(p.wait[s]);
        }
        if (every)
          assert_false(p.live_thread);
        /* A renderer runs exactly when it feeds something. */
        assert_int_equal(p.live_thread, any_live);
        assert_int_equal(p.first_inferred, any_inferred);
        assert_int_equal(p.others_inferred,
                         cn_plan_sinks(&p, CN_RENDER_INFERRED, 1) != 0);
        assert_int_equal(cn_plan_sinks(&p, CN_RENDER_NONE, 0), 0);
      }
  assert_string_equal(cn_sink_name(CN_SINK_RECORD), "record");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_matches_the_old_rules),
      cmocka_unit_test(test_invariants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
