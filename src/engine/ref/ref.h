/* Internal contract of the reference backend's kernels (not public).
 *
 * Every kernel computes one node on dense row-major float32 buffers in the
 * logical shapes of the node's tensors: in[i] for node->inputs[i] (constant
 * inputs already resolved to t->data, absent optional inputs NULL), out[j]
 * for node->outputs[j]. They never allocate: what they need beyond that is
 * `scratch`, sized by the matching *_scratch function. They return 0 or a
 * negative CN_E* (with a message naming the node).
 *
 * The op table (engine/ir/ops.c) points at these kernels: a backend finds
 * an op's kernel there (cn_op_info(op)->ref), not by name.
 */
#ifndef CN_ENGINE_REF_H
#define CN_ENGINE_REF_H

#include "engine/ir/graph.h"

typedef int (*cn__ref_kernel_fn)(const cn_graph_t *g, const cn_node_t *n,
                                 const float *const *in, float *const *out,
                                 void *scratch, cn_err_t *err);

/* Caffe SSD (ssd.c). Output shapes are set by the importer (op_params.h). */
size_t cn__ref_prior_box_scratch(const cn_graph_t *g, const cn_node_t *n);
int cn__ref_prior_box(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err);
size_t cn__ref_detection_output_scratch(const cn_graph_t *g,
                                        const cn_node_t *n);
int cn__ref_detection_output(const cn_graph_t *g, const cn_node_t *n,
                             const float *const *in, float *const *out,
                             void *scratch, cn_err_t *err);

/* The kernels, one per op (ref_conv.c, ref_math.c, ref_tensor.c). */
int cn__ref_conv(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err);
int cn__ref_deconv(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err);
int cn__ref_pool(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err);
int cn__ref_inner_product(const cn_graph_t *g, const cn_node_t *n,
                          const float *const *in, float *const *out,
                          void *scratch, cn_err_t *err);
int cn__ref_matmul(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err);
int cn__ref_binary(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err);
int cn__ref_prelu(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err);
int cn__ref_eltwise(const cn_graph_t *g, const cn_node_t *n,
                    const float *const *in, float *const *out, void *scratch,
                    cn_err_t *err);
int cn__ref_act_node(const cn_graph_t *g, const cn_node_t *n,
                     const float *const *in, float *const *out, void *scratch,
                     cn_err_t *err);
int cn__ref_softmax(const cn_graph_t *g, const cn_node_t *n,
                    const float *const *in, float *const *out, void *scratch,
                    cn_err_t *err);
int cn__ref_batchnorm(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err);
int cn__ref_scale(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err);
int cn__ref_lrn(const cn_graph_t *g, const cn_node_t *n, const float *const *in,
                float *const *out, void *scratch, cn_err_t *err);
int cn__ref_copy(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err);
int cn__ref_concat(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err);
int cn__ref_split(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err);
int cn__ref_slice(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err);
int cn__ref_transpose(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err);
int cn__ref_pad(const cn_graph_t *g, const cn_node_t *n, const float *const *in,
                float *const *out, void *scratch, cn_err_t *err);
int cn__ref_resize(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err);

int cn__ref_reduce(const cn_graph_t *g, const cn_node_t *n,
                   const float *const *in, float *const *out, void *scratch,
                   cn_err_t *err);

/* ref_norm.c, ref_index.c. GatherElements takes its indices as floats
 * holding in-range integers (checked by the importer). */
int cn__ref_layernorm(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err);
int cn__ref_instnorm(const cn_graph_t *g, const cn_node_t *n,
                     const float *const *in, float *const *out, void *scratch,
                     cn_err_t *err);
int cn__ref_gather_elements(const cn_graph_t *g, const cn_node_t *n,
                            const float *const *in, float *const *out,
                            void *scratch, cn_err_t *err);
int cn__ref_where(const cn_graph_t *g, const cn_node_t *n,
                  const float *const *in, float *const *out, void *scratch,
                  cn_err_t *err);
int cn__ref_tile(const cn_graph_t *g, const cn_node_t *n,
                 const float *const *in, float *const *out, void *scratch,
                 cn_err_t *err);

/* ref_reduce.c: the reduction over adjacent axes (not Prod, LogSumExp);
 * returns 1 when it computed y, 0 for the generic kernel. */
int cn__ref_reduce_contig(const cn_graph_t *g, const cn_node_t *n,
                          const float *x, float *y);

/* Helpers shared between kernels (activations: cn_act_info()->ref). */
/* Applies post-ops to y (numel elements) with the SUM operands in in[]. */
void cn__ref_postops(const cn_postops_t *po, const float *const *in, float *y,
                     int64_t numel);

#endif
