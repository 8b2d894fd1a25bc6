/* FFmpeg sources: V4L2 devices (libavdevice), network streams, video
 * files, single images, image sequences (img_%04d.png) and directories.
 *
 * Two paths, picked per stream when it is opened:
 * - Inter-coded video (H.264, H.265...): every packet must be decoded to
 *   keep the reference chain, so read() decodes into the pooled frame's
 *   own AVFrame and develop() only converts it to BGR24.
 * - Intra-only codecs (MJPEG, raw YUYV...) and all image files (PNG,
 *   JPEG...: one packet is one file): read() keeps just the compressed
 *   packet; develop() decodes it with a decoder of its own and
 *   converts. A frame dropped unseen costs no decoding at all.
 *
 * Threads: the capture fields are used only by whoever calls open, read,
 * rewind and close (the controlling thread for the first open, then the
 * capture thread); the develop fields only by develop(), which the pool
 * serialises. The two sides share nothing mutable: an intra-only frame
 * carries a reference to the codec parameters it was captured with, so
 * frames from before a reconnect still develop correctly afterwards.
 *
 * Nothing here allocates per frame: packets and pictures live in the
 * pooled frames, parameters are shared by reference count, the converter
 * is rebuilt only when the picture geometry changes. FFmpeg's own buffers
 * are FFmpeg's business.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavdevice/version.h>
#include <libavformat/avformat.h>

#include "camnet/clock.h"
#include "sources/av_frames.h"
#include "sources/source_internal.h"

/* Probing of live streams: enough for an SPS or a JPEG header, no more. */
#define LIVE_PROBESIZE "500000"
#define LIVE_ANALYZE_US "500000"
/* Device stamps further than this from now are not CLOCK_MONOTONIC. */
#define STAMP_WINDOW_NS (10 * CN_NS_PER_S)
/* Longest blocking wait between two looks at the stop flag. */
#define STOP_CHECK_MS 100
#define MAX_DEVICE_FDS 16

typedef enum ff_kind {
  FF_DEVICE,   /* /dev/videoN through libavdevice */
  FF_NETWORK,  /* rtsp://, http://, ... */
  FF_FILE,     /* a video file */
  FF_IMAGE,    /* one still image */
  FF_SEQUENCE, /* img_%04d.png */
  FF_DIR,      /* a directory of images, in name order */
} ff_kind_t;

typedef struct ff_src {
  cn_source_env_t *env; /* capture side only: may be gone during develop */
  char *uri;            /* own copy, for messages from either side */
  double image_fps;     /* images, sequences, directories */

  /* Capture side. */
  ff_kind_t kind;
  bool live;
  AVFormatContext *fmt;
  AVCodecContext *dec; /* inter-coded streams only */
  AVPacket *pkt;       /* scratch packet */
  AVFrame *scratch;    /* device drain: a newer decoded picture */
  cn_avpar_t *params;  /* intra-only: parameters of the open stream */
  int stream;
  AVRational tb;
  bool draining;            /* decoder flushed at end of input */
  int64_t arrival;          /* ns: the last packet sent to the decoder */
  int64_t pts0;             /* network: first picture's pts, per open */
  int64_t last_ts;          /* network: the previous picture's pts... */
  int64_t last_arrival;     /* ...and when it arrived (ns) */
  _Atomic int64_t deadline; /* ns, 0: none; read by the interrupt callback */
  /* The interrupt callback ended a call at the deadline. Sticky until the
   * next open: after an interrupted read, av_read_frame may still return
   * what its parser held back, and the stream must not look alive. */
  atomic_bool stalled;
  int dev_fd;       /* device: the demuxer's fd to poll; -1 blocking */
  cn_avcopy_t copy; /* device: packets copied out of driver memory */
  char **files;     /* FF_DIR: image names, sorted */
  int nfiles, next_file, file_index;
  char path[4096];

  /* Develop side. */
  cn_avdev_t dev;
} ff_src_t;

static bool has_suffix(const char *s, const char *const *exts) {
  const char *dot = strrchr(s, '.');
  if (!dot || strchr(dot, '/'))
    return false;
  for (; *exts; exts++)
    if (strcasecmp(dot + 1, *exts) == 0)
      return true;
  return false;
}

static const char *const image_exts[] = {"jpg",  "jpeg", "png", "bmp",
                                         "ppm",  "pgm",  "pnm", "tif",
                                         "tiff", "webp", "tga", NULL};

/* "%d", "%04d": the image2 demuxer's sequence patterns. */
static bool is_sequence_pattern(const char *s) {
  for (const char *p = strchr(s, '%'); p; p = strchr(p + 1, '%')) {
    const char *q = p + 1;
    while (*q >= '0' && *q <= '9')
      q++;
    if (*q == 'd')
      return true;
  }
  return false;
}

/* Whether the image2 demuxer will find a first image (it tries numbers
 * 0..4 by default): asked here, it fails quietly, without FFmpeg's log. */
static bool sequence_exists(const char *pattern) {
  char name[4096];
  struct stat st;
  for (int i = 0; i < 5; i++)
    if (av_get_frame_filename2(name, sizeof name, pattern, i, 0) == 0 &&
        stat(name, &st) == 0)
      return true;
  return false;
}

