/* A fixed-size histogram of ages for medians and tails without storing
 * samples: 10 us buckets up to 100 ms, 1 ms buckets up to 60 s.
 *
 * Threads: one thread adds while another may read quantiles (the status
 * line); buckets are atomics and count is bumped last (release), so a
 * reader finds at least count samples in the buckets. */
#ifndef CN_APP_LATENCY_H
#define CN_APP_LATENCY_H

#include <stdatomic.h>
#include <stdint.h>

#define CN_LAT_FINE 10000   /* 10 us buckets: 0 .. 100 ms */
#define CN_LAT_COARSE 60000 /* 1 ms buckets: 0 .. 60 s */

typedef struct cn_latency {
  _Atomic uint64_t count;
  _Atomic uint32_t fine[CN_LAT_FINE];
  _Atomic uint32_t coarse[CN_LAT_COARSE];
} cn_latency_t;

void cn_latency_add(cn_latency_t *h, int64_t ns);

/* The q-quantile (0..1) in milliseconds; 0 when empty. */
double cn_latency_quantile_ms(const cn_latency_t *h, double q);

#endif
