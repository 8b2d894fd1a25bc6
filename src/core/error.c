#include "camnet/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "camnet/redact.h"

const char *cn_strerror(int code) {
  switch (code) {
  case CN_OK:
    return "success";
#define CN__ERR_CASE(name, value, text)                                        \
  case name:                                                                   \
    return text;
    CN_ERRNO_MAP(CN__ERR_CASE)
#undef CN__ERR_CASE
  default:
    return "unknown error";
  }
}

int cn_err_set(cn_err_t *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    /* Formed whole, then redacted: a URI cut short by the message's
     * size could hide the '@' that marks its credentials. */
    char full[4 * CN_ERR_MSG_MAX];
    err->code = code;
    vsnprintf(full, sizeof full, fmt, ap);
    va_end(ap);
    cn_redact_text(full, err->msg, sizeof err->msg);
    /* One line whatever a file, URI or argument quoted in it holds. */
    for (char *c = err->msg; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = '?';
  }
  return code;
}

int cn_err_from_errno(int errnum) {
  switch (errnum) {
  case 0:
    return CN_OK;
  case ENOMEM:
    return CN_ENOMEM;
  case EINVAL:
    return CN_EINVAL;
  case ENOENT:
    return CN_ENOENT;
  case ENODEV:
  case ENXIO:
    return CN_ENODEV;
  case ECONNREFUSED:
    return CN_ECONNREFUSED;
  case ETIMEDOUT:
    return CN_ETIMEDOUT;
  case EAGAIN:
    return CN_EAGAIN;
  case EACCES:
  case EPERM:
    return CN_EPERM;
  case ENOSYS:
  case ENOTSUP:
    return CN_EUNSUPPORTED;
  default:
    return CN_EIO;
  }
}
