/* The Caffe importer: a deploy prototxt and, when given, its caffemodel
 * weights -> a finalized IR graph (caffe/caffe_import.c).
 *
 * cn_caffe_load() reads the files; caffemodel may be NULL (the net without
 * trained weights); intr (NULL: none) is asked between layers. On success
 * *out is owned by the caller.
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
#include "camnet/model.h"
#include "engine/ir/graph.h"

int cn_caffe_load(const char *prototxt, const char *caffemodel,
                  const cn_interrupt_t *intr, cn_graph_t **out, cn_err_t *err);
/* The same import from memory, for tests and the fuzz harness. */
int cn_caffe_load_mem(const char *text, size_t tlen, const void *model,
                      size_t mlen, const char *pname, const char *mname,
                      cn_graph_t **out, cn_err_t *err);

/* The layer types the importer converts (from its one sorted name ->
 * handler table): the i-th, NULL past the end. */
const char *cn_caffe_layer_at(size_t i);

#endif
