/* cn_rtsp_server: a loopback RTSP server whose frames carry their number.
 *
 *   cn_rtsp_server --port N [--path /cam] [--size WxH] [--fps F]
 *                  [--codec h264|h265|mjpeg] [--slices N] [--log FILE]
 *                  [--first N] [--address A] [--user U --password P]
 *                  [--audio pcma|opus]
 *
 * Frames are painted with cn_pattern_paint_bgr (number 1, 2, 3... for the
 * life of the process, or from --first N, so that a test tells a restarted
 * server's frames from the old one's) and pushed into an appsrc at the paced
 * rate, then encoded (x264enc zerolatency, or jpegenc for RTP JPEG). H.264
 * frames are one slice, unless --slices asks for more (as cameras with sliced
 * encoders send: each slice is its own NAL unit and RTP packets). With --log,
 * one line "N t_push_ns" per pushed frame records when frame N went live
 * (CLOCK_MONOTONIC), so a client can measure its own delay per frame.
 *
 * Like an IP camera: --user/--password require RTSP digest authentication
 * (the only method offered, as cameras do), and --audio adds a live audio
 * track (a tone, PCMA or Opus) to the same media, which a video client
 * must ignore. --address listens elsewhere than 127.0.0.1 (a test's
 * network namespace).
 *
 * One pipeline is shared by all clients; frames are painted only while a
 * client is connected. Prints "ready" once listening; exits 0 on SIGTERM
 * or SIGINT. Used by the tests and the capture benchmark.
 */
#include <glib-unix.h>
#include <gst/app/gstappsrc.h>
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "core/pattern.h"

typedef struct server_opts {
  int port;
  const char *path;
  int width, height;
  double fps;
  const char *codec;
  const char *log_path;
  int slices;
  long first; /* the first frame's number (a restarted server's differ) */
  const char *address;
  const char *user, *password; /* digest authentication when set */
  const char *audio;           /* NULL, "pcma" or "opus" */
} server_opts_t;

/* State shared by the GLib main loop (media callbacks) and the pusher
 * thread. lock guards appsrc and stop. */
typedef struct server {
  server_opts_t opts;
  GMainLoop *loop;
  GMutex lock;
  GCond cond;
  GstAppSrc *appsrc;   /* the live media's source; NULL while no client */
  GstRTSPMedia *media; /* its media, compared only (no reference) */
  bool stop;
  GstBufferPool *pool;
  GstCaps *caps;
  FILE *log;
} server_t;

static int usage(const char *why) {
  if (why)
    fprintf(stderr, "cn_rtsp_server: %s\n", why);
  fprintf(stderr, "usage: cn_rtsp_server --port N [--path /cam] [--size WxH] "
                  "[--fps F] [--codec h264|h265|mjpeg] [--slices N] "
                  "[--log FILE] [--first N] [--address A] "
                  "[--user U --password P] [--audio pcma|opus]\n");
  return 2;
}

