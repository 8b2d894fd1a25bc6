/* Zero-copy loading of ONNX weights: protobuf-c copies every bytes field
 * it unpacks, and for a 100 MB model that copy (into memory the kernel
 * must first provide) costs more than everything else the load does. So
 * the importer reads the file once into memory the graph owns, unpacks a
 * skeleton of it without the big weight payloads, and points the weight
 * constants at the payloads where they already lie.
 *
 * cn__onnx_split walks the protobuf wire format of a ModelProto far enough
 * to find graph.initializer[i].raw_data (fields 7, 5 and 9) and writes
 * everything else, byte for byte, as the skeleton.
 */
#ifndef CN_ENGINE_ONNX_WIRE_H
#define CN_ENGINE_ONNX_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Where initializer i's raw_data payload lies in the file (len 0: the
 * initializer kept its raw_data in the skeleton, or has none). */
typedef struct cn__span {
  size_t off, len;
} cn__span_t;

/* Writes to skel (NULL: only measures) the ModelProto buf[0..len) without
 * the raw_data payloads of graph initializers of min bytes or more (min
 * must be at least 128: the payload then has at least 3 bytes of field
 * header in front of it, which cn__onnx_align_payload may overwrite).
 * spans (NULL: not written) gets one entry per initializer, in order;
 * *nspans their count. Returns the skeleton's length, or -1 when buf is
 * not well-formed wire format of the kinds an ONNX file uses (the caller
 * then unpacks buf as it is, and protobuf-c reports what is wrong). */
int64_t cn__onnx_split(const uint8_t *buf, size_t len, size_t min,
                       uint8_t *skel, cn__span_t *spans, size_t *nspans);

/* Moves the payload of span s in buf down (by at most 3 bytes, into its
 * own field header) to a 4-byte aligned address and returns it, so float
 * weights can be used in place. */
uint8_t *cn__onnx_align_payload(uint8_t *buf, const cn__span_t *s);

#endif
