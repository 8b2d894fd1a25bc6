/* bench_capture: what a camnet network source costs, against a plain
 * libavformat/libavcodec read-and-decode loop measured in the same run.
 *
 *   bench_capture [--seconds S] [--size WxH] [--fps F]
 *                 [--streams h264,h264ff,mjpeg,h264gst,rtpjpeg]
 *                 [--mjpeg-threads N]
 *
 * Streams (loopback, 1280x720 unless --size, at 30 fps unless --fps;
 * the MJPEG server's encoder uses one thread unless --mjpeg-threads, 0
 * for ffmpeg's default frame threads; frames painted
 * with their number by the servers next to this program):
 *   h264     rtsp://  cn_rtsp_server --codec h264 (x264 zerolatency), TCP,
 *                     through camnet's default RTSP client (--rtsp-via gst)
 *   h264ff   the same through --rtsp-via ffmpeg (libavformat's client)
 *   mjpeg    http://  cn_pattern_feed | ffmpeg -f mpjpeg -listen 1
 *   h264gst  the h264 server through camnet's gst: backend (rtspsrc)
 *   rtpjpeg  rtsp://  cn_rtsp_server --codec mjpeg (RTP JPEG), TCP
 *
 * For each stream, two runs of S seconds, each against a fresh server:
 *   camnet     cn_source_* with a consumer that takes every frame
 *              (cn_source_take, which develops BGR pixels);
 *   reference  av_read_frame + avcodec decode of every frame in one
 *              thread: no slot, no conversion, one decoder thread.
 * Printed: CPU per frame of the capture thread (stats.cpu_ns / captured),
 * of the consumer's develop and of the whole process, against the
 * reference's read+decode and whole process; the delay from "frame live
 * on the server" (the server's log of push times, by frame number) to
 * "frame in the slot" (frame->t_decode of the frame whose pattern reads
 * that number) and to its BGR pixels, against the reference's "frame
 * decoded", as p50/p99 in ms, with ratios. The first second of each run
 * is warm-up and not counted.
 *
 * For intra-only MJPEG the capture thread only reads the packet; decoding
 * happens in the consumer's develop, so compare process CPU there. Output
 * is Markdown (for docs/benchmarks.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "camnet/clock.h"
#include "core/pattern.h"
#include "camnet/source.h"

static int g_fps = 30;
static char *g_mjpeg_threads = "1";
#define FPS g_fps
#define WARMUP_NS CN_NS_PER_S

typedef enum kind {
  K_H264,
  K_MJPEG_HTTP,
  K_H264_GST,
  K_RTP_JPEG,
  K_H264_FF,
  K_COUNT
} kind_t;

static const char *kind_opt[] = {"h264", "mjpeg", "h264gst", "rtpjpeg",
                                 "h264ff"};
static const char *kind_name[] = {
    "H.264, RTSP/TCP (--rtsp-via gst, the default)", "MJPEG, HTTP multipart",
    "H.264, RTSP/TCP, gst: backend", "MJPEG, RTSP/TCP (RTP JPEG)",
    "H.264, RTSP/TCP (--rtsp-via ffmpeg)"};

typedef struct server {
  pid_t pid;
  int port;
  char url[128];
  char log[PATH_MAX + 64];
} server_t;

/* Push times by frame number, read from a server log. */
typedef struct push_log {
  int64_t *t; /* t[n], 0 if absent */
  long n;
} push_log_t;

/* One run's samples. */
typedef struct run {
  double *delay_ms;  /* live on server -> in slot (or decoded) */
  double *pixels_ms; /* live on server -> BGR pixels (camnet only) */
  long n, cap;
  long unreadable;   /* frames whose number could not be read */
  long frames;       /* frames counted (after warm-up) */
  double cpu_ms;     /* per frame, capture thread or reference loop */
  double develop_ms; /* per frame, consumer develop (camnet only) */
  double proc_ms;    /* per frame, the whole process (every thread) */
  uint64_t captured, dropped;
} run_t;

static char g_tools[PATH_MAX];
static int g_width = 1280, g_height = 720;
static char g_tmp[PATH_MAX];

static int64_t process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * CN_NS_PER_S + ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
      !getsockname(fd, (struct sockaddr *)&a, &len))
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

static bool wait_port(int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok)
      return true;
    sleep_ms(20);
  }
  return false;
}

static pid_t spawn(char *const argv[], const char *out) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static void server_stop(server_t *s) {
  if (s->pid <= 0)
    return;
  kill(s->pid, SIGTERM);
  for (int i = 0; i < 500; i++) {
    if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
      s->pid = 0;
      return;
    }
    sleep_ms(10);
  }
  kill(s->pid, SIGKILL);
  waitpid(s->pid, NULL, 0);
  s->pid = 0;
}

