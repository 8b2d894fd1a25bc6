/* rtsp:// through GStreamer's RTSP client, decoded by camnet's own
 * libavcodec decoder (the default RTSP path; --rtsp-via ffmpeg picks
 * src_ffmpeg.c instead).
 *
 * Why: FFmpeg's RTSP demuxer parses H.264/H.265 ahead and hands a picture
 * over only when the next one begins, one frame interval late. Here
 * rtspsrc + the depayloader end each access unit on the RTP marker bit
 * and the parser (alignment=au) passes it on at once; an appsink hands it
 * to the capture thread, which decodes it single-threaded with
 * AV_CODEC_FLAG_LOW_DELAY: the picture is out as soon as its last packet
 * is in. Decoding, pixel formats and develop are the FFmpeg path's
 * (av_frames.c), so both paths give the same pixels and errors.
 *
 *   rtspsrc (select-stream: the first H.264, H.265 or JPEG video stream;
 *            audio and the rest are not even set up)
 *     ! rtph264depay ! h264parse config-interval=-1 ! video/x-h264,
 *       stream-format=byte-stream,alignment=au      (H.265 alike)
 *     | rtpjpegdepay                                  (MJPEG: whole JPEGs)
 *     ! appsink (every access unit: inter-coded video needs them all)
 *
 * pts: the RTP timestamps (jitter buffer mode "none": no smoothing by
 * arrival), in seconds from the first picture delivered after each open.
 * A (re)connect starts at the first key frame; pictures the decoder
 * marks corrupt are counted in decode_errors and not delivered. So are
 * the pictures after lost packets (the depayloader marks the next buffer
 * DISCONT) up to the next key frame: the decoder conceals a missing
 * picture without a flag, and every picture predicted from it carries
 * the damage (seen with 2 % loss: one delivered picture in seven
 * unreadable). MJPEG frames keep the compressed JPEG and decode in develop,
 * as on the FFmpeg path.
 *
 * Threads: pad-added runs in rtspsrc's thread and only builds the chain;
 * everything else is the capture side (open/read/close, one thread at a
 * time) or develop (the pool's lock).
 */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include "camnet/clock.h"
#include "camnet/redact.h"
#include "sources/av_frames.h"
#include "sources/source_internal.h"

/* A bounded wait, so a stop request is seen within 100 ms. */
#define STEP_NS (100 * GST_MSECOND)
/* Access units queued for the decoder before the network is held back. */
#define QUEUE_AUS 16u

#if defined(__SANITIZE_THREAD__)
#define CN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CN_TSAN 1
#endif
#endif

typedef struct rtsp_src {
  cn_source_env_t *env;
  char *uri;      /* with credentials: rtspsrc reads them from it */
  char name[512]; /* without: for messages */

  /* Capture side. */
  GstElement *pipeline;
  GstElement *sink;
  GstBus *bus;
  GstSample *pending; /* the key frame open() waited for */
  enum AVCodecID codec;
  AVCodecContext *dec; /* inter-coded */
  cn_avpar_t *params;  /* intra-only */
  AVPacket *pkt;       /* scratch: one access unit */
  cn_avcopy_t copy;    /* packet memory */
  int64_t pts0;        /* first picture's (ns); AV_NOPTS_VALUE until then */
  int64_t arrival;     /* ns: when the access unit came out */
  int64_t decoded;     /* ns: when its picture did */
  AVFrame *first;      /* the key frame open() decoded, for read() */
  uint8_t *acc;        /* the access unit being gathered */
  size_t acc_len, acc_cap;
  int64_t acc_pts;
  bool acc_done;  /* acc holds a whole one already */
  bool receiving; /* a buffer came since the start (the first is DISCONT) */
  bool acc_lost;  /* packets of acc's access unit were lost */
  bool pkt_lost;  /* ... of pkt's */
  bool broken;    /* lost since the last whole key frame: damaged */
  int64_t first_arrival;
  atomic_uint handoff; /* ThreadSanitizer builds: see src_gst.c */
  atomic_bool chosen;  /* select-stream picked the video stream */

  /* Develop side. */
  cn_avdev_t dev;
} rtsp_src_t;

/* ---- errors ----------------------------------------------------------- */

/* The return code of an rtspsrc error, with what the message should say
 * instead of GStreamer's text ("" keeps it). */
