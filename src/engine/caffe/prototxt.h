/* cn_prototxt: a strict protobuf text-format parser that fills protobuf-c
 * messages (protobuf-c itself only reads the binary format).
 *
 * The grammar is protobuf's text format: `name: value` and `name { ... }`
 * (or `name < ... >`, colon optional before a message), repeated fields by
 * repetition or as lists `name: [1, 2]`, '#' comments, optional ',' or ';'
 * after a field, strings in single or double quotes with C escapes (octal,
 * \xHH) and adjacent literals concatenated, integers in decimal, hex or
 * octal, floats with exponents, an optional f suffix, inf and nan, enum
 * values by name or number, bools as true/false/t/f/1/0.
 *
 * Strictness: unknown field names, values of the wrong type or out of the
 * field's range, a non-repeated field given twice and anything after the
 * last field are errors. One exception: a message type declared without
 * fields in the .proto is opaque; its contents are checked for syntax and
 * skipped (see caffe.proto).
 *
 * Errors: CN_EFORMAT with a one-line message "NAME:LINE:COL: what", LINE and
 * COL counted from 1, COL in bytes; CN_ENOMEM; CN_ENOENT/CN_EIO for load().
 * Nesting deeper than 100 messages is refused, so hostile input cannot
 * exhaust the stack.
 *
 * Ownership: on success *out is a message allocated with the system
 * allocator, freed by protobuf_c_message_free_unpacked(*out, NULL). On
 * failure *out is NULL and nothing is left to free.
 *
 * Threads: no shared state; any thread. Numbers are read independently of
 * the process locale.
 */
#ifndef CN_ENGINE_PROTOTXT_H
#define CN_ENGINE_PROTOTXT_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "camnet/error.h"

/* Parses len bytes of text as a message of type desc. name labels errors
 * (usually the file name). */
int cn_prototxt_parse(const char *text, size_t len, const char *name,
                      const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **out, cn_err_t *err);

/* Reads the file at path and parses it; errors are labelled with path. */
int cn_prototxt_load(const char *path, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out, cn_err_t *err);

#endif
