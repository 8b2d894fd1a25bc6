/* The whole loop: open a source, load a model, take the newest frame, run
 * the network on it, print the result as a JSON Lines record (the same
 * schema as `camnet --json`, docs/formats.md).
 *
 *   cc camera.c $(pkg-config --cflags --libs camnet) -o camera
 *   ./camera rtsp://192.168.1.10/stream model.onnx 100
 */
#include <camnet/camnet.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s SOURCE MODEL FRAMES\n", argv[0]);
    return 2;
  }
  cn_err_t err = {0};
  cn_source_opts_t so;
  cn_source_opts_default(&so);
  so.uri = argv[1];
  cn_stage_opts_t mo;
  cn_stage_opts_default(&mo);
  mo.model = argv[2];
  cn_source_t *src = NULL;
  cn_stage_model_t *model = NULL;
  cn_stage_t *stage = NULL;
  cn_jsonl_t *out = NULL;
  int rc = cn_source_create(&so, &src, &err);
  if (!rc)
    rc = cn_stage_model_open(&mo, &model, &err);
  if (!rc)
    rc = cn_stage_create(model, &stage, &err);
  if (!rc)
    rc = cn_jsonl_open("-", &out, &err);
  if (!rc)
    rc = cn_jsonl_set_task(out, cn_stage_model_task(model),
                           cn_stage_model_labels(model), &err);
  if (!rc)
    rc = cn_source_start(src, &err);
  uint64_t last = 0;
  for (long n = 0; !rc && n < atol(argv[3]);) {
    cn_frame_t *f = NULL;
    const cn_result_t *res = NULL;
    int got = cn_source_take(src, last, -1, &f, &last, &err); /* newest */
    if (got == CN_EOF) {
      if (err.code && err.code != CN_EOF) /* ended by a failure */
        rc = err.code;
      break;
    }
    if (got) { /* a frame that did not decode: skipped, counted */
      err = (cn_err_t){0};
      continue;
    }
    rc = cn_stage_run(stage, f, &res, &err);
    if (!rc && !(rc = cn_jsonl_write(out, f, res, &err)))
      n++;
    cn_frame_unref(&f);
  }
  if (rc)
    fprintf(stderr, "camera: %s\n", err.msg);
  cn_source_destroy(src);
  int wrc = cn_jsonl_close(out, NULL);
  cn_stage_destroy(stage);
  cn_stage_model_close(model);
  return rc || wrc ? 1 : 0;
}
