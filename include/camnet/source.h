/* cn_source: one video source and the capture thread that feeds its slot.
 *
 * A source is named by a URI and picks its backend from it:
 *   test:WxH@FPS            synthetic frames carrying their number (pattern.h)
 *   gst:PIPELINE            a GStreamer pipeline ending in an appsink
 *   /dev/videoN             a V4L2 device (libavdevice)
 *   rtsp://                 RTSP cameras (GStreamer's client or libavformat's,
 *                           see rtsp_via; decoded by libavcodec either way)
 *   http://, ...            network streams (libavformat)
 *   FILE, img_%04d.jpg, DIR video files, images, sequences, directories
 *
 * The capture thread reads, decodes what must be decoded (inter-coded
 * video decodes every frame; intra-only streams such as MJPEG keep the
 * compressed packet) and puts the frame into the source's latest-frame
 * slot. Pixels are made only when a consumer takes a frame
 * (cn_source_take), so dropped frames cost no conversion or scaling.
 *
 * Files are paced at their own frame rate, like a camera, unless
 * every_frame is set (then nothing is dropped and nothing is paced).
 * Live sources that fail go offline and are reopened with backoff
 * (reconnect < 0: forever); a read that stalls longer than timeout_ms is
 * an error, not a hang.
 *
 * Lifecycle: create -> open (first connection, in the caller's thread, so
 * a bad URI fails fast with a clear message) -> start (thread) -> stop ->
 * destroy. A failed create or open leaves nothing to clean up besides
 * destroy(). Frames taken from the source stay valid after destroy.
 *
 * Threads: create/open/start/stop/destroy from one controlling thread;
 * take and get_stats from any thread.
 */
#ifndef CN_SOURCE_H
#define CN_SOURCE_H

#include "camnet/version.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "camnet/frame.h"
#include "camnet/log.h"

typedef struct cn_source cn_source_t;

typedef struct cn_source_opts {
  const char *uri;   /* required; copied by create */
  int index;         /* source number in frames, logs and JSON */
  int width, height; /* capture size (V4L2, gst) or output size; 0 native */
  double fps;        /* V4L2/test rate; images and sequences (0: 25) */
  const char *input_format; /* V4L2 pixel format: "mjpeg", "yuyv422" */
  const char *transport;    /* RTSP: "tcp" (default) or "udp" */
  int latency_ms;           /* RTSP jitter buffer; default 50 */
  int timeout_ms;           /* a read stalled this long is an error; 5000 */
  int reconnect;            /* reopen attempts in a row; <0 forever (default) */
  bool every_frame;         /* files: no pacing, no drops (offline work) */
  bool loop;                /* files: start again at the end */
  const cn_logger_t *log;   /* NULL: stderr */
  /* Live sources: called when the source goes offline (reason: the
   * failure, redacted) or comes back (reason NULL), from the capture
   * thread, with no lock held; t_state is the monotonic time of the
   * change. Not called for the first open nor when the source stops. */
  void (*on_state)(void *opaque, int index, bool online, const char *reason,
                   int64_t t_state);
  void *opaque;
  /* rtsp:// client: "ffmpeg" (libavformat's, the default: it holds each
   * H.264/H.265 picture until the next one begins) or "gst" (GStreamer's
   * RTSP client feeding camnet's decoder: each picture decoded as soon as
   * its last packet is in). NULL: the default. */
  const char *rtsp_via;
} cn_source_opts_t;

/* Fills the defaults documented above. */
CN_API void cn_source_opts_default(cn_source_opts_t *opts);

typedef struct cn_source_stats {
  uint64_t captured;      /* frames put into the slot */
  uint64_t delivered;     /* frames taken by a consumer */
  uint64_t dropped;       /* frames replaced before anyone took them */
  uint64_t pending;       /* 0 or 1: untaken frame in the slot */
  uint64_t decode_errors; /* packets or frames that failed to decode */
  uint64_t reconnects;    /* successful reopens after a failure */
  bool online;            /* delivering frames now */
  bool finished;          /* the thread ended: end of file or gave up */
  bool live;              /* a device or stream, not a file: paced by the
                             world, so --every-frame does not apply */
  int64_t t_state;        /* ns: last online/offline change */
  int64_t cpu_ns;         /* CPU time used by the capture thread */
  int width, height;      /* native size of the stream (0 if unknown) */
  double fps;             /* nominal rate of the stream (0 if unknown) */
  char codec[32];         /* decoder name, "" if none */
  int last_error;         /* code of the last failure, 0 if none */
  int64_t online_ns;      /* time spent online so far (rates while live) */
  double last_pts;        /* pts of the newest frame captured, NAN if none */
  double end_pts;         /* files: where the container says they end, 0 */
} cn_source_stats_t;

/* Checks the options and picks the backend. Does not touch the device. */
CN_API int cn_source_create(const cn_source_opts_t *opts, cn_source_t **out,
                            cn_err_t *err);

/* Opens the device, file or stream once. Fails with a one-line message
 * naming the URI and what is wrong (no such device, connection refused,
 * unsupported codec, not a video...). */
CN_API int cn_source_open(cn_source_t *src, cn_err_t *err);

/* Starts the capture thread (opens first if needed). */
CN_API int cn_source_start(cn_source_t *src, cn_err_t *err);

/* Stops the thread (interrupting a blocking read) and closes the slot.
 * Safe to call more than once, and without start. */
CN_API void cn_source_stop(cn_source_t *src);

/* Asks the source to stop, from any thread, without waiting: a
 * cn_source_open() in progress on another thread (a connect that hangs)
 * returns CN_ECLOSED within about 100 ms, and the capture thread ends.
 * Call cn_source_stop() afterwards from the owning thread. */
CN_API void cn_source_interrupt(cn_source_t *src);

/* Stops, closes and frees. NULL is a no-op. */
CN_API void cn_source_destroy(cn_source_t *src);

/* Waits up to timeout_ns (<0 forever) for a frame newer than after_seq,
 * develops its pixels (BGR24, scaled to width x height if set) in the
 * calling thread, stamps t_take and returns a new reference. Returns 0,
 * CN_ETIMEDOUT, CN_EOF (the source finished and nothing newer is left)
 * or a develop error (counted in decode_errors; the frame is released and
 * after_seq should move past it: its seq is stored in *out_seq if set). */
CN_API int cn_source_take(cn_source_t *src, uint64_t after_seq,
                          int64_t timeout_ns, cn_frame_t **out,
                          uint64_t *out_seq, cn_err_t *err);

/* A consistent snapshot of the counters and state (see the struct). */
CN_API void cn_source_get_stats(cn_source_t *src, cn_source_stats_t *out);

/* Copies the last failure's message (redacted; "" if none) into buf. */
CN_API void cn_source_reason(cn_source_t *src, char *buf, size_t n);

/* The URI without credentials (camnet/redact.h), for messages and names. */
CN_API const char *cn_source_uri(const cn_source_t *src);

#endif
