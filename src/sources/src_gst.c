/* gst:PIPELINE: frames from a GStreamer pipeline, for cameras that only
 * speak GStreamer (Jetson CSI nvarguscamerasrc and the like).
 *
 * The pipeline ends in an appsink that delivers BGR: the appsink named
 * "sink", else the last appsink, else one we append. A videoconvert (and
 * a videoscale when the options ask for a size) goes in front of it, so
 * any raw video works. The appsink keeps one buffer: live sources drop
 * the older one (newest only, never a queue), files block upstream so
 * that every_frame loses nothing and source.c paces them.
 *
 * Zero copy: a frame holds the GstSample and the mapped buffer in its
 * payload and its pixels point into GStreamer's memory; the buffer goes
 * back to GStreamer when the frame returns to the pool (priv_reset).
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "camnet/clock.h"
#include "sources/source_internal.h"

/* A bounded wait, so a stop request is seen within 100 ms. */
#define STEP_NS (100 * GST_MSECOND)
/* Driver stamps older than this are not trusted for t_capture. */
#define MAX_CAPTURE_AGE_NS CN_NS_PER_S

#if defined(__SANITIZE_THREAD__)
#define CN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CN_TSAN 1
#endif
#endif

/* How create() turned the user's text into the pipeline we parse. */
typedef enum sink_mode {
  SINK_TAIL,     /* it ended with an appsink: converter put before it */
  SINK_APPENDED, /* no appsink: converter and appsink appended */
  SINK_INSIDE,   /* an appsink elsewhere: converter linked in by open() */
} sink_mode_t;

typedef struct gst_src {
  cn_source_env_t *env;
  char name[96]; /* the URI, shortened for one-line messages */
  char *launch;  /* what gst_parse_launch sees (g_free) */
  char *caps;    /* the appsink caps (g_free) */
  sink_mode_t mode;
  bool scale;

  /* Capture state: open/read/close, one thread at a time. */
  GstElement *pipeline;
  GstAppSink *sink;
  GstBus *bus;
  bool live;
  bool clock_mono; /* pipeline clock is CLOCK_MONOTONIC */
  GstClockTime base_time;
  GstCaps *last_caps; /* caps vinfo was made from */
  GstVideoInfo vinfo;
  atomic_uint handoff; /* ThreadSanitizer builds: see tsan_release() */
} gst_src_t;

/* Frame payload: the sample and its mapping, released by priv_reset. */
typedef struct gst_frame {
  GstSample *sample;
  GstVideoFrame vf;
  bool mapped;
} gst_frame_t;

