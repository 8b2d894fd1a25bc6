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

/* Monotonic seconds, for behavioural bounds (never for speed). */
double cn_test_now(void);

/* Waits until something accepts TCP connections on 127.0.0.1:port. Each
 * try is a real connection: not for servers that serve only one client. */
bool cn_test_wait_port(int port, int timeout_ms);

/* True when the program is on PATH. */
bool cn_test_have(const char *prog);

/* The highest frame number in a pattern server's --log file (lines
 * "N t_push_ns": cn_rtsp_server, cn_pattern_feed); 0 before any. */
long cn_test_last_logged(const char *log);

/* A network namespace joined to this one by a veth pair: host is this
 * side's address, peer the namespace's, in 10.NET.X.0/24 (X from the pid).
 * Named cn<tag><pid>; a refusal (no root, a kernel without namespaces or
 * veth) returns false with the shell's words in why. */
typedef struct cn_test_netns {
  char ns[32], veth[16], host[32], peer[32];
} cn_test_netns_t;
bool cn_test_netns_up(cn_test_netns_t *n, const char *tag, int net, char *why,
                      size_t whysz);
void cn_test_netns_down(const cn_test_netns_t *n);

/* Skipping. A skipped test must be visible: each skip prints one line
 *   SKIP: [missing WHAT: ]REASON
 * on stderr (and appends "EXE: " and that line to $CN_TEST_SKIP_LOG when
 * set, which scripts/check.sh reads), and an executable in which nothing
 * failed but something was skipped exits with CN_TEST_SKIP_CODE, which
 * CTest reports as skipped (tests/CMakeLists.txt sets SKIP_RETURN_CODE),
 * not passed. A failure still fails: the code is the failure count.
 *
 * CN_TEST_SKIP_MISSING names what is missing (a Debian package, a script
 * that fetches a model): the install script provides all of those, so
 * under CI=true scripts/check.sh fails on such a skip. CN_TEST_SKIP is for
 * any other reason. */
#define CN_TEST_SKIP_CODE 77
void cn_test_note_skip(const char *func, const char *missing, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));
#define CN_TEST_SKIP(...)                                                      \
  do {                                                                         \
    cn_test_note_skip(__func__, NULL, __VA_ARGS__);                            \
    skip();                                                                    \
  } while (0)
#define CN_TEST_SKIP_MISSING(what, ...)                                        \
  do {                                                                         \
    cn_test_note_skip(__func__, what, __VA_ARGS__);                            \
    skip();                                                                    \
  } while (0)

/* cmocka's runner, returning CN_TEST_SKIP_CODE as described above. */
int cn_test_run_group(const char *name, const struct CMUnitTest *tests,
                      size_t n, CMFixtureFunction setup,
                      CMFixtureFunction teardown);
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(t, setup, teardown)                             \
  cn_test_run_group(#t, t, sizeof(t) / sizeof((t)[0]), setup, teardown)

/* Fails the test unless every frame src captured is delivered, dropped
 * or pending (none lost or counted twice); when names the moment. */
struct cn_source;
void cn_test_check_counters(struct cn_source *src, const char *when);

#endif
