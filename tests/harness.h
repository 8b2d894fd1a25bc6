/* Test harness shared by camnet's cmocka tests: paths, free ports, child
 * processes (servers started on 127.0.0.1) and media made with ffmpeg. */
#ifndef CN_TEST_HARNESS_H
#define CN_TEST_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h> /* cmocka needs these before its header */
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

/* Build and source trees (from CTest's environment, else "."). */
const char *cn_test_build_dir(void);
const char *cn_test_source_dir(void);

/* A TCP port that was free a moment ago on 127.0.0.1. */
int cn_test_free_port(void);

/* A fresh directory under $TMPDIR, removed by cn_test_rmtree. */
char *cn_test_mkdtemp(void);
void cn_test_rmtree(const char *dir);

/* Runs a shell command; captures stdout+stderr (truncated) into out.
 * Returns the exit status, or -1 if it did not exit normally. */
int cn_test_sh(char *out, size_t outsz, const char *fmt, ...);

/* Starts argv[0] with argv, output to logfile (or /dev/null). */
pid_t cn_test_spawn(char *const argv[], const char *logfile);

/* The same, and the child gets SIGTERM when the test process dies: an
 * aborted test (a sanitizer report) must not leave an X server behind.
 * Call it from the test's main thread (the signal follows the thread). */
pid_t cn_test_spawn_tied(char *const argv[], const char *logfile);

/* Sends sig, waits for the child (SIGKILL after 15 s). Returns status. */
int cn_test_stop(pid_t pid, int sig);

/* For teardowns after a failed assertion skipped a test's own cleanup:
 * kills *pid if it is still our unreaped child (a server already stopped
 * and reaped is never signalled again), then sets *pid to 0. */
void cn_test_reap(pid_t *pid);

/* cn_test_rmtree(dir), unless CN_TEST_KEEP is set (then dir is kept for a
 * post-mortem and named on stderr). */
void cn_test_release_dir(const char *dir);

void cn_test_sleep_ms(int ms);

/* Waits until something accepts TCP connections on 127.0.0.1:port. Each
 * try is a real connection: not for servers that serve only one client. */
bool cn_test_wait_port(int port, int timeout_ms);

/* True when the program is on PATH. */
bool cn_test_have(const char *prog);

/* Skips the current test with a reason printed on stderr. */
#define CN_TEST_SKIP(...)                                                      \
  do {                                                                         \
    fprintf(stderr, "SKIP: " __VA_ARGS__);                                     \
    fputc('\n', stderr);                                                       \
    skip();                                                                    \
  } while (0)

#endif
