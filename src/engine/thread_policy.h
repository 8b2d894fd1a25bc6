/* cn_thread_policy: how many engines, of how many threads, infer one
 * source's frames (`--threads auto`, the default; the multi-camera work
 * calls the same function).
 *
 * Measured on the 2-core machine (issue 12, GoogLeNet, 720p H.264 RTSP):
 * one OpenMP team of 2 threads on 2 cores shared with decoding delivered
 * 28.4 results/s at 60 fps where 1 thread delivered 35.1: a team waits at
 * every layer's barrier for its slowest thread, and a thread preempted by
 * the decoder stalls the whole layer. Hence:
 *
 *   spare   = cores - load, load = what the sources' capture and camnet's
 *             own per-frame work keep busy (cores, measured or estimated)
 *   threads = floor(spare / sources), at least 1, at most cores: a team
 *             only as large as the cores nobody else needs
 *   engines = 1 while one engine of that team keeps up with the source
 *             (its measured time per inference <= the frame interval);
 *             else ceil(time / interval), at most ceil(spare / sources)
 *             single-thread engines (independent engines taking turns on
 *             the newest frames have no barrier to stall, so the fraction
 *             of a core a team cannot use still runs one more), or as
 *             many larger teams as fit whole
 *   OpenMP idle workers sleep (OMP_WAIT_POLICY=PASSIVE): spinning workers
 *             starve the capture threads (docs/benchmarks.md).
 * A file read unpaced (--every-frame) has no frame interval: one engine
 * with every core. --threads N: one engine of N threads.
 *
 * Threads: pure; any thread.
 */
#ifndef CN_ENGINE_THREAD_POLICY_H
#define CN_ENGINE_THREAD_POLICY_H

#include <stdbool.h>

typedef struct cn_thread_policy_in {
  int cores;        /* online CPUs */
  int sources;      /* sources inferred at once (>= 1) */
  double load;      /* cores kept busy besides inference; <0: unknown */
  double fps;       /* frames per second of each source; 0: unpaced */
  double engine_ms; /* one inference with `threads` threads (as returned
                       by a first call with engine_ms 0); 0: unknown */
  int requested;    /* --threads N; 0: auto */
} cn_thread_policy_in_t;

typedef struct cn_thread_policy {
  int engines; /* per source, taking turns on its newest frames */
  int threads; /* OpenMP threads of each engine */
  bool passive_wait;
} cn_thread_policy_t;

/* Fills out from in (see above). A first call with engine_ms 0 gives the
 * team size to measure the engine with; a second call with that time
 * gives the engine count. */
void cn_thread_policy(const cn_thread_policy_in_t *in, cn_thread_policy_t *out);

/* The load of capturing one source, in cores: its decode plus camnet's
 * own per-frame work (develop, preprocess, JSON), from the frame size and
 * rate (measured per 720p frame: docs/benchmarks.md). */
double cn_thread_policy_load(int width, int height, double fps);

#endif
