/* The JSON Lines file sink: one record per line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outputs/fanout.h"

typedef struct file_sink {
  FILE *fp;
  bool is_stdout;
  int write_errno; /* first failure */
  char path[];
} file_sink_t;

static int file_write(void *ctx, const char *rec, size_t len, cn_err_t *err) {
  file_sink_t *f = ctx;
  int rc =
      fwrite(rec, 1, len, f->fp) == len && fputc('\n', f->fp) != EOF ? 0 : -1;
  /* Pipes see each record at once. */
  if (rc == 0 && f->is_stdout && fflush(f->fp))
    rc = -1;
  /* A failed flush of a full buffer does not always shorten the fwrite
   * that caused it; the stream's error flag does record it. */
  if (rc == 0 && ferror(f->fp))
    rc = -1;
  if (rc && !f->write_errno)
    f->write_errno = errno ? errno : EIO;
  if (f->write_errno)
    return cn_err_set(err, CN_EIO, "%s: write failed: %s", f->path,
                      strerror(f->write_errno));
  return 0;
}

/* Idle: the file is current for readers (tail -f, a test). */
static int file_flush(void *ctx, cn_err_t *err) {
  file_sink_t *f = ctx;
  if (fflush(f->fp) && !f->write_errno)
    f->write_errno = errno ? errno : EIO;
  if (f->write_errno)
    return cn_err_set(err, CN_EIO, "%s: write failed: %s", f->path,
                      strerror(f->write_errno));
  return 0;
}

static int file_close(void *ctx, cn_err_t *err) {
  file_sink_t *f = ctx;
  if (fflush(f->fp) && !f->write_errno)
    f->write_errno = errno;
  if (!f->is_stdout && fclose(f->fp) && !f->write_errno)
    f->write_errno = errno;
  int rc = f->write_errno ? cn_err_set(err, CN_EIO, "%s: write failed: %s",
                                       f->path, strerror(f->write_errno))
                          : 0;
  free(f);
  return rc;
}

static const cn_rsink_ops_t file_ops = {"file", file_write, file_flush,
                                        file_close};

int cn_sink_file_add(cn_fanout_t *fo, const char *path, cn_err_t *err) {
  file_sink_t *f = calloc(1, sizeof *f + strlen(path) + 1);
  if (!f)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  strcpy(f->path, path);
  f->is_stdout = strcmp(path, "-") == 0;
  f->fp = f->is_stdout ? stdout : fopen(path, "w");
  if (!f->fp) {
    int e = errno;
    free(f);
    return cn_err_set(err, cn_err_from_errno(e), "%s: cannot write: %s", path,
                      strerror(e));
  }
  /* A file must get every record: the producer waits for it. */
  return cn_fanout_add(fo, &file_ops, f, 0, false, err);
}
