/* Fuzz target: prototxt text through the parser and, when it parses as a
 * NetParameter, through the Caffe importer (without weights). Any input
 * must end in success or a one-line error; ASan/UBSan catch the rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/caffe.pb-c.h"
#include "engine/caffe/caffe_import.h"
#include "engine/ir/graph.h"
#include "engine/caffe/prototxt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cn_err_t err = {0};
  ProtobufCMessage *m = NULL;
  if (cn_prototxt_parse((const char *)data, size, "fuzz.prototxt",
                        &caffe__net_parameter__descriptor, &m, &err) == 0) {
    /* A parsed message packs (the struct is consistent). */
    size_t n = protobuf_c_message_get_packed_size(m);
    (void)n;
    protobuf_c_message_free_unpacked(m, NULL);
    cn_graph_t *g = NULL;
    if (cn_caffe_load_mem((const char *)data, size, NULL, 0, "fuzz.prototxt",
                          NULL, &g, &err) == 0)
      cn_graph_destroy(g);
  }
  if (err.code && (strlen(err.msg) >= CN_ERR_MSG_MAX || strchr(err.msg, '\n')))
    abort(); /* errors are one line */
  return 0;
}
