/* The JSON Lines file sink: one record per line, and only whole lines.
 *
 * Records are collected in a buffer and written with write(2). A write can
 * stop part-way (a full disk, a file size limit): on a regular file the
 * sink then cuts the file back to the end of the last whole record, so a
 * reader never sees half a record. Pipes and terminals get each record at
 * once (a partial line there means the reader is gone anyway). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outputs/fanout.h"

#define BUF_BYTES (64 * 1024)

typedef struct file_sink {
  int fd;
  bool own_fd;
  bool regular;    /* can be cut back to a record boundary */
  bool immediate;  /* pipes, terminals: every record at once */
  off_t committed; /* regular files: end of the last whole record written */
  char *buf;
  size_t len, cap;
  int write_errno; /* first failure */
  char path[];
} file_sink_t;

static int failed(file_sink_t *f, cn_err_t *err) {
  return cn_err_set(err, CN_EIO, "%s: write failed: %s", f->path,
                    strerror(f->write_errno));
}

/* A short write leaves part of a record: cut it off. */
static void cut_back(file_sink_t *f, size_t written) {
  size_t whole = 0;
  for (size_t i = written; i > 0; i--)
    if (f->buf[i - 1] == '\n') {
      whole = i;
      break;
    }
  if (f->regular && ftruncate(f->fd, f->committed + (off_t)whole) == 0)
    lseek(f->fd, f->committed + (off_t)whole, SEEK_SET);
  f->committed += (off_t)whole;
}

static int drain(file_sink_t *f) {
  size_t done = 0;
  while (done < f->len && !f->write_errno) {
    ssize_t k = write(f->fd, f->buf + done, f->len - done);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      f->write_errno = k < 0 ? errno : ENOSPC;
      cut_back(f, done);
      break;
    }
    done += (size_t)k;
  }
  if (!f->write_errno)
    f->committed += (off_t)f->len;
  f->len = 0;
  return f->write_errno ? -1 : 0;
}

static int file_write(void *ctx, const char *rec, size_t len, cn_err_t *err) {
  file_sink_t *f = ctx;
  if (f->write_errno)
    return failed(f, err);
  if (f->len + len + 1 > f->cap && f->len)
    drain(f);
  if (len + 1 > f->cap) { /* one record larger than the buffer: rare */
    char *nb = realloc(f->buf, len + 1);
    if (!nb)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", f->path);
    f->buf = nb;
    f->cap = len + 1;
  }
  if (!f->write_errno) {
    memcpy(f->buf + f->len, rec, len);
    f->buf[f->len + len] = '\n';
    f->len += len + 1;
    if (f->immediate)
      drain(f);
  }
  return f->write_errno ? failed(f, err) : 0;
}

/* Idle: the file is current for readers (tail -f, a test). */
static int file_flush(void *ctx, cn_err_t *err) {
  file_sink_t *f = ctx;
  if (f->len)
    drain(f);
  return f->write_errno ? failed(f, err) : 0;
}

static int file_close(void *ctx, cn_err_t *err) {
  file_sink_t *f = ctx;
  if (f->len && !f->write_errno)
    drain(f);
  if (f->own_fd && close(f->fd) && !f->write_errno)
    f->write_errno = errno;
  int rc = f->write_errno ? failed(f, err) : 0;
  free(f->buf);
  free(f);
  return rc;
}

static const cn_rsink_ops_t file_ops = {"file", file_write, file_flush,
                                        file_close};

int cn_sink_file_add(cn_fanout_t *fo, const char *path, cn_err_t *err) {
  file_sink_t *f = calloc(1, sizeof *f + strlen(path) + 1);
  char *buf = malloc(BUF_BYTES);
  if (!f || !buf) {
    free(f);
    free(buf);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  }
  strcpy(f->path, path);
  f->buf = buf;
  f->cap = BUF_BYTES;
  f->own_fd = strcmp(path, "-") != 0;
  f->fd = f->own_fd ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)
                    : STDOUT_FILENO;
  struct stat st;
  if (f->fd < 0 || fstat(f->fd, &st) != 0) {
    int e = errno;
    if (f->own_fd && f->fd >= 0)
      close(f->fd);
    free(buf);
    free(f);
    return cn_err_set(err, cn_err_from_errno(e), "%s: cannot write: %s", path,
                      strerror(e));
  }
  f->regular = S_ISREG(st.st_mode);
  f->immediate = !f->regular;
  /* stdout redirected to a file may already hold data (>>, or an offset
   * the shell left). */
  int fl = fcntl(f->fd, F_GETFL);
  f->committed = !f->regular                  ? 0
                 : fl >= 0 && (fl & O_APPEND) ? st.st_size
                                              : lseek(f->fd, 0, SEEK_CUR);
  if (f->committed < 0)
    f->committed = 0;
  /* A file must get every record: the producer waits for it. */
  return cn_fanout_add(fo, &file_ops, f, 0, false, err);
}
