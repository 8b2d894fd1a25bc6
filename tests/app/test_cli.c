/* The camnet program end to end: runs the real binary, parses its JSON
 * Lines with jansson, and checks its one-line errors and exit codes. */
#include "harness.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char out[65536];

static int camnet(const char *args) {
  return cn_test_sh(out, sizeof out, "%s/camnet %s", cn_test_build_dir(), args);
}

/* Parses a JSON Lines file; checks the schema and that frame ids strictly
 * increase. Returns the number of records. */
static int check_jsonl(const char *path, double *max_age) {
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[1024];
  int n = 0;
  json_int_t last = 0;
  *max_age = 0;
  while (fgets(line, sizeof line, fp)) {
    json_error_t e;
    json_t *rec = json_loads(line, 0, &e);
    if (!rec)
      fail_msg("%s: line %d: %s", path, n + 1, e.text);
    json_int_t frame = json_integer_value(json_object_get(rec, "frame"));
    assert_true(json_is_integer(json_object_get(rec, "source")));
    assert_string_equal(json_string_value(json_object_get(rec, "type")),
                        "frame");
    assert_true(json_is_string(json_object_get(rec, "name")));
    /* t_wall is the wall clock at capture: within this test's run. */
    double wall = json_number_value(json_object_get(rec, "t_wall"));
    assert_true(wall > (double)time(NULL) - 120 &&
                wall < (double)time(NULL) + 1);
    assert_true(frame > last);
    last = frame;
    json_t *pts = json_object_get(rec, "pts");
    assert_true(json_is_number(pts) || json_is_null(pts));
    double tc = json_number_value(json_object_get(rec, "t_capture"));
    double to = json_number_value(json_object_get(rec, "t_out"));
    double age = json_number_value(json_object_get(rec, "age_ms"));
    assert_true(tc > 0 && to >= tc);
    /* age_ms is t_out - t_capture, both rounded to microseconds. */
    assert_true(age >= 0 && age - (to - tc) * 1e3 < 0.01 &&
                (to - tc) * 1e3 - age < 0.01);
    if (age > *max_age)
      *max_age = age;
    json_decref(rec);
    n++;
  }
  fclose(fp);
  return n;
}

static void test_frames_limit_and_json_schema(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  char args[512];
  snprintf(args, sizeof args, "--json %s/a.jsonl --frames 30 test:320x240@60",
           dir);
  assert_int_equal(camnet(args), 0);
  /* The summary line names the source and its counts. */
  assert_non_null(strstr(out, "[source 0] test:320x240@60"));
  assert_non_null(strstr(out, "30 delivered"));
  char path[600];
  snprintf(path, sizeof path, "%s/a.jsonl", dir);
  double max_age;
  assert_int_equal(check_jsonl(path, &max_age), 30);
  cn_test_rmtree(dir);
  free(dir);
}

