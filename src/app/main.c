/* camnet: the command-line program. */
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cmd_model.h"
#include "app/options.h"
#include "app/run.h"
#include "camnet/version.h"

int main(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "info") || !strcmp(argv[1], "infer") ||
                   !strcmp(argv[1], "bench")))
    return cn_app_model_tool(argc, argv);
  /* oneDNN runs on OpenMP, whose idle workers spin by default. In the
   * program they would spin against our own capture, develop, overlay
   * and encoder threads on a 2-core machine (GoogLeNet measured 20x
   * slower under load). libgomp reads the policy only when it loads, so
   * set it and start again; an explicit setting is left alone. */
  if (!getenv("OMP_WAIT_POLICY") && !setenv("OMP_WAIT_POLICY", "PASSIVE", 1))
    execv("/proc/self/exe", argv); /* returns only on failure: go on */
  cn_app_config_t cfg;
  cn_app_config_default(&cfg);
  cn_err_t err = {0};
  if (cn_app_parse(&cfg, argc, argv, &err)) {
    fprintf(stderr, "camnet: %s\n", err.msg);
    return 2;
  }
  if (cfg.help) {
    cn_app_print_help("camnet");
    return 0;
  }
  if (cfg.man) {
    cn_app_print_man(stdout);
    return 0;
  }
  if (cfg.version) {
    printf("camnet %s\n", cn_version());
    return 0;
  }
  char alias[1024];
  if (cn_app_resolve_sources(&cfg, alias, sizeof alias, &err)) {
    fprintf(stderr, "camnet: %s\n", err.msg);
    return 2;
  }
  /* FFmpeg's own messages are noise next to our one-line errors. */
  av_log_set_level(cfg.verbose ? AV_LOG_WARNING : AV_LOG_QUIET);
  return cn_app_run(&cfg);
}