static int error_code(const GError *e, const char *debug, const char **say) {
  *say = "";
  if (e->domain == GST_RESOURCE_ERROR) {
    switch (e->code) {
    case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
      *say = "permission denied (RTSP 401: wrong or missing credentials)";
      return CN_EPERM;
    case GST_RESOURCE_ERROR_NOT_FOUND:
      *say = "not found (RTSP 404)";
      return CN_ENOENT;
    case GST_RESOURCE_ERROR_SETTINGS:
      *say = "not a video (no H.264, H.265 or JPEG video stream)";
      return CN_EFORMAT;
    default:
      /* rtspsrc says only "Failed to connect. (Generic error)". */
      if (debug &&
          (strstr(debug, "refused") || strstr(debug, "Failed to connect"))) {
        *say = "connection refused (or host unreachable)";
        return CN_ECONNREFUSED;
      }
      return CN_EIO;
    }
  }
  if (e->domain == GST_CORE_ERROR && e->code == GST_CORE_ERROR_MISSING_PLUGIN)
    return CN_EUNSUPPORTED;
  if (e->domain == GST_STREAM_ERROR)
    return CN_EFORMAT;
  return CN_EIO;
}

/* Turns an ERROR or EOS message into the return code; consumes m. */
static int message_error(rtsp_src_t *c, GstMessage *m, cn_err_t *err) {
  if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR) {
    gst_message_unref(m);
    return cn_err_set(err, CN_EOF, "%s: end of stream", c->name);
  }
  GError *gerr = NULL;
  gchar *debug = NULL;
  gst_message_parse_error(m, &gerr, &debug);
  const char *say = "";
  int code = gerr ? error_code(gerr, debug, &say) : CN_EIO;
  cn_err_set(err, code, "%s: %s", c->name,
             say[0] ? say
             : gerr ? gerr->message
                    : "error");
  if (err) {
    for (char *p = err->msg; *p; p++)
      if (*p == '\n' || *p == '\r')
        *p = ' ';
    cn_redact_err(err);
  }
  if (gerr)
    g_error_free(gerr);
  g_free(debug);
  gst_message_unref(m);
  return code;
}

/* Keeps only what open() and read() wait for. Runs in GStreamer's
 * threads: touches only data fixed at create(). */
static GstBusSyncReply bus_filter(GstBus *bus, GstMessage *m, gpointer data) {
  (void)bus;
  rtsp_src_t *c = data;
  GstMessageType t = GST_MESSAGE_TYPE(m);
  if (t == GST_MESSAGE_ERROR || t == GST_MESSAGE_EOS)
    return GST_BUS_PASS;
  if (t == GST_MESSAGE_WARNING) {
    GError *gerr = NULL;
    gst_message_parse_warning(m, &gerr, NULL);
    cn_log(c->env->opts->log, CN_LOG_DEBUG, c->env->prefix, "%s: %s", c->name,
           gerr ? gerr->message : "?");
    if (gerr)
      g_error_free(gerr);
  }
  gst_message_unref(m);
  return GST_BUS_DROP;
}

/* ---- the pipeline ----------------------------------------------------- */

/* Depayloader and the caps it must give, per RTP encoding. No parser:
 * the depayloader already ends each access unit on the marker bit, and
 * h264parse would split one where a server repeats SPS/PPS before every
 * slice (GStreamer's own payloader with a sliced encoder does), handing
 * over each slice as a picture. */
typedef struct chain_spec {
  const char *encoding, *depay, *caps;
} chain_spec_t;

static const chain_spec_t chains[] = {
    {"H264", "rtph264depay",
     "video/x-h264,stream-format=byte-stream,alignment=au"},
    {"H265", "rtph265depay",
     "video/x-h265,stream-format=byte-stream,alignment=au"},
    {"JPEG", "rtpjpegdepay", "image/jpeg"},
};

static const chain_spec_t *chain_for(const GstCaps *caps) {
  const GstStructure *s = caps ? gst_caps_get_structure(caps, 0) : NULL;
  const char *media = s ? gst_structure_get_string(s, "media") : NULL;
  const char *enc = s ? gst_structure_get_string(s, "encoding-name") : NULL;
  if (!media || !enc || strcmp(media, "video"))
    return NULL;
  for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++)
    if (g_ascii_strcasecmp(enc, chains[i].encoding) == 0)
      return &chains[i];
  return NULL;
}

/* rtspsrc asks before SETUP: only the first video stream we can decode
 * is set up (an audio track costs nothing). */
