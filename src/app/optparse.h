/* One option parser for every camnet command: a table of options (name,
 * short letter, argument, type, field offset, range, help) drives parsing,
 * --help and the manual page, so an option is described once.
 *
 * Parsing: "--name VALUE", "--name=VALUE", "-x VALUE" for options with a
 * short letter, flags without a value; "--" ends the options. Words that
 * are not options go to the positional callback. Numbers are checked
 * against [min, max]. A list option appends each value to a fixed array
 * (field: const char *[max]) whose count is the int at count_offset.
 * Errors are one line in err ("option --x: why"), code CN_EINVAL.
 */
#ifndef CN_APP_OPTPARSE_H
#define CN_APP_OPTPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "camnet/error.h"

typedef enum cn_opt_type {
  CN_ARG_FLAG,   /* bool */
  CN_ARG_INT,    /* int64_t */
  CN_ARG_DOUBLE, /* double */
  CN_ARG_STRING, /* const char *, pointing into argv */
  CN_ARG_LIST,   /* const char *[max], count in the int at count_offset */
} cn_opt_type_t;

typedef struct cn_opt {
  const char *name; /* without the leading "--" */
  char letter;      /* short form "-x", or 0 */
  const char *arg;  /* argument name in --help; NULL for flags */
  cn_opt_type_t type;
  size_t offset;       /* field in the config struct */
  double min, max;     /* numbers: range; lists: max entries */
  size_t count_offset; /* lists: int count field */
  const char *help;
} cn_opt_t;

typedef struct cn_optset {
  const cn_opt_t *opts;
  size_t n;
  /* Called with each non-option word; NULL refuses them. */
  int (*positional)(void *cfg, const char *word, cn_err_t *err);
} cn_optset_t;

/* Parses argv[first..argc) into cfg. Returns 0 or CN_EINVAL. */
int cn_opt_parse(const cn_optset_t *set, void *cfg, int argc, char **argv,
                 int first, cn_err_t *err);

/* The same; seen[k] (set->n entries, NULL: none) becomes true for each
 * option k the command line gives. */
int cn_opt_parse_seen(const cn_optset_t *set, void *cfg, int argc, char **argv,
                      int first, bool *seen, cn_err_t *err);

/* The option named name (without "--"), or NULL. */
const cn_opt_t *cn_opt_find(const cn_optset_t *set, const char *name);

/* Sets option o from a "key = value" text (a config file) with the
 * command line's parsing, ranges and messages. Flags take true/false
 * (yes/no, on/off, 1/0). Returns 0 or CN_EINVAL. */
int cn_opt_set(const cn_opt_t *o, void *cfg, const char *val, cn_err_t *err);

/* Writes option o's value in cfg as text that cn_opt_set reads back
 * ("true"/"false", numbers exactly, strings as they are; NULL strings and
 * lists give ""). Lists: entry i only. Returns the length, like snprintf. */
int cn_opt_format(const cn_opt_t *o, const void *cfg, int i, char *buf,
                  size_t n);

/* The options as "  -x, --name ARG   help" lines. */
void cn_opt_print_help(const cn_optset_t *set, FILE *f);

/* The options as a roff .TP list for a manual page. */
void cn_opt_print_man(const cn_optset_t *set, FILE *f);

#endif
