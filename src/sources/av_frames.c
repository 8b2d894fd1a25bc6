#include "sources/av_frames.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

/* ---- shared codec parameters ----------------------------------------- */

cn_avpar_t *cn_avpar_new(const AVCodecParameters *par) {
  cn_avpar_t *p = calloc(1, sizeof *p);
  if (p)
    p->par = avcodec_parameters_alloc();
  if (!p || !p->par || avcodec_parameters_copy(p->par, par) < 0) {
    if (p)
      avcodec_parameters_free(&p->par);
    free(p);
    return NULL;
  }
  atomic_init(&p->refs, 1);
  return p;
}

cn_avpar_t *cn_avpar_ref(cn_avpar_t *p) {
  if (p)
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  return p;
}

void cn_avpar_unref(cn_avpar_t **pp) {
  cn_avpar_t *p = *pp;
  *pp = NULL;
  if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
    avcodec_parameters_free(&p->par);
    free(p);
  }
}

bool cn_avpar_same(const AVCodecParameters *a, const AVCodecParameters *b) {
  if (a->codec_id != b->codec_id || a->codec_tag != b->codec_tag ||
      a->extradata_size != b->extradata_size ||
      (a->extradata_size &&
       memcmp(a->extradata, b->extradata, (size_t)a->extradata_size)))
    return false;
  /* Raw video carries its layout only in the parameters. */
  return a->codec_id != AV_CODEC_ID_RAWVIDEO ||
         (a->format == b->format && a->width == b->width &&
          a->height == b->height);
}

/* ---- frame payload ---------------------------------------------------- */

int cn_avpriv_init(const char *uri, cn_frame_t *f, cn_err_t *err) {
  cn_avpriv_t *p = calloc(1, sizeof *p);
  if (p) {
    p->frame = av_frame_alloc();
    p->pkt = av_packet_alloc();
  }
  if (!p || !p->frame || !p->pkt) {
    if (p) {
      av_frame_free(&p->frame);
      av_packet_free(&p->pkt);
    }
    free(p);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", uri);
  }
  f->priv = p;
  return 0;
}

void cn_avpriv_reset(cn_frame_t *f) {
  cn_avpriv_t *p = f->priv;
  av_frame_unref(p->frame);
  av_packet_unref(p->pkt);
  cn_avpar_unref(&p->params);
}

void cn_avpriv_free(cn_frame_t *f) {
  cn_avpriv_t *p = f->priv;
  if (!p)
    return;
  cn_avpriv_reset(f);
  av_frame_free(&p->frame);
  av_packet_free(&p->pkt);
  free(p);
  f->priv = NULL;
}

/* ---- packet copies ---------------------------------------------------- */