static int parse_args(int argc, char **argv, server_opts_t *o) {
  *o = (server_opts_t){.path = "/cam",
                       .width = 640,
                       .height = 480,
                       .fps = 30.0,
                       .codec = "h264",
                       .slices = 1,
                       .first = 1,
                       .address = "127.0.0.1"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v)
      return usage("option needs a value");
    i++;
    if (!strcmp(a, "--port"))
      o->port = atoi(v);
    else if (!strcmp(a, "--path"))
      o->path = v;
    else if (!strcmp(a, "--size")) {
      if (sscanf(v, "%dx%d", &o->width, &o->height) != 2)
        return usage("--size wants WxH");
    } else if (!strcmp(a, "--fps"))
      o->fps = atof(v);
    else if (!strcmp(a, "--codec"))
      o->codec = v;
    else if (!strcmp(a, "--log"))
      o->log_path = v;
    else if (!strcmp(a, "--slices"))
      o->slices = atoi(v);
    else if (!strcmp(a, "--first"))
      o->first = atol(v);
    else if (!strcmp(a, "--address"))
      o->address = v;
    else if (!strcmp(a, "--user"))
      o->user = v;
    else if (!strcmp(a, "--password"))
      o->password = v;
    else if (!strcmp(a, "--audio"))
      o->audio = v;
    else
      return usage("unknown option");
  }
  if (o->port <= 0 || o->port > 65535)
    return usage("--port is required (1..65535)");
  if (o->path[0] != '/')
    return usage("--path must start with /");
  /* The pattern needs 68x16; RTP JPEG wants multiples of 8 up to 2040. */
  if (o->width < 68 || o->height < 16 || o->width > 4096 || o->height > 4096 ||
      o->width % 8 || o->height % 8)
    return usage("--size must be multiples of 8, 72x16 to 4096x4096");
  if (!(o->fps >= 1.0 && o->fps <= 240.0))
    return usage("--fps must be 1..240");
  if (strcmp(o->codec, "h264") && strcmp(o->codec, "h265") &&
      strcmp(o->codec, "mjpeg"))
    return usage("--codec must be h264, h265 or mjpeg");
  if (o->slices < 1 || o->slices > 16)
    return usage("--slices must be 1..16");
  if (o->first < 1 || o->first > 1000000000L)
    return usage("--first must be 1..1000000000");
  if (!o->user != !o->password)
    return usage("--user and --password go together");
  if (o->audio && strcmp(o->audio, "pcma") && strcmp(o->audio, "opus"))
    return usage("--audio must be pcma or opus");
  return 0;
}

/* gst-rtsp-server's transport sinks sync to the pipeline clock, which
 * holds every frame back by the pipeline latency. Our appsrc is already
 * paced in real time, so sending as soon as a packet exists is what a
 * camera does, and what makes the logged push time meaningful. */
static void on_element_added(GstBin *bin, GstBin *sub, GstElement *el,
                             gpointer data) {
  (void)bin;
  (void)sub;
  (void)data;
  if (GST_IS_BASE_SINK(el))
    g_object_set(el, "sync", FALSE, NULL);
}

static void on_media_unprepared(GstRTSPMedia *media, gpointer data) {
  server_t *s = data;
  fprintf(stderr, "cn_rtsp_server: media unprepared\n");
  g_mutex_lock(&s->lock);
  if (s->media == media) {
    gst_object_unref(s->appsrc);
    s->appsrc = NULL;
    s->media = NULL;
  }
  g_mutex_unlock(&s->lock);
}

/* audiotestsrc says it can seek; then the media does too, and a client's
 * PLAY with "Range: npt=0-" (FFmpeg's) makes the server seek the whole
 * pipeline, which the appsrc refuses: 503. A camera's microphone is live
 * and cannot seek, so the tone says so. */
static GstPadProbeReturn on_audio_query(GstPad *pad, GstPadProbeInfo *info,
                                        gpointer data) {
  (void)pad;
  (void)data;
  GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
  if (GST_QUERY_TYPE(q) != GST_QUERY_SEEKING)
    return GST_PAD_PROBE_OK;
  GstFormat fmt;
  gst_query_parse_seeking(q, &fmt, NULL, NULL, NULL);
  gst_query_set_seeking(q, fmt, FALSE, 0, -1);
  return GST_PAD_PROBE_HANDLED;
}

static void audio_not_seekable(GstElement *media_bin) {
  GstElement *asrc = gst_bin_get_by_name(GST_BIN(media_bin), "asrc");
  if (!asrc)
    return;
  GstPad *pad = gst_element_get_static_pad(asrc, "src");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_QUERY_UPSTREAM, on_audio_query,
                    NULL, NULL);
  gst_object_unref(pad);
  gst_object_unref(asrc);
}

