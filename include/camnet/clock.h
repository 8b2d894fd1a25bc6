/* cn_clock: one time base for every stamp camnet takes.
 *
 * All stamps are CLOCK_MONOTONIC in int64 nanoseconds, the clock V4L2
 * drivers use for buffer timestamps, so a driver stamp and our own stamps
 * can be subtracted directly. JSON output converts to seconds. The one
 * exception is a frame's t_wall (CLOCK_REALTIME), for matching records
 * with the outside world.
 */
#ifndef CN_CLOCK_H
#define CN_CLOCK_H

#include "camnet/version.h"

#include <stdint.h>

#define CN_NS_PER_S INT64_C(1000000000)
#define CN_NS_PER_MS INT64_C(1000000)

/* Monotonic now, in nanoseconds. Any thread. */
CN_API int64_t cn_clock_now(void);

/* CLOCK_REALTIME now, in nanoseconds since the epoch: for records that
 * must be matched with other machines' clocks (t_wall), never for
 * intervals. Any thread. */
CN_API int64_t cn_clock_wall(void);

/* CPU time consumed by the calling thread, in nanoseconds. */
CN_API int64_t cn_clock_thread_cpu(void);

static inline double cn_ns_to_s(int64_t ns) { return (double)ns / 1e9; }
static inline double cn_ns_to_ms(int64_t ns) { return (double)ns / 1e6; }

#endif
