/* cn_error: error codes and the error record every fallible call fills.
 *
 * Functions return int: 0 (or a count) on success, a negative CN_E* code on
 * failure. Callers that want the detail pass a cn_err_t; the failing call
 * writes a one-line message into it, naming the file, URL or request and
 * what is wrong ("rtsp://127.0.0.1:8554/cam: connection refused"). Passing
 * NULL for the cn_err_t is allowed everywhere. The library never exits.
 * cn_err_set drops the credentials of any URI in the message (redact.h),
 * so a message may quote a source's URI as given.
 *
 * Threads: all functions are safe from any thread; a cn_err_t belongs to
 * the caller that passed it.
 */
#ifndef CN_ERROR_H
#define CN_ERROR_H

#include "camnet/version.h"

#include <stddef.h>

/* X-macro: name, value, default text. Add new codes at the end. CN_EOF is
 * spelled without the E so it reads as what it is. */
#define CN_ERRNO_MAP(X)                                                        \
  X(CN_ENOMEM, -1, "out of memory")                                            \
  X(CN_EINVAL, -2, "invalid argument")                                         \
  X(CN_ENOENT, -3, "no such file")                                             \
  X(CN_ENODEV, -4, "no such device")                                           \
  X(CN_ECONNREFUSED, -5, "connection refused")                                 \
  X(CN_ETIMEDOUT, -6, "timed out")                                             \
  X(CN_EFORMAT, -7, "invalid data")                                            \
  X(CN_ECODEC, -8, "unsupported codec")                                        \
  X(CN_EIO, -9, "input/output error")                                          \
  X(CN_EOF, -10, "end of stream")                                              \
  X(CN_ECLOSED, -11, "closed")                                                 \
  X(CN_EAGAIN, -12, "try again")                                               \
  X(CN_EUNSUPPORTED, -13, "not supported")                                     \
  X(CN_EPERM, -14, "permission denied")                                        \
  X(CN_EINTERNAL, -15, "internal error")                                       \
  X(CN_EINTR, -16, "interrupted")

enum {
  CN_OK = 0,
#define CN__ERR_ENUM(name, value, text) name = value,
  CN_ERRNO_MAP(CN__ERR_ENUM)
#undef CN__ERR_ENUM
};

#define CN_ERR_MSG_MAX 256

typedef struct cn_err {
  int code;                 /* last error code, 0 when none */
  char msg[CN_ERR_MSG_MAX]; /* one line, no trailing newline */
} cn_err_t;

/* Static text for a code; never NULL ("unknown error" for foreign codes). */
CN_API const char *cn_strerror(int code);

/* Fills err (if not NULL) with code and a printf-style message and returns
 * code, so callers can write `return cn_err_set(err, CN_ENOENT, ...)`.
 * Credentials in URIs are masked and control characters become '?': the
 * message is one line whatever it quotes. */
CN_API int cn_err_set(cn_err_t *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Maps a positive errno value to the nearest CN_E* code. */
CN_API int cn_err_from_errno(int errnum);

#endif
