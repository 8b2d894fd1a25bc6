/* Mean files and .npy arrays: NumPy itself writes the files we read and
 * reads the files we write; a BlobProto encoded by hand checks the field
 * numbers; crops and resizes are checked against values worked out here. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/mean.h"

static int have_numpy(void) {
  char out[256];
  return cn_test_have("/usr/bin/python3") &&
         cn_test_sh(out, sizeof out, "/usr/bin/python3 -c 'import numpy'") == 0;
}

static void write_bytes(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

/* NumPy writes v1/v2/v3 files of each dtype; we read the same values. */
static void test_npy_from_numpy(void **state) {
  (void)state;
  if (!have_numpy())
    CN_TEST_SKIP_MISSING("python3-numpy", "no /usr/bin/python3 with numpy");
  char *dir = cn_test_mkdtemp(), out[1024];
  int rc = cn_test_sh(
      out, sizeof out,
      "cd %s && /usr/bin/python3 -c \"\n"
      "import numpy as np\n"
      "from numpy.lib import format as F\n"
      "a = (np.arange(24).reshape(2,3,4) * 1.5 - 7).astype('<f4')\n"
      "for v in [(1,0),(2,0),(3,0)]:\n"
      "  for dt in ['<f4','<f8','|u1']:\n"
      "    b = np.abs(a).astype(dt) if dt == '|u1' else a.astype(dt)\n"
      "    with open('a_%%d_%%s.npy' %% (v[0], dt[1:]), 'wb') as f:\n"
      "      F.write_array(f, b, version=v)\n"
      "np.save('scalar.npy', np.float32(3.25))\n"
      "np.save('empty.npy', np.zeros((0, 3), np.float32))\n"
      "np.save('be.npy', a.astype('>f4'))\n"
      "np.save('fortran.npy', np.asfortranarray(a))\n"
      "np.save('int.npy', a.astype('<i4'))\n"
      "\"",
      dir);
  if (rc)
    fail_msg("numpy: %s", out);
  const char *dts[] = {"f4", "f8", "u1"};
  for (int v = 1; v <= 3; v++) {
    for (int k = 0; k < 3; k++) {
      char p[512];
      snprintf(p, sizeof p, "%s/a_%d_%s.npy", dir, v, dts[k]);
      cn_npy_t a;
      cn_err_t err = {0};
      if (cn_npy_read(p, &a, &err))
        fail_msg("%s", err.msg);
      assert_int_equal(a.ndim, 3);
      assert_int_equal(a.dims[0], 2);
      assert_int_equal(a.dims[1], 3);
      assert_int_equal(a.dims[2], 4);
      assert_int_equal(a.numel, 24);
      for (int i = 0; i < 24; i++) {
        float want = (float)i * 1.5f - 7.0f;
        if (k == 2)
          want = (float)(int)fabsf(want); /* numpy truncates toward zero */
        assert_float_equal(a.data[i], want, 0);
      }
      cn_npy_free(&a);
    }
  }
  char p[512];
  cn_npy_t a;
  cn_err_t err = {0};
  snprintf(p, sizeof p, "%s/scalar.npy", dir);
  assert_int_equal(cn_npy_read(p, &a, &err), 0);
  assert_int_equal(a.ndim, 0);
  assert_int_equal(a.numel, 1);
  assert_float_equal(a.data[0], 3.25f, 0);
  cn_npy_free(&a);
  snprintf(p, sizeof p, "%s/empty.npy", dir);
  assert_int_equal(cn_npy_read(p, &a, &err), 0);
  assert_int_equal(a.numel, 0);
  cn_npy_free(&a);

  static const struct {
    const char *file;
    int code;
    const char *msg;
  } bad[] = {
      {"be.npy", CN_EUNSUPPORTED, "big-endian dtype '>f4' is not supported"},
      {"fortran.npy", CN_EUNSUPPORTED,
       "Fortran-ordered arrays are not supported"},
      {"int.npy", CN_EUNSUPPORTED, "dtype '<i4' is not supported"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, bad[i].file);
    assert_int_equal(cn_npy_read(p, &a, &err), bad[i].code);
    assert_non_null(strstr(err.msg, bad[i].msg));
    assert_non_null(strstr(err.msg, bad[i].file));
    assert_null(a.data);
  }
  cn_test_rmtree(dir);
  free(dir);
}

