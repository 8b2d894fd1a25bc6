/* cn_nms: non-maximum suppression for the box decoders.
 *
 * Boxes are cn_box_t (x, y top-left, w, h, any pixel units). Both forms
 * order candidates by score, highest first (ties: lower index first), and
 * treat two boxes as the same object when their IoU is above iou.
 *
 * - cn_nms: greedy; keeps the best box of each group, drops the others.
 *   per_class: boxes of different classes never suppress each other.
 * - cn_nms_weighted: MediaPipe's weighted NMS (BlazeFace). The best
 *   remaining box and every remaining box overlapping it form a cluster;
 *   the output has the best box's score and class, and coordinates and
 *   keypoints averaged over the cluster weighted by score.
 *
 * Memory: the caller gives the scratch (n ints); nothing is allocated, so
 * they run per frame. Returns the number of boxes written to out (at most
 * max_out, best first). in and out must not overlap.
 */
#ifndef CN_VISION_NMS_H
#define CN_VISION_NMS_H

#include <stdbool.h>

#include "camnet/result.h"

/* Intersection over union; 0 when either box is empty. */
float cn_box_iou(const cn_box_t *a, const cn_box_t *b);

/* Sorts idx[0..n) by in[idx].score descending, ties by index ascending.
 * The decoders use it to cap a candidate list without suppression. */
void cn_nms_sort(const cn_box_t *in, int *idx, int n);

int cn_nms(const cn_box_t *in, int n, float iou, bool per_class, int *scratch,
           cn_box_t *out, int max_out);

int cn_nms_weighted(const cn_box_t *in, int n, float iou, int *scratch,
                    cn_box_t *out, int max_out);

#endif
