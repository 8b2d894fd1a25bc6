#define _GNU_SOURCE /* program_invocation_short_name */
#include "harness.h"

#include "camnet/source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *cn_test_build_dir(void) {
  const char *d = getenv("CN_BUILD_DIR");
  return d ? d : ".";
}

const char *cn_test_source_dir(void) {
  const char *d = getenv("CN_SOURCE_DIR");
  return d ? d : ".";
}

int cn_test_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
      getsockname(fd, (struct sockaddr *)&a, &len)) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

char *cn_test_mkdtemp(void) {
  const char *tmp = getenv("TMPDIR");
  char *path = malloc(512);
  snprintf(path, 512, "%s/camnet-test-XXXXXX", tmp ? tmp : "/tmp");
  if (!mkdtemp(path)) {
    free(path);
    return NULL;
  }
  return path;
}

void cn_test_rmtree(const char *dir) {
  if (dir && strstr(dir, "camnet-test-"))
    cn_test_sh(NULL, 0, "rm -rf '%s'", dir);
}

int cn_test_sh(char *out, size_t outsz, const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  char full[4200];
  snprintf(full, sizeof full, "(%s) 2>&1", cmd);
  FILE *p = popen(full, "r");
  if (!p)
    return -1;
  size_t n = 0;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) {
    if (out && n + 1 < outsz) {
      size_t take = got < outsz - 1 - n ? got : outsz - 1 - n;
      memcpy(out + n, buf, take);
      n += take;
    }
  }
  if (out && outsz)
    out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static pid_t spawn(char *const argv[], const char *logfile, bool tied) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    if (tied) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) /* the test died before prctl */
        _exit(1);
    }
    int fd = open(logfile ? logfile : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                  0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
      dup2(nul, 0);
      close(nul);
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  return pid;
}

pid_t cn_test_spawn(char *const argv[], const char *logfile) {
  return spawn(argv, logfile, false);
}

pid_t cn_test_spawn_tied(char *const argv[], const char *logfile) {
  return spawn(argv, logfile, true);
}

int cn_test_stop(pid_t pid, int sig) {
  if (pid <= 0)
    return -1;
  kill(pid, sig);
  int st = 0;
  /* 15 s: a server under ThreadSanitizer tears down slowly. */
  for (int i = 0; i < 1500; i++) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return st;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return st;
}

void cn_test_reap(pid_t *pid) {
  if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) == 0)
    cn_test_stop(*pid, SIGKILL);
  *pid = 0;
}

void cn_test_release_dir(const char *dir) {
  if (getenv("CN_TEST_KEEP"))
    fprintf(stderr, "kept %s\n", dir);
  else
    cn_test_rmtree(dir);
}

double cn_test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cn_test_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

bool cn_test_wait_port(int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok)
      return true;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return false;
}

bool cn_test_have(const char *prog) {
  return cn_test_sh(NULL, 0, "command -v '%s' >/dev/null", prog) == 0;
}

static int skips;

void cn_test_note_skip(const char *func, const char *missing, const char *fmt,
                       ...) {
  char why[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  char line[1400];
  if (missing)
    snprintf(line, sizeof line, "SKIP: missing %s: %s (%s)", missing, why,
             func);
  else
    snprintf(line, sizeof line, "SKIP: %s (%s)", why, func);
  fprintf(stderr, "%s\n", line);
  skips++;
  const char *log = getenv("CN_TEST_SKIP_LOG");
  FILE *f = log && *log ? fopen(log, "a") : NULL;
  if (f) {
    fprintf(f, "%s: %s\n", program_invocation_short_name, line);
    fclose(f);
  }
}

int cn_test_run_group(const char *name, const struct CMUnitTest *tests,
                      size_t n, CMFixtureFunction setup,
                      CMFixtureFunction teardown) {
  int failed = _cmocka_run_group_tests(name, tests, n, setup, teardown);
  if (failed)
    return failed == CN_TEST_SKIP_CODE ? failed + 1 : failed;
  return skips ? CN_TEST_SKIP_CODE : 0;
}

void cn_test_check_counters(cn_source_t *src, const char *when) {
  cn_source_stats_t st;
  cn_source_get_stats(src, &st);
  if (st.captured != st.delivered + st.dropped + st.pending)
    fail_msg("%s: %llu captured, %llu delivered + %llu dropped + %llu "
             "pending",
             when, (unsigned long long)st.captured,
             (unsigned long long)st.delivered, (unsigned long long)st.dropped,
             (unsigned long long)st.pending);
}

long cn_test_last_logged(const char *log) {
  FILE *f = fopen(log, "r");
  long n = 0, last = 0;
  long long t;
  while (f && fscanf(f, "%ld %lld", &n, &t) == 2)
    last = n;
  if (f)
    fclose(f);
  return last;
}

void cn_test_netns_down(const cn_test_netns_t *n) {
  cn_test_sh(NULL, 0, "ip netns del %s; ip link del %s", n->ns, n->veth);
}

bool cn_test_netns_up(cn_test_netns_t *n, const char *tag, int net, char *why,
                      size_t whysz) {
  int id = (int)(getpid() % 200) + 20;
  snprintf(n->ns, sizeof n->ns, "cn%s%d", tag, (int)getpid());
  snprintf(n->veth, sizeof n->veth, "cn%c%da", tag[0], (int)getpid() % 100000);
  snprintf(n->host, sizeof n->host, "10.%d.%d.1", net, id);
  snprintf(n->peer, sizeof n->peer, "10.%d.%d.2", net, id);
  int rc = cn_test_sh(
      why, whysz,
      "set -e; ip netns add %s; ip link add %s type veth peer name %sb; "
      "ip link set %sb netns %s; ip addr add %s/24 dev %s; ip link set %s up; "
      "ip -n %s addr add %s/24 dev %sb; ip -n %s link set %sb up; "
      "ip -n %s link set lo up",
      n->ns, n->veth, n->veth, n->veth, n->ns, n->host, n->veth, n->veth, n->ns,
      n->peer, n->veth, n->ns, n->veth, n->ns);
  if (rc)
    cn_test_netns_down(n);
  return rc == 0;
}
