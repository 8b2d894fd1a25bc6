/* Preloaded only under valgrind by scripts/trace-cost.sh. libhwy (loaded
 * with FFmpeg's JPEG XL decoder) measures its timer at load time with
 * RDTSCP, which valgrind 3.19 cannot execute on this CPU: the process
 * dies with SIGILL before main. This answers that one calibration call
 * (through libhwy's PLT) with a plausible tick count instead; nothing
 * camnet measures uses libhwy's timer. */
#include <stdint.h>

uint64_t _ZN3hwy8platform15TimerResolutionEv(void);
uint64_t _ZN3hwy8platform15TimerResolutionEv(void) { return 20; }
