/* Labels from a Python dict literal, as exporters store class names in
 * model metadata (Ultralytics' "names": "{0: 'person', 1: 'bicycle'}").
 * Only what such a literal holds is read: integer keys 0..n-1 in any
 * order, single- or double-quoted strings with backslash escapes. */
#include "camnet/labels.h"

#include <stdlib.h>
#include <string.h>

#define CN__DICT_MAX 100000

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

/* A quoted string at p into buf (escapes resolved); the text after it,
 * or NULL. */
static const char *read_str(const char *p, char *buf, size_t n) {
  char q = *p;
  if (q != '\'' && q != '"')
    return NULL;
  size_t o = 0;
  for (p++; *p && *p != q; p++) {
    if (*p == '\\' && p[1])
      p++;
    if (o + 1 < n)
      buf[o++] = *p;
  }
  buf[o] = 0;
  return *p == q ? p + 1 : NULL;
}

/* One "key: 'value'" entry into names[key]; the text after it or NULL. */
static const char *read_entry(const char *p, char **names, int max) {
  char *end;
  long k = strtol(p, &end, 10);
  if (end == p || k < 0 || k >= max || names[k])
    return NULL;
  p = skip_ws(end);
  if (*p++ != ':')
    return NULL;
  char buf[256];
  p = read_str(skip_ws(p), buf, sizeof buf);
  if (!p || !(names[k] = strdup(buf)))
    return NULL;
  return skip_ws(p);
}

int cn_labels_from_dict(const char *text, const char *what, cn_labels_t **out,
                        cn_err_t *err) {
  *out = NULL;
  size_t len = strlen(text);
  int max = len / 4 + 1 < CN__DICT_MAX ? (int)(len / 4 + 1) : CN__DICT_MAX;
  char **names = calloc((size_t)max, sizeof *names);
  if (!names)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", what);
  const char *p = skip_ws(text);
  int ok = *p == '{', n = 0;
  if (ok) /* never past the end of an empty text */
    p = skip_ws(p + 1);
  while (ok && *p != '}') {
    ok = (p = read_entry(p, names, max)) != NULL;
    if (ok && *p == ',')
      p = skip_ws(p + 1);
    else if (ok)
      ok = *p == '}';
  }
  for (int i = 0; i < max; i++)
    if (names[i])
      n = i + 1;
  for (int i = 0; ok && i < n; i++)
    ok = names[i] != NULL; /* keys must be 0..n-1 */
  int rc =
      ok && n > 0 && *skip_ws(p + 1) == 0
          ? cn_labels_from_names((const char *const *)names, n, out, err)
          : cn_err_set(err, CN_EFORMAT,
                       "%s: not a dict of class names {0: 'name', ...}", what);
  for (int i = 0; i < max; i++)
    free(names[i]);
  free(names);
  return rc;
}
