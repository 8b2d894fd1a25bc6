/* fma_peak: the machine's FP32 peak, measured with a loop of independent
 * fused multiply-adds, on 1 and 2 threads (or --threads N).
 *
 * Why a measurement and not a datasheet figure: the engine benchmark reports
 * "percent of peak", and on a shared VM the clock, the number of FMA pipes
 * and the 512-bit datapath are whatever the host gives us. The loop keeps
 * 16 accumulators live so two FMA pipes with 4-cycle latency stay busy; it
 * reads no memory, so the figure is the arithmetic ceiling.
 *
 * Output, one line per thread count:
 *   fma_peak isa=avx512 threads=2 gflops=512.3
 * Usage: fma_peak [--threads N] [--seconds S]
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NACC 16

typedef struct {
  int isa; /* 2 = avx512, 1 = avx2+fma, 0 = plain C */
  uint64_t iters;
  double seconds; /* out: wall time of this thread's loop */
  float sink;     /* out: keeps the result observable */
} job_t;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The accumulators are spelled out as separate variables: an array of
 * vectors is kept on the stack by GCC and the loop then measures stores. */
#define ACC_DECL(T, init)                                                      \
  T a0 = init(0.f), a1 = init(1.f), a2 = init(2.f), a3 = init(3.f),            \
    a4 = init(4.f), a5 = init(5.f), a6 = init(6.f), a7 = init(7.f),            \
    a8 = init(8.f), a9 = init(9.f), a10 = init(10.f), a11 = init(11.f),        \
    a12 = init(12.f), a13 = init(13.f), a14 = init(14.f), a15 = init(15.f)
#define ACC_STEP(F)                                                            \
  a0 = F(a0, m, c);                                                            \
  a1 = F(a1, m, c);                                                            \
  a2 = F(a2, m, c);                                                            \
  a3 = F(a3, m, c);                                                            \
  a4 = F(a4, m, c);                                                            \
  a5 = F(a5, m, c);                                                            \
  a6 = F(a6, m, c);                                                            \
  a7 = F(a7, m, c);                                                            \
  a8 = F(a8, m, c);                                                            \
  a9 = F(a9, m, c);                                                            \
  a10 = F(a10, m, c);                                                          \
  a11 = F(a11, m, c);                                                          \
  a12 = F(a12, m, c);                                                          \
  a13 = F(a13, m, c);                                                          \
  a14 = F(a14, m, c);                                                          \
  a15 = F(a15, m, c)
#define ACC_SUM(ADD)                                                           \
  ADD(ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7))),       \
      ADD(ADD(ADD(a8, a9), ADD(a10, a11)), ADD(ADD(a12, a13), ADD(a14, a15))))

__attribute__((target("avx512f"))) static float loop_avx512(uint64_t iters) {
  const __m512 m = _mm512_set1_ps(0.999999f);
  const __m512 c = _mm512_set1_ps(1e-7f);
  ACC_DECL(__m512, _mm512_set1_ps);
  for (uint64_t n = 0; n < iters; n++) {
    ACC_STEP(_mm512_fmadd_ps);
  }
  return _mm512_reduce_add_ps(ACC_SUM(_mm512_add_ps));
}

__attribute__((target("avx2,fma"))) static float loop_avx2(uint64_t iters) {
  const __m256 m = _mm256_set1_ps(0.999999f);
  const __m256 c = _mm256_set1_ps(1e-7f);
  ACC_DECL(__m256, _mm256_set1_ps);
  for (uint64_t n = 0; n < iters; n++) {
    ACC_STEP(_mm256_fmadd_ps);
  }
  float out[8];
  _mm256_storeu_ps(out, ACC_SUM(_mm256_add_ps));
  float r = 0;
  for (int i = 0; i < 8; i++)
    r += out[i];
  return r;
}

/* Scalar fallback so the tool still prints something on old CPUs. */
static float loop_plain(uint64_t iters) {
  float acc[NACC];
  for (int i = 0; i < NACC; i++)
    acc[i] = (float)i;
  for (uint64_t n = 0; n < iters; n++)
    for (int i = 0; i < NACC; i++)
      acc[i] = acc[i] * 0.999999f + 1e-7f;
  float r = 0;
  for (int i = 0; i < NACC; i++)
    r += acc[i];
  return r;
}

static int lanes(int isa) { return isa == 2 ? 16 : isa == 1 ? 8 : 1; }

static void *run_job(void *arg) {
  job_t *j = arg;
  double t0 = now_s();
  if (j->isa == 2)
    j->sink = loop_avx512(j->iters);
  else if (j->isa == 1)
    j->sink = loop_avx2(j->iters);
  else
    j->sink = loop_plain(j->iters);
  j->seconds = now_s() - t0;
  return NULL;
}

/* Runs `threads` copies of the loop at once; returns GFLOP/s, counting
 * 2 flops per lane per FMA and the slowest thread's time. */
static double measure(int isa, int threads, uint64_t iters) {
  pthread_t tid[64];
  job_t jobs[64];
  for (int t = 0; t < threads; t++) {
    jobs[t] = (job_t){.isa = isa, .iters = iters};
    if (pthread_create(&tid[t], NULL, run_job, &jobs[t]) != 0) {
      fprintf(stderr, "fma_peak: cannot start thread %d\n", t);
      return -1;
    }
  }
  double worst = 0;
  float sink = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    if (jobs[t].seconds > worst)
      worst = jobs[t].seconds;
    sink += jobs[t].sink;
  }
  if (sink == 12345.678f) /* never true; keeps the loops from being dropped */
    fprintf(stderr, " ");
  double flops = 2.0 * NACC * lanes(isa) * (double)iters * threads;
  return flops / worst * 1e-9;
}

int main(int argc, char **argv) {
  int only_threads = 0;
  double seconds = 0.5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      only_threads = atoi(argv[++i]);
      if (only_threads < 1 || only_threads > 64) {
        fprintf(stderr, "fma_peak: --threads must be 1..64\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = atof(argv[++i]);
      if (!(seconds > 0.01 && seconds < 60)) {
        fprintf(stderr, "fma_peak: --seconds must be in (0.01, 60)\n");
        return 2;
      }
    } else {
      fprintf(stderr, "usage: fma_peak [--threads N] [--seconds S]\n");
      return 2;
    }
  }

  __builtin_cpu_init();
  int isa = __builtin_cpu_supports("avx512f") ? 2
            : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                ? 1
                : 0;
  const char *isa_name[] = {"scalar", "avx2", "avx512"};

  /* Calibrate the iteration count on one thread so each run lasts about
   * `seconds`, then keep the best of 3 runs (the figure is a ceiling). */
  uint64_t iters = 1u << 16;
  for (;;) {
    job_t j = {.isa = isa, .iters = iters};
    run_job(&j);
    if (j.seconds > seconds / 8 || iters > (1ull << 40)) {
      iters = (uint64_t)((double)iters * seconds /
                         (j.seconds > 0 ? j.seconds : 1e-6));
      break;
    }
    iters *= 4;
  }
  if (iters < 1)
    iters = 1;

  int counts[2] = {1, 2};
  int ncounts = only_threads ? 1 : 2;
  if (only_threads)
    counts[0] = only_threads;
  for (int c = 0; c < ncounts; c++) {
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
      double g = measure(isa, counts[c], iters);
      if (g < 0)
        return 1;
      if (g > best)
        best = g;
    }
    printf("fma_peak isa=%s threads=%d gflops=%.1f\n", isa_name[isa], counts[c],
           best);
  }
  return 0;
}
