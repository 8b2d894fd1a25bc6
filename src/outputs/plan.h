/* cn_plan: which thread renders the annotated picture for which sink.
 *
 * Two renderers can draw a source's pictures:
 *   CN_RENDER_INFERRED - the source's consumer (inference) thread, on each
 *                        frame it infers, with that frame's own result;
 *   CN_RENDER_LIVE     - a display thread taking every frame of the first
 *                        source, drawing the newest result on it.
 * Sinks take pictures: the window, the recording, snapshots, and whatever
 * comes later (a stream). cn_plan_make is a pure function from what the
 * run asked for to the renderer of each sink, so the rules live in one
 * table (plan.c) and are tested as a table (tests/outputs/test_plan.c):
 *   - every active sink is fed by exactly one renderer, inactive ones by
 *     none;
 *   - --every-frame on a file: the consumer renders for every sink and
 *     there is no display thread (a second taker would take frames from
 *     under it and break "every frame"); the recording then waits for
 *     its encoder instead of dropping;
 *   - otherwise the window follows --display, the recording takes every
 *     captured frame (live), and snapshots follow the window (live when
 *     there is none);
 *   - the HTTP live view follows --display like the window, for every
 *     source (it shows them all), and never waits;
 *   - other sources than the first have no display thread: their
 *     consumers feed the window (while it shows them) and its snapshots;
 *     the recording is of the first source only.
 * A new sink is a CN_SINK_ value and one line in plan.c's table.
 *
 * Threads: pure; any thread.
 */
#ifndef CN_PLAN_H
#define CN_PLAN_H

#include <stdbool.h>

typedef enum cn_sink_kind {
  CN_SINK_WINDOW,
  CN_SINK_RECORD,
  CN_SINK_SNAPSHOTS,
  CN_SINK_HTTP,
  CN_SINK_COUNT
} cn_sink_kind_t;

#define CN_SINK_BIT(k) (1u << (k))

typedef enum cn_renderer {
  CN_RENDER_NONE = 0,
  CN_RENDER_INFERRED,
  CN_RENDER_LIVE,
} cn_renderer_t;

typedef struct cn_plan_in {
  unsigned sinks;    /* CN_SINK_BIT of each active sink */
  bool live_display; /* --display live */
  bool every_frame;  /* --every-frame on a file (not a live source) */
} cn_plan_in_t;

typedef struct cn_plan {
  /* by[k]: who renders sink k's pictures of the first source, and of the
   * others (CN_RENDER_NONE: nobody, the sink is inactive for them). */
  cn_renderer_t first[CN_SINK_COUNT];
  cn_renderer_t others[CN_SINK_COUNT];
  /* wait[k]: pushing to sink k waits rather than drops (offline work). */
  bool wait[CN_SINK_COUNT];
  /* Which renderers run: the display thread (first source, LIVE); the
   * first source's consumer draws (INFERRED); the others' consumers draw. */
  bool live_thread, first_inferred, others_inferred;
} cn_plan_t;

void cn_plan_make(const cn_plan_in_t *in, cn_plan_t *out);

/* The sinks renderer r feeds for source k (0: the first), as a mask. */
unsigned cn_plan_sinks(const cn_plan_t *p, cn_renderer_t r, int k);

const char *cn_sink_name(cn_sink_kind_t k);

#endif
