/* The protobuf wire format, as far as cn__onnx_split needs it: a message is
 * a run of fields, each a varint key (field number << 3 | wire type) and a
 * value whose size the wire type gives. Nested messages and bytes are
 * length-prefixed (type 2), so whole payloads are skipped by their length
 * and never read. */
#include "engine/onnx_wire.h"

#include <stdbool.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

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

typedef struct field {
  uint64_t num;
  int wt;
  const uint8_t *start, *payload, *end;
} field_t;

typedef int64_t (*msg_fn)(walk_t *w, const uint8_t *p, const uint8_t *end,
                          uint8_t *out);

/* At most max bytes: 10 for a value, 5 for a key or a length, as
 * protobuf-c reads them (a file it would refuse must not load because its
 * bad header was left out of the skeleton). */
static int get_varint(const uint8_t **p, const uint8_t *end, int max,
                      uint64_t *v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 7 * max; shift += 7) {
    if (*p == end)
      return -1;
    uint8_t b = *(*p)++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return 0;
    }
  }
  return -1;
}

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

static int next_field(const uint8_t **p, const uint8_t *end, field_t *f) {
  uint64_t key, n;
  f->start = *p;
  f->payload = NULL;
  if (get_varint(p, end, 5, &key) || key > UINT32_MAX || (key >> 3) == 0)
    return -1;
  f->num = key >> 3;
  f->wt = (int)(key & 7);
  switch (f->wt) {
  case WT_VARINT:
    if (get_varint(p, end, 10, &n))
      return -1;
    break;
  case WT_I64:
  case WT_I32: {
    size_t sz = f->wt == WT_I64 ? 8 : 4;
    if ((size_t)(end - *p) < sz)
      return -1;
    *p += sz;
    break;
  }
  case WT_LEN:
    if (get_varint(p, end, 5, &n) || n > INT32_MAX || n > (uint64_t)(end - *p))
      return -1;
    f->payload = *p;
    *p += n;
    break;
  default: /* groups (3, 4) are deprecated and absent from onnx.proto */
    return -1;
  }
  f->end = *p;
  return 0;
}

static int64_t copy_field(const field_t *f, uint8_t *out) {
  size_t n = (size_t)(f->end - f->start);
  if (out)
    memcpy(out, f->start, n);
  return (int64_t)n;
}

/* A length-prefixed message field whose payload fn rewrites. The payload
 * is measured first (without recording spans), then written, or walked
 * again to count spans when only measuring. */
static int64_t nested(walk_t *w, const field_t *f, msg_fn fn, uint8_t *out) {
  bool rec = w->record;
  w->record = false;
  int64_t len = fn(w, f->payload, f->end, NULL);
  w->record = rec;
  if (len < 0)
    return -1;
  uint64_t key = f->num << 3 | WT_LEN;
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
  field_t f;
  while (p < end) {
    if (next_field(&p, end, &f))
      return -1;
    if (f.num == TENSOR_RAW_DATA && f.wt == WT_LEN) {
      size_t len = (size_t)(f.end - f.payload);
      /* The last raw_data wins, as protobuf merges it. */
      if (w->record && w->spans)
        w->spans[w->cur] = len >= w->min
                               ? (cn__span_t){(size_t)(f.payload - w->buf), len}
                               : (cn__span_t){0, 0};
      if (len >= w->min)
        continue;
    }
    int64_t k = copy_field(&f, out ? out + n : NULL);
    n += k;
  }
  return n;
}

static int64_t graph_msg(walk_t *w, const uint8_t *p, const uint8_t *end,
                         uint8_t *out) {
  int64_t n = 0, k;
  field_t f;
  while (p < end) {
    if (next_field(&p, end, &f))
      return -1;
    if (f.num == GRAPH_INITIALIZER && f.wt == WT_LEN) {
      if (w->record) {
        w->cur = w->nspans++;
        if (w->spans)
          w->spans[w->cur] = (cn__span_t){0, 0};
      }
      k = nested(w, &f, tensor_msg, out ? out + n : NULL);
    } else {
      k = copy_field(&f, out ? out + n : NULL);
    }
    if (k < 0)
      return -1;
    n += k;
  }
  return n;
}

static int64_t model_msg(walk_t *w, const uint8_t *p, const uint8_t *end,
                         uint8_t *out) {
  int64_t n = 0, k;
  field_t f;
  while (p < end) {
    if (next_field(&p, end, &f))
      return -1;
    if (f.num == MODEL_GRAPH && f.wt == WT_LEN)
      k = nested(w, &f, graph_msg, out ? out + n : NULL);
    else
      k = copy_field(&f, out ? out + n : NULL);
    if (k < 0)
      return -1;
    n += k;
  }
  return n;
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