/* ---- errors ---------------------------------------------------------- */

static bool deadline_passed(ff_src_t *c) {
  int64_t d = atomic_load(&c->deadline);
  return c->live && d && cn_clock_now() >= d;
}

/* One line naming uri and what went wrong with FFmpeg error code e. */
static int av_error(ff_src_t *c, const char *uri, int e, cn_err_t *err) {
  if (atomic_load(c->env->stop))
    return cn_err_set(err, CN_ECLOSED, "%s: stopped", uri);
  if (deadline_passed(c) || e == AVERROR_EXIT || e == AVERROR(ETIMEDOUT))
    return cn_err_set(err, CN_ETIMEDOUT, "%s: timed out (no data for %d ms)",
                      uri, c->env->opts->timeout_ms);
  if (e == AVERROR(ENOENT) || e == AVERROR(ENODEV) || e == AVERROR(ENXIO))
    return c->kind == FF_DEVICE
               ? cn_err_set(err, CN_ENODEV, "%s: no such device", uri)
               : cn_err_set(err, CN_ENOENT, "%s: no such file", uri);
  if (c->kind == FF_DEVICE && (e == AVERROR(ENOTTY) || e == AVERROR(EINVAL)))
    return cn_err_set(err, CN_ENODEV, "%s: not a V4L2 capture device", uri);
  if (e == AVERROR(ECONNREFUSED))
    return cn_err_set(err, CN_ECONNREFUSED, "%s: connection refused", uri);
  /* FFmpeg's RTSP client turns a 401 into EPERM and a 403 into EACCES. */
  if (e == AVERROR_HTTP_UNAUTHORIZED ||
      (e == AVERROR(EPERM) && !strncmp(uri, "rtsp", 4)))
    return cn_err_set(err, CN_EPERM,
                      "%s: permission denied (%s 401: wrong or missing "
                      "credentials)",
                      uri, strncmp(uri, "rtsp", 4) ? "HTTP" : "RTSP");
  if (e == AVERROR(EACCES) || e == AVERROR(EPERM) ||
      e == AVERROR_HTTP_FORBIDDEN)
    return cn_err_set(err, CN_EPERM, "%s: permission denied", uri);
  if (e == AVERROR_HTTP_NOT_FOUND)
    return cn_err_set(err, CN_ENOENT, "%s: not found (HTTP 404)", uri);
  if (e == AVERROR_INVALIDDATA || e == AVERROR_EOF)
    return cn_err_set(err, CN_EFORMAT,
                      "%s: not a video (unrecognised or invalid data)", uri);
  if (e == AVERROR_PROTOCOL_NOT_FOUND)
    return cn_err_set(err, CN_EUNSUPPORTED, "%s: unsupported protocol", uri);
  char text[AV_ERROR_MAX_STRING_SIZE];
  av_strerror(e, text, sizeof text);
  int code =
      e < 0 && AVUNERROR(e) < 4096 ? cn_err_from_errno(AVUNERROR(e)) : CN_EIO;
  return cn_err_set(err, code, "%s: %s", uri, text);
}

/* ---- opening --------------------------------------------------------- */

/* FFmpeg's blocking calls poll this: stop and the per-read deadline end
 * them within ~100 ms (the network layers wait in 100 ms slices). */
static int interrupt_cb(void *opaque) {
  ff_src_t *c = opaque;
  if (atomic_load(c->env->stop))
    return 1;
  int64_t d = atomic_load(&c->deadline);
  if (!d || cn_clock_now() < d)
    return 0;
  atomic_store(&c->stalled, true);
  return 1;
}

static void arm_deadline(ff_src_t *c) {
  if (c->live)
    atomic_store(&c->deadline,
                 cn_clock_now() + c->env->opts->timeout_ms * CN_NS_PER_MS);
}

/* The fds of this process open on the character device rdev. */
static int device_fds(dev_t rdev, int *fds, int max) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    struct stat st;
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) < 0)
      continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == rdev)
      fds[n++] = fd;
  }
  closedir(d);
  return n;
}

static void set_rate_option(AVDictionary **o, const char *key, double fps) {
  AVRational r = av_d2q(fps, 1001000);
  char buf[32];
  snprintf(buf, sizeof buf, "%d/%d", r.num, r.den);
  av_dict_set(o, key, buf, 0);
}

