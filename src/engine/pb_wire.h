/* Reading the protobuf wire format directly, for the two places where
 * unpacking with protobuf-c would copy what camnet wants in place: the
 * weights of a .caffemodel (caffe_import.c) and of an ONNX file
 * (onnx_wire.c). A message is a run of fields, each a varint key (field
 * number << 3 | wire type) and a value whose size the wire type gives;
 * nested messages and bytes are length-prefixed, so a walker steps over
 * whole payloads without reading them.
 *
 * Everything is bounds-checked against the end of the buffer, and keys and
 * lengths are held to what protobuf-c itself accepts (5-byte varints,
 * field numbers 1 to 2^29-1, lengths below 2^31), so a walker never
 * accepts a file protobuf-c would refuse.
 */
#ifndef CN_ENGINE_PB_WIRE_H
#define CN_ENGINE_PB_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum { CN_PB_VARINT = 0, CN_PB_I64 = 1, CN_PB_LEN = 2, CN_PB_I32 = 5 };

typedef struct cn__pb_field {
  uint32_t num;           /* field number */
  int wt;                 /* wire type, one of CN_PB_* */
  uint64_t value;         /* CN_PB_VARINT: the value */
  const uint8_t *start;   /* the key's first byte */
  const uint8_t *payload; /* the value's bytes (CN_PB_LEN: after the length) */
  size_t len;             /* payload bytes (CN_PB_VARINT: 0) */
  const uint8_t *end;     /* the first byte after the field */
} cn__pb_field_t;

/* Reads the field at *p (before end) into f and moves *p past it.
 * Returns 0, or -1 for bytes that are not a well-formed field (groups,
 * wire types 3 and 4, are refused: no schema camnet reads has them). */
int cn__pb_next(const uint8_t **p, const uint8_t *end, cn__pb_field_t *f);

/* A varint of at most max bytes (10 for values, 5 for keys and lengths). */
int cn__pb_varint(const uint8_t **p, const uint8_t *end, int max, uint64_t *v);

#endif
