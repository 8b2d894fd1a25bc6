/* The engine alone: load a network, describe it, run it once on an input
 * of your own, print the largest outputs. No source, no window: this
 * program links libcamnet only (no SDL2, no cairo).
 *
 *   cc model_only.c $(pkg-config --cflags --libs camnet) -o model_only
 *   ./model_only resnet50.onnx            # or deploy.prototxt x.caffemodel
 */
#include <camnet/model.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL [CAFFE_WEIGHTS]\n", argv[0]);
    return 2;
  }
  cn_model_opts_t opts;
  cn_model_opts_default(&opts);
  opts.weights = argc > 2 ? argv[2] : NULL;
  cn_model_t *m = NULL;
  cn_err_t err = {0};
  if (cn_model_load(&m, argv[1], &opts, &err) < 0) {
    fprintf(stderr, "model_only: %s\n", err.msg);
    return 1;
  }
  const cn_tensor_desc_t *in = cn_model_input(m, 0);
  const cn_tensor_desc_t *out = cn_model_output(m, 0);
  printf("camnet %s, backend %s, %.2f GFLOP\n", cn_version(),
         cn_model_backend(m), cn_model_flops(m) / 1e9);
  printf("input %s: %lld values, output %s: %lld values\n", in->name,
         (long long)in->numel, out->name, (long long)out->numel);

  /* A mid-grey picture stands in for real data here. */
  float *x = malloc((size_t)in->numel * sizeof *x);
  float *y = malloc((size_t)out->numel * sizeof *y);
  int status = 1;
  if (x && y) {
    for (int64_t i = 0; i < in->numel; i++)
      x[i] = 0.5f;
    const float *ins[] = {x};
    float *outs[] = {y};
    if (cn_model_run(m, ins, outs, &err) == 0) {
      int64_t best = 0;
      for (int64_t i = 1; i < out->numel; i++)
        best = y[i] > y[best] ? i : best;
      printf("largest output: [%lld] = %g\n", (long long)best, y[best]);
      status = 0;
    } else {
      fprintf(stderr, "model_only: %s\n", err.msg);
    }
  }
  free(x);
  free(y);
  cn_model_free(m);
  return status;
}
