#include "app/config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "app/optparse.h"
#include "camnet/redact.h"

/* inih's fixed limits (ini.h, Debian's build): a line of INI_MAX_LINE
 * bytes with its newline and NUL, section and key names of 49. */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)
#define SECTION_MAX 49

struct cn_app_strings {
  struct cn_app_strings *next;
  char s[];
};

void cn_app_strings_free(struct cn_app_strings *s) {
  while (s) {
    struct cn_app_strings *next = s->next;
    free(s);
    s = next;
  }
}

/* A copy of s that lives as long as cfg. */
static const char *keep(cn_app_config_t *cfg, const char *s) {
  size_t n = strlen(s) + 1;
  struct cn_app_strings *k = malloc(sizeof *k + n);
  if (!k)
    return NULL;
  memcpy(k->s, s, n);
  k->next = cfg->strings;
  cfg->strings = k;
  return k->s;
}

typedef struct load {
  cn_app_config_t *cfg;
  const cn_optset_t *set;
  const char *path;
  FILE *f;
  cn_err_t *err;
  bool failed;
  int line; /* lines read so far: the one inih is on */
  int read_errno;
  /* section headers as the reader sees them: line, title, keys under */
  int nheaders;
  int header_line[CN_APP_MAX_SOURCES];
  char header[CN_APP_MAX_SOURCES][SECTION_MAX + 1];
  int header_keys[CN_APP_MAX_SOURCES];
  int source_line[CN_APP_MAX_SOURCES]; /* each source's header line */
} load_t;

/* "FILE:LINE: why" into l->err, once (the first error is the one to
 * fix). Returns 0, inih's "stop" from a handler. */
__attribute__((format(printf, 3, 4))) static int fail(load_t *l, int line,
                                                      const char *fmt, ...) {
  if (!l->failed) {
    char why[CN_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    cn_err_set(l->err, CN_EINVAL, "%s:%d: %s", l->path, line, why);
  }
  l->failed = true;
  return 0;
}

/* A header line "[title]": noted for the checks after parsing (inih
 * tells the handler nothing of a section without keys, nor its line). */
static void note_header(load_t *l, const char *text) {
  const char *end = strchr(text, ']');
  size_t n = end ? (size_t)(end - text - 1) : 0;
  if (!end)
    return; /* inih reports it */
  if (l->nheaders == CN_APP_MAX_SOURCES) {
    fail(l, l->line, "too many sections (at most %d sources)",
         CN_APP_MAX_SOURCES);
    return;
  }
  if (n == 0 || n > SECTION_MAX) {
    fail(l, l->line, "a section title is 1 to %d characters", SECTION_MAX);
    return;
  }
  l->header_line[l->nheaders] = l->line;
  snprintf(l->header[l->nheaders], sizeof l->header[0], "%.*s", (int)n,
           text + 1);
  l->header_keys[l->nheaders++] = 0;
}

/* inih's line reader: counts lines, refuses those longer than its buffer
 * (it would split them) and strips leading blanks, so indented keys are
 * keys, never the continuation of the previous value. */
static char *read_line(char *str, int num, void *stream) {
  load_t *l = stream;
  char buf[4096];
  if (l->failed || !fgets(buf, sizeof buf, l->f)) {
    l->read_errno = ferror(l->f) ? errno : 0;
    return NULL;
  }
  l->line++;
  size_t len = strlen(buf);
  bool whole = len && (buf[len - 1] == '\n' || feof(l->f));
  if (!whole && len + 1 < sizeof buf) /* fgets stopped later than strlen */
    fail(l, l->line, "a NUL byte in the line");
  if (!whole || len + 1 > (size_t)num) {
    fail(l, l->line, "line longer than %d characters", LINE_MAX_CHARS);
    return NULL;
  }
  const char *t = buf + strspn(buf, " \t\v\f\r"); /* inih's isspace */
  memcpy(str, t, strlen(t) + 1);
  if (*t == '[')
    note_header(l, t);
  return str;
}

/* "option --NAME: why" from the option layer becomes "FILE:LINE: key
 * NAME: why"; other messages get the place in front. */
static int fail_option(load_t *l, const cn_opt_t *o, const cn_err_t *e) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "option --%s", o->name);
  size_t n = strlen(prefix);
  if (strncmp(e->msg, prefix, n))
    return fail(l, l->line, "%s", e->msg);
  return fail(l, l->line, "key %s%s", o->name, e->msg + n);
}

