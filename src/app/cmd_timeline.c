/* camnet timeline: a trace drawn as lanes of boxes (cmd_timeline.h).
 *
 *   camnet timeline TRACE --out timeline.svg|png [--from S] [--span S]
 *                         [--width PX]
 *
 * Reads the events a trace holds: complete spans ("X"), instants ("i",
 * drawn as drops), flows ("s" -> "f", drawn as arrows) and the thread
 * names and sort order ("M"). Times are shown from the trace's first
 * event. Only the window [from, from + span] is drawn: a few hundred
 * milliseconds show single frames; a whole minute would be a grey bar.
 */
#include "app/cmd_timeline.h"
#include "app/optparse.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct tl_args {
  const char *trace, *out;
  double from, span;
  int64_t width;
  bool help;
} tl_args_t;

#define F(field) offsetof(tl_args_t, field)
static const cn_opt_t tl_options[] = {
    {"out", 'o', "FILE", CN_ARG_STRING, F(out), 0, 0, 0,
     "timeline: the picture, .svg or .png"},
    {"from", 0, "S", CN_ARG_DOUBLE, F(from), 0, 1e6, 0,
     "timeline: start this many seconds into the trace (default: 1 s in "
     "when the trace is longer than 2 s, else 0)"},
    {"span", 0, "S", CN_ARG_DOUBLE, F(span), 0.001, 1e6, 0,
     "timeline: seconds shown (default 0.4)"},
    {"width", 0, "PX", CN_ARG_INT, F(width), 200, 20000, 0,
     "timeline: picture width (default 1800)"},
    {"help", 'h', NULL, CN_ARG_FLAG, F(help), 0, 0, 0, "show this help"},
};
#undef F

static int tl_positional(void *cfg, const char *word, cn_err_t *err) {
  tl_args_t *a = cfg;
  if (a->trace)
    return cn_err_set(err, CN_EINVAL, "timeline: one trace only (%s)", word);
  a->trace = word;
  return 0;
}

static const cn_optset_t tl_set = {
    tl_options, sizeof tl_options / sizeof tl_options[0], tl_positional};

void cn_app_timeline_man(FILE *f) { cn_opt_print_man(&tl_set, f); }

typedef struct lane {
  json_int_t pid, tid;
  const char *name; /* owned by the JSON */
  json_int_t sort;
} lane_t;

typedef struct timeline {
  json_t *events;
  lane_t *lanes;
  int nlanes;
  double t_first, t_from, t_to; /* µs, as in the file */
  double x0, px_per_us, lane_h, top;
} timeline_t;

#define LANE_H 34.0
#define LABEL_W 150.0
#define TOP 46.0

static const char *str(json_t *e, const char *k) {
  const char *s = json_string_value(json_object_get(e, k));
  return s ? s : "";
}

static double num(json_t *e, const char *k) {
  return json_number_value(json_object_get(e, k));
}

static int find_lane(timeline_t *t, json_int_t pid, json_int_t tid) {
  for (int i = 0; i < t->nlanes; i++)
    if (t->lanes[i].pid == pid && t->lanes[i].tid == tid)
      return i;
  return -1;
}

/* Adds the lane of (pid, tid) if new; returns its index or -1 (memory). */
static int add_lane(timeline_t *t, json_int_t pid, json_int_t tid) {
  int i = find_lane(t, pid, tid);
  if (i >= 0)
    return i;
  lane_t *l = realloc(t->lanes, (size_t)(t->nlanes + 1) * sizeof *l);
  if (!l)
    return -1;
  t->lanes = l;
  l[t->nlanes] = (lane_t){pid, tid, NULL, 1000000 + t->nlanes};
  return t->nlanes++;
}

