/* Fuzz target: bytes as a command line (arguments separated by NUL bytes)
 * for the program's option parser and the Jetson-flag resolution. Any
 * command line must parse or fail with one line naming what is wrong.
 * cn_fuzz_outcome: "ok N sources" or the error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
char cn_fuzz_outcome[1024];

#define MAX_ARGS 64

static void check(const cn_err_t *err) {
  if (strchr(err->msg, '\n') || strlen(err->msg) >= CN_ERR_MSG_MAX ||
      !err->msg[0])
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* argv points into a NUL-terminated copy: the parser keeps pointers. */
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  char *argv[MAX_ARGS + 2] = {"camnet"};
  int argc = 1;
  for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
    argv[argc++] = text + i;
    i += strlen(text + i) + 1;
  }
  argv[argc] = NULL;
  cn_app_config_t cfg;
  cn_app_config_default(&cfg);
  cn_err_t err = {0};
  char alias[1024];
  if (cn_app_parse(&cfg, argc, argv, &err)) {
    check(&err);
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "parse: %s", err.msg);
  } else if (cn_app_resolve_sources(&cfg, alias, sizeof alias, &err)) {
    check(&err);
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "sources: %s", err.msg);
  } else {
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "ok %d sources",
             cfg.n_sources);
  }
  cn_app_config_free(&cfg);
  free(text);
  return 0;
}