static gboolean on_select_stream(GstElement *src, guint num, GstCaps *caps,
                                 gpointer data) {
  (void)src;
  (void)num;
  atomic_bool *chosen = data;
  if (!chain_for(caps) || atomic_load(chosen))
    return FALSE;
  atomic_store(chosen, true);
  return TRUE;
}

static GstElement *make_depay(const chain_spec_t *spec) {
  GstElement *depay = gst_element_factory_make(spec->depay, NULL);
  /* Loss: ask the camera for a key frame (RTCP PLI) rather than wait. */
  if (depay && g_object_class_find_property(G_OBJECT_GET_CLASS(depay),
                                            "request-keyframe"))
    g_object_set(depay, "request-keyframe", TRUE, NULL);
  return depay;
}

/* Links depay ! capsfilter ! appsink behind the new pad. */
static void on_pad_added(GstElement *src, GstPad *pad, gpointer data) {
  GstElement *sink = data;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  const chain_spec_t *spec = chain_for(caps);
  if (caps)
    gst_caps_unref(caps);
  GstPad *sink_pad = gst_element_get_static_pad(sink, "sink");
  bool linked = gst_pad_is_linked(sink_pad);
  gst_object_unref(sink_pad);
  if (!spec || linked)
    return;
  GstObject *bin = gst_element_get_parent(src);
  GstElement *depay = make_depay(spec);
  GstElement *filter = gst_element_factory_make("capsfilter", NULL);
  bool ok = bin && depay && filter;
  if (ok) {
    GstCaps *want = gst_caps_from_string(spec->caps);
    g_object_set(filter, "caps", want, NULL);
    gst_caps_unref(want);
    gst_bin_add_many(GST_BIN(bin), depay, filter, NULL);
    ok = gst_element_link_many(depay, filter, sink, NULL) &&
         gst_element_sync_state_with_parent(filter) &&
         gst_element_sync_state_with_parent(depay);
    GstPad *in = gst_element_get_static_pad(depay, "sink");
    ok = ok && gst_pad_link(pad, in) == GST_PAD_LINK_OK;
    gst_object_unref(in);
  } else {
    if (depay)
      gst_object_unref(gst_object_ref_sink(depay));
    if (filter)
      gst_object_unref(gst_object_ref_sink(filter));
  }
  if (!ok)
    GST_ELEMENT_ERROR(
        src, CORE, MISSING_PLUGIN,
        ("cannot link %s for %s video", spec->depay, spec->encoding), (NULL));
  if (bin)
    gst_object_unref(bin);
}

#ifdef CN_TSAN
/* See src_gst.c: GStreamer's futex locks are invisible to TSan. */
static GstPadProbeReturn tsan_release(GstPad *pad, GstPadProbeInfo *info,
                                      gpointer data) {
  (void)pad;
  (void)info;
  rtsp_src_t *c = data;
  atomic_fetch_add_explicit(&c->handoff, 1, memory_order_release);
  return GST_PAD_PROBE_OK;
}
#endif

static void rtsp_close(void *ctx) {
  rtsp_src_t *c = ctx;
  if (c->pending)
    gst_sample_unref(c->pending);
  c->pending = NULL;
  if (c->pipeline)
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
  if (c->bus) {
    gst_bus_set_sync_handler(c->bus, NULL, NULL, NULL);
    gst_object_unref(c->bus);
  }
  if (c->sink)
    gst_object_unref(c->sink);
  if (c->pipeline)
    gst_object_unref(c->pipeline);
  c->bus = NULL;
  c->sink = NULL;
  c->pipeline = NULL;
  avcodec_free_context(&c->dec);
  cn_avpar_unref(&c->params);
  c->codec = AV_CODEC_ID_NONE;
  if (c->first)
    av_frame_unref(c->first);
  c->acc_len = 0;
  c->acc_done = false;
  c->receiving = c->acc_lost = c->pkt_lost = c->broken = false;
  if (c->pkt)
    av_packet_unref(c->pkt);
  cn_avcopy_fini(&c->copy);
}

static void rtsp_destroy(void *ctx) {
  rtsp_src_t *c = ctx;
  if (!c)
    return;
  rtsp_close(c);
  av_packet_free(&c->pkt);
  av_frame_free(&c->first);
  free(c->acc);
  cn_avdev_fini(&c->dev);
  free(c->uri);
  free(c);
}

static int timeout_ms(const rtsp_src_t *c) {
  return c->env->opts->timeout_ms > 0 ? c->env->opts->timeout_ms : 5000;
}

