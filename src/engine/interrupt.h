/* The load's interrupt check (cn_interrupt_t, camnet/model.h), asked by the
 * importers between layers and by the backends between nodes, so that a
 * stop during a load takes effect within one layer's work. */
#ifndef CN_ENGINE_INTERRUPT_H
#define CN_ENGINE_INTERRUPT_H

#include "camnet/error.h"
#include "camnet/model.h"

/* CN_EINTR with "<what>: loading interrupted" when the callback says so;
 * 0 otherwise (also for NULL or an empty callback). */
static inline int cn__load_interrupted(const cn_interrupt_t *i,
                                       const char *what, cn_err_t *err) {
  if (!i || !i->callback || !i->callback(i->opaque))
    return 0;
  return cn_err_set(err, CN_EINTR, "%s: loading interrupted", what);
}

#endif
