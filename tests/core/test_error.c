#include "harness.h"

#include <errno.h>
#include <string.h>

#include "camnet/error.h"

static void test_strerror_covers_every_code(void **state) {
  (void)state;
  assert_string_equal(cn_strerror(CN_OK), "success");
  assert_string_equal(cn_strerror(CN_ECONNREFUSED), "connection refused");
  assert_string_equal(cn_strerror(CN_ENODEV), "no such device");
  assert_string_equal(cn_strerror(12345), "unknown error");
  for (int c = CN_EINTERNAL; c < 0; c++)
    assert_string_not_equal(cn_strerror(c), "unknown error");
}

static void test_err_set_formats_and_returns_code(void **state) {
  (void)state;
  cn_err_t e = {0};
  assert_int_equal(cn_err_set(&e, CN_ENOENT, "%s: %s", "a.mp4", "no such file"),
                   CN_ENOENT);
  assert_int_equal(e.code, CN_ENOENT);
  assert_string_equal(e.msg, "a.mp4: no such file");
  assert_int_equal(cn_err_set(NULL, CN_EIO, "ignored"), CN_EIO);
  /* Long messages are cut, never overflowed. */
  char big[600];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  cn_err_set(&e, CN_EINVAL, "%s", big);
  assert_int_equal(strlen(e.msg), CN_ERR_MSG_MAX - 1);
}

static void test_errno_mapping(void **state) {
  (void)state;
  assert_int_equal(cn_err_from_errno(ENOENT), CN_ENOENT);
  assert_int_equal(cn_err_from_errno(ECONNREFUSED), CN_ECONNREFUSED);
  assert_int_equal(cn_err_from_errno(ETIMEDOUT), CN_ETIMEDOUT);
  assert_int_equal(cn_err_from_errno(ENODEV), CN_ENODEV);
  assert_int_equal(cn_err_from_errno(EBADF), CN_EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strerror_covers_every_code),
      cmocka_unit_test(test_err_set_formats_and_returns_code),
      cmocka_unit_test(test_errno_mapping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
