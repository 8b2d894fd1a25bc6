/* Offline sources and credentials, end to end with the real program: an
 * RTSP server killed mid-run makes camnet write a source record (offline,
 * with the reason) and show the NO SIGNAL picture, and a restarted server
 * a second record (online) and frames again; a password in a source URI
 * appears in no output at all (stderr, JSON, snapshot names). */
#include "harness.h"

#include <cairo.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECRET "hunter2pw"

static char out[1 << 16];

typedef struct fixture {
  char *dir;
  pid_t server, camnet;
} fixture_t;

static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  fx->dir = cn_test_mkdtemp();
  *state = fx;
  return fx->dir ? 0 : -1;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  cn_test_reap(&fx->camnet);
  cn_test_reap(&fx->server);
  cn_test_release_dir(fx->dir);
  free(fx->dir);
  free(fx);
  return 0;
}

static pid_t server_start(const fixture_t *fx, int port) {
  char bin[600], p[16], log[700];
  snprintf(bin, sizeof bin, "%s/tools/cn_rtsp_server", cn_test_build_dir());
  snprintf(p, sizeof p, "%d", port);
  snprintf(log, sizeof log, "%s/server-%d.out", fx->dir, port);
  char *argv[] = {bin,     "--port", p,         "--size", "320x240",
                  "--fps", "30",     "--codec", "h264",   NULL};
  pid_t pid = cn_test_spawn(argv, log);
  assert_true(pid > 0);
  assert_true(cn_test_wait_port(port, 10000));
  return pid;
}

/* Lines of path that contain every one of the (up to two) needles. */
static int count_lines(const char *path, const char *a, const char *b) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  static char line[1 << 14];
  int n = 0;
  while (fgets(line, sizeof line, f))
    n += strstr(line, a) && (!b || strstr(line, b));
  fclose(f);
  return n;
}

/* Waits up to ms for count_lines(...) >= want. */
static bool wait_lines(const char *path, const char *a, const char *b, int want,
                       int ms) {
  for (int t = 0; t < ms; t += 100) {
    if (count_lines(path, a, b) >= want)
      return true;
    cn_test_sleep_ms(100);
  }
  return false;
}

/* What camnet said and its source records, for a failure's message. */
static const char *diagnose(const fixture_t *fx) {
  cn_test_sh(out, sizeof out,
             "tail -n 20 %s/camnet.log; grep -v '\"type\":\"frame\"' "
             "%s/o.jsonl; wc -l %s/o.jsonl",
             fx->dir, fx->dir, fx->dir);
  return out;
}