static void on_media_configure(GstRTSPMediaFactory *factory,
                               GstRTSPMedia *media, gpointer data) {
  (void)factory;
  server_t *s = data;
  GstElement *el = gst_rtsp_media_get_element(media);
  GstElement *src = gst_bin_get_by_name(GST_BIN(el), "src");
  GstObject *pipeline = gst_object_get_parent(GST_OBJECT(el));
  if (pipeline && GST_IS_BIN(pipeline))
    g_signal_connect(pipeline, "deep-element-added",
                     G_CALLBACK(on_element_added), NULL);
  if (pipeline)
    gst_object_unref(pipeline);
  audio_not_seekable(el);
  gst_object_unref(el);
  if (!src) {
    fprintf(stderr, "cn_rtsp_server: no appsrc in the media\n");
    return;
  }
  /* A paced live source: stamped on push. A stalled client must not let
   * raw frames pile up, so the queue is short and drops its oldest. */
  g_object_set(src, "caps", s->caps, "format", GST_FORMAT_TIME, "is-live", TRUE,
               "do-timestamp", TRUE, "max-buffers", (guint64)4, "leaky-type",
               GST_APP_LEAKY_TYPE_DOWNSTREAM, NULL);
  g_signal_connect(media, "unprepared", G_CALLBACK(on_media_unprepared), s);
  fprintf(stderr, "cn_rtsp_server: media configured\n");
  g_mutex_lock(&s->lock);
  if (s->appsrc)
    gst_object_unref(s->appsrc);
  s->appsrc = GST_APP_SRC(src); /* takes the reference */
  s->media = media;
  g_cond_broadcast(&s->cond);
  g_mutex_unlock(&s->lock);
}

/* Paints and pushes frames at the configured rate while a client is
 * connected. A pusher that falls behind (machine busy) restarts its
 * schedule instead of bursting the missed frames. */
static gpointer pusher_main(gpointer data) {
  server_t *s = data;
  const gint64 period_us = (gint64)(1e6 / s->opts.fps);
  uint32_t number = (uint32_t)(s->opts.first - 1);
  gint64 deadline = 0;
  GstFlowReturn last = GST_FLOW_CUSTOM_SUCCESS; /* none yet */
  g_mutex_lock(&s->lock);
  while (!s->stop) {
    if (!s->appsrc) {
      g_cond_wait(&s->cond, &s->lock);
      deadline = 0;
      continue;
    }
    gint64 now = g_get_monotonic_time();
    if (deadline && now < deadline) {
      g_cond_wait_until(&s->cond, &s->lock, deadline);
      continue;
    }
    deadline = (deadline && now - deadline < period_us) ? deadline + period_us
                                                        : now + period_us;
    GstAppSrc *src = GST_APP_SRC(gst_object_ref(s->appsrc));
    g_mutex_unlock(&s->lock);

    GstBuffer *buf = NULL;
    if (gst_buffer_pool_acquire_buffer(s->pool, &buf, NULL) == GST_FLOW_OK) {
      GstMapInfo map;
      if (gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
        cn_pattern_paint_bgr(map.data, s->opts.width * 3, s->opts.width,
                             s->opts.height, ++number);
        gst_buffer_unmap(buf, &map);
      }
      GST_BUFFER_DURATION(buf) = (GstClockTime)period_us * GST_USECOND;
      /* Logged before the push: once pushed, a client may decode the frame
       * and read the log before this thread runs again (seen on a loaded
       * machine), and "never beyond the last pushed" must hold then. */
      int64_t t_push = cn_clock_now();
      if (s->log) {
        fprintf(s->log, "%u %lld\n", (unsigned)number, (long long)t_push);
        fflush(s->log);
      }
      GstFlowReturn ret = gst_app_src_push_buffer(src, buf);
      if (ret != last)
        fprintf(stderr, "cn_rtsp_server: frame %u: push %s\n", (unsigned)number,
                gst_flow_get_name(ret));
      last = ret;
    }
    gst_object_unref(src);
    g_mutex_lock(&s->lock);
  }
  g_mutex_unlock(&s->lock);
  return NULL;
}

