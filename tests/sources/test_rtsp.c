/* RTSP sources against a real server on loopback (tools/cn_rtsp_server):
 * frames arrive in order and carry the numbers the server painted, a slow
 * consumer gets the newest frame and the rest are counted as dropped, and
 * a server that dies, restarts or freezes takes the source offline and
 * back without a hang, a crash or a leak. */
#include "harness.h"

#include <math.h>
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

#define FPS 30
#define INTERVAL_NS (CN_NS_PER_S / FPS)
/* Longer than the read timeout, so that a session that never starts
 * (seen about once in 50 sessions under ASan on a loaded machine, with
 * the server pushing frames) is recovered by the source's own reconnect
 * rather than failing the test. */
#define TAKE_TIMEOUT_NS (12 * CN_NS_PER_S)

typedef struct server {
  pid_t pid;
  int port;
  long first;    /* its first frame's number (0: 1) */
  char log[600]; /* "N t_push_ns" lines */
  char out[600]; /* the server's stdout and stderr */
} server_t;

typedef struct fixture {
  char *dir;
  pid_t running; /* the current server, killed by the test teardown */
  char bin[512];
} fixture_t;

static int group_setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  fx->dir = cn_test_mkdtemp();
  snprintf(fx->bin, sizeof fx->bin, "%s/tools/cn_rtsp_server",
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
  if (access(fx->bin, X_OK))
    CN_TEST_SKIP_MISSING("libgstrtspserver-1.0-dev", "%s not built", fx->bin);
  return fx;
}

/* Starts the server on s->port (a fresh port when 0); waits until it
 * accepts connections. The RTSP server serves any number of clients, so
 * probing the port is harmless. */
static void server_start_slices(fixture_t *fx, server_t *s, const char *codec,
                                int slices) {
  if (!s->port)
    s->port = cn_test_free_port();
  assert_true(s->port > 0);
  char port[16];
  snprintf(port, sizeof port, "%d", s->port);
  snprintf(s->log, sizeof s->log, "%s/server-%d.log", fx->dir, s->port);
  snprintf(s->out, sizeof s->out, "%s/server-%d.out", fx->dir, s->port);
  char nslices[16], first[24];
  snprintf(nslices, sizeof nslices, "%d", slices);
  snprintf(first, sizeof first, "%ld", s->first > 0 ? s->first : 1);
  char *argv[] = {fx->bin,       "--port",   port,    "--size",
                  "320x240",     "--fps",    "30",    "--codec",
                  (char *)codec, "--slices", nslices, "--log",
                  s->log,        "--first",  first,   NULL};
  s->pid = cn_test_spawn(argv, s->out);
  fx->running = s->pid;
  assert_true(s->pid > 0);
  assert_true(cn_test_wait_port(s->port, 10000));
}

static void server_start(fixture_t *fx, server_t *s, const char *codec) {
  server_start_slices(fx, s, codec, 1);
}

/* Returns the wait status. */
static int server_stop(server_t *s, int sig) {
  int st = s->pid > 0 ? cn_test_stop(s->pid, sig) : -1;
  s->pid = 0;
  return st;
}

static cn_source_t *source_open_via(const server_t *s, const char *transport,
                                    int timeout_ms, int reconnect,
                                    const char *via) {
  char uri[128];
  snprintf(uri, sizeof uri, "rtsp://127.0.0.1:%d/cam", s->port);
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.uri = uri;
  o.transport = transport;
  o.timeout_ms = timeout_ms ? timeout_ms : 3000;
  o.reconnect = reconnect;
  o.rtsp_via = via;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_source_create(&o, &src, &err), 0);
  int rc = cn_source_start(src, &err);
  if (rc)
    fprintf(stderr, "start failed: %s\n", err.msg);
  assert_int_equal(rc, 0);
  return src;
}

/* The default RTSP client (rtsp_via NULL). */
static cn_source_t *source_open(const server_t *s, const char *transport,
                                int timeout_ms, int reconnect) {
  return source_open_via(s, transport, timeout_ms, reconnect, NULL);
}

