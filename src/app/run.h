/* The pass-through run: capture from every source, deliver each new frame
 * to the outputs (JSON Lines), report status and a summary. Later stages
 * (inference, drawing) slot in between take and output. */
#ifndef CN_APP_RUN_H
#define CN_APP_RUN_H

#include "app/options.h"

/* Runs until --frames/--duration, the sources end, or SIGINT/SIGTERM.
 * Returns the process exit status. */
int cn_app_run(cn_app_config_t *cfg);

#endif
