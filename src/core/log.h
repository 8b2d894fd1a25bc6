/* cn_log: levelled log lines with a per-component prefix.
 *
 * A cn_logger_t is plain configuration owned by the application: a level
 * and a sink. Components keep a pointer to it (from their options) and
 * write through cn_log(); a NULL logger means "stderr at CN_LOG_INFO".
 * Every line is prefixed with the component's name, e.g.
 *   "camnet: [source 0] offline: rtsp://...: connection refused".
 * Every line is redacted (redact.h): URIs lose their credentials here,
 * whoever formed the line.
 *
 * Threads: cn_log() may be called from any thread; the sink must be
 * thread-safe (the default writes each line with one fputs on a locked
 * stream). The logger must outlive every component that uses it.
 */
#ifndef CN_LOG_H
#define CN_LOG_H

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
void cn_log(const cn_logger_t *log, cn_log_level_t level, const char *prefix,
            const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

void cn_logv(const cn_logger_t *log, cn_log_level_t level, const char *prefix,
             const char *fmt, va_list ap);

/* True when a line at level would be written. */
int cn_log_enabled(const cn_logger_t *log, cn_log_level_t level);

#endif