/* Demuxer, options and flags for one input of this source. */
static const AVInputFormat *input_setup(ff_src_t *c, AVDictionary **o) {
  const cn_source_opts_t *opts = c->env->opts;
  char buf[64];
  switch (c->kind) {
  case FF_DEVICE:
    if (opts->width > 0 && opts->height > 0) {
      snprintf(buf, sizeof buf, "%dx%d", opts->width, opts->height);
      av_dict_set(o, "video_size", buf, 0);
    }
    if (opts->fps > 0)
      set_rate_option(o, "framerate", opts->fps);
    if (opts->input_format && *opts->input_format)
      av_dict_set(o, "input_format", opts->input_format, 0);
    /* The kernel's own stamps: CLOCK_MONOTONIC on current drivers. */
    av_dict_set(o, "timestamps", "default", 0);
    return av_find_input_format("video4linux2");
  case FF_NETWORK:
    /* No +nobuffer: the packets read while probing are handed out
     * afterwards. Dropping them threw away the first key frame of every
     * (re)connect, and the first picture waited a whole GOP. */
    av_dict_set(o, "probesize", LIVE_PROBESIZE, 0);
    av_dict_set(o, "analyzeduration", LIVE_ANALYZE_US, 0);
    /* Probing ends once the codec's parameters are known, not after
     * analyzeduration spent estimating a frame rate from timestamps: the
     * packets it read come out in a burst after it, and a burst of half a
     * second would leave only its newest picture in the slot. */
    av_dict_set(o, "fpsprobesize", "0", 0);
    snprintf(buf, sizeof buf, "%lld", (long long)opts->timeout_ms * 1000);
    if (strncmp(c->uri, "rtsp", 4) == 0) {
      av_dict_set(o, "rtsp_transport",
                  opts->transport && strcmp(opts->transport, "udp") == 0
                      ? "udp"
                      : "tcp",
                  0);
      av_dict_set(o, "timeout", buf, 0);
      av_dict_set_int(o, "max_delay", (int64_t)opts->latency_ms * 1000, 0);
      if (opts->latency_ms == 0)
        av_dict_set(o, "reorder_queue_size", "0", 0);
    } else {
      av_dict_set(o, "rw_timeout", buf, 0);
    }
    return NULL;
  case FF_SEQUENCE:
    set_rate_option(o, "framerate", c->image_fps);
    av_dict_set(o, "pattern_type", "sequence", 0);
    return av_find_input_format("image2");
  case FF_IMAGE:
  case FF_DIR:
    /* One file per input: a '%' in its name is just a character. */
    set_rate_option(o, "framerate", c->image_fps);
    av_dict_set(o, "pattern_type", "none", 0);
    return av_find_input_format("image2");
  case FF_FILE:
    break;
  }
  return NULL;
}

static int open_decoder(ff_src_t *c, cn_err_t *err) {
  AVStream *st = c->fmt->streams[c->stream];
  int rc = cn_av_open_decoder(&c->dec, st->codecpar, st->time_base, c->live, 0,
                              true, c->uri, err);
  c->draining = false;
  return rc;
}

/* Keeps the current parameters when they still fit (a directory of
 * same-type images), so the develop decoder is not rebuilt per image. */
static int update_params(ff_src_t *c, const AVCodecParameters *par,
                         cn_err_t *err) {
  if (c->params && cn_avpar_same(c->params->par, par))
    return 0;
  cn_avpar_t *p = cn_avpar_new(par);
  if (!p)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", c->uri);
  cn_avpar_unref(&c->params);
  c->params = p;
  return 0;
}

/* Device mode: find the demuxer's fd (opened non-blocking) so reads can
 * wait in poll() for the next buffer with an eye on the stop flag,
 * rather than in VIDIOC_DQBUF, which no interrupt callback reaches. */
static void find_device_fd(ff_src_t *c, const int *before, int nbefore,
                           dev_t rdev) {
  int now[MAX_DEVICE_FDS];
  int n = device_fds(rdev, now, MAX_DEVICE_FDS), found = -1, count = 0;
  for (int i = 0; i < n; i++) {
    bool old = false;
    for (int j = 0; j < nbefore; j++)
      old = old || before[j] == now[i];
    if (!old) {
      found = now[i];
      count++;
    }
  }
  c->dev_fd = count == 1 ? found : -1;
}

/* Probing decodes a few pictures with FFmpeg's own decoders: give them
 * the same quiet log and slice handling as ours. */
static int find_stream_info(ff_src_t *c) {
  unsigned n = c->fmt->nb_streams;
  AVDictionary **o = n ? calloc(n, sizeof *o) : NULL;
  for (unsigned i = 0; o && i < n; i++) {
    av_dict_set_int(&o[i], "log_level_offset", CN_AV_QUIET_LOG, 0);
    av_dict_set(&o[i], "flags2", "+chunks", 0);
  }
  arm_deadline(c);
  int ret = avformat_find_stream_info(c->fmt, o);
  for (unsigned i = 0; o && i < n; i++)
    av_dict_free(&o[i]);
  free(o);
  return ret;
}

/* Opens one input (the URI, or one image of a directory). probe: run
 * avformat_find_stream_info to learn the size (skipped for the later
 * images of a directory, whose decoder needs no hint). */