#define EXPECT(fx, cond)                                                       \
  do {                                                                         \
    if (!(cond))                                                               \
      fail_msg("%s\n%s", #cond, diagnose(fx));                                 \
  } while (0)

/* The newest NO SIGNAL snapshot's name, or false. */
static bool find_nosignal(const char *dir, char *path, size_t n) {
  char cmd[800];
  snprintf(cmd, sizeof cmd, "ls %s/camnet-nosignal-*.png 2>/dev/null | tail -1",
           dir);
  if (cn_test_sh(out, sizeof out, "%s", cmd) != 0 || !out[0])
    return false;
  size_t len = strcspn(out, "\n");
  if (len >= n)
    return false;
  memcpy(path, out, len);
  path[len] = '\0';
  return true;
}

/* The NO SIGNAL picture: its documented background (#202060) around the
 * edges, and white text in the middle band. */
static void check_nosignal_png(const char *path) {
  cairo_surface_t *s = cairo_image_surface_create_from_png(path);
  assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width(s);
  int h = cairo_image_surface_get_height(s);
  int stride = cairo_image_surface_get_stride(s);
  const unsigned char *d = cairo_image_surface_get_data(s);
  assert_int_equal(w, 320);
  assert_int_equal(h, 240);
  int corners[4][2] = {{2, 2}, {w - 3, 2}, {2, h - 3}, {w - 3, h - 3}};
  for (int i = 0; i < 4; i++) {
    uint32_t px =
        *(const uint32_t *)(d + corners[i][1] * stride + corners[i][0] * 4);
    assert_int_equal(px & 0xffffff, 0x202060);
  }
  int white = 0;
  for (int y = h / 4; y < h * 3 / 4; y++)
    for (int x = 0; x < w; x++) {
      uint32_t px = *(const uint32_t *)(d + y * stride + x * 4);
      white += (px & 0xff) > 200 && (px >> 8 & 0xff) > 200 &&
               (px >> 16 & 0xff) > 200;
    }
  assert_true(white > 300); /* "NO SIGNAL" and the lines under it */
  cairo_surface_destroy(s);
}

/* Nothing camnet wrote names the password: its log, its records, and the
 * snapshot files' names. */
static void check_no_secret(const fixture_t *fx) {
  if (cn_test_sh(out, sizeof out, "grep -rl %s %s", SECRET, fx->dir) == 0)
    fail_msg("the password is in %s", out);
  assert_int_equal(cn_test_sh(out, sizeof out, "ls -R %s", fx->dir), 0);
  if (strstr(out, SECRET))
    fail_msg("the password is in a file name: %s", out);
}

static void test_server_killed_and_restarted(void **state) {
  fixture_t *fx = *state;
  char bin[600];
  snprintf(bin, sizeof bin, "%s/tools/cn_rtsp_server", cn_test_build_dir());
  if (access(bin, X_OK))
    CN_TEST_SKIP("%s not built (needs gstreamer-rtsp-server-1.0)", bin);
  int port = cn_test_free_port();
  fx->server = server_start(fx, port);
  char camnet[600], uri[200], json[700], log[700], snaps[700];
  snprintf(camnet, sizeof camnet, "%s/camnet", cn_test_build_dir());
  snprintf(uri, sizeof uri, "rtsp://admin:" SECRET "@127.0.0.1:%d/cam", port);
  snprintf(json, sizeof json, "%s/o.jsonl", fx->dir);
  snprintf(log, sizeof log, "%s/camnet.log", fx->dir);
  snprintf(snaps, sizeof snaps, "%s/snaps", fx->dir);
  assert_int_equal(mkdir(snaps, 0755), 0);
  char *argv[] = {camnet,
                  "--headless",
                  "--name",
                  "door",
                  "--json",
                  json,
                  "--snapshot-every",
                  "1",
                  "--snapshot-dir",
                  snaps,
                  "--timeout",
                  "2000",
                  uri,
                  NULL};
  fx->camnet = cn_test_spawn(argv, log);
  assert_true(fx->camnet > 0);
  EXPECT(fx, wait_lines(json, "\"type\":\"frame\"", "\"name\":\"door\"", 20,
                        20000));
  /* A session that never starts (seen now and then on a loaded machine)
   * is its own offline/online pair: kill the server while it delivers. */
  int off = count_lines(json, "\"online\":false", NULL);
  for (int t = 0; t < 200 && count_lines(json, "\"online\":true", NULL) < off;
       t++)
    cn_test_sleep_ms(100);
  EXPECT(fx, count_lines(json, "\"online\":true", NULL) == off);

  /* Killed: offline, with the reason, and NO SIGNAL about once a second. */
  cn_test_stop(fx->server, SIGKILL);
  fx->server = 0;
  EXPECT(fx, wait_lines(json, "\"type\":\"source\"", "\"online\":false",
                        off + 1, 15000));
  char png[1024] = "";
  for (int t = 0; t < 100 && !find_nosignal(snaps, png, sizeof png); t++)
    cn_test_sleep_ms(100);
  EXPECT(fx, png[0]);
  cn_test_sleep_ms(300); /* the newest may still be being written */
  find_nosignal(snaps, png, sizeof png);
  check_nosignal_png(png);
  int frames_offline = count_lines(json, "\"type\":\"frame\"", NULL);

  /* Back: online again, and frames again. */
  fx->server = server_start(fx, port);
  EXPECT(fx, wait_lines(json, "\"type\":\"source\"", "\"online\":true", off + 1,
                        20000));
  EXPECT(fx, wait_lines(json, "\"type\":\"frame\"", NULL, frames_offline + 20,
                        20000));
  int st = cn_test_stop(fx->camnet, SIGTERM);
  fx->camnet = 0;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);

  /* The records, in order: frames, then pairs of offline (reason, name)
   * and online records, the last pair the kill's, then frames. */
  FILE *f = fopen(json, "r");
  assert_non_null(f);
  static char line[1 << 14];
  int phase = 0, frames_after = 0;
  while (fgets(line, sizeof line, f)) {
    json_error_t je;
    json_t *rec = json_loads(line, 0, &je);
    assert_non_null(rec);
    const char *type = json_string_value(json_object_get(rec, "type"));
    assert_non_null(type);
    assert_string_equal(json_string_value(json_object_get(rec, "name")),
                        "door");
    assert_int_equal(json_integer_value(json_object_get(rec, "source")), 0);
    if (!strcmp(type, "frame")) {
      frames_after++;
    } else {
      assert_string_equal(type, "source");
      bool online = json_is_true(json_object_get(rec, "online"));
      const char *reason = json_string_value(json_object_get(rec, "reason"));
      assert_true(json_number_value(json_object_get(rec, "t_wall")) > 1.6e9);
      frames_after = 0;
      if (phase % 2 == 0) {
        EXPECT(fx, !online);
        assert_non_null(reason);
        char where[64];
        snprintf(where, sizeof where, "rtsp://127.0.0.1:%d/cam", port);
        assert_non_null(strstr(reason, where));
      } else {
        EXPECT(fx, online);
        assert_true(json_is_null(json_object_get(rec, "reason")));
      }
      phase++;
    }
    json_decref(rec);
  }
  fclose(f);
  EXPECT(fx, phase == 2 * (off + 1));
  EXPECT(fx, frames_after >= 20);
  check_no_secret(fx);
}

/* Sources that fail at once, each with a password in its URI: the run
 * fails with one line, and no output names the password. */
static void test_no_password_in_any_output(void **state) {
  fixture_t *fx = *state;
  int port = cn_test_free_port();
  const char *fmts[] = {"rtsp://user:" SECRET "@127.0.0.1:%d/cam",
                        "http://user:" SECRET "@127.0.0.1:%d/x.mjpg",
                        "mqtt://user:" SECRET "@127.0.0.1:%d/topic"};
  for (int i = 0; i < 3; i++) {
    char uri[200];
    snprintf(uri, sizeof uri, fmts[i], port);
    int st = cn_test_sh(
        out, sizeof out,
        "cd %s && %s/camnet --verbose --json o%d.jsonl --snapshot-every 1 %s "
        "2>&1",
        fx->dir, cn_test_build_dir(), i, uri);
    assert_int_equal(st, 1);
    if (strstr(out, SECRET))
      fail_msg("password in stderr: %s", out);
    /* The error still says which source failed. */
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    assert_non_null(strstr(out, where));
  }
  /* (A source that runs with a password: the kill test above, whose
   * records, summary, names and snapshots are checked the same way.) */
  check_no_secret(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_server_killed_and_restarted, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_no_password_in_any_output, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
