#include "app/options.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/gst_pipelines.h"

/* OPT_NAME: repeatable, appended to cfg->names. */
typedef enum { OPT_FLAG, OPT_INT, OPT_DOUBLE, OPT_STRING, OPT_NAME } opt_type_t;

typedef struct opt {
  const char *name; /* without the leading "--" */
  const char *arg;  /* argument name in --help; NULL for flags */
  opt_type_t type;
  size_t offset;
  double min, max; /* for numbers */
  const char *help;
} opt_t;

#define F(field) offsetof(cn_app_config_t, field)
static const opt_t options[] = {
    {"json", "FILE", OPT_STRING, F(json), 0, 0,
     "write one JSON object per delivered frame to FILE ('-': stdout)"},
    {"name", "NAME", OPT_NAME, 0, 0, 0,
     "name of the next source in records and logs (repeatable, in source "
     "order; default: its URI without credentials)"},
    {"frames", "N", OPT_INT, F(frames), 0, 1e12,
     "stop after N delivered frames"},
    {"duration", "S", OPT_DOUBLE, F(duration), 0, 1e9, "stop after S seconds"},
    {"every-frame", NULL, OPT_FLAG, F(every_frame), 0, 0,
     "files: process every frame, unpaced, no drops (offline work)"},
    {"loop", NULL, OPT_FLAG, F(loop), 0, 0, "files: start again at the end"},
    {"reconnect", "N", OPT_INT, F(reconnect), -1, 1e9,
     "live sources: reopen attempts in a row before giving up (-1: forever)"},
    {"timeout", "MS", OPT_INT, F(timeout_ms), 1, 3.6e6,
     "a read that stalls this long counts as a failure (default 5000)"},
    {"latency", "MS", OPT_INT, F(latency_ms), 0, 10000,
     "RTSP jitter buffer (default 50)"},
    {"transport", "tcp|udp", OPT_STRING, F(transport), 0, 0,
     "RTSP transport (default tcp)"},
    {"width", "W", OPT_INT, F(width), 0, 16384,
     "capture width (cameras) or output width"},
    {"height", "H", OPT_INT, F(height), 0, 16384,
     "capture height (cameras) or output height"},
    {"fps", "F", OPT_DOUBLE, F(fps), 0, 1000,
     "camera frame rate; rate of image sequences (default 25)"},
    {"input-format", "FMT", OPT_STRING, F(input_format), 0, 0,
     "V4L2 pixel format: mjpeg or yuyv422"},
    {"model", "FILE", OPT_STRING, F(model), 0, 0,
     "network: .onnx, or .caffemodel with --prototxt"},
    {"prototxt", "FILE", OPT_STRING, F(prototxt), 0, 0,
     "Caffe network description (the seed's --prototxt)"},
    {"labels", "FILE", OPT_STRING, F(labels), 0, 0,
     "class names, one per line or synset lines (n01440764 tench)"},
    {"mean", "FILE|B,G,R", OPT_STRING, F(mean), 0, 0,
     "mean to subtract: .binaryproto, .npy or B,G,R values"},
    {"output", "NAME", OPT_STRING, F(output), 0, 0,
     "classification output blob (default: the network's output)"},
    {"crop", NULL, OPT_FLAG, F(crop), 0, 0, "take the centre square first"},
    {"size", "WxH", OPT_STRING, F(size), 0, 0,
     "network input size when the model leaves it open"},
    {"scale", "S", OPT_DOUBLE, F(scale), 0, 1e6,
     "multiply pixels by S after the mean (e.g. 0.0078125)"},
    {"std", "B,G,R", OPT_STRING, F(std), 0, 0, "divide by these after scale"},
    {"rgb", NULL, OPT_FLAG, F(rgb), 0, 0, "the network takes RGB"},
    {"bgr", NULL, OPT_FLAG, F(bgr), 0, 0, "the network takes BGR (Caffe)"},
    {"top", "K", OPT_INT, F(top), 1, 10, "classes to show (default 3)"},
    {"task", "classify|detect", OPT_STRING, F(task), 0, 0,
     "what the model does, when camnet cannot tell"},
    {"decoder", "blazeface|ssd|yolo", OPT_STRING, F(decoder), 0, 0,
     "how to read a detector's outputs, when camnet cannot tell"},
    {"threshold", "T", OPT_DOUBLE, F(threshold), 0, 1,
     "detection score threshold (default: the decoder's)"},
    {"nms", "IOU", OPT_DOUBLE, F(nms), 0, 1,
     "non-maximum suppression IoU (default: the decoder's)"},
    {"threads", "N", OPT_INT, F(threads), 0, 256,
     "inference threads (default: all cores)"},
    {"backend", "dnnl|ref", OPT_STRING, F(backend), 0, 0,
     "inference backend (default dnnl)"},
    {"display", "inferred|live", OPT_STRING, F(display), 0, 0,
     "window shows each inferred frame (default) or every frame"},
    {"headless", NULL, OPT_FLAG, F(headless), 0, 0, "no window"},
    {"record", "FILE", OPT_STRING, F(record), 0, 0,
     "record the annotated video (H.264 .mp4)"},
    {"snapshot-every", "N", OPT_INT, F(snapshot_every), 0, 1e9,
     "save every Nth shown picture as PNG"},
    {"snapshot-dir", "DIR", OPT_STRING, F(snapshot_dir), 0, 0,
     "where snapshots go (default .)"},
    {"usb", NULL, OPT_FLAG, F(usb), 0, 0,
     "seed alias: USB camera /dev/video<vid>"},
    {"vid", "N", OPT_INT, F(vid), 0, 255, "seed alias: video device number"},
    {"rtsp", NULL, OPT_FLAG, F(rtsp), 0, 0, "seed alias: RTSP stream --uri"},
    {"uri", "URI", OPT_STRING, F(uri), 0, 0, "seed alias: the RTSP URI"},
    {"onboard", NULL, OPT_FLAG, F(onboard), 0, 0,
     "seed alias: Jetson CSI camera (nvarguscamerasrc)"},
    {"quiet", NULL, OPT_FLAG, F(quiet), 0, 0, "only errors on stderr"},
    {"verbose", NULL, OPT_FLAG, F(verbose), 0, 0, "debug messages on stderr"},
    {"help", NULL, OPT_FLAG, F(help), 0, 0, "show this help"},
    {"version", NULL, OPT_FLAG, F(version), 0, 0, "show the version"},
};
#undef F
#define N_OPTIONS (sizeof options / sizeof options[0])

