#include "core/log.h"

#include <stdio.h>

#include "core/redact.h"

int cn_log_enabled(const cn_logger_t *log, cn_log_level_t level) {
  cn_log_level_t max = log ? log->level : CN_LOG_INFO;
  return level <= max;
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
  if (log && log->sink) {
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
