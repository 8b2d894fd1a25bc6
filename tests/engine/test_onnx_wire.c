/* The zero-copy splitter (engine/onnx_wire.h), against protobuf-c: models
 * are packed by protobuf-c's own packer, split, and the skeleton unpacked
 * again by protobuf-c; the spans must point at exactly the payload bytes
 * protobuf-c wrote, and the skeleton must be the model minus those. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "engine/ir/graph.h"
#include "engine/onnx/onnx_import.h"
#include "engine/onnx.pb-c.h"
#include "engine/onnx/onnx_wire.h"

/* A model whose graph has initializers with raw_data of these sizes (0: no
 * raw_data, float_data instead) and one node. */
static uint8_t *pack_model(const size_t *sizes, int n, size_t *len) {
  Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
  Onnx__TensorProto tps[8], *tpp[8];
  Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
  Onnx__NodeProto *nodes[1] = {&node};
  Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *ops[1] = {&op};
  char names[8][16];
  int64_t dims[8];
  float fdata[4] = {1, 2, 3, 4};
  char *in[2] = {"x", "w0"}, *out[1] = {"y"};
  /* x and y: float tensors of w0's shape. */
  Onnx__TensorShapeProto__Dimension dim =
      ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
  Onnx__TensorShapeProto__Dimension *dimp[1] = {&dim};
  Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
  Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
  Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
  Onnx__ValueInfoProto vx = ONNX__VALUE_INFO_PROTO__INIT,
                       vy = ONNX__VALUE_INFO_PROTO__INIT;
  Onnx__ValueInfoProto *vxp[1] = {&vx}, *vyp[1] = {&vy};
  dim.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  dim.dim_value = sizes[0] ? (int64_t)(sizes[0] / 4) : 4;
  shape.n_dim = 1;
  shape.dim = dimp;
  tt.has_elem_type = 1;
  tt.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt.shape = &shape;
  type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type.tensor_type = &tt;
  vx.name = "x";
  vx.type = &type;
  vy.name = "y";
  vy.type = &type;
  for (int i = 0; i < n; i++) {
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    tps[i] = t;
    snprintf(names[i], sizeof names[i], "w%d", i);
    tps[i].name = names[i];
    tps[i].has_data_type = 1;
    tps[i].data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tps[i].n_dims = 1;
    tps[i].dims = &dims[i];
    if (sizes[i]) {
      dims[i] = (int64_t)(sizes[i] / 4);
      uint8_t *raw = malloc(sizes[i]);
      for (size_t k = 0; k < sizes[i]; k++)
        raw[k] = (uint8_t)(k * 7 + (size_t)i);
      tps[i].has_raw_data = 1;
      tps[i].raw_data.len = sizes[i];
      tps[i].raw_data.data = raw;
    } else {
      dims[i] = 4;
      tps[i].n_float_data = 4;
      tps[i].float_data = fdata;
    }
    tpp[i] = &tps[i];
  }
  node.op_type = "Add";
  node.n_input = 2;
  node.input = in;
  node.n_output = 1;
  node.output = out;
  gp.name = "g";
  gp.n_initializer = (size_t)n;
  gp.initializer = tpp;
  gp.n_node = 1;
  gp.node = nodes;
  gp.n_input = 1;
  gp.input = vxp;
  gp.n_output = 1;
  gp.output = vyp;
  op.has_version = 1;
  op.version = 13;
  mp.has_ir_version = 1;
  mp.ir_version = 8;
  mp.producer_name = "test";
  mp.n_opset_import = 1;
  mp.opset_import = ops;
  mp.graph = &gp;
  *len = onnx__model_proto__get_packed_size(&mp);
  uint8_t *buf = malloc(*len);
  assert_int_equal(onnx__model_proto__pack(&mp, buf), *len);
  for (int i = 0; i < n; i++)
    free(tps[i].raw_data.data);
  return buf;
}

