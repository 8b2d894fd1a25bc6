/* Caffe importer entry points beyond cn_caffe_load() (graph.h): the same
 * import from memory, for tests and the fuzz harness.
 *
 * cn_caffe_load_mem() parses `text` (prototxt, tlen bytes) and, when model
 * is not NULL, the binary caffemodel (mlen bytes). pname/mname label the
 * errors as file names would. Same contract as cn_caffe_load(): on success
 * *out is a finalized graph owned by the caller; on failure nothing is left
 * to free and err holds one line. Any thread.
 */
#ifndef CN_ENGINE_CAFFE_IMPORT_H
#define CN_ENGINE_CAFFE_IMPORT_H

#include <stddef.h>

#include "camnet/error.h"
#include "engine/graph.h"

int cn_caffe_load_mem(const char *text, size_t tlen, const void *model,
                      size_t mlen, const char *pname, const char *mname,
                      cn_graph_t **out, cn_err_t *err);

#endif
