/* The camnet program's options: one table (app/optparse.h) drives
 * parsing, --help and the manual page, so an option is described once. */
#ifndef CN_APP_OPTIONS_H
#define CN_APP_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "camnet/error.h"

#define CN_APP_MAX_SOURCES 16
#define CN_APP_MAX_OUTS 4
#define CN_APP_MAX_SHAPES 8
#define CN_APP_MAX_SOURCE_KEYS 16

/* A config file section's own keys for its source (app/config.h): option
 * names from the table and their values, applied over the globals. */
typedef struct cn_app_source_keys {
  int n;
  const char *key[CN_APP_MAX_SOURCE_KEYS];
  const char *val[CN_APP_MAX_SOURCE_KEYS];
} cn_app_source_keys_t;

struct cn_app_strings;

typedef struct cn_app_config {
  const char *sources[CN_APP_MAX_SOURCES];
  int n_sources;
  const char *names[CN_APP_MAX_SOURCES]; /* --name, in source order */
  int n_names;
  /* outputs and run control */
  const char *outs[CN_APP_MAX_OUTS]; /* -o: json or record by extension */
  int n_outs;
  const char *json;
  int64_t frames;  /* stop after this many delivered frames; 0 none */
  double duration; /* stop after this many seconds; 0 none */
  bool quiet, verbose, help, version, man;
  const char *trace; /* --trace FILE: Chrome trace-event JSON */
  /* capture */
  bool every_frame, loop;
  int64_t reconnect; /* <0 forever */
  int64_t timeout_ms, latency_ms;
  const char *transport;
  const char *rtsp_via;
  int64_t width, height;
  double fps;
  const char *input_format;
  /* model (the Jetson script's flags first) */
  const char *model, *prototxt, *weights, *labels, *mean, *output;
  bool crop;
  const char *size;                            /* WxH */
  const char *input_shapes[CN_APP_MAX_SHAPES]; /* --input-shape */
  int n_input_shapes;
  double scale;
  const char *std; /* B,G,R */
  bool rgb, bgr;
  int64_t top;
  const char *task, *decoder, *backend;
  double threshold, nms;
  const char *threads_arg; /* --threads: "auto" or N */
  int64_t threads;         /* from it: 0 auto, else N */
  /* presentation */
  const char *display; /* "inferred" or "live" */
  bool headless;
  const char *record;
  int64_t snapshot_every;
  const char *snapshot_dir;
  /* the live view over HTTP */
  const char *http, *http_token, *http_cors, *http_cert, *http_key;
  int64_t http_clients, http_timeout;
  /* results on an MQTT broker */
  const char *mqtt, *mqtt_cafile, *mqtt_cert, *mqtt_key, *instance_id;
  const char *mqtt_rate;
  int64_t mqtt_qos;
  double mqtt_state_every;
  /* the Jetson script's source flags */
  bool usb, rtsp, onboard;
  int64_t vid;
  const char *uri;
  /* the config file (app/config.h): sources[0..n_file_sources) are its
   * sections, named names[i]; keys[i] are source i's own settings */
  const char *config;
  bool print_config;
  int n_file_sources;
  cn_app_source_keys_t keys[CN_APP_MAX_SOURCES];
  struct cn_app_strings *strings; /* the file's text; cn_app_config_free */
} cn_app_config_t;

void cn_app_config_default(cn_app_config_t *cfg);

/* Parses argv[1..] over the config file named by --config, if any: the
 * command line's options replace the file's (its lists too, --name
 * aside), its sources come after the file's. Returns 0 or CN_EINVAL with
 * "option --x: why" or "FILE:LINE: why". */
int cn_app_parse(cn_app_config_t *cfg, int argc, char **argv, cn_err_t *err);

/* Checks option `name`'s values in cfg beyond type and range (a WxH, one
 * of a set of words...). Returns 0 or CN_EINVAL with "option --x: why". */
int cn_app_check_option(const cn_app_config_t *cfg, const char *name,
                        cn_err_t *err);

/* True for the options a config file section may set for its source
 * (what run.c takes per source). */
bool cn_app_per_source(const char *name);

/* Frees what cn_app_parse read from a config file. */
void cn_app_config_free(cn_app_config_t *cfg);

/* Resolves the Jetson script's --usb/--rtsp/--onboard flags into sources. */
int cn_app_resolve_sources(cn_app_config_t *cfg, char *buf, int bufsize,
                           cn_err_t *err);

void cn_app_print_help(const char *prog);

/* The program's option table (for the manual page). */
struct cn_optset;
const struct cn_optset *cn_app_options(void);

/* The manual page camnet(1), in roff, from the option tables (man.c). */
void cn_app_print_man(FILE *f);

#endif
