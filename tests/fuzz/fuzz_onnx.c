/* Fuzz target: bytes as an .onnx model. Any input must end in a graph or a
 * one-line error; a graph that loads is optimized and, when small, run
 * through the reference backend on zeros (kernels meet odd shapes too).
 * cn_fuzz_outcome says whether it loaded and optimized, or the error
 * (replay.c checks it for the named seeds). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ir/graph.h"
#include "engine/onnx/onnx_import.h"
#include "engine/ir/optimize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const cn_err_t *err) {
  if (err->code && (strlen(err->msg) >= CN_ERR_MSG_MAX ||
                    strchr(err->msg, '\n') || !err->msg[0]))
    abort();
}

static void run(const cn_graph_t *g) {
  if (cn_graph_flops(g) > 2e6 || g->ninputs > 8)
    return;
  float *ins[8] = {0}, *outs[64] = {0};
  if (g->noutputs > 64)
    return;
  for (int i = 0; i < g->ninputs; i++)
    ins[i] = calloc((size_t)cn_tensor_numel(&g->tensors[g->inputs[i]]) + 1,
                    sizeof(float));
  for (int i = 0; i < g->noutputs; i++)
    outs[i] = calloc((size_t)cn_tensor_numel(&g->tensors[g->outputs[i]]) + 1,
                     sizeof(float));
  void *st;
  cn_err_t err = {0};
  cn_engine_opts_t eo = {0};
  if (cn_engine_ref.prepare(g, &eo, &st, &err) == 0) {
    cn_engine_ref.run(st, (const float *const *)ins, outs, &err);
    cn_engine_ref.destroy(st);
  }
  check(&err);
  for (int i = 0; i < g->ninputs; i++)
    free(ins[i]);
  for (int i = 0; i < g->noutputs; i++)
    free(outs[i]);
}

char cn_fuzz_outcome[1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cn_err_t err = {0};
  cn_graph_t *g = NULL;
  if (cn_onnx_load_mem(data, size, "fuzz.onnx", &g, &err) == 0) {
    run(g);
    int rc = cn_graph_optimize(g, CN_OPT_ALL, &err);
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "load: ok; optimize: %s",
             rc ? err.msg : "ok");
    if (rc == 0)
      run(g);
    cn_graph_destroy(g);
  } else {
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "load: %s", err.msg);
  }
  check(&err);
  return 0;
}
