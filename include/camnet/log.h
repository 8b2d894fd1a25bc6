/* cn_log: levelled log lines with a per-component prefix.
 *
 * The library never prints by itself. A cn_logger_t is plain
 * configuration owned by the application, like av_log_set_callback() but
 * per object rather than process-wide: a level and a sink (a callback).
 * Components keep a pointer to it (from their options) and write through
 * cn_log(); a NULL logger drops every line, a logger without a sink writes
 * to stderr (what the camnet program does).
 * Every line is prefixed with the component's name, e.g.
 *   "camnet: [source 0] offline: rtsp://...: connection refused".
 * Every line is redacted (camnet/redact.h): URIs lose their credentials
 * here, whoever formed the line.
 *
 * Threads: cn_log() may be called from any thread; the sink must be
 * thread-safe (the default writes each line with one fputs on a locked
 * stream). The logger must outlive every component that uses it.
 */
#ifndef CN_LOG_H
#define CN_LOG_H

#include "camnet/version.h"

#include <stdarg.h>

typedef enum cn_log_level {
  CN_LOG_QUIET = -1,
  CN_LOG_ERROR = 0,
  CN_LOG_WARN,
  CN_LOG_INFO,
  CN_LOG_DEBUG,
} cn_log_level_t;

typedef void (*cn_log_sink_fn)(void *opaque, cn_log_level_t level,
                               const char *line);

typedef struct cn_logger {
  cn_log_level_t level;
  cn_log_sink_fn sink; /* NULL: stderr */
  void *opaque;
} cn_logger_t;

/* Writes one line if level is enabled. prefix may be NULL. */
CN_API void cn_log(const cn_logger_t *log, cn_log_level_t level,
                   const char *prefix, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The same with a va_list. */
CN_API void cn_logv(const cn_logger_t *log, cn_log_level_t level,
                    const char *prefix, const char *fmt, va_list ap);

/* True when a line at level would be written. */
CN_API int cn_log_enabled(const cn_logger_t *log, cn_log_level_t level);

/* Remembers the last line written through it, so that a message that
 * repeats (a corrupt stream, a source that stays offline for the same
 * reason) is logged once per change, not once per frame. Zero it to
 * start; it belongs to one thread. */
typedef struct cn_log_once {
  char last[320]; /* an error message (256) and a little text */
} cn_log_once_t;

/* Like cn_log(), but only when the text differs from the last one given
 * to this cn_log_once_t (compared before the level filter). Returns 1 for
 * a new line, 0 for a repeat. */
CN_API int cn_log_once(const cn_logger_t *log, cn_log_once_t *once,
                       cn_log_level_t level, const char *prefix,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#endif
