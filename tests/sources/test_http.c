/* HTTP MJPEG sources against ffmpeg's one-client HTTP server on loopback,
 * fed numbered pattern frames by tools/cn_pattern_feed: frames arrive in
 * order with the numbers painted, the server closing the stream takes the
 * source offline, and a new server on the same port brings it back.
 *
 * ffmpeg's server (-listen 1) serves exactly one client, so nothing here
 * probes its port: the source's own open (retried) is the only client. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "camnet/clock.h"
#include "core/pattern.h"
#include "camnet/source.h"

/* Longer than the read timeout, so that a session that never starts
 * (seen about once in 50 sessions under ASan on a loaded machine, with
 * the server pushing frames) is recovered by the source's own reconnect
 * rather than failing the test. */
#define TAKE_TIMEOUT_NS (12 * CN_NS_PER_S)

typedef struct server {
  pid_t pid;
  int port;
  long first; /* its first frame's number (0: 1) */
  char log[600];
  char out[600];
} server_t;

typedef struct fixture {
  char *dir;
  pid_t running; /* the current server, killed by the test teardown */
  char feed[512];
} fixture_t;

static int group_setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  fx->dir = cn_test_mkdtemp();
  snprintf(fx->feed, sizeof fx->feed, "%s/tools/cn_pattern_feed",
           cn_test_build_dir());
  *state = fx;
  return fx->dir ? 0 : -1;
}

static int group_teardown(void **state) {
  fixture_t *fx = *state;
  cn_test_release_dir(fx->dir); /* CN_TEST_KEEP=1 keeps the servers' logs */
  free(fx->dir);
  free(fx);
  return 0;
}

/* A failed assertion skips the test's own cleanup: stop its server here
 * so it does not outlive the test run. */
static int test_teardown(void **state) {
  fixture_t *fx = *state;
  cn_test_reap(&fx->running);
  return 0;
}

static fixture_t *fixture(void **state) {
  fixture_t *fx = *state;
  if (access(fx->feed, X_OK))
    CN_TEST_SKIP("%s not built", fx->feed);
  if (!cn_test_have("ffmpeg"))
    CN_TEST_SKIP_MISSING("ffmpeg", "no ffmpeg on PATH");
  return fx;
}

/* Starts feed | ffmpeg serving MJPEG at 15 fps on s->port (fresh when 0).
 * count > 0: the stream ends after that many frames. Does not wait. */
static void server_start(fixture_t *fx, server_t *s, int count) {
  if (!s->port)
    s->port = cn_test_free_port();
  assert_true(s->port > 0);
  char url[64], cnt[16], first[24];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/cam.mjpg", s->port);
  snprintf(cnt, sizeof cnt, "%d", count > 0 ? count : -1);
  snprintf(first, sizeof first, "%ld", s->first > 0 ? s->first : 1);
  snprintf(s->log, sizeof s->log, "%s/feed-%d.log", fx->dir, s->port);
  snprintf(s->out, sizeof s->out, "%s/feed-%d.out", fx->dir, s->port);
  char *argv[] = {fx->feed,    "--size",
                  "320x240",   "--fps",
                  "15",        "--log",
                  s->log,      "--count",
                  cnt,         "--first",
                  first,       "--",
                  "ffmpeg",    "-hide_banner",
                  "-loglevel", "error",
                  "-f",        "rawvideo",
                  "-pix_fmt",  "bgr24",
                  "-s",        "320x240",
                  "-r",        "15",
                  "-i",        "-",
                  "-c:v",      "mjpeg",
                  "-pix_fmt",  "yuvj420p",
                  "-q:v",      "3",
                  "-f",        "mpjpeg",
                  "-listen",   "1",
                  url,         NULL};
  s->pid = cn_test_spawn(argv, s->out);
  fx->running = s->pid;
  assert_true(s->pid > 0);
}

static void server_stop(server_t *s) {
  if (s->pid > 0)
    cn_test_stop(s->pid, SIGTERM);
  s->pid = 0;
}

/* Creates the source and opens it, retrying while the server is not
 * listening yet (a refused connection does not use up its one client). */
static cn_source_t *source_open(const server_t *s, int reconnect) {
  char uri[128];
  snprintf(uri, sizeof uri, "http://127.0.0.1:%d/cam.mjpg", s->port);
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.uri = uri;
  o.timeout_ms = 2000;
  o.reconnect = reconnect;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_source_create(&o, &src, &err), 0);
  int rc = -1;
  for (int i = 0; i < 100 && rc; i++) {
    rc = cn_source_open(src, &err);
    if (rc)
      cn_test_sleep_ms(100);
  }
  if (rc)
    fprintf(stderr, "open failed: %s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(cn_source_start(src, &err), 0);
  return src;
}