static int open_input(ff_src_t *c, const char *url, bool probe, cn_err_t *err) {
  AVDictionary *o = NULL;
  int before[MAX_DEVICE_FDS], nbefore = 0;
  struct stat dev_st = {0};
  if (c->kind == FF_DEVICE) {
    if (stat(url, &dev_st) < 0)
      return av_error(c, url, AVERROR(errno), err);
    if (!S_ISCHR(dev_st.st_mode))
      return cn_err_set(err, CN_ENODEV,
                        "%s: no such device (not a "
                        "character device)",
                        url);
    nbefore = device_fds(dev_st.st_rdev, before, MAX_DEVICE_FDS);
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    const AVInputFormat *ifmt = input_setup(c, &o);
    if (c->kind == FF_DEVICE && !ifmt) {
      av_dict_free(&o);
      return cn_err_set(err, CN_EUNSUPPORTED,
                        "%s: FFmpeg has no video4linux2 input", url);
    }
    c->fmt = avformat_alloc_context();
    if (!c->fmt) {
      av_dict_free(&o);
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", url);
    }
    atomic_store(&c->stalled, false);
    c->fmt->interrupt_callback.callback = interrupt_cb;
    c->fmt->interrupt_callback.opaque = c;
    if (c->kind == FF_DEVICE && attempt == 0)
      c->fmt->flags |= AVFMT_FLAG_NONBLOCK;
    arm_deadline(c);
    int ret = avformat_open_input(&c->fmt, url, ifmt, &o);
    av_dict_free(&o);
    if (ret < 0)
      return av_error(c, url, ret, err);
    if (c->kind != FF_DEVICE)
      break;
    c->dev_fd = -1;
    if (attempt == 0)
      find_device_fd(c, before, nbefore, dev_st.st_rdev);
    if (c->dev_fd >= 0 || attempt == 1)
      break;
    /* No fd to poll: fall back to blocking reads, which answer a stop
     * only when the next frame arrives. */
    cn_log(c->env->opts->log, CN_LOG_WARN, c->env->prefix,
           "%s: cannot find the device's descriptor; blocking reads", url);
    avformat_close_input(&c->fmt);
  }
  if (probe && c->kind != FF_DEVICE) {
    int ret = find_stream_info(c);
    if (ret < 0)
      return av_error(c, url, ret, err);
  }
  c->stream = av_find_best_stream(c->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (c->stream < 0 ||
      (c->fmt->streams[c->stream]->disposition & AV_DISPOSITION_ATTACHED_PIC))
    return cn_err_set(err, CN_EFORMAT, "%s: not a video (no video stream)",
                      url);
  for (unsigned i = 0; i < c->fmt->nb_streams; i++)
    if ((int)i != c->stream)
      c->fmt->streams[i]->discard = AVDISCARD_ALL;
  AVStream *st = c->fmt->streams[c->stream];
  c->tb = st->time_base;
  const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec)
    return cn_err_set(err, CN_ECODEC, "%s: unsupported codec %s", url,
                      avcodec_get_name(st->codecpar->codec_id));
  const AVCodecDescriptor *desc = avcodec_descriptor_get(codec->id);
  avcodec_free_context(&c->dec);
  /* A packet of an image file is the whole file, so it decodes on its
   * own whatever the codec's flags say (PNG lacks INTRA_ONLY). */
  bool images =
      c->kind == FF_IMAGE || c->kind == FF_SEQUENCE || c->kind == FF_DIR;
  if (images || (desc && (desc->props & AV_CODEC_PROP_INTRA_ONLY)))
    return update_params(c, st->codecpar, err);
  cn_avpar_unref(&c->params);
  return open_decoder(c, err);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_files(ff_src_t *c) {
  for (int i = 0; i < c->nfiles; i++)
    free(c->files[i]);
  free(c->files);
  c->files = NULL;
  c->nfiles = c->next_file = 0;
}

static int scan_dir(ff_src_t *c, cn_err_t *err) {
  free_files(c);
  DIR *d = opendir(c->uri);
  if (!d)
    return av_error(c, c->uri, AVERROR(errno), err);
  int cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !has_suffix(e->d_name, image_exts))
      continue;
    if (c->nfiles == cap) {
      cap = cap ? cap * 2 : 64;
      char **grown = realloc(c->files, (size_t)cap * sizeof *grown);
      if (!grown)
        break;
      c->files = grown;
    }
    if (!(c->files[c->nfiles] = strdup(e->d_name)))
      break;
    c->nfiles++;
  }
  bool complete = e == NULL;
  closedir(d);
  if (!complete) {
    free_files(c);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", c->uri);
  }
  if (c->nfiles == 0)
    return cn_err_set(err, CN_ENOENT, "%s: no images in directory", c->uri);
  qsort(c->files, (size_t)c->nfiles, sizeof *c->files, cmp_names);
  return 0;
}

/* Directory mode: opens the next image that opens. Unreadable images are
 * skipped and counted as decode errors; err keeps the first failure. */
static int dir_next(ff_src_t *c, bool probe, cn_err_t *err) {
  avformat_close_input(&c->fmt);
  cn_err_t first = {0};
  while (c->next_file < c->nfiles) {
    int i = c->next_file++;
    snprintf(c->path, sizeof c->path, "%s/%s", c->uri, c->files[i]);
    cn_err_t e = {0};
    int rc = open_input(c, c->path, probe, &e);
    if (rc == 0) {
      c->file_index = i;
      return 0;
    }
    avformat_close_input(&c->fmt);
    if (rc == CN_ECLOSED || rc == CN_ENOMEM) {
      if (err)
        *err = e;
      return rc;
    }
    atomic_fetch_add(&c->env->decode_errors, 1);
    if (!first.code)
      first = e;
  }
  if (first.code && probe) {
    if (err)
      *err = first;
    return first.code;
  }
  return cn_err_set(err, CN_EOF, "%s: end of stream", c->uri);
}