/* What we write, NumPy reads back with the same shape and values. */
static void test_npy_write_read_by_numpy(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp(), p[512], out[512];
  snprintf(p, sizeof p, "%s/w.npy", dir);
  float v[6] = {1.5f, -2.0f, 0.0f, 3.0e-8f, 1e30f, -0.25f};
  int64_t dims[2] = {2, 3};
  cn_err_t err = {0};
  assert_int_equal(cn_npy_write(p, v, 2, dims, &err), 0);
  cn_npy_t a;
  assert_int_equal(cn_npy_read(p, &a, &err), 0);
  assert_int_equal(a.ndim, 2);
  assert_memory_equal(a.data, v, sizeof v);
  cn_npy_free(&a);
  if (have_numpy()) {
    int rc = cn_test_sh(
        out, sizeof out,
        "/usr/bin/python3 -c \"import numpy as np; a = np.load('%s');"
        " assert a.dtype == np.float32 and a.shape == (2, 3), a;"
        " assert (a.ravel() == np.array([1.5, -2, 0, 3e-8, 1e30,"
        " -0.25], np.float32)).all(), a\"",
        p);
    if (rc)
      fail_msg("numpy: %s", out);
  }
  /* One dimension: numpy needs the tuple comma. */
  int64_t d1 = 6;
  assert_int_equal(cn_npy_write(p, v, 1, &d1, &err), 0);
  if (have_numpy() && cn_test_sh(out, sizeof out,
                                 "/usr/bin/python3 -c \"import numpy as np;"
                                 " assert np.load('%s').shape == (6,)\"",
                                 p))
    fail_msg("numpy: %s", out);
  cn_test_rmtree(dir);
  free(dir);
}

static void test_npy_bad_bytes(void **state) {
  (void)state;
  cn_npy_t a;
  cn_err_t err = {0};
  assert_int_equal(cn_npy_read_mem("PK\3\4 not numpy", 15, "x.npy", &a, &err),
                   CN_EFORMAT);
  assert_string_equal(err.msg, "x.npy: not a .npy file (wrong magic)");
  /* A valid header announcing 3 floats followed by 2. */
  char buf[128];
  const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  size_t hl = strlen(h);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (char)hl;
  buf[9] = 0;
  memcpy(buf + 10, h, hl);
  memset(buf + 10 + hl, 0, 8);
  assert_int_equal(cn_npy_read_mem(buf, 10 + hl + 8, "t.npy", &a, &err),
                   CN_EFORMAT);
  assert_string_equal(err.msg,
                      "t.npy: truncated: 8 bytes of data, expected 12");
  /* The header itself cut short. */
  assert_int_equal(cn_npy_read_mem(buf, 30, "t.npy", &a, &err), CN_EFORMAT);
  assert_string_equal(err.msg, "t.npy: truncated .npy header");
  /* Version 9. */
  buf[6] = 9;
  assert_int_equal(cn_npy_read_mem(buf, 10 + hl + 12, "t.npy", &a, &err),
                   CN_EUNSUPPORTED);
  assert_int_equal(cn_npy_read("/nonexistent/m.npy", &a, &err), CN_ENOENT);
}

/* A BlobProto encoded by hand: num=1 (field 1), channels=2 (2), height=2
 * (3), width=3 (4), data packed (5): the field numbers Caffe writes. */
static const unsigned char legacy_blob[] = {
    0x08, 0x01, 0x10, 0x02, 0x18, 0x02, 0x20, 0x03, 0x2a, 48,
    /* 12 floats: 0..11 */
    0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80,
    0x40, 0, 0, 0xa0, 0x40, 0, 0, 0xc0, 0x40, 0, 0, 0xe0, 0x40, 0, 0, 0, 0x41,
    0, 0, 0x10, 0x41, 0, 0, 0x20, 0x41, 0, 0, 0x30, 0x41};

static void test_binaryproto_and_fitting(void **state) {
  (void)state;
  cn_npy_t a;
  cn_err_t err = {0};
  if (cn_blobproto_read_mem(legacy_blob, sizeof legacy_blob, "m.binaryproto",
                            &a, &err))
    fail_msg("%s", err.msg);
  assert_int_equal(a.ndim, 4);
  assert_int_equal(a.dims[1], 2);
  assert_int_equal(a.dims[2], 2);
  assert_int_equal(a.dims[3], 3);
  for (int i = 0; i < 12; i++)
    assert_float_equal(a.data[i], (float)i, 0);

  /* Cropped to 2x1 (center: x offset 1), same size, and a 1x1 crop. */
  cn_mean_t m;
  assert_int_equal(cn_mean_fit(&a, "m", 2, 2, 1, &m, &err), 0);
  float crop[] = {1, 4, 7, 10};
  assert_memory_equal(m.data, crop, sizeof crop);
  cn_mean_free(&m);
  assert_int_equal(cn_mean_fit(&a, "m", 2, 2, 3, &m, &err), 0);
  assert_memory_equal(m.data, a.data, 12 * sizeof(float));
  cn_mean_free(&m);
  /* Channel mismatch. */
  assert_int_equal(cn_mean_fit(&a, "m.binaryproto", 3, 2, 2, &m, &err),
                   CN_EFORMAT);
  assert_string_equal(err.msg, "m.binaryproto: 2 channels, the input has 3");
  cn_npy_free(&a);

  /* A truncated BlobProto: the packed data cut in the middle. */
  assert_int_equal(
      cn_blobproto_read_mem(legacy_blob, 30, "m.binaryproto", &a, &err),
      CN_EFORMAT);
  assert_non_null(strstr(err.msg, "m.binaryproto: not a Caffe BlobProto"));
  /* Shape says 12 values, data has 8 (length byte patched, tail dropped). */
  unsigned char shortb[sizeof legacy_blob];
  memcpy(shortb, legacy_blob, sizeof shortb);
  shortb[9] = 32;
  assert_int_equal(
      cn_blobproto_read_mem(shortb, 10 + 32, "m.binaryproto", &a, &err),
      CN_EFORMAT);
  assert_string_equal(err.msg,
                      "m.binaryproto: blob has 8 values, its shape 12");
}

