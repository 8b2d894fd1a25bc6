/* The ONNX splitter: walks ModelProto -> graph -> initializer -> raw_data
 * with the wire reader of pb_wire.h, copying every other field as it is. */
#include "engine/onnx/onnx_wire.h"

#include <stdbool.h>
#include <string.h>

#include "engine/pb_wire.h"

/* Field numbers in onnx.proto. */
enum { MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9 };

typedef struct walk {
  const uint8_t *buf; /* the file: spans are offsets into it */
  size_t min;
  cn__span_t *spans;
  size_t nspans;
  size_t cur;  /* the initializer being written */
  bool record; /* false while a nested message is only measured */
} walk_t;

typedef int64_t (*msg_fn)(walk_t *w, const uint8_t *p, const uint8_t *end,
                          uint8_t *out);

static size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7)
    n++;
  return n;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v) {
  for (; v >= 0x80; v >>= 7)
    *o++ = (uint8_t)(v | 0x80);
  *o++ = (uint8_t)v;
  return o;
}

static int64_t copy_field(const cn__pb_field_t *f, uint8_t *out) {
  size_t n = (size_t)(f->end - f->start);
  if (out)
    memcpy(out, f->start, n);
  return (int64_t)n;
}

/* A length-prefixed message field whose payload fn rewrites. The payload
 * is measured first (without recording spans), then written, or walked
 * again to count spans when only measuring. */
static int64_t nested(walk_t *w, const cn__pb_field_t *f, msg_fn fn,
                      uint8_t *out) {
  bool rec = w->record;
  w->record = false;
  int64_t len = fn(w, f->payload, f->end, NULL);
  w->record = rec;
  if (len < 0)
    return -1;
  uint64_t key = (uint64_t)f->num << 3 | CN_PB_LEN;
  size_t hdr = varint_size(key) + varint_size((uint64_t)len);
  uint8_t *o = NULL;
  if (out)
    o = put_varint(put_varint(out, key), (uint64_t)len);
  if ((out || rec) && fn(w, f->payload, f->end, o) != len)
    return -1;
  return (int64_t)hdr + len;
}

static int64_t tensor_msg(walk_t *w, const uint8_t *p, const uint8_t *end,
                          uint8_t *out) {
  int64_t n = 0;
  cn__pb_field_t f;
  while (p < end) {
    if (cn__pb_next(&p, end, &f))
      return -1;
    if (f.num == TENSOR_RAW_DATA && f.wt == CN_PB_LEN) {
      /* The last raw_data wins, as protobuf merges it. */
      if (w->record && w->spans)
        w->spans[w->cur] =
            f.len >= w->min ? (cn__span_t){(size_t)(f.payload - w->buf), f.len}
                            : (cn__span_t){0, 0};
      if (f.len >= w->min)
        continue;
    }
    n += copy_field(&f, out ? out + n : NULL);
  }
  return n;
}

/* Copies a message's fields, rewriting field num (a nested message) with
 * fn; for the graph's initializers, one span each. */
static int64_t rewrite(walk_t *w, const uint8_t *p, const uint8_t *end,
                       uint8_t *out, uint32_t num, msg_fn fn,
                       bool initializers) {
  int64_t n = 0, k;
  cn__pb_field_t f;
  while (p < end) {
    if (cn__pb_next(&p, end, &f))
      return -1;
    if (f.num == num && f.wt == CN_PB_LEN) {
      if (initializers && w->record) {
        w->cur = w->nspans++;
        if (w->spans)
          w->spans[w->cur] = (cn__span_t){0, 0};
      }
      k = nested(w, &f, fn, out ? out + n : NULL);
    } else {
      k = copy_field(&f, out ? out + n : NULL);
    }
    if (k < 0)
      return -1;
    n += k;
  }
  return n;
}

static int64_t graph_msg(walk_t *w, const uint8_t *p, const uint8_t *end,
                         uint8_t *out) {
  return rewrite(w, p, end, out, GRAPH_INITIALIZER, tensor_msg, true);
}

static int64_t model_msg(walk_t *w, const uint8_t *p, const uint8_t *end,
                         uint8_t *out) {
  return rewrite(w, p, end, out, MODEL_GRAPH, graph_msg, false);
}

int64_t cn__onnx_split(const uint8_t *buf, size_t len, size_t min,
                       uint8_t *skel, cn__span_t *spans, size_t *nspans) {
  walk_t w = {
      .buf = buf, .min = min < 128 ? 128 : min, .spans = spans, .record = true};
  int64_t n = model_msg(&w, buf, buf + len, skel);
  *nspans = w.nspans;
  return n;
}

uint8_t *cn__onnx_align_payload(uint8_t *buf, const cn__span_t *s) {
  uint8_t *p = buf + s->off;
  uint8_t *a = (uint8_t *)((uintptr_t)p & ~(uintptr_t)3);
  if (a != p)
    memmove(a, p, s->len);
  return a;
}
