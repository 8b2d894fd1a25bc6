/* cn_trace: per-frame spans in Chrome trace-event JSON (--trace FILE),
 * for Perfetto, chrome://tracing and `camnet timeline`.
 *
 * Each thread that records registers once (cn_trace_thread) and gets a
 * ring of its own, preallocated: recording an event writes one fixed-size
 * record and publishes it with one atomic store, no lock, no allocation,
 * no formatting. A writer thread drains every ring to the file about ten
 * times a second (and at close). A full ring drops the new event and
 * counts it: tracing never makes a stage wait. Names come from a fixed
 * table (cn_trace_name_t); numbers are printed in a fixed format; only
 * the thread names go through jansson.
 *
 * Off: a NULL tracer gives NULL rings, and every hook is one test of a
 * pointer (cn_trace_on). Built with -DCN_TRACE=OFF (CN_NO_TRACE) the hooks
 * compile to nothing; scripts/trace-cost.sh compares the two builds'
 * instruction counts under callgrind.
 *
 * Events: a span is [t0, t1] on the recording thread with the frame's
 * source and seq as arguments; CN_TR_SLOT spans (the frame waiting in a
 * source's latest-frame slot, from put to take or drop) go on a lane of
 * their own per source, "slot K"; a drop is an instant on the capture
 * thread; a flow (the arrow from a capture to the result that used it)
 * starts at the end of the frame's capture on source K's capture thread
 * and ends at t1 on the recording thread.
 *
 * Threads: open/close from one controlling thread, after every recording
 * thread has stopped recording; cn_trace_thread from any thread (one ring
 * per calling thread); a ring is written only by its thread.
 * Errors: open names the file; close reports a write error or how many
 * events were lost to full rings, as a one-line message.
 */
#ifndef CN_CORE_TRACE_H
#define CN_CORE_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "camnet/error.h"

typedef enum cn_trace_name {
  CN_TR_RECEIVE,     /* capture: read the packet (network, file, device) */
  CN_TR_DECODE,      /* capture: decode it */
  CN_TR_CAPTURE,     /* capture: one whole read (receive + decode) */
  CN_TR_SLOT,        /* waiting in the slot, put -> take or drop */
  CN_TR_DEVELOP,     /* consumer: pixels made (BGR or YUV) */
  CN_TR_PREPROCESS,  /* stage: frame -> input tensor */
  CN_TR_INFERENCE,   /* stage: the network */
  CN_TR_OUTDECODE,   /* stage: output decoding (top-k, boxes) */
  CN_TR_DRAW,        /* overlay on the canvas */
  CN_TR_OUT_JSON,    /* the JSON record written */
  CN_TR_OUT_PICTURE, /* the canvas handed to window/recorder/snapshots */
  CN_TR_DROP,        /* instant: replaced in the slot before any take */
  CN_TR_FLOW,        /* flow: capture -> result */
  CN_TR_NAMES
} cn_trace_name_t;

typedef struct cn_trace cn_trace_t;
typedef struct cn_trace_ring cn_trace_ring_t;

/* Creates FILE and starts the writer. Errors: the file cannot be created
 * (CN_EIO, naming it), CN_ENOMEM. */
int cn_trace_open(const char *path, cn_trace_t **out, cn_err_t *err);

/* Drains every ring, ends the JSON and closes the file. Returns 0 or
 * CN_EIO (a write failed); *lost (may be NULL) gets the number of events
 * dropped by full rings. NULL is a no-op. */
int cn_trace_close(cn_trace_t *t, uint64_t *lost, cn_err_t *err);

/* The calling thread's ring, named for its lane ("capture 0", "infer 0");
 * source >= 0 with capture set: this thread captures that source (flows
 * start on it). NULL when t is NULL or all rings are taken. Call once per
 * thread, outside the hot path (it takes a lock). */
cn_trace_ring_t *cn_trace_thread(cn_trace_t *t, const char *name, int source,
                                 bool capture);

/* Hot path, owner thread only: no lock, no allocation. */
void cn__trace_put(cn_trace_ring_t *r, cn_trace_name_t name, int source,
                   uint64_t frame, int64_t t0, int64_t t1);

#ifdef CN_NO_TRACE
#define cn_trace_on(r) ((void)(r), 0)
#else
#define cn_trace_on(r) ((r) != NULL)
#endif

/* A span [t0, t1] (ns, cn_clock_now) of frame (source, seq). */
static inline void cn_trace_span(cn_trace_ring_t *r, cn_trace_name_t name,
                                 int source, uint64_t frame, int64_t t0,
                                 int64_t t1) {
  if (cn_trace_on(r))
    cn__trace_put(r, name, source, frame, t0, t1);
}

/* An instant at t (CN_TR_DROP). */
static inline void cn_trace_instant(cn_trace_ring_t *r, cn_trace_name_t name,
                                    int source, uint64_t frame, int64_t t) {
  cn_trace_span(r, name, source, frame, t, t);
}

#endif
