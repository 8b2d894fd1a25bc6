/* The record backlog behind /events (http_events.c). Part of the HTTP
 * output (http_internal.h). Threads: the record sink writes from the
 * fan-out's thread; next/last from client threads. */
#ifndef CN_OUTPUTS_HTTP_EVENTS_H
#define CN_OUTPUTS_HTTP_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "camnet/error.h"
#include "outputs/fanout.h"

#define CN_HTTP_BACKLOG 1024

typedef struct cn__events cn__events_t;

int cn__events_create(cn__events_t **out, cn_err_t *err);
void cn__events_destroy(cn__events_t *e);
void cn__events_stop(cn__events_t *e);
int cn__events_sink_add(cn__events_t *e, cn_fanout_t *fo, cn_err_t *err);
/* The next record with id > *after and (source < 0 or its source) into
 * *buf as one SSE event ("id: N\ndata: REC\n\n"), growing *buf; waits
 * until deadline. Returns the length, 0 on timeout, CN_ECLOSED, CN_ENOMEM.
 * A client behind the backlog skips to the oldest (counted). */
long cn__events_next(cn__events_t *e, uint64_t *after, int source, char **buf,
                     size_t *cap, int64_t deadline);
/* The newest id (0: none yet) and the records dropped for slow clients. */
uint64_t cn__events_last(cn__events_t *e, uint64_t *skipped);
uint64_t cn__events_oldest(cn__events_t *e);

#endif
