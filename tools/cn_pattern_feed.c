/* cn_pattern_feed: paced raw BGR24 pattern frames for an encoder's stdin.
 *
 *   cn_pattern_feed --size WxH --fps F [--log FILE] [--count N]
 *                   [--first N] [-- COMMAND ARGS...]
 *
 * Writes frames numbered 1, 2, 3... (from --first N if given, so that a
 * test tells a restarted server's frames from the old one's;
 * cn_pattern_paint_bgr) at F frames a
 * second to stdout, or to the stdin of COMMAND, which it starts, e.g.
 *   cn_pattern_feed --size 640x480 --fps 15 -- ffmpeg -f rawvideo
 *     -pix_fmt bgr24 -s 640x480 -r 15 -i - -c:v mjpeg -f mpjpeg
 *     -listen 1 http://127.0.0.1:PORT/cam.mjpg
 * so one pid stands for the whole server. With --log, one line
 * "N t_push_ns" per frame records when the consumer had read frame N
 * (CLOCK_MONOTONIC, stamped when the write completed).
 *
 * A feeder that falls behind (reader blocked, machine busy) restarts its
 * schedule instead of bursting the missed frames. Exits when the reader
 * goes away (after reaping COMMAND), after --count frames, or on SIGTERM/
 * SIGINT (then COMMAND gets SIGTERM). Exit status: 0, or 1 on errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "camnet/clock.h"
#include "core/pattern.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static int usage(const char *why) {
  fprintf(stderr, "cn_pattern_feed: %s\n", why);
  fprintf(stderr, "usage: cn_pattern_feed --size WxH --fps F [--log FILE] "
                  "[--count N] [--first N] [-- COMMAND ARGS...]\n");
  return 2;
}

/* Writes all of buf; returns 0, or -1 on a closed reader or a signal. */
static int write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR && !g_stop)
        continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static pid_t spawn_reader(char **argv, int *fd) {
  int p[2];
  if (pipe(p))
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[0], 0);
    close(p[0]);
    close(p[1]);
    /* The child must not inherit our ignored SIGPIPE. */
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    fprintf(stderr, "cn_pattern_feed: cannot run %s\n", argv[0]);
    _exit(127);
  }
  close(p[0]);
  if (pid < 0) {
    close(p[1]);
    return -1;
  }
  *fd = p[1];
  return pid;
}

typedef struct feed_opts {
  int width, height;
  double fps;
  long count, first;
  const char *log_path;
  char **cmd; /* the reader to start, or NULL for stdout */
} feed_opts_t;

/* Returns 0, or usage()'s status. */
static int parse_args(int argc, char **argv, feed_opts_t *o) {
  *o = (feed_opts_t){.count = -1, .first = 1};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      o->cmd = i + 1 < argc ? argv + i + 1 : NULL;
      break;
    }
    if (i + 1 >= argc)
      return usage("option needs a value");
    const char *a = argv[i], *v = argv[++i];
    if (!strcmp(a, "--size")) {
      if (sscanf(v, "%dx%d", &o->width, &o->height) != 2)
        return usage("--size wants WxH");
    } else if (!strcmp(a, "--fps"))
      o->fps = atof(v);
    else if (!strcmp(a, "--log"))
      o->log_path = v;
    else if (!strcmp(a, "--count"))
      o->count = atol(v);
    else if (!strcmp(a, "--first"))
      o->first = atol(v);
    else
      return usage("unknown option");
  }
  if (o->width < 68 || o->height < 16 || o->width > 8192 || o->height > 8192)
    return usage("--size must be 68x16 to 8192x8192");
  if (!(o->fps >= 0.1 && o->fps <= 1000))
    return usage("--fps must be 0.1..1000");
  if (o->first < 1 || o->first > 1000000000L)
    return usage("--first must be 1..1000000000");
  return 0;
}

/* Paints, writes and paces frames until stopped, the reader goes away or
 * --count frames were written. */
static void feed(const feed_opts_t *o, int fd, FILE *log, uint8_t *img) {
  int width = o->width, height = o->height;
  size_t size = (size_t)width * (size_t)height * 3;
  const int64_t period = (int64_t)(1e9 / o->fps);
  int64_t deadline = cn_clock_now();
  for (uint32_t n = (uint32_t)o->first;
       !g_stop && (o->count < 0 || (long)n - o->first < o->count); n++) {
    cn_pattern_paint_bgr(img, width * 3, width, height, n);
    if (write_all(fd, img, size))
      break;
    int64_t t_push = cn_clock_now();
    if (log) {
      fprintf(log, "%u %lld\n", (unsigned)n, (long long)t_push);
      fflush(log);
    }
    deadline = t_push - deadline < period ? deadline + period : t_push + period;
    struct timespec ts = {(time_t)(deadline / CN_NS_PER_S),
                          (long)(deadline % CN_NS_PER_S)};
    while (!g_stop &&
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
      ;
  }
}

static void reap_reader(pid_t child, int fd) {
  close(fd);
  if (g_stop)
    kill(child, SIGTERM);
  /* A reader stuck waiting for its client never sees the closed pipe. */
  for (int i = 0; waitpid(child, NULL, WNOHANG) == 0; i++) {
    if (i == 300)
      kill(child, SIGKILL);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

int main(int argc, char **argv) {
  feed_opts_t o;
  int rc = parse_args(argc, argv, &o);
  if (rc)
    return rc;

  struct sigaction sa = {0};
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocked write returns */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  FILE *log = NULL;
  if (o.log_path && !(log = fopen(o.log_path, "w"))) {
    fprintf(stderr, "cn_pattern_feed: %s: cannot write\n", o.log_path);
    return 1;
  }
  int fd = 1;
  pid_t child = 0;
  if (o.cmd && (child = spawn_reader(o.cmd, &fd)) < 0) {
    fprintf(stderr, "cn_pattern_feed: cannot start %s\n", o.cmd[0]);
    return 1;
  }
  uint8_t *img = malloc((size_t)o.width * (size_t)o.height * 3);
  if (!img) {
    fprintf(stderr, "cn_pattern_feed: out of memory\n");
    return 1;
  }
  feed(&o, fd, log, img);
  free(img);
  if (log)
    fclose(log);
  if (child > 0)
    reap_reader(child, fd);
  return 0;
}