static void ff_close(void *ctx) {
  ff_src_t *c = ctx;
  avcodec_free_context(&c->dec);
  avformat_close_input(&c->fmt);
  cn_avpar_unref(&c->params);
  cn_avcopy_fini(&c->copy);
  c->dev_fd = -1;
  c->draining = false;
  c->pts0 = AV_NOPTS_VALUE;
  if (c->pkt)
    av_packet_unref(c->pkt);
  if (c->scratch)
    av_frame_unref(c->scratch);
  free_files(c);
}

static int ff_open(void *ctx, cn_source_info_t *info, cn_err_t *err) {
  ff_src_t *c = ctx;
  ff_close(c);
  struct stat st;
  if (c->kind != FF_DEVICE && c->kind != FF_NETWORK) {
    /* Decided per open: a pattern may become a file, a path a directory. */
    if (stat(c->uri, &st) == 0 && S_ISDIR(st.st_mode))
      c->kind = FF_DIR;
    else if (stat(c->uri, &st) != 0 && is_sequence_pattern(c->uri))
      c->kind = FF_SEQUENCE;
    else if (has_suffix(c->uri, image_exts))
      c->kind = FF_IMAGE;
    else
      c->kind = FF_FILE;
    if (c->kind == FF_SEQUENCE && !sequence_exists(c->uri))
      return av_error(c, c->uri, AVERROR(ENOENT), err);
    if (c->kind != FF_SEQUENCE && strncmp(c->uri, "file:", 5) != 0 &&
        stat(c->uri, &st) != 0)
      return av_error(c, c->uri, AVERROR(errno), err);
  }
  int rc;
  if (c->kind == FF_DIR) {
    rc = scan_dir(c, err);
    if (rc == 0)
      rc = dir_next(c, true, err);
  } else {
    rc = open_input(c, c->uri, true, err);
  }
  if (rc) {
    ff_close(c);
    return rc;
  }
  AVStream *s = c->fmt->streams[c->stream];
  memset(info, 0, sizeof *info);
  info->live = c->live;
  info->width = s->codecpar->width;
  info->height = s->codecpar->height;
  AVRational r = s->avg_frame_rate.num && s->avg_frame_rate.den
                     ? s->avg_frame_rate
                     : s->r_frame_rate;
  if (c->kind == FF_SEQUENCE || c->kind == FF_IMAGE || c->kind == FF_DIR)
    info->fps = c->image_fps;
  else if (r.num > 0 && r.den > 0)
    info->fps = av_q2d(r);
  const AVCodec *codec = avcodec_find_decoder(s->codecpar->codec_id);
  snprintf(info->codec, sizeof info->codec, "%s",
           codec ? codec->name : avcodec_get_name(s->codecpar->codec_id));
  /* Where the container says the file ends, so a file cut short (the
   * index of a faststart MP4 outlives the data) is told, not silent. */
  if (c->kind == FF_FILE && !c->live && s->duration != AV_NOPTS_VALUE &&
      s->duration > 0)
    info->end_pts =
        (double)((s->start_time != AV_NOPTS_VALUE ? s->start_time : 0) +
                 s->duration) *
        av_q2d(s->time_base);
  return 0;
}

static int ff_rewind(void *ctx, cn_err_t *err) {
  ff_src_t *c = ctx;
  if (c->kind == FF_DIR) {
    c->next_file = 0;
    return dir_next(c, false, err);
  }
  AVStream *st = c->fmt ? c->fmt->streams[c->stream] : NULL;
  int64_t start = st && st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  if (st &&
      av_seek_frame(c->fmt, c->stream, start, AVSEEK_FLAG_BACKWARD) >= 0) {
    if (c->dec)
      avcodec_flush_buffers(c->dec); /* also ends draining */
    c->draining = false;
    return 0;
  }
  /* Not seekable: start over. */
  cn_source_info_t info;
  return ff_open(c, &info, err);
}

/* ---- reading --------------------------------------------------------- */

/* Waits (no polling sleep) until the device has a buffer, the stop flag
 * is set or the deadline passes. */
static int wait_device(ff_src_t *c, cn_err_t *err) {
  for (;;) {
    if (atomic_load(c->env->stop))
      return cn_err_set(err, CN_ECLOSED, "%s: stopped", c->uri);
    int64_t left = atomic_load(&c->deadline) - cn_clock_now();
    if (left <= 0)
      return cn_err_set(err, CN_ETIMEDOUT, "%s: no data for %d ms", c->uri,
                        c->env->opts->timeout_ms);
    int ms = left > STOP_CHECK_MS * CN_NS_PER_MS
                 ? STOP_CHECK_MS
                 : (int)((left + CN_NS_PER_MS - 1) / CN_NS_PER_MS);
    struct pollfd p = {.fd = c->dev_fd, .events = POLLIN};
    int r = poll(&p, 1, ms);
    if (r > 0)
      return 0; /* readable or failed: the next read says which */
    if (r < 0 && errno != EINTR)
      return av_error(c, c->uri, AVERROR(errno), err);
  }
}