static void test_json_to_stdout_and_every_frame_file(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  /* A 20-frame clip made by ffmpeg: every frame, in order, on stdout. */
  assert_int_equal(
      cn_test_sh(out, sizeof out,
                 "ffmpeg -nostdin -loglevel error -f lavfi -i "
                 "testsrc=size=160x120:rate=25 -frames:v 20 -c:v libx264 "
                 "%s/clip.mp4",
                 dir),
      0);
  char args[600];
  snprintf(args, sizeof args,
           "--quiet --every-frame --json - %s/clip.mp4 > %s/o.jsonl", dir, dir);
  assert_int_equal(camnet(args), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/o.jsonl", dir);
  double max_age;
  assert_int_equal(check_jsonl(path, &max_age), 20);
  assert_int_equal(cn_test_sh(out, sizeof out, "head -n 1 %s", path), 0);
  char want[700];
  snprintf(want, sizeof want,
           "{\"type\":\"frame\",\"source\":0,\"name\":\"%s/clip.mp4\","
           "\"frame\":1,\"pts\":0",
           dir);
  assert_non_null(strstr(out, want));
  cn_test_rmtree(dir);
  free(dir);
}

static void test_sigterm_stops_cleanly_and_flushes(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  char path[600], log[600];
  snprintf(path, sizeof path, "%s/s.jsonl", dir);
  snprintf(log, sizeof log, "%s/log", dir);
  char bin[600];
  snprintf(bin, sizeof bin, "%s/camnet", cn_test_build_dir());
  char *argv[] = {bin, "--json", path, "test:160x120@30", NULL};
  pid_t pid = cn_test_spawn(argv, log);
  /* Let it write a few records (however loaded the machine is). */
  for (int i = 0; i < 200; i++) {
    if (cn_test_sh(out, sizeof out, "test $(wc -l < %s) -ge 5", path) == 0)
      break;
    usleep(50 * 1000);
  }
  int st = cn_test_stop(pid, SIGTERM);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  double max_age;
  int n = check_jsonl(path, &max_age);
  assert_true(n >= 5);
  /* The summary's delivered count equals the records written. */
  char expect[64];
  snprintf(expect, sizeof expect, "%d delivered", n);
  assert_int_equal(cn_test_sh(out, sizeof out, "cat %s", log), 0);
  assert_non_null(strstr(out, expect));
  cn_test_rmtree(dir);
  free(dir);
}

/* A server that accepts the connection and never answers: SIGTERM ends the
 * connect at once, not when --timeout (30 s here) runs out; the exit says
 * which signal, and the summary says where the source was. The 2 s bound is
 * a margin that waiting for the timeout cannot meet. */
static void test_sigterm_during_a_hanging_connect(void **state) {
  (void)state;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 8), 0); /* the kernel accepts; nobody reads */
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  char *dir = cn_test_mkdtemp();
  char log[600], bin[600], uri[64];
  snprintf(log, sizeof log, "%s/log", dir);
  snprintf(bin, sizeof bin, "%s/camnet", cn_test_build_dir());
  snprintf(uri, sizeof uri, "rtsp://127.0.0.1:%d/cam", ntohs(a.sin_port));
  char *argv[] = {bin, "--timeout", "30000", "--headless", uri, NULL};
  pid_t pid = cn_test_spawn(argv, log);
  /* Once its connection waits in the backlog camnet is in the connect,
   * however long a loaded machine took to start it. */
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 60000), 1);
  cn_test_sleep_ms(300);
  double t0 = cn_test_now();
  int st = cn_test_stop(pid, SIGTERM);
  double took = cn_test_now() - t0;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_true(took < 2.0);
  assert_int_equal(cn_test_sh(out, sizeof out, "cat %s", log), 0);
  assert_non_null(strstr(out, "camnet: stopped by SIGTERM\n"));
  assert_non_null(strstr(out, "/cam: stopped before it opened"));
  assert_null(strstr(out, "timed out"));
  close(fd);
  cn_test_rmtree(dir);
  free(dir);
}

/* Whether pid has a file whose path ends in suffix mapped. */
static bool maps_file(pid_t pid, const char *suffix) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "r");
  bool found = false;
  size_t n = strlen(suffix);
  while (f && !found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    size_t k = strlen(line);
    found = k >= n && strcmp(line + k - n, suffix) == 0;
  }
  if (f)
    fclose(f);
  return found;
}

/* A stop during the model load abandons the load: caught with the
 * caffemodel mapped (the import under way; CaffeNet's 244 MB take over a
 * second to import and prepare even on a quiet machine), camnet is gone
 * well within the time the rest of the load would take, says the signal
 * and exits 0, with no error line for the abandoned load. */
static void test_sigterm_during_model_load(void **state) {
  (void)state;
  char proto[600], model[600];
  snprintf(proto, sizeof proto, "%s/models/caffe-caffenet/deploy.prototxt",
           cn_test_source_dir());
  snprintf(model, sizeof model, "%s/models/caffe-caffenet/model.caffemodel",
           cn_test_source_dir());
  if (access(model, R_OK))
    CN_TEST_SKIP_MISSING("scripts/fetch-models.sh", "%s", model);
  char *dir = cn_test_mkdtemp();
  char log[600], bin[600];
  snprintf(log, sizeof log, "%s/log", dir);
  snprintf(bin, sizeof bin, "%s/camnet", cn_test_build_dir());
  char *argv[] = {bin,   "--prototxt", proto,          "--model",
                  model, "--headless", "test:320x240", NULL};
  pid_t pid = cn_test_spawn(argv, log);
  bool loading = false;
  for (int i = 0; i < 60000 && !loading; i++) {
    loading = maps_file(pid, "/model.caffemodel");
    if (!loading)
      cn_test_sleep_ms(1);
  }
  assert_true(loading);
  double t0 = cn_test_now();
  int st = cn_test_stop(pid, SIGTERM);
  double took = cn_test_now() - t0;
  fprintf(stderr, "stopped %.0f ms after SIGTERM during the load\n",
          took * 1000);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_true(took < 0.5);
  assert_int_equal(cn_test_sh(out, sizeof out, "cat %s", log), 0);
  if (!strstr(out, "camnet: stopped by SIGTERM\n") || strstr(out, "error:"))
    fail_msg("stopped during the load, camnet said:\n%s", out);
  cn_test_rmtree(dir);
  free(dir);
}

