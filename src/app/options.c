#include "app/options.h"
#include "app/optparse.h"
#include "app/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/model.h"
#include "outputs/mqtt.h"
#include "sources/gst_pipelines.h"

#define F(field) offsetof(cn_app_config_t, field)
static const cn_opt_t options[] = {
    {"config", 0, "FILE", CN_ARG_STRING, F(config), 0, 0, 0,
     "read settings and sources from the INI file FILE (see CONFIGURATION "
     "FILE in camnet(1)); the command line overrides it"},
    {"print-config", 0, NULL, CN_ARG_FLAG, F(print_config), 0, 0, 0,
     "print the effective configuration as a config file, secrets masked, "
     "and exit"},
    {"out", 'o', "FILE", CN_ARG_LIST, F(outs), 0, CN_APP_MAX_OUTS, F(n_outs),
     "write to FILE, by its kind: .jsonl/.json or '-' as --json, .mp4/.mkv/"
     ".mov as --record (repeatable)"},
    {"json", 0, "FILE", CN_ARG_STRING, F(json), 0, 0, 0,
     "write one JSON object per delivered frame to FILE ('-': stdout)"},
    {"name", 0, "NAME", CN_ARG_LIST, F(names), 0, CN_APP_MAX_SOURCES,
     F(n_names),
     "name of the next source in records and logs (repeatable, in source "
     "order; default: its URI without credentials)"},
    {"frames", 0, "N", CN_ARG_INT, F(frames), 0, 1e12, 0,
     "stop after N delivered frames"},
    {"duration", 0, "S", CN_ARG_DOUBLE, F(duration), 0, 1e9, 0,
     "stop after S seconds"},
    {"trace", 0, "FILE", CN_ARG_STRING, F(trace), 0, 0, 0,
     "write per-frame spans of every thread to FILE as Chrome trace-event "
     "JSON (Perfetto, chrome://tracing, camnet timeline)"},
    {"every-frame", 0, NULL, CN_ARG_FLAG, F(every_frame), 0, 0, 0,
     "files: process every frame, unpaced, no drops (offline work)"},
    {"loop", 0, NULL, CN_ARG_FLAG, F(loop), 0, 0, 0,
     "files: start again at the end"},
    {"reconnect", 0, "N", CN_ARG_INT, F(reconnect), -1, 1e9, 0,
     "live sources: reopen attempts in a row before giving up (-1: forever)"},
    {"timeout", 0, "MS", CN_ARG_INT, F(timeout_ms), 1, 3.6e6, 0,
     "a read that stalls this long counts as a failure (default 5000)"},
    {"latency", 0, "MS", CN_ARG_INT, F(latency_ms), 0, 10000, 0,
     "RTSP jitter buffer (default 50)"},
    {"transport", 0, "tcp|udp", CN_ARG_STRING, F(transport), 0, 0, 0,
     "RTSP transport (default tcp)"},
    {"rtsp-via", 0, "gst|ffmpeg", CN_ARG_STRING, F(rtsp_via), 0, 0, 0,
     "RTSP client: ffmpeg (libavformat's; default) or gst (GStreamer's, "
     "each picture decoded as soon as its last packet is in: a frame "
     "sooner, not yet the default)"},
    {"width", 0, "W", CN_ARG_INT, F(width), 0, 16384, 0,
     "capture width (cameras) or output width"},
    {"height", 0, "H", CN_ARG_INT, F(height), 0, 16384, 0,
     "capture height (cameras) or output height"},
    {"fps", 0, "F", CN_ARG_DOUBLE, F(fps), 0, 1000, 0,
     "camera frame rate; rate of image sequences (default 25)"},
    {"input-format", 0, "FMT", CN_ARG_STRING, F(input_format), 0, 0, 0,
     "V4L2 pixel format: mjpeg or yuyv422"},
    {"model", 0, "FILE", CN_ARG_STRING, F(model), 0, 0, 0,
     "network: .onnx, or .caffemodel with --prototxt"},
    {"prototxt", 0, "FILE", CN_ARG_STRING, F(prototxt), 0, 0, 0,
     "Caffe network description (deploy.prototxt)"},
    {"labels", 0, "FILE", CN_ARG_STRING, F(labels), 0, 0, 0,
     "class names, one per line or synset lines (n01440764 tench)"},
    {"mean", 0, "FILE|B,G,R", CN_ARG_STRING, F(mean), 0, 0, 0,
     "mean to subtract: .binaryproto, .npy or B,G,R values"},
    {"output", 0, "NAME", CN_ARG_STRING, F(output), 0, 0, 0,
     "classification output blob (default: the network's output)"},
    {"crop", 0, NULL, CN_ARG_FLAG, F(crop), 0, 0, 0,
     "take the centre square first"},
    {"size", 0, "WxH", CN_ARG_STRING, F(size), 0, 0, 0,
     "network input size when the model leaves it open"},
    {"input-shape", 0, "NAME:1x3xHxW", CN_ARG_LIST, F(input_shapes), 0,
     CN_APP_MAX_SHAPES, F(n_input_shapes),
     "size of a network input the model leaves open (repeatable; no NAME: "
     "the first input)"},
    {"scale", 0, "S", CN_ARG_DOUBLE, F(scale), 0, 1e6, 0,
     "multiply pixels by S after the mean (e.g. 0.0078125)"},
    {"std", 0, "B,G,R", CN_ARG_STRING, F(std), 0, 0, 0,
     "divide by these after scale"},
    {"rgb", 0, NULL, CN_ARG_FLAG, F(rgb), 0, 0, 0, "the network takes RGB"},
    {"bgr", 0, NULL, CN_ARG_FLAG, F(bgr), 0, 0, 0,
     "the network takes BGR (Caffe)"},
    {"top", 0, "K", CN_ARG_INT, F(top), 1, 10, 0,
     "classes to show (default 3)"},
    {"task", 0, "classify|detect", CN_ARG_STRING, F(task), 0, 0, 0,
     "what the model does, when camnet cannot tell"},
    {"decoder", 0, "blazeface|ssd|yolo", CN_ARG_STRING, F(decoder), 0, 0, 0,
     "how to read a detector's outputs, when camnet cannot tell"},
    {"threshold", 0, "T", CN_ARG_DOUBLE, F(threshold), 0, 1, 0,
     "detection score threshold (default: the decoder's)"},
    {"nms", 0, "IOU", CN_ARG_DOUBLE, F(nms), 0, 1, 0,
     "non-maximum suppression IoU (default: the decoder's)"},
    {"threads", 0, "auto|N", CN_ARG_STRING, F(threads_arg), 0, 0, 0,
     "inference threads: auto (default) sizes the engine's team to the "
     "cores the capture leaves and, when one engine cannot keep up, runs "
     "two taking turns on the newest frames; N: one engine of N threads"},
    {"backend", 0, "dnnl|ref", CN_ARG_STRING, F(backend), 0, 0, 0,
     "inference backend (default dnnl)"},
    {"display", 0, "inferred|live", CN_ARG_STRING, F(display), 0, 0, 0,
     "window shows each inferred frame (default) or every frame"},
    {"headless", 0, NULL, CN_ARG_FLAG, F(headless), 0, 0, 0, "no window"},
    {"record", 0, "FILE", CN_ARG_STRING, F(record), 0, 0, 0,
     "record the annotated video (H.264 .mp4)"},
    {"snapshot-every", 0, "N", CN_ARG_INT, F(snapshot_every), 0, 1e9, 0,
     "save every Nth shown picture as PNG"},
    {"snapshot-dir", 0, "DIR", CN_ARG_STRING, F(snapshot_dir), 0, 0, 0,
     "where snapshots go (default .)"},
    {"http", 0, "[ADDR:]PORT", CN_ARG_STRING, F(http), 0, 0, 0,
     "serve the live view, results, state and metrics over HTTP (ADDR "
     "default 127.0.0.1; 0.0.0.0 for the LAN, with --http-token)"},
    {"http-token", 0, "T", CN_ARG_STRING, F(http_token), 0, 0, 0,
     "require 'Authorization: Bearer T' (browsers: open /?token=T once); "
     "default $CAMNET_HTTP_TOKEN"},
    {"http-cors", 0, "ORIGIN", CN_ARG_STRING, F(http_cors), 0, 0, 0,
     "let pages from ORIGIN read the HTTP endpoints (CORS)"},
    {"http-cert", 0, "FILE", CN_ARG_STRING, F(http_cert), 0, 0, 0,
     "serve HTTPS with this PEM certificate (and --http-key)"},
    {"http-key", 0, "FILE", CN_ARG_STRING, F(http_key), 0, 0, 0,
     "the PEM private key for --http-cert"},
    {"http-clients", 0, "N", CN_ARG_INT, F(http_clients), 1, 1000, 0,
     "HTTP connections at once (default 32)"},
    {"http-timeout", 0, "S", CN_ARG_INT, F(http_timeout), 1, 3600, 0,
     "drop an HTTP client idle (or not reading) this long (default 10)"},
    {"mqtt", 0, "URL", CN_ARG_STRING, F(mqtt), 0, 0, 0,
     "publish results and state to an MQTT broker: "
     "mqtt[s]://[user[:password]@]host[:port][/prefix] (port 1883, mqtts "
     "8883; prefix camnet; password also $CAMNET_MQTT_PASSWORD)"},
    {"mqtt-qos", 0, "0|1", CN_ARG_INT, F(mqtt_qos), 0, 1, 0,
     "MQTT quality of service of results and state (default 1: the broker "
     "acknowledges each)"},
    {"mqtt-rate", 0, "all|change[:S]|N", CN_ARG_STRING, F(mqtt_rate), 0, 0, 0,
     "which results to publish: all (default); change: when the classes or "
     "boxes change, and at least every S seconds (default 10); N: at most N "
     "per second per source"},
    {"mqtt-state-every", 0, "S", CN_ARG_DOUBLE, F(mqtt_state_every), 0.1, 86400,
     0,
     "publish each source's retained state every S seconds too "
     "(default 30)"},
    {"mqtt-cafile", 0, "FILE", CN_ARG_STRING, F(mqtt_cafile), 0, 0, 0,
     "mqtts: the broker's CA certificate (PEM; default: the system's)"},
    {"mqtt-cert", 0, "FILE", CN_ARG_STRING, F(mqtt_cert), 0, 0, 0,
     "mqtts: this client's certificate (PEM, with --mqtt-key)"},
    {"mqtt-key", 0, "FILE", CN_ARG_STRING, F(mqtt_key), 0, 0, 0,
     "mqtts: the private key of --mqtt-cert (PEM)"},
    {"instance-id", 0, "ID", CN_ARG_STRING, F(instance_id), 0, 0, 0,
     "this camnet's level in MQTT topics (default: the host name)"},
    {"usb", 0, NULL, CN_ARG_FLAG, F(usb), 0, 0, 0,
     "USB camera /dev/video<N>, N from --vid (the Jetson script's flag)"},
    {"vid", 0, "N", CN_ARG_INT, F(vid), 0, 255, 0,
     "video device number for --usb"},
    {"rtsp", 0, NULL, CN_ARG_FLAG, F(rtsp), 0, 0, 0,
     "the RTSP stream given by --uri (the Jetson script's flag)"},
    {"uri", 0, "URI", CN_ARG_STRING, F(uri), 0, 0, 0,
     "the RTSP URI for --rtsp"},
    {"onboard", 0, NULL, CN_ARG_FLAG, F(onboard), 0, 0, 0,
     "Jetson CSI camera (nvarguscamerasrc)"},
    {"quiet", 'q', NULL, CN_ARG_FLAG, F(quiet), 0, 0, 0,
     "only errors on stderr"},
    {"verbose", 'v', NULL, CN_ARG_FLAG, F(verbose), 0, 0, 0,
     "debug messages on stderr"},
    {"help", 'h', NULL, CN_ARG_FLAG, F(help), 0, 0, 0, "show this help"},
    {"version", 0, NULL, CN_ARG_FLAG, F(version), 0, 0, 0, "show the version"},
    {"man", 0, NULL, CN_ARG_FLAG, F(man), 0, 0, 0,
     "print the manual page camnet(1) in roff"},
};
#undef F
#define N_OPTIONS (sizeof options / sizeof options[0])