/* Not linked to a missing plugin: one line naming the package. */
static GstElement *make(rtsp_src_t *c, const char *factory, const char *pkg,
                        cn_err_t *err) {
  GstElement *e = gst_element_factory_make(factory, NULL);
  if (!e)
    cn_err_set(err, CN_EUNSUPPORTED, "%s: no GStreamer element %s (%s)",
               c->name, factory, pkg);
  return e;
}

static void set_rtspsrc(rtsp_src_t *c, GstElement *src) {
  const cn_source_opts_t *o = c->env->opts;
  bool udp = o->transport && strcmp(o->transport, "udp") == 0;
  g_object_set(src, "location", c->uri, "latency", (guint)o->latency_ms,
               "tcp-timeout", (guint64)timeout_ms(c) * 1000, NULL);
  gst_util_set_object_arg(G_OBJECT(src), "protocols", udp ? "udp" : "tcp");
  /* pts straight from the RTP timestamps, not smoothed by arrival. */
  gst_util_set_object_arg(G_OBJECT(src), "buffer-mode", "none");
  atomic_store(&c->chosen, false);
  g_signal_connect(src, "select-stream", G_CALLBACK(on_select_stream),
                   &c->chosen);
}

/* The pipeline without its chain (pad-added builds that). */
static int build(rtsp_src_t *c, cn_err_t *err) {
  /* Every dependency checked now: a missing one is a clear error at open,
   * not a stream that never starts. */
  const char *need[][2] = {{"rtph264depay", "gstreamer1.0-plugins-good"},
                           {"rtph265depay", "gstreamer1.0-plugins-good"},
                           {"rtpjpegdepay", "gstreamer1.0-plugins-good"}};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
    GstElementFactory *f = gst_element_factory_find(need[i][0]);
    if (!f)
      return cn_err_set(err, CN_EUNSUPPORTED,
                        "%s: no GStreamer element %s (%s)", c->name, need[i][0],
                        need[i][1]);
    gst_object_unref(f);
  }
  GstElement *src = make(c, "rtspsrc", "gstreamer1.0-plugins-good", err);
  GstElement *sink =
      src ? make(c, "appsink", "gstreamer1.0-plugins-base", err) : NULL;
  if (!sink) {
    if (src)
      gst_object_unref(gst_object_ref_sink(src));
    return CN_EUNSUPPORTED;
  }
  c->pipeline = gst_object_ref_sink(gst_pipeline_new(NULL));
  gst_bin_add_many(GST_BIN(c->pipeline), src, sink, NULL);
  c->sink = gst_object_ref(sink);
  set_rtspsrc(c, src);
  g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), sink);
  /* Never drop: an inter-coded stream needs every access unit. A full
   * queue holds the network back instead (TCP) or loses packets (UDP). */
  g_object_set(sink, "max-buffers", QUEUE_AUS, "drop", FALSE, "sync", FALSE,
               "emit-signals", FALSE, "enable-last-sample", FALSE, NULL);
#ifdef CN_TSAN
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, tsan_release, c, NULL);
  gst_object_unref(pad);
#endif
  c->bus = gst_element_get_bus(c->pipeline);
  gst_bus_set_sync_handler(c->bus, bus_filter, c, NULL);
  return 0;
}

/* ---- access units ----------------------------------------------------- */

static enum AVCodecID codec_of(GstCaps *caps) {
  const GstStructure *s = caps ? gst_caps_get_structure(caps, 0) : NULL;
  const char *name = s ? gst_structure_get_name(s) : "";
  if (strcmp(name, "video/x-h264") == 0)
    return AV_CODEC_ID_H264;
  if (strcmp(name, "video/x-h265") == 0)
    return AV_CODEC_ID_HEVC;
  if (strcmp(name, "image/jpeg") == 0)
    return AV_CODEC_ID_MJPEG;
  return AV_CODEC_ID_NONE;
}

/* The decoder (inter-coded) or the shared parameters (MJPEG) for the
 * codec of the stream just opened. */