/* Takes the next frame and reads its pattern number; -1 if unreadable. */
static int64_t take_number(cn_source_t *src, uint64_t *seq, cn_frame_t **out) {
  cn_frame_t *f = NULL;
  cn_err_t err = {0};
  uint64_t got = 0;
  int rc = cn_source_take(src, *seq, TAKE_TIMEOUT_NS, &f, &got, &err);
  if (rc)
    fprintf(stderr, "take after seq %llu: %s\n", (unsigned long long)*seq,
            err.msg);
  assert_int_equal(rc, 0);
  assert_true(f->seq > *seq);
  *seq = f->seq;
  assert_int_equal(f->format, CN_PIX_BGR24);
  int64_t n = cn_pattern_read_bgr(f->data, f->stride, f->width, f->height);
  if (out)
    *out = f;
  else
    cn_frame_unref(&f);
  return n;
}

/* Takes count frames: numbers readable and strictly increasing. Returns
 * the last number read. */
static int64_t take_increasing(cn_source_t *src, uint64_t *seq, int count) {
  int64_t last = 0;
  for (int i = 0; i < count; i++) {
    int64_t n = take_number(src, seq, NULL);
    if (n <= last)
      fprintf(stderr, "frame %d: number %lld after %lld\n", i, (long long)n,
              (long long)last);
    assert_true(n > last);
    last = n;
  }
  return last;
}

/* Polls the stats until online == want (or timeout). */
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

/* pts is the same on both clients: seconds of RTP time from the first
 * picture received, so the first is near 0 and, for a 30 fps server, the
 * n-th picture after it is about n/30 later (numbers tell n). The server
 * stamps frames on push, so its RTP times carry the pusher's jitter
 * (tens of ms on a loaded machine): the bound is generous, yet wrong
 * units, arrival times or an unreset origin would break it. */
static void check_pts(cn_source_t *src, uint64_t *seq) {
  cn_frame_t *f = NULL;
  int64_t n0 = take_number(src, seq, &f);
  double pts0 = f->pts;
  cn_frame_unref(&f);
  if (!(pts0 >= 0 && pts0 < 1.0))
    fail_msg("first picture's pts %.3f s, not near 0", pts0);
  for (int i = 0; i < 10; i++) {
    int64_t n = take_number(src, seq, &f);
    double want = pts0 + (double)(n - n0) / FPS, pts = f->pts;
    cn_frame_unref(&f);
    if (!(fabs(pts - want) < 0.25))
      fail_msg("picture %lld: pts %.4f s, expected %.4f (from picture %lld)",
               (long long)n, pts, want, (long long)n0);
  }
}

static void check_frames_via(void **state, const char *transport,
                             const char *codec, int slices, const char *via) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start_slices(fx, &s, codec, slices);
  cn_source_t *src = source_open_via(&s, transport, 0, -1, via);
  uint64_t seq = 0;
  check_pts(src, &seq);
  int64_t last = take_increasing(src, &seq, 30);
  /* The numbers are the server's: never beyond what it pushed. */
  assert_true(last <= cn_test_last_logged(s.log));
  cn_source_stats_t st;
  cn_source_get_stats(src, &st);
  assert_true(st.online);
  assert_int_equal(st.width, 320);
  assert_int_equal(st.height, 240);
  assert_true(strstr(st.codec, codec) != NULL ||
              (strcmp(codec, "mjpeg") == 0 && strstr(st.codec, "jpeg")) ||
              (strcmp(codec, "h265") == 0 && strstr(st.codec, "hevc")));
  assert_true(st.captured >= 30);
  assert_true(st.cpu_ns > 0);
  cn_source_destroy(src);
  /* The server ends cleanly on SIGTERM (with a client connected just
   * before). */
  int status = server_stop(&s, SIGTERM);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void check_frames(void **state, const char *transport, const char *codec,
                         int slices) {
  check_frames_via(state, transport, codec, slices, NULL);
}

/* --rtsp-via ffmpeg: libavformat's client, kept selectable. */
static void test_ffmpeg_client_frames_in_order(void **state) {
  check_frames_via(state, "tcp", "h264", 1, "ffmpeg");
}

/* H.265 on both clients: each starts at a key frame and passes over
 * pictures the decoder marks damaged. */
static void test_h265_frames_in_order(void **state) {
  check_frames(state, "tcp", "h265", 1);
}

static void test_h265_gst_client_frames_in_order(void **state) {
  check_frames_via(state, "tcp", "h265", 1, "gst");
}

static void test_tcp_frames_in_order(void **state) {
  check_frames(state, "tcp", "h264", 1);
}

