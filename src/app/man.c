/* The manual page camnet(1), made from the option tables by `camnet
 * --man` at build time, so it cannot drift from --help. */
#include <stdio.h>

#include "app/cmd_model.h"
#include "app/cmd_timeline.h"
#include "app/optparse.h"
#include "app/options.h"
#include "camnet/version.h"

/* The keys a section may set, from the option table. */
static void per_source_keys(FILE *f) {
  const cn_optset_t *set = cn_app_options();
  const char *sep = " ";
  for (size_t k = 0; k < set->n; k++) {
    if (!cn_app_per_source(set->opts[k].name))
      continue;
    fputs(sep, f);
    for (const char *c = set->opts[k].name; *c; c++)
      fputs(*c == '-' ? "\\-" : (char[2]){*c, 0}, f);
    sep = ", ";
  }
}

static void man_config(FILE *f) {
  fputs(
      ".SH CONFIGURATION FILE\n\\fB\\-\\-config\\fR \\fIFILE\\fR reads an "
      "INI file. Its keys are the long options above without \\(lq\\-\\-\\(rq "
      "(flags take true or false; a repeatable option is a repeated key), "
      "their values checked as on the command line. Keys before the first "
      "section apply to every source. Each section \\fB[\\fR\\fINAME\\fR"
      "\\fB]\\fR is a source named \\fINAME\\fR, with \\fBuri =\\fR "
      "\\fISOURCE\\fR and its own",
      f);
  per_source_keys(f);
  fputs("; other keys are refused in a section. Not keys: help, version, "
        "man, config, "
        "print\\-config, name. Lines starting with # or ; are comments, as "
        "is ; after a space; lines are at most 198 characters.\n.PP\n"
        "The command line overrides the file, for every source; its lists "
        "replace the file's; its sources come after the file's. Errors are "
        "\\fIFILE\\fR:\\fILINE\\fR: and what is wrong, exit status 2. "
        "\\fB\\-\\-print\\-config\\fR prints the merged configuration as "
        "such a file, URI passwords and tokens masked as ****, and exits.\n"
        ".PP\n.nf\njson = results.jsonl\ntimeout = 3000\n[door]\n"
        "uri = rtsp://viewer:secret@192.168.1.10/stream\nlatency = 200\n"
        "[yard]\nuri = /dev/video0\nfps = 15\n.fi\n",
        f);
}

static void man_mqtt(FILE *f) {
  fputs(".SH MQTT\nWith \\-\\-mqtt, camnet publishes to "
        "\\fIPREFIX\\fR/\\fIINSTANCE\\fR/\\fINAME\\fR/result the JSON "
        "records of frames with a result (the lines \\-\\-json writes), to "
        "\\fIPREFIX\\fR/\\fIINSTANCE\\fR/\\fINAME\\fR/state each "
        "source's retained state and counters (on every connection, on "
        "every online/offline change, every \\-\\-mqtt\\-state\\-every "
        "seconds and at the end), and to \\fIPREFIX\\fR/\\fIINSTANCE\\fR/"
        "status a retained online, with offline as the last will and on a "
        "clean exit. \\fINAME\\fR is the source's name with /, + and # "
        "replaced by _. The pipeline never waits for the broker: records "
        "queue in a ring of 256 (the oldest dropped when it is full) while "
        "it is away; camnet reconnects by itself, and the summary counts "
        "records, published, acknowledged, dropped and queued "
        "(acknowledged + dropped + queued = records). Commands on "
        "\\fIPREFIX\\fR/\\fIINSTANCE\\fR/\\fINAME\\fR/set: ON or OFF "
        "turns detection of that source on or off, a number from 0 to 1 "
        "leaves out results below it, {\\(dqdetect\\(dq:..., "
        "\\(dqthreshold\\(dq:...} does both.\n",
        f);
}

void cn_app_print_man(FILE *f) {
  fprintf(f,
          ".TH CAMNET 1 \"\" \"camnet %s\" \"User Commands\"\n"
          ".SH NAME\ncamnet \\- real-time neural-network inference on live "
          "video\n"
          ".SH SYNOPSIS\n.B camnet\n[\\fIoptions\\fR] \\fISOURCE\\fR...\n.br\n"
          ".B camnet \\-\\-config\n\\fIFILE\\fR [\\fIoptions\\fR] "
          "[\\fISOURCE\\fR...]\n.br\n"
          ".B camnet info\\fR|\\fBinfer\\fR|\\fBbench\n\\fIMODEL\\fR "
          "[\\fIoptions\\fR]\n.br\n"
          ".B camnet timeline\n\\fITRACE\\fR \\fB--out\\fR "
          "\\fIFILE\\fR\n"
          ".SH DESCRIPTION\nA capture thread per source keeps only the newest "
          "frame; an inference thread always takes the freshest one, so "
          "results never lag behind the camera. Stale frames are dropped and "
          "counted, never queued. Results are drawn on the video, shown in a "
          "window, written as JSON Lines or recorded.\n.PP\n\\fISOURCE\\fR is "
          "a video file, an image, a sequence (img_%%04d.jpg), a directory of "
          "images, /dev/video\\fIN\\fR, rtsp://..., http://..., "
          "gst:\\fIPIPELINE\\fR or test:\\fIW\\fRx\\fIH\\fR@\\fIFPS\\fR.\n"
          ".SH OPTIONS\n",
          cn_version());
  cn_opt_print_man(cn_app_options(), f);
  man_config(f);
  fputs(".SH MODEL TOOLS\n\\fBcamnet info\\fR prints a model's inputs, "
        "outputs and optimized graph; \\fBcamnet infer\\fR runs it on a .npy "
        "tensor; \\fBcamnet bench\\fR times it. Their options:\n",
        f);
  cn_app_model_tool_man(f);
  fputs(
      ".SH TIMELINE\n\\fBcamnet timeline\\fR \\fITRACE\\fR \\fB\\-\\-out\\fR "
      "\\fIFILE\\fR.svg|.png draws a trace written by \\fB\\-\\-trace\\fR as a "
      "time sequence: one lane per thread, spans as boxes labelled with "
      "their frame, dropped frames marked, an arrow from each capture to "
      "the result that used it. Its options:\n",
      f);
  cn_app_timeline_man(f);
  man_mqtt(f);
  fputs(".SH EXIT STATUS\n0 when the run is done: its sources ended, "
        "\\-\\-frames or \\-\\-duration reached, the window closed, or "
        "stopped by SIGINT or SIGTERM (at any moment, a connect or a model "
        "load included; the last lines say which signal, and the summary); 1 "
        "when the run failed; 2 for bad usage. Errors are one line on "
        "standard error naming the file, URL or option and what is wrong.\n"
        ".SH ENVIRONMENT\n.TP\n.B OMP_WAIT_POLICY\ncamnet sets PASSIVE for "
        "itself unless it is set: oneDNN's spinning OpenMP workers would "
        "starve the capture threads.\n"
        ".TP\n.B CAMNET_MQTT_PASSWORD\nthe password for \\-\\-mqtt "
        "(wins over the URL's).\n"
        ".TP\n.B CAMNET_HTTP_TOKEN\nthe token for \\-\\-http when "
        "\\-\\-http\\-token is not given.\n"
        ".SH SEE ALSO\nffmpeg(1), gst-launch-1.0(1)\n",
        f);
}
