#include "core/slot.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "camnet/clock.h"

struct cn_slot {
  pthread_mutex_t lock;
  pthread_cond_t fresh; /* a new frame arrived, or the slot closed */
  pthread_cond_t taken; /* the current frame was taken (put_wait waits) */
  cn_frame_t *cur;
  bool cur_taken;
  bool closed;
  cn_slot_counts_t counts;
};

cn_slot_t *cn_slot_create(void) {
  cn_slot_t *slot = calloc(1, sizeof *slot);
  if (!slot)
    return NULL;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&slot->lock, NULL);
  pthread_cond_init(&slot->fresh, &attr);
  pthread_cond_init(&slot->taken, &attr);
  pthread_condattr_destroy(&attr);
  return slot;
}

void cn_slot_destroy(cn_slot_t *slot) {
  if (!slot)
    return;
  cn_frame_unref(&slot->cur);
  pthread_cond_destroy(&slot->taken);
  pthread_cond_destroy(&slot->fresh);
  pthread_mutex_destroy(&slot->lock);
  free(slot);
}

/* Called with the lock held. Returns the replaced frame, to be released
 * after unlocking so a pool return never runs under the slot lock. */
static cn_frame_t *replace_locked(cn_slot_t *slot, cn_frame_t *f) {
  cn_frame_t *old = slot->cur;
  if (old && !slot->cur_taken) {
    slot->counts.dropped++;
    slot->counts.pending--;
  }
  slot->cur = f;
  slot->cur_taken = false;
  slot->counts.put++;
  slot->counts.pending++;
  pthread_cond_broadcast(&slot->fresh);
  return old;
}

uint64_t cn_slot_put(cn_slot_t *slot, cn_frame_t *f) {
  pthread_mutex_lock(&slot->lock);
  cn_frame_t *old;
  uint64_t dropped = 0;
  if (slot->closed) {
    slot->counts.put++;
    slot->counts.dropped++;
    old = f;
    dropped = f->seq;
  } else {
    bool untaken = slot->cur && !slot->cur_taken;
    old = replace_locked(slot, f);
    dropped = untaken ? old->seq : 0;
  }
  pthread_mutex_unlock(&slot->lock);
  cn_frame_unref(&old);
  return dropped;
}

int cn_slot_put_wait(cn_slot_t *slot, cn_frame_t *f) {
  pthread_mutex_lock(&slot->lock);
  while (!slot->closed && slot->cur && !slot->cur_taken)
    pthread_cond_wait(&slot->taken, &slot->lock);
  if (slot->closed) {
    pthread_mutex_unlock(&slot->lock);
    cn_frame_unref(&f);
    return CN_ECLOSED;
  }
  cn_frame_t *old = replace_locked(slot, f);
  pthread_mutex_unlock(&slot->lock);
  cn_frame_unref(&old);
  return 0;
}

int cn_slot_take(cn_slot_t *slot, uint64_t after_seq, int64_t timeout_ns,
                 cn_frame_t **out) {
  struct timespec deadline;
  if (timeout_ns >= 0) {
    int64_t t = cn_clock_now() + timeout_ns;
    deadline.tv_sec = (time_t)(t / CN_NS_PER_S);
    deadline.tv_nsec = (long)(t % CN_NS_PER_S);
  }
  int rc = 0;
  pthread_mutex_lock(&slot->lock);
  while (!(slot->cur && slot->cur->seq > after_seq)) {
    if (slot->closed) {
      rc = CN_ECLOSED;
      break;
    }
    if (timeout_ns < 0) {
      pthread_cond_wait(&slot->fresh, &slot->lock);
    } else if (pthread_cond_timedwait(&slot->fresh, &slot->lock, &deadline)) {
      if (!(slot->cur && slot->cur->seq > after_seq))
        rc = CN_ETIMEDOUT;
      break;
    }
  }
  if (rc == 0) {
    *out = cn_frame_ref(slot->cur);
    if (!slot->cur_taken) {
      /* Stamped here, once, under the lock: consumers share the frame and
       * a later taker reads it after taking this lock. */
      slot->cur->t_take = cn_clock_now();
      slot->cur_taken = true;
      slot->counts.delivered++;
      slot->counts.pending--;
      pthread_cond_broadcast(&slot->taken);
    }
  }
  pthread_mutex_unlock(&slot->lock);
  return rc;
}

void cn_slot_drop_pending(cn_slot_t *slot) {
  cn_frame_t *old = NULL;
  pthread_mutex_lock(&slot->lock);
  if (slot->cur && !slot->cur_taken) {
    slot->counts.dropped++;
    slot->counts.pending--;
    old = slot->cur;
    slot->cur = NULL;
  }
  pthread_mutex_unlock(&slot->lock);
  cn_frame_unref(&old);
}

void cn_slot_close(cn_slot_t *slot) {
  pthread_mutex_lock(&slot->lock);
  slot->closed = true;
  pthread_cond_broadcast(&slot->fresh);
  pthread_cond_broadcast(&slot->taken);
  pthread_mutex_unlock(&slot->lock);
}

void cn_slot_get_counts(cn_slot_t *slot, cn_slot_counts_t *out) {
  pthread_mutex_lock(&slot->lock);
  *out = slot->counts;
  pthread_mutex_unlock(&slot->lock);
}