static const char *source_name(GstMessage *m) {
  return GST_MESSAGE_SRC(m) ? GST_MESSAGE_SRC_NAME(m) : "pipeline";
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The last '!' outside double quotes, or NULL. */
static const char *last_link(const char *s) {
  const char *last = NULL;
  bool quoted = false;
  for (const char *p = s; *p; p++) {
    if (*p == '\\' && p[1])
      p++;
    else if (*p == '"')
      quoted = !quoted;
    else if (*p == '!' && !quoted)
      last = p;
  }
  return last;
}

static bool starts_appsink(const char *s) {
  return strncmp(s, "appsink", 7) == 0 &&
         (s[7] == '\0' || is_space(s[7]) || s[7] == '!');
}

/* An "appsink" word in element position (not a property value). */
static bool mentions_appsink(const char *s) {
  for (const char *p = strstr(s, "appsink"); p; p = strstr(p + 1, "appsink"))
    if ((p == s || is_space(p[-1]) || p[-1] == '!') && starts_appsink(p))
      return true;
  return false;
}

static int gst_create(cn_source_env_t *env, void **out, cn_err_t *err) {
  const cn_source_opts_t *o = env->opts;
  const char *uri = o->uri;
  const char *text = uri + strlen("gst:");
  while (is_space(*text))
    text++;
  size_t len = strlen(text);
  while (len > 0 && is_space(text[len - 1]))
    len--;
  if (len == 0)
    return cn_err_set(err, CN_EINVAL,
                      "%s: empty pipeline (expected "
                      "gst:ELEMENT ! ... [! appsink])",
                      uri);
  gst_src_t *g = calloc(1, sizeof *g);
  if (!g)
    return cn_err_set(err, CN_ENOMEM, "%s: out of memory", uri);
  g->env = env;
  if (strlen(uri) < sizeof g->name)
    snprintf(g->name, sizeof g->name, "%s", uri);
  else
    snprintf(g->name, sizeof g->name, "%.*s...", (int)sizeof g->name - 4, uri);
  g->scale = o->width > 0 || o->height > 0;
  char wh[48] = "";
  if (o->width > 0)
    snprintf(wh, sizeof wh, ",width=%d", o->width);
  if (o->height > 0)
    snprintf(wh + strlen(wh), sizeof wh - strlen(wh), ",height=%d", o->height);
  g->caps = g_strdup_printf("video/x-raw,format=BGR%s", wh);

  char *body = g_strndup(text, len);
  const char *conv = g->scale ? "videoconvert ! videoscale" : "videoconvert";
  const char *bang = last_link(body);
  const char *tail = bang ? bang + 1 : body;
  while (is_space(*tail))
    tail++;
  if (bang && starts_appsink(tail)) {
    g->mode = SINK_TAIL;
    g->launch =
        g_strdup_printf("%.*s ! %s ! %s", (int)(bang - body), body, conv, tail);
  } else if (!mentions_appsink(body)) {
    g->mode = SINK_APPENDED;
    g->launch = g_strdup_printf("%s ! %s ! appsink name=sink", body, conv);
  } else {
    g->mode = SINK_INSIDE;
    g->launch = g_strdup(body);
  }
  g_free(body);
  *out = g;
  return 0;
}

/* Keeps only what read() and open() wait for; everything else would pile
 * up in the bus queue for the life of the pipeline. A dropped message is
 * the handler's to unref. Runs in GStreamer's threads: touches only data
 * fixed at create(). */
static GstBusSyncReply bus_filter(GstBus *bus, GstMessage *m, gpointer data) {
  (void)bus;
  gst_src_t *g = data;
  switch (GST_MESSAGE_TYPE(m)) {
  case GST_MESSAGE_ERROR:
  case GST_MESSAGE_EOS:
    return GST_BUS_PASS;
  case GST_MESSAGE_WARNING: {
    GError *gerr = NULL;
    gst_message_parse_warning(m, &gerr, NULL);
    cn_log(g->env->opts->log, CN_LOG_WARN, g->env->prefix, "%s: %s: %s",
           g->name, source_name(m), gerr ? gerr->message : "?");
    if (gerr)
      g_error_free(gerr);
    break;
  }
  default:
    break;
  }
  gst_message_unref(m);
  return GST_BUS_DROP;
}

static int code_of(const GError *e, const char *reason) {
  if (strcmp(reason, "not-negotiated") == 0)
    return CN_EFORMAT;
  if (e->domain == GST_RESOURCE_ERROR) {
    switch (e->code) {
    case GST_RESOURCE_ERROR_NOT_FOUND:
      return CN_ENOENT;
    case GST_RESOURCE_ERROR_OPEN_READ:
    case GST_RESOURCE_ERROR_OPEN_READ_WRITE:
    case GST_RESOURCE_ERROR_BUSY:
      return CN_ENODEV;
    case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
      return CN_EPERM;
    default:
      return CN_EIO;
    }
  }
  if (e->domain == GST_STREAM_ERROR) {
    switch (e->code) {
    case GST_STREAM_ERROR_CODEC_NOT_FOUND:
    case GST_STREAM_ERROR_NOT_IMPLEMENTED:
      return CN_ECODEC;
    case GST_STREAM_ERROR_DECODE:
    case GST_STREAM_ERROR_DEMUX:
    case GST_STREAM_ERROR_WRONG_TYPE:
    case GST_STREAM_ERROR_TYPE_NOT_FOUND:
    case GST_STREAM_ERROR_FORMAT:
      return CN_EFORMAT;
    default:
      return CN_EIO;
    }
  }
  if (e->domain == GST_CORE_ERROR && e->code == GST_CORE_ERROR_MISSING_PLUGIN)
    return CN_EUNSUPPORTED;
  if (e->domain == GST_CORE_ERROR && e->code == GST_CORE_ERROR_NEGOTIATION)
    return CN_EFORMAT;
  return CN_EIO;
}

static void one_line(cn_err_t *err) {
  if (!err)
    return;
  for (char *p = err->msg; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
}

/* Turns an ERROR or EOS message into the return code; consumes m.
 * "Internal data stream error" alone says little: the flow reason hidden
 * in the debug text ("reason not-negotiated") goes into the message. */
static int message_error(gst_src_t *g, GstMessage *m, cn_err_t *err) {
  if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR) {
    gst_message_unref(m);
    return cn_err_set(err, CN_EOF, "%s: end of stream", g->name);
  }
  GError *gerr = NULL;
  gchar *debug = NULL;
  gst_message_parse_error(m, &gerr, &debug);
  char reason[32] = "";
  const char *r = debug ? strstr(debug, "reason ") : NULL;
  if (r && sscanf(r + 7, "%31[a-z-]", reason) != 1)
    reason[0] = '\0';
  int code = gerr ? code_of(gerr, reason) : CN_EIO;
  cn_err_set(err, code, "%s: %s: %s%s%s%s", g->name, source_name(m),
             gerr ? gerr->message : "error", reason[0] ? " (" : "", reason,
             reason[0] ? ")" : "");
  one_line(err);
  if (gerr)
    g_error_free(gerr);
  g_free(debug);
  gst_message_unref(m);
  return code;
}

/* The appsink named "sink", else the last appsink added (bins list their
 * newest child first). Returns a reference or NULL. */
static GstElement *find_appsink(GstBin *bin) {
  GstElement *e = gst_bin_get_by_name(bin, "sink");
  if (e && GST_IS_APP_SINK(e))
    return e;
  if (e)
    gst_object_unref(e);
  GstElement *found = NULL;
  GstIterator *it = gst_bin_iterate_recurse(bin);
  GValue v = G_VALUE_INIT;
  bool done = false;
  while (!done) {
    switch (gst_iterator_next(it, &v)) {
    case GST_ITERATOR_OK:
      e = g_value_get_object(&v);
      if (!found && GST_IS_APP_SINK(e))
        found = gst_object_ref(e);
      g_value_reset(&v);
      break;
    case GST_ITERATOR_RESYNC:
      gst_iterator_resync(it);
      if (found)
        gst_object_unref(found);
      found = NULL;
      break;
    default:
      done = true;
      break;
    }
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  return found;
}

/* For an appsink inside the user's pipeline: puts a converter between it
 * and what feeds it. An appsink fed later (by a dynamic pad) keeps its
 * caps only, so the user's pipeline has to produce BGR itself. */
static int insert_converter(gst_src_t *g, GstElement *sink, cn_err_t *err) {
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  GstPad *peer = pad ? gst_pad_get_peer(pad) : NULL;
  GstObject *parent = gst_element_get_parent(sink);
  int rc = 0;
  if (peer && parent) {
    GError *gerr = NULL;
    GstElement *conv = gst_parse_bin_from_description(
        g->scale ? "videoconvert ! videoscale" : "videoconvert", TRUE, &gerr);
    if (!conv) {
      rc = cn_err_set(err, CN_EUNSUPPORTED, "%s: no videoconvert: %s", g->name,
                      gerr ? gerr->message : "?");
    } else {
      gst_pad_unlink(peer, pad);
      gst_bin_add(GST_BIN(parent), conv);
      GstPad *in = gst_element_get_static_pad(conv, "sink");
      if (gst_pad_link(peer, in) != GST_PAD_LINK_OK ||
          !gst_element_link(conv, sink))
        rc = cn_err_set(err, CN_EINTERNAL,
                        "%s: could not put a videoconvert "
                        "before the appsink",
                        g->name);
      gst_object_unref(in);
    }
    if (gerr)
      g_error_free(gerr);
  }
  if (parent)
    gst_object_unref(parent);
  if (peer)
    gst_object_unref(peer);
  if (pad)
    gst_object_unref(pad);
  return rc;
}

#ifdef CN_TSAN
/* TSan cannot see GStreamer's futex-based locks, so a buffer handed from a
 * streaming thread through the appsink queue to the capture thread looks
 * unsynchronised. This release, in the streaming thread before the buffer
 * is queued, and the acquire after each pull make that hand-over visible.
 * Sanitizer builds only: GStreamer's own locks already order it. */
static GstPadProbeReturn tsan_release(GstPad *pad, GstPadProbeInfo *info,
                                      gpointer data) {
  (void)pad;
  (void)info;
  gst_src_t *g = data;
  atomic_fetch_add_explicit(&g->handoff, 1, memory_order_release);
  return GST_PAD_PROBE_OK;
}
#endif

static void gst_close(void *ctx) {
  gst_src_t *g = ctx;
  if (g->pipeline)
    gst_element_set_state(g->pipeline, GST_STATE_NULL);
  if (g->bus) {
    gst_bus_set_sync_handler(g->bus, NULL, NULL, NULL);
    gst_object_unref(g->bus);
  }
  if (g->sink)
    gst_object_unref(g->sink);
  if (g->pipeline)
    gst_object_unref(g->pipeline);
  gst_caps_replace(&g->last_caps, NULL);
  g->bus = NULL;
  g->sink = NULL;
  g->pipeline = NULL;
}

static void gst_destroy(void *ctx) {
  gst_src_t *g = ctx;
  if (!g)
    return;
  gst_close(g);
  g_free(g->launch);
  g_free(g->caps);
  free(g);
}

static int timeout_ms(const gst_src_t *g) {
  return g->env->opts->timeout_ms > 0 ? g->env->opts->timeout_ms : 5000;
}

/* A failed state change has its reason on the bus, posted by a streaming
 * thread possibly a moment after the failure is known. */
static int start_failed(gst_src_t *g, cn_err_t *err) {
  GstMessage *m =
      gst_bus_timed_pop_filtered(g->bus, STEP_NS, GST_MESSAGE_ERROR);
  if (m)
    return message_error(g, m, err);
  return cn_err_set(err, CN_EIO, "%s: the pipeline would not start", g->name);
}

/* Waits for the state change in progress, in bounded steps so that a
 * stop request, an error on the bus or the deadline ends it. */
static int wait_state(gst_src_t *g, int64_t deadline, GstStateChangeReturn *out,
                      cn_err_t *err) {
  for (;;) {
    GstStateChangeReturn r =
        gst_element_get_state(g->pipeline, NULL, NULL, STEP_NS);
    if (r == GST_STATE_CHANGE_FAILURE)
      return start_failed(g, err);
    GstMessage *m = gst_bus_pop_filtered(g->bus, GST_MESSAGE_ERROR);
    if (m)
      return message_error(g, m, err);
    if (r != GST_STATE_CHANGE_ASYNC) {
      *out = r;
      return 0;
    }
    if (atomic_load(g->env->stop))
      return cn_err_set(err, CN_ECLOSED, "%s: stopped while opening", g->name);
    if (cn_clock_now() >= deadline)
      return cn_err_set(err, CN_ETIMEDOUT, "%s: no data for %d ms", g->name,
                        timeout_ms(g));
  }
}

static int set_state(gst_src_t *g, GstState state, int64_t deadline,
                     GstStateChangeReturn *out, cn_err_t *err) {
  GstStateChangeReturn r = gst_element_set_state(g->pipeline, state);
  if (r == GST_STATE_CHANGE_FAILURE)
    return start_failed(g, err);
  if (r == GST_STATE_CHANGE_ASYNC)
    return wait_state(g, deadline, out, err);
  *out = r;
  return 0;
}

/* Buffer times of a live pipeline on the monotonic system clock are
 * capture times on our clock: base_time + running time. */
static void note_clock(gst_src_t *g) {
  GstClock *clock = gst_element_get_clock(g->pipeline);
  g->clock_mono = false;
  if (clock && G_OBJECT_TYPE(clock) == GST_TYPE_SYSTEM_CLOCK) {
    GstClockType type = GST_CLOCK_TYPE_REALTIME;
    g_object_get(clock, "clock-type", &type, NULL);
    g->clock_mono = type == GST_CLOCK_TYPE_MONOTONIC;
  }
  if (clock)
    gst_object_unref(clock);
  g->base_time = gst_element_get_base_time(g->pipeline);
}

static void fill_info(gst_src_t *g, cn_source_info_t *info) {
  info->live = g->live;
  GstPad *pad = gst_element_get_static_pad(GST_ELEMENT(g->sink), "sink");
  GstCaps *caps = pad ? gst_pad_get_current_caps(pad) : NULL;
  GstVideoInfo vi;
  if (caps && gst_video_info_from_caps(&vi, caps)) {
    info->width = GST_VIDEO_INFO_WIDTH(&vi);
    info->height = GST_VIDEO_INFO_HEIGHT(&vi);
    if (GST_VIDEO_INFO_FPS_N(&vi) > 0 && GST_VIDEO_INFO_FPS_D(&vi) > 0)
      info->fps = (double)GST_VIDEO_INFO_FPS_N(&vi) / GST_VIDEO_INFO_FPS_D(&vi);
  }
  if (caps)
    gst_caps_unref(caps);
  if (pad)
    gst_object_unref(pad);
}

/* Liveness comes from the pipeline itself: live sources do not preroll
 * (NO_PREROLL going to PAUSED). Anything else is treated as a file and
 * paced by source.c at its pts. */
static int gst_open(void *ctx, cn_source_info_t *info, cn_err_t *err) {
  gst_src_t *g = ctx;
  gst_close(g);
  GError *gerr = NULL;
  if (!gst_init_check(NULL, NULL, &gerr)) {
    int rc = cn_err_set(err, CN_EUNSUPPORTED, "%s: GStreamer: %s", g->name,
                        gerr ? gerr->message : "could not initialise");
    if (gerr)
      g_error_free(gerr);
    return rc;
  }
  cn_log(g->env->opts->log, CN_LOG_DEBUG, g->env->prefix, "gst pipeline: %s",
         g->launch);
  GstElement *el = gst_parse_launch_full(g->launch, NULL,
                                         GST_PARSE_FLAG_FATAL_ERRORS, &gerr);
  if (!el || gerr) {
    bool missing = gerr && gerr->domain == GST_PARSE_ERROR &&
                   gerr->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT;
    int rc = cn_err_set(err, missing ? CN_EUNSUPPORTED : CN_EINVAL, "%s: %s%s",
                        g->name, missing ? "" : "could not parse pipeline: ",
                        gerr ? gerr->message : "unknown error");
    one_line(err);
    if (gerr)
      g_error_free(gerr);
    if (el)
      gst_object_unref(gst_object_ref_sink(el));
    return rc;
  }
  g->pipeline = gst_object_ref_sink(el);
  int rc = 0;
  GstElement *sink = NULL;
  if (!GST_IS_PIPELINE(el))
    rc = cn_err_set(err, CN_EINVAL,
                    "%s: not a pipeline (nothing feeds the "
                    "appsink)",
                    g->name);
  else if (!(sink = find_appsink(GST_BIN(el))))
    rc = cn_err_set(err, CN_EINVAL, "%s: no appsink in the pipeline", g->name);
  else if (g->mode == SINK_INSIDE)
    rc = insert_converter(g, sink, err);
  if (rc) {
    if (sink)
      gst_object_unref(sink);
    gst_close(g);
    return rc;
  }
  g->sink = GST_APP_SINK(sink);
#ifdef CN_TSAN
  GstPad *sink_pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(sink_pad,
                    GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                    tsan_release, g, NULL);
  gst_object_unref(sink_pad);
#endif
  GstCaps *caps = gst_caps_from_string(g->caps);
  gst_app_sink_set_caps(g->sink, caps);
  gst_caps_unref(caps);
  /* drop stays off until the pipeline proves live: a file must block. */
  g_object_set(sink, "max-buffers", 1u, "drop", FALSE, "emit-signals", FALSE,
               "sync", FALSE, "enable-last-sample", FALSE, NULL);
  g->bus = gst_element_get_bus(el);
  gst_bus_set_sync_handler(g->bus, bus_filter, g, NULL);

  int64_t deadline = cn_clock_now() + timeout_ms(g) * CN_NS_PER_MS;
  GstStateChangeReturn r = GST_STATE_CHANGE_SUCCESS;
  rc = set_state(g, GST_STATE_PAUSED, deadline, &r, err);
  if (rc == 0) {
    g->live = r == GST_STATE_CHANGE_NO_PREROLL;
    if (g->live)
      g_object_set(sink, "drop", TRUE, NULL);
    rc = set_state(g, GST_STATE_PLAYING, deadline, &r, err);
  }
  if (rc) {
    gst_close(g);
    return rc;
  }
  note_clock(g);
  fill_info(g, info);
  return 0;
}

static int64_t capture_time(const gst_src_t *g, GstSample *s, GstBuffer *b,
                            int64_t now) {
  if (!g->live || !g->clock_mono || !GST_BUFFER_PTS_IS_VALID(b))
    return now;
  const GstSegment *seg = gst_sample_get_segment(s);
  if (!seg || seg->format != GST_FORMAT_TIME)
    return now;
  guint64 rt =
      gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(b));
  if (rt == GST_CLOCK_TIME_NONE)
    return now;
  int64_t t = (int64_t)(g->base_time + rt);
  return t <= now && now - t < MAX_CAPTURE_AGE_NS ? t : now;
}

/* Takes over s: maps its buffer into the frame's payload. */
static int fill_frame(gst_src_t *g, cn_frame_t *f, GstSample *s,
                      cn_err_t *err) {
  int64_t now = cn_clock_now();
  gst_frame_t *p = f->priv;
  GstBuffer *buf = gst_sample_get_buffer(s);
  GstCaps *caps = gst_sample_get_caps(s);
  int rc = 0;
  if (!buf || !caps) {
    rc = cn_err_set(err, CN_EFORMAT, "%s: sample without buffer or caps",
                    g->name);
  } else if (caps != g->last_caps) {
    if (gst_video_info_from_caps(&g->vinfo, caps))
      gst_caps_replace(&g->last_caps, caps);
    else
      rc = cn_err_set(err, CN_EFORMAT, "%s: not raw video", g->name);
  }
  if (rc == 0 && GST_VIDEO_INFO_FORMAT(&g->vinfo) != GST_VIDEO_FORMAT_BGR)
    rc = cn_err_set(
        err, CN_EFORMAT, "%s: appsink delivers %s, not BGR", g->name,
        gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&g->vinfo)));
  if (rc == 0 && !gst_video_frame_map(&p->vf, &g->vinfo, buf, GST_MAP_READ))
    rc = cn_err_set(err, CN_EIO, "%s: could not map a buffer", g->name);
  if (rc) {
    gst_sample_unref(s);
    atomic_fetch_add(&g->env->decode_errors, 1);
    return rc;
  }
  p->sample = s;
  p->mapped = true;
  cn_frame_set_pixels(f, GST_VIDEO_FRAME_PLANE_DATA(&p->vf, 0),
                      GST_VIDEO_FRAME_PLANE_STRIDE(&p->vf, 0),
                      GST_VIDEO_FRAME_WIDTH(&p->vf),
                      GST_VIDEO_FRAME_HEIGHT(&p->vf), CN_PIX_BGR24);
  f->pts = GST_BUFFER_PTS_IS_VALID(buf)
               ? (double)GST_BUFFER_PTS(buf) / (double)GST_SECOND
               : (double)NAN;
  f->t_capture = capture_time(g, s, buf, now);
  f->t_decode = now;
  f->t_develop = now;
  return 0;
}

