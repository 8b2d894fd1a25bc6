/* The ONNX importer: a .onnx file or buffer -> a finalized IR graph
 * (onnx/onnx_import.c), and the list of op types it converts.
 *
 * Ownership: on success *out is owned by the caller (cn_graph_destroy); on
 * failure nothing is left to free. Threads: any; calls are independent.
 * Errors: CN_EFORMAT "FILE: node N (NAME): what" for invalid models,
 * CN_EUNSUPPORTED for valid ones using what is not implemented (every
 * unsupported op type is named in one message, before any is converted),
 * CN_EINVAL for input shapes that are open or disagree, CN_ENOENT /
 * CN_EIO for the file, CN_ENOMEM. docs/models.md lists the coverage. */
#ifndef CN_ENGINE_ONNX_IMPORT_H
#define CN_ENGINE_ONNX_IMPORT_H

#include <stddef.h>

#include "camnet/error.h"
#include "camnet/model.h"
#include "engine/ir/graph.h"

int cn_onnx_load(const char *path, cn_graph_t **out, cn_err_t *err);
/* name labels errors as a file name would. */
int cn_onnx_load_mem(const void *buf, size_t len, const char *name,
                     cn_graph_t **out, cn_err_t *err);
/* The same with the model options that reach the importer: open input
 * dimensions (input_shapes, width, height; see camnet/model.h). opts may
 * be NULL. A dimension left open is CN_EINVAL. */
int cn_onnx_load_opts(const char *path, const cn_model_opts_t *opts,
                      cn_graph_t **out, cn_err_t *err);
int cn_onnx_load_mem_opts(const void *buf, size_t len, const char *name,
                          const cn_model_opts_t *opts, cn_graph_t **out,
                          cn_err_t *err);

/* The op types (default domain) the importer converts, from its one
 * name -> handler table: the i-th name in strcmp order, NULL past the end.
 * Some are only accepted when they can be evaluated at load (Shape, Size,
 * ConstantOfShape, Range, Equal, and Cast to integer types). */
const char *cn_onnx_op_at(size_t i);
/* 1 when op is in that table. */
int cn_onnx_op_supported(const char *op);

#endif