static int cmp_lane(const void *a, const void *b) {
  const lane_t *x = a, *y = b;
  if (x->sort != y->sort)
    return x->sort < y->sort ? -1 : 1;
  return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Lanes: every thread with a span or instant, named by the metadata. */
static int collect_lanes(timeline_t *t) {
  size_t i;
  json_t *e;
  t->t_first = INFINITY;
  json_array_foreach(t->events, i, e) {
    const char *ph = str(e, "ph");
    json_int_t pid = json_integer_value(json_object_get(e, "pid"));
    json_int_t tid = json_integer_value(json_object_get(e, "tid"));
    if (!strcmp(ph, "X") || !strcmp(ph, "i")) {
      if (add_lane(t, pid, tid) < 0)
        return CN_ENOMEM;
      t->t_first = fmin(t->t_first, num(e, "ts"));
    }
  }
  json_array_foreach(t->events, i, e) {
    if (strcmp(str(e, "ph"), "M"))
      continue;
    int k = find_lane(t, json_integer_value(json_object_get(e, "pid")),
                      json_integer_value(json_object_get(e, "tid")));
    json_t *args = json_object_get(e, "args");
    if (k >= 0 && !strcmp(str(e, "name"), "thread_name"))
      t->lanes[k].name = str(args, "name");
    if (k >= 0 && !strcmp(str(e, "name"), "thread_sort_index"))
      t->lanes[k].sort =
          json_integer_value(json_object_get(args, "sort_index"));
  }
  qsort(t->lanes, (size_t)t->nlanes, sizeof *t->lanes, cmp_lane);
  return 0;
}

static double xof(const timeline_t *t, double ts) {
  return t->x0 + (ts - t->t_from) * t->px_per_us;
}

static double yof(const timeline_t *t, json_t *e) {
  int k =
      find_lane((timeline_t *)t, json_integer_value(json_object_get(e, "pid")),
                json_integer_value(json_object_get(e, "tid")));
  return k < 0 ? -1 : t->top + k * t->lane_h;
}

/* A fixed colour per span name; others grey. */
static void colour(cairo_t *cr, const char *name) {
  static const struct {
    const char *name;
    double r, g, b;
  } table[] = {
      {"receive", .55, .75, .95},      {"decode", .25, .5, .85},
      {"capture", .7, .8, .9},         {"wait in slot", .95, .85, .55},
      {"develop", .6, .85, .6},        {"preprocess", .35, .7, .4},
      {"inference", .95, .55, .3},     {"output decoding", .8, .45, .7},
      {"draw", .65, .55, .85},         {"output json", .5, .5, .5},
      {"output picture", .45, .4, .7}, {"grab", .25, .5, .85},
      {"copy", .6, .85, .6},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(name, table[i].name)) {
      cairo_set_source_rgb(cr, table[i].r, table[i].g, table[i].b);
      return;
    }
  cairo_set_source_rgb(cr, .75, .75, .75);
}

/* Lane names, stripes and the time axis (every 10 or 50 ms). */
static void draw_frame(cairo_t *cr, const timeline_t *t, double w, double h) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_font_size(cr, 12);
  for (int k = 0; k < t->nlanes; k++) {
    double y = t->top + k * t->lane_h;
    cairo_set_source_rgb(cr, k % 2 ? 1 : .96, k % 2 ? 1 : .96, k % 2 ? 1 : .96);
    cairo_rectangle(cr, 0, y, w, t->lane_h);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, 6, y + t->lane_h / 2 + 4);
    char buf[96];
    snprintf(buf, sizeof buf, "%s",
             t->lanes[k].name ? t->lanes[k].name : "thread");
    cairo_show_text(cr, buf);
  }
  double span_ms = (t->t_to - t->t_from) / 1000.0;
  double step = span_ms > 600 ? 100 : span_ms > 150 ? 50 : 10;
  cairo_set_line_width(cr, 0.5);
  for (double ms = ceil((t->t_from - t->t_first) / 1000.0 / step) * step;
       t->t_first + ms * 1000.0 <= t->t_to; ms += step) {
    double x = xof(t, t->t_first + ms * 1000.0);
    cairo_set_source_rgb(cr, .8, .8, .8);
    cairo_move_to(cr, x, t->top - 4);
    cairo_line_to(cr, x, h - 4);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, .3, .3, .3);
    cairo_move_to(cr, x + 2, t->top - 8);
    char buf[32];
    snprintf(buf, sizeof buf, "%.0f ms", ms);
    cairo_show_text(cr, buf);
  }
}

static json_int_t frame_of(json_t *e) {
  json_t *f = json_object_get(json_object_get(e, "args"), "frame");
  return json_is_integer(f) ? json_integer_value(f) : -1;
}

static int cmp_longer(const void *a, const void *b) {
  double x = num(*(json_t *const *)a, "dur"),
         y = num(*(json_t *const *)b, "dur");
  return x > y ? -1 : x < y;
}

/* The spans in the window, longest first: a span nested in another (a
 * receive inside its capture) is drawn on top of it. NULL: none/memory. */
