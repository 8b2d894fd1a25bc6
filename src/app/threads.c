#include "app/threads.h"

#include <stdlib.h>
#include <unistd.h>

#include "camnet/clock.h"

void cn_app_threads_in(cn_source_t *const *srcs, int n, bool every_frame,
                       int requested, cn_thread_policy_in_t *in) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  *in = (cn_thread_policy_in_t){.cores = cores > 0 ? (int)cores : 1,
                                .sources = n,
                                .requested = requested};
  for (int i = 0; i < n; i++) {
    cn_source_stats_t s;
    cn_source_get_stats(srcs[i], &s);
    /* A file read unpaced has no rate to keep up with. */
    if (every_frame && !s.live)
      continue;
    double fps = s.fps > 0 ? s.fps : 30.0;
    double l = cn_thread_policy_load(s.width, s.height, fps);
    in->load = in->load < 0 || l < 0 ? -1 : in->load + l;
    if (fps > in->fps)
      in->fps = fps;
  }
}

/* Best of a few runs on a zero input, after one warm-up: the engine's
 * own time, as undisturbed as this moment allows. */
static int time_engine(const cn_model_t *m, double *ms, cn_err_t *err) {
  const cn_tensor_desc_t *in = cn_model_input(m, 0);
  int nout = cn_model_num_outputs(m);
  float *input = calloc((size_t)in->numel, sizeof *input);
  float **outs = calloc((size_t)nout, sizeof *outs);
  int rc = input && outs ? 0 : CN_ENOMEM;
  for (int j = 0; !rc && j < nout; j++)
    if (!(outs[j] =
              malloc((size_t)cn_model_output(m, j)->numel * sizeof(float))))
      rc = CN_ENOMEM;
  const float *ins[1] = {input};
  double best = 0;
  for (int k = 0; !rc && k < 4; k++) {
    int64_t t0 = cn_clock_now();
    rc = cn_model_run((cn_model_t *)m, ins, outs, err);
    double t = cn_ns_to_ms(cn_clock_now() - t0);
    if (k == 1 || (k > 1 && t < best))
      best = t;
  }
  for (int j = 0; outs && j < nout; j++)
    free(outs[j]);
  free(outs);
  free(input);
  if (rc == CN_ENOMEM)
    cn_err_set(err, rc, "out of memory");
  *ms = best;
  return rc;
}

int cn_app_threads_decide(const cn_stage_model_t *m, cn_thread_policy_in_t *in,
                          cn_thread_policy_t *out, const cn_logger_t *log,
                          cn_err_t *err) {
  cn_thread_policy(in, out);
  if (in->requested > 0 || in->fps <= 0)
    return 0;
  const cn_model_t *net = cn_stage_model_handle(m);
  if (cn_model_num_inputs(net) == 1) {
    int rc = time_engine(net, &in->engine_ms, err);
    if (rc)
      return rc;
  }
  cn_thread_policy(in, out);
  cn_log(log, CN_LOG_INFO, NULL,
         "threads auto: %d engine%s of %d thread%s per source (%d cores, "
         "capture ~%.2f cores, %.0f fps: one inference %.1f ms, a frame "
         "every %.1f ms)",
         out->engines, out->engines == 1 ? "" : "s", out->threads,
         out->threads == 1 ? "" : "s", in->cores, in->load < 0 ? 0 : in->load,
         in->fps, in->engine_ms, 1000.0 / in->fps);
  return 0;
}
