/* cn_slot: holds the newest frame of one source, and nothing older.
 *
 * Threads: cn_slot_put() is called only by the source's capture thread;
 * cn_slot_take() may be called from any number of consumer threads.
 *
 * Ownership: put() takes over the caller's reference to the frame and drops
 * the reference to the frame it replaces. take() returns a NEW reference
 * that the caller must cn_frame_unref().
 *
 * Semantics: the producer never blocks (except cn_slot_put_wait, the
 * --every-frame mode). A frame replaced before any consumer took it is
 * counted as dropped, never queued. take(after_seq) returns as soon as a
 * frame with seq > after_seq is in the slot, so a consumer that passes the
 * seq of the frame it last took never sees a frame twice; several puts
 * before a take give one wake-up and one frame, the newest. Waiting uses a
 * condition variable on CLOCK_MONOTONIC: no polling.
 *
 * Counting: every put frame ends up in exactly one of delivered (taken at
 * least once), dropped (replaced or discarded untaken) or pending (in the
 * slot, untaken), so put == delivered + dropped + pending at any time.
 */
#ifndef CN_SLOT_H
#define CN_SLOT_H

#include <stdint.h>

#include "camnet/frame.h"

typedef struct cn_slot cn_slot_t;

typedef struct cn_slot_counts {
  uint64_t put;       /* frames published */
  uint64_t delivered; /* frames taken by at least one consumer */
  uint64_t dropped;   /* frames replaced or discarded before any take */
  uint64_t pending;   /* 0 or 1: the untaken frame now in the slot */
} cn_slot_counts_t;

/* Returns NULL on allocation failure. */
cn_slot_t *cn_slot_create(void);

/* Drops the frame still held. NULL is a no-op. Consumers must be gone. */
void cn_slot_destroy(cn_slot_t *slot);

/* Publishes f (takes the caller's reference), replacing any older frame.
 * Returns the seq of the frame this put dropped (replaced untaken, or f
 * itself on a closed slot), 0 when none was (for traces). */
uint64_t cn_slot_put(cn_slot_t *slot, cn_frame_t *f);

/* Like put, but first waits until the frame in the slot has been taken,
 * so no frame is dropped (offline processing). Returns 0, or CN_ECLOSED
 * (the frame is released) once the slot is closed. */
int cn_slot_put_wait(cn_slot_t *slot, cn_frame_t *f);

/* Waits up to timeout_ns (<0: forever) for a frame with seq > after_seq.
 * Returns 0 with *out set to a new reference, CN_ETIMEDOUT, or CN_ECLOSED
 * when the slot is closed and holds nothing newer. The first take of a
 * frame stamps its t_take. */
int cn_slot_take(cn_slot_t *slot, uint64_t after_seq, int64_t timeout_ns,
                 cn_frame_t **out);

/* Drops the frame in the slot if no consumer took it (counted as dropped):
 * a source that went offline does not leave a stale frame for later. */
void cn_slot_drop_pending(cn_slot_t *slot);

/* Ends the stream: wakes every waiter; later puts discard their frame.
 * A frame already in the slot can still be taken. */
void cn_slot_close(cn_slot_t *slot);

void cn_slot_get_counts(cn_slot_t *slot, cn_slot_counts_t *out);

#endif
