/* Test media with known content: every picture is cn_pattern_paint_bgr()
 * of its frame number, so a test reads back exactly which frame a source
 * delivered (cn_pattern_read_bgr), even after compression and scaling.
 *
 * Frames are piped as rawvideo bgr24 into the ffmpeg CLI. All functions
 * return 0, or -1 with ffmpeg's complaint on stderr. Sizes must be at
 * least 68x16 (the pattern's minimum); use even sizes for H.264.
 *
 * Use: link tests/sources/media.c into the test executable
 * (target_sources(test_x PRIVATE sources/media.c)). Not thread-safe: it
 * ignores SIGPIPE so a failing ffmpeg cannot kill the test.
 */
#ifndef CN_TEST_MEDIA_H
#define CN_TEST_MEDIA_H

#include <stdint.h>

/* Frames first .. first+n-1 at w x h and fps, encoded by
 *   ffmpeg -f rawvideo -pix_fmt bgr24 -s WxH -r FPS -i - <out>
 * where out (printf-style) is the output half of the command line: codec
 * options and the output path (quote paths yourself). */
int cn_media_make(int w, int h, double fps, uint32_t first, int n,
                  const char *out_fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* H.264 (libx264, with B-frames, GOP 25) in MP4; frames 0..n-1. */
int cn_media_h264_mp4(const char *path, int w, int h, double fps, int n);

/* MJPEG in AVI; frames 0..n-1. */
int cn_media_mjpeg_avi(const char *path, int w, int h, double fps, int n);

/* One image per frame from a %d pattern such as "DIR/img_%04d.png" or
 * "DIR/f_%03d.jpg" (format from the extension); file i holds frame i,
 * numbering starts at 0. */
int cn_media_images(const char *pattern, int w, int h, int n);

/* One still image (format from the extension) holding frame number. */
int cn_media_image(const char *path, int w, int h, uint32_t number);

#endif
