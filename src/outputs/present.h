/* cn_present: the picture fan-out. Annotated pictures (canvases) are
 * drawn by the renderers the plan names (plan.h) and handed here, once,
 * for every sink that renderer feeds: the window, the recording,
 * snapshots, the HTTP live view (only while someone watches).
 *
 * A renderer asks cn_present_wants() which sinks want its picture of a
 * source now (the plan, narrowed by the source the window shows), takes
 * a canvas from the pool (cn_present_canvas), draws on it and gives it
 * to cn_present_deliver(). Canvases come from a fixed pool: when all are
 * in flight (the recorder is behind) the picture is skipped and counted,
 * never allocated.
 *
 * Ownership: the window and the recorder are borrowed (the run opens and
 * closes them; the window belongs to the main thread); they must outlive
 * the presenter. Canvases returned by cn_present_canvas are the caller's
 * reference.
 * Threads: wants/canvas/deliver from any renderer thread; show, shown and
 * the snapshot of the window from any thread.
 * Errors: deliver returns the recorder's failure (fatal for the run);
 * snapshots that fail to write are logged and the run goes on.
 */
#ifndef CN_PRESENT_H
#define CN_PRESENT_H

#include <stdint.h>

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/log.h"
#include "outputs/http.h"
#include "outputs/plan.h"
#include "camnet/record.h"
#include "camnet/window.h"

typedef struct cn_present cn_present_t;

typedef struct cn_present_opts {
  cn_plan_t plan;
  cn_window_t *window;      /* NULL: none */
  cn_recorder_t *rec;       /* NULL: none; pictures of the first source */
  cn_http_t *http;          /* NULL: none; pictures of every source */
  int64_t snapshot_every;   /* every Nth picture snapshots feed; 0: none */
  const char *snapshot_dir; /* copied */
  int nsources;             /* > 1: snapshot names carry the source */
  const cn_logger_t *log;
} cn_present_opts_t;

int cn_present_create(const cn_present_opts_t *opts, cn_present_t **out,
                      cn_err_t *err);
void cn_present_destroy(cn_present_t *p); /* NULL is a no-op */

/* The sinks (CN_SINK_BIT mask) renderer r should draw source k's next
 * picture for; 0: none, skip the drawing. */
unsigned cn_present_wants(cn_present_t *p, cn_renderer_t r, int k);

/* The same for a NO SIGNAL picture, which raw HTTP viewers see too. */
unsigned cn_present_wants_nosignal(cn_present_t *p, cn_renderer_t r, int k);

/* Hands renderer r's frame f (developed, before drawing) to the HTTP
 * viewers of the raw pictures of its source, if any. */
void cn_present_raw(cn_present_t *p, cn_renderer_t r, cn_frame_t *f);

/* A canvas for a picture going to sinks; NULL when every canvas is in
 * flight (the picture is skipped; counted when it was to be recorded). */
cn_frame_t *cn_present_canvas(cn_present_t *p, unsigned sinks);

/* Hands the drawn canvas (its source and seq set; seq 0: a NO SIGNAL
 * picture) to each of sinks. The
 * caller keeps its reference. Returns 0, or the recorder's error. */
int cn_present_deliver(cn_present_t *p, cn_frame_t *canvas, unsigned sinks,
                       cn_err_t *err);

/* The source the window shows (Tab). */
void cn_present_show(cn_present_t *p, int k);
int cn_present_shown(const cn_present_t *p);

/* Writes the picture the window shows as a snapshot (the S key); path
 * receives its file name. Returns 0, 1 when there is no picture yet, or
 * the write error. */
int cn_present_snapshot_window(cn_present_t *p, char *path, size_t n,
                               cn_err_t *err);

/* Pictures not recorded for want of a canvas. */
uint64_t cn_present_rec_skipped(const cn_present_t *p);

#endif
