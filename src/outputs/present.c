#include "outputs/present.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "camnet/pool.h"
#include "camnet/overlay.h"

/* Canvases in flight: the window holds two, the recorder queues a few. */
#define CANVASES 16

struct cn_present {
  cn_present_opts_t o;
  char *snapshot_dir;
  cn_pool_t *canvases;
  atomic_int shown;
  atomic_uint_fast64_t presented; /* pictures that count for snapshots */
  atomic_uint_fast64_t rec_skipped;
  atomic_uint_fast64_t nosignal; /* NO SIGNAL snapshots written */
};

/* Snapshots are written while the run goes: a directory that cannot take
 * them is reported at start, once, not as a warning per picture. */
static int check_snapshot_dir(const char *dir, cn_err_t *err) {
  struct stat st;
  if (stat(dir, &st) != 0)
    return cn_err_set(err, cn_err_from_errno(errno),
                      "option --snapshot-dir: %s: %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return cn_err_set(err, CN_EINVAL,
                      "option --snapshot-dir: %s: not a directory", dir);
  if (access(dir, W_OK | X_OK) != 0)
    return cn_err_set(err, cn_err_from_errno(errno),
                      "option --snapshot-dir: %s: cannot write there: %s", dir,
                      strerror(errno));
  return 0;
}

int cn_present_create(const cn_present_opts_t *opts, cn_present_t **out,
                      cn_err_t *err) {
  *out = NULL;
  if (opts->snapshot_every > 0) {
    int rc =
        check_snapshot_dir(opts->snapshot_dir ? opts->snapshot_dir : ".", err);
    if (rc)
      return rc;
  }
  cn_present_t *p = calloc(1, sizeof *p);
  if (!p)
    return cn_err_set(err, CN_ENOMEM, "presenter: out of memory");
  p->o = *opts;
  p->snapshot_dir = strdup(opts->snapshot_dir ? opts->snapshot_dir : ".");
  cn_pool_opts_t po = {.max_frames = CANVASES};
  if (!p->snapshot_dir || !(p->canvases = cn_pool_create(&po, err))) {
    cn_present_destroy(p);
    return cn_err_set(err, CN_ENOMEM, "presenter: out of memory");
  }
  *out = p;
  return 0;
}

void cn_present_destroy(cn_present_t *p) {
  if (!p)
    return;
  cn_pool_destroy(p->canvases);
  free(p->snapshot_dir);
  free(p);
}

unsigned cn_present_wants(cn_present_t *p, cn_renderer_t r, int k) {
  unsigned m = cn_plan_sinks(&p->o.plan, r, k);
  int shown = atomic_load(&p->shown);
  if (!p->o.window || shown != k)
    m &= ~CN_SINK_BIT(CN_SINK_WINDOW);
  /* Snapshots are of what the window shows (the first source when
   * there is no window). */
  if ((p->o.window && shown != k) || (!p->o.window && k != 0))
    m &= ~CN_SINK_BIT(CN_SINK_SNAPSHOTS);
  if (!p->o.rec || k != 0)
    m &= ~CN_SINK_BIT(CN_SINK_RECORD);
  if (!p->o.snapshot_every)
    m &= ~CN_SINK_BIT(CN_SINK_SNAPSHOTS);
  if (!cn_http_wants(p->o.http, k, CN_HTTP_ANNOTATED))
    m &= ~CN_SINK_BIT(CN_SINK_HTTP);
  return m;
}

unsigned cn_present_wants_nosignal(cn_present_t *p, cn_renderer_t r, int k) {
  unsigned m = cn_present_wants(p, r, k);
  if ((cn_plan_sinks(&p->o.plan, r, k) & CN_SINK_BIT(CN_SINK_HTTP)) &&
      cn_http_wants(p->o.http, k, CN_HTTP_RAW))
    m |= CN_SINK_BIT(CN_SINK_HTTP);
  return m;
}