/* H.264 frames ffprobe decodes from path (-1: unreadable). */
static long decodable_frames(const char *path) {
  if (cn_test_sh(out, sizeof out,
                 "ffprobe -v error -count_frames -select_streams v:0 "
                 "-show_entries stream=nb_read_frames -of csv=p=0 %s",
                 path))
    return -1;
  return atol(out);
}

/* A reader that goes away: one error line, the summary, exit 1, and the
 * recording closed and playable (camnet died by SIGPIPE, unplayable file). */
static void test_closed_pipe_keeps_the_recording(void **state) {
  (void)state;
  if (!cn_test_have("ffprobe"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffprobe not on PATH");
  char *dir = cn_test_mkdtemp();
  char rec[600];
  snprintf(rec, sizeof rec, "%s/p.mp4", dir);
  /* camnet's stdout is the pipe; its stderr and exit status go to files. */
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "(%s/camnet --headless --json - -o %s "
                              "test:320x240@30 --duration 20 2>%s/err; "
                              "echo \"status $?\" >>%s/err) | head -c 200 "
                              ">/dev/null; cat %s/err",
                              cn_test_build_dir(), rec, dir, dir, dir),
                   0);
  print_message("%s", out);
  assert_non_null(strstr(out, "camnet: error: -: write failed: Broken pipe"));
  assert_non_null(strstr(out, " delivered")); /* the summary */
  assert_non_null(strstr(out, "status 1"));   /* not 141 (SIGPIPE) */
  assert_true(decodable_frames(rec) > 0);
  cn_test_rmtree(dir);
  free(dir);
}

/* kill -9 while recording: the fragments written so far play (the last
 * key-frame interval, 2 s, may be lost; a plain MP4 loses everything). */
static void test_killed_recording_plays(void **state) {
  (void)state;
  if (!cn_test_have("ffprobe"))
    CN_TEST_SKIP_MISSING("ffmpeg", "ffprobe not on PATH");
  char *dir = cn_test_mkdtemp();
  char rec[600], bin[600];
  snprintf(rec, sizeof rec, "%s/k.mp4", dir);
  snprintf(bin, sizeof bin, "%s/camnet", cn_test_build_dir());
  char *argv[] = {bin, "--headless", "-o", rec, "test:320x240@30", NULL};
  pid_t pid = cn_test_spawn(argv, NULL);
  /* Two key-frame intervals (60 frames each) must be on disk before the
   * kill, however loaded the machine is. */
  long frames = -1;
  for (int i = 0; i < 600 && frames < 120; i++) {
    usleep(100 * 1000);
    frames = decodable_frames(rec);
  }
  int st = cn_test_stop(pid, SIGKILL);
  assert_true(WIFSIGNALED(st));
  frames = decodable_frames(rec);
  print_message("after kill -9: %ld frames decodable\n", frames);
  assert_true(frames >= 120);
  assert_int_equal(frames % 60, 0); /* whole fragments, one per key frame */
  cn_test_rmtree(dir);
  free(dir);
}

/* The first and last t_capture (s) of a JSON Lines file; the count. */
static int capture_span(const char *path, double *first, double *last) {
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[1024];
  int n = 0;
  while (fgets(line, sizeof line, fp)) {
    json_t *rec = json_loads(line, 0, NULL);
    assert_non_null(rec);
    double t = json_number_value(json_object_get(rec, "t_capture"));
    if (!n++)
      *first = t;
    *last = t;
    json_decref(rec);
  }
  fclose(fp);
  return n;
}

/* --duration 1 on a 20 fps camera: the frames delivered were captured
 * over about one second (not the wall time of the run, which start-up
 * and a loaded machine stretch), and their count is what was delivered.
 * The span is at least half the duration (a run ended at once, or by the
 * frame count, fails) and at most 1.5 s (a duration read in other units,
 * or not at all, fails; `timeout` ends a run that never stops). */
