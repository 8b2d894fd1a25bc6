#include "camnet/record.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fewer than the 16 canvases camnet keeps: a recorder that falls behind
 * must leave some for the window. */
#define QUEUE 12
#define TIME_BASE 90000 /* MPEG's clock: exact for 24, 25, 30, 60 fps */

struct cn_recorder {
  char *path;
  double fps;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_cond_t room;      /* the writer took a picture: push_wait may go on */
  cn_frame_t *queue[QUEUE]; /* ring, guarded by lock */
  int head, count;
  bool closing;
  cn_err_t err; /* first failure, guarded by lock */
  uint64_t written, dropped;

  /* Writer thread only (close reads them after joining it). */
  cn_err_t werr; /* the writer's failure, published into err under lock */
  AVFormatContext *fmt;
  AVCodecContext *enc;
  AVStream *st;
  AVFrame *yuv;
  AVPacket *pkt;
  struct SwsContext *sws;
  int64_t last_pts;
  int64_t dur;    /* ticks between the last two pictures: packet duration */
  double t0;      /* seconds of the first picture's clock */
  double last_t;  /* seconds since t0 of the last picture */
  bool pts_clock; /* the first picture had a pts: use pts throughout */
  bool header;    /* header written: the trailer must be too */
};

static int av_fail(cn_recorder_t *r, int averr, const char *what) {
  char buf[128];
  av_strerror(averr, buf, sizeof buf);
  return cn_err_set(&r->werr, CN_EIO, "%s: %s: %s", r->path, what, buf);
}

static const AVCodec *pick_encoder(void) {
  const AVCodec *c = avcodec_find_encoder_by_name("libx264");
  return c ? c : avcodec_find_encoder(AV_CODEC_ID_H264);
}

/* Opens the encoder and the file for pictures of w x h. */
static int start_file(cn_recorder_t *r, int w, int h) {
  const AVCodec *codec = pick_encoder();
  if (!codec)
    return cn_err_set(&r->werr, CN_ECODEC, "%s: no H.264 encoder", r->path);
  int rc = avformat_alloc_output_context2(&r->fmt, NULL, NULL, r->path);
  if (rc < 0)
    return av_fail(r, rc, "unknown container");
  r->enc = avcodec_alloc_context3(codec);
  r->st = avformat_new_stream(r->fmt, NULL);
  r->yuv = av_frame_alloc();
  r->pkt = av_packet_alloc();
  if (!r->enc || !r->st || !r->yuv || !r->pkt)
    return cn_err_set(&r->werr, CN_ENOMEM, "%s: out of memory", r->path);
  AVRational rate = av_d2q(r->fps, 1001000);
  r->enc->width = w & ~1;
  r->enc->height = h & ~1;
  r->enc->pix_fmt = AV_PIX_FMT_YUV420P;
  r->enc->time_base = (AVRational){1, TIME_BASE};
  r->enc->framerate = rate;
  r->enc->gop_size = (int)lrint(r->fps > 0 ? r->fps * 2 : 60);
  /* One encoder thread: the recording is a side stream and must not take
   * cores from inference (x264's default is 1.5 threads per core). */
  r->enc->thread_count = 1;
  if (r->fmt->oformat->flags & AVFMT_GLOBALHEADER)
    r->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary *o = NULL;
  av_dict_set(&o, "preset", "veryfast", 0);
  av_dict_set(&o, "crf", "23", 0);
  rc = avcodec_open2(r->enc, codec, &o);
  av_dict_free(&o);
  if (rc < 0)
    return av_fail(r, rc, "cannot open the H.264 encoder");
  avcodec_parameters_from_context(r->st->codecpar, r->enc);
  r->st->time_base = r->enc->time_base;
  r->st->avg_frame_rate = rate;
  r->st->r_frame_rate = rate;
  if (!(r->fmt->oformat->flags & AVFMT_NOFILE) &&
      (rc = avio_open(&r->fmt->pb, r->path, AVIO_FLAG_WRITE)) < 0)
    return av_fail(r, rc, "cannot create file");
  /* MP4 and MOV as fragments, each key frame starting one: a recording cut
   * short (kill -9, power loss, a full disk) keeps every fragment written
   * before, where a plain MP4 needs the index written at close. */
  AVDictionary *mo = NULL;
  av_dict_set(&mo, "flush_packets", "1", 0); /* on disk, not in a buffer */
  if (!strcmp(r->fmt->oformat->name, "mp4") ||
      !strcmp(r->fmt->oformat->name, "mov"))
    av_dict_set(&mo, "movflags", "+frag_keyframe+empty_moov+default_base_moof",
                0);
  rc = avformat_write_header(r->fmt, &mo);
  av_dict_free(&mo);
  if (rc < 0)
    return av_fail(r, rc, "cannot write header");
  r->header = true;
  r->yuv->format = r->enc->pix_fmt;
  r->yuv->width = r->enc->width;
  r->yuv->height = r->enc->height;
  if ((rc = av_frame_get_buffer(r->yuv, 0)) < 0)
    return av_fail(r, rc, "out of memory");
  r->last_pts = -1;
  r->dur = llrint(TIME_BASE / r->fps);
  return 0;
}

