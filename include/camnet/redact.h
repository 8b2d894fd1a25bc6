/* cn_redact: credentials out of URIs before they reach a log line, an
 * error message, a record or a name.
 *
 * A URI's userinfo ("user:pass@" after "scheme://") is dropped whole:
 *   rtsp://user:pass@host:8554/x  ->  rtsp://host:8554/x
 * The user name goes too: it is half of the secret, and a source is
 * still recognisable by its host and path. Text is scanned for every
 * "://" in it, so messages that quote a URI anywhere (FFmpeg's, a
 * GStreamer pipeline's "location=rtsp://...") are covered by one call.
 * The authority ends at '/', '?', '#', whitespace, a quote or the end
 * (RFC 3986); its last '@' ends the userinfo.
 *
 * Pure functions: any thread, no allocation. Output is always
 * NUL-terminated (truncated to n - 1 bytes).
 */
#ifndef CN_REDACT_H
#define CN_REDACT_H

#include "camnet/version.h"

#include <stdbool.h>
#include <stddef.h>

#include "camnet/error.h"

/* Copies in to out (n bytes) without the userinfo of any URI in it.
 * Returns the length of the redacted text (which may exceed n - 1 when
 * out was too small, like snprintf). in and out must not overlap. */
CN_API size_t cn_redact_text(const char *in, char *out, size_t n);

/* The same, for one URI (the brief's name for the common case). */
CN_API size_t cn_redact_uri(const char *in, char *out, size_t n);

/* Redacts s in place (redaction only ever shortens). */
CN_API void cn_redact_inplace(char *s);

/* Redacts err->msg in place. NULL ok. */
CN_API void cn_redact_err(cn_err_t *err);

/* True when s holds a URI with userinfo. */
CN_API bool cn_redact_needed(const char *s);

#endif