static int server_start(server_t *s, kind_t kind, const char *tag) {
  static int runs;
  s->port = free_port();
  char port[16], size[32], fps[16], out[PATH_MAX + 32];
  snprintf(port, sizeof port, "%d", s->port);
  snprintf(size, sizeof size, "%dx%d", g_width, g_height);
  snprintf(fps, sizeof fps, "%d", FPS);
  snprintf(s->log, sizeof s->log, "%s/%s-%d.log", g_tmp, tag, ++runs);
  snprintf(out, sizeof out, "%s/%s-%d.out", g_tmp, tag, runs);
  if (kind == K_MJPEG_HTTP) {
    char feed[PATH_MAX + 32];
    snprintf(feed, sizeof feed, "%s/cn_pattern_feed", g_tools);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/cam.mjpg", s->port);
    char *argv[] = {
        feed,        "--size", size,      "--fps",    fps,
        "--log",     s->log,   "--",      "ffmpeg",   "-hide_banner",
        "-loglevel", "error",  "-f",      "rawvideo", "-pix_fmt",
        "bgr24",     "-s",     size,      "-r",       fps,
        "-i",        "-",      "-c:v",    "mjpeg",    "-pix_fmt",
        "yuvj420p",  "-q:v",   "4",       "-threads", g_mjpeg_threads,
        "-f",        "mpjpeg", "-listen", "1",        s->url,
        NULL};
    s->pid = spawn(argv, out);
    /* One client only: do not probe the port; the opener retries. */
    return s->pid > 0 ? 0 : -1;
  }
  char bin[PATH_MAX + 32];
  snprintf(bin, sizeof bin, "%s/cn_rtsp_server", g_tools);
  snprintf(s->url, sizeof s->url, "rtsp://127.0.0.1:%d/cam", s->port);
  char *argv[] = {bin,      "--port",  port,
                  "--size", size,      "--fps",
                  fps,      "--codec", kind == K_RTP_JPEG ? "mjpeg" : "h264",
                  "--log",  s->log,    NULL};
  s->pid = spawn(argv, out);
  if (s->pid <= 0 || !wait_port(s->port, 10000)) {
    fprintf(stderr, "bench_capture: %s did not start (see %s)\n", bin, out);
    return -1;
  }
  return 0;
}

static void push_log_read(push_log_t *pl, const char *path) {
  FILE *f = fopen(path, "r");
  pl->n = 0;
  long cap = 1024;
  pl->t = calloc((size_t)cap, sizeof *pl->t);
  long n;
  long long t;
  while (f && fscanf(f, "%ld %lld", &n, &t) == 2) {
    if (n < 0)
      continue;
    while (n >= cap) {
      pl->t = realloc(pl->t, (size_t)cap * 2 * sizeof *pl->t);
      memset(pl->t + cap, 0, (size_t)cap * sizeof *pl->t);
      cap *= 2;
    }
    pl->t[n] = t;
    if (n + 1 > pl->n)
      pl->n = n + 1;
  }
  if (f)
    fclose(f);
}

/* Frame numbers and stamps kept during a run; matched with the server's
 * log afterwards, so the run does no file I/O. */
typedef struct sample {
  int64_t number, t_slot, t_pixels;
} sample_t;

typedef struct samples {
  sample_t *v;
  long n, cap;
} samples_t;

static void samples_add(samples_t *s, int64_t number, int64_t t_slot,
                        int64_t t_pixels) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1024;
    s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
  }
  s->v[s->n++] = (sample_t){number, t_slot, t_pixels};
}

static void match(run_t *r, const samples_t *s, const char *log) {
  push_log_t pl;
  push_log_read(&pl, log);
  r->delay_ms = calloc((size_t)s->n + 1, sizeof *r->delay_ms);
  r->pixels_ms = calloc((size_t)s->n + 1, sizeof *r->pixels_ms);
  for (long i = 0; i < s->n; i++) {
    const sample_t *x = &s->v[i];
    if (x->number < 0 || x->number >= pl.n || !pl.t[x->number]) {
      r->unreadable++;
      continue;
    }
    int64_t t_push = pl.t[x->number];
    r->delay_ms[r->n] = cn_ns_to_ms(x->t_slot - t_push);
    r->pixels_ms[r->n] = x->t_pixels ? cn_ns_to_ms(x->t_pixels - t_push) : 0;
    r->n++;
  }
  free(pl.t);
}

/* Reads the number from the top bands only: converting the whole picture
 * would add the cost of a conversion the reference does not need. */