static int drain(cn_recorder_t *r) {
  for (;;) {
    int rc = avcodec_receive_packet(r->enc, r->pkt);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
      return 0;
    if (rc < 0)
      return av_fail(r, rc, "encoding failed");
    /* libx264 leaves durations unset and the muxer would take the
     * nominal rate; when only some source frames are recorded the last
     * picture should last as long as the gaps before it. */
    if (r->pkt->duration <= 0)
      r->pkt->duration = r->dur;
    av_packet_rescale_ts(r->pkt, r->enc->time_base, r->st->time_base);
    r->pkt->stream_index = r->st->index;
    rc = av_interleaved_write_frame(r->fmt, r->pkt);
    if (rc < 0)
      return av_fail(r, rc, "write failed");
  }
}

static int encode(cn_recorder_t *r, const cn_frame_t *f) {
  if (!r->enc && start_file(r, f->width, f->height))
    return r->werr.code;
  bool has_pts = !isnan(f->pts);
  double t = has_pts ? f->pts : (double)f->t_capture / 1e9;
  if (r->last_pts < 0) {
    r->pts_clock = has_pts;
    r->t0 = t;
  }
  /* A picture on the other clock than the first one's cannot be placed
   * on the file's time line: it follows the last one at the nominal
   * rate. */
  double rel = has_pts == r->pts_clock ? t - r->t0 : r->last_t + 1 / r->fps;
  int64_t pts = llrint(rel * TIME_BASE);
  if (pts <= r->last_pts) {
    /* The clock went back (a --loop restart, a reconnect): this picture
     * follows the last at the nominal rate, and the clock is rebased so
     * the pictures after it keep their own spacing. */
    rel = r->last_t + 1 / r->fps;
    if (has_pts == r->pts_clock)
      r->t0 = t - rel;
    pts = llrint(rel * TIME_BASE);
    if (pts <= r->last_pts)
      pts = r->last_pts + 1;
  }
  if (r->last_pts >= 0)
    r->dur = pts - r->last_pts;
  r->last_t = rel;
  r->sws = sws_getCachedContext(
      r->sws, f->width, f->height, AV_PIX_FMT_BGR0, r->enc->width,
      r->enc->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
  int rc = av_frame_make_writable(r->yuv);
  if (!r->sws || rc < 0)
    return cn_err_set(&r->werr, CN_ENOMEM, "%s: out of memory", r->path);
  const uint8_t *src[1] = {f->data};
  int stride[1] = {f->stride};
  sws_scale(r->sws, src, stride, 0, f->height, r->yuv->data, r->yuv->linesize);
  r->yuv->pts = pts;
  r->last_pts = pts;
  if ((rc = avcodec_send_frame(r->enc, r->yuv)) < 0)
    return av_fail(r, rc, "encoding failed");
  return drain(r);
}

static void *writer(void *arg) {
  cn_recorder_t *r = arg;
  bool failed = false;
  for (;;) {
    pthread_mutex_lock(&r->lock);
    while (!r->count && !r->closing)
      pthread_cond_wait(&r->cond, &r->lock);
    if (!r->count) {
      pthread_mutex_unlock(&r->lock);
      break;
    }
    cn_frame_t *f = r->queue[r->head];
    r->head = (r->head + 1) % QUEUE;
    r->count--;
    pthread_cond_signal(&r->room);
    pthread_mutex_unlock(&r->lock);
    if (!failed) {
      failed = encode(r, f) != 0;
      pthread_mutex_lock(&r->lock);
      if (!failed)
        r->written++;
      else
        r->err = r->werr; /* push() reports it from now on */
      pthread_mutex_unlock(&r->lock);
    }
    cn_frame_unref(&f);
  }
  if (!failed && r->enc) {
    avcodec_send_frame(r->enc, NULL);
    failed = drain(r) != 0;
  }
  if (r->header) {
    int rc = av_write_trailer(r->fmt);
    if (rc < 0 && !failed)
      failed = av_fail(r, rc, "cannot finish file") != 0;
  }
  pthread_mutex_lock(&r->lock);
  if (failed && !r->err.code)
    r->err = r->werr;
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

int cn_recorder_open(const char *path, double fps, cn_recorder_t **out,
                     cn_err_t *err) {
  *out = NULL;
  const AVOutputFormat *of = av_guess_format(NULL, path, NULL);
  if (!of)
    return cn_err_set(err, CN_EINVAL,
                      "%s: unknown container (use .mp4, .mkv or .mov)", path);
  /* 0: the container is known not to hold H.264 (.wav, .gif, .png). */
  if (avformat_query_codec(of, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) == 0)
    return cn_err_set(err, CN_EINVAL,
                      "%s: %s files cannot hold H.264 (use .mp4, .mkv or "
                      ".mov)",
                      path, of->name);
  cn_recorder_t *r = calloc(1, sizeof *r);
  if (!r)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", path);
  r->path = strdup(path);
  r->fps = fps > 0 ? fps : 30;
  /* Fail now, not at the first picture, when the file cannot be made. */
  FILE *probe = r->path ? fopen(path, "wb") : NULL;
  if (!probe) {
    int code = r->path ? cn_err_from_errno(errno) : CN_ENOMEM;
    cn_err_set(err, code, "%s: cannot create file: %s", path,
               r->path ? strerror(errno) : "out of memory");
    free(r->path);
    free(r);
    return code;
  }
  fclose(probe);
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->cond, NULL);
  pthread_cond_init(&r->room, NULL);
  if (pthread_create(&r->thread, NULL, writer, r)) {
    pthread_cond_destroy(&r->cond);
    pthread_cond_destroy(&r->room);
    pthread_mutex_destroy(&r->lock);
    free(r->path);
    free(r);
    return cn_err_set(err, CN_ENOMEM, "%s: cannot start writer", path);
  }
  *out = r;
  return 0;
}

/* Under the lock: queue canvas, or say why not. */
static int push_locked(cn_recorder_t *r, cn_frame_t *canvas, cn_err_t *err) {
  if (canvas->format != CN_PIX_BGRA)
    return cn_err_set(err, CN_EINVAL,
                      "%s: recorder takes BGRA canvases (cn_overlay_render)",
                      r->path);
  int rc = 0;
  if (r->err.code) {
    rc = r->err.code;
    if (err)
      *err = r->err;
  } else if (r->count == QUEUE) {
    r->dropped++;
    rc = CN_EAGAIN;
  } else {
    r->queue[(r->head + r->count) % QUEUE] = cn_frame_ref(canvas);
    r->count++;
    pthread_cond_signal(&r->cond);
  }
  return rc;
}

int cn_recorder_push(cn_recorder_t *r, cn_frame_t *canvas, cn_err_t *err) {
  pthread_mutex_lock(&r->lock);
  int rc = push_locked(r, canvas, err);
  pthread_mutex_unlock(&r->lock);
  return rc;
}

int cn_recorder_push_wait(cn_recorder_t *r, cn_frame_t *canvas, cn_err_t *err) {
  pthread_mutex_lock(&r->lock);
  /* A failed writer still takes (and discards) pictures: no deadlock. */
  while (!r->err.code && r->count >= CN_RECORDER_BACKLOG)
    pthread_cond_wait(&r->room, &r->lock);
  int rc = push_locked(r, canvas, err);
  pthread_mutex_unlock(&r->lock);
  return rc;
}

int cn_recorder_close(cn_recorder_t *r, uint64_t *written, uint64_t *dropped,
                      cn_err_t *err) {
  if (!r)
    return 0;
  pthread_mutex_lock(&r->lock);
  r->closing = true;
  pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->lock);
  pthread_join(r->thread, NULL);
  int rc = r->err.code;
  if (rc && err)
    *err = r->err;
  if (written)
    *written = r->written;
  if (dropped)
    *dropped = r->dropped;
  if (r->fmt && r->fmt->pb && !(r->fmt->oformat->flags & AVFMT_NOFILE))
    avio_closep(&r->fmt->pb);
  avformat_free_context(r->fmt);
  avcodec_free_context(&r->enc);
  av_frame_free(&r->yuv);
  av_packet_free(&r->pkt);
  sws_freeContext(r->sws);
  pthread_cond_destroy(&r->cond);
  pthread_cond_destroy(&r->room);
  pthread_mutex_destroy(&r->lock);
  free(r->path);
  free(r);
  return rc;
}