void cn_app_config_default(cn_app_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->reconnect = -1;
  cfg->timeout_ms = 5000;
  cfg->latency_ms = 50;
  cfg->transport = "tcp";
  cfg->rtsp_via = "ffmpeg";
  cfg->top = 3;
  cfg->threshold = -1;
  cfg->nms = -1;
  cfg->display = "inferred";
  cfg->snapshot_dir = ".";
  cfg->http_clients = 32;
  cfg->http_timeout = 10;
  cfg->mqtt_qos = 1;
  cfg->mqtt_state_every = 30;
}

static const cn_optset_t option_set;

static int add_source(void *cfg_, const char *word, cn_err_t *err) {
  cn_app_config_t *cfg = cfg_;
  if (cfg->n_sources == CN_APP_MAX_SOURCES)
    return cn_err_set(err, CN_EINVAL, "too many sources (at most %d)",
                      CN_APP_MAX_SOURCES);
  cfg->sources[cfg->n_sources++] = word;
  return 0;
}

static const cn_optset_t option_set = {options, N_OPTIONS, add_source};

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* -o FILE: the kind of output from the name, as ffmpeg does. */
static const char **out_slot(cn_app_config_t *cfg, const char *path) {
  if (!strcmp(path, "-") || ends_with(path, ".jsonl") ||
      ends_with(path, ".json") || ends_with(path, ".ndjson"))
    return &cfg->json;
  if (ends_with(path, ".mp4") || ends_with(path, ".mkv") ||
      ends_with(path, ".mov"))
    return &cfg->record;
  return NULL;
}

