/* ONNX importer internals shared with its tests (the public entry points
 * cn_onnx_load and cn_onnx_load_mem are in graph.h). */
#ifndef CN_ENGINE_ONNX_IMPORT_H
#define CN_ENGINE_ONNX_IMPORT_H

/* The op types (default domain) the importer converts, NULL-terminated.
 * Some are only accepted when they can be evaluated at load (Shape, Size,
 * ConstantOfShape, Range, Equal, and Cast to integer types). */
extern const char *const cn__onnx_ops[];

#endif
