/* cn_result: what a network saw in one frame, in the frame's own pixels.
 *
 * Plain data of fixed size (no pointers, nothing to free), so a result can
 * be filled once per frame without allocating, copied into a queue or a
 * later stage by assignment, and read from any thread that owns the copy.
 *
 * Classification fills top[0..ntop) sorted by prob, highest first.
 * Detection fills boxes[0..nboxes) sorted by score, highest first; box
 * coordinates and keypoints are source-frame pixels (x, y the top-left
 * corner), already mapped back through the preprocessing's crop, letterbox
 * and resize.
 */
#ifndef CN_VISION_RESULT_H
#define CN_VISION_RESULT_H

#define CN_MAX_TOP 10
#define CN_MAX_BOXES 256
#define CN_MAX_KP 8

typedef enum cn_task {
  CN_TASK_NONE = 0,
  CN_TASK_CLASSIFY,
  CN_TASK_DETECT,
} cn_task_t;

typedef struct cn_box {
  float x, y, w, h;       /* source pixels: top-left corner and size */
  float score;            /* 0..1 */
  int cls;                /* class index (0 for single-class detectors) */
  int nkp;                /* keypoints used in kp */
  float kp[CN_MAX_KP][2]; /* source pixels (x, y); BlazeFace: right eye,
                            left eye, nose, mouth, right ear, left ear */
} cn_box_t;

typedef struct cn_top {
  int cls;
  float prob;
} cn_top_t;

typedef struct cn_result {
  cn_task_t task;
  int ntop;
  cn_top_t top[CN_MAX_TOP];
  int nboxes;
  cn_box_t boxes[CN_MAX_BOXES];
} cn_result_t;

#endif
