/* camnet timeline TRACE --out FILE: a Chrome trace-event JSON file (from
 * --trace, or any program writing the same events, such as the benchmark's
 * grabber-thread peer) drawn as a time sequence: one lane per thread,
 * spans as boxes labelled with their frame, drops marked, an arrow from
 * each capture to the result that used it (the flow events). .svg or .png
 * by the output's extension (cairo). */
#ifndef CN_APP_CMD_TIMELINE_H
#define CN_APP_CMD_TIMELINE_H

#include <stdio.h>

/* argv[1] is "timeline". Returns the exit status (2: usage). */
int cn_app_timeline(int argc, char **argv);

/* Its options as a roff .TP list, for the manual page. */
void cn_app_timeline_man(FILE *f);

#endif
