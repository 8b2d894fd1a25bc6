/* cn_jsonl: JSON Lines output, one object per delivered frame.
 *
 * Record (see docs/formats.md):
 *   {"source":0,"frame":17,"pts":0.567,"t_capture":12.345678,
 *    "t_decode":12.3461,"t_out":12.351,"age_ms":5.3}
 * Times are CLOCK_MONOTONIC seconds; pts is the source's own clock in
 * seconds or null. Later stages add fields through cn_jsonl_record_t.
 *
 * The writer reuses its JSON objects (jansson) for every record, so
 * writing does not build a new tree per frame. Writing to "-" flushes each
 * line (for pipes); files are flushed at close.
 *
 * Threads: cn_jsonl_write may be called from any thread (serialised
 * inside); open/close from the controlling thread.
 */
#ifndef CN_JSONL_H
#define CN_JSONL_H

#include "core/error.h"
#include "core/frame.h"

typedef struct cn_jsonl cn_jsonl_t;

/* path "-" is stdout. Fails with "PATH: <reason>". */
int cn_jsonl_open(const char *path, cn_jsonl_t **out, cn_err_t *err);

/* Writes the record of frame f, stamping f->t_out. */
int cn_jsonl_write(cn_jsonl_t *w, cn_frame_t *f, cn_err_t *err);

/* Flushes and closes; returns a write error seen at any point. NULL ok. */
int cn_jsonl_close(cn_jsonl_t *w, cn_err_t *err);

#endif