static void test_resize_and_values(void **state) {
  (void)state;
  /* 2x2 -> 4x4 bilinear with half-pixel centers (as cv2.resize): source
   * coordinates -0.25, 0.25, 0.75, 1.25 clamp to weights 0, .25, .75, 1. */
  float src[4] = {0, 1, 2, 3};
  cn_npy_t a = {.ndim = 3, .dims = {1, 2, 2}, .numel = 4, .data = src};
  cn_mean_t m;
  cn_err_t err = {0};
  assert_int_equal(cn_mean_fit(&a, "m", 3, 4, 4, &m, &err), 0);
  const float wgt[4] = {0, 0.25f, 0.75f, 1};
  for (int c = 0; c < 3; c++) /* one channel applies to all three */
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 4; x++)
        assert_float_equal(m.data[c * 16 + y * 4 + x], 2 * wgt[y] + wgt[x],
                           1e-6);
  cn_mean_free(&m);

  float v[3] = {104, 117, 123};
  assert_int_equal(cn_mean_from_values(v, 3, 3, 2, 2, &m, &err), 0);
  for (int i = 0; i < 12; i++)
    assert_float_equal(m.data[i], v[i / 4], 0);
  cn_mean_free(&m);
  assert_int_equal(cn_mean_from_values(v, 2, 3, 2, 2, &m, &err), CN_EINVAL);
  /* Per-channel values from a 1-D array. */
  cn_npy_t pc = {.ndim = 1, .dims = {3}, .numel = 3, .data = v};
  assert_int_equal(cn_mean_fit(&pc, "m", 3, 1, 2, &m, &err), 0);
  assert_float_equal(m.data[5], 123, 0);
  cn_mean_free(&m);
}

/* cn_mean_load tells the two formats apart by their first bytes. */
static void test_mean_load_both_formats(void **state) {
  (void)state;
  char *dir = cn_test_mkdtemp(), p[512];
  cn_err_t err = {0};
  cn_mean_t m;
  snprintf(p, sizeof p, "%s/mean.binaryproto", dir);
  write_bytes(p, legacy_blob, sizeof legacy_blob);
  if (cn_mean_load(p, 2, 1, 1, &m, &err))
    fail_msg("%s", err.msg);
  /* 1x1 center crop of 2x3: row (2-1)/2 = 0, column (3-1)/2 = 1. */
  assert_float_equal(m.data[0], 1, 0);
  assert_float_equal(m.data[1], 7, 0);
  cn_mean_free(&m);

  snprintf(p, sizeof p, "%s/mean.npy", dir);
  float v[2] = {5, 6};
  int64_t d = 2;
  assert_int_equal(cn_npy_write(p, v, 1, &d, &err), 0);
  assert_int_equal(cn_mean_load(p, 2, 2, 2, &m, &err), 0);
  assert_float_equal(m.data[3], 5, 0);
  assert_float_equal(m.data[4], 6, 0);
  cn_mean_free(&m);

  /* A mean of NaN gave every frame the same answer: refused, named. */
  float bad[3] = {104, NAN, 123};
  d = 3;
  snprintf(p, sizeof p, "%s/nan.npy", dir);
  assert_int_equal(cn_npy_write(p, bad, 1, &d, &err), 0);
  assert_int_equal(cn_mean_load(p, 3, 2, 2, &m, &err), CN_EFORMAT);
  assert_null(m.data);
  assert_non_null(strstr(err.msg, "nan.npy: value 1 is NaN"));
  bad[1] = INFINITY;
  assert_int_equal(cn_npy_write(p, bad, 1, &d, &err), 0);
  assert_int_equal(cn_mean_load(p, 3, 2, 2, &m, &err), CN_EFORMAT);
  assert_non_null(strstr(err.msg, "value 1 is infinite"));

  /* Random bytes named .npy are a bad .npy, not a bad BlobProto. */
  snprintf(p, sizeof p, "%s/random.npy", dir);
  write_bytes(p, "\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8);
  assert_int_equal(cn_mean_load(p, 3, 2, 2, &m, &err), CN_EFORMAT);
  assert_non_null(strstr(err.msg, "random.npy: not a .npy file"));

  snprintf(p, sizeof p, "%s/junk.binaryproto", dir);
  write_bytes(p, "\xff\xff\xff", 3);
  assert_int_equal(cn_mean_load(p, 3, 2, 2, &m, &err), CN_EFORMAT);
  assert_null(m.data);
  cn_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_npy_from_numpy),
      cmocka_unit_test(test_npy_write_read_by_numpy),
      cmocka_unit_test(test_npy_bad_bytes),
      cmocka_unit_test(test_binaryproto_and_fitting),
      cmocka_unit_test(test_resize_and_values),
      cmocka_unit_test(test_mean_load_both_formats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