static json_t **window_spans(const timeline_t *t, size_t *n) {
  json_t **v = malloc((json_array_size(t->events) + 1) * sizeof *v);
  size_t i;
  json_t *e;
  *n = 0;
  json_array_foreach(t->events, i, e) {
    double ts = num(e, "ts"), dur = num(e, "dur");
    if (v && !strcmp(str(e, "ph"), "X") && ts <= t->t_to &&
        ts + dur >= t->t_from && yof(t, e) >= 0)
      v[(*n)++] = e;
  }
  if (v)
    qsort(v, *n, sizeof *v, cmp_longer);
  return v;
}

/* Spans as boxes with the frame number inside when it fits. */
static void draw_spans(cairo_t *cr, const timeline_t *t) {
  size_t n = 0;
  json_t **v = window_spans(t, &n);
  cairo_set_font_size(cr, 10);
  for (size_t i = 0; i < n; i++) {
    json_t *e = v[i];
    double ts = num(e, "ts"), dur = num(e, "dur");
    double y = yof(t, e);
    double x0 = fmax(xof(t, ts), t->x0), x1 = xof(t, ts + dur);
    double bw = fmax(x1 - x0, 1.0);
    colour(cr, str(e, "name"));
    cairo_rectangle(cr, x0, y + 5, bw, t->lane_h - 10);
    cairo_fill_preserve(cr);
    cairo_set_source_rgba(cr, 0, 0, 0, .5);
    cairo_set_line_width(cr, .5);
    cairo_stroke(cr);
    json_int_t fr = frame_of(e);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)fr);
    cairo_text_extents_t te;
    cairo_text_extents(cr, buf, &te);
    if (fr >= 0 && te.width + 4 < bw) {
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_move_to(cr, x0 + (bw - te.width) / 2, y + t->lane_h / 2 + 4);
      cairo_show_text(cr, buf);
    }
  }
  free(v);
}

/* Drops: a red cross with the frame number above. */
static void draw_instants(cairo_t *cr, const timeline_t *t) {
  size_t i;
  json_t *e;
  cairo_set_font_size(cr, 9);
  json_array_foreach(t->events, i, e) {
    double ts = num(e, "ts"), y = yof(t, e);
    if (strcmp(str(e, "ph"), "i") || y < 0 || ts < t->t_from || ts > t->t_to)
      continue;
    double x = xof(t, ts), c = y + t->lane_h - 8;
    cairo_set_source_rgb(cr, .85, 0, 0);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x - 4, c - 4);
    cairo_line_to(cr, x + 4, c + 4);
    cairo_move_to(cr, x - 4, c + 4);
    cairo_line_to(cr, x + 4, c - 4);
    cairo_stroke(cr);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)frame_of(e));
    cairo_move_to(cr, x + 5, c + 3);
    cairo_show_text(cr, buf);
  }
}

static void arrow(cairo_t *cr, double x0, double y0, double x1, double y1) {
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
  cairo_stroke(cr);
  double a = atan2(y1 - y0, x1 - x0);
  cairo_move_to(cr, x1, y1);
  cairo_line_to(cr, x1 - 7 * cos(a - .4), y1 - 7 * sin(a - .4));
  cairo_line_to(cr, x1 - 7 * cos(a + .4), y1 - 7 * sin(a + .4));
  cairo_close_path(cr);
  cairo_fill(cr);
}

/* Flows: "s" (end of the capture) to the "f" with the same id. */
static void draw_flows(cairo_t *cr, const timeline_t *t) {
  size_t i, j;
  json_t *s, *f;
  cairo_set_source_rgba(cr, .1, .1, .1, .7);
  cairo_set_line_width(cr, 1);
  json_array_foreach(t->events, i, s) {
    double t_s = num(s, "ts");
    if (strcmp(str(s, "ph"), "s") || t_s > t->t_to || t_s < t->t_from - 1e6)
      continue;
    json_t *id = json_object_get(s, "id");
    json_array_foreach(t->events, j, f) {
      if (strcmp(str(f, "ph"), "f") ||
          !json_equal(id, json_object_get(f, "id")))
        continue;
      double ts = num(s, "ts"), tf = num(f, "ts");
      double ys = yof(t, s), yf = yof(t, f);
      if (ys >= 0 && yf >= 0 && tf >= t->t_from && ts <= t->t_to)
        arrow(cr, xof(t, ts), ys + t->lane_h - 5, xof(t, tf), yf + 5);
      break;
    }
  }
}

static void draw_title(cairo_t *cr, const char *title) {
  cairo_set_font_size(cr, 13);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, 6, 16);
  cairo_show_text(cr, title);
}