static bool is_action(const char *name) {
  static const char *const actions[] = {"help", "version", "man", "config",
                                        "print-config"};
  for (size_t k = 0; k < sizeof actions / sizeof actions[0]; k++)
    if (!strcmp(name, actions[k]))
      return true;
  return false;
}

/* The option a key names, or NULL after saying why it is no key. */
static const cn_opt_t *key_option(load_t *l, const char *name) {
  const cn_opt_t *o = cn_opt_find(l->set, name);
  if (!o)
    fail(l, l->line, "unknown key '%s' (see camnet --help)", name);
  else if (is_action(name))
    fail(l, l->line,
         "key %s: an action of the command line, not a "
         "setting",
         name);
  else if (!strcmp(name, "name"))
    fail(l, l->line,
         "key %s: a source's name is its section title "
         "[NAME]",
         name);
  else
    return o;
  return NULL;
}

/* Sets o in cfg from val with the command line's parser and checks. */
static int set_option(load_t *l, cn_app_config_t *cfg, const cn_opt_t *o,
                      const char *val) {
  cn_err_t e = {0};
  if (cn_opt_set(o, cfg, val, &e) || cn_app_check_option(cfg, o->name, &e))
    return fail_option(l, o, &e);
  return 1;
}

static int global_key(load_t *l, const char *name, const char *value) {
  const cn_opt_t *o = key_option(l, name);
  const char *val = o ? keep(l->cfg, value) : NULL;
  if (o && !val)
    return fail(l, l->line, "out of memory");
  return o ? set_option(l, l->cfg, o, val) : 0;
}

/* A key of the section of source i. */
static int source_key(load_t *l, int i, const char *name, const char *value) {
  cn_app_config_t *cfg = l->cfg;
  const char *val = keep(cfg, value);
  if (!val)
    return fail(l, l->line, "out of memory");
  if (!strcmp(name, "uri")) {
    if (cfg->sources[i])
      return fail(l, l->line, "[%s] has a uri already", cfg->names[i]);
    if (!val[0])
      return fail(l, l->line, "[%s]: empty uri", cfg->names[i]);
    cfg->sources[i] = val;
    return 1;
  }
  const cn_opt_t *o = key_option(l, name);
  if (!o)
    return 0;
  if (!cn_app_per_source(o->name))
    return fail(l, l->line,
                "[%s]: key %s is not per source yet: give it before the "
                "first section (for every source)",
                cfg->names[i], o->name);
  /* Checked on a copy: the globals stay the globals. */
  cn_app_config_t probe = *cfg;
  if (!set_option(l, &probe, o, val))
    return 0;
  cn_app_source_keys_t *k = &cfg->keys[i];
  int j = 0;
  while (j < k->n && strcmp(k->key[j], o->name)) /* last one wins */
    j++;
  k->key[j] = o->name;
  k->val[j] = val;
  k->n += j == k->n;
  return 1;
}

/* A section the handler has not seen yet: a new source. */
static int new_section(load_t *l, const char *section) {
  cn_app_config_t *cfg = l->cfg;
  for (int i = 0; i < cfg->n_file_sources; i++)
    if (!strcmp(cfg->names[i], section))
      return fail(l, l->header_line[l->nheaders - 1],
                  "section [%s] given twice (first at line %d)", section,
                  l->source_line[i]);
  int i = cfg->n_file_sources;
  const char *name = keep(cfg, section);
  if (!name)
    return fail(l, l->line, "out of memory");
  cfg->names[i] = name;
  cfg->sources[i] = NULL;
  l->source_line[i] = l->header_line[l->nheaders - 1];
  cfg->n_file_sources = cfg->n_sources = cfg->n_names = i + 1;
  return 1;
}

static bool has_control(const char *s) {
  for (; *s; s++)
    if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
      return true;
  return false;
}

static int on_key(void *user, const char *section, const char *name,
                  const char *value) {
  load_t *l = user;
  if (l->failed)
    return 0;
  /* A carriage return or other control character inside a line is
   * damage, and could not be printed back (--print-config). */
  if (has_control(section) || has_control(name) || has_control(value))
    return fail(l, l->line, "a control character in '%s'", name);
  if (!section[0])
    return global_key(l, name, value);
  /* The reader has seen this section's header: a new header since the
   * last source began means a new source (even under the same title). */
  if (!l->nheaders) /* a header the reader did not see: never */
    return fail(l, l->line, "section [%s] not understood", section);
  if (l->cfg->n_file_sources < l->nheaders && !new_section(l, section))
    return 0;
  l->header_keys[l->nheaders - 1]++;
  return source_key(l, l->cfg->n_file_sources - 1, name, value);
}