static gboolean on_signal(gpointer data) {
  g_main_loop_quit(((server_t *)data)->loop);
  return G_SOURCE_CONTINUE;
}

static GstBufferPool *make_pool(GstCaps *caps, guint size) {
  GstBufferPool *pool = gst_buffer_pool_new();
  GstStructure *cfg = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(cfg, caps, size, 2, 0);
  if (!gst_buffer_pool_set_config(pool, cfg) ||
      !gst_buffer_pool_set_active(pool, TRUE)) {
    gst_object_unref(pool);
    return NULL;
  }
  return pool;
}

/* Returns 0, or 1 with the message printed. */
static int open_buffers(server_t *s) {
  if (s->opts.log_path && !(s->log = fopen(s->opts.log_path, "w"))) {
    fprintf(stderr, "cn_rtsp_server: %s: cannot write\n", s->opts.log_path);
    return 1;
  }
  int fps_n, fps_d;
  gst_util_double_to_fraction(s->opts.fps, &fps_n, &fps_d);
  s->caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGR",
                                "width", G_TYPE_INT, s->opts.width, "height",
                                G_TYPE_INT, s->opts.height, "framerate",
                                GST_TYPE_FRACTION, fps_n, fps_d, NULL);
  s->pool = make_pool(s->caps, (guint)(s->opts.width * s->opts.height * 3));
  if (!s->pool) {
    fprintf(stderr, "cn_rtsp_server: cannot make a buffer pool\n");
    return 1;
  }
  return 0;
}

/* The audio track, as pay1 in the same media: a live tone (a camera's
 * microphone), 8 kHz G.711 A-law (pt 8, static) or 48 kHz Opus. */
static const char *audio_launch(const server_opts_t *o) {
  if (!o->audio)
    return "";
  if (!strcmp(o->audio, "pcma"))
    return " audiotestsrc name=asrc is-live=true wave=sine ! audioconvert ! "
           "audioresample ! audio/x-raw,rate=8000,channels=1 ! alawenc ! "
           "rtppcmapay name=pay1 pt=8";
  return " audiotestsrc name=asrc is-live=true wave=sine ! audioconvert ! "
         "audioresample ! audio/x-raw,rate=48000,channels=1 ! opusenc ! "
         "rtpopuspay name=pay1 pt=97";
}

static void media_launch(const server_opts_t *o, char *launch, size_t size) {
  int key = (int)(o->fps + 0.5);
  char video[400];
  /* One encoder thread: zerolatency's sliced threads would otherwise
   * decide the slice count (one per thread); --slices sets it instead. */
  if (!strcmp(o->codec, "h264"))
    snprintf(video, sizeof video,
             "appsrc name=src ! videoconvert ! video/x-raw,format=I420 ! "
             "x264enc tune=zerolatency speed-preset=ultrafast threads=1 "
             "key-int-max=%d option-string=slices=%d ! "
             "rtph264pay name=pay0 pt=96 config-interval=-1",
             key, o->slices);
  else if (!strcmp(o->codec, "h265"))
    snprintf(video, sizeof video,
             "appsrc name=src ! videoconvert ! video/x-raw,format=I420 ! "
             "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=%d "
             "! rtph265pay name=pay0 pt=96 config-interval=-1",
             key);
  else
    snprintf(video, sizeof video,
             "appsrc name=src ! videoconvert ! video/x-raw,format=I420 ! "
             "jpegenc quality=85 ! rtpjpegpay name=pay0 pt=26");
  snprintf(launch, size, "( %s%s )", video, audio_launch(o));
}

/* Digest authentication as a camera asks for it: the one user may see
 * and start the media; nobody else gets past the 401. */