void cn_app_config_default(cn_app_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->reconnect = -1;
  cfg->timeout_ms = 5000;
  cfg->latency_ms = 50;
  cfg->transport = "tcp";
  cfg->top = 3;
  cfg->threshold = -1;
  cfg->nms = -1;
  cfg->display = "inferred";
  cfg->snapshot_dir = ".";
}

static int set_value(cn_app_config_t *cfg, const opt_t *o, const char *val,
                     cn_err_t *err) {
  char *field = (char *)cfg + o->offset;
  if (o->type == OPT_NAME) {
    if (cfg->n_names == CN_APP_MAX_SOURCES)
      return cn_err_set(err, CN_EINVAL, "option --name: more than %d names",
                        CN_APP_MAX_SOURCES);
    if (!*val)
      return cn_err_set(err, CN_EINVAL, "option --name: empty name");
    cfg->names[cfg->n_names++] = val;
    return 0;
  }
  if (o->type == OPT_STRING) {
    *(const char **)field = val;
    return 0;
  }
  char *end;
  errno = 0;
  double v =
      o->type == OPT_INT ? (double)strtoll(val, &end, 10) : strtod(val, &end);
  if (errno || end == val || *end || !isfinite(v) || v < o->min || v > o->max)
    return cn_err_set(
        err, CN_EINVAL, "option --%s: '%s' is not a %s between %g and %g",
        o->name, val, o->type == OPT_INT ? "whole number" : "number", o->min,
        o->max);
  if (o->type == OPT_INT)
    *(int64_t *)field = (int64_t)v;
  else
    *(double *)field = v;
  return 0;
}

int cn_app_parse(cn_app_config_t *cfg, int argc, char **argv, cn_err_t *err) {
  bool only_sources = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_sources || a[0] != '-' || strcmp(a, "-") == 0) {
      if (cfg->n_sources == CN_APP_MAX_SOURCES)
        return cn_err_set(err, CN_EINVAL, "too many sources (at most %d)",
                          CN_APP_MAX_SOURCES);
      cfg->sources[cfg->n_sources++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_sources = true;
      continue;
    }
    const char *name = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt_t *o = NULL;
    if (!o && len == 1 && name[0] == 'h')
      name = "help", len = 4;
    for (size_t k = 0; !o && k < N_OPTIONS; k++)
      if (strlen(options[k].name) == len &&
          strncmp(options[k].name, name, len) == 0)
        o = &options[k];
    if (!o)
      return cn_err_set(err, CN_EINVAL, "unknown option %s (see --help)", a);
    if (o->type == OPT_FLAG) {
      if (eq)
        return cn_err_set(err, CN_EINVAL, "option --%s takes no value",
                          o->name);
      *(bool *)((char *)cfg + o->offset) = true;
      continue;
    }
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!val)
      return cn_err_set(err, CN_EINVAL, "option --%s needs a value (%s)",
                        o->name, o->arg);
    int rc = set_value(cfg, o, val, err);
    if (rc)
      return rc;
  }
  if (strcmp(cfg->display, "inferred") && strcmp(cfg->display, "live"))
    return cn_err_set(err, CN_EINVAL,
                      "option --display: '%s' is not inferred or live",
                      cfg->display);
  if (cfg->task && strcmp(cfg->task, "classify") && strcmp(cfg->task, "detect"))
    return cn_err_set(err, CN_EINVAL,
                      "option --task: '%s' is not classify or detect",
                      cfg->task);
  if (cfg->rgb && cfg->bgr)
    return cn_err_set(err, CN_EINVAL, "choose one of --rgb and --bgr");
  if (strcmp(cfg->transport, "tcp") && strcmp(cfg->transport, "udp"))
    return cn_err_set(err, CN_EINVAL,
                      "option --transport: '%s' is not tcp or udp",
                      cfg->transport);
  return 0;
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
         "Captures live video, runs a network on the newest frame and shows,\n"
         "records or writes what it sees. Without --model it reports what "
         "each\nsource delivers.\n\n"
         "SOURCE is a file, an image, a sequence (img_%%04d.jpg), a directory "
         "of images,\n/dev/videoN, rtsp://..., http://..., gst:PIPELINE or "
         "test:WxH@FPS.\n\nOptions:\n",
         prog);
  for (size_t k = 0; k < N_OPTIONS; k++) {
    char left[40];
    snprintf(left, sizeof left, "--%s%s%s", options[k].name,
             options[k].arg ? " " : "", options[k].arg ? options[k].arg : "");
    printf("  %-24s %s\n", left, options[k].help);
  }
}
