/* The prototxt parser: values of every kind, the opaque-message rule,
 * errors with line:column, and a cross-check against Google's own text
 * format parser (python3-protobuf) on the same caffe.proto. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/caffe.pb-c.h"
#include "engine/caffe/prototxt.h"

static Caffe__NetParameter *parse_net(const char *text, cn_err_t *err) {
  ProtobufCMessage *m = NULL;
  int rc = cn_prototxt_parse(text, strlen(text), "t.prototxt",
                             &caffe__net_parameter__descriptor, &m, err);
  if (rc) {
    assert_null(m);
    return NULL;
  }
  return (Caffe__NetParameter *)m;
}

static void free_net(Caffe__NetParameter *n) {
  protobuf_c_message_free_unpacked(&n->base, NULL);
}

static void test_values_of_every_kind(void **state) {
  (void)state;
  const char *text =
      "# a comment line\n"
      "name: 'te' \"st\\x21\\101\\n\"  # adjacent literals concatenate\n"
      "input: \"data\" input_dim: 1 input_dim: 0x3, input_dim: 010;\n"
      "input_dim: [5]\n"
      "layer <\n"
      "  name: \"conv\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
      "  convolution_param: { num_output: 16 kernel_size: [3, 3] pad_h: 1\n"
      "    bias_term: false engine: 1 }\n"
      ">\n"
      "layer { name: \"p\" type: \"Pooling\"\n"
      "  pooling_param { pool: AVE kernel_size: 2 global_pooling: t }\n"
      "}\n"
      "layer { name: \"r\" type: \"ReLU\" relu_param { negative_slope: "
      "-2.5e-1f } }\n"
      "layer { name: \"e\" type: \"Eltwise\"\n"
      "  eltwise_param { coeff: [1, -.5, 1e3, inf] operation: MAX }\n"
      "  include { phase: TEST } }\n";
  cn_err_t err = {0};
  Caffe__NetParameter *n = parse_net(text, &err);
  if (!n)
    fail_msg("%s", err.msg);
  assert_string_equal(n->name, "test!A\n");
  assert_int_equal(n->n_input, 1);
  assert_string_equal(n->input[0], "data");
  assert_int_equal(n->n_input_dim, 4);
  assert_int_equal(n->input_dim[0], 1);
  assert_int_equal(n->input_dim[1], 3);
  assert_int_equal(n->input_dim[2], 8); /* octal */
  assert_int_equal(n->input_dim[3], 5);
  assert_int_equal(n->n_layer, 4);

  Caffe__LayerParameter *c = n->layer[0];
  assert_string_equal(c->name, "conv");
  assert_string_equal(c->type, "Convolution");
  assert_non_null(c->convolution_param);
  Caffe__ConvolutionParameter *cp = c->convolution_param;
  assert_true(cp->has_num_output);
  assert_int_equal(cp->num_output, 16);
  assert_int_equal(cp->n_kernel_size, 2);
  assert_int_equal(cp->kernel_size[1], 3);
  assert_true(cp->has_pad_h);
  assert_int_equal(cp->pad_h, 1);
  assert_false(cp->has_pad_w);
  assert_false(cp->bias_term);
  assert_int_equal(cp->engine, CAFFE__CONVOLUTION_PARAMETER__ENGINE__CAFFE);
  assert_int_equal(cp->group, 1); /* default from the schema */

  Caffe__PoolingParameter *pp = n->layer[1]->pooling_param;
  assert_int_equal(pp->pool, CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE);
  assert_int_equal(pp->kernel_size, 2);
  assert_true(pp->global_pooling);
  assert_false(pp->has_stride);
  assert_int_equal(pp->stride, 1);

  assert_float_equal(n->layer[2]->relu_param->negative_slope, -0.25f, 0);

  Caffe__EltwiseParameter *ep = n->layer[3]->eltwise_param;
  assert_int_equal(ep->n_coeff, 4);
  assert_float_equal(ep->coeff[1], -0.5f, 0);
  assert_float_equal(ep->coeff[2], 1000.0f, 0);
  assert_true(isinf(ep->coeff[3]) && ep->coeff[3] > 0);
  assert_int_equal(ep->operation, CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__MAX);
  assert_int_equal(n->layer[3]->n_include, 1);
  assert_true(n->layer[3]->include[0]->has_phase);
  assert_int_equal(n->layer[3]->include[0]->phase, CAFFE__PHASE__TEST);
  free_net(n);
}