static int gst_read(void *ctx, cn_frame_t *f, cn_err_t *err) {
  gst_src_t *g = ctx;
  if (!g->pipeline)
    return cn_err_set(err, CN_EINVAL, "%s: not open", g->name);
  int64_t deadline = cn_clock_now() + timeout_ms(g) * CN_NS_PER_MS;
  const GstMessageType stop_types = GST_MESSAGE_ERROR | GST_MESSAGE_EOS;
  for (;;) {
    if (atomic_load(g->env->stop))
      return CN_EAGAIN;
    int64_t t0 = cn_clock_now();
    GstSample *s = gst_app_sink_try_pull_sample(g->sink, STEP_NS);
    if (s) {
#ifdef CN_TSAN
      (void)atomic_load_explicit(&g->handoff, memory_order_acquire);
#endif
      return fill_frame(g, f, s, err);
    }
    GstMessage *m = gst_bus_pop_filtered(g->bus, stop_types);
    if (m)
      return message_error(g, m, err);
    if (gst_app_sink_is_eos(g->sink))
      return cn_err_set(err, CN_EOF, "%s: end of stream", g->name);
    int64_t t1 = cn_clock_now();
    if (t1 >= deadline)
      return cn_err_set(err, CN_ETIMEDOUT, "%s: no data for %d ms", g->name,
                        timeout_ms(g));
    /* An appsink that returns at once without EOS is flushing: wait on
     * the bus instead of spinning. */
    if (t1 - t0 < STEP_NS / 2) {
      m = gst_bus_timed_pop_filtered(g->bus, STEP_NS, stop_types);
      if (m)
        return message_error(g, m, err);
    }
  }
}

