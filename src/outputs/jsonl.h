/* cn_jsonl: JSON Lines output, one object per delivered frame.
 *
 * Record (see docs/formats.md):
 *   {"source":0,"frame":17,"pts":0.567,"t_capture":12.345678,
 *    "t_decode":12.3461,"t_out":12.351,"age_ms":5.3}
 * Times are CLOCK_MONOTONIC seconds; pts is the source's own clock in
 * seconds or null. With a model (cn_jsonl_set_task) records also carry
 * "infer_ms", "latency_ms" (capture -> result) and the results: "top"
 * (classification) or "boxes" (detection), in source pixels.
 *
 * The writer reuses its JSON objects (jansson) for every record, result
 * entries and label strings included, so writing does not build a new
 * tree per frame. Writing to "-" flushes each
 * line (for pipes); files are flushed at close.
 *
 * Threads: cn_jsonl_write may be called from any thread (serialised
 * inside); open/close from the controlling thread.
 */
#ifndef CN_JSONL_H
#define CN_JSONL_H

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/labels.h"
#include "camnet/result.h"

typedef struct cn_jsonl cn_jsonl_t;

/* path "-" is stdout. Fails with "PATH: <reason>". */
int cn_jsonl_open(const char *path, cn_jsonl_t **out, cn_err_t *err);

/* Adds the result fields of task to every record; labels (may be NULL)
 * must outlive the writer. Call once, before the first write. */
int cn_jsonl_set_task(cn_jsonl_t *w, cn_task_t task, const cn_labels_t *labels,
                      cn_err_t *err);

/* Writes the record of frame f, stamping f->t_out. res is the frame's own
 * result (NULL without a model); times come from f's stamps. */
int cn_jsonl_write(cn_jsonl_t *w, cn_frame_t *f, const cn_result_t *res,
                   cn_err_t *err);

/* Flushes and closes; returns a write error seen at any point. NULL ok. */
int cn_jsonl_close(cn_jsonl_t *w, cn_err_t *err);

#endif
