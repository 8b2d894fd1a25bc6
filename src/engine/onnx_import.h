/* ONNX importer internals shared with its tests and docs (the public entry
 * points cn_onnx_load and cn_onnx_load_mem are in graph.h). */
#ifndef CN_ENGINE_ONNX_IMPORT_H
#define CN_ENGINE_ONNX_IMPORT_H

#include <stddef.h>

/* The op types (default domain) the importer converts, from its one
 * name -> handler table: the i-th name in strcmp order, NULL past the end.
 * Some are only accepted when they can be evaluated at load (Shape, Size,
 * ConstantOfShape, Range, Equal, and Cast to integer types). */
const char *cn_onnx_op_at(size_t i);
/* 1 when op is in that table. */
int cn_onnx_op_supported(const char *op);

#endif
