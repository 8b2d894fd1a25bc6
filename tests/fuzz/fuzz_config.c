/* Fuzz target: bytes as a config file (--config) for the program's INI
 * reader. Any file must load or fail with one line "FILE:LINE: why"; one
 * that loads prints (--print-config) a file that, read back, prints the
 * same text (when its lines fit inih's buffer: masking lengthens some).
 * cn_fuzz_outcome: "ok N sources" or the error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "app/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
char cn_fuzz_outcome[1024];

static void check(const cn_err_t *err) {
  if (strchr(err->msg, '\n') || strlen(err->msg) >= CN_ERR_MSG_MAX ||
      strncmp(err->msg, "fuzz.ini:", 9))
    abort();
}

/* cfg printed into a malloc'd string. */
static char *printed(const cn_app_config_t *cfg, size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f)
    abort();
  cn_app_config_print(cfg, f);
  fclose(f);
  return text;
}

static void round_trip(const cn_app_config_t *cfg) {
  size_t n1, n2;
  char *first = printed(cfg, &n1);
  FILE *f = fmemopen(first, n1, "r");
  cn_app_config_t again;
  cn_app_config_default(&again);
  cn_err_t err = {0};
  int rc = f ? cn_app_config_read(&again, f, "fuzz.ini", &err) : -1;
  if (f)
    fclose(f);
  if (rc && !strstr(err.msg, "line longer than"))
    abort();
  if (!rc) {
    char *second = printed(&again, &n2);
    if (n1 != n2 || memcmp(first, second, n1))
      abort();
    free(second);
  }
  cn_app_config_free(&again);
  free(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fmemopen((void *)data, size, "r");
  if (!size || !f) {
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "empty");
    if (f)
      fclose(f);
    return 0;
  }
  cn_app_config_t cfg;
  cn_app_config_default(&cfg);
  cn_err_t err = {0};
  if (cn_app_config_read(&cfg, f, "fuzz.ini", &err)) {
    check(&err);
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "%s", err.msg);
  } else {
    round_trip(&cfg);
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "ok %d sources",
             cfg.n_sources);
  }
  fclose(f);
  cn_app_config_free(&cfg);
  return 0;
}
