#include "sources/gst_pipelines.h"

#include <math.h>
#include <stdio.h>

#include "camnet/error.h"

static long gcd(long a, long b) {
  while (b) {
    long t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* GStreamer caps want a fraction: 30 -> 30/1, 29.97 -> 2997/100. */
static void fps_fraction(double fps, long *num, long *den) {
  long n = lround(fps * 1000.0), d = 1000;
  long g = gcd(n, d);
  *num = n / g;
  *den = d / g;
}

int cn_gst_onboard_pipeline(char *buf, size_t size, int width, int height,
                            double fps) {
  if (size > 0)
    buf[0] = '\0';
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384 ||
      !(fps >= 0.001 && fps <= 1000.0))
    return CN_EINVAL;
  long num, den;
  fps_fraction(fps, &num, &den);
  int n = snprintf(buf, size,
                   "gst:nvarguscamerasrc ! video/x-raw(memory:NVMM),"
                   "width=%d,height=%d,framerate=%ld/%ld,format=NV12 ! "
                   "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! "
                   "video/x-raw,format=BGR ! appsink name=sink",
                   width, height, num, den);
  if (n < 0 || (size_t)n >= size) {
    if (size > 0)
      buf[0] = '\0';
    return CN_EINVAL;
  }
  return n;
}
