/* camnet: the command-line program. */
#include <libavutil/log.h>
#include <stdio.h>
#include <string.h>

#include "app/cmd_model.h"
#include "app/options.h"
#include "app/run.h"

int main(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "info") || !strcmp(argv[1], "infer") ||
                   !strcmp(argv[1], "bench")))
    return cn_app_model_tool(argc, argv);
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
  if (cfg.version) {
    printf("camnet %s\n", CN_VERSION);
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