static int setup_codec(rtsp_src_t *c, GstCaps *caps, cn_err_t *err) {
  c->codec = codec_of(caps);
  if (c->codec == AV_CODEC_ID_NONE)
    return cn_err_set(err, CN_EFORMAT,
                      "%s: not a video (no H.264, H.265 or "
                      "JPEG video stream)",
                      c->name);
  AVCodecParameters *par = avcodec_parameters_alloc();
  if (!par)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", c->name);
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = c->codec;
  int rc = 0;
  if (c->codec == AV_CODEC_ID_MJPEG) {
    if (!(c->params = cn_avpar_new(par)))
      rc = cn_err_set(err, CN_ENOMEM, "%s: out of memory", c->name);
  } else {
    /* One thread: a picture in, the same picture out, no hand-offs. */
    rc = cn_av_open_decoder(&c->dec, par, (AVRational){1, GST_SECOND}, true, 1,
                            false, c->name, err);
  }
  avcodec_parameters_free(&par);
  return rc;
}

/* Copies the sample's access unit into pkt (padded, pooled memory). */
static int to_packet(rtsp_src_t *c, GstSample *s, AVPacket *pkt,
                     cn_err_t *err) {
  GstBuffer *b = gst_sample_get_buffer(s);
  GstMapInfo map;
  if (!b || !gst_buffer_map(b, &map, GST_MAP_READ))
    return cn_err_set(err, CN_EIO, "%s: could not map a buffer", c->name);
  int rc = map.size > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE
               ? CN_EFORMAT
               : cn_avcopy_packet(&c->copy, pkt, map.data, (int)map.size);
  gst_buffer_unmap(b, &map);
  if (rc)
    return cn_err_set(err, rc, "%s: out of memory", c->name);
  GstClockTime pts = GST_BUFFER_PTS(b);
  pkt->pts = GST_CLOCK_TIME_IS_VALID(pts) ? (int64_t)pts : AV_NOPTS_VALUE;
  pkt->flags = AV_PKT_FLAG_KEY;
  return 0;
}

/* The next sample, waiting up to the deadline; NULL with err set on
 * failure, end or stop. */
static GstSample *next_sample(rtsp_src_t *c, int64_t deadline, int *rc,
                              cn_err_t *err) {
  const GstMessageType stop = GST_MESSAGE_ERROR | GST_MESSAGE_EOS;
  for (;;) {
    if (c->pending) {
      GstSample *s = c->pending;
      c->pending = NULL;
      return s;
    }
    if (atomic_load(c->env->stop)) {
      *rc = cn_err_set(err, CN_ECLOSED, "%s: stopped", c->name);
      return NULL;
    }
    GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(c->sink), STEP_NS);
    if (s) {
#ifdef CN_TSAN
      (void)atomic_load_explicit(&c->handoff, memory_order_acquire);
#endif
      c->arrival = cn_clock_now();
      return s;
    }
    GstMessage *m = gst_bus_pop_filtered(c->bus, stop);
    if (m) {
      *rc = message_error(c, m, err);
      return NULL;
    }
    if (gst_app_sink_is_eos(GST_APP_SINK(c->sink))) {
      *rc = cn_err_set(err, CN_EOF, "%s: end of stream", c->name);
      return NULL;
    }
    if (cn_clock_now() >= deadline) {
      *rc = cn_err_set(err, CN_ETIMEDOUT, "%s: timed out (no data for %d ms)",
                       c->name, timeout_ms(c));
      return NULL;
    }
  }
}

typedef struct nal_kind {
  bool vcl, ps, key; /* a slice; a parameter set; a key frame's slice */
} nal_kind_t;

static nal_kind_t nal_kind(enum AVCodecID codec, uint8_t h) {
  if (codec == AV_CODEC_ID_HEVC) {
    int t = (h >> 1) & 0x3f;
    return (nal_kind_t){t < 32, t >= 32 && t <= 34, t >= 16 && t <= 23};
  }
  int t = h & 0x1f;
  return (nal_kind_t){t >= 1 && t <= 5, t == 7 || t == 8, t == 5};
}

/* The start of the next Annex B start code at or after i, or size. */
static int next_start(const uint8_t *d, int i, int size) {
  for (; i + 2 < size; i++)
    if (!d[i] && !d[i + 1] && d[i + 2] == 1)
      return i > 0 && !d[i - 1] ? i - 1 : i;
  return size;
}

/* Drops parameter sets that repeat, byte for byte, one given earlier in
 * the same access unit; returns whether it holds a key frame. Some
 * servers (GStreamer's payloader with a sliced encoder) repeat SPS/PPS
 * before every slice, which H.264 does not allow inside a picture:
 * FFmpeg's decoder then ends the picture at each repeat and conceals
 * the rest (flagging a picture that in the end is whole). */