/* Training-only parameters (data sources, transforms) are declared without
 * fields in caffe.proto: their contents are skipped, syntax still checked. */
static void test_opaque_messages_are_skipped(void **state) {
  (void)state;
  const char *text =
      "layer { name: \"data\" type: \"Data\" top: \"data\"\n"
      "  transform_param { mirror: true crop_size: 227 mean_file: \"m\"\n"
      "    resize_param { prob: 1 interp_mode: [LINEAR, AREA] } }\n"
      "  data_param { source: \"x_lmdb\" batch_size: -1 backend: LMDB }\n"
      "}\n"
      "layer { name: \"x\" type: \"ReLU\" }\n";
  cn_err_t err = {0};
  Caffe__NetParameter *n = parse_net(text, &err);
  if (!n)
    fail_msg("%s", err.msg);
  assert_int_equal(n->n_layer, 2);
  assert_non_null(n->layer[0]->transform_param);
  assert_non_null(n->layer[0]->data_param);
  assert_string_equal(n->layer[1]->name, "x");
  free_net(n);

  /* Syntax errors inside an opaque message are still errors. */
  assert_null(parse_net("layer { data_param { source: } }", &err));
  assert_string_equal(err.msg, "t.prototxt:1:30: expected a value, found '}'");
}

typedef struct bad_case {
  const char *text;
  const char *msg;
} bad_case_t;

static void test_errors_name_line_and_column(void **state) {
  (void)state;
  static const bad_case_t cases[] = {
      {"layer {\n  name: \"a\"\n",
       "t.prototxt:3:1: expected '}', found end of file"},
      {"layer {\n  name: \"a\"\n>", "t.prototxt:3:1: expected '}', found '>'"},
      {"layer { nme: \"a\" }",
       "t.prototxt:1:9: unknown field 'nme' in caffe.LayerParameter"},
      {"layer {\n convolution_param { num_output: -3 } }",
       "t.prototxt:2:34: value -3 out of range"},
      {"input_dim: 2147483648",
       "t.prototxt:1:12: value 2147483648 out of range"},
      {"input_dim: -2147483649",
       "t.prototxt:1:12: value -2147483649 out of range"},
      {"layer { convolution_param { num_output: 1.5 } }",
       "t.prototxt:1:41: invalid integer '1.5'"},
      {"layer { relu_param { negative_slope: 1e } }",
       "t.prototxt:1:38: invalid number '1e'"},
      {"layer { relu_param { negative_slope: 1e39 } }",
       "t.prototxt:1:38: value out of range for a float"},
      {"name: \"a\"\nname: \"b\"",
       "t.prototxt:2:1: field 'name' given more than once"},
      {"name: \"a\\q\"", "t.prototxt:1:9: unknown escape '\\q'"},
      {"name: \"a\\400\"", "t.prototxt:1:9: octal escape out of range"},
      {"name: \"a\\0b\"", "t.prototxt:1:7: string contains a NUL byte"},
      {"name: \"abc\n\"",
       "t.prototxt:1:7: string not terminated before end of line"},
      {"name: 'abc",
       "t.prototxt:1:7: string not terminated before end of file"},
      {"name: 'a' @", "t.prototxt:1:11: unexpected character '@'"},
      {"layer { type: Convolution }",
       "t.prototxt:1:15: expected a string, found 'Convolution'"},
      {"layer { name \"a\" }", "t.prototxt:1:14: expected ':' after 'name'"},
      {"}", "t.prototxt:1:1: expected a field name, found '}'"},
      {"layer { pooling_param { pool: MIN } }",
       "t.prototxt:1:31: unknown value 'MIN' for "
       "caffe.PoolingParameter.PoolMethod"},
      {"layer { pooling_param { pool: 7 } }",
       "t.prototxt:1:31: unknown value 7 for "
       "caffe.PoolingParameter.PoolMethod"},
      {"layer { pooling_param { global_pooling: yes } }",
       "t.prototxt:1:41: expected true or false, found 'yes'"},
      {"name: [\"a\"]", "t.prototxt:1:7: field 'name' is not repeated"},
      {"input_dim: [1 2]", "t.prototxt:1:15: expected ',' or ']', found '2'"},
      {"layer: 3", "t.prototxt:1:8: expected '{', found '3'"},
      {"[ext.field]: 1", "t.prototxt:1:1: extension fields are not supported"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cn_err_t err = {0};
    Caffe__NetParameter *n = parse_net(cases[i].text, &err);
    if (n) {
      free_net(n);
      fail_msg("case %zu parsed: %s", i, cases[i].text);
    }
    assert_int_equal(err.code, CN_EFORMAT);
    if (strcmp(err.msg, cases[i].msg) != 0)
      fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, cases[i].msg);
  }

  /* A NUL byte inside the text (len covers it). */
  cn_err_t err = {0};
  ProtobufCMessage *m = NULL;
  assert_int_equal(cn_prototxt_parse("name: \"a\"\n\0x", 12, "t.prototxt",
                                     &caffe__net_parameter__descriptor, &m,
                                     &err),
                   CN_EFORMAT);
  assert_null(m);
  assert_string_equal(err.msg, "t.prototxt:2:1: unexpected byte 0x00");
}

