#include "media.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "core/pattern.h"

int cn_media_make(int w, int h, double fps, uint32_t first, int n,
                  const char *out_fmt, ...) {
  char out[2048], cmd[2560];
  va_list ap;
  va_start(ap, out_fmt);
  vsnprintf(out, sizeof out, out_fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd,
           "ffmpeg -nostdin -hide_banner -loglevel error -y -f rawvideo "
           "-pix_fmt bgr24 -s %dx%d -r %g -i - %s",
           w, h, fps, out);
  signal(SIGPIPE, SIG_IGN); /* a dying ffmpeg fails the write instead */
  size_t size = (size_t)w * 3 * (size_t)h;
  uint8_t *img = malloc(size);
  FILE *p = img ? popen(cmd, "w") : NULL;
  if (!p) {
    free(img);
    fprintf(stderr, "media: cannot run: %s\n", cmd);
    return -1;
  }
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    cn_pattern_paint_bgr(img, w * 3, w, h, first + (uint32_t)i);
    if (fwrite(img, 1, size, p) != size)
      rc = -1;
  }
  int st = pclose(p);
  free(img);
  if (rc || !WIFEXITED(st) || WEXITSTATUS(st)) {
    fprintf(stderr, "media: failed: %s\n", cmd);
    return -1;
  }
  return 0;
}

int cn_media_h264_mp4(const char *path, int w, int h, double fps, int n) {
  /* veryfast keeps B-frames, so decoders must reorder and drain. */
  return cn_media_make(w, h, fps, 0, n,
                       "-c:v libx264 -preset veryfast -crf 18 -g 25 "
                       "-pix_fmt yuv420p '%s'",
                       path);
}

int cn_media_mjpeg_avi(const char *path, int w, int h, double fps, int n) {
  return cn_media_make(w, h, fps, 0, n, "-c:v mjpeg -q:v 3 '%s'", path);
}

int cn_media_images(const char *pattern, int w, int h, int n) {
  return cn_media_make(w, h, 25, 0, n, "-q:v 2 -start_number 0 -f image2 '%s'",
                       pattern);
}

int cn_media_image(const char *path, int w, int h, uint32_t number) {
  return cn_media_make(w, h, 25, number, 1,
                       "-q:v 2 -frames:v 1 -update 1 -f image2 '%s'", path);
}