static bool clean_au(enum AVCodecID codec, AVPacket *pkt) {
  uint8_t *d = pkt->data;
  int n = pkt->size, w = 0, at = next_start(d, 0, n);
  struct span {
    int off, len;
  } seen[8];
  int nseen = 0;
  bool vcl_seen = false, key = false;
  w = at; /* bytes before the first start code stay */
  while (at < n) {
    int hdr = at + (d[at + 2] == 1 ? 3 : 4);
    int end = hdr < n ? next_start(d, hdr, n) : n;
    int len = end - at;
    nal_kind_t k = hdr < n ? nal_kind(codec, d[hdr]) : (nal_kind_t){0};
    bool drop = false;
    /* Compared without the start code, whose length may differ. */
    int body = end - hdr;
    for (int i = 0; k.ps && vcl_seen && i < nseen && !drop; i++)
      drop = seen[i].len == body &&
             !memcmp(d + seen[i].off, d + hdr, (size_t)body);
    if (!drop) {
      memmove(d + w, d + at, (size_t)len);
      if (k.ps && nseen < 8)
        seen[nseen++] = (struct span){w + (hdr - at), body};
      w += len;
    }
    vcl_seen = vcl_seen || k.vcl;
    key = key || k.key;
    at = end;
  }
  pkt->size = w;
  memset(d + w, 0, AV_INPUT_BUFFER_PADDING_SIZE);
  return key;
}

/* Appends b's bytes to the access unit being gathered. */
static int acc_append(rtsp_src_t *c, GstBuffer *b, cn_err_t *err) {
  size_t n = gst_buffer_get_size(b);
  if (c->acc_len + n > c->acc_cap) {
    size_t cap = (c->acc_len + n) * 2;
    uint8_t *grown = cap < INT_MAX / 2 ? realloc(c->acc, cap) : NULL;
    if (!grown)
      return cn_err_set(err, CN_ENOMEM, "%s: out of memory", c->name);
    c->acc = grown;
    c->acc_cap = cap;
  }
  gst_buffer_extract(b, 0, c->acc + c->acc_len, n);
  c->acc_len += n;
  return 0;
}

/* The gathered access unit into c->pkt. */
static int acc_finish(rtsp_src_t *c, cn_err_t *err) {
  int rc = cn_avcopy_packet(&c->copy, c->pkt, c->acc, (int)c->acc_len);
  c->acc_len = 0;
  c->acc_done = false;
  c->pkt_lost = c->acc_lost;
  c->acc_lost = false;
  if (rc)
    return cn_err_set(err, rc, "%s: out of memory", c->name);
  c->pkt->pts = c->acc_pts;
  return 0;
}

/* Gathers depayloaded buffers into access units. A picture ends with the
 * buffer carrying the RTP marker bit (the depayloader may cut one picture
 * in several buffers: before each repeated SPS, for one); from a server
 * that never sets it, a new timestamp ends the previous picture. *ready:
 * c->pkt holds a whole access unit. */
static int gather(rtsp_src_t *c, GstSample *s, bool *ready, cn_err_t *err) {
  GstBuffer *b = gst_sample_get_buffer(s);
  *ready = false;
  if (!b)
    return 0;
  int64_t pts =
      GST_BUFFER_PTS_IS_VALID(b) ? (int64_t)GST_BUFFER_PTS(b) : AV_NOPTS_VALUE;
  /* Packets lost just before b: the end of the access unit being gathered
   * (it then never sees its marker) or the start of b's. */
  bool gap = c->receiving && GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT);
  c->receiving = true;
  c->acc_lost = c->acc_lost || (gap && c->acc_len);
  int rc = 0;
  if (c->acc_len && pts != c->acc_pts) {
    rc = acc_finish(c, err);
    *ready = rc == 0;
  }
  c->acc_lost = c->acc_lost || gap;
  if (rc == 0)
    rc = acc_append(c, b, err);
  c->acc_pts = pts;
  if (rc == 0 && GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_MARKER)) {
    if (*ready)
      c->acc_done = true; /* the next read's */
    else if ((rc = acc_finish(c, err)) == 0)
      *ready = true;
  }
  return rc;
}

/* Inter-coded: decodes the access unit into out; 0 when a whole picture
 * came out, CN_EAGAIN (counted when it is a failure) when not. need_key:
 * anything before a key frame is passed over (not an error). */
