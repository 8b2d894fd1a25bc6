/* Label files: plain and synset files written here byte by byte, with the
 * label each line must give; line endings, BOM, blank lines; errors name
 * the file. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/labels.h"

static char *dir;

static int setup(void **state) {
  (void)state;
  dir = cn_test_mkdtemp();
  return dir ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cn_test_rmtree(dir);
  free(dir);
  return 0;
}

static const char *write_file(const char *name, const char *bytes, size_t n) {
  static char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  fclose(f);
  return path;
}

static cn_labels_t *load_ok(const char *name, const char *text) {
  const char *p = write_file(name, text, strlen(text));
  cn_labels_t *l = NULL;
  cn_err_t err = {0};
  if (cn_labels_load(p, &l, &err))
    fail_msg("%s: %s", name, err.msg);
  return l;
}

static void expect(const cn_labels_t *l, const char *const *want, int n) {
  assert_int_equal(cn_labels_count(l), n);
  for (int i = 0; i < n; i++)
    assert_string_equal(cn_labels_get(l, i), want[i]);
  assert_null(cn_labels_get(l, n));
  assert_null(cn_labels_get(l, -1));
}

static void test_plain(void **state) {
  (void)state;
  cn_labels_t *l = load_ok("plain.txt", "cat\ndog\ngolden retriever\n");
  const char *want[] = {"cat", "dog", "golden retriever"};
  expect(l, want, 3);
  assert_int_equal(cn_labels_synset(l), 0);
  cn_labels_destroy(l);
  /* No newline at the end; CRLF; trailing spaces; trailing blank lines. */
  l = load_ok("crlf.txt", "cat \r\ndog\r\n\r\nbird\r\n\r\n\n");
  const char *want2[] = {"cat", "dog", "", "bird"};
  expect(l, want2, 4);
  cn_labels_destroy(l);
  l = load_ok("nonl.txt", "\xEF\xBB\xBF"
                          "only");
  const char *want3[] = {"only"};
  expect(l, want3, 1);
  cn_labels_destroy(l);
}

static void test_synset(void **state) {
  (void)state;
  cn_labels_t *l =
      load_ok("synset_words.txt", "n01440764 tench, Tinca tinca\n"
                                  "n01443537 goldfish, Carassius auratus\n"
                                  "n01484850 great white shark, white shark, "
                                  "man-eater, man-eating shark, Carcharodon "
                                  "carcharias\r\n");
  const char *want[] = {
      "tench, Tinca tinca", "goldfish, Carassius auratus",
      "great white shark, white shark, man-eater, man-eating shark, "
      "Carcharodon carcharias"};
  expect(l, want, 3);
  assert_int_equal(cn_labels_synset(l), 1);
  cn_labels_destroy(l);
  /* One line that is not a synset makes the whole file plain. */
  l = load_ok("mixed.txt", "n01440764 tench\nbackground\n");
  const char *want2[] = {"n01440764 tench", "background"};
  expect(l, want2, 2);
  assert_int_equal(cn_labels_synset(l), 0);
  cn_labels_destroy(l);
  /* "n" and 7 digits is not a synset id. */
  l = load_ok("short.txt", "n0144076 tench\n");
  const char *want3[] = {"n0144076 tench"};
  expect(l, want3, 1);
  cn_labels_destroy(l);
}

static void expect_error(const char *path, int code, const char *what) {
  cn_labels_t *l = (cn_labels_t *)1;
  cn_err_t err = {0};
  assert_int_equal(cn_labels_load(path, &l, &err), code);
  assert_null(l);
  if (!strstr(err.msg, path) || !strstr(err.msg, what))
    fail_msg("'%s' should name %s and say '%s'", err.msg, path, what);
}

static void test_errors(void **state) {
  (void)state;
  char missing[1024];
  snprintf(missing, sizeof missing, "%s/nope.txt", dir);
  expect_error(missing, CN_ENOENT, "No such file");
  char path[1024];
  snprintf(path, sizeof path, "%s", write_file("empty.txt", "", 0));
  expect_error(path, CN_EFORMAT, "no labels");
  snprintf(path, sizeof path, "%s", write_file("blank.txt", "\n \n\r\n", 5));
  expect_error(path, CN_EFORMAT, "no labels");
  snprintf(path, sizeof path, "%s", write_file("bin.dat", "ab\0cd\n", 6));
  expect_error(path, CN_EFORMAT, "NUL");
  /* Latin-1 "café": 0xE9 alone is not UTF-8 (JSON would carry null). */
  snprintf(path, sizeof path, "%s",
           write_file("latin1.txt", "cat\ncaf\xe9\n", 9));
  expect_error(path, CN_EFORMAT, "not UTF-8 text");
  cn_labels_t *l = (cn_labels_t *)1;
  cn_err_t err = {0};
  assert_true(cn_labels_load(dir, &l, &err) < 0); /* a directory */
  assert_null(l);
  assert_non_null(strstr(err.msg, dir));
  assert_int_equal(cn_labels_count(NULL), 0);
  assert_null(cn_labels_get(NULL, 0));
  cn_labels_destroy(NULL);
}

/* A label file bigger than the first read buffer. */
static void test_many(void **state) {
  (void)state;
  size_t cap = 1000 * 40, n = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  for (int i = 0; i < 1000; i++)
    n += (size_t)snprintf(text + n, cap - n, "n%08d class number %d\n",
                          1000000 + i, i);
  const char *p = write_file("big.txt", text, n);
  cn_labels_t *l = NULL;
  assert_int_equal(cn_labels_load(p, &l, NULL), 0);
  assert_int_equal(cn_labels_count(l), 1000);
  assert_string_equal(cn_labels_get(l, 0), "class number 0");
  assert_string_equal(cn_labels_get(l, 999), "class number 999");
  cn_labels_destroy(l);
  free(text);
}

/* Names a decoder knows: copied, so the caller's strings may go. */
static void test_from_names(void **state) {
  (void)state;
  char face[] = "face", hand[] = "hand";
  const char *names[] = {face, NULL, hand};
  cn_labels_t *l = NULL;
  cn_err_t err = {0};
  assert_int_equal(cn_labels_from_names(names, 3, &l, &err), 0);
  face[0] = hand[0] = 'X';
  assert_int_equal(cn_labels_count(l), 3);
  assert_string_equal(cn_labels_get(l, 0), "face");
  assert_string_equal(cn_labels_get(l, 1), "");
  assert_string_equal(cn_labels_get(l, 2), "hand");
  assert_null(cn_labels_get(l, 3));
  assert_int_equal(cn_labels_synset(l), 0);
  cn_labels_destroy(l);
  l = (cn_labels_t *)1;
  assert_int_equal(cn_labels_from_names(names, 0, &l, &err), CN_EINVAL);
  assert_null(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),      cmocka_unit_test(test_synset),
      cmocka_unit_test(test_errors),     cmocka_unit_test(test_many),
      cmocka_unit_test(test_from_names),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