typedef struct reader {
  struct SwsContext *sws;
  uint8_t *bgr;
  int w, h, rows;
} reader_t;

static int64_t read_number(reader_t *rd, const AVFrame *fr) {
  if (!rd->sws || rd->w != fr->width || rd->h != fr->height) {
    sws_freeContext(rd->sws);
    free(rd->bgr);
    rd->w = fr->width;
    rd->h = fr->height;
    rd->rows = (fr->height / 8 + 16) & ~15;
    if (rd->rows > fr->height)
      rd->rows = fr->height;
    rd->sws =
        sws_getContext(fr->width, fr->height, fr->format, fr->width, fr->height,
                       AV_PIX_FMT_BGR24, SWS_POINT, NULL, NULL, NULL);
    rd->bgr = calloc((size_t)fr->width * 3, (size_t)fr->height);
  }
  if (!rd->sws || !rd->bgr)
    return -1;
  uint8_t *dst[4] = {rd->bgr};
  int dst_stride[4] = {rd->w * 3};
  sws_scale(rd->sws, (const uint8_t *const *)fr->data, fr->linesize, 0,
            rd->rows, dst, dst_stride);
  return cn_pattern_read_bgr(rd->bgr, rd->w * 3, rd->w, rd->h);
}

/* The reference: read and decode every frame in this thread. */
static int run_reference(const server_t *s, kind_t kind, int seconds,
                         run_t *r) {
  AVFormatContext *fmt = NULL;
  int rc = -1;
  for (int i = 0; i < 100 && rc < 0; i++) {
    AVDictionary *o = NULL;
    if (kind != K_MJPEG_HTTP)
      av_dict_set(&o, "rtsp_transport", "tcp", 0);
    av_dict_set(&o, "timeout", "5000000", 0);
    rc = avformat_open_input(&fmt, s->url, NULL, &o);
    av_dict_free(&o);
    if (rc < 0)
      sleep_ms(100);
  }
  if (rc < 0 || avformat_find_stream_info(fmt, NULL) < 0) {
    fprintf(stderr, "bench_capture: reference cannot open %s\n", s->url);
    avformat_close_input(&fmt);
    return -1;
  }
  const AVCodec *codec = NULL;
  int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  AVCodecContext *dec = codec ? avcodec_alloc_context3(codec) : NULL;
  if (si < 0 || !dec ||
      avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar) < 0 ||
      (dec->thread_count = 1, avcodec_open2(dec, codec, NULL) < 0)) {
    fprintf(stderr, "bench_capture: reference cannot decode %s\n", s->url);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return -1;
  }
  AVPacket *pkt = av_packet_alloc();
  AVFrame *fr = av_frame_alloc();
  reader_t rd = {0};
  samples_t smp = {0};
  int64_t t0 = cn_clock_now(), t_end = t0 + (int64_t)seconds * CN_NS_PER_S;
  int64_t cpu = 0, c = cn_clock_thread_cpu(), proc0 = 0;
  long counted = 0;
  while (cn_clock_now() < t_end && av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == si && avcodec_send_packet(dec, pkt) >= 0) {
      while (avcodec_receive_frame(dec, fr) >= 0) {
        int64_t t_dec = cn_clock_now();
        bool warm = t_dec - t0 >= WARMUP_NS;
        if (warm && !proc0)
          proc0 = process_cpu();
        else if (warm) {
          cpu += cn_clock_thread_cpu() - c;
          counted++;
        }
        int64_t n = read_number(&rd, fr);
        if (warm)
          samples_add(&smp, n, t_dec, 0);
        av_frame_unref(fr);
        c = cn_clock_thread_cpu();
      }
    }
    av_packet_unref(pkt);
  }
  r->frames = counted;
  r->captured = (uint64_t)counted;
  r->cpu_ms = counted ? cn_ns_to_ms(cpu) / (double)counted : 0;
  r->proc_ms =
      counted ? cn_ns_to_ms(process_cpu() - proc0) / (double)counted : 0;
  match(r, &smp, s->log);
  free(smp.v);
  sws_freeContext(rd.sws);
  free(rd.bgr);
  av_frame_free(&fr);
  av_packet_free(&pkt);
  avcodec_free_context(&dec);
  avformat_close_input(&fmt);
  return 0;
}

