/* cn_gst pipelines: ready-made gst: URIs for cameras that only speak
 * GStreamer. Pure string building: no GStreamer call, any thread.
 *
 * Each function writes a NUL-terminated "gst:..." URI into buf and returns
 * its length, or CN_EINVAL (buf left empty when size > 0) for a size or
 * rate that is not positive or a buffer too small for the text.
 */
#ifndef CN_GST_PIPELINES_H
#define CN_GST_PIPELINES_H

#include <stddef.h>

/* The Jetson CSI camera (--onboard): nvarguscamerasrc at width x height
 * and fps in NVMM memory, converted to BGR by nvvidconv + videoconvert.
 * A fractional fps is written as an exact-to-1/1000 fraction. */
int cn_gst_onboard_pipeline(char *buf, size_t size, int width, int height,
                            double fps);

#endif
