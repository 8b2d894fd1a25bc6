/* The newest encoded picture per source and variant, and the JPEG
 * encoder thread (http_jpeg.c; its design comment has the memory bound).
 * Part of the HTTP output (http_internal.h). Threads: post/wants from any
 * renderer; join/leave/next/sleep/unref from client threads. */
#ifndef CN_OUTPUTS_HTTP_STORE_H
#define CN_OUTPUTS_HTTP_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/log.h"
#include "outputs/http.h"

/* Variants per source: (annotated | raw) x width, e.g. two sizes of
 * each; a request for another one while all are watched gets 503. */
#define CN_HTTP_VARIANTS 4

/* One encoded picture, shared by the clients sending it (refs). */
typedef struct cn__jpeg {
  int refs; /* under the store's lock */
  unsigned char *data;
  unsigned long len, cap;
  uint64_t gen; /* 1, 2, ... per variant */
  uint64_t seq; /* the frame's; 0: NO SIGNAL */
  int64_t t_capture, t_wall;
  int width, height;
} cn__jpeg_t;

typedef struct cn__store cn__store_t;
typedef struct cn__variant cn__variant_t;

int cn__store_create(int nsources, int max_clients, const cn_logger_t *log,
                     void (*tick)(void *), void *tick_opaque, cn__store_t **out,
                     cn_err_t *err);
void cn__store_destroy(cn__store_t *s);
/* Wakes every waiting client with CN_ECLOSED from now on. */
void cn__store_stop(cn__store_t *s);
bool cn__store_wants(cn__store_t *s, int k, cn_http_kind_t kind);
void cn__store_post(cn__store_t *s, cn_frame_t *pic, cn_http_kind_t kind);
/* Joins the variant (source k, raw, width: 0 full); NULL when all of the
 * source's variants are watched with other settings. *after: 0 when the
 * variant had viewers already (its newest picture is current), else the
 * generation a fresh picture must exceed. */
cn__variant_t *cn__store_join(cn__store_t *s, int k, bool raw, int width,
                              uint64_t *after);
void cn__store_leave(cn__store_t *s, cn__variant_t *v);
/* The variant's newest picture with gen > after, waiting until deadline
 * (monotonic ns). 0 (*out: a reference), CN_ETIMEDOUT or CN_ECLOSED. */
int cn__store_next(cn__store_t *s, cn__variant_t *v, uint64_t after,
                   int64_t deadline, cn__jpeg_t **out);
/* Waits until deadline or stop (for fps= thinning); CN_ECLOSED on stop. */
int cn__store_sleep(cn__store_t *s, int64_t deadline);
void cn__store_unref(cn__store_t *s, cn__jpeg_t **j);
uint64_t cn__store_encodes(const cn__store_t *s, double *cpu_ms);

#endif
