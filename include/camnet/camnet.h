/* libcamnet: real-time neural-network inference on live video.
 *
 * One header for the whole core library (link with `pkg-config --libs
 * camnet`). A program opens a source, loads a model, and loops: take the
 * newest frame, run the network on it, use the result:
 *
 *   cn_source_opts_t so;  cn_source_opts_default(&so);  so.uri = "rtsp://...";
 *   cn_source_create(&so, &src, &err);  cn_source_start(src, &err);
 *   cn_stage_opts_t mo;   cn_stage_opts_default(&mo);   mo.model = "x.onnx";
 *   cn_stage_model_open(&mo, &model, &err);  cn_stage_create(model, &st, &err);
 *   for (uint64_t last = 0;;) {
 *     int rc = cn_source_take(src, last, -1, &f, &last, &err); (newest)
 *     if (rc == CN_EOF) break;
 *     if (rc) continue;                          (a frame that did not decode)
 *     if (cn_stage_run(st, f, &res, &err) == 0)  (preprocess, run, decode)
 *       use(res);                                (res->top or res->boxes)
 *     cn_frame_unref(&f);
 *   }
 *
 * Pixels from elsewhere (a camera SDK, an appsink) go in through
 * cn_frame_wrap() without a copy. Results leave as JSON Lines in the one
 * record schema (camnet/jsonl.h, docs/formats.md). The picture sinks are
 * separate libraries so a headless program never links SDL2 or cairo:
 * camnet/overlay.h (camnet-overlay), camnet/window.h (camnet-window),
 * camnet/record.h (camnet-record).
 *
 * Conventions (docs/api.md): functions return 0 or a negative CN_E* code
 * and fill a caller's cn_err_t with a one-line message; the library never
 * prints (log lines go to the cn_logger_t given in the options, if any),
 * never exits and changes no process-wide state (signals, environment,
 * FFmpeg's log level). Objects come in pairs: create and destroy
 * (memory), open and close or start and stop (resources, threads);
 * destroy(NULL) is a no-op. Each header states the thread-safety of its
 * functions.
 */
#ifndef CAMNET_CAMNET_H
#define CAMNET_CAMNET_H

#include "camnet/clock.h"
#include "camnet/error.h"
#include "camnet/frame.h"
#include "camnet/jsonl.h"
#include "camnet/labels.h"
#include "camnet/log.h"
#include "camnet/mean.h"
#include "camnet/model.h"
#include "camnet/pool.h"
#include "camnet/redact.h"
#include "camnet/result.h"
#include "camnet/source.h"
#include "camnet/stage.h"
#include "camnet/version.h"

#endif