static void draw(cairo_t *cr, const timeline_t *t, double w, double h,
                 const char *title) {
  draw_frame(cr, t, w, h);
  draw_spans(cr, t);
  draw_instants(cr, t);
  draw_flows(cr, t);
  draw_title(cr, title);
}

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), k = strlen(tail);
  return n >= k && !strcmp(s + n - k, tail);
}

/* Draws onto the kind of surface the file name asks for. */
static int render(timeline_t *t, const tl_args_t *a) {
  double w = (double)a->width, h = TOP + t->nlanes * LANE_H + 10;
  bool png = ends_with(a->out, ".png");
  cairo_surface_t *s =
      png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h)
          : cairo_svg_surface_create(a->out, w, h);
  cairo_t *cr = cairo_create(s);
  t->x0 = LABEL_W;
  t->top = TOP;
  t->lane_h = LANE_H;
  t->px_per_us = (w - LABEL_W - 10) / (t->t_to - t->t_from);
  char title[512];
  snprintf(
      title, sizeof title,
      "%s: %.0f to %.0f ms; boxes: spans labelled with their frame; red "
      "crosses: dropped frames; arrows: capture -> the result that used it",
      a->trace, (t->t_from - t->t_first) / 1000.0,
      (t->t_to - t->t_first) / 1000.0);
  draw(cr, t, w, h, title);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  if (png && st == CAIRO_STATUS_SUCCESS)
    st = cairo_surface_write_to_png(s, a->out);
  cairo_surface_finish(s);
  if (st == CAIRO_STATUS_SUCCESS)
    st = cairo_surface_status(s);
  cairo_surface_destroy(s);
  if (st != CAIRO_STATUS_SUCCESS) {
    fprintf(stderr, "camnet timeline: %s: %s\n", a->out,
            cairo_status_to_string(st));
    return 1;
  }
  return 0;
}

static int load(timeline_t *t, const tl_args_t *a, json_t **root) {
  json_error_t je;
  *root = json_load_file(a->trace, 0, &je);
  if (!*root) {
    fprintf(stderr, "camnet timeline: %s: line %d: %s\n", a->trace, je.line,
            je.text);
    return 1;
  }
  t->events =
      json_is_array(*root) ? *root : json_object_get(*root, "traceEvents");
  if (!json_is_array(t->events)) {
    fprintf(stderr, "camnet timeline: %s: no traceEvents array\n", a->trace);
    return 1;
  }
  if (collect_lanes(t)) {
    fprintf(stderr, "camnet timeline: out of memory\n");
    return 1;
  }
  if (!t->nlanes) {
    fprintf(stderr, "camnet timeline: %s: no spans\n", a->trace);
    return 1;
  }
  return 0;
}

/* The last event's end, for the default window. */
static double t_last(const timeline_t *t) {
  double last = t->t_first;
  size_t i;
  json_t *e;
  json_array_foreach(t->events, i, e) {
    if (!strcmp(str(e, "ph"), "X") || !strcmp(str(e, "ph"), "i"))
      last = fmax(last, num(e, "ts") + num(e, "dur"));
  }
  return last;
}

int cn_app_timeline(int argc, char **argv) {
  tl_args_t a = {.span = 0.4, .width = 1800, .from = -1};
  cn_err_t err = {0};
  if (cn_opt_parse(&tl_set, &a, argc, argv, 2, &err)) {
    fprintf(stderr, "camnet timeline: %s\n", err.msg);
    return 2;
  }
  if (a.help) {
    printf("usage: camnet timeline TRACE --out FILE.svg|FILE.png\n");
    cn_opt_print_help(&tl_set, stdout);
    return 0;
  }
  if (!a.trace || !a.out ||
      (!ends_with(a.out, ".svg") && !ends_with(a.out, ".png"))) {
    fprintf(stderr, "camnet timeline: usage: camnet timeline TRACE --out "
                    "FILE.svg|FILE.png\n");
    return 2;
  }
  timeline_t t = {0};
  json_t *root = NULL;
  int rc = load(&t, &a, &root);
  if (!rc) {
    double len = t_last(&t) - t.t_first;
    double from = a.from >= 0 ? a.from * 1e6 : len > 2e6 ? 1e6 : 0;
    t.t_from = t.t_first + from;
    t.t_to = t.t_from + a.span * 1e6;
    rc = render(&t, &a);
  }
  free(t.lanes);
  json_decref(root);
  return rc;
}
