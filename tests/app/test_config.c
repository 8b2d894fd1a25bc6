/* The config file (--config FILE, --print-config) through the real
 * program: every error with its FILE:LINE, the printed configuration read
 * back to itself, the command line over the file, masked secrets, and a
 * run of two sections whose JSON records carry the sections' names. */
#include "harness.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out[65536];

static int camnet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int camnet(const char *fmt, ...) {
  char args[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  return cn_test_sh(out, sizeof out, "%s/camnet %s", cn_test_build_dir(), args);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static const char *config_text =
    "# a comment\n"
    "frames = 40\n"
    "quiet = true\n"
    "timeout = 3000\n"
    "out = results.jsonl\n"
    "input-shape = data:1x3x64x64\n"
    "input-shape = 1x3x32x32\n"
    "http = 127.0.0.1:8080\n"
    "http-token = hunter2\n"
    "threshold = 0.25\n"
    "\n"
    "[door]\n"
    "  uri = rtsp://alice:s3cret@cam1.local:8554/stream ; indented, commented\n"
    "  latency = 200\n"
    "  transport = udp\n"
    "[yard]\n"
    "uri = test:160x120@30\n"
    "loop = yes\n"
    "fps = 12.5\n";

/* print-config's output is a config file giving the same output. */
static void test_print_config_round_trips(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  write_file(dir, "a.ini", config_text);
  assert_int_equal(camnet("--config %s/a.ini --print-config", dir), 0);
  char first[65536];
  snprintf(first, sizeof first, "%s", out);
  write_file(dir, "b.ini", first);
  assert_int_equal(camnet("--print-config --config %s/b.ini", dir), 0);
  assert_string_equal(out, first);
  /* What it says, in order: globals, then one section per source. */
  const char *want[] = {"out = results.jsonl\n",
                        "frames = 40\n",
                        "timeout = 3000\n",
                        "; latency = 50\n",
                        "input-shape = data:1x3x64x64\n"
                        "input-shape = 1x3x32x32\n",
                        "threshold = 0.25\n",
                        "http = 127.0.0.1:8080\n",
                        "http-token = ****\n",
                        "quiet = true\n",
                        "\n[door]\nuri = rtsp://****@cam1.local:8554/stream\n"
                        "latency = 200\ntransport = udp\n",
                        "\n[yard]\nuri = test:160x120@30\nloop = true\n"
                        "fps = 12.5\n"};
  const char *at = first;
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    const char *hit = strstr(at, want[k]);
    if (!hit)
      fail_msg("print-config lacks (in order) '%s' in:\n%s", want[k], first);
    at = hit + strlen(want[k]);
  }
  /* Secrets never show; json made from out is not a key of its own. */
  assert_null(strstr(first, "hunter2"));
  assert_null(strstr(first, "s3cret"));
  assert_null(strstr(first, "alice"));
  assert_null(strstr(first, "json ="));
  cn_test_rmtree(dir);
  free(dir);
}

/* The command line over the file: its options replace the file's, for
 * every source, lists included; its sources come after the file's. */
static void test_command_line_wins(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  write_file(dir, "a.ini", config_text);
  assert_int_equal(camnet("--config %s/a.ini --timeout 100 --latency 70 "
                          "--input-shape 1x3x8x8 --name cli test:64x64@5 "
                          "test:32x32@5 --print-config",
                          dir),
                   0);
  assert_non_null(strstr(out, "\ntimeout = 100\n"));
  assert_non_null(strstr(out, "\nlatency = 70\n"));
  assert_null(strstr(out, "latency = 200")); /* [door]'s own, overridden */
  assert_non_null(strstr(out, "\ninput-shape = 1x3x8x8\n"));
  assert_null(strstr(out, "data:1x3x64x64"));
  assert_non_null(strstr(out, "transport = udp")); /* not on the line */
  const char *door = strstr(out, "[door]"), *yard = strstr(out, "[yard]");
  const char *cli = strstr(out, "[cli]\nuri = test:64x64@5\n");
  /* An unnamed source's title is its default name, its URI. */
  const char *anon = strstr(out, "[test:32x32@5]\nuri = test:32x32@5\n");
  assert_true(door && yard && cli && anon);
  assert_true(door < yard && yard < cli && cli < anon);
  /* Without a file: the command line alone, as a config file. */
  assert_int_equal(camnet("--print-config --frames 5 -o x.mp4 "
                          "rtsp://u:p@h/x"),
                   0);
  assert_non_null(strstr(out, "\nout = x.mp4\nframes = 5\n"));
  assert_non_null(strstr(out, "[rtsp://h/x]\nuri = rtsp://****@h/x\n"));
  assert_null(strstr(out, "record ="));
  cn_test_rmtree(dir);
  free(dir);
}

/* Each bad file: exit 2 and one line naming FILE:LINE and the key. */
static void test_errors_name_file_and_line(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp();
  char long_line[300];
  memset(long_line, 'x', sizeof long_line);
  memcpy(long_line, "uri = ", 6);
  long_line[sizeof long_line - 2] = '\n';
  long_line[sizeof long_line - 1] = 0;
  char many[1024] = "";
  for (int i = 0; i < 17; i++) /* two lines each: the 17th header, line 33 */
    snprintf(many + strlen(many), sizeof many - strlen(many),
             "[s%d]\nuri = test:\n", i);
  const struct {
    const char *text, *msg;
  } cases[] = {
      {"bogus = 1\n", "1: unknown key 'bogus' (see camnet --help)"},
      {"\n\nframes = -3\n",
       "3: key frames: '-3' is not a whole number between 0 and 1e+12"},
      {"duration = soon\n",
       "1: key duration: 'soon' is not a number between 0 and 1e+09"},
      {"loop = maybe\n", "1: key loop: 'maybe' is not true or false"},
      {"size = 0x0\n", "1: key size: '0x0' is not WxH (each 1 to 16384)"},
      {"transport = sctp\n", "1: key transport: 'sctp' is not tcp or udp"},
      {"out = x.avi\n",
       "1: key out: 'x.avi' is neither JSON Lines (.jsonl, .json, .ndjson, "
       "-) nor a video (.mp4, .mkv, .mov)"},
      {"help = true\n", "1: key help: an action of the command line, not a "
                        "setting"},
      {"config = other.ini\n",
       "1: key config: an action of the command line, not a setting"},
      {"name = x\n", "1: key name: a source's name is its section title "
                     "[NAME]"},
      {"[a]\nuri = test:\nmodel = x.onnx\n",
       "3: [a]: key model is not per source yet: give it before the first "
       "section (for every source)"},
      {"[a]\nuri = test:\nlatency = -5\n",
       "3: key latency: '-5' is not a whole number between 0 and 10000"},
      {"[a]\nuri = test:\nname = b\n",
       "3: key name: a source's name is its section title [NAME]"},
      {"[a]\nuri = test:\n\n[a]\nuri = test:\n",
       "4: section [a] given twice (first at line 1)"},
      {"[a]\nuri = test:\n[b]\n[c]\nuri = test:\n",
       "3: [b] is empty: a source needs uri = SOURCE"},
      {"x = 1\n[a]\nfps = 3\n", "1: unknown key 'x' (see camnet --help)"},
      {"[a]\nfps = 3\n", "1: [a] has no uri = SOURCE"},
      {"[a]\nuri = test:\nuri = test:\n", "3: [a] has a uri already"},
      {"[a]\nuri =\n", "2: [a]: empty uri"},
      {"frames 3\n", "1: not 'key = value', '[NAME]' or a comment"},
      {"[a\nuri = test:\n", "1: not 'key = value', '[NAME]' or a comment"},
      {"[]\nuri = test:\n", "1: a section title is 1 to 49 characters"},
      {long_line, "1: line longer than 198 characters"},
      {"[a]\nuri = te\rst:\n", "2: a control character in 'uri'"},
      {many, "33: too many sections (at most 16 sources)"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    write_file(dir, "e.ini", cases[k].text);
    char want[1024];
    snprintf(want, sizeof want, "camnet: %s/e.ini:%s\n", dir, cases[k].msg);
    int rc = camnet("--config %s/e.ini --print-config", dir);
    if (rc != 2 || strcmp(out, want))
      fail_msg("case %zu: exit %d, said '%s', want '%s'", k, rc, out, want);
  }
  assert_int_equal(camnet("--config %s/none.ini test:", dir), 2);
  char want[1024];
  snprintf(want, sizeof want,
           "camnet: option --config: %s/none.ini: No such file or "
           "directory\n",
           dir);
  assert_string_equal(out, want);
  cn_test_rmtree(dir);
  free(dir);
}

/* Records of one JSON Lines file: per source name, the count and the
 * highest frame number. */
typedef struct {
  const char *name;
  int index, records;
  json_int_t last_frame;
} per_source_t;

static void count_records(const char *path, per_source_t *s, int n) {
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[4096];
  while (fgets(line, sizeof line, fp)) {
    json_error_t e;
    json_t *rec = json_loads(line, 0, &e);
    if (!rec)
      fail_msg("%s: %s", path, e.text);
    const char *type = json_string_value(json_object_get(rec, "type"));
    const char *name = json_string_value(json_object_get(rec, "name"));
    json_int_t src = json_integer_value(json_object_get(rec, "source"));
    int k = 0;
    while (k < n && (!name || strcmp(name, s[k].name)))
      k++;
    if (k == n)
      fail_msg("record of an unknown source: %s", line);
    assert_int_equal(src, s[k].index);
    if (!strcmp(type, "frame")) {
      json_int_t f = json_integer_value(json_object_get(rec, "frame"));
      s[k].records++;
      if (f > s[k].last_frame)
        s[k].last_frame = f;
    }
    json_decref(rec);
  }
  fclose(fp);
}

/* Two sections of one 10-frame clip, one looping: the records name both
 * and only the looping one goes past frame 10 (loop is per source). */
static void test_two_sources_from_a_config(void **state) {
  (void)state;
  if (!cn_test_have("ffmpeg"))
    CN_TEST_SKIP_MISSING("ffmpeg", "no ffmpeg to make the clip");
  char *dir = cn_test_mkdtemp();
  assert_int_equal(
      cn_test_sh(out, sizeof out,
                 "ffmpeg -nostdin -loglevel error -f lavfi -i "
                 "testsrc=size=160x120:rate=25 -frames:v 10 -c:v libx264 "
                 "%s/clip.mp4",
                 dir),
      0);
  char text[2048];
  snprintf(text, sizeof text,
           "duration = 2\njson = %s/r.jsonl\n\n"
           "[once]\nuri = %s/clip.mp4\n\n"
           "[again]\nuri = %s/clip.mp4\nloop = true\n",
           dir, dir, dir);
  write_file(dir, "two.ini", text);
  assert_int_equal(camnet("--config %s/two.ini", dir), 0);
  per_source_t s[2] = {{"once", 0, 0, 0}, {"again", 1, 0, 0}};
  char path[1024];
  snprintf(path, sizeof path, "%s/r.jsonl", dir);
  count_records(path, s, 2);
  assert_true(s[0].records > 0 && s[0].records <= 10);
  assert_true(s[0].last_frame <= 10);
  assert_true(s[1].records > 10 && s[1].last_frame > 10);
  cn_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_print_config_round_trips),
      cmocka_unit_test(test_command_line_wins),
      cmocka_unit_test(test_errors_name_file_and_line),
      cmocka_unit_test(test_two_sources_from_a_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
