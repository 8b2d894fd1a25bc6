/* cn_mean: the mean a Caffe-era network subtracts from its input, and the
 * .npy arrays the tools read and write.
 *
 * Mean sources, as Caffe deploy setups give them:
 * - .binaryproto: a Caffe BlobProto holding a mean image (e.g. 3x256x256);
 * - .npy: a NumPy array, [C,H,W], [1,C,H,W] or [C] (per channel);
 * - per-channel values (e.g. 104, 117, 123).
 * cn_mean_load() fits an image to the network input: same size is used as
 * is, a larger one is center-cropped (Caffe's test-time crop), anything
 * else is resized bilinearly (half-pixel centers). A single-channel mean
 * applies to every channel. The result is planar CxHxW float32.
 *
 * .npy: format versions 1.0, 2.0 and 3.0; little-endian float32 ('<f4'),
 * float64 ('<f8') and uint8 ('|u1'), C order; values become float32.
 * Big-endian, Fortran order, structured or other dtypes are refused.
 *
 * Errors: CN_ENOENT/CN_EIO for files, CN_EFORMAT with "FILE: what" for bad
 * content (wrong magic, truncated data, shape that does not fit the input),
 * CN_EUNSUPPORTED for valid but unhandled dtypes, CN_ENOMEM. A failed call
 * leaves nothing to free.
 *
 * Ownership: the caller frees results with cn_npy_free()/cn_mean_free().
 * Threads: no shared state; any thread.
 */
#ifndef CN_ENGINE_MEAN_H
#define CN_ENGINE_MEAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CN_NPY_MAX_DIMS 8

typedef struct cn_npy {
  int ndim; /* 0 for a scalar */
  int64_t dims[CN_NPY_MAX_DIMS];
  int64_t numel;
  float *data; /* numel values, row-major */
} cn_npy_t;

/* Reads an .npy file or buffer (name labels the errors). */
int cn_npy_read(const char *path, cn_npy_t *out, cn_err_t *err);
int cn_npy_read_mem(const void *buf, size_t len, const char *name,
                    cn_npy_t *out, cn_err_t *err);
/* Writes float32 data as a version 1.0 .npy file. */
int cn_npy_write(const char *path, const float *data, int ndim,
                 const int64_t *dims, cn_err_t *err);
void cn_npy_free(cn_npy_t *a); /* NULL or zeroed: no-op */

/* Reads a Caffe .binaryproto (BlobProto) as an array: its shape, or the
 * legacy num x channels x height x width. */
int cn_blobproto_read(const char *path, cn_npy_t *out, cn_err_t *err);
int cn_blobproto_read_mem(const void *buf, size_t len, const char *name,
                          cn_npy_t *out, cn_err_t *err);

typedef struct cn_mean {
  int c, h, w;
  float *data; /* c*h*w values, planar */
} cn_mean_t;

/* Mean from a .binaryproto or .npy file (chosen by its first bytes) fitted
 * to a c x h x w input. */
int cn_mean_load(const char *path, int c, int h, int w, cn_mean_t *out,
                 cn_err_t *err);
/* The same from an array already read (name labels the errors). */
int cn_mean_fit(const cn_npy_t *a, const char *name, int c, int h, int w,
                cn_mean_t *out, cn_err_t *err);
/* Per-channel values: n == 1 (all channels) or n == c. */
int cn_mean_from_values(const float *v, int n, int c, int h, int w,
                        cn_mean_t *out, cn_err_t *err);
void cn_mean_free(cn_mean_t *m); /* NULL or zeroed: no-op */

#endif
