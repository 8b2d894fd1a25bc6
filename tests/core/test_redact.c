/* cn_redact: URIs lose their userinfo wherever they appear in a text, and
 * nothing else changes; cn_err_set and cn_log apply it to every message. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#include "camnet/error.h"
#include "camnet/log.h"
#include "camnet/redact.h"

static void check(const char *in, const char *want) {
  char out[256];
  size_t len = cn_redact_text(in, out, sizeof out);
  assert_string_equal(out, want);
  assert_int_equal(len, strlen(want));
  char buf[256];
  snprintf(buf, sizeof buf, "%s", in);
  cn_redact_inplace(buf);
  assert_string_equal(buf, want);
  assert_int_equal(cn_redact_needed(in), strcmp(in, want) != 0);
}

static void test_uris(void **state) {
  (void)state;
  check("rtsp://user:pass@host/x", "rtsp://host/x");
  check("rtsp://user:pass@host:8554/x?a=b", "rtsp://host:8554/x?a=b");
  check("http://u:p@10.0.0.1", "http://10.0.0.1");
  check("mqtt://u:secret@host", "mqtt://host");
  check("rtsp://admin@host/x", "rtsp://host/x");
  /* Sub-delimiters and '@' are legal in a password (RFC 3986: the last '@'
   * ends the userinfo). */
  check("rtsp://u:p!a;s,s@w@host/x", "rtsp://host/x");
  check("rtsp://host/x", "rtsp://host/x");
  check("/dev/video0", "/dev/video0");
  check("test:640x480@30", "test:640x480@30");
  check("http://host/path?mail=a@b.c", "http://host/path?mail=a@b.c");
  check("", "");
}

static void test_text(void **state) {
  (void)state;
  check("gst:rtspsrc location=rtsp://u:pw@h:1/s ! decodebin ! appsink",
        "gst:rtspsrc location=rtsp://h:1/s ! decodebin ! appsink");
  check("a rtsp://u:p@h/x and http://v:q@k/y.", "a rtsp://h/x and http://k/y.");
  check("\"rtsp://u:p@h\": refused", "\"rtsp://h\": refused");
}

static void test_truncation(void **state) {
  (void)state;
  char out[8];
  size_t len = cn_redact_text("rtsp://u:p@host/abc", out, sizeof out);
  assert_int_equal(len, strlen("rtsp://host/abc"));
  assert_string_equal(out, "rtsp://");
}

/* A message longer than cn_err_t holds is redacted before it is cut. */
static void test_err_set(void **state) {
  (void)state;
  cn_err_t err = {0};
  char pad[CN_ERR_MSG_MAX];
  memset(pad, 'x', sizeof pad - 20);
  pad[sizeof pad - 20] = '\0';
  cn_err_set(&err, CN_EIO, "%s rtsp://user:hunter2@h/x", pad);
  assert_null(strstr(err.msg, "hunter2"));
  assert_null(strstr(err.msg, "user"));
  cn_err_set(&err, CN_EIO, "rtsp://user:hunter2@h/x: refused");
  assert_string_equal(err.msg, "rtsp://h/x: refused");
}

static char logged[1200];
static void sink(void *opaque, cn_log_level_t level, const char *line) {
  (void)opaque;
  (void)level;
  snprintf(logged, sizeof logged, "%s", line);
}

static void test_log(void **state) {
  (void)state;
  cn_logger_t log = {.level = CN_LOG_INFO, .sink = sink};
  cn_log(&log, CN_LOG_WARN, "source 0", "offline: %s: refused",
         "rtsp://user:hunter2@h/x");
  assert_string_equal(logged,
                      "camnet: warning: [source 0] offline: rtsp://h/x: "
                      "refused\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uris),       cmocka_unit_test(test_text),
      cmocka_unit_test(test_truncation), cmocka_unit_test(test_err_set),
      cmocka_unit_test(test_log),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