static int check_out(const char *path, cn_err_t *err) {
  cn_app_config_t probe;
  if (!out_slot(&probe, path))
    return cn_err_set(err, CN_EINVAL,
                      "option --out: '%s' is neither JSON Lines (.jsonl, "
                      ".json, .ndjson, -) nor a video (.mp4, .mkv, .mov)",
                      path);
  return 0;
}

static int resolve_out(cn_app_config_t *cfg, const char *path, cn_err_t *err) {
  const char **slot = out_slot(cfg, path);
  if (*slot)
    return cn_err_set(err, CN_EINVAL,
                      "option --out: '%s' and '%s' are the same kind of "
                      "output; give one",
                      *slot, path);
  *slot = path;
  return 0;
}

/* --size WxH, each 1..16384. */
static int check_size(const char *size, cn_err_t *err) {
  int w = 0, h = 0;
  char tail;
  if (sscanf(size, "%dx%d%c", &w, &h, &tail) != 2 || w < 1 || h < 1 ||
      w > 16384 || h > 16384)
    return cn_err_set(err, CN_EINVAL,
                      "option --size: '%s' is not WxH (each 1 to 16384)", size);
  return 0;
}

/* --mean: a file (.npy, .binaryproto, or any name not starting like a
 * number), else one value or B,G,R, all finite. */
