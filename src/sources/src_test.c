/* test:WxH@FPS: a synthetic camera. Each frame carries its sequence number
 * as a cn_pattern picture, so a test can check exactly which frame reached
 * it. The picture is painted at develop time: dropped frames cost nothing,
 * as with a real camera whose frames are converted only when taken. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "core/pattern.h"
#include "sources/source_internal.h"

typedef struct test_src {
  cn_source_env_t *env;
  int width, height;
  double fps;
  int64_t t0; /* clock of frame 0, set by open */
  uint64_t n; /* frames produced since open */
} test_src_t;

static int test_create(cn_source_env_t *env, void **ctx, cn_err_t *err) {
  const char *uri = env->opts->uri;
  const char *spec = uri + strlen("test:");
  int w = 640, h = 480;
  double fps = 30;
  int used = 0, n = 2;
  if (*spec)
    n = sscanf(spec, "%dx%d%n@%lf%n", &w, &h, &used, &fps, &used);
  /* --width/--height/--fps override the URI; the pattern needs the same
   * limits either way (its bands are 2 x 4 rows at least). */
  if (env->opts->width > 0 && env->opts->height > 0) {
    w = env->opts->width;
    h = env->opts->height;
  }
  if (env->opts->fps > 0)
    fps = env->opts->fps;
  if (n < 2 || spec[used] || w < 68 || h < 16 || w > 8192 || h > 8192 ||
      !(fps > 0 && fps <= 1000))
    return cn_err_set(err, CN_EINVAL,
                      "%s: expected test:WIDTHxHEIGHT[@FPS], at least "
                      "68x16, at most 8192x8192 and 1000 fps",
                      uri);
  test_src_t *t = calloc(1, sizeof *t);
  if (!t)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", uri);
  t->env = env;
  t->width = w;
  t->height = h;
  t->fps = fps;
  *ctx = t;
  return 0;
}

static void test_destroy(void *ctx) { free(ctx); }

static int test_open(void *ctx, cn_source_info_t *info, cn_err_t *err) {
  (void)err;
  test_src_t *t = ctx;
  t->t0 = cn_clock_now();
  t->n = 0;
  info->live = true;
  info->width = t->width;
  info->height = t->height;
  info->fps = t->fps;
  snprintf(info->codec, sizeof info->codec, "pattern");
  return 0;
}

static int test_read(void *ctx, cn_frame_t *f, cn_err_t *err) {
  (void)err;
  test_src_t *t = ctx;
  int64_t due = t->t0 + (int64_t)((double)t->n * 1e9 / t->fps);
  if (!cn__source_wait_until(t->env, due))
    return CN_EAGAIN;
  f->pts = (double)t->n / t->fps;
  f->t_capture = cn_clock_now();
  f->t_decode = f->t_capture;
  t->n++;
  return 0;
}

static void test_close(void *ctx) { (void)ctx; }

static int test_develop(void *ctx, cn_frame_t *f, cn_err_t *err) {
  test_src_t *t = ctx;
  int rc = cn_frame_alloc_pixels(f, t->width, t->height, CN_PIX_BGR24, err);
  if (rc == 0)
    cn_pattern_paint_bgr(f->data, f->stride, f->width, f->height,
                         (uint32_t)f->seq);
  return rc;
}

const cn_source_backend_t cn__source_test = {
    .name = "test",
    .create = test_create,
    .destroy = test_destroy,
    .open = test_open,
    .read = test_read,
    .close = test_close,
    .develop = test_develop,
};