static int gst_priv_init(void *ctx, cn_frame_t *f, cn_err_t *err) {
  gst_src_t *g = ctx;
  f->priv = calloc(1, sizeof(gst_frame_t));
  return f->priv ? 0 : cn_err_set(err, CN_ENOMEM, "%s: out of memory", g->name);
}

/* Any thread: the last holder of the frame gives the buffer back. */
static void gst_priv_reset(void *ctx, cn_frame_t *f) {
  (void)ctx;
  gst_frame_t *p = f->priv;
  if (p->mapped)
    gst_video_frame_unmap(&p->vf);
  if (p->sample)
    gst_sample_unref(p->sample);
  p->mapped = false;
  p->sample = NULL;
}

static void gst_priv_free(void *ctx, cn_frame_t *f) {
  if (f->priv)
    gst_priv_reset(ctx, f);
  free(f->priv);
  f->priv = NULL;
}

const cn_source_backend_t cn__source_gst = {
    .name = "gst",
    .create = gst_create,
    .destroy = gst_destroy,
    .open = gst_open,
    .read = gst_read,
    .rewind = NULL, /* close + open replays the pipeline from the start */
    .close = gst_close,
    .priv_init = gst_priv_init,
    .priv_reset = gst_priv_reset,
    .priv_free = gst_priv_free,
    .develop = NULL, /* pixels are mapped at read */
};