static int decode(rtsp_src_t *c, AVFrame *out, bool need_key, cn_err_t *err) {
  bool key = clean_au(c->codec, c->pkt);
  /* A whole key frame ends the damage of a loss; until then, pictures
   * are dropped and counted (not before the first: that is the start). */
  c->broken = c->pkt_lost || (c->broken && !key);
  if ((need_key && !key) || c->broken) {
    av_packet_unref(c->pkt);
    if (need_key)
      return CN_EAGAIN;
    atomic_fetch_add(&c->env->decode_errors, 1);
    return cn_err_set(err, CN_EAGAIN,
                      "%s: picture after lost packets (waiting for a key "
                      "frame)",
                      c->name);
  }
  c->pkt->flags = key ? AV_PKT_FLAG_KEY : 0;
  int ret = avcodec_send_packet(c->dec, c->pkt);
  av_packet_unref(c->pkt);
  if (ret < 0 && ret != AVERROR(EAGAIN)) {
    atomic_fetch_add(&c->env->decode_errors, 1);
    return cn_err_set(err, CN_EAGAIN, "%s: %s packet failed to decode", c->name,
                      c->dec->codec->name);
  }
  ret = avcodec_receive_frame(c->dec, out);
  if (ret == AVERROR(EAGAIN))
    return CN_EAGAIN;
  if (ret == 0 && !cn_av_frame_corrupt(out)) {
    c->decoded = cn_clock_now();
    return 0;
  }
  av_frame_unref(out);
  atomic_fetch_add(&c->env->decode_errors, 1);
  return cn_err_set(
      err, CN_EAGAIN, "%s: %s picture %s", c->name, c->dec->codec->name,
      ret == 0 ? "decoded with errors (data lost)" : "failed to decode");
}

static void fill_info(rtsp_src_t *c, GstSample *s, cn_source_info_t *info) {
  memset(info, 0, sizeof *info);
  info->live = true;
  const GstStructure *st = gst_caps_get_structure(gst_sample_get_caps(s), 0);
  gst_structure_get_int(st, "width", &info->width);
  gst_structure_get_int(st, "height", &info->height);
  if (c->dec) {
    info->width = c->first->width;
    info->height = c->first->height;
  }
  int n = 0, d = 0;
  if (gst_structure_get_fraction(st, "framerate", &n, &d) && n > 0 && d > 0)
    info->fps = (double)n / d;
  const AVCodec *codec = avcodec_find_decoder(c->codec);
  snprintf(info->codec, sizeof info->codec, "%s",
           codec ? codec->name : avcodec_get_name(c->codec));
}

static int start(rtsp_src_t *c, cn_err_t *err) {
  GError *gerr = NULL;
  if (!gst_init_check(NULL, NULL, &gerr)) {
    int rc = cn_err_set(err, CN_EUNSUPPORTED, "%s: GStreamer: %s", c->name,
                        gerr ? gerr->message : "could not initialise");
    if (gerr)
      g_error_free(gerr);
    return rc;
  }
  int rc = build(c, err);
  c->pts0 = AV_NOPTS_VALUE;
  if (rc == 0 && gst_element_set_state(c->pipeline, GST_STATE_PLAYING) ==
                     GST_STATE_CHANGE_FAILURE) {
    GstMessage *m =
        gst_bus_timed_pop_filtered(c->bus, STEP_NS, GST_MESSAGE_ERROR);
    rc = m ? message_error(c, m, err)
           : cn_err_set(err, CN_EIO, "%s: the RTSP client would not start",
                        c->name);
  }
  return rc;
}

/* Connects and waits for the first key frame, decoded (inter-coded, for
 * the size) or kept (MJPEG) for the first read: a bad address, a missing
 * stream or refused credentials fail here, within the timeout. */
static int rtsp_open(void *ctx, cn_source_info_t *info, cn_err_t *err) {
  rtsp_src_t *c = ctx;
  rtsp_close(c);
  int rc = start(c, err);
  int64_t deadline = cn_clock_now() + timeout_ms(c) * CN_NS_PER_MS;
  GstSample *s = NULL;
  while (rc == 0 && (s = next_sample(c, deadline, &rc, err))) {
    if (!c->codec)
      rc = setup_codec(c, gst_sample_get_caps(s), err);
    if (rc == 0 && !c->dec)
      break; /* MJPEG: every frame is a key frame */
    bool ready = false;
    if (rc == 0)
      rc = gather(c, s, &ready, err);
    if (rc == 0 && ready && decode(c, c->first, true, NULL) == 0)
      break;
    gst_sample_unref(s); /* undecodable before the first key frame */
    s = NULL;
  }
  if (rc) {
    if (s)
      gst_sample_unref(s);
    rtsp_close(c);
    return rc;
  }
  fill_info(c, s, info);
  if (c->dec)
    gst_sample_unref(s);
  else
    c->pending = s;
  c->first_arrival = c->arrival;
  return 0;
}