static void test_udp_frames_in_order(void **state) {
  check_frames(state, "udp", "h264", 1);
}

static void test_rtp_jpeg_frames_in_order(void **state) {
  check_frames(state, "tcp", "mjpeg", 1);
}

/* Sliced encoders send each slice of a picture as its own NAL unit; every
 * picture must still decode whole (the number sits in the top slice). */
static void test_multislice_h264_frames_whole(void **state) {
  check_frames(state, "tcp", "h264", 3);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* A consumer three times slower than the stream gets the newest frame
 * each time; the frames in between are counted as dropped, not queued. */
static void test_slow_consumer_drops(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, "h264");
  cn_source_t *src = source_open(&s, "tcp", 0, -1);
  uint64_t seq = 0;
  take_increasing(src, &seq, 5); /* past the start-up burst */
  enum { N = 20 };
  int64_t age[N], last = 0;
  for (int i = 0; i < N; i++) {
    cn_test_sleep_ms(3 * 1000 / FPS + 10);
    cn_frame_t *f = NULL;
    uint64_t prev = seq;
    int64_t n = take_number(src, &seq, &f);
    assert_true(seq > prev);
    assert_true(n > last);
    last = n;
    age[i] = f->t_take - f->t_decode;
    cn_frame_unref(&f);
  }
  cn_source_stats_t st;
  cn_source_get_stats(src, &st);
  assert_int_equal(st.captured, st.delivered + st.dropped + st.pending);
  /* About two of every three frames were never taken. */
  assert_true(st.dropped >= N);
  qsort(age, N, sizeof age[0], cmp_i64);
  /* The frame taken is the newest: at most about one interval old. A
   * queue would make this grow by two intervals per take. */
  fprintf(stderr, "median age at take %.1f ms\n", cn_ns_to_ms(age[N / 2]));
  assert_true(age[N / 2] <= INTERVAL_NS + 60 * CN_NS_PER_MS);
  cn_source_destroy(src);
  server_stop(&s, SIGTERM);
}

/* Takes count frames that must come from server s: their numbers in
 * [s->first, what s says it pushed] and increasing. The server logs a
 * frame just before pushing it; the short wait only covers reading the
 * log while that line is being written. */
static void take_from(cn_source_t *src, uint64_t *seq, const server_t *s,
                      int count) {
  int64_t last = 0;
  for (int i = 0; i < count; i++) {
    int64_t n = take_number(src, seq, NULL);
    long pushed = cn_test_last_logged(s->log);
    for (int k = 0; k < 100 && pushed < n; k++) {
      cn_test_sleep_ms(20);
      pushed = cn_test_last_logged(s->log);
    }
    if (n < s->first || n > pushed || n <= last)
      fail_msg("frame %d after the reconnect: number %lld, after %lld; the "
               "new server painted %ld..%ld",
               i, (long long)n, (long long)last, s->first, pushed);
    last = n;
  }
}

/* Server gone: offline with the error recorded; server back on the same
 * port: online again, reconnects counted, and every frame after that is
 * one the new server painted (its numbers start at 1000001: a frame kept
 * from the old server shows). The counters add up throughout. */
static void check_reconnect(void **state, const char *transport, int sig) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, "h264");
  cn_source_t *src = source_open(&s, transport, 2000, -1);
  uint64_t seq = 0;
  take_increasing(src, &seq, 10);
  cn_test_check_counters(src, "before the outage");
  server_stop(&s, sig);
  cn_source_stats_t st;
  assert_true(wait_online(src, false, 5000, &st));
  assert_int_not_equal(st.last_error, 0);
  assert_false(st.finished);
  /* A frame from before the outage is not handed out after it (it goes
   * as the source goes offline), and offline is silence, not the end of
   * the stream. */
  for (int i = 0; i < 50 && st.pending; i++) {
    cn_test_sleep_ms(20);
    cn_source_get_stats(src, &st);
  }
  if (st.pending)
    fail_msg("offline, and a frame from before the outage is still pending");
  cn_frame_t *f = NULL;
  assert_int_equal(cn_source_take(src, seq, 300 * CN_NS_PER_MS, &f, NULL, NULL),
                   CN_ETIMEDOUT);
  cn_test_check_counters(src, "offline");

  s.first = 1000001;
  server_start(fx, &s, "h264");
  assert_true(wait_online(src, true, 15000, &st));
  assert_true(st.reconnects >= 1);
  take_from(src, &seq, &s, 10);
  cn_test_check_counters(src, "after the reconnect");
  cn_source_destroy(src);
  server_stop(&s, SIGTERM);
}