/* The next packet of the video stream. block=false (device drain) returns
 * CN_EAGAIN at once when the driver has nothing newer. */
static int next_packet(ff_src_t *c, AVPacket *pkt, bool block, cn_err_t *err) {
  bool armed = false;
  for (;;) {
    if (atomic_load(c->env->stop))
      return cn_err_set(err, CN_ECLOSED, "%s: stopped", c->uri);
    if (!c->fmt)
      return cn_err_set(err, CN_EOF, "%s: end of stream", c->uri);
    if (!armed || c->kind != FF_DEVICE)
      arm_deadline(c);
    armed = true;
    int ret = av_read_frame(c->fmt, pkt);
    if (atomic_load(&c->stalled)) {
      if (ret >= 0)
        av_packet_unref(pkt);
      return cn_err_set(err, CN_ETIMEDOUT, "%s: no data for %d ms", c->uri,
                        c->env->opts->timeout_ms);
    }
    if (ret >= 0) {
      if (pkt->stream_index == c->stream)
        return 0;
      av_packet_unref(pkt);
      continue;
    }
    if (ret == AVERROR(EAGAIN)) {
      if (!block)
        return CN_EAGAIN;
      if (c->dev_fd >= 0) {
        int rc = wait_device(c, err);
        if (rc)
          return rc;
        continue;
      }
      /* Other demuxers say "not yet" only between internal steps and give
       * nothing to wait on; retry shortly, as the ffmpeg CLI does, within
       * the deadline. */
      if (deadline_passed(c))
        return av_error(c, c->uri, AVERROR(ETIMEDOUT), err);
      if (!cn__source_wait_until(c->env, cn_clock_now() + 10 * CN_NS_PER_MS))
        return cn_err_set(err, CN_ECLOSED, "%s: stopped", c->uri);
      continue;
    }
    if (ret == AVERROR_EOF && c->kind == FF_DIR) {
      int rc = dir_next(c, false, err);
      if (rc)
        return rc;
      continue;
    }
    if (ret == AVERROR_EOF && !atomic_load(c->env->stop) && !deadline_passed(c))
      return cn_err_set(err, CN_EOF, "%s: end of stream", c->uri);
    if (atomic_load(c->env->stop))
      return cn_err_set(err, CN_ECLOSED, "%s: stopped", c->uri);
    if (deadline_passed(c) || ret == AVERROR_EXIT)
      return cn_err_set(err, CN_ETIMEDOUT, "%s: no data for %d ms", c->uri,
                        c->env->opts->timeout_ms);
    /* A network stream that closes mid-part (an HTTP MJPEG server going
     * away) reaches the demuxer as a truncated part: that is its end. */
    if (ret == AVERROR_INVALIDDATA && c->kind == FF_NETWORK && c->fmt->pb &&
        avio_feof(c->fmt->pb))
      return cn_err_set(err, CN_EOF, "%s: end of stream", c->uri);
    /* Mid-stream, bad data is a broken stream, not "not a video". */
    if (ret == AVERROR_INVALIDDATA)
      return cn_err_set(err, CN_EFORMAT, "%s: invalid data in stream", c->uri);
    return av_error(c, c->uri, ret, err);
  }
}

/* Driver stamps are CLOCK_MONOTONIC like ours; anything else (or any
 * other kind of source) is stamped on arrival. */
static int64_t capture_stamp(ff_src_t *c, int64_t ts, int64_t arrival) {
  if (c->kind != FF_DEVICE || ts == AV_NOPTS_VALUE)
    return arrival;
  int64_t ns = av_rescale_q(ts, c->tb, (AVRational){1, 1000000000});
  return ns <= arrival && ns > arrival - STAMP_WINDOW_NS ? ns : arrival;
}

/* A network stream's timeline may jump: FFmpeg's RTP client moves to the
 * RTCP-synchronised one once a sender report arrives, after the pictures
 * it kept from probing; cameras reset their RTP clock. A step backwards or
 * more than 10 s beyond the wall time between two pictures is taken as
 * such a jump: the timeline goes on from the wall time instead. */
static void follow_jumps(ff_src_t *c, int64_t ts, int64_t arrival) {
  double tb = av_q2d(c->tb);
  double step = (double)(ts - c->last_ts) * tb;
  double wall = (double)(arrival - c->last_arrival) / CN_NS_PER_S;
  if (step >= -1.0 && step <= wall + 10.0)
    return;
  int64_t last_rel = c->last_ts - c->pts0;
  c->pts0 = ts - last_rel - (int64_t)(wall > 0 ? wall / tb : 0);
}

static double pts_seconds(ff_src_t *c, int64_t ts, int64_t arrival) {
  if (c->kind == FF_DIR)
    return c->file_index / c->image_fps;
  if (c->kind != FF_NETWORK)
    return ts == AV_NOPTS_VALUE ? NAN : (double)ts * av_q2d(c->tb);
  /* FFmpeg's RTP client leaves a session's first packet unstamped (the
   * key frame kept from probing) and counts the next ones from its RTP
   * time: that picture is the origin. */
  if (ts == AV_NOPTS_VALUE && c->pts0 != AV_NOPTS_VALUE)
    return NAN;
  if (ts == AV_NOPTS_VALUE)
    ts = 0;
  /* From the first picture received, as the RTSP client of src_rtsp_gst.c
   * counts (FFmpeg's origin is the RTP stream's start, which a client
   * joining late never saw). */
  if (c->pts0 == AV_NOPTS_VALUE)
    c->pts0 = ts;
  else
    follow_jumps(c, ts, arrival);
  c->last_ts = ts;
  c->last_arrival = arrival;
  return (double)(ts - c->pts0) * av_q2d(c->tb);
}