static void test_duration(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  char path[600];
  snprintf(path, sizeof path, "%s/d.jsonl", dir);
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "timeout 20 %s/camnet --duration 1 --json %s "
                              "test:160x120@20",
                              cn_test_build_dir(), path),
                   0);
  double first = 0, last = 0;
  int n = capture_span(path, &first, &last);
  unsigned long long captured = 0, delivered = 0;
  const char *s = strstr(out, " captured, ");
  while (s && s > out && s[-1] != ' ')
    s--;
  if (!s ||
      sscanf(s, "%llu captured, %llu delivered", &captured, &delivered) != 2)
    fail_msg("no counts in the summary: %s", out);
  print_message("%d records over %.3f s; %llu captured, %llu delivered\n", n,
                last - first, captured, delivered);
  if (!(last - first >= 0.5 && last - first <= 1.5))
    fail_msg("records span %.3f s of capture for --duration 1", last - first);
  assert_int_equal((unsigned long long)n, delivered);
  /* 20 fps for the span, give or take a frame: no more were captured. */
  assert_true(captured >= (unsigned long long)n &&
              captured <= (unsigned long long)((last - first) * 20 + 0.5) + 2);
  cn_test_rmtree(dir);
  free(dir);
}

static void test_errors_are_one_clear_line(void **state) {
  (void)state;
  assert_int_equal(camnet("/nonexistent/clip.mp4"), 1);
  assert_string_equal(out,
                      "camnet: error: /nonexistent/clip.mp4: no such file\n");
  assert_int_equal(camnet("--bogus test:"), 2);
  assert_string_equal(out, "camnet: unknown option --bogus (see --help)\n");
  assert_int_equal(camnet("--frames -3 test:"), 2);
  assert_non_null(strstr(out, "option --frames: '-3' is not a whole number"));
  assert_int_equal(camnet(""), 2);
  assert_non_null(strstr(out, "no source given"));
  assert_int_equal(camnet("--rtsp"), 2);
  assert_string_equal(out, "camnet: --rtsp needs --uri rtsp://...\n");
  assert_int_equal(camnet("--transport sctp test:"), 2);
  assert_int_equal(camnet("test:1x1"), 1);
  assert_non_null(strstr(out, "test:1x1: expected test:WIDTHxHEIGHT"));
  /* Usage errors are 2 and name the option. */
  assert_int_equal(camnet("--size 0x0 test:"), 2);
  assert_string_equal(
      out, "camnet: option --size: '0x0' is not WxH (each 1 to 16384)\n");
  assert_int_equal(camnet("--size axb test:"), 2);
  assert_non_null(strstr(out, "option --size: 'axb' is not WxH"));
  assert_int_equal(camnet("--mean 1,2 test:"), 2);
  assert_string_equal(out, "camnet: option --mean: '1,2' is not B,G,R, one "
                           "value, or a .npy or .binaryproto file\n");
  assert_int_equal(camnet("--mean 1,nan,3 test:"), 2);
  assert_non_null(strstr(out, "option --mean: '1,nan,3'"));
  assert_int_equal(camnet("--json /nonexistent/dir/x.jsonl test:"), 1);
  assert_non_null(strstr(out, "/nonexistent/dir/x.jsonl: cannot write"));
  /* Snapshots into a place that cannot take them: said at start, once. */
  assert_int_equal(camnet("--snapshot-every 1 --snapshot-dir /nonexistent "
                          "--headless --frames 5 test:"),
                   1);
  assert_string_equal(out, "camnet: error: option --snapshot-dir: "
                           "/nonexistent: No such file or directory\n");
  assert_int_equal(camnet("--snapshot-every 1 --snapshot-dir /etc/hostname "
                          "--headless --frames 5 test:"),
                   1);
  assert_non_null(strstr(out, "/etc/hostname: not a directory"));
}

/* A file that cannot grow (here a file size limit; a full disk behaves the
 * same): one error line, exit 1, and the file ends on a whole record. */
static void test_full_file_keeps_whole_records(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  int rc = cn_test_sh(out, sizeof out,
                      "ulimit -f 20 && %s/camnet --json %s/j.jsonl "
                      "--every-frame --frames 3000 test:160x120@1000",
                      cn_test_build_dir(), dir);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(out, "j.jsonl: write failed: File too large"));
  char path[600];
  snprintf(path, sizeof path, "%s/j.jsonl", dir);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[1024];
  int n = 0;
  while (fgets(line, sizeof line, fp)) {
    assert_int_equal(line[strlen(line) - 1], '\n');
    json_error_t e;
    json_t *rec = json_loads(line, 0, &e);
    if (!rec)
      fail_msg("%s: line %d: %s", path, n + 1, e.text);
    json_decref(rec);
    n++;
  }
  fclose(fp);
  /* 20 KiB holds about a hundred records; all of them are whole. */
  assert_true(n > 50);
  cn_test_rmtree(dir);
  free(dir);
}