/* camnet: a source and a consumer that takes every frame. */
static int run_camnet(const server_t *s, kind_t kind, int seconds, run_t *r) {
  cn_source_opts_t o;
  cn_source_opts_default(&o);
  o.uri = s->url;
  if (kind == K_H264_FF)
    o.rtsp_via = "ffmpeg";
  char launch[256];
  if (kind == K_H264_GST) {
    snprintf(launch, sizeof launch,
             "gst:rtspsrc location=%s latency=0 protocols=tcp ! "
             "rtph264depay ! avdec_h264",
             s->url);
    o.uri = launch;
  }
  cn_logger_t quiet = {.level = CN_LOG_ERROR};
  o.log = &quiet;
  cn_source_t *src = NULL;
  cn_err_t err = {0};
  int rc = cn_source_create(&o, &src, &err);
  /* The HTTP server may not listen yet; a refused try costs it nothing. */
  if (rc == 0)
    for (int tries = 1; (rc = cn_source_open(src, &err)) && tries < 100;
         tries++)
      sleep_ms(100);
  if (rc == 0)
    rc = cn_source_start(src, &err);
  if (rc) {
    fprintf(stderr, "bench_capture: %s\n", err.msg);
    cn_source_destroy(src);
    return -1;
  }
  samples_t smp = {0};
  int64_t t0 = cn_clock_now(), t_end = t0 + (int64_t)seconds * CN_NS_PER_S;
  int64_t develop_cpu = 0, proc0 = 0;
  long counted = 0;
  uint64_t seq = 0;
  cn_source_stats_t st0 = {0}, st;
  while (cn_clock_now() < t_end) {
    /* Counters start after the warm-up, like the reference's. */
    if (!proc0 && cn_clock_now() - t0 >= WARMUP_NS) {
      cn_source_get_stats(src, &st0);
      proc0 = process_cpu();
    }
    cn_frame_t *f = NULL;
    int64_t c = cn_clock_thread_cpu();
    rc = cn_source_take(src, seq, 2 * CN_NS_PER_S, &f, &seq, &err);
    int64_t used = cn_clock_thread_cpu() - c;
    if (rc == CN_ETIMEDOUT)
      continue;
    if (rc == CN_EOF) {
      fprintf(stderr, "bench_capture: %s\n", err.msg);
      break;
    }
    if (rc)
      continue; /* a develop error: counted by the source */
    if (proc0 && f->seq > st0.captured) {
      develop_cpu += used;
      counted++;
      samples_add(&smp,
                  cn_pattern_read_bgr(f->data, f->stride, f->width, f->height),
                  f->t_decode, f->t_develop);
    }
    cn_frame_unref(&f);
  }
  cn_source_get_stats(src, &st);
  int64_t proc = process_cpu() - proc0;
  cn_source_destroy(src);
  uint64_t captured = st.captured - st0.captured;
  r->frames = counted;
  r->captured = captured;
  r->dropped = st.dropped - st0.dropped;
  r->cpu_ms =
      captured ? cn_ns_to_ms(st.cpu_ns - st0.cpu_ns) / (double)captured : 0;
  r->develop_ms = counted ? cn_ns_to_ms(develop_cpu) / (double)counted : 0;
  r->proc_ms = captured ? cn_ns_to_ms(proc) / (double)captured : 0;
  match(r, &smp, s->log);
  free(smp.v);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(double *v, long n, int p) {
  if (n <= 0)
    return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  long i = (n * p) / 100;
  return v[i < n ? i : n - 1];
}

static void run_free(run_t *r) {
  free(r->delay_ms);
  free(r->pixels_ms);
}

typedef struct result {
  kind_t kind;
  run_t cam, ref;
} result_t;

static int bench(kind_t kind, int seconds, result_t *res) {
  server_t s = {0};
  res->kind = kind;
  int rc = server_start(&s, kind, "camnet");
  if (!rc)
    rc = run_camnet(&s, kind, seconds, &res->cam);
  server_stop(&s);
  if (!rc)
    rc = server_start(&s, kind, "reference");
  if (!rc)
    rc = run_reference(&s, kind, seconds, &res->ref);
  server_stop(&s);
  if (!rc && (res->cam.unreadable || res->ref.unreadable))
    fprintf(stderr,
            "bench_capture: %s: %ld (camnet) and %ld (reference) frames "
            "without a readable number\n",
            kind_name[kind], res->cam.unreadable, res->ref.unreadable);
  if (rc) {
    run_free(&res->cam);
    run_free(&res->ref);
  }
  return rc;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

static void report(result_t *res, int n) {
  printf("CPU per frame, ms (capture: the source's thread, stats.cpu_ns / "
         "captured; develop: the consumer's cn_source_take; process: every "
         "thread of the process, per captured frame):\n\n");
  printf("| stream | camnet capture | camnet develop | camnet process "
         "| reference decode | reference process | capture / reference "
         "| process / process |\n|---|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < n; i++) {
    run_t *c = &res[i].cam, *r = &res[i].ref;
    printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
           kind_name[res[i].kind], c->cpu_ms, c->develop_ms, c->proc_ms,
           r->cpu_ms, r->proc_ms, ratio(c->cpu_ms, r->cpu_ms),
           ratio(c->proc_ms, r->proc_ms));
  }
  printf("\nDelay, ms, from the server's push of frame N to camnet's slot "
         "(t_decode of the frame reading N) and to its BGR pixels "
         "(t_develop), against the reference's decoded frame:\n\n");
  printf("| stream | camnet to slot p50 / p99 | reference decoded p50 / p99 "
         "| slot / reference p50 | p99 | camnet to BGR p50 / p99 "
         "| taken / captured / dropped |\n|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < n; i++) {
    run_t *c = &res[i].cam, *r = &res[i].ref;
    double c50 = pct(c->delay_ms, c->n, 50), c99 = pct(c->delay_ms, c->n, 99);
    double r50 = pct(r->delay_ms, r->n, 50), r99 = pct(r->delay_ms, r->n, 99);
    double p50 = pct(c->pixels_ms, c->n, 50), p99 = pct(c->pixels_ms, c->n, 99);
    printf("| %s | %.1f / %.1f | %.1f / %.1f | %.2f | %.2f | %.1f / %.1f "
           "| %ld / %llu / %llu |\n",
           kind_name[res[i].kind], c50, c99, r50, r99, ratio(c50, r50),
           ratio(c99, r99), p50, p99, c->frames,
           (unsigned long long)c->captured, (unsigned long long)c->dropped);
  }
}

/* True when the comma-separated list names word. */
static bool has_token(const char *list, const char *word) {
  size_t len = strlen(word);
  for (const char *p = list; p && *p;
       p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
    if (!strncmp(p, word, len) && (p[len] == ',' || p[len] == '\0'))
      return true;
  return false;
}

static void find_tools(const char *argv0) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0)
    self[n] = '\0';
  else
    snprintf(self, sizeof self, "%s", argv0);
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(self, sizeof self, ".");
  snprintf(g_tools, sizeof g_tools, "%s", self);
}

