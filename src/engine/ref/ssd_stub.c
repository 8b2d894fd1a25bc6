/* Stand-ins for the Caffe SSD kernels until src/engine/ssd.c exists (the
 * build picks one or the other). */
#include "engine/ref/ref.h"

size_t cn__ref_prior_box_scratch(const cn_graph_t *g, const cn_node_t *n) {
  (void)g;
  (void)n;
  return 0;
}

int cn__ref_prior_box(const cn_graph_t *g, const cn_node_t *n,
                      const float *const *in, float *const *out, void *scratch,
                      cn_err_t *err) {
  (void)in;
  (void)out;
  (void)scratch;
  return cn_err_set(err, CN_EUNSUPPORTED,
                    "%s: node %s: PriorBox is not built in", g->source,
                    n->name);
}

size_t cn__ref_detection_output_scratch(const cn_graph_t *g,
                                        const cn_node_t *n) {
  (void)g;
  (void)n;
  return 0;
}

int cn__ref_detection_output(const cn_graph_t *g, const cn_node_t *n,
                             const float *const *in, float *const *out,
                             void *scratch, cn_err_t *err) {
  (void)in;
  (void)out;
  (void)scratch;
  return cn_err_set(err, CN_EUNSUPPORTED,
                    "%s: node %s: DetectionOutput is not built in", g->source,
                    n->name);
}