static void test_nesting_is_bounded(void **state) {
  (void)state;
  /* 100000 nested opaque messages would overflow a recursive parser. */
  size_t depth = 100000;
  size_t len = strlen("layer { data_param ") + depth * 4 + 4;
  char *text = malloc(len + 1);
  assert_non_null(text);
  strcpy(text, "layer { data_param ");
  char *w = text + strlen(text);
  for (size_t i = 0; i < depth; i++, w += 4)
    memcpy(w, "{ a ", 4);
  *w = 0;
  cn_err_t err = {0};
  Caffe__NetParameter *n = parse_net(text, &err);
  assert_null(n);
  assert_int_equal(err.code, CN_EFORMAT);
  assert_non_null(strstr(err.msg, "nested deeper than 100"));
  free(text);
}

static void test_load_reports_missing_file(void **state) {
  (void)state;
  cn_err_t err = {0};
  ProtobufCMessage *m = NULL;
  assert_int_equal(cn_prototxt_load("/nonexistent/x.prototxt",
                                    &caffe__net_parameter__descriptor, &m,
                                    &err),
                   CN_ENOENT);
  assert_null(m);
  assert_non_null(strstr(err.msg, "/nonexistent/x.prototxt"));
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char *buf = malloc(1 << 20);
  *n = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

/* The bytes protobuf-c packs from our parse equal the bytes Google's parser
 * (text_format) serializes from the same text. */
static void test_matches_google_text_format(void **state) {
  (void)state;
  if (!cn_test_have("/usr/bin/python3"))
    CN_TEST_SKIP_MISSING("python3", "no /usr/bin/python3");
  char out[512];
  if (cn_test_sh(out, sizeof out,
                 "/usr/bin/python3 -c 'import google.protobuf.text_format'"))
    CN_TEST_SKIP_MISSING("python3-protobuf", "%s", out);
  static const char *texts[] = {
      "name: \"GoogLeNet-ish\"\n"
      "input: \"data\"\n"
      "input_shape { dim: 1 dim: 3 dim: 224 dim: 224 }\n"
      "layer { name: \"conv1/7x7_s2\" type: \"Convolution\" bottom: \"data\"\n"
      "  top: \"conv1/7x7_s2\" param { lr_mult: 1 decay_mult: 1 }\n"
      "  param { lr_mult: 2 decay_mult: 0 }\n"
      "  convolution_param { num_output: 64 pad: 3 kernel_size: 7 stride: 2\n"
      "    weight_filler { type: \"xavier\" std: 0.1 }\n"
      "    bias_filler { type: \"constant\" value: 0.2 } } }\n"
      "layer { name: \"pool\" type: \"Pooling\" bottom: \"conv1/7x7_s2\" top: "
      "\"p\"\n"
      "  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n"
      "layer { name: \"norm\" type: \"LRN\" bottom: \"p\" top: \"n\"\n"
      "  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }\n",
      "layers { name: \"fc6\" type: INNER_PRODUCT bottom: \"pool5\" top: "
      "\"fc6\"\n"
      "  blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0\n"
      "  inner_product_param { num_output: 4096 } }\n"
      "layers { name: \"drop\" type: DROPOUT dropout_param { dropout_ratio: "
      "0.5 } }\n"
      "input_dim: 10 input_dim: 3 input_dim: 227 input_dim: 227\n",
      "layer { name: \"mbox_priorbox\" type: \"PriorBox\"\n"
      "  prior_box_param { min_size: 60.0 max_size: 150.0 aspect_ratio: 2.0\n"
      "    aspect_ratio: 3.0 flip: true clip: false variance: 0.1 variance: "
      "0.1\n"
      "    variance: 0.2 variance: 0.2 offset: 0.5 step: 32 } }\n"
      "layer { name: \"detection_out\" type: \"DetectionOutput\"\n"
      "  include { phase: TEST }\n"
      "  detection_output_param { num_classes: 21 share_location: true\n"
      "    background_label_id: 0 nms_param { nms_threshold: 0.45 top_k: 100 "
      "}\n"
      "    code_type: CENTER_SIZE keep_top_k: 100 confidence_threshold: 0.25 } "
      "}\n"
      "layer { name: \"s\" type: \"Slice\" slice_param { axis: -1 slice_point: "
      "2 } }\n"
      "layer { name: \"b\" type: \"Reshape\" reshape_param { shape { dim: 0 "
      "dim: -1 } } }\n",
  };
  char *dir = cn_test_mkdtemp();
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    char txt[512], bin[512];
    snprintf(txt, sizeof txt, "%s/t%zu.prototxt", dir, i);
    snprintf(bin, sizeof bin, "%s/t%zu.bin", dir, i);
    FILE *f = fopen(txt, "w");
    assert_non_null(f);
    fputs(texts[i], f);
    fclose(f);
    int rc = cn_test_sh(out, sizeof out,
                        "/usr/bin/python3 %s/tests/engine/caffe_pb.py text2bin "
                        "%s/src/engine/caffe.desc caffe.NetParameter %s %s",
                        cn_test_source_dir(), cn_test_build_dir(), txt, bin);
    if (rc)
      fail_msg("python reference failed: %s", out);
    size_t want_n = 0;
    unsigned char *want = read_all(bin, &want_n);
    assert_non_null(want);

    cn_err_t err = {0};
    ProtobufCMessage *m = NULL;
    if (cn_prototxt_load(txt, &caffe__net_parameter__descriptor, &m, &err))
      fail_msg("%s", err.msg);
    size_t n = protobuf_c_message_get_packed_size(m);
    unsigned char *got = malloc(n + 1);
    assert_int_equal(protobuf_c_message_pack(m, got), n);
    if (n != want_n || memcmp(got, want, n) != 0)
      fail_msg("text %zu: %zu bytes from protobuf-c, %zu from python", i, n,
               want_n);
    free(got);
    free(want);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  cn_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values_of_every_kind),
      cmocka_unit_test(test_opaque_messages_are_skipped),
      cmocka_unit_test(test_errors_name_line_and_column),
      cmocka_unit_test(test_nesting_is_bounded),
      cmocka_unit_test(test_load_reports_missing_file),
      cmocka_unit_test(test_matches_google_text_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
