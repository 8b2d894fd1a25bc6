#include "camnet/clock.h"

#include <time.h>

static int64_t read_clock(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * CN_NS_PER_S + ts.tv_nsec;
}

int64_t cn_clock_now(void) { return read_clock(CLOCK_MONOTONIC); }

int64_t cn_clock_wall(void) { return read_clock(CLOCK_REALTIME); }

int64_t cn_clock_thread_cpu(void) {
  return read_clock(CLOCK_THREAD_CPUTIME_ID);
}
