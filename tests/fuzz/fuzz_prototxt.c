/* Fuzz target: prototxt text through the parser and, when it parses as a
 * NetParameter, through the Caffe importer (without weights). Any input
 * must end in success or a one-line error; ASan/UBSan catch the rest. A
 * parsed message must be well formed (protobuf_c_message_check) and pack,
 * and its bytes unpack to a message that packs to the same bytes.
 * cn_fuzz_outcome says what happened (replay.c checks it for the named seeds).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/caffe.pb-c.h"
#include "engine/caffe/caffe_import.h"
#include "engine/ir/graph.h"
#include "engine/caffe/prototxt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

char cn_fuzz_outcome[1024];

/* The message is well formed (no repeated field with a count but no
 * array, no missing required field...); it packs, the bytes unpack, and
 * pack again to the same bytes. */
static void check_packs(const ProtobufCMessage *m) {
  if (!protobuf_c_message_check(m))
    abort();
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *a = malloc(n ? n : 1), *b = NULL;
  if (!a || protobuf_c_message_pack(m, a) != n)
    abort();
  ProtobufCMessage *again =
      protobuf_c_message_unpack(m->descriptor, NULL, n, a);
  if (!again)
    abort(); /* what we packed does not read back */
  size_t n2 = protobuf_c_message_get_packed_size(again);
  b = malloc(n2 ? n2 : 1);
  if (!b || n2 != n || protobuf_c_message_pack(again, b) != n ||
      memcmp(a, b, n))
    abort();
  protobuf_c_message_free_unpacked(again, NULL);
  free(a);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cn_err_t err = {0};
  ProtobufCMessage *m = NULL;
  int used = 0;
  if (cn_prototxt_parse((const char *)data, size, "fuzz.prototxt",
                        &caffe__net_parameter__descriptor, &m, &err) == 0) {
    check_packs(m);
    protobuf_c_message_free_unpacked(m, NULL);
    used = snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "parse: ok");
    cn_graph_t *g = NULL;
    if (cn_caffe_load_mem((const char *)data, size, NULL, 0, "fuzz.prototxt",
                          NULL, &g, &err) == 0)
      cn_graph_destroy(g);
    snprintf(cn_fuzz_outcome + used, sizeof cn_fuzz_outcome - (size_t)used,
             "; load: %s", err.code ? err.msg : "ok");
  } else {
    snprintf(cn_fuzz_outcome, sizeof cn_fuzz_outcome, "parse: %s", err.msg);
  }
  if (err.code && (strlen(err.msg) >= CN_ERR_MSG_MAX || strchr(err.msg, '\n')))
    abort(); /* errors are one line */
  return 0;
}
