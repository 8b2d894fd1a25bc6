/* Fuzz target: bytes as a labels file, read through the real file path (a
 * memfd named by /proc/self/fd), then every label read back. Any input must
 * load or fail with one line. cn_fuzz_outcome: "ok N labels" or the error
 * (replay.c checks it for the named seeds). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "camnet/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
char cn_fuzz_outcome[1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz.labels", MFD_CLOEXEC);
  if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
    abort();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  cn_err_t err = {0};
  cn_labels_t *l = NULL;
  if (cn_labels_load(path, &l, &err) == 0) {
    int n = cn_labels_count(l);
    size_t total = 0;
    for (int i = 0; i < n; i++)
      total += strlen(cn_labels_get(l, i)); /* each one a C string */
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "ok %d labels, %zu bytes",
             n, total);
    cn_labels_destroy(l);
  } else {
    if (strchr(err.msg, '\n') || strlen(err.msg) >= CN_ERR_MSG_MAX)
      abort();
    /* The memfd's number is not part of the outcome. */
    const char *msg = strncmp(err.msg, path, strlen(path)) == 0
                          ? err.msg + strlen(path)
                          : err.msg;
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "FILE%s", msg);
  }
  close(fd);
  return 0;
}
