#include "app/optparse.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const cn_opt_t *find_long(const cn_optset_t *set, const char *name,
                                 size_t len) {
  for (size_t k = 0; k < set->n; k++)
    if (strlen(set->opts[k].name) == len &&
        strncmp(set->opts[k].name, name, len) == 0)
      return &set->opts[k];
  return NULL;
}

static const cn_opt_t *find_short(const cn_optset_t *set, char c) {
  for (size_t k = 0; k < set->n; k++)
    if (set->opts[k].letter == c)
      return &set->opts[k];
  return NULL;
}

static int set_value(void *cfg, const cn_opt_t *o, const char *val,
                     cn_err_t *err) {
  char *field = (char *)cfg + o->offset;
  if (o->type == CN_ARG_STRING) {
    *(const char **)field = val;
    return 0;
  }
  if (o->type == CN_ARG_LIST) {
    int *count = (int *)((char *)cfg + o->count_offset);
    if (*count >= (int)o->max)
      return cn_err_set(err, CN_EINVAL, "option --%s: at most %d", o->name,
                        (int)o->max);
    ((const char **)field)[(*count)++] = val;
    return 0;
  }
  char *end;
  errno = 0;
  double v = o->type == CN_ARG_INT ? (double)strtoll(val, &end, 10)
                                   : strtod(val, &end);
  if (errno || end == val || *end || !isfinite(v) || v < o->min || v > o->max)
    return cn_err_set(
        err, CN_EINVAL, "option --%s: '%s' is not a %s between %g and %g",
        o->name, val, o->type == CN_ARG_INT ? "whole number" : "number", o->min,
        o->max);
  if (o->type == CN_ARG_INT)
    *(int64_t *)field = (int64_t)v;
  else
    *(double *)field = v;
  return 0;
}

/* One option word at argv[*i] (and its value, which may be the next
 * word). */
static int parse_option(const cn_optset_t *set, void *cfg, int argc,
                        char **argv, int *i, bool *seen, cn_err_t *err) {
  const char *a = argv[*i];
  const cn_opt_t *o;
  const char *eq = NULL;
  if (a[1] == '-') {
    const char *name = a + 2;
    eq = strchr(name, '=');
    o = find_long(set, name, eq ? (size_t)(eq - name) : strlen(name));
  } else {
    o = a[2] ? NULL : find_short(set, a[1]);
  }
  if (!o)
    return cn_err_set(err, CN_EINVAL, "unknown option %s (see --help)", a);
  if (seen)
    seen[o - set->opts] = true;
  if (o->type == CN_ARG_FLAG) {
    if (eq)
      return cn_err_set(err, CN_EINVAL, "option --%s takes no value", o->name);
    *(bool *)((char *)cfg + o->offset) = true;
    return 0;
  }
  const char *val = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
  if (!val)
    return cn_err_set(err, CN_EINVAL, "option --%s needs a value (%s)", o->name,
                      o->arg);
  return set_value(cfg, o, val, err);
}

int cn_opt_parse(const cn_optset_t *set, void *cfg, int argc, char **argv,
                 int first, cn_err_t *err) {
  return cn_opt_parse_seen(set, cfg, argc, argv, first, NULL, err);
}

int cn_opt_parse_seen(const cn_optset_t *set, void *cfg, int argc, char **argv,
                      int first, bool *seen, cn_err_t *err) {
  bool only_words = false;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (!only_words && strcmp(a, "--") == 0) {
      only_words = true;
      continue;
    }
    int rc;
    if (only_words || a[0] != '-' || strcmp(a, "-") == 0)
      rc = set->positional
               ? set->positional(cfg, a, err)
               : cn_err_set(err, CN_EINVAL, "unexpected argument '%s'", a);
    else
      rc = parse_option(set, cfg, argc, argv, &i, seen, err);
    if (rc)
      return rc;
  }
  return 0;
}

const cn_opt_t *cn_opt_find(const cn_optset_t *set, const char *name) {
  return find_long(set, name, strlen(name));
}

int cn_opt_set(const cn_opt_t *o, void *cfg, const char *val, cn_err_t *err) {
  if (o->type != CN_ARG_FLAG)
    return set_value(cfg, o, val, err);
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  for (int k = 0; k < 4; k++) {
    if (!strcmp(val, yes[k]) || !strcmp(val, no[k])) {
      *(bool *)((char *)cfg + o->offset) = !strcmp(val, yes[k]);
      return 0;
    }
  }
  return cn_err_set(err, CN_EINVAL, "option --%s: '%s' is not true or false",
                    o->name, val);
}

/* The shortest "%g" text that reads back as exactly v. */
static int format_double(double v, char *buf, size_t n) {
  for (int digits = 6; digits < 17; digits++) {
    char t[40];
    snprintf(t, sizeof t, "%.*g", digits, v);
    if (strtod(t, NULL) == v)
      return snprintf(buf, n, "%s", t);
  }
  return snprintf(buf, n, "%.17g", v);
}

int cn_opt_format(const cn_opt_t *o, const void *cfg, int i, char *buf,
                  size_t n) {
  const char *field = (const char *)cfg + o->offset;
  const char *s = NULL;
  switch (o->type) {
  case CN_ARG_FLAG:
    return snprintf(buf, n, "%s", *(const bool *)field ? "true" : "false");
  case CN_ARG_INT:
    return snprintf(buf, n, "%lld", (long long)*(const int64_t *)field);
  case CN_ARG_DOUBLE:
    return format_double(*(const double *)field, buf, n);
  case CN_ARG_STRING:
    s = *(const char *const *)field;
    break;
  case CN_ARG_LIST:
    if (i < *(const int *)((const char *)cfg + o->count_offset))
      s = ((const char *const *)field)[i];
    break;
  }
  return snprintf(buf, n, "%s", s ? s : "");
}

static void left_column(const cn_opt_t *o, char *buf, size_t n) {
  char letter[8] = "    ";
  if (o->letter)
    snprintf(letter, sizeof letter, "-%c, ", o->letter);
  snprintf(buf, n, "%s--%s%s%s", letter, o->name, o->arg ? " " : "",
           o->arg ? o->arg : "");
}

void cn_opt_print_help(const cn_optset_t *set, FILE *f) {
  for (size_t k = 0; k < set->n; k++) {
    char left[48];
    left_column(&set->opts[k], left, sizeof left);
    fprintf(f, "  %-28s %s\n", left, set->opts[k].help);
  }
}

/* Text for roff: a leading '.' or '\'' would be a request, '\\' an escape
 * and '-' a hyphen rather than the minus of an option. */
static void roff_text(FILE *f, const char *s) {
  if (*s == '.' || *s == '\'')
    fputs("\\&", f);
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\e", f);
    else if (*s == '-')
      fputs("\\-", f);
    else
      fputc(*s, f);
  }
}

void cn_opt_print_man(const cn_optset_t *set, FILE *f) {
  for (size_t k = 0; k < set->n; k++) {
    const cn_opt_t *o = &set->opts[k];
    fputs(".TP\n", f);
    if (o->letter)
      fprintf(f, "\\fB\\-%c\\fR, ", o->letter);
    fputs("\\fB\\-\\-", f);
    roff_text(f, o->name);
    fputs("\\fR", f);
    if (o->arg) {
      fputs(" \\fI", f);
      roff_text(f, o->arg);
      fputs("\\fR", f);
    }
    fputc('\n', f);
    roff_text(f, o->help);
    fputc('\n', f);
  }
}
