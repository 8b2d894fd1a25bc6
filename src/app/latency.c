#include "app/latency.h"

void cn_latency_add(cn_latency_t *h, int64_t ns) {
  if (ns < 0)
    ns = 0;
  int64_t us10 = ns / 10000;
  if (us10 < CN_LAT_FINE) {
    h->fine[us10]++;
  } else {
    int64_t ms = ns / 1000000;
    h->coarse[ms < CN_LAT_COARSE ? ms : CN_LAT_COARSE - 1]++;
  }
  h->count++;
}

double cn_latency_quantile_ms(const cn_latency_t *h, double q) {
  if (!h->count)
    return 0;
  uint64_t rank = (uint64_t)(q * (double)(h->count - 1)), seen = 0;
  for (int i = 0; i < CN_LAT_FINE; i++) {
    seen += h->fine[i];
    if (seen > rank)
      return (i + 0.5) * 0.01;
  }
  for (int i = 0; i < CN_LAT_COARSE; i++) {
    seen += h->coarse[i];
    if (seen > rank)
      return i + 0.5;
  }
  return CN_LAT_COARSE;
}
