/* cn_jsonl: JSON Lines output, one object per delivered frame and one per
 * change of a live source's state.
 *
 * Records (see docs/formats.md):
 *   {"type":"frame","source":0,"name":"cam","frame":17,"pts":0.567,
 *    "t_capture":12.345678,"t_wall":1764660000.123,"t_decode":12.3461,
 *    "t_out":12.351,"age_ms":5.3}
 *   {"type":"source","source":0,"name":"cam","online":false,
 *    "reason":"rtsp://host/x: connection refused","t_state":15.2,
 *    "t_wall":1764660003.1}
 * t_wall is CLOCK_REALTIME (epoch seconds, ms resolution), every other
 * time CLOCK_MONOTONIC seconds; pts is the source's own clock in seconds
 * or null. With a model (cn_jsonl_set_task) records also carry
 * "infer_ms", "latency_ms" (capture -> result) and the results: "top"
 * (classification) or "boxes" (detection), in source pixels.
 *
 * The writer reuses its JSON objects (jansson) for every record, result
 * entries and label strings included, so writing does not build a new
 * tree per frame. Each record is serialized once, into a reused buffer,
 * and handed to every record sink (in the program: outputs/fanout.h).
 *
 * Threads: cn_jsonl_write may be called from any thread (serialised
 * inside); create/destroy from the controlling thread.
 */
#ifndef CAMNET_JSONL_H
#define CAMNET_JSONL_H

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/labels.h"
#include "camnet/result.h"

typedef struct cn_jsonl cn_jsonl_t;

/* Opens a writer whose records go to the file at path ("-": stdout),
 * written by a thread of its own (the caller never waits on the disk
 * unless it falls 32 records behind). Fails with "PATH: <reason>". */
CN_API int cn_jsonl_open(const char *path, cn_jsonl_t **out, cn_err_t *err);

/* Adds the result fields of task to every record; labels (may be NULL)
 * must outlive the writer. Call once, before the first write. */
CN_API int cn_jsonl_set_task(cn_jsonl_t *w, cn_task_t task,
                             const cn_labels_t *labels, cn_err_t *err);

/* Names records' sources (names[i] for source i; copied). Call once,
 * before the first write; without it "name" is null. */
CN_API int cn_jsonl_set_names(cn_jsonl_t *w, const char *const *names, int n,
                              cn_err_t *err);

/* Writes the record of frame f, stamping f->t_out. res is the frame's own
 * result (NULL without a model); times come from f's stamps. */
CN_API int cn_jsonl_write(cn_jsonl_t *w, cn_frame_t *f, const cn_result_t *res,
                          cn_err_t *err);

/* Writes a source record: source went online or offline (reason: why,
 * NULL when online) at monotonic time t_state (ns). */
CN_API int cn_jsonl_write_source(cn_jsonl_t *w, int source, bool online,
                                 const char *reason, int64_t t_state,
                                 cn_err_t *err);

/* Writes what is queued, closes the file and frees the writer; returns
 * the first write error seen at any point. NULL ok. */
CN_API int cn_jsonl_close(cn_jsonl_t *w, cn_err_t *err);

#endif