int cn_avcopy_packet(cn_avcopy_t *cp, AVPacket *pkt, const uint8_t *data,
                     int size) {
  size_t need = (size_t)size + AV_INPUT_BUFFER_PADDING_SIZE;
  if (need > cp->size) {
    av_buffer_pool_uninit(&cp->pool);
    cp->size = need + need / 4; /* picture sizes vary frame to frame */
    cp->pool = av_buffer_pool_init(cp->size, NULL);
  }
  AVBufferRef *b = cp->pool ? av_buffer_pool_get(cp->pool) : NULL;
  if (!b) {
    cp->size = 0;
    return CN_ENOMEM;
  }
  memmove(b->data, data, (size_t)size);
  memset(b->data + size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
  av_buffer_unref(&pkt->buf);
  pkt->buf = b;
  pkt->data = b->data;
  pkt->size = size;
  return 0;
}

void cn_avcopy_fini(cn_avcopy_t *cp) {
  av_buffer_pool_uninit(&cp->pool);
  cp->size = 0;
}

/* ---- decoders --------------------------------------------------------- */

int cn_av_open_decoder(AVCodecContext **out, const AVCodecParameters *par,
                       AVRational pkt_timebase, bool live, int threads,
                       bool chunks, const char *uri, cn_err_t *err) {
  const AVCodec *codec = avcodec_find_decoder(par->codec_id);
  if (!codec)
    return cn_err_set(err, CN_ECODEC, "%s: unsupported codec %s", uri,
                      avcodec_get_name(par->codec_id));
  AVCodecContext *dec = avcodec_alloc_context3(codec);
  if (!dec)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", uri);
  int ret = avcodec_parameters_to_context(dec, par);
  dec->pkt_timebase = pkt_timebase;
  dec->log_level_offset = CN_AV_QUIET_LOG;
  dec->thread_count = threads;
  /* Slice threads only. Frame threading holds thread_count pictures back
   * (wrong for anything paced or live) and would pay only for offline
   * runs, where inference, not decoding, is the bottleneck; its buffer
   * hand-offs also use atomics that ThreadSanitizer cannot see. */
  dec->thread_type = FF_THREAD_SLICE;
  if (live)
    dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
  /* Let H.264 finish a picture when its last macroblock is decoded, not
   * at the end of each packet: some RTSP servers (GStreamer's payloader
   * with sliced encoders) repeat SPS/PPS before every slice, and FFmpeg's
   * RTSP client hands over a sliced picture one slice per packet when its
   * slices were fragmented (FU-A); without this each slice would be shown
   * as a picture with the rest concealed. Whole pictures still come out
   * as soon as their last slice is in. */
  if (chunks)
    dec->flags2 |= AV_CODEC_FLAG2_CHUNKS;
  if (ret >= 0)
    ret = avcodec_open2(dec, codec, NULL);
  if (ret < 0) {
    avcodec_free_context(&dec);
    return cn_err_set(err, CN_ECODEC, "%s: cannot open %s decoder", uri,
                      codec->name);
  }
  *out = dec;
  return 0;
}

bool cn_av_frame_corrupt(const AVFrame *f) {
  return (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags;
}

/* ---- developing ------------------------------------------------------- */

int cn_avdev_init(cn_avdev_t *d, const char *uri, int out_w, int out_h) {
  memset(d, 0, sizeof *d);
  d->uri = uri;
  d->out_w = out_w;
  d->out_h = out_h;
  d->frame = av_frame_alloc();
  return d->frame ? 0 : CN_ENOMEM;
}

void cn_avdev_fini(cn_avdev_t *d) {
  avcodec_free_context(&d->dec);
  cn_avpar_unref(&d->params);
  av_frame_free(&d->frame);
  sws_freeContext(d->sws);
  d->sws = NULL;
}

static int develop_decode(cn_avdev_t *d, cn_avpriv_t *p, cn_err_t *err) {
  if (d->params != p->params) {
    /* Parameters of a new stream (or the first): a matching decoder.
     * Holding params keeps the pointer unique while compared. */
    avcodec_free_context(&d->dec);
    cn_avpar_unref(&d->params);
    int rc = cn_av_open_decoder(&d->dec, p->params->par, (AVRational){0, 1},
                                false, 1, false, d->uri, err);
    if (rc)
      return rc;
    d->params = cn_avpar_ref(p->params);
  }
  int ret = avcodec_send_packet(d->dec, p->pkt);
  if (ret >= 0)
    ret = avcodec_receive_frame(d->dec, d->frame);
  if (ret < 0) {
    /* Nothing may linger to come out with the next picture. */
    avcodec_flush_buffers(d->dec);
    char text[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(ret == AVERROR(EAGAIN) ? AVERROR_INVALIDDATA : ret, text,
                sizeof text);
    return cn_err_set(err, CN_EFORMAT, "%s: %s picture failed to decode: %s",
                      d->uri, d->dec->codec->name, text);
  }
  return 0;
}

/* JPEG-range formats are deprecated in swscale: use the plain format
 * and say the range instead. */
static enum AVPixelFormat plain_format(enum AVPixelFormat fmt, bool *full) {
  switch (fmt) {
  case AV_PIX_FMT_YUVJ420P:
    *full = true;
    return AV_PIX_FMT_YUV420P;
  case AV_PIX_FMT_YUVJ422P:
    *full = true;
    return AV_PIX_FMT_YUV422P;
  case AV_PIX_FMT_YUVJ444P:
    *full = true;
    return AV_PIX_FMT_YUV444P;
  case AV_PIX_FMT_YUVJ440P:
    *full = true;
    return AV_PIX_FMT_YUV440P;
  case AV_PIX_FMT_YUVJ411P:
    *full = true;
    return AV_PIX_FMT_YUV411P;
  default:
    return fmt;
  }
}

static void out_size(const cn_avdev_t *d, int w, int h, int *ow, int *oh) {
  *ow = d->out_w;
  *oh = d->out_h;
  if (*ow <= 0 && *oh <= 0) {
    *ow = w;
    *oh = h;
  } else if (*ow <= 0) {
    *ow = (int)((int64_t)w * *oh / h);
  } else if (*oh <= 0) {
    *oh = (int)((int64_t)h * *ow / w);
  }
}

static int convert(cn_avdev_t *d, const AVFrame *pic, cn_frame_t *f,
                   cn_err_t *err) {
  int w = pic->width, h = pic->height, ow, oh;
  if (w <= 0 || h <= 0 || !pic->data[0])
    return cn_err_set(err, CN_EFORMAT, "%s: empty picture", d->uri);
  out_size(d, w, h, &ow, &oh);
  bool full = pic->color_range == AVCOL_RANGE_JPEG;
  enum AVPixelFormat fmt = plain_format(pic->format, &full);
  int key[5] = {w, h, fmt, ow, oh};
  if (!d->sws || memcmp(key, d->sws_key, sizeof key)) {
    sws_freeContext(d->sws);
    d->sws = sws_getContext(w, h, fmt, ow, oh, AV_PIX_FMT_BGR24, SWS_BILINEAR,
                            NULL, NULL, NULL);
    if (!d->sws)
      return cn_err_set(err, CN_EUNSUPPORTED,
                        "%s: cannot convert %s %dx%d to BGR24 %dx%d", d->uri,
                        av_get_pix_fmt_name(fmt), w, h, ow, oh);
    memcpy(d->sws_key, key, sizeof key);
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) &&
        desc->nb_components >= 3) {
      const int *coef = sws_getCoefficients(pic->colorspace);
      sws_setColorspaceDetails(d->sws, coef, full, coef, 1, 0, 1 << 16,
                               1 << 16);
    }
  }
  int rc = cn_frame_alloc_pixels(f, ow, oh, CN_PIX_BGR24, err);
  if (rc)
    return rc;
  uint8_t *dst[4] = {f->data, NULL, NULL, NULL};
  int dst_stride[4] = {f->stride, 0, 0, 0};
  sws_scale(d->sws, (const uint8_t *const *)pic->data, pic->linesize, 0, h, dst,
            dst_stride);
  return 0;
}

int cn_avdev_develop(cn_avdev_t *d, cn_frame_t *f, cn_err_t *err) {
  cn_avpriv_t *p = f->priv;
  if (!p->params)
    return convert(d, p->frame, f, err);
  int rc = develop_decode(d, p, err);
  if (rc == 0)
    rc = convert(d, d->frame, f, err);
  av_frame_unref(d->frame);
  return rc;
}
