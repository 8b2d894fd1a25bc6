#include "camnet/log.h"

#include <stdio.h>
#include <string.h>

#include "camnet/redact.h"

int cn_log_enabled(const cn_logger_t *log, cn_log_level_t level) {
  /* No logger, no lines: the library never prints on its own. */
  return log && level <= log->level;
}

void cn_logv(const cn_logger_t *log, cn_log_level_t level, const char *prefix,
             const char *fmt, va_list ap) {
  if (!cn_log_enabled(log, level))
    return;
  static const char *const names[] = {"error: ", "warning: ", "", ""};
  /* Every line is redacted here, whatever component or library formed
   * it: a URI's credentials never reach the log. */
  char full[4096], body[1024], line[1200];
  vsnprintf(full, sizeof full, fmt, ap);
  cn_redact_text(full, body, sizeof body);
  snprintf(line, sizeof line, "camnet: %s%s%s%s%s\n",
           level >= CN_LOG_ERROR && level <= CN_LOG_DEBUG ? names[level] : "",
           prefix ? "[" : "", prefix ? prefix : "", prefix ? "] " : "", body);
  if (log->sink) {
    log->sink(log->opaque, level, line);
    return;
  }
  /* One fputs per line: stdio locks the stream, so lines never interleave. */
  fputs(line, stderr);
}

void cn_log(const cn_logger_t *log, cn_log_level_t level, const char *prefix,
            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cn_logv(log, level, prefix, fmt, ap);
  va_end(ap);
}

int cn_log_once(const cn_logger_t *log, cn_log_once_t *once,
                cn_log_level_t level, const char *prefix, const char *fmt,
                ...) {
  char body[sizeof once->last];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  if (!strcmp(body, once->last))
    return 0;
  memcpy(once->last, body, sizeof body);
  cn_log(log, level, prefix, "%s", body);
  return 1;
}