/* Device packets point into the driver's mmap()ed buffers, which vanish
 * when the device is closed while a frame may still hold the packet; copy
 * into a buffer pool of our own (reused, so nothing is allocated per
 * frame) and give the driver its buffer back at once. */
static int detach_packet(ff_src_t *c, AVPacket *pkt, cn_err_t *err) {
  if (cn_avcopy_packet(&c->copy, pkt, pkt->data, pkt->size))
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", c->uri);
  return 0;
}

/* Intra-only: the frame keeps the newest packet, still compressed. */
static int read_compressed(ff_src_t *c, cn_frame_t *f, cn_avpriv_t *p,
                           cn_err_t *err) {
  int64_t t_rx = cn_trace_on(c->env->trace) ? cn_clock_now() : 0;
  int rc = next_packet(c, p->pkt, true, err);
  if (rc)
    return rc;
  int64_t arrival = cn_clock_now();
  cn_trace_span(c->env->trace, CN_TR_RECEIVE, c->env->opts->index,
                c->env->next_seq, t_rx, arrival);
  /* The v4l2 demuxer queues up to 256 driver buffers: take them all and
   * keep the newest, so a slow consumer never sees old frames. */
  while (c->dev_fd >= 0 && next_packet(c, c->pkt, false, NULL) == 0) {
    av_packet_unref(p->pkt);
    av_packet_move_ref(p->pkt, c->pkt);
    arrival = cn_clock_now();
  }
  if (c->kind == FF_DEVICE && (rc = detach_packet(c, p->pkt, err)))
    return rc;
  p->params = cn_avpar_ref(c->params);
  int64_t ts = p->pkt->pts != AV_NOPTS_VALUE ? p->pkt->pts : p->pkt->dts;
  f->pts = pts_seconds(c, ts, arrival);
  f->t_capture = capture_stamp(c, ts, arrival);
  f->t_decode = cn_clock_now();
  return 0;
}

/* The next decoded picture into out. Decode failures are counted and
 * return CN_EAGAIN (the stream goes on). */
static int decode_next(ff_src_t *c, AVFrame *out, bool block, cn_err_t *err) {
  for (;;) {
    int ret = avcodec_receive_frame(c->dec, out);
    /* A network picture decoded from lost data (or, for HEVC, from
     * before the first key frame) is counted, not inferred: the gst
     * client's rule too. A damaged file is still shown as decoded. */
    if (ret == 0 && c->kind == FF_NETWORK && cn_av_frame_corrupt(out)) {
      av_frame_unref(out);
      atomic_fetch_add(&c->env->decode_errors, 1);
      return cn_err_set(err, CN_EAGAIN,
                        "%s: %s picture decoded with errors (data lost)",
                        c->uri, c->dec->codec->name);
    }
    if (ret == 0)
      return 0;
    if (ret == AVERROR_EOF || (ret == AVERROR(EAGAIN) && c->draining))
      return cn_err_set(err, CN_EOF, "%s: end of stream", c->uri);
    if (ret != AVERROR(EAGAIN)) {
      atomic_fetch_add(&c->env->decode_errors, 1);
      return cn_err_set(err, CN_EAGAIN, "%s: %s picture failed to decode",
                        c->uri, c->dec->codec->name);
    }
    int64_t t_rx = cn_trace_on(c->env->trace) ? cn_clock_now() : 0;
    int rc = next_packet(c, c->pkt, block, err);
    if (rc == 0)
      cn_trace_span(c->env->trace, CN_TR_RECEIVE, c->env->opts->index,
                    c->env->next_seq, t_rx, cn_clock_now());
    if (rc == CN_EOF && c->kind != FF_DEVICE) {
      /* Pictures still inside the decoder (B-frames, frame threads). */
      avcodec_send_packet(c->dec, NULL);
      c->draining = true;
      continue;
    }
    if (rc)
      return rc;
    c->arrival = cn_clock_now();
    ret = avcodec_send_packet(c->dec, c->pkt);
    av_packet_unref(c->pkt);
    if (ret < 0 && ret != AVERROR(EAGAIN)) {
      atomic_fetch_add(&c->env->decode_errors, 1);
      return cn_err_set(err, CN_EAGAIN, "%s: %s packet failed to decode",
                        c->uri, c->dec->codec->name);
    }
  }
}