/* After parsing: every section is a source with a uri. */
static int check_sections(load_t *l) {
  for (int h = 0; h < l->nheaders; h++)
    if (!l->header_keys[h])
      return fail(l, l->header_line[h],
                  "[%s] is empty: a source "
                  "needs uri = SOURCE",
                  l->header[h]);
  for (int i = 0; i < l->cfg->n_file_sources; i++)
    if (!l->cfg->sources[i])
      return fail(l, l->source_line[i], "[%s] has no uri = SOURCE",
                  l->cfg->names[i]);
  return 1;
}

int cn_app_config_read(cn_app_config_t *cfg, FILE *f, const char *path,
                       cn_err_t *err) {
  load_t *l = calloc(1, sizeof *l);
  if (!l)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  l->cfg = cfg;
  l->set = cn_app_options();
  l->path = path;
  l->err = err;
  l->f = f;
  int line = ini_parse_stream(read_line, l, on_key, l);
  if (!l->failed && line > 0)
    fail(l, line, "not 'key = value', '[NAME]' or a comment");
  if (!l->failed && ferror(l->f))
    fail(l, l->line + 1, "cannot read: %s", strerror(l->read_errno));
  if (!l->failed && line < 0)
    fail(l, l->line, "out of memory");
  if (!l->failed)
    check_sections(l);
  int rc = l->failed ? CN_EINVAL : 0;
  free(l);
  return rc;
}

int cn_app_config_load(cn_app_config_t *cfg, const char *path, cn_err_t *err) {
  FILE *f = fopen(path, "r");
  if (!f)
    return cn_err_set(err, CN_EIO, "option --config: %s: %s", path,
                      strerror(errno));
  int rc = cn_app_config_read(cfg, f, path, err);
  fclose(f);
  return rc;
}

void cn_app_source_config(const cn_app_config_t *cfg, int i,
                          cn_app_config_t *out) {
  *out = *cfg;
  if (i < 0 || i >= cfg->n_file_sources)
    return;
  const cn_app_source_keys_t *k = &cfg->keys[i];
  for (int j = 0; j < k->n; j++) {
    const cn_opt_t *o = cn_opt_find(cn_app_options(), k->key[j]);
    cn_err_t e = {0};
    if (o) /* checked when read */
      cn_opt_set(o, out, k->val[j], &e);
  }
}

/* s with the userinfo of every URI in it replaced by "****" (the rules
 * of camnet/redact.h, which drops it: here its place stays visible). */
static void mask_uris(const char *s, char *out, size_t n) {
  size_t o = 0;
  while (*s && o + 1 < n) {
    const char *sep = strstr(s, "://");
    if (!sep) {
      o += (size_t)snprintf(out + o, n - o, "%s", s);
      break;
    }
    const char *auth = sep + 3;
    size_t len = strcspn(auth, "/?# \t\r\n\"'");
    const char *at = NULL;
    for (size_t k = 0; k < len; k++)
      if (auth[k] == '@')
        at = auth + k;
    o += (size_t)snprintf(out + o, n - o, "%.*s%s", (int)(auth - s), s,
                          at ? "****" : "");
    s = at ? at : auth;
  }
  out[o < n ? o : n - 1] = '\0';
}

static bool is_secret(const char *name) {
  return strstr(name, "token") || strstr(name, "password") ||
         strstr(name, "secret");
}

/* Whether inih reads val back as it is: no line break, no blank at
 * either end (trimmed) and no ';' after a blank (a comment). Values from
 * a file always are; the command line's may not be. */
static bool representable(const char *val) {
  size_t n = strlen(val);
  if (strpbrk(val, "\r\n") || strstr(val, " ;") || strstr(val, "\t;"))
    return false;
  return !n || (!strchr(" \t", val[0]) && !strchr(" \t", val[n - 1]));
}

static void print_key(FILE *f, const char *comment, const char *key,
                      const char *val) {
  char masked[4096];
  mask_uris(val, masked, sizeof masked);
  const char *v = is_secret(key) && val[0] ? "****" : masked;
  if (!representable(v))
    fprintf(f,
            "# %s: its value cannot be written in a config file "
            "(a line break, a blank at an end or ' ;')\n",
            key);
  else /* "key =;x": a ';' right after '=' is no comment, after a blank is */
    fprintf(f, "%s%s =%s%s\n", comment, key, v[0] == ';' ? "" : " ", v);
}