/* The server's key frames: one every FPS pictures (cn_rtsp_server). */
#define GOP FPS
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RESTART_BOUND_MS 4000 /* sanitizers slow connect and probing */
#else
#define RESTART_BOUND_MS 2000
#endif

/* Outages of 1 to 4 s: the first picture after each restart is the new
 * server's first key frame (its numbers start anew; the next key frame is
 * GOP pictures later, where a client that loses what it probed starts),
 * its pts is near 0 (the origin is per connection) and it comes within
 * RESTART_BOUND_MS of the server listening again (backoff at most 1 s in
 * the first 30 s offline, then connect and probe). */
static void test_restart_starts_at_first_key_frame(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, "h264");
  cn_source_t *src = source_open(&s, "tcp", 2000, -1);
  uint64_t seq = 0;
  take_increasing(src, &seq, 5);
  static const int outage_ms[] = {1000, 4000, 2000};
  for (int i = 0; i < 3; i++) {
    server_stop(&s, SIGKILL);
    cn_source_stats_t st;
    assert_true(wait_online(src, false, 5000, &st));
    cn_test_sleep_ms(outage_ms[i]);
    s.first = 1000001 + 100000 * i;
    server_start(fx, &s, "h264");
    double t_up = cn_test_now();
    cn_frame_t *f = NULL;
    int64_t n = take_number(src, &seq, &f);
    double waited_ms = (cn_test_now() - t_up) * 1000, pts = f->pts;
    cn_frame_unref(&f);
    fprintf(stderr,
            "outage %d ms: first picture %lld (server's first %ld), pts "
            "%.3f s, %.0f ms after the restart\n",
            outage_ms[i], (long long)n, s.first, pts, waited_ms);
    if (n < s.first || n >= s.first + GOP)
      fail_msg("after a %d ms outage the first picture is %lld, not the new "
               "server's first key frame %ld",
               outage_ms[i], (long long)n, s.first);
    if (!(pts >= 0 && pts < 0.5))
      fail_msg("first picture after the restart: pts %.3f s, not near 0", pts);
    if (waited_ms > RESTART_BOUND_MS)
      fail_msg("first picture %.0f ms after the restart (bound %d ms)",
               waited_ms, RESTART_BOUND_MS);
    take_from(src, &seq, &s, 5);
    cn_test_check_counters(src, "after a restart");
  }
  cn_source_destroy(src);
  server_stop(&s, SIGTERM);
}

static void test_reconnect_after_sigkill(void **state) {
  check_reconnect(state, "tcp", SIGKILL);
}

static void test_reconnect_after_sigterm(void **state) {
  check_reconnect(state, "tcp", SIGTERM);
}

static void test_reconnect_udp(void **state) {
  check_reconnect(state, "udp", SIGKILL);
}

/* A server that stops sending but keeps its connection open is detected
 * by the read timeout; reopening it times out too instead of hanging; it
 * comes back once the server runs again, and stopping never hangs. */
static void test_frozen_server_times_out(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, "h264");
  cn_source_t *src = source_open(&s, "tcp", 1000, -1);
  uint64_t seq = 0;
  take_increasing(src, &seq, 5);
  kill(s.pid, SIGSTOP);
  int64_t t0 = cn_clock_now();
  cn_source_stats_t st;
  assert_true(wait_online(src, false, 8000, &st));
  fprintf(stderr, "stall detected after %.0f ms\n",
          cn_ns_to_ms(cn_clock_now() - t0));
  assert_int_not_equal(st.last_error, 0);
  cn_test_sleep_ms(1500); /* a reopen or two against the frozen server */
  cn_source_get_stats(src, &st);
  assert_false(st.online);
  assert_false(st.finished);
  kill(s.pid, SIGCONT);
  assert_true(wait_online(src, true, 15000, &st));
  assert_true(st.reconnects >= 1);
  take_increasing(src, &seq, 5);

  /* Frozen again: destroying the source mid-stall returns promptly. */
  kill(s.pid, SIGSTOP);
  cn_test_sleep_ms(300);
  t0 = cn_clock_now();
  cn_source_destroy(src);
  int64_t took = cn_clock_now() - t0;
  fprintf(stderr, "destroy during a stall took %.0f ms\n", cn_ns_to_ms(took));
  assert_true(took < 3 * CN_NS_PER_S);
  kill(s.pid, SIGCONT);
  server_stop(&s, SIGKILL);
}

