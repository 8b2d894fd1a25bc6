#include "camnet/labels.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
/* A label file is small text; anything bigger is not one. */
#define LABELS_MAX_BYTES (64L << 20)

struct cn_labels {
  char *text;   /* the file, lines cut in place */
  char **names; /* n pointers into text */
  int n;
  int synset;
};

/* "n" + 8 digits + space or tab. */
static int synset_line(const char *s) {
  if (s[0] != 'n')
    return 0;
  for (int i = 1; i <= 8; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return s[9] == ' ' || s[9] == '\t';
}

/* A label file is text: no NUL bytes, and UTF-8, since labels become JSON
 * strings and text on the video (jansson's check; a Latin-1 file gave
 * every label as null). */
static int check_text(const char *path, const char *text, size_t len,
                      cn_err_t *err) {
  if (memchr(text, '\0', len))
    return cn_err_set(err, CN_EFORMAT,
                      "%s: binary data (NUL byte): not a label file", path);
  json_t *valid = json_stringn(text, len);
  if (!valid)
    return cn_err_set(err, CN_EFORMAT,
                      "%s: not UTF-8 text (save the labels as UTF-8)", path);
  json_decref(valid);
  return 0;
}

int cn_labels_load(const char *path, cn_labels_t **out, cn_err_t *err) {
  *out = NULL;
  char *text = NULL;
  size_t len = 0;
  int rc = cn_file_read(path, "labels", LABELS_MAX_BYTES, &text, &len, err);
  if (rc)
    return rc;
  if ((rc = check_text(path, text, len, err))) {
    free(text);
    return rc;
  }
  char *start = text;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    start += 3;

  /* Cut lines in place; count them. */
  int nlines = 0;
  for (char *p = start; *p;) {
    char *nl = strchr(p, '\n');
    nlines++;
    if (!nl)
      break;
    p = nl + 1;
  }
  cn_labels_t *l = calloc(1, sizeof *l);
  char **names = calloc((size_t)nlines + 1, sizeof *names);
  if (!l || !names) {
    free(l);
    free(names);
    free(text);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  }
  int n = 0, nonempty = 0, synsets = 0;
  for (char *p = start; *p;) {
    char *nl = strchr(p, '\n');
    char *end = nl ? nl : p + strlen(p);
    while (end > p && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
      end--;
    char *next = nl ? nl + 1 : end;
    *end = '\0';
    names[n++] = p;
    if (*p) {
      nonempty++;
      synsets += synset_line(p);
    }
    p = next;
    if (!nl)
      break;
  }
  /* Trailing empty lines are not classes. */
  while (n > 0 && names[n - 1][0] == '\0')
    n--;
  if (nonempty == 0) {
    free(names);
    free(l);
    free(text);
    return cn_err_set(err, CN_EFORMAT, "%s: no labels", path);
  }
  l->synset = synsets == nonempty;
  if (l->synset) {
    for (int i = 0; i < n; i++) {
      if (!names[i][0])
        continue;
      char *s = names[i] + 10;
      while (*s == ' ' || *s == '\t')
        s++;
      names[i] = s;
    }
  }
  l->text = text;
  l->names = names;
  l->n = n;
  *out = l;
  return 0;
}

int cn_labels_from_names(const char *const *names, int n, cn_labels_t **out,
                         cn_err_t *err) {
  *out = NULL;
  if (n < 1)
    return cn_err_set(err, CN_EINVAL, "labels: no names");
  size_t len = 0;
  for (int i = 0; i < n; i++)
    len += (names[i] ? strlen(names[i]) : 0) + 1;
  cn_labels_t *l = calloc(1, sizeof *l);
  char *text = malloc(len);
  char **copy = calloc((size_t)n, sizeof *copy);
  if (!l || !text || !copy) {
    free(l);
    free(text);
    free(copy);
    return cn_err_set(err, CN_ENOMEM, "labels: out of memory");
  }
  char *p = text;
  for (int i = 0; i < n; i++) {
    size_t k = names[i] ? strlen(names[i]) : 0;
    memcpy(p, names[i] ? names[i] : "", k);
    p[k] = '\0';
    copy[i] = p;
    p += k + 1;
  }
  l->text = text;
  l->names = copy;
  l->n = n;
  *out = l;
  return 0;
}

void cn_labels_destroy(cn_labels_t *l) {
  if (!l)
    return;
  free(l->names);
  free(l->text);
  free(l);
}

int cn_labels_count(const cn_labels_t *l) { return l ? l->n : 0; }

const char *cn_labels_get(const cn_labels_t *l, int i) {
  if (!l || i < 0 || i >= l->n)
    return NULL;
  return l->names[i];
}

int cn_labels_synset(const cn_labels_t *l) { return l ? l->synset : 0; }
