#include "engine/pb_wire.h"

int cn__pb_varint(const uint8_t **p, const uint8_t *end, int max, uint64_t *v) {
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

int cn__pb_next(const uint8_t **p, const uint8_t *end, cn__pb_field_t *f) {
  uint64_t key, n = 0;
  f->start = *p;
  f->value = 0;
  if (cn__pb_varint(p, end, 5, &key) || key > UINT32_MAX || (key >> 3) == 0)
    return -1;
  f->num = (uint32_t)(key >> 3);
  f->wt = (int)(key & 7);
  switch (f->wt) {
  case CN_PB_VARINT:
    f->payload = *p;
    if (cn__pb_varint(p, end, 10, &f->value))
      return -1;
    f->len = 0;
    f->end = *p;
    return 0;
  case CN_PB_I64:
    n = 8;
    break;
  case CN_PB_I32:
    n = 4;
    break;
  case CN_PB_LEN:
    if (cn__pb_varint(p, end, 5, &n) || n > INT32_MAX)
      return -1;
    break;
  default:
    return -1;
  }
  if (n > (uint64_t)(end - *p))
    return -1;
  f->payload = *p;
  f->len = (size_t)n;
  *p += n;
  f->end = *p;
  return 0;
}