static int64_t take_increasing(cn_source_t *src, uint64_t *seq, int count) {
  int64_t last = 0;
  for (int i = 0; i < count; i++) {
    cn_frame_t *f = NULL;
    cn_err_t err = {0};
    int rc = cn_source_take(src, *seq, TAKE_TIMEOUT_NS, &f, NULL, &err);
    if (rc)
      fprintf(stderr, "take %d: %s\n", i, err.msg);
    assert_int_equal(rc, 0);
    assert_true(f->seq > *seq);
    *seq = f->seq;
    int64_t n = cn_pattern_read_bgr(f->data, f->stride, f->width, f->height);
    cn_frame_unref(&f);
    if (n <= last)
      fprintf(stderr, "frame %d: number %lld after %lld\n", i, (long long)n,
              (long long)last);
    assert_true(n > last);
    last = n;
  }
  return last;
}

/* Takes count frames that must come from server s: numbers in
 * [s->first, what it logged as read] and increasing (the log line
 * follows the write, so it is given a moment to catch up). */
static void take_from(cn_source_t *src, uint64_t *seq, const server_t *s,
                      int count) {
  int64_t last = 0;
  for (int i = 0; i < count; i++) {
    cn_frame_t *f = NULL;
    cn_err_t err = {0};
    int rc = cn_source_take(src, *seq, TAKE_TIMEOUT_NS, &f, NULL, &err);
    if (rc)
      fprintf(stderr, "take %d: %s\n", i, err.msg);
    assert_int_equal(rc, 0);
    assert_true(f->seq > *seq);
    *seq = f->seq;
    int64_t n = cn_pattern_read_bgr(f->data, f->stride, f->width, f->height);
    cn_frame_unref(&f);
    long pushed = cn_test_last_logged(s->log);
    for (int k = 0; k < 100 && pushed < n; k++) {
      cn_test_sleep_ms(20);
      pushed = cn_test_last_logged(s->log);
    }
    if (n < s->first || n > pushed || n <= last)
      fail_msg("frame %d after the reconnect: number %lld, after %lld; the "
               "new server fed %ld..%ld",
               i, (long long)n, (long long)last, s->first, pushed);
    last = n;
  }
}

static bool wait_online(cn_source_t *src, bool want, int timeout_ms,
                        cn_source_stats_t *st) {
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    cn_source_get_stats(src, st);
    if (st->online == want)
      return true;
    cn_test_sleep_ms(20);
  }
  return false;
}

static void test_mjpeg_frames_in_order(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, 0);
  cn_source_t *src = source_open(&s, -1);
  uint64_t seq = 0;
  int64_t last = take_increasing(src, &seq, 20);
  assert_true(last <= cn_test_last_logged(s.log));
  cn_source_stats_t st;
  cn_source_get_stats(src, &st);
  assert_true(st.online);
  assert_non_null(strstr(st.codec, "jpeg"));
  assert_int_equal(st.captured, st.delivered + st.dropped + st.pending);
  cn_source_destroy(src);
  server_stop(&s);
}

/* The server ends the stream (its feed stops after 30 frames, then ffmpeg
 * exits): offline because the stream ended, not finished, with no frame of
 * the old stream left to hand out; a new server on the same port, feeding
 * numbers from 1000001: online again with a reconnect counted, and every
 * frame is the new server's. The counters add up throughout. */
static void test_stream_end_and_reconnect(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, 30);
  cn_source_t *src = source_open(&s, -1);
  uint64_t seq = 0;
  take_increasing(src, &seq, 5);
  cn_test_check_counters(src, "before the end");
  cn_source_stats_t st;
  assert_true(wait_online(src, false, 10000, &st));
  /* The server went away: the stream ended, it is not broken data. */
  assert_int_equal(st.last_error, CN_EOF);
  assert_false(st.finished);
  for (int i = 0; i < 50 && st.pending; i++) {
    cn_test_sleep_ms(20);
    cn_source_get_stats(src, &st);
  }
  if (st.pending)
    fail_msg("offline, and a frame of the ended stream is still pending");
  cn_test_check_counters(src, "offline");
  server_stop(&s); /* reaps it; it has exited by itself */

  s.first = 1000001;
  server_start(fx, &s, 0);
  assert_true(wait_online(src, true, 15000, &st));
  assert_true(st.reconnects >= 1);
  take_from(src, &seq, &s, 10);
  cn_test_check_counters(src, "after the reconnect");
  cn_source_destroy(src);
  server_stop(&s);
}

/* Nobody listening: open fails at once, naming the URL. */
static void test_refused(void **state) {
  (void)state;
  char uri[128];
  snprintf(uri, sizeof uri, "http://127.0.0.1:%d/cam.mjpg",
           cn_test_free_port());
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.uri = uri;
  o.timeout_ms = 2000;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_source_create(&o, &src, &err), 0);
  int64_t t0 = cn_clock_now();
  int rc = cn_source_open(src, &err);
  assert_true(rc < 0);
  assert_true(cn_clock_now() - t0 < 2 * CN_NS_PER_S);
  assert_non_null(strstr(err.msg, uri));
  cn_source_destroy(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_mjpeg_frames_in_order, test_teardown),
      cmocka_unit_test_teardown(test_stream_end_and_reconnect, test_teardown),
      cmocka_unit_test_teardown(test_refused, test_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
