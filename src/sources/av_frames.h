/* libavcodec pictures in pooled frames: what the FFmpeg source and the
 * GStreamer RTSP source share, so both decode, convert and fail the same
 * way. Not a public header.
 *
 * - cn_avpar_t: codec parameters shared by reference count between the
 *   capture side and the frames it made (an intra-only frame carries the
 *   parameters it was captured with, so it still develops after a
 *   reconnect changed them).
 * - cn_avpriv_t: the payload of one pooled frame (allocated once by
 *   cn_avpriv_init): a decoded picture (inter-coded streams, decoded in
 *   read) or a compressed packet plus its parameters (intra-only streams,
 *   decoded in develop).
 * - cn_avdev_t: the develop state (decoder for packets, converter to
 *   BGR24), used by one thread at a time (the pool's develop lock).
 * - cn_avcopy_t: packet memory of our own, from a buffer pool (reused, so
 *   nothing is allocated per frame once the size has settled).
 * - cn_av_open_decoder: the live decoder both paths use.
 */
#ifndef CN_AV_FRAMES_H
#define CN_AV_FRAMES_H

#include <stdatomic.h>
#include <stdbool.h>

#include <libavcodec/avcodec.h>

#include "camnet/error.h"
#include "camnet/frame.h"

/* Decoder messages (corrupt packets on a flaky network; mjpeg calls a
 * bad picture "fatal") move to debug level and below: camnet reports
 * them as counters and errors. */
#define CN_AV_QUIET_LOG (AV_LOG_DEBUG - AV_LOG_FATAL)

typedef struct cn_avpar {
  atomic_int refs;
  AVCodecParameters *par;
} cn_avpar_t;

/* A copy of par with one reference, or NULL (out of memory). */
cn_avpar_t *cn_avpar_new(const AVCodecParameters *par);
cn_avpar_t *cn_avpar_ref(cn_avpar_t *p); /* NULL ok */
void cn_avpar_unref(cn_avpar_t **pp);    /* sets *pp NULL */
/* True when a decoder made for a would also decode b. */
bool cn_avpar_same(const AVCodecParameters *a, const AVCodecParameters *b);

typedef struct cn_avpriv {
  AVFrame *frame;     /* inter-coded: the decoded picture */
  AVPacket *pkt;      /* intra-only: the compressed picture */
  cn_avpar_t *params; /* intra-only: how to decode pkt */
} cn_avpriv_t;

/* Pool payload callbacks (uri names the source in the message). */
int cn_avpriv_init(const char *uri, cn_frame_t *f, cn_err_t *err);
void cn_avpriv_reset(cn_frame_t *f);
void cn_avpriv_free(cn_frame_t *f);

typedef struct cn_avdev {
  const char *uri;  /* for messages; owned by the backend */
  int out_w, out_h; /* requested output size, 0: native */
  AVCodecContext *dec;
  cn_avpar_t *params; /* what dec was opened with */
  AVFrame *frame;
  struct SwsContext *sws;
  int sws_key[5]; /* w, h, format, out w, out h of the current sws */
} cn_avdev_t;

int cn_avdev_init(cn_avdev_t *d, const char *uri, int out_w, int out_h);
void cn_avdev_fini(cn_avdev_t *d); /* idempotent */
/* BGR24 pixels for f: converts its picture, or decodes its packet first. */
int cn_avdev_develop(cn_avdev_t *d, cn_frame_t *f, cn_err_t *err);

typedef struct cn_avcopy {
  AVBufferPool *pool;
  size_t size;
} cn_avcopy_t;

/* Points pkt (which must hold no data) at a padded copy of data. */
int cn_avcopy_packet(cn_avcopy_t *cp, AVPacket *pkt, const uint8_t *data,
                     int size);
/* Deferred by FFmpeg until the packets still holding copies are back. */
void cn_avcopy_fini(cn_avcopy_t *cp);

/* Opens *out for a live stream (low delay: a picture comes out as soon as
 * its packet is in) or a file. threads: 1 for one picture in, one out; 0
 * for slice threads on all cores. chunks: packets may end mid-picture
 * (FFmpeg's RTSP client); false when every packet is a whole access
 * unit, so a picture with slices lost is concealed and flagged at once.
 * Returns 0 or CN_ECODEC/CN_ENOMEM. */
int cn_av_open_decoder(AVCodecContext **out, const AVCodecParameters *par,
                       AVRational pkt_timebase, bool live, int threads,
                       bool chunks, const char *uri, cn_err_t *err);

/* True for a picture the decoder says is damaged (lost slices concealed,
 * missing references): counted, never inferred. */
bool cn_av_frame_corrupt(const AVFrame *f);

#endif
