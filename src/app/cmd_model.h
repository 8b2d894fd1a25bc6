/* camnet info | infer | bench: model tools on the engine's public API. */
#ifndef CN_APP_CMD_MODEL_H
#define CN_APP_CMD_MODEL_H

/* argv[1] is "info", "infer" or "bench". Returns the exit status. */
int cn_app_model_tool(int argc, char **argv);

#endif
