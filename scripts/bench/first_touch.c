/* first_touch: what a model load pays for memory, one measurement per
 * process (scripts/bench-memory.sh runs it in fresh processes):
 *
 *   first_touch read FILE     read() the file into memory already touched
 *                             (the copy from the page cache alone)
 *   first_touch map FILE      mmap the file and touch every page
 *   first_touch touch MB huge|small
 *                             memset MB of a fresh anonymous mapping,
 *                             with MADV_HUGEPAGE or MADV_NOHUGEPAGE
 *
 * Prints the milliseconds the step took. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int file_step(const char *mode, const char *path) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) {
    perror(path);
    return 1;
  }
  size_t n = (size_t)st.st_size;
  volatile unsigned sum = 0;
  char *buf = NULL;
  if (!strcmp(mode, "read") && (buf = malloc(n)))
    memset(buf, 0, n); /* first touch is measured by "touch" */
  double t0 = now_ms();
  if (!strcmp(mode, "read")) {
    size_t got = 0;
    ssize_t r;
    while (buf && got < n && (r = read(fd, buf + got, n - got)) > 0)
      got += (size_t)r;
    if (!buf || got != n)
      return fprintf(stderr, "%s: short read\n", path), 1;
    sum += (unsigned char)buf[n - 1];
  } else {
    unsigned char *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
      return perror("mmap"), 1;
    for (size_t i = 0; i < n; i += 4096)
      sum += p[i];
  }
  printf("%.1f\n", now_ms() - t0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && (!strcmp(argv[1], "read") || !strcmp(argv[1], "map")))
    return file_step(argv[1], argv[2]);
  if (argc != 4 || strcmp(argv[1], "touch")) {
    fprintf(stderr, "usage: first_touch read|map FILE | touch MB huge|small\n");
    return 2;
  }
  size_t n = (size_t)atol(argv[2]) << 20;
  char *p =
      mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return perror("mmap"), 1;
  madvise(p, n, strcmp(argv[3], "huge") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
  double t0 = now_ms();
  memset(p, 1, n);
  printf("%.1f\n", now_ms() - t0);
  return 0;
}
