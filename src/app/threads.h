/* The program's side of the thread policy (engine/thread_policy.h): what
 * it knows of the sources, the engine's time measured on the loaded
 * model, and the decision logged once. */
#ifndef CN_APP_THREADS_H
#define CN_APP_THREADS_H

#include "camnet/log.h"
#include "camnet/source.h"
#include "camnet/stage.h"
#include "engine/thread_policy.h"

/* What the policy needs of the sources, before the model is loaded: fills
 * in (engine_ms 0). requested: --threads (0: auto). */
void cn_app_threads_in(cn_source_t *const *srcs, int n, bool every_frame,
                       int requested, cn_thread_policy_in_t *in);

/* With the model loaded at in->... first answer's team: times one
 * inference (best of a few, after a warm-up) when the answer depends on
 * it, and gives the final policy. Logs the decision at info level.
 * Returns 0 or an inference error (err). */
int cn_app_threads_decide(const cn_stage_model_t *m, cn_thread_policy_in_t *in,
                          cn_thread_policy_t *out, const cn_logger_t *log,
                          cn_err_t *err);

#endif
