#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* "2 GiB", "64 MiB", "4096 bytes": limits are stated the way they are set. */
static void human(uint64_t n, char *s, size_t cap) {
  if (n >= (1ull << 30) && n % (1ull << 30) == 0)
    snprintf(s, cap, "%" PRIu64 " GiB", n >> 30);
  else if (n >= (1ull << 20) && n % (1ull << 20) == 0)
    snprintf(s, cap, "%" PRIu64 " MiB", n >> 20);
  else
    snprintf(s, cap, "%" PRIu64 " bytes", n);
}

static int too_large(const char *path, const char *what, uint64_t max,
                     cn_err_t *err) {
  char lim[32];
  human(max, lim, sizeof lim);
  return cn_err_set(err, CN_EFORMAT, "%s: larger than %s, the limit for the %s",
                    path, lim, what);
}

/* Opens path and refuses what is not a file; *st describes it. */
static int open_checked(const char *path, const char *what, int *fd,
                        struct stat *st, cn_err_t *err) {
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    int e = errno;
    return cn_err_set(err, cn_err_from_errno(e), "%s: %s", path, strerror(e));
  }
  if (fstat(f, st) != 0) {
    int e = errno;
    close(f);
    return cn_err_set(err, cn_err_from_errno(e), "%s: %s", path, strerror(e));
  }
  if (S_ISDIR(st->st_mode)) {
    close(f);
    return cn_err_set(err, CN_EINVAL,
                      "%s: is a directory; the %s must be a file", path, what);
  }
  if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode)) {
    close(f);
    return cn_err_set(err, CN_EINVAL, "%s: not a regular file (a %s)", path,
                      S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? "device"
                                                                   : "socket");
  }
  *fd = f;
  return 0;
}

int cn_file_open(const char *path, const char *what, uint64_t max, int *fd,
                 size_t *size, cn_err_t *err) {
  struct stat st;
  int f = -1, r = open_checked(path, what, &f, &st, err);
  if (r)
    return r;
  if (!S_ISREG(st.st_mode)) {
    close(f);
    return cn_err_set(err, CN_EINVAL, "%s: not a regular file (a pipe)", path);
  }
  if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX / 2) {
    close(f);
    return too_large(path, what, max, err);
  }
  *fd = f;
  *size = (size_t)st.st_size;
  return 0;
}

int cn_file_read_fd(int fd, const char *path, void *buf, size_t len,
                    cn_err_t *err) {
  size_t got = 0;
  while (got < len) {
    ssize_t k = pread(fd, (char *)buf + got, len - got, (off_t)got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return cn_err_set(err, CN_EIO, "%s: read error: %s", path,
                        strerror(errno));
    if (k == 0)
      return cn_err_set(err, CN_EIO, "%s: the file shrank while being read",
                        path);
    got += (size_t)k;
  }
  return 0;
}

/* A pipe: read until end of file, growing up to max. */
static int read_stream(int fd, const char *path, const char *what, uint64_t max,
                       char **out, size_t *len, cn_err_t *err) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (!buf)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
    ssize_t k = read(fd, buf + n, cap - n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      int e = errno;
      free(buf);
      return cn_err_set(err, CN_EIO, "%s: read error: %s", path, strerror(e));
    }
    if (k == 0)
      break;
    n += (size_t)k;
    if ((uint64_t)n > max) {
      free(buf);
      return too_large(path, what, max, err);
    }
    if (n == cap) {
      char *nb = realloc(buf, cap * 2 + 1);
      if (!nb)
        free(buf);
      buf = nb;
      cap *= 2;
    }
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return 0;
}

int cn_file_read(const char *path, const char *what, uint64_t max, char **buf,
                 size_t *len, cn_err_t *err) {
  *buf = NULL;
  *len = 0;
  struct stat st;
  int fd = -1, r = open_checked(path, what, &fd, &st, err);
  if (r)
    return r;
  if (S_ISFIFO(st.st_mode)) {
    r = read_stream(fd, path, what, max, buf, len, err);
    close(fd);
    return r;
  }
  if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX / 2) {
    close(fd);
    return too_large(path, what, max, err);
  }
  size_t n = (size_t)st.st_size;
  char *b = malloc(n + 1);
  if (!b) {
    close(fd);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  }
  r = cn_file_read_fd(fd, path, b, n, err);
  close(fd);
  if (r) {
    free(b);
    return r;
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  return 0;
}

int cn_file_map(const char *path, const char *what, uint64_t max,
                cn_file_map_t *m, cn_err_t *err) {
  *m = (cn_file_map_t){"", 0, 0};
  int fd = -1;
  size_t n = 0;
  int r = cn_file_open(path, what, max, &fd, &n, err);
  if (r)
    return r;
  if (n == 0) {
    close(fd);
    return 0;
  }
  void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p != MAP_FAILED) {
    close(fd);
    *m = (cn_file_map_t){p, n, 1};
    return 0;
  }
  void *b = malloc(n);
  if (!b) {
    close(fd);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  }
  r = cn_file_read_fd(fd, path, b, n, err);
  close(fd);
  if (r) {
    free(b);
    return r;
  }
  *m = (cn_file_map_t){b, n, 0};
  return 0;
}

void cn_file_unmap(cn_file_map_t *m) {
  if (!m || !m->len)
    return;
  if (m->mapped)
    munmap((void *)(uintptr_t)m->data, m->len);
  else
    free((void *)(uintptr_t)m->data);
  *m = (cn_file_map_t){"", 0, 0};
}
