/* camnet: the command-line program. */
#include <glib.h>
#include <libavutil/log.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cmd_model.h"
#include "app/cmd_timeline.h"
#include "app/config.h"
#include "app/options.h"
#include "app/run.h"
#include "camnet/version.h"
#include "camnet/log.h"

/* FFmpeg's and GLib's (GStreamer's) own messages go through cn_log, which
 * redacts them: a library quoting a URL must not print its password.
 * These are process-wide hooks, so the program sets them, not the
 * library. */
static cn_logger_t lib_log = {.level = CN_LOG_WARN};

static void ffmpeg_log(void *avcl, int level, const char *fmt, va_list ap) {
  if (level > av_log_get_level())
    return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(avcl, level, fmt, ap, line, sizeof line, &print_prefix);
  line[strcspn(line, "\n")] = '\0';
  if (line[0])
    cn_log(&lib_log, level <= AV_LOG_ERROR ? CN_LOG_ERROR : CN_LOG_WARN,
           "ffmpeg", "%s", line);
}

static void glib_log(const gchar *domain, GLogLevelFlags level,
                     const gchar *msg, gpointer data) {
  (void)data;
  cn_log_level_t l = level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)
                         ? CN_LOG_ERROR
                     : level & G_LOG_LEVEL_WARNING ? CN_LOG_WARN
                                                   : CN_LOG_DEBUG;
  cn_log(&lib_log, l, domain ? domain : "glib", "%s", msg ? msg : "");
}

/* The options, their actions and the sources: an exit status, or -1 to
 * run. */
static int setup(cn_app_config_t *cfg, int argc, char **argv) {
  cn_err_t err = {0};
  if (cn_app_parse(cfg, argc, argv, &err)) {
    fprintf(stderr, "camnet: %s\n", err.msg);
    return 2;
  }
  if (cfg->help) {
    cn_app_print_help("camnet");
    return 0;
  }
  if (cfg->man) {
    cn_app_print_man(stdout);
    return 0;
  }
  if (cfg->version) {
    printf("camnet %s\n", cn_version());
    return 0;
  }
  if (cfg->print_config) {
    cn_app_config_print(cfg, stdout);
    return fflush(stdout) ? 1 : 0;
  }
  return -1;
}

static int run(cn_app_config_t *cfg) {
  cn_err_t err = {0};
  char alias[1024];
  if (cn_app_resolve_sources(cfg, alias, sizeof alias, &err)) {
    fprintf(stderr, "camnet: %s\n", err.msg);
    return 2;
  }
  /* FFmpeg's own messages are noise next to our one-line errors. */
  av_log_set_level(cfg->verbose ? AV_LOG_WARNING : AV_LOG_QUIET);
  lib_log.level = cfg->verbose ? CN_LOG_DEBUG : CN_LOG_WARN;
  av_log_set_callback(ffmpeg_log);
  g_log_set_default_handler(glib_log, NULL);
  return cn_app_run(cfg);
}

int main(int argc, char **argv) {
  /* A reader that goes away (`camnet --json - | head`) is a write error
   * like any other: the run ends with one line, the summary and a closed
   * recording, instead of dying by SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  /* Likewise a file size limit (ulimit -f): EFBIG, not a kill. */
  signal(SIGXFSZ, SIG_IGN);
  if (argc > 1 && (!strcmp(argv[1], "info") || !strcmp(argv[1], "infer") ||
                   !strcmp(argv[1], "bench")))
    return cn_app_model_tool(argc, argv);
  if (argc > 1 && !strcmp(argv[1], "timeline"))
    return cn_app_timeline(argc, argv);
  /* The run takes SIGINT/SIGTERM on a thread of its own (run.c). Block
   * them now, before anything else and before the re-exec below (a mask
   * survives exec), so one that comes early stays pending for that thread
   * instead of killing the process without its summary. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGUSR1);
  sigaddset(&stop, SIGUSR2);
  sigprocmask(SIG_BLOCK, &stop, NULL);
  /* oneDNN runs on OpenMP, whose idle workers spin by default. In the
   * program they would spin against our own capture, develop, overlay
   * and encoder threads on a 2-core machine (GoogLeNet measured 20x
   * slower under load). libgomp reads the policy only when it loads, so
   * set it and start again; an explicit setting is left alone. */
  if (!getenv("OMP_WAIT_POLICY") && !setenv("OMP_WAIT_POLICY", "PASSIVE", 1))
    execv("/proc/self/exe", argv); /* returns only on failure: go on */
  cn_app_config_t cfg;
  cn_app_config_default(&cfg);
  int rc = setup(&cfg, argc, argv);
  if (rc < 0)
    rc = run(&cfg);
  cn_app_config_free(&cfg);
  return rc;
}
