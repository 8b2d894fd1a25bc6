#include "camnet/redact.h"

#include <string.h>

static bool ends_authority(char c) {
  return c == '\0' || c == '/' || c == '?' || c == '#' || c == ' ' ||
         c == '\t' || c == '\n' || c == '"' || c == '>' || c == '\r';
}

/* For a "://" at p, the length of the userinfo with its '@' (0: none). */
static size_t userinfo_len(const char *p) {
  const char *a = p + 3, *at = NULL;
  for (const char *q = a; !ends_authority(*q); q++)
    if (*q == '@')
      at = q;
  return at ? (size_t)(at - a) + 1 : 0;
}

size_t cn_redact_text(const char *in, char *out, size_t n) {
  size_t len = 0;
  for (const char *p = in; *p;) {
    size_t skip = strncmp(p, "://", 3) == 0 ? userinfo_len(p) : 0;
    size_t copy = skip ? 3 : 1;
    for (size_t i = 0; i < copy; i++, len++)
      if (n && len < n - 1)
        out[len] = p[i];
    p += copy + skip;
  }
  if (n)
    out[len < n - 1 ? len : n - 1] = '\0';
  return len;
}

size_t cn_redact_uri(const char *in, char *out, size_t n) {
  return cn_redact_text(in, out, n);
}

void cn_redact_inplace(char *s) {
  char *w = s;
  for (const char *p = s; *p;) {
    size_t skip = strncmp(p, "://", 3) == 0 ? userinfo_len(p) : 0;
    size_t copy = skip ? 3 : 1;
    memmove(w, p, copy);
    w += copy;
    p += copy + skip;
  }
  *w = '\0';
}

void cn_redact_err(cn_err_t *err) {
  if (err)
    cn_redact_inplace(err->msg);
}

bool cn_redact_needed(const char *s) {
  for (const char *p = strstr(s, "://"); p; p = strstr(p + 3, "://"))
    if (userinfo_len(p))
      return true;
  return false;
}
