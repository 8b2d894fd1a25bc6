/* cn_fanout: records (JSON Lines text) to every record sink, serialized
 * once. The JSON file is a sink today; SSE or MQTT are sinks tomorrow,
 * each one file that fills a cn_rsink_ops_t and calls cn_fanout_add.
 *
 * A producer takes a buffer (cn_fanout_buffer), writes one record into
 * it and publishes it; the fan-out queues a reference to the buffer on
 * each sink's bounded queue, and each sink's own thread writes it, so a
 * slow sink never holds up the others' I/O. A sink's queue, when full,
 * either makes the producer wait (a file: every record must be written;
 * offline work relies on it) or drops the record and counts it (a
 * network client that cannot keep up).
 *
 * No allocation per record: the buffers (CN_FANOUT_BUFFERS of 4 KB) and
 * queues are made at create/add; a buffer grows only when a record larger
 * than it first appears, and keeps its size.
 *
 * Ownership: sinks' contexts belong to the fan-out from cn_fanout_add
 * (closed by their ops' close in cn_fanout_close).
 * Threads: buffer/publish from any thread (publishers are serialised by
 * the caller's own lock when records must keep their order); add/close
 * from the controlling thread, before the first / after the last
 * publish.
 * Errors: a waiting sink's write error is sticky: publish returns it
 * from then on (the run stops), close returns it again.
 */
#ifndef CN_FANOUT_H
#define CN_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "camnet/error.h"

#define CN_FANOUT_BUFFERS 64
#define CN_FANOUT_MAX_SINKS 8

typedef struct cn_fanout cn_fanout_t;

/* One record being written: data[0..len) (no trailing newline; the sink
 * adds its own framing). */
typedef struct cn_rbuf {
  char *data;
  size_t len, cap;
} cn_rbuf_t;

typedef struct cn_rsink_ops {
  const char *name;
  /* Writes one record; returns 0 or an error (in err). Sink thread. */
  int (*write)(void *ctx, const char *rec, size_t len, cn_err_t *err);
  /* Optional: the queue is empty, make what was written visible (a file
   * is then current whenever camnet is idle). Sink thread. */
  int (*flush)(void *ctx, cn_err_t *err);
  /* Flushes and frees ctx; returns a failure seen. Controlling thread. */
  int (*close)(void *ctx, cn_err_t *err);
} cn_rsink_ops_t;

int cn_fanout_create(cn_fanout_t **out, cn_err_t *err);

/* Adds a sink with a queue of depth records (0: 32); drop: drop records
 * when the queue is full instead of waiting. Starts its thread. On
 * failure ctx is closed. */
int cn_fanout_add(cn_fanout_t *fo, const cn_rsink_ops_t *ops, void *ctx,
                  int depth, bool drop, cn_err_t *err);

/* Number of sinks added. */
int cn_fanout_sinks(const cn_fanout_t *fo);

/* A free buffer (len 0), waiting while all are queued. */
cn_rbuf_t *cn_fanout_buffer(cn_fanout_t *fo);

/* Makes b->cap at least need (grows once; the buffer keeps the size).
 * Returns 0 or CN_ENOMEM. */
int cn_rbuf_reserve(cn_rbuf_t *b, size_t need);

/* Queues b for every sink (b is the fan-out's again; an empty b is only
 * given back). Returns 0 or a
 * waiting sink's write error. */
int cn_fanout_publish(cn_fanout_t *fo, cn_rbuf_t *b, cn_err_t *err);

/* Records sink i dropped for a full queue. */
uint64_t cn_fanout_dropped(const cn_fanout_t *fo, int i);

/* Drains every queue, stops the threads, closes the sinks and frees.
 * Returns the first error seen. NULL is a no-op. */
int cn_fanout_close(cn_fanout_t *fo, cn_err_t *err);

/* The JSON Lines file sink (sink_file.c): one record per line at path
 * ("-": stdout, flushed per line). Fails with "PATH: cannot write: why". */
int cn_sink_file_add(cn_fanout_t *fo, const char *path, cn_err_t *err);

#endif
