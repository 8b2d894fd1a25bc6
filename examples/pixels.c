/* Pixels in: your own picture (here a binary PPM, RGB) handed to the
 * inference stage without a copy, the way a program with its own camera
 * SDK or GStreamer appsink would, and the result printed.
 *
 *   cc pixels.c $(pkg-config --cflags --libs camnet) -o pixels
 *   ./pixels face_detection_front_128x128.onnx photo.ppm
 */
#include <camnet/camnet.h>
#include <stdio.h>
#include <stdlib.h>

/* A P6 PPM with 8-bit samples: w x h RGB pixels, or NULL. */
static uint8_t *read_ppm(const char *path, int *w, int *h) {
  FILE *f = fopen(path, "rb");
  int max = 0;
  uint8_t *px = NULL;
  if (f && fscanf(f, "P6 %d %d %d", w, h, &max) == 3 && max == 255 &&
      fgetc(f) != EOF && *w > 0 && *h > 0 && (px = malloc((size_t)*w * *h * 3)))
    if (fread(px, 3, (size_t)*w * *h, f) != (size_t)*w * *h) {
      free(px);
      px = NULL;
    }
  if (f)
    fclose(f);
  return px;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL PICTURE.ppm\n", argv[0]);
    return 2;
  }
  int w, h;
  uint8_t *px = read_ppm(argv[2], &w, &h);
  if (!px) {
    fprintf(stderr, "pixels: %s: not a binary 8-bit PPM\n", argv[2]);
    return 1;
  }
  cn_err_t err = {0};
  cn_stage_opts_t so;
  cn_stage_opts_default(&so);
  so.model = argv[1];
  cn_stage_model_t *model = NULL;
  cn_stage_t *stage = NULL;
  cn_frame_t *f = NULL;
  const cn_result_t *res = NULL;
  cn_image_t img = {.format = CN_PIX_RGB24,
                    .width = w,
                    .height = h,
                    .data = {px},
                    .stride = {w * 3},
                    .pts = 0};
  int rc = cn_stage_model_open(&so, &model, &err);
  if (!rc)
    rc = cn_stage_create(model, &stage, &err);
  if (!rc)
    rc = cn_frame_wrap(&img, &f, &err); /* no copy: f points at px */
  if (!rc)
    rc = cn_stage_run(stage, f, &res, &err);
  if (rc) {
    fprintf(stderr, "pixels: %s\n", err.msg);
  } else {
    const cn_labels_t *labels = cn_stage_model_labels(model);
    for (int i = 0; i < res->ntop; i++)
      printf("%.4f %s\n", res->top[i].prob,
             cn_labels_get(labels, res->top[i].cls));
    for (int i = 0; i < res->nboxes; i++) {
      const cn_box_t *b = &res->boxes[i];
      printf("%s %.3f at %.0f,%.0f %.0fx%.0f\n", cn_labels_get(labels, b->cls),
             b->score, b->x, b->y, b->w, b->h);
    }
  }
  cn_frame_unref(&f); /* before px goes: the frame points at it */
  cn_stage_destroy(stage);
  cn_stage_model_close(model);
  free(px);
  return rc ? 1 : 0;
}