static void require_digest(GstRTSPServer *server, GstRTSPMediaFactory *factory,
                           const server_opts_t *o) {
  GstRTSPAuth *auth = gst_rtsp_auth_new();
  gst_rtsp_auth_set_supported_methods(auth, GST_RTSP_AUTH_DIGEST);
  GstRTSPToken *token = gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE,
                                           G_TYPE_STRING, "viewer", NULL);
  gst_rtsp_auth_add_digest(auth, o->user, o->password, token);
  gst_rtsp_token_unref(token);
  gst_rtsp_server_set_auth(server, auth);
  g_object_unref(auth);
  GstRTSPPermissions *perm = gst_rtsp_permissions_new();
  gst_rtsp_permissions_add_role(
      perm, "viewer", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN, TRUE,
      GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE, NULL);
  gst_rtsp_media_factory_set_permissions(factory, perm);
  gst_rtsp_permissions_unref(perm);
}

/* Mounts the shared media and attaches the listening socket to the default
 * main context. Returns the server, or NULL with the message printed. */
static GstRTSPServer *start_server(server_t *s, GSource **listen) {
  char launch[768];
  media_launch(&s->opts, launch, sizeof launch);
  GstRTSPServer *server = gst_rtsp_server_new();
  char service[16];
  snprintf(service, sizeof service, "%d", s->opts.port);
  gst_rtsp_server_set_address(server, s->opts.address);
  gst_rtsp_server_set_service(server, service);
  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, launch);
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  g_signal_connect(factory, "media-configure", G_CALLBACK(on_media_configure),
                   s);
  if (s->opts.user)
    require_digest(server, factory, &s->opts);
  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, s->opts.path, factory);
  g_object_unref(mounts);

  GError *gerr = NULL;
  *listen = gst_rtsp_server_create_source(server, NULL, &gerr);
  if (!*listen) {
    fprintf(stderr, "cn_rtsp_server: %s:%d: %s\n", s->opts.address,
            s->opts.port, gerr ? gerr->message : "cannot listen");
    g_clear_error(&gerr);
    g_object_unref(server);
    return NULL;
  }
  g_source_attach(*listen, NULL);
  return server;
}

static void stop_pusher(server_t *s, GThread *pusher) {
  g_mutex_lock(&s->lock);
  s->stop = true;
  g_cond_broadcast(&s->cond);
  g_mutex_unlock(&s->lock);
  g_thread_join(pusher);
}

static void release(server_t *s) {
  /* Media teardown runs on GStreamer's threads: a late "unprepared" must
   * find nothing left to drop, or it unrefs the appsrc a second time. */
  g_mutex_lock(&s->lock);
  GstAppSrc *appsrc = s->appsrc;
  s->appsrc = NULL;
  s->media = NULL;
  g_mutex_unlock(&s->lock);
  if (appsrc)
    gst_object_unref(appsrc);
  gst_buffer_pool_set_active(s->pool, FALSE);
  gst_object_unref(s->pool);
  gst_caps_unref(s->caps);
  g_main_loop_unref(s->loop);
  /* The lock and condition stay initialised for that late callback. */
  if (s->log)
    fclose(s->log);
}

int main(int argc, char **argv) {
  /* Static: GStreamer's threads may still call on_media_unprepared while
   * the process exits (a client that left just before SIGTERM). */
  static server_t s;
  int rc = parse_args(argc, argv, &s.opts);
  if (rc)
    return rc;
  signal(SIGPIPE, SIG_IGN);
  gst_init(NULL, NULL);
  if (open_buffers(&s))
    return 1;
  GSource *listen = NULL;
  GstRTSPServer *server = start_server(&s, &listen);
  if (!server)
    return 1;

  g_mutex_init(&s.lock);
  g_cond_init(&s.cond);
  s.loop = g_main_loop_new(NULL, FALSE);
  g_unix_signal_add(SIGTERM, on_signal, &s);
  g_unix_signal_add(SIGINT, on_signal, &s);
  GThread *pusher = g_thread_new("pusher", pusher_main, &s);

  printf("ready\n");
  fflush(stdout);
  g_main_loop_run(s.loop);

  stop_pusher(&s, pusher);
  g_source_destroy(listen);
  g_source_unref(listen);
  g_object_unref(server);
  release(&s);
  return 0;
}