/* reconnect = 0: a dropped stream ends the source with the reason. */
static void test_no_reconnect_ends_stream(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, "h264");
  /* Without reconnects a slow first picture would end the source before
   * the test begins (seen under ASan on a loaded machine: the encoder's
   * first key frame took over 2 s); the server's death below is an EOF at
   * once, whatever the timeout. */
  cn_source_t *src = source_open(&s, "tcp", 8000, 0);
  uint64_t seq = 0;
  take_increasing(src, &seq, 5);
  server_stop(&s, SIGKILL);
  cn_frame_t *f = NULL;
  cn_err_t err = {0};
  int rc = 0;
  for (int i = 0; i < 50; i++) {
    rc = cn_source_take(src, seq, 200 * CN_NS_PER_MS, &f, &seq, &err);
    if (rc == 0)
      cn_frame_unref(&f);
    else if (rc != CN_ETIMEDOUT)
      break;
  }
  assert_int_equal(rc, CN_EOF);
  assert_int_not_equal(err.code, 0);
  char uri[64];
  snprintf(uri, sizeof uri, "127.0.0.1:%d", s.port);
  assert_non_null(strstr(err.msg, uri));
  cn_source_stats_t st;
  cn_source_get_stats(src, &st);
  assert_true(st.finished);
  assert_false(st.online);
  assert_int_not_equal(st.last_error, 0);
  /* Stays ended. */
  assert_int_equal(cn_source_take(src, seq, 0, &f, NULL, NULL), CN_EOF);
  cn_source_destroy(src);
}

/* reconnect = 3: the server gone for good, the source reopens three
 * times with a doubling backoff (250, 500, 1000 ms: at least 1.75 s in
 * all, which a loaded machine can only lengthen), then ends, saying so. */
static void test_reconnect_n_gives_up_with_backoff(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, "h264");
  cn_source_t *src = source_open(&s, "tcp", 8000, 3);
  uint64_t seq = 0;
  take_increasing(src, &seq, 5);
  server_stop(&s, SIGKILL);
  cn_source_stats_t st;
  assert_true(wait_online(src, false, 5000, &st));
  int64_t t_offline = st.t_state; /* when it went offline */
  cn_frame_t *f = NULL;
  cn_err_t err = {0};
  int rc = 0;
  for (int i = 0; i < 150; i++) { /* 30 s at most */
    rc = cn_source_take(src, seq, 200 * CN_NS_PER_MS, &f, &seq, &err);
    if (rc == 0)
      cn_frame_unref(&f);
    else if (rc != CN_ETIMEDOUT)
      break;
  }
  /* From the source's own stamp of going offline to the end as seen
   * here: a late look only adds to it. */
  double gave_up_ms = cn_ns_to_ms(cn_clock_now() - t_offline);
  cn_source_get_stats(src, &st);
  fprintf(stderr, "gave up %.0f ms after going offline: %s\n", gave_up_ms,
          err.msg);
  assert_int_equal(rc, CN_EOF);
  assert_true(st.finished);
  assert_int_equal(st.reconnects, 0);
  if (!strstr(err.msg, "gave up after 3 reconnect attempts"))
    fail_msg("the end is not explained: \"%s\"", err.msg);
  if (gave_up_ms < 1750)
    fail_msg("three reopens in %.0f ms: no doubling backoff (250 + 500 + "
             "1000 ms)",
             gave_up_ms);
  cn_source_destroy(src);
}

/* The program's --reconnect 2: the server gone, camnet ends with status 1
 * and says why, instead of retrying forever. */