int main(int argc, char **argv) {
  int seconds = 10;
  const char *streams = "h264,h264ff,mjpeg,h264gst,rtpjpeg";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--streams") && i + 1 < argc)
      streams = argv[++i];
    else if (!strcmp(argv[i], "--fps") && i + 1 < argc &&
             atoi(argv[i + 1]) >= 1 && atoi(argv[i + 1]) <= 240)
      g_fps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--mjpeg-threads") && i + 1 < argc &&
             atoi(argv[i + 1]) >= 0)
      g_mjpeg_threads = argv[++i];
    else if (!strcmp(argv[i], "--size") && i + 1 < argc &&
             sscanf(argv[i + 1], "%dx%d", &g_width, &g_height) == 2)
      i++;
    else {
      fprintf(stderr, "usage: bench_capture [--seconds S] [--size WxH] "
                      "[--fps F] [--streams h264,h264ff,mjpeg,h264gst,rtpjpeg] "
                      "[--mjpeg-threads N]\n");
      return 2;
    }
  }
  if (seconds < 2)
    seconds = 2;
  signal(SIGPIPE, SIG_IGN);
  av_log_set_level(AV_LOG_QUIET);
  find_tools(argv[0]);
  const char *tmp = getenv("TMPDIR");
  snprintf(g_tmp, sizeof g_tmp, "%s/camnet-bench-XXXXXX", tmp ? tmp : "/tmp");
  if (!mkdtemp(g_tmp)) {
    fprintf(stderr, "bench_capture: cannot make a temp directory\n");
    return 1;
  }
  double load[3] = {0};
  getloadavg(load, 3);
  printf("Capture benchmark: %dx%d at %d fps, %d s per run, the first "
         "second not counted; servers and client share the machine (%ld "
         "cores, load average %.2f at the start).\n\n",
         g_width, g_height, FPS, seconds, sysconf(_SC_NPROCESSORS_ONLN),
         load[0]);
  fflush(stdout);
  int failed = 0, n = 0;
  result_t res[K_COUNT] = {0};
  for (int k = 0; k < K_COUNT; k++) {
    if (!has_token(streams, kind_opt[k]))
      continue;
    if (bench((kind_t)k, seconds, &res[n]))
      failed = 1;
    else
      n++;
  }
  report(res, n);
  for (int i = 0; i < n; i++) {
    run_free(&res[i].cam);
    run_free(&res[i].ref);
  }
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (!failed && system(cmd) != 0)
    fprintf(stderr, "bench_capture: could not remove %s\n", g_tmp);
  return failed;
}
