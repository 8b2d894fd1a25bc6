/* cn_overlay: draws what the network saw onto a copy of the frame.
 *
 * render() copies a developed BGR24 frame into a BGRA canvas frame (cairo
 * draws 32-bit pixels) and draws, with cairo, on the canvas itself, so the
 * window, the recording and snapshots all show the same picture:
 *   - classification: the top-k lines "{prob:.4f} {label}" top-left, as the
 *     Jetson script drew them, white on a dark band (readable on any
 *     background);
 *   - detection: a box per detection with "label score" above it, and its
 *     keypoints;
 *   - a status line at the bottom: which source (when there are several),
 *     network fps, camera fps, age of the result, drops, and (live
 *     display) how many frames old the result is;
 *   - the help text when toggled on, on the line above the status line:
 *     "Esc" to Quit, "H" for Help, "F" to Toggle Fullscreen.
 * Boxes are in source pixels and scale with the frame. The status and
 * help lines shrink to fit narrow pictures; labels that are not UTF-8 are
 * drawn with '?' for the bad bytes.
 *
 * Threads: one overlay per thread.
 */
#ifndef CN_OVERLAY_H
#define CN_OVERLAY_H

#include "camnet/version.h"

#include <stdbool.h>

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/labels.h"
#include "camnet/result.h"

typedef struct cn_overlay cn_overlay_t;

typedef struct cn_overlay_info {
  int source, nsources; /* with nsources > 1, "[source N]" leads the status */
  double net_fps;       /* inferences per second */
  double cam_fps;       /* frames captured per second */
  double age_ms;        /* capture -> result of the drawn result */
  unsigned long long drops;
  long result_lag; /* live display: frames between result and picture;
                      <0: not shown */
  bool help;       /* draw the help text */
  bool offline;    /* the source is offline */
} cn_overlay_info_t;

/* labels may be NULL (class numbers are drawn). It must outlive the
 * overlay. */
CN_API int cn_overlay_create(const cn_labels_t *labels, cn_overlay_t **out,
                             cn_err_t *err);
CN_API void cn_overlay_destroy(cn_overlay_t *ov); /* NULL is a no-op */

/* Copies src (BGR24) into canvas (made BGRA at src's size with
 * cn_frame_alloc_pixels; the caller must hold its only reference) and
 * draws res (may be NULL) and info on it. Copies src's capture fields
 * (source, seq, pts, capture/decode/develop/take times), not the stage
 * stamps, which another thread may still be writing. */
CN_API int cn_overlay_render(cn_overlay_t *ov, const cn_frame_t *src,
                             cn_frame_t *canvas, const cn_result_t *res,
                             const cn_overlay_info_t *info, cn_err_t *err);

/* The picture consumers show for a live source that is offline. Its
 * background is this colour (documented: tests and users look for it). */
#define CN_NOSIGNAL_R 0x20
#define CN_NOSIGNAL_G 0x20
#define CN_NOSIGNAL_B 0x60

typedef struct cn_nosignal {
  const char *name;   /* the source's name */
  const char *reason; /* why it is offline ("" or NULL: not shown) */
  double offline_s;   /* how long it has been offline */
  int width, height;  /* picture size (the source's; 0: 640x480) */
} cn_nosignal_t;

/* Draws the NO SIGNAL picture on canvas (made BGRA at the given size; the
 * caller must hold its only reference): "NO SIGNAL", the name, the reason
 * and how long, centred on the background above. Leaves the canvas's
 * frame fields (source, seq, stamps) to the caller. */
CN_API int cn_overlay_nosignal(cn_overlay_t *ov, cn_frame_t *canvas,
                               const cn_nosignal_t *ns, cn_err_t *err);

/* Writes a BGRA canvas as PNG. */
CN_API int cn_overlay_write_png(const cn_frame_t *canvas, const char *path,
                                cn_err_t *err);

#endif
