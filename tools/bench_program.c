/* The program's own cost per frame, beyond capture and inference: develop
 * (YUV -> BGR), preprocess, JSON record, overlay (copy + draw), H.264
 * encode of the annotated picture. Measured stage by stage on every frame
 * of a 720p H.264 clip, against the network's own time on the same frames
 * (the reference in the same run), printed as medians and ratios.
 *
 * Usage: bench_program CLIP MODEL [WEIGHTS] [--frames N]
 * (MODEL .onnx, or a Caffe deploy.prototxt with its WEIGHTS). */
#include <libavutil/log.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camnet/clock.h"
#include "camnet/pool.h"
#include "outputs/jsonl_internal.h"
#include "camnet/overlay.h"
#include "camnet/record.h"
#include "camnet/source.h"
#include "vision/stage_internal.h"

enum { DEVELOP, PREPROCESS, NETWORK, JSON, OVERLAY, RECORD, STAGES };

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n ? v[n / 2] : 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CLIP MODEL [WEIGHTS] [--frames N]\n", argv[0]);
    return 2;
  }
  av_log_set_level(AV_LOG_ERROR);
  int frames = 150;
  const char *weights = NULL;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--frames") && i + 1 < argc)
      frames = atoi(argv[++i]);
    else
      weights = argv[i];
  }
  cn_stage_opts_t opts;
  cn_stage_opts_default(&opts);
  opts.model = argv[2];
  opts.weights = weights;
  opts.mean = weights ? "104,117,123" : NULL;
  opts.threads = 2;
  cn_stage_model_t *m = NULL;
  cn_stage_t *stage = NULL;
  cn_err_t err = {0};
  cn_source_opts_t so;
  cn_source_opts_default(&so);
  so.uri = argv[1];
  so.every_frame = true;
  cn_source_t *src = NULL;
  cn_jsonl_t *json = NULL;
  cn_fanout_t *records = NULL;
  cn_overlay_t *ov = NULL;
  cn_recorder_t *rec = NULL;
  cn_pool_opts_t po = {.max_frames = 64};
  cn_pool_t *canvases = cn_pool_create(&po, &err);
  if (cn_stage_model_open(&opts, &m, &err) ||
      cn_stage_create(m, &stage, &err) || cn_source_create(&so, &src, &err) ||
      cn_source_start(src, &err) || cn_fanout_create(&records, &err) ||
      cn_sink_file_add(records, "/dev/null", &err) ||
      cn_jsonl_create(records, &json, &err) ||
      cn_jsonl_set_task(json, cn_stage_model_task(m), cn_stage_model_labels(m),
                        &err) ||
      cn_overlay_create(cn_stage_model_labels(m), &ov, &err) ||
      cn_recorder_open("/tmp/camnet-bench-program.mp4", 30, &rec, &err)) {
    fprintf(stderr, "bench_program: %s\n", err.msg);
    return 1;
  }
  /* A preprocessor of our own, to time that step apart from the stage. */
  cn_preproc_t *pre = NULL;
  cn_preproc_create(cn_stage_model_preproc(m), &pre, &err);
  float *buf = malloc((size_t)cn_preproc_numel(pre) * sizeof(float));
  double *t[STAGES];
  for (int s = 0; s < STAGES; s++)
    t[s] = calloc((size_t)frames, sizeof(double));
  int n = 0, width = 0, height = 0;
  uint64_t last = 0;
  const cn_result_t *res;
  while (n < frames) {
    cn_frame_t *f = NULL;
    if (cn_source_take(src, last, 5 * CN_NS_PER_S, &f, NULL, &err))
      break;
    last = f->seq;
    width = f->width;
    height = f->height;
    t[DEVELOP][n] = cn_ns_to_ms(f->t_develop - f->t_take);
    int64_t p0 = cn_clock_now();
    cn_preproc_run(pre, f, buf, NULL, &err);
    int64_t p1 = cn_clock_now();
    if (cn_stage_run(stage, f, &res, &err)) {
      fprintf(stderr, "bench_program: %s\n", err.msg);
      return 1;
    }
    t[PREPROCESS][n] = cn_ns_to_ms(p1 - p0);
    t[NETWORK][n] = cn_ns_to_ms(f->t_infer_end - f->t_infer_begin);
    int64_t j0 = cn_clock_now();
    cn_jsonl_write(json, f, res, &err);
    int64_t j1 = cn_clock_now();
    t[JSON][n] = cn_ns_to_ms(j1 - j0);
    cn_frame_t *canvas = cn_pool_get(canvases, &err);
    int64_t o0 = cn_clock_now();
    cn_overlay_info_t info = {.net_fps = 30, .cam_fps = 30, .result_lag = -1};
    cn_overlay_render(ov, f, canvas, res, &info, &err);
    int64_t o1 = cn_clock_now();
    cn_recorder_push(rec, canvas, NULL);
    int64_t o2 = cn_clock_now();
    t[OVERLAY][n] = cn_ns_to_ms(o1 - o0);
    t[RECORD][n] = cn_ns_to_ms(o2 - o1);
    cn_frame_unref(&canvas);
    cn_frame_unref(&f);
    n++;
  }
  cn_source_stop(src);
  uint64_t written = 0, dropped = 0;
  cn_recorder_close(rec, &written, &dropped, &err);
  printf("bench_program: %d frames of %dx%d, model %s (%s)\n", n, width, height,
         cn_stage_model_name(m), cn_model_backend(cn_stage_model_handle(m)));
  double net = median(t[NETWORK], n), pp = median(t[PREPROCESS], n);
  double dev = median(t[DEVELOP], n), js = median(t[JSON], n),
         ovl = median(t[OVERLAY], n), rq = median(t[RECORD], n);
  printf("| stage | median ms | vs network |\n|---|---|---|\n");
  printf("| inference stage (preprocess + network + decode) | %.3f | 1.00 |\n",
         net);
  printf("| of which preprocess (crop/resize/mean/layout) | %.3f | %.3f |\n",
         pp, pp / net);
  printf("| develop (H.264 YUV -> BGR24, sws) | %.3f | %.3f |\n", dev,
         dev / net);
  printf("| JSON record (jansson) | %.3f | %.3f |\n", js, js / net);
  printf("| overlay (BGRA copy + cairo draw) | %.3f | %.3f |\n", ovl,
         ovl / net);
  printf("| recorder push (encode is on its own thread) | %.3f | %.3f |\n", rq,
         rq / net);
  double own = dev + pp + js + ovl + rq;
  printf("| program's own total (develop + preprocess + JSON + overlay + "
         "push) | %.3f | %.3f |\n",
         own, own / net);
  printf("recorder: %llu written, %llu dropped\n", (unsigned long long)written,
         (unsigned long long)dropped);
  free(buf);
  cn_preproc_destroy(pre);
  cn_overlay_destroy(ov);
  cn_fanout_close(records, NULL);
  cn_jsonl_destroy(json);
  cn_source_destroy(src);
  cn_stage_destroy(stage);
  cn_stage_model_close(m);
  cn_pool_destroy(canvases);
  for (int s = 0; s < STAGES; s++)
    free(t[s]);
  return 0;
}