static void test_split_matches_protobuf_c(void **state) {
  (void)state;
  const size_t sizes[] = {64, 0, 4096, 40000, 200, 1u << 20};
  const int n = 6;
  size_t len;
  uint8_t *buf = pack_model(sizes, n, &len);

  size_t ns = 0;
  int64_t sk = cn__onnx_split(buf, len, 4096, NULL, NULL, &ns);
  assert_int_equal(ns, n);
  /* The skeleton is the file minus the three big payloads, less their
   * field headers (tag + length varint) and a shorter graph/tensor length
   * prefix or two. */
  size_t payload = 4096 + 40000 + (1u << 20);
  assert_true(sk > 0 && (size_t)sk < len - payload);
  assert_true((size_t)sk > len - payload - 64);

  uint8_t *skel = malloc((size_t)sk);
  cn__span_t spans[6];
  size_t ns2 = 0;
  assert_int_equal(cn__onnx_split(buf, len, 4096, skel, spans, &ns2), sk);
  assert_int_equal(ns2, n);

  Onnx__ModelProto *full = onnx__model_proto__unpack(NULL, len, buf);
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, (size_t)sk, skel);
  assert_non_null(full);
  assert_non_null(mp);
  assert_string_equal(mp->producer_name, "test");
  assert_int_equal(mp->n_opset_import, 1);
  assert_int_equal(mp->graph->n_node, 1);
  assert_string_equal(mp->graph->node[0]->op_type, "Add");
  assert_int_equal(mp->graph->n_initializer, n);
  for (int i = 0; i < n; i++) {
    const Onnx__TensorProto *a = full->graph->initializer[i],
                            *b = mp->graph->initializer[i];
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->dims[0], b->dims[0]);
    if (sizes[i] >= 4096) {
      /* Elided, and the span is exactly where protobuf-c put the bytes. */
      assert_false(b->has_raw_data);
      assert_int_equal(spans[i].len, sizes[i]);
      assert_memory_equal(buf + spans[i].off, a->raw_data.data, sizes[i]);
    } else {
      assert_int_equal(spans[i].len, 0);
      assert_int_equal(b->has_raw_data, a->has_raw_data);
      assert_int_equal(b->raw_data.len, a->raw_data.len);
      if (a->raw_data.len)
        assert_memory_equal(b->raw_data.data, a->raw_data.data,
                            a->raw_data.len);
      assert_int_equal(b->n_float_data, a->n_float_data);
    }
  }
  /* Aligning moves each payload into its own header, never further. */
  for (int i = 0; i < n; i++) {
    if (!spans[i].len)
      continue;
    uint8_t *p = cn__onnx_align_payload(buf, &spans[i]);
    assert_int_equal((uintptr_t)p & 3, 0);
    assert_true(p <= buf + spans[i].off && p + 3 >= buf + spans[i].off);
    assert_memory_equal(p, full->graph->initializer[i]->raw_data.data,
                        sizes[i]);
  }
  onnx__model_proto__free_unpacked(full, NULL);
  onnx__model_proto__free_unpacked(mp, NULL);
  free(skel);
  free(buf);
}

/* Every truncation of a model is either split consistently (a prefix that
 * is still well-formed) or refused; never read past the end (ASan). */
static void test_truncated(void **state) {
  (void)state;
  const size_t sizes[] = {8192, 0};
  size_t len;
  uint8_t *buf = pack_model(sizes, 2, &len);
  for (size_t cut = 0; cut < len; cut += cut < 200 ? 1 : 397) {
    uint8_t *b = malloc(cut ? cut : 1);
    memcpy(b, buf, cut);
    size_t ns = 0;
    int64_t sk = cn__onnx_split(b, cut, 4096, NULL, NULL, &ns);
    if (sk >= 0) {
      uint8_t *skel = malloc((size_t)sk + 1);
      cn__span_t spans[2];
      size_t ns2 = 0;
      assert_int_equal(
          cn__onnx_split(b, cut, 4096, skel, ns <= 2 ? spans : NULL, &ns2), sk);
      assert_int_equal(ns2, ns);
      free(skel);
    }
    free(b);
  }
  /* A varint that never ends, and a length past the end. */
  const uint8_t bad1[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  const uint8_t bad2[] = {0x3a, 0x10, 0x2a, 0x00};
  const uint8_t group[] = {0x0b, 0x0c};
  /* Headers protobuf-c refuses: a 6-byte length, field number 0. */
  const uint8_t overlong[] = {0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  const uint8_t field0[] = {0x02, 0x00};
  size_t ns;
  assert_int_equal(cn__onnx_split(bad1, sizeof bad1, 4096, NULL, NULL, &ns),
                   -1);
  assert_int_equal(cn__onnx_split(bad2, sizeof bad2, 4096, NULL, NULL, &ns),
                   -1);
  assert_int_equal(cn__onnx_split(group, sizeof group, 4096, NULL, NULL, &ns),
                   -1);
  assert_int_equal(
      cn__onnx_split(overlong, sizeof overlong, 4096, NULL, NULL, &ns), -1);
  assert_int_equal(cn__onnx_split(field0, sizeof field0, 4096, NULL, NULL, &ns),
                   -1);
  assert_null(onnx__model_proto__unpack(NULL, sizeof overlong, overlong));
  free(buf);
}

/* End to end: a model with big weights loads from a file and from memory
 * with its weights intact (the constants use the payloads in place). */
static void test_load_in_place(void **state) {
  (void)state;
  const size_t sizes[] = {4 * 3000, 64};
  size_t len;
  uint8_t *buf = pack_model(sizes, 2, &len);
  cn_graph_t *g = NULL;
  cn_err_t err = {0};
  if (cn_onnx_load_mem(buf, len, "w.onnx", &g, &err) != 0)
    fail_msg("%s", err.msg);
  int id = cn_graph_find(g, "w0");
  assert_true(id >= 0);
  const uint8_t *d = g->tensors[id].data;
  assert_int_equal((uintptr_t)d & 3, 0);
  for (size_t k = 0; k < sizes[0]; k++)
    if (d[k] != (uint8_t)(k * 7))
      fail_msg("byte %zu of w0 is %u", k, d[k]);
  cn_graph_destroy(g);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_matches_protobuf_c),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_load_in_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