/* Inter-coded: every packet is decoded; the frame gets the picture. */
static int read_decoded(ff_src_t *c, cn_frame_t *f, cn_avpriv_t *p,
                        cn_err_t *err) {
  int rc = decode_next(c, p->frame, true, err);
  if (rc)
    return rc;
  /* Device drain, as for packets, but every packet must be decoded. */
  while (c->dev_fd >= 0 && decode_next(c, c->scratch, false, NULL) == 0) {
    av_frame_unref(p->frame);
    av_frame_move_ref(p->frame, c->scratch);
  }
  int64_t ts = p->frame->best_effort_timestamp;
  f->pts = pts_seconds(c, ts, c->arrival);
  f->t_capture = capture_stamp(c, ts, c->arrival);
  f->t_decode = cn_clock_now();
  /* From the last packet in to the picture out. */
  cn_trace_span(c->env->trace, CN_TR_DECODE, c->env->opts->index,
                c->env->next_seq, c->arrival, f->t_decode);
  return 0;
}

static int ff_read(void *ctx, cn_frame_t *f, cn_err_t *err) {
  ff_src_t *c = ctx;
  if (!c->fmt && c->kind != FF_DIR)
    return cn_err_set(err, CN_ECLOSED, "%s: not open", c->uri);
  return c->dec ? read_decoded(c, f, f->priv, err)
                : read_compressed(c, f, f->priv, err);
}

/* ---- developing ------------------------------------------------------ */

static int ff_develop(void *ctx, cn_frame_t *f, cn_err_t *err) {
  ff_src_t *c = ctx;
  return cn_avdev_develop(&c->dev, f, err);
}

/* ---- lifetime -------------------------------------------------------- */

static int ff_priv_init(void *ctx, cn_frame_t *f, cn_err_t *err) {
  ff_src_t *c = ctx;
  return cn_avpriv_init(c->uri, f, err);
}

static void ff_priv_reset(void *ctx, cn_frame_t *f) {
  (void)ctx;
  cn_avpriv_reset(f);
}

static void ff_priv_free(void *ctx, cn_frame_t *f) {
  (void)ctx;
  cn_avpriv_free(f);
}

static void ff_destroy(void *ctx) {
  ff_src_t *c = ctx;
  if (!c)
    return;
  ff_close(c);
  av_packet_free(&c->pkt);
  av_frame_free(&c->scratch);
  cn_avdev_fini(&c->dev);
  free(c->uri);
  free(c);
}

/* libavdevice (V4L2 input) is loaded when a device is first opened, not
 * linked: Debian's build depends on SDL2 and libavfilter, which a program
 * that never opens a camera (a model-only embedder, a stream client)
 * should not carry. The handle is kept for the life of the process, as a
 * linked library would be. */
static pthread_once_t avdevice_once = PTHREAD_ONCE_INIT;
static bool avdevice_ok;

static void load_avdevice(void) {
  void *h = dlopen("libavdevice.so." AV_STRINGIFY(LIBAVDEVICE_VERSION_MAJOR),
                   RTLD_NOW | RTLD_LOCAL);
  void (*register_all)(void) = NULL;
  if (h)
    *(void **)&register_all = dlsym(h, "avdevice_register_all");
  if (register_all) {
    register_all();
    avdevice_ok = true;
  }
}

static int need_avdevice(const char *uri, cn_err_t *err) {
  pthread_once(&avdevice_once, load_avdevice);
  return avdevice_ok ? 0
                     : cn_err_set(err, CN_EUNSUPPORTED,
                                  "%s: V4L2 needs libavdevice.so.%d "
                                  "(package libavdevice%d)",
                                  uri, LIBAVDEVICE_VERSION_MAJOR,
                                  LIBAVDEVICE_VERSION_MAJOR);
}

static int ff_create(cn_source_env_t *env, void **ctx, cn_err_t *err) {
  const cn_source_opts_t *opts = env->opts;
  ff_src_t *c = calloc(1, sizeof *c);
  if (!c)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", opts->uri);
  c->env = env;
  c->uri = strdup(opts->uri);
  c->image_fps = opts->fps > 0 ? opts->fps : 25.0;
  c->dev_fd = -1;
  c->pkt = av_packet_alloc();
  c->scratch = av_frame_alloc();
  if (!c->uri || !c->pkt || !c->scratch ||
      cn_avdev_init(&c->dev, c->uri, opts->width, opts->height)) {
    ff_destroy(c);
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", opts->uri);
  }
  const char *scheme_end = strstr(opts->uri, "://");
  if (strncmp(opts->uri, "/dev/", 5) == 0) {
    c->kind = FF_DEVICE;
    c->live = true;
    int rc = need_avdevice(opts->uri, err);
    if (rc) {
      ff_destroy(c);
      return rc;
    }
  } else if (scheme_end && strncmp(opts->uri, "file:", 5) != 0) {
    c->kind = FF_NETWORK;
    c->live = true;
  } else {
    c->kind = FF_FILE; /* refined by open(): image, sequence, directory */
  }
  *ctx = c;
  return 0;
}

const cn_source_backend_t cn__source_ffmpeg = {
    .name = "ffmpeg",
    .create = ff_create,
    .destroy = ff_destroy,
    .open = ff_open,
    .read = ff_read,
    .rewind = ff_rewind,
    .close = ff_close,
    .priv_init = ff_priv_init,
    .priv_reset = ff_priv_reset,
    .priv_free = ff_priv_free,
    .develop = ff_develop,
};