/* A file cut short (a faststart MP4 whose index outlives its data) ends
 * with a warning naming where it ended; the whole file ends without one. */
static void test_cut_file_is_said(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  assert_int_equal(cn_test_sh(out, sizeof out,
                              "cd %s && ffmpeg -nostdin -loglevel error -f "
                              "lavfi -i testsrc=size=160x120:rate=25 "
                              "-frames:v 100 -c:v libx264 -movflags +faststart "
                              "full.mp4 && head -c $(($(stat -c %%s full.mp4) "
                              "/ 2)) full.mp4 > cut.mp4",
                              dir),
                   0);
  char args[700];
  snprintf(args, sizeof args, "--every-frame --headless %s/cut.mp4", dir);
  assert_int_equal(camnet(args), 0);
  assert_non_null(strstr(out, "cut.mp4: ended at "));
  assert_non_null(strstr(out, "of the 4.00 s its container states: the file "
                              "is cut or damaged"));
  snprintf(args, sizeof args, "--every-frame --headless %s/full.mp4", dir);
  assert_int_equal(camnet(args), 0);
  assert_null(strstr(out, "warning"));
  assert_non_null(strstr(out, "100 captured"));
  /* A run that stops the file early (--duration, --frames) did not find
   * it cut: no warning (there was one, naming the whole file damaged). */
  snprintf(args, sizeof args, "--headless --frames 10 %s/full.mp4", dir);
  assert_int_equal(camnet(args), 0);
  assert_null(strstr(out, "warning"));
  snprintf(args, sizeof args, "--headless --duration 1 %s/full.mp4", dir);
  assert_int_equal(camnet(args), 0);
  assert_null(strstr(out, "warning"));
  cn_test_rmtree(dir);
  free(dir);
}

/* A directory or a device where a file is expected is named as such, for
 * every kind of file the program reads (one reader, core/file.c). */
static void test_files_that_are_not_files(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  char args[600];
  snprintf(args, sizeof args, "--prototxt %s --model x.caffemodel test:", dir);
  assert_int_equal(camnet(args), 1);
  char want[700];
  snprintf(want, sizeof want,
           "camnet: error: %s: is a directory; the prototxt must be a file\n",
           dir);
  assert_string_equal(out, want);
  snprintf(args, sizeof args, "info %s", dir);
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "is a directory; the ONNX model must be a file"));
  assert_int_equal(camnet("info /dev/null"), 1);
  assert_non_null(strstr(out, "/dev/null: not a regular file (a device)"));
  snprintf(args, sizeof args,
           "--model %s/models/onnx-squeezenet/model.onnx --labels %s "
           "--headless --frames 1 test:",
           cn_test_source_dir(), dir);
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "is a directory; the labels must be a file"));
  cn_test_rmtree(dir);
  free(dir);
}

static void test_seed_aliases(void **state) {
  (void)state;
  int port = cn_test_free_port();
  char args[256];
  snprintf(args, sizeof args,
           "--rtsp --uri rtsp://127.0.0.1:%d/cam --latency 200", port);
  assert_int_equal(camnet(args), 1);
  assert_non_null(strstr(out, "connection refused"));
  assert_int_equal(camnet("--usb --vid 9"), 1);
  assert_non_null(strstr(out, "/dev/video9"));
  assert_int_equal(camnet("--help"), 0);
  assert_non_null(strstr(out, "--every-frame"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames_limit_and_json_schema),
      cmocka_unit_test(test_json_to_stdout_and_every_frame_file),
      cmocka_unit_test(test_sigterm_stops_cleanly_and_flushes),
      cmocka_unit_test(test_sigterm_during_a_hanging_connect),
      cmocka_unit_test(test_sigterm_during_model_load),
      cmocka_unit_test(test_closed_pipe_keeps_the_recording),
      cmocka_unit_test(test_killed_recording_plays),
      cmocka_unit_test(test_duration),
      cmocka_unit_test(test_errors_are_one_clear_line),
      cmocka_unit_test(test_files_that_are_not_files),
      cmocka_unit_test(test_cut_file_is_said),
      cmocka_unit_test(test_full_file_keeps_whole_records),
      cmocka_unit_test(test_seed_aliases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