static int check_mean(const char *mean, cn_err_t *err) {
  if (ends_with(mean, ".npy") || ends_with(mean, ".binaryproto") ||
      !strchr("0123456789+-.", mean[0]))
    return 0;
  float v[3];
  char tail;
  int n = sscanf(mean, "%f,%f,%f%c", &v[0], &v[1], &v[2], &tail);
  if (n != 3 && sscanf(mean, "%f%c", &v[0], &tail) == 1)
    v[1] = v[2] = v[0], n = 3;
  if (n != 3 || !isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
    return cn_err_set(err, CN_EINVAL,
                      "option --mean: '%s' is not B,G,R, one value, or a "
                      ".npy or .binaryproto file",
                      mean);
  return 0;
}

/* --threads auto|N (1..256): 0 for auto, -1 when neither. */
static long threads_of(const char *s) {
  if (!s || !strcmp(s, "auto"))
    return 0;
  char *end = NULL;
  errno = 0;
  long n = strtol(s, &end, 10);
  return errno || end == s || *end || n < 1 || n > 256 ? -1 : n;
}

/* One of the words in `words` (NULL-terminated). */
static int check_word(const char *name, const char *val,
                      const char *const *words, const char *said,
                      cn_err_t *err) {
  if (!val)
    return 0;
  for (int k = 0; words[k]; k++)
    if (!strcmp(val, words[k]))
      return 0;
  return cn_err_set(err, CN_EINVAL, "option --%s: '%s' is not %s", name, val,
                    said);
}

static int check_list(const char *const *vals, int n,
                      int (*check)(const char *, cn_err_t *), cn_err_t *err) {
  for (int i = 0; i < n; i++)
    if (check(vals[i], err))
      return CN_EINVAL;
  return 0;
}

static int check_shape(const char *shape, cn_err_t *err) {
  cn_input_shape_t s;
  cn_err_t e = {0};
  if (cn_input_shape_parse(shape, &s, &e))
    return cn_err_set(err, CN_EINVAL, "option --input-shape: %s", e.msg);
  return 0;
}

static int check_name(const char *name, cn_err_t *err) {
  return name[0] ? 0 : cn_err_set(err, CN_EINVAL, "option --name: empty name");
}

int cn_app_check_option(const cn_app_config_t *cfg, const char *name,
                        cn_err_t *err) {
  static const char *const display[] = {"inferred", "live", NULL};
  static const char *const task[] = {"classify", "detect", NULL};
  static const char *const transport[] = {"tcp", "udp", NULL};
  static const char *const via[] = {"gst", "ffmpeg", NULL};
  if (!strcmp(name, "out"))
    return check_list(cfg->outs, cfg->n_outs, check_out, err);
  if (!strcmp(name, "size"))
    return cfg->size ? check_size(cfg->size, err) : 0;
  if (!strcmp(name, "mean"))
    return cfg->mean ? check_mean(cfg->mean, err) : 0;
  if (!strcmp(name, "input-shape"))
    return check_list(cfg->input_shapes, cfg->n_input_shapes, check_shape, err);
  if (!strcmp(name, "name"))
    return check_list(cfg->names, cfg->n_names, check_name, err);
  if (!strcmp(name, "display"))
    return check_word(name, cfg->display, display, "inferred or live", err);
  if (!strcmp(name, "task"))
    return check_word(name, cfg->task, task, "classify or detect", err);
  if (!strcmp(name, "transport"))
    return check_word(name, cfg->transport, transport, "tcp or udp", err);
  if (!strcmp(name, "rtsp-via"))
    return check_word(name, cfg->rtsp_via, via, "gst or ffmpeg", err);
  if (!strcmp(name, "threads") && threads_of(cfg->threads_arg) < 0)
    return cn_err_set(err, CN_EINVAL,
                      "option --threads: '%s' is not auto or a number from 1 "
                      "to 256",
                      cfg->threads_arg);
  return 0;
}

/* --mqtt and its companions: usage errors before anything opens. */
static int check_mqtt(const cn_app_config_t *cfg, cn_err_t *err) {
  const char *tls = cfg->mqtt_cafile ? "cafile"
                    : cfg->mqtt_cert ? "cert"
                    : cfg->mqtt_key  ? "key"
                                     : NULL;
  if (!cfg->mqtt) {
    if (tls || cfg->mqtt_rate)
      return cn_err_set(err, CN_EINVAL, "option --mqtt-%s: needs --mqtt URL",
                        tls ? tls : "rate");
    if (cfg->instance_id)
      return cn_err_set(err, CN_EINVAL,
                        "option --instance-id: needs --mqtt URL");
    return 0;
  }
  cn_mqtt_url_t u;
  cn_mqtt_rate_t r;
  if (cn_mqtt_parse_url(cfg->mqtt, &u, err) ||
      cn_mqtt_parse_rate(cfg->mqtt_rate, &r, err))
    return CN_EINVAL;
  if (tls && !u.tls)
    return cn_err_set(err, CN_EINVAL, "option --mqtt-%s: needs an mqtts:// URL",
                      tls);
  if (!cfg->mqtt_cert != !cfg->mqtt_key)
    return cn_err_set(err, CN_EINVAL, "option --mqtt-%s: needs --mqtt-%s",
                      cfg->mqtt_cert ? "cert" : "key",
                      cfg->mqtt_cert ? "key" : "cert");
  if (cfg->instance_id &&
      (!cfg->instance_id[0] || strpbrk(cfg->instance_id, "/+#")))
    return cn_err_set(err, CN_EINVAL,
                      "option --instance-id: '%s' is empty or has '/', '+' "
                      "or '#'",
                      cfg->instance_id);
  return 0;
}

bool cn_app_per_source(const char *name) {
  /* init_source_opts in run.c takes these from each source's own
   * settings; --every-frame stays global (the thread policy and the plan
   * read it for the whole run). */
  static const char *const keys[] = {
      "width",   "height",  "fps",       "input-format", "transport",
      "latency", "timeout", "reconnect", "rtsp-via",     "loop"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    if (!strcmp(name, keys[k]))
      return true;
  return false;
}

/* Every option's own check, then those between options. */
static int check_all(cn_app_config_t *cfg, cn_err_t *err) {
  for (size_t k = 0; k < N_OPTIONS; k++)
    if (cn_app_check_option(cfg, options[k].name, err))
      return CN_EINVAL;
  for (int i = 0; i < cfg->n_outs; i++)
    if (resolve_out(cfg, cfg->outs[i], err))
      return CN_EINVAL;
  if (!cfg->http &&
      (cfg->http_token || cfg->http_cors || cfg->http_cert || cfg->http_key))
    return cn_err_set(err, CN_EINVAL,
                      "option --http-%s: needs --http [ADDR:]PORT",
                      cfg->http_token  ? "token"
                      : cfg->http_cors ? "cors"
                      : cfg->http_cert ? "cert"
                                       : "key");
  if (check_mqtt(cfg, err))
    return CN_EINVAL;
  if (cfg->rgb && cfg->bgr)
    return cn_err_set(err, CN_EINVAL, "choose one of --rgb and --bgr");
  cfg->threads = threads_of(cfg->threads_arg);
  return 0;
}

/* What the command line gives replaces the file's: its lists (--name
 * aside: the command line's names are those of its own sources) and the
 * sections' own keys. */
static void drop_overridden(cn_app_config_t *cfg, const bool *seen) {
  for (size_t k = 0; k < N_OPTIONS; k++) {
    if (!seen[k])
      continue;
    const cn_opt_t *o = &options[k];
    if (o->type == CN_ARG_LIST && strcmp(o->name, "name"))
      *(int *)((char *)cfg + o->count_offset) = 0;
    for (int i = 0; i < cfg->n_file_sources; i++) {
      cn_app_source_keys_t *sk = &cfg->keys[i];
      int n = 0;
      for (int j = 0; j < sk->n; j++)
        if (strcmp(sk->key[j], o->name)) {
          sk->key[n] = sk->key[j];
          sk->val[n++] = sk->val[j];
        }
      sk->n = n;
    }
  }
}

int cn_app_parse(cn_app_config_t *cfg, int argc, char **argv, cn_err_t *err) {
  /* The command line first on its own, for --config and what it sets. */
  cn_app_config_t line;
  cn_app_config_default(&line);
  bool seen[N_OPTIONS] = {0};
  int rc = cn_opt_parse_seen(&option_set, &line, argc, argv, 1, seen, err);
  if (!rc && line.config) {
    rc = cn_app_config_load(cfg, line.config, err);
    if (!rc) {
      drop_overridden(cfg, seen);
      rc = cn_opt_parse(&option_set, cfg, argc, argv, 1, err);
    }
  } else if (!rc) {
    *cfg = line;
  }
  return rc ? rc : check_all(cfg, err);
}

int cn_app_resolve_sources(cn_app_config_t *cfg, char *buf, int bufsize,
                           cn_err_t *err) {
  int aliases = cfg->usb + cfg->rtsp + cfg->onboard;
  if (aliases > 1)
    return cn_err_set(err, CN_EINVAL,
                      "choose one of --usb, --rtsp and --onboard");
  if (aliases && cfg->n_sources)
    return cn_err_set(err, CN_EINVAL,
                      "give either a SOURCE or one of --usb, "
                      "--rtsp, --onboard, not both");
  if (cfg->rtsp) {
    if (!cfg->uri)
      return cn_err_set(err, CN_EINVAL, "--rtsp needs --uri rtsp://...");
    snprintf(buf, (size_t)bufsize, "%s", cfg->uri);
  } else if (cfg->usb) {
    snprintf(buf, (size_t)bufsize, "/dev/video%d", (int)cfg->vid);
  } else if (cfg->onboard) {
    int w = cfg->width ? (int)cfg->width : 1920;
    int h = cfg->height ? (int)cfg->height : 1080;
    if (cn_gst_onboard_pipeline(buf, (size_t)bufsize, w, h,
                                cfg->fps > 0 ? cfg->fps : 30) < 0)
      return cn_err_set(err, CN_EINVAL, "--onboard: pipeline too long");
  } else if (cfg->n_sources == 0) {
    return cn_err_set(err, CN_EINVAL,
                      "no source given (for example: camnet test:640x480@30;"
                      " see --help)");
  }
  if (aliases)
    cfg->sources[cfg->n_sources++] = buf;
  if (cfg->n_names > cfg->n_sources)
    return cn_err_set(err, CN_EINVAL, "option --name: %d names for %d source%s",
                      cfg->n_names, cfg->n_sources,
                      cfg->n_sources == 1 ? "" : "s");
  return 0;
}

void cn_app_print_help(const char *prog) {
  printf("Usage: %s [options] SOURCE...\n"
         "       %s --config FILE [options] [SOURCE...]\n"
         "Captures live video, runs a network on the newest frame and shows,\n"
         "records or writes what it sees. Without --model it reports what "
         "each\nsource delivers.\n\n"
         "SOURCE is a file, an image, a sequence (img_%%04d.jpg), a directory "
         "of images,\n/dev/videoN, rtsp://..., http://..., gst:PIPELINE or "
         "test:WxH@FPS.\n\nOptions:\n",
         prog, prog);
  cn_opt_print_help(&option_set, stdout);
}

const cn_optset_t *cn_app_options(void) { return &option_set; }

void cn_app_config_free(cn_app_config_t *cfg) {
  cn_app_strings_free(cfg->strings);
  cfg->strings = NULL;
}