/* json and record made from --out are not keys of their own. */
static bool from_out(const cn_app_config_t *cfg, const cn_opt_t *o) {
  if (strcmp(o->name, "json") && strcmp(o->name, "record"))
    return false;
  const char *v = *(const char *const *)((const char *)cfg + o->offset);
  for (int i = 0; i < cfg->n_outs; i++)
    if (v == cfg->outs[i])
      return true;
  return false;
}

static bool out_of_range(const cn_opt_t *o, const cn_app_config_t *cfg) {
  const char *field = (const char *)cfg + o->offset;
  double v = o->type == CN_ARG_INT      ? (double)*(const int64_t *)field
             : o->type == CN_ARG_DOUBLE ? *(const double *)field
                                        : o->min;
  return v < o->min || v > o->max;
}

static void print_globals(const cn_app_config_t *cfg, FILE *f) {
  const cn_optset_t *set = cn_app_options();
  cn_app_config_t def;
  cn_app_config_default(&def);
  for (size_t k = 0; k < set->n; k++) {
    const cn_opt_t *o = &set->opts[k];
    if (is_action(o->name) || !strcmp(o->name, "name") || from_out(cfg, o))
      continue;
    char val[4096], dval[4096];
    if (o->type == CN_ARG_LIST) {
      int n = *(const int *)((const char *)cfg + o->count_offset);
      for (int i = 0; i < n; i++) {
        cn_opt_format(o, cfg, i, val, sizeof val);
        print_key(f, "", o->name, val);
      }
      continue;
    }
    cn_opt_format(o, cfg, 0, val, sizeof val);
    cn_opt_format(o, &def, 0, dval, sizeof dval);
    bool is_default = !strcmp(val, dval);
    /* Defaults worth knowing as comments; unset strings, flags off, 0
     * (none, native) and numbers out of range (sentinels: "the
     * decoder's") say nothing. */
    if (is_default && (!val[0] || !strcmp(val, "false") || !strcmp(val, "0") ||
                       out_of_range(o, cfg)))
      continue;
    print_key(f, is_default ? "; " : "", o->name, val);
  }
}

/* Source i's section title: its name; else its URI as the default name
 * is (redacted) when that makes a title; else "sourceN". Titles are
 * unique, so the output reads back. */
static void title_of(const cn_app_config_t *cfg, int i, char titles[][64]) {
  char t[4096];
  if (i < cfg->n_names)
    mask_uris(cfg->names[i], t, sizeof t);
  else
    cn_redact_text(cfg->sources[i], t, sizeof t);
  size_t n = strlen(t);
  bool ok = n && n <= SECTION_MAX && !strpbrk(t, "];") && t[0] != ' ' &&
            t[n - 1] != ' ';
  for (size_t k = 0; ok && k < n; k++)
    ok = (unsigned char)t[k] >= 0x20 && t[k] != 0x7f;
  for (int j = 0; ok && j < i; j++)
    ok = strcmp(titles[j], t) != 0;
  for (int k = i + 1; !ok; k++) {
    snprintf(t, sizeof t, "source%d", k);
    ok = true;
    for (int j = 0; ok && j < i; j++)
      ok = strcmp(titles[j], t) != 0;
  }
  snprintf(titles[i], 64, "%s", t);
}

void cn_app_config_print(const cn_app_config_t *cfg, FILE *f) {
  fputs("# camnet --print-config: the effective configuration, secrets "
        "masked (****)\n# keys before the first section apply to every "
        "source; '; key = value': a default\n",
        f);
  print_globals(cfg, f);
  char titles[CN_APP_MAX_SOURCES][64];
  for (int i = 0; i < cfg->n_sources; i++) {
    title_of(cfg, i, titles);
    fprintf(f, "\n[%s]\n", titles[i]);
    print_key(f, "", "uri", cfg->sources[i]);
    /* Its own keys as their values read (loop = yes: true). */
    cn_app_config_t own;
    cn_app_source_config(cfg, i, &own);
    const cn_app_source_keys_t *k = &cfg->keys[i];
    for (int j = 0; i < cfg->n_file_sources && j < k->n; j++) {
      const cn_opt_t *o = cn_opt_find(cn_app_options(), k->key[j]);
      char val[4096];
      cn_opt_format(o, &own, 0, val, sizeof val);
      print_key(f, "", o->name, val);
    }
  }
}
