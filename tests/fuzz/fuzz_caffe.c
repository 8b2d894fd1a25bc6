/* Fuzz target: bytes as a .caffemodel for a fixed deploy prototxt that uses
 * every layer with weights, and the same bytes as a .binaryproto and an
 * .npy mean. Any input must end in success or a one-line error.
 * cn_fuzz_outcome says what each reader made of it (replay.c checks it
 * for the named seeds). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/caffe/caffe_import.h"
#include "engine/ir/graph.h"
#include "camnet/mean.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char net[] =
    "input: \"data\" input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }\n"
    "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
    "  convolution_param { num_output: 2 kernel_size: 3 pad: 1 group: 2 } }\n"
    "layer { name: \"bn\" type: \"BatchNorm\" bottom: \"c\" top: \"c\" }\n"
    "layer { name: \"s\" type: \"Scale\" bottom: \"c\" top: \"c\"\n"
    "  scale_param { bias_term: true } }\n"
    "layer { name: \"p\" type: \"PReLU\" bottom: \"c\" top: \"c\" }\n"
    "layer { name: \"d\" type: \"Deconvolution\" bottom: \"c\" top: \"d\"\n"
    "  convolution_param { num_output: 1 kernel_size: 2 stride: 2 } }\n"
    "layer { name: \"f\" type: \"InnerProduct\" bottom: \"d\" top: \"f\"\n"
    "  inner_product_param { num_output: 3 } }\n";

char cn_fuzz_outcome[1024];
static size_t used;

/* Checks the error is one line, and adds "what: ok|message" to the
 * outcome. */
static void check(const char *what, const cn_err_t *err) {
  if (err->code &&
      (strlen(err->msg) >= CN_ERR_MSG_MAX || strchr(err->msg, '\n')))
    abort();
  if (used < sizeof cn_fuzz_outcome) {
    int w = snprintf(cn_fuzz_outcome + used, sizeof cn_fuzz_outcome - used,
                     "%s%s: %s", used ? "; " : "", what,
                     err->code ? err->msg : "ok");
    used += w > 0 ? (size_t)w : 0;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cn_err_t err = {0};
  cn_graph_t *g = NULL;
  used = 0;
  cn_fuzz_outcome[0] = 0;
  if (cn_caffe_load_mem(net, sizeof net - 1, data, size, "fuzz.prototxt",
                        "fuzz.caffemodel", &g, &err) == 0)
    cn_graph_destroy(g);
  check("caffemodel", &err);

  cn_npy_t a;
  cn_mean_t m;
  memset(&err, 0, sizeof err);
  if (cn_blobproto_read_mem(data, size, "fuzz.binaryproto", &a, &err) == 0) {
    if (cn_mean_fit(&a, "fuzz.binaryproto", 3, 5, 7, &m, &err) == 0)
      cn_mean_free(&m);
    cn_npy_free(&a);
  }
  check("binaryproto", &err);
  memset(&err, 0, sizeof err);
  if (cn_npy_read_mem(data, size, "fuzz.npy", &a, &err) == 0) {
    if (cn_mean_fit(&a, "fuzz.npy", 3, 5, 7, &m, &err) == 0)
      cn_mean_free(&m);
    cn_npy_free(&a);
  }
  check("npy", &err);
  return 0;
}
