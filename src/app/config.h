/* The camnet program's config file (--config FILE, --print-config): INI
 * read with inih, keys made from the one option table (app/options.c),
 * values parsed and checked by the command line's own code.
 *
 *   frames = 300          keys before the first section: every source
 *   json = out.jsonl
 *   [door]                one section per source, named by its title
 *   uri = rtsp://cam1/s   the source
 *   latency = 200         its own settings (cn_app_per_source)
 *
 * Every long option is a key (without "--"); flags take true or false;
 * a repeatable option is a repeated key. Not keys: the actions (--help,
 * --version, --man, --config, --print-config) and --name (a section's
 * title is its source's name). Errors are "FILE:LINE: why", naming the
 * key. Lines are at most 198 characters (inih's line buffer) and section
 * names at most 49; ';' after a space starts a comment.
 */
#ifndef CN_APP_CONFIG_H
#define CN_APP_CONFIG_H

#include <stdio.h>

#include "app/options.h"
#include "camnet/error.h"

/* Reads FILE into cfg (defaults in it): globals into its fields, sections
 * as sources 0..n_file_sources-1 with their names and keys. Strings are
 * kept in cfg->strings. Returns 0, CN_EINVAL ("FILE:LINE: why") or
 * CN_EIO (the file cannot be read). */
int cn_app_config_load(cn_app_config_t *cfg, const char *path, cn_err_t *err);

/* The same from an open stream, named path in messages. */
int cn_app_config_read(cn_app_config_t *cfg, FILE *f, const char *path,
                       cn_err_t *err);

/* Source i's settings: cfg's with the section's own keys applied. */
void cn_app_source_config(const cn_app_config_t *cfg, int i,
                          cn_app_config_t *out);

/* Prints cfg as a config file that reads back to the same configuration:
 * non-default globals, defaults as ';' comments, one section per source.
 * Secrets are masked as "****": URI passwords (the whole user:password),
 * and options named *token*, *password* or *secret*. */
void cn_app_config_print(const cn_app_config_t *cfg, FILE *f);

void cn_app_strings_free(struct cn_app_strings *s);

#endif
