#include "outputs/plan.h"

#include <string.h>

/* How a sink chooses its renderer when frames are not all processed
 * (every_frame overrides: everything is INFERRED). */
typedef enum rule {
  FOLLOW_DISPLAY, /* --display: INFERRED, or LIVE with --display live */
  EVERY_CAPTURED, /* every captured frame: LIVE */
  FOLLOW_WINDOW,  /* the window's renderer; LIVE without a window */
} rule_t;

typedef struct sink_rule {
  const char *name;
  rule_t rule;
  bool first_only; /* only the first source's pictures (one file) */
  bool needs_window_for_others; /* others: only with the window (Tab) */
} sink_rule_t;

/* One line per sink. */
static const sink_rule_t rules[CN_SINK_COUNT] = {
    [CN_SINK_WINDOW] = {"window", FOLLOW_DISPLAY, false, false},
    [CN_SINK_RECORD] = {"record", EVERY_CAPTURED, true, false},
    [CN_SINK_SNAPSHOTS] = {"snapshots", FOLLOW_WINDOW, false, true},
    [CN_SINK_HTTP] = {"http", FOLLOW_DISPLAY, false, false},
};

static cn_renderer_t first_renderer(const cn_plan_in_t *in, rule_t rule) {
  if (in->every_frame)
    return CN_RENDER_INFERRED;
  bool window = in->sinks & CN_SINK_BIT(CN_SINK_WINDOW);
  switch (rule) {
  case FOLLOW_DISPLAY:
    return in->live_display ? CN_RENDER_LIVE : CN_RENDER_INFERRED;
  case FOLLOW_WINDOW:
    return window ? first_renderer(in, rules[CN_SINK_WINDOW].rule)
                  : CN_RENDER_LIVE;
  case EVERY_CAPTURED:
  default:
    return CN_RENDER_LIVE;
  }
}

void cn_plan_make(const cn_plan_in_t *in, cn_plan_t *out) {
  memset(out, 0, sizeof *out);
  bool window = in->sinks & CN_SINK_BIT(CN_SINK_WINDOW);
  for (int k = 0; k < CN_SINK_COUNT; k++) {
    if (!(in->sinks & CN_SINK_BIT(k)))
      continue;
    out->first[k] = first_renderer(in, rules[k].rule);
    if (!rules[k].first_only && (window || !rules[k].needs_window_for_others))
      out->others[k] = CN_RENDER_INFERRED;
    /* A browser must never hold up the work. */
    out->wait[k] = in->every_frame && k != CN_SINK_HTTP;
    out->live_thread |= out->first[k] == CN_RENDER_LIVE;
    out->first_inferred |= out->first[k] == CN_RENDER_INFERRED;
    out->others_inferred |= out->others[k] == CN_RENDER_INFERRED;
  }
}

unsigned cn_plan_sinks(const cn_plan_t *p, cn_renderer_t r, int k) {
  unsigned m = 0;
  for (int s = 0; s < CN_SINK_COUNT; s++)
    if (r != CN_RENDER_NONE && (k == 0 ? p->first[s] : p->others[s]) == r)
      m |= CN_SINK_BIT(s);
  return m;
}

const char *cn_sink_name(cn_sink_kind_t k) {
  return k >= 0 && k < CN_SINK_COUNT ? rules[k].name : "?";
}