static void test_program_reconnect_n(void **state) {
  fixture_t *fx = fixture(state);
  server_t s = {0};
  server_start(fx, &s, "h264");
  char bin[600], uri[128], json[700], log[700];
  snprintf(bin, sizeof bin, "%s/camnet", cn_test_build_dir());
  snprintf(uri, sizeof uri, "rtsp://127.0.0.1:%d/cam", s.port);
  snprintf(json, sizeof json, "%s/reconnect.jsonl", fx->dir);
  snprintf(log, sizeof log, "%s/reconnect.log", fx->dir);
  char *argv[] = {bin, "--reconnect", "2", "--json", json, uri, NULL};
  pid_t pid = cn_test_spawn(argv, log);
  assert_true(pid > 0);
  char out[4096];
  for (int i = 0; i < 300; i++) { /* some frames first (30 s at most) */
    if (cn_test_sh(out, sizeof out, "test $(wc -l < %s) -ge 5", json) == 0)
      break;
    cn_test_sleep_ms(100);
  }
  server_stop(&s, SIGKILL);
  int st = 0;
  pid_t r = 0;
  for (int i = 0; i < 300 && r != pid; i++) { /* 30 s at most */
    r = waitpid(pid, &st, WNOHANG);
    if (r != pid)
      cn_test_sleep_ms(100);
  }
  if (r != pid)
    cn_test_stop(pid, SIGKILL);
  cn_test_sh(out, sizeof out, "cat '%s'; wc -l < '%s'", log, json);
  if (r != pid)
    fail_msg("camnet --reconnect 2 still ran 30 s after its server died: %s",
             out);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
    fail_msg("camnet ended with status 0x%x: %s", st, out);
  char expect[200];
  snprintf(expect, sizeof expect, "%s: gave up after 2 reconnect attempts",
           uri);
  if (!strstr(out, expect))
    fail_msg("no \"%s\" in: %s", expect, out);
}

/* Bad addresses fail at open with a message naming the URI. */
static void test_open_errors(void **state) {
  fixture_t *fx = fixture(state);
  char uri[128];
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.uri = uri;
  o.timeout_ms = 2000;
  cn_source_t *src = NULL;
  cn_err_t err = {0};

  /* Nobody listening. */
  int port = cn_test_free_port();
  snprintf(uri, sizeof uri, "rtsp://127.0.0.1:%d/cam", port);
  assert_int_equal(cn_source_create(&o, &src, &err), 0);
  int rc = cn_source_open(src, &err);
  assert_true(rc < 0);
  assert_int_equal(err.code, rc);
  assert_non_null(strstr(err.msg, uri));
  cn_source_destroy(src);

  /* A server without that path. */
  server_t s = {0};
  server_start(fx, &s, "h264");
  snprintf(uri, sizeof uri, "rtsp://127.0.0.1:%d/nope", s.port);
  memset(&err, 0, sizeof err);
  assert_int_equal(cn_source_create(&o, &src, &err), 0);
  rc = cn_source_open(src, &err);
  assert_true(rc < 0);
  assert_non_null(strstr(err.msg, uri));
  cn_source_destroy(src);
  server_stop(&s, SIGTERM);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_tcp_frames_in_order, test_teardown),
      cmocka_unit_test_teardown(test_udp_frames_in_order, test_teardown),
      cmocka_unit_test_teardown(test_rtp_jpeg_frames_in_order, test_teardown),
      cmocka_unit_test_teardown(test_h265_frames_in_order, test_teardown),
      cmocka_unit_test_teardown(test_h265_gst_client_frames_in_order,
                                test_teardown),
      cmocka_unit_test_teardown(test_ffmpeg_client_frames_in_order,
                                test_teardown),
      cmocka_unit_test_teardown(test_multislice_h264_frames_whole,
                                test_teardown),
      cmocka_unit_test_teardown(test_slow_consumer_drops, test_teardown),
      cmocka_unit_test_teardown(test_reconnect_after_sigkill, test_teardown),
      cmocka_unit_test_teardown(test_reconnect_after_sigterm, test_teardown),
      cmocka_unit_test_teardown(test_reconnect_udp, test_teardown),
      cmocka_unit_test_teardown(test_restart_starts_at_first_key_frame,
                                test_teardown),
      cmocka_unit_test_teardown(test_frozen_server_times_out, test_teardown),
      cmocka_unit_test_teardown(test_no_reconnect_ends_stream, test_teardown),
      cmocka_unit_test_teardown(test_reconnect_n_gives_up_with_backoff,
                                test_teardown),
      cmocka_unit_test_teardown(test_program_reconnect_n, test_teardown),
      cmocka_unit_test_teardown(test_open_errors, test_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
