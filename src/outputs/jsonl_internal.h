/* The JSON writer on a fan-out the caller owns, for the program, whose
 * records also go to other sinks. Not public (camnet/jsonl.h is). */
#ifndef CN_OUTPUTS_JSONL_INTERNAL_H
#define CN_OUTPUTS_JSONL_INTERNAL_H

#include "camnet/jsonl.h"
#include "outputs/fanout.h"

/* Records go to fo's sinks (fanout.h), which must outlive the writer. */
int cn_jsonl_create(cn_fanout_t *fo, cn_jsonl_t **out, cn_err_t *err);

/* Frees the writer (close the fan-out first: it may still hold records).
 * NULL ok. */
void cn_jsonl_destroy(cn_jsonl_t *w);

#endif
