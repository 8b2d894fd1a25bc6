/* camnet info | infer | bench: model tools on the engine's public API. */
#ifndef CN_APP_CMD_MODEL_H
#define CN_APP_CMD_MODEL_H

#include <stdio.h>

/* argv[1] is "info", "infer" or "bench". Returns the exit status. */
int cn_app_model_tool(int argc, char **argv);

/* The tools' options as a roff .TP list, for the manual page. */
void cn_app_model_tool_man(FILE *f);

#endif
