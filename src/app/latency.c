#include "app/latency.h"

void cn_latency_add(cn_latency_t *h, int64_t ns) {
  if (ns < 0)
    ns = 0;
  int64_t us10 = ns / 10000;
  if (us10 < CN_LAT_FINE) {
    atomic_fetch_add_explicit(&h->fine[us10], 1, memory_order_relaxed);
  } else {
    int64_t ms = ns / 1000000;
    atomic_fetch_add_explicit(
        &h->coarse[ms < CN_LAT_COARSE ? ms : CN_LAT_COARSE - 1], 1,
        memory_order_relaxed);
  }
  atomic_fetch_add_explicit(&h->count, 1, memory_order_release);
}

double cn_latency_quantile_ms(const cn_latency_t *h, double q) {
  uint64_t count = atomic_load_explicit(&h->count, memory_order_acquire);
  if (!count)
    return 0;
  uint64_t rank = (uint64_t)(q * (double)(count - 1)), seen = 0;
  for (int i = 0; i < CN_LAT_FINE; i++) {
    seen += atomic_load_explicit(&h->fine[i], memory_order_relaxed);
    if (seen > rank)
      return (i + 0.5) * 0.01;
  }
  for (int i = 0; i < CN_LAT_COARSE; i++) {
    seen += atomic_load_explicit(&h->coarse[i], memory_order_relaxed);
    if (seen > rank)
      return i + 0.5;
  }
  return CN_LAT_COARSE;
}