/* The next whole access unit, decoded into out. */
static int read_decoded(rtsp_src_t *c, AVFrame *out, cn_err_t *err) {
  int64_t deadline = cn_clock_now() + timeout_ms(c) * CN_NS_PER_MS;
  bool ready = c->acc_done;
  int rc = ready ? acc_finish(c, err) : 0;
  while (rc == 0 && !ready) {
    GstSample *s = next_sample(c, deadline, &rc, err);
    if (!s)
      return rc;
    rc = gather(c, s, &ready, err);
    gst_sample_unref(s);
  }
  return rc ? rc : decode(c, out, false, err);
}

static int rtsp_read(void *ctx, cn_frame_t *f, cn_err_t *err) {
  rtsp_src_t *c = ctx;
  if (!c->pipeline)
    return cn_err_set(err, CN_ECLOSED, "%s: not open", c->name);
  cn_avpriv_t *p = f->priv;
  int rc = 0;
  if (c->first->buf[0]) {
    av_frame_move_ref(p->frame, c->first);
    c->arrival = c->first_arrival;
  } else if (c->dec) {
    rc = read_decoded(c, p->frame, err);
  } else {
    int64_t deadline = cn_clock_now() + timeout_ms(c) * CN_NS_PER_MS;
    GstSample *s = next_sample(c, deadline, &rc, err);
    if (!s)
      return rc;
    rc = to_packet(c, s, p->pkt, err);
    p->params = rc ? NULL : cn_avpar_ref(c->params);
    c->decoded = cn_clock_now();
    gst_sample_unref(s);
  }
  if (rc)
    return rc;
  int64_t ts = c->dec ? p->frame->best_effort_timestamp : p->pkt->pts;
  if (c->pts0 == AV_NOPTS_VALUE)
    c->pts0 = ts;
  f->pts = ts == AV_NOPTS_VALUE || c->pts0 == AV_NOPTS_VALUE
               ? (double)NAN
               : (double)(ts - c->pts0) / GST_SECOND;
  f->t_capture = c->arrival;
  f->t_decode = c->decoded;
  return 0;
}

/* ---- develop, payload, lifetime --------------------------------------- */

static int rtsp_develop(void *ctx, cn_frame_t *f, cn_err_t *err) {
  rtsp_src_t *c = ctx;
  return cn_avdev_develop(&c->dev, f, err);
}

static int rtsp_priv_init(void *ctx, cn_frame_t *f, cn_err_t *err) {
  rtsp_src_t *c = ctx;
  return cn_avpriv_init(c->name, f, err);
}

static void rtsp_priv_reset(void *ctx, cn_frame_t *f) {
  (void)ctx;
  cn_avpriv_reset(f);
}

static void rtsp_priv_free(void *ctx, cn_frame_t *f) {
  (void)ctx;
  cn_avpriv_free(f);
}

static int rtsp_create(cn_source_env_t *env, void **ctx, cn_err_t *err) {
  const cn_source_opts_t *o = env->opts;
  rtsp_src_t *c = calloc(1, sizeof *c);
  if (!c)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", o->uri);
  c->env = env;
  cn_redact_uri(o->uri, c->name, sizeof c->name);
  c->uri = strdup(o->uri);
  c->pkt = av_packet_alloc();
  c->first = av_frame_alloc();
  c->pts0 = AV_NOPTS_VALUE;
  if (!c->uri || !c->pkt || !c->first ||
      cn_avdev_init(&c->dev, c->name, o->width, o->height)) {
    int rc = cn_err_set(err, CN_ENOMEM, "%s: out of memory", c->name);
    rtsp_destroy(c);
    return rc;
  }
  *ctx = c;
  return 0;
}

const cn_source_backend_t cn__source_rtsp_gst = {
    .name = "rtsp-gst",
    .create = rtsp_create,
    .destroy = rtsp_destroy,
    .open = rtsp_open,
    .read = rtsp_read,
    .rewind = NULL,
    .close = rtsp_close,
    .priv_init = rtsp_priv_init,
    .priv_reset = rtsp_priv_reset,
    .priv_free = rtsp_priv_free,
    .develop = rtsp_develop,
};
