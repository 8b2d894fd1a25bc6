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

typedef struct bench {
  int frames;
  const char *weights;
  cn_stage_model_t *m;
  cn_stage_t *stage;
  cn_source_t *src;
  cn_jsonl_t *json;
  cn_fanout_t *records;
  cn_overlay_t *ov;
  cn_recorder_t *rec;
  cn_pool_t *canvases;
  /* A preprocessor of our own, to time that step apart from the stage. */
  cn_preproc_t *pre;
  float *buf;
  double *t[STAGES];
  int n, width, height;
} bench_t;

/* Returns 0, or 1 with the message printed; nothing is released then, as
 * the process exits. */
static int bench_open(bench_t *b, const char *clip, const char *model) {
  cn_stage_opts_t opts;
  cn_stage_opts_default(&opts);
  opts.model = model;
  opts.weights = b->weights;
  opts.mean = b->weights ? "104,117,123" : NULL;
  opts.threads = 2;
  cn_err_t err = {0};
  cn_source_opts_t so;
  cn_source_opts_default(&so);
  so.uri = clip;
  so.every_frame = true;
  cn_pool_opts_t po = {.max_frames = 64};
  b->canvases = cn_pool_create(&po, &err);
  if (cn_stage_model_open(&opts, &b->m, &err) ||
      cn_stage_create(b->m, &b->stage, &err) ||
      cn_source_create(&so, &b->src, &err) || cn_source_start(b->src, &err) ||
      cn_fanout_create(&b->records, &err) ||
      cn_sink_file_add(b->records, "/dev/null", &err) ||
      cn_jsonl_create(b->records, &b->json, &err) ||
      cn_jsonl_set_task(b->json, cn_stage_model_task(b->m),
                        cn_stage_model_labels(b->m), &err) ||
      cn_overlay_create(cn_stage_model_labels(b->m), &b->ov, &err) ||
      cn_recorder_open("/tmp/camnet-bench-program.mp4", 30, &b->rec, &err)) {
    fprintf(stderr, "bench_program: %s\n", err.msg);
    return 1;
  }
  cn_preproc_create(cn_stage_model_preproc(b->m), &b->pre, &err);
  b->buf = malloc((size_t)cn_preproc_numel(b->pre) * sizeof(float));
  for (int s = 0; s < STAGES; s++)
    b->t[s] = calloc((size_t)b->frames, sizeof(double));
  return 0;
}

/* Returns 0, or 1 with the message printed when the stage fails. */
static int bench_frame(bench_t *b, cn_frame_t *f, cn_err_t *err) {
  const cn_result_t *res;
  int n = b->n;
  b->t[DEVELOP][n] = cn_ns_to_ms(f->t_develop - f->t_take);
  int64_t p0 = cn_clock_now();
  cn_preproc_run(b->pre, f, b->buf, NULL, err);
  int64_t p1 = cn_clock_now();
  if (cn_stage_run(b->stage, f, &res, err)) {
    fprintf(stderr, "bench_program: %s\n", err->msg);
    return 1;
  }
  b->t[PREPROCESS][n] = cn_ns_to_ms(p1 - p0);
  b->t[NETWORK][n] = cn_ns_to_ms(f->t_infer_end - f->t_infer_begin);
  int64_t j0 = cn_clock_now();
  cn_jsonl_write(b->json, f, res, err);
  int64_t j1 = cn_clock_now();
  b->t[JSON][n] = cn_ns_to_ms(j1 - j0);
  cn_frame_t *canvas = cn_pool_get(b->canvases, err);
  int64_t o0 = cn_clock_now();
  cn_overlay_info_t info = {.net_fps = 30, .cam_fps = 30, .result_lag = -1};
  cn_overlay_render(b->ov, f, canvas, res, &info, err);
  int64_t o1 = cn_clock_now();
  cn_recorder_push(b->rec, canvas, NULL);
  int64_t o2 = cn_clock_now();
  b->t[OVERLAY][n] = cn_ns_to_ms(o1 - o0);
  b->t[RECORD][n] = cn_ns_to_ms(o2 - o1);
  cn_frame_unref(&canvas);
  return 0;
}

/* Runs until --frames frames or the clip's end (a take that times out). */
static int bench_loop(bench_t *b) {
  cn_err_t err = {0};
  uint64_t last = 0;
  while (b->n < b->frames) {
    cn_frame_t *f = NULL;
    if (cn_source_take(b->src, last, 5 * CN_NS_PER_S, &f, NULL, &err))
      break;
    last = f->seq;
    b->width = f->width;
    b->height = f->height;
    if (bench_frame(b, f, &err))
      return 1;
    cn_frame_unref(&f);
    b->n++;
  }
  return 0;
}

static void bench_report(bench_t *b, uint64_t written, uint64_t dropped) {
  int n = b->n;
  printf("bench_program: %d frames of %dx%d, model %s (%s)\n", n, b->width,
         b->height, cn_stage_model_name(b->m),
         cn_model_backend(cn_stage_model_handle(b->m)));
  double net = median(b->t[NETWORK], n), pp = median(b->t[PREPROCESS], n);
  double dev = median(b->t[DEVELOP], n), js = median(b->t[JSON], n),
         ovl = median(b->t[OVERLAY], n), rq = median(b->t[RECORD], n);
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
}

static void bench_close(bench_t *b) {
  free(b->buf);
  cn_preproc_destroy(b->pre);
  cn_overlay_destroy(b->ov);
  cn_fanout_close(b->records, NULL);
  cn_jsonl_destroy(b->json);
  cn_source_destroy(b->src);
  cn_stage_destroy(b->stage);
  cn_stage_model_close(b->m);
  cn_pool_destroy(b->canvases);
  for (int s = 0; s < STAGES; s++)
    free(b->t[s]);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CLIP MODEL [WEIGHTS] [--frames N]\n", argv[0]);
    return 2;
  }
  av_log_set_level(AV_LOG_ERROR);
  bench_t b = {.frames = 150};
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--frames") && i + 1 < argc)
      b.frames = atoi(argv[++i]);
    else
      b.weights = argv[i];
  }
  if (bench_open(&b, argv[1], argv[2]) || bench_loop(&b))
    return 1;
  cn_source_stop(b.src);
  uint64_t written = 0, dropped = 0;
  cn_err_t err = {0};
  cn_recorder_close(b.rec, &written, &dropped, &err);
  bench_report(&b, written, dropped);
  bench_close(&b);
  return 0;
}