void cn_present_raw(cn_present_t *p, cn_renderer_t r, cn_frame_t *f) {
  if ((cn_plan_sinks(&p->o.plan, r, f->source) & CN_SINK_BIT(CN_SINK_HTTP)) &&
      cn_http_wants(p->o.http, f->source, CN_HTTP_RAW))
    cn_http_post(p->o.http, f, CN_HTTP_RAW);
}

cn_frame_t *cn_present_canvas(cn_present_t *p, unsigned sinks) {
  cn_frame_t *canvas = cn_pool_get(p->canvases, NULL);
  /* Every canvas is still queued (the recorder is behind): count the
   * skip where the recording's drops are reported. */
  if (!canvas && (sinks & CN_SINK_BIT(CN_SINK_RECORD)))
    atomic_fetch_add(&p->rec_skipped, 1);
  return canvas;
}

/* camnet-000123.png for frame 123; with several sources, whose frame
 * numbers overlap, camnet-1-000123.png for source 1's. A NO SIGNAL
 * picture (seq 0) is camnet[-1]-nosignal-000001.png, numbered apart. */
static void snapshot_path(cn_present_t *p, const cn_frame_t *f, char *path,
                          size_t n) {
  char which[16] = "";
  if (p->o.nsources > 1)
    snprintf(which, sizeof which, "-%d", f->source);
  if (f->seq == 0)
    snprintf(path, n, "%s/camnet%s-nosignal-%06llu.png", p->snapshot_dir, which,
             (unsigned long long)atomic_fetch_add(&p->nosignal, 1) + 1);
  else
    snprintf(path, n, "%s/camnet%s-%06llu.png", p->snapshot_dir, which,
             (unsigned long long)f->seq);
}

int cn_present_deliver(cn_present_t *p, cn_frame_t *canvas, unsigned sinks,
                       cn_err_t *err) {
  /* Tab may have moved the window on while this picture was drawn. */
  if ((sinks & CN_SINK_BIT(CN_SINK_WINDOW)) &&
      canvas->source == atomic_load(&p->shown))
    cn_window_post(p->o.window, canvas);
  if (sinks & CN_SINK_BIT(CN_SINK_HTTP))
    cn_http_post(p->o.http, canvas, CN_HTTP_ANNOTATED);
  int rc = 0;
  if (sinks & CN_SINK_BIT(CN_SINK_RECORD)) {
    /* CN_EAGAIN (queue full, picture dropped and counted) is no error. */
    rc = p->o.plan.wait[CN_SINK_RECORD]
             ? cn_recorder_push_wait(p->o.rec, canvas, err)
             : cn_recorder_push(p->o.rec, canvas, err);
    if (rc == CN_EAGAIN)
      rc = 0;
  }
  if ((sinks & CN_SINK_BIT(CN_SINK_SNAPSHOTS)) &&
      (atomic_fetch_add(&p->presented, 1) + 1) %
              (uint64_t)p->o.snapshot_every ==
          0) {
    char path[4096];
    cn_err_t werr = {0};
    snapshot_path(p, canvas, path, sizeof path);
    if (cn_overlay_write_png(canvas, path, &werr))
      cn_log(p->o.log, CN_LOG_WARN, NULL, "%s", werr.msg);
  }
  return rc;
}

void cn_present_show(cn_present_t *p, int k) { atomic_store(&p->shown, k); }

int cn_present_shown(const cn_present_t *p) {
  return atomic_load(&((cn_present_t *)p)->shown);
}

int cn_present_snapshot_window(cn_present_t *p, char *path, size_t n,
                               cn_err_t *err) {
  cn_frame_t *f = p->o.window ? cn_window_last(p->o.window) : NULL;
  if (!f)
    return 1;
  snapshot_path(p, f, path, n);
  int rc = cn_overlay_write_png(f, path, err);
  cn_frame_unref(&f);
  return rc;
}

uint64_t cn_present_rec_skipped(const cn_present_t *p) {
  return p ? atomic_load(&((cn_present_t *)p)->rec_skipped) : 0;
}
