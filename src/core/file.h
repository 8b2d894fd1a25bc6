/* cn_file: reading the files a user names (models, prototxt, means, labels).
 *
 * One place decides what is readable and says what is wrong in one line
 * naming the file: missing, a directory, a device, larger than the limit the
 * caller states (with the limit), a read error, a file that shrank while it
 * was read. `what` names the kind of file in messages ("ONNX model",
 * "labels file").
 *
 * Ownership: cn_file_read() returns a malloc'ed buffer the caller frees;
 * cn_file_map() returns a view released with cn_file_unmap().
 */
#ifndef CN_FILE_H
#define CN_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "camnet/error.h"

/* The whole file, NUL-terminated (buf[len] == 0, not counted in len).
 * Regular files and pipes (a shell's `<(...)`) are read; directories and
 * devices are refused. */
int cn_file_read(const char *path, const char *what, uint64_t max, char **buf,
                 size_t *len, cn_err_t *err);

/* Opens a regular file of at most `max` bytes; *size is its length. */
int cn_file_open(const char *path, const char *what, uint64_t max, int *fd,
                 size_t *size, cn_err_t *err);

/* Reads exactly len bytes from the start of fd into buf (EINTR retried). */
int cn_file_read_fd(int fd, const char *path, void *buf, size_t len,
                    cn_err_t *err);

typedef struct cn_file_map {
  const void *data;
  size_t len;
  int mapped; /* 1: an mmap, 0: malloc'ed (or the empty string) */
} cn_file_map_t;

/* A read-only view of a regular file: mapped, or read where mapping fails. */
int cn_file_map(const char *path, const char *what, uint64_t max,
                cn_file_map_t *m, cn_err_t *err);
void cn_file_unmap(cn_file_map_t *m);

#endif
