#include "engine/thread_policy.h"

#include <math.h>

/* Per 1280x720 frame, CPU ms: H.264 decode in the capture thread (1.16,
 * docs/benchmarks.md "Capture") and camnet's own develop, preprocess and
 * JSON (about 2.5, the program benchmark). Scaled by pixels. */
#define DECODE_MS_720P 1.2
#define OWN_MS_720P 2.5

double cn_thread_policy_load(int width, int height, double fps) {
  if (width <= 0 || height <= 0 || fps <= 0)
    return -1;
  double scale = (double)width * height / (1280.0 * 720.0);
  return fps * scale * (DECODE_MS_720P + OWN_MS_720P) / 1000.0;
}

void cn_thread_policy(const cn_thread_policy_in_t *in,
                      cn_thread_policy_t *out) {
  int cores = in->cores > 0 ? in->cores : 1;
  int sources = in->sources > 0 ? in->sources : 1;
  out->passive_wait = true;
  out->engines = 1;
  if (in->requested > 0) {
    out->threads = in->requested;
    return;
  }
  if (in->fps <= 0) { /* unpaced: nothing to keep up with, nobody to share */
    out->threads = cores / sources > 0 ? cores / sources : 1;
    return;
  }
  /* Unknown load: a capture thread's worth per source would be too much
   * (it mostly sleeps); a tenth of a core each is the 720p30 figure. */
  double load = in->load >= 0 ? in->load : 0.1 * sources;
  double spare = (cores - load) / sources;
  int threads = (int)floor(spare);
  out->threads = threads < 1 ? 1 : threads > cores ? cores : threads;
  double interval_ms = 1000.0 / in->fps;
  if (in->engine_ms <= interval_ms)
    return;
  int need = (int)ceil(in->engine_ms / interval_ms);
  /* Single-thread engines have no barrier: the leftover fraction of a
   * core still runs one. Teams never oversubscribe. */
  int room =
      out->threads == 1 ? (int)ceil(spare) : (int)floor(spare / out->threads);
  out->engines = need < room ? need : room;
  if (out->engines < 1)
    out->engines = 1;
}
