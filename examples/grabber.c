/* The ancestor script's design on camnet's library, for the latency
 * benchmark (`make bench-latency`): a grabber thread copies every frame it
 * takes into ONE global image; the main loop infers whatever that image
 * holds when it gets round to it — possibly the same picture again (a
 * repeat) or one a frame older than the newest. camnet's own program
 * instead hands the newest frame itself to the inference thread. Same
 * engine, same decoder: the difference the benchmark shows is the
 * design's.
 *
 *   cc grabber.c $(pkg-config --cflags --libs camnet) -lpthread -o grabber
 *   ./grabber rtsp://127.0.0.1:8554/cam model.onnx "" SECONDS
 *   ./grabber URL deploy.prototxt model.caffemodel SECONDS   (Caffe)
 *
 * Prints one JSON Lines record per inference (camnet's schema; "frame" is
 * the frame's number in the source, as the grabber copied it).
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <camnet/camnet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct shared {
  cn_source_t *src;
  pthread_mutex_t lock;
  uint8_t *pixels; /* the one global image (BGR24) */
  int width, height, stride;
  uint64_t seq; /* its frame number; 0: none yet */
  int64_t t_capture, t_decode;
  atomic_bool stop;
} shared_t;

static void *grab(void *arg) {
  shared_t *s = arg;
  uint64_t last = 0;
  while (!atomic_load(&s->stop)) {
    cn_frame_t *f = NULL;
    int rc = cn_source_take(s->src, last, 100000000, &f, &last, NULL);
    if (rc == CN_EOF)
      break;
    if (rc)
      continue;
    pthread_mutex_lock(&s->lock);
    size_t need = (size_t)f->stride * (size_t)f->height;
    uint8_t *p = s->width == f->width && s->height == f->height
                     ? s->pixels
                     : realloc(s->pixels, need);
    if (p) {
      s->pixels = p;
      memcpy(p, f->data, need);
      s->width = f->width;
      s->height = f->height;
      s->stride = f->stride;
      s->seq = f->seq;
      s->t_capture = f->t_capture;
      s->t_decode = f->t_decode;
    }
    pthread_mutex_unlock(&s->lock);
    cn_frame_unref(&f);
  }
  return NULL;
}

/* Infers the global image as it is now, on a private copy. */
static int infer_once(shared_t *s, uint8_t **copy, size_t *cap,
                      cn_stage_t *stage, cn_jsonl_t *out, cn_err_t *err) {
  pthread_mutex_lock(&s->lock);
  if (!s->seq) {
    pthread_mutex_unlock(&s->lock);
    return 1;
  }
  size_t need = (size_t)s->stride * (size_t)s->height;
  if (need > *cap) {
    uint8_t *p = realloc(*copy, need);
    if (!p) {
      pthread_mutex_unlock(&s->lock);
      return cn_err_set(err, CN_ENOMEM, "out of memory");
    }
    *copy = p;
    *cap = need;
  }
  memcpy(*copy, s->pixels, need);
  cn_image_t img = {.format = CN_PIX_BGR24,
                    .width = s->width,
                    .height = s->height,
                    .data = {*copy},
                    .stride = {s->stride},
                    .pts = 0};
  uint64_t seq = s->seq;
  int64_t t_capture = s->t_capture, t_decode = s->t_decode;
  pthread_mutex_unlock(&s->lock);
  cn_frame_t *f = NULL;
  const cn_result_t *res = NULL;
  int rc = cn_frame_wrap(&img, &f, err);
  if (!rc) {
    f->seq = seq;
    f->source = 0;
    f->t_capture = t_capture;
    f->t_decode = t_decode;
    rc = cn_stage_run(stage, f, &res, err);
  }
  if (!rc)
    rc = cn_jsonl_write(out, f, res, err);
  cn_frame_unref(&f);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s SOURCE MODEL WEIGHTS|\"\" SECONDS\n", argv[0]);
    return 2;
  }
  cn_err_t err = {0};
  shared_t s = {0};
  pthread_mutex_init(&s.lock, NULL);
  cn_source_opts_t so;
  cn_source_opts_default(&so);
  so.uri = argv[1];
  cn_stage_opts_t mo;
  cn_stage_opts_default(&mo);
  mo.model = argv[2];
  mo.weights = argv[3][0] ? argv[3] : NULL;
  cn_stage_model_t *model = NULL;
  cn_stage_t *stage = NULL;
  cn_jsonl_t *out = NULL;
  int rc = cn_source_create(&so, &s.src, &err);
  if (!rc)
    rc = cn_stage_model_open(&mo, &model, &err);
  if (!rc)
    rc = cn_stage_create(model, &stage, &err);
  if (!rc)
    rc = cn_jsonl_open("-", &out, &err);
  if (!rc)
    rc = cn_jsonl_set_task(out, cn_stage_model_task(model),
                           cn_stage_model_labels(model), &err);
  if (!rc)
    rc = cn_source_start(s.src, &err);
  pthread_t th;
  bool started = !rc && !pthread_create(&th, NULL, grab, &s);
  uint8_t *copy = NULL;
  size_t cap = 0;
  int64_t end = cn_clock_now() + (int64_t)(atof(argv[4]) * 1e9);
  while (started && !rc && cn_clock_now() < end) {
    rc = infer_once(&s, &copy, &cap, stage, out, &err);
    if (rc == 1) { /* nothing grabbed yet: the ancestor slept too */
      rc = 0;
      nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
  }
  atomic_store(&s.stop, true);
  if (started)
    pthread_join(th, NULL);
  if (rc)
    fprintf(stderr, "grabber: %s\n", err.msg);
  cn_source_destroy(s.src);
  int wrc = cn_jsonl_close(out, NULL);
  cn_stage_destroy(stage);
  cn_stage_model_close(model);
  free(copy);
  free(s.pixels);
  pthread_mutex_destroy(&s.lock);
  return rc || wrc ? 1 : 0;
}
