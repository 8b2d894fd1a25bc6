/* camnet info | infer | bench: the engine's tools.
 *
 *   camnet info MODEL [--weights W | --prototxt P] [--backend ref|dnnl]
 *   camnet infer --model M [--weights W | --prototxt P] --input in.npy
 *                --out out.npy [--output NAME] [--backend B] [--threads N]
 *   camnet bench MODEL [--weights W | --prototxt P] [--input in.npy]
 *                [--threads N] [--runs N] [--warmup N] [--reloads N]
 *                [--backend B]
 *
 * bench's "load" is the first load in the process (file in the page cache:
 * warm for the disk, cold for the process's memory and oneDNN's kernel
 * cache); "reload" the median of --reloads more loads after freeing the
 * model, as a program that switches models sees.
 */
#include "app/cmd_model.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "engine/ir/graph.h"
#include "engine/caffe/mean.h"
#include "engine/model.h"

typedef struct tool_args {
  const char *model, *weights, *prototxt, *backend, *input, *out;
  const char *output;
  long threads, runs, warmup, reloads;
  bool help;
} tool_args_t;

static int parse_long(const char *opt, const char *v, long lo, long hi,
                      long *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi) {
    fprintf(stderr,
            "camnet: option %s: '%s' is not a whole number between "
            "%ld and %ld\n",
            opt, v, lo, hi);
    return -1;
  }
  *out = x;
  return 0;
}

static int parse_args(int argc, char **argv, tool_args_t *a) {
  memset(a, 0, sizeof *a);
  a->runs = 50;
  a->warmup = 5;
  a->reloads = 5;
  for (int i = 2; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
      a->help = true;
      continue;
    }
    if (o[0] != '-') {
      if (a->model) {
        fprintf(stderr, "camnet: unexpected argument '%s'\n", o);
        return -1;
      }
      a->model = o;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "camnet: option %s needs a value\n", o);
      return -1;
    }
    const char *v = argv[++i];
    int rc = 0;
    if (!strcmp(o, "--model"))
      a->model = v;
    else if (!strcmp(o, "--weights"))
      a->weights = v;
    else if (!strcmp(o, "--prototxt"))
      a->prototxt = v;
    else if (!strcmp(o, "--backend"))
      a->backend = v;
    else if (!strcmp(o, "--input"))
      a->input = v;
    else if (!strcmp(o, "--out"))
      a->out = v;
    else if (!strcmp(o, "--output"))
      a->output = v;
    else if (!strcmp(o, "--threads"))
      rc = parse_long(o, v, 0, 256, &a->threads);
    else if (!strcmp(o, "--runs"))
      rc = parse_long(o, v, 1, 1000000, &a->runs);
    else if (!strcmp(o, "--warmup"))
      rc = parse_long(o, v, 0, 1000000, &a->warmup);
    else if (!strcmp(o, "--reloads"))
      rc = parse_long(o, v, 0, 1000, &a->reloads);
    else {
      fprintf(stderr, "camnet: unknown option %s (see camnet %s --help)\n", o,
              argv[1]);
      return -1;
    }
    if (rc)
      return rc;
  }
  /* The seed's form: --prototxt deploy.prototxt --model x.caffemodel. */
  if (a->prototxt && a->model && !a->weights &&
      strstr(a->model, ".caffemodel")) {
    a->weights = a->model;
    a->model = a->prototxt;
    a->prototxt = NULL;
  }
  if (!a->model && !a->help) {
    fprintf(stderr, "camnet: %s: no model given (see camnet %s --help)\n",
            argv[1], argv[1]);
    return -1;
  }
  return 0;
}

static int load(const tool_args_t *a, cn_model_t **m) {
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.weights = a->weights;
  o.prototxt = a->prototxt;
  o.backend = a->backend;
  o.threads = (int)a->threads;
  if (a->output) {
    o.outputs = &a->output;
    o.noutputs = 1;
  }
  cn_err_t err = {0};
  if (cn_model_load(m, a->model, &o, &err) < 0) {
    fprintf(stderr, "camnet: error: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static void print_desc(const char *kind, const cn_tensor_desc_t *d) {
  printf("%s %s [", kind, d->name);
  for (int i = 0; i < d->ndim; i++)
    printf("%s%lld", i ? "," : "", (long long)d->dims[i]);
  printf("]\n");
}

static int cmd_info(const tool_args_t *a) {
  cn_model_t *m;
  if (load(a, &m))
    return 1;
  printf("model %s\nbackend %s\n", a->model, cn_model_backend(m));
  for (int i = 0; i < cn_model_num_inputs(m); i++)
    print_desc("input", cn_model_input(m, i));
  for (int i = 0; i < cn_model_num_outputs(m); i++)
    print_desc("output", cn_model_output(m, i));
  printf("flops %.3f G\nparams %lld\nlayers (after optimization):\n",
         cn_model_flops(m) / 1e9, (long long)cn_model_params(m));
  cn_graph_print(cn_model_graph(m), stdout);
  cn_model_free(m);
  return 0;
}

/* Reads the input tensor (must match the model's first input exactly in
 * size) or fills a fixed pseudo-random one when path is NULL. */
static float *make_input(const cn_tensor_desc_t *d, const char *path) {
  float *x = malloc((size_t)d->numel * sizeof *x);
  if (!x) {
    fprintf(stderr, "camnet: out of memory\n");
    return NULL;
  }
  if (!path) {
    uint32_t s = 12345;
    for (int64_t i = 0; i < d->numel; i++) {
      s = s * 1664525u + 1013904223u;
      x[i] = (float)(s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
    return x;
  }
  cn_npy_t in = {0};
  cn_err_t err = {0};
  if (cn_npy_read(path, &in, &err)) {
    fprintf(stderr, "camnet: error: %s\n", err.msg);
    free(x);
    return NULL;
  }
  if (in.numel != d->numel) {
    fprintf(stderr,
            "camnet: error: %s: has %lld values, input %s needs "
            "%lld\n",
            path, (long long)in.numel, d->name, (long long)d->numel);
    cn_npy_free(&in);
    free(x);
    return NULL;
  }
  memcpy(x, in.data, (size_t)d->numel * sizeof *x);
  cn_npy_free(&in);
  return x;
}

/* Output j's buffers, or NULL (and message) on failure. */
static float **alloc_outputs(const cn_model_t *m) {
  int n = cn_model_num_outputs(m);
  float **outs = calloc((size_t)n, sizeof *outs);
  for (int j = 0; outs && j < n; j++) {
    outs[j] = malloc((size_t)cn_model_output(m, j)->numel * sizeof(float));
    if (!outs[j]) {
      fprintf(stderr, "camnet: out of memory\n");
      return NULL;
    }
  }
  return outs;
}

static void free_outputs(const cn_model_t *m, float **outs) {
  for (int j = 0; outs && j < cn_model_num_outputs(m); j++)
    free(outs[j]);
  free(outs);
}

static int cmd_infer(const tool_args_t *a) {
  if (!a->input || !a->out) {
    fprintf(stderr, "camnet: infer needs --input in.npy and --out out.npy\n");
    return 2;
  }
  cn_model_t *m;
  if (load(a, &m))
    return 1;
  if (cn_model_num_inputs(m) != 1) {
    fprintf(stderr,
            "camnet: error: %s: infer takes models with one input "
            "(this one has %d)\n",
            a->model, cn_model_num_inputs(m));
    cn_model_free(m);
    return 1;
  }
  int status = 1;
  float *x = make_input(cn_model_input(m, 0), a->input);
  float **outs = alloc_outputs(m);
  cn_err_t err = {0};
  if (x && outs) {
    const float *ins[1] = {x};
    if (cn_model_run(m, ins, outs, &err) < 0) {
      fprintf(stderr, "camnet: error: %s\n", err.msg);
    } else {
      status = 0;
      int n = cn_model_num_outputs(m);
      for (int j = 0; j < n && !status; j++) {
        const cn_tensor_desc_t *d = cn_model_output(m, j);
        char path[4096];
        if (n == 1) {
          snprintf(path, sizeof path, "%s", a->out);
        } else {
          /* out.npy -> out_0.npy, out_1.npy ... in output order. */
          const char *dot = strrchr(a->out, '.');
          int stem = dot ? (int)(dot - a->out) : (int)strlen(a->out);
          snprintf(path, sizeof path, "%.*s_%d%s", stem, a->out, j,
                   dot ? dot : ".npy");
        }
        if (cn_npy_write(path, outs[j], d->ndim, d->dims, &err)) {
          fprintf(stderr, "camnet: error: %s\n", err.msg);
          status = 1;
        } else {
          printf("%s -> %s\n", d->name, path);
        }
      }
    }
  }
  free(x);
  free_outputs(m, outs);
  cn_model_free(m);
  return status;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmd_bench(const tool_args_t *a) {
  int64_t t0 = cn_clock_now();
  cn_model_t *m;
  if (load(a, &m))
    return 1;
  double load_ms = cn_ns_to_ms(cn_clock_now() - t0);
  int nin = cn_model_num_inputs(m);
  float **ins = calloc((size_t)nin, sizeof *ins);
  float **outs = alloc_outputs(m);
  double *times = malloc((size_t)a->runs * sizeof *times);
  int status = 1;
  bool ok = ins && outs && times;
  for (int i = 0; ok && i < nin; i++)
    ok = (ins[i] = make_input(cn_model_input(m, i), i ? NULL : a->input)) !=
         NULL;
  cn_err_t err = {0};
  for (long r = 0; ok && r < a->warmup + a->runs; r++) {
    int64_t s = cn_clock_now();
    if (cn_model_run(m, (const float *const *)ins, outs, &err) < 0) {
      fprintf(stderr, "camnet: error: %s\n", err.msg);
      ok = false;
    } else if (r >= a->warmup) {
      times[r - a->warmup] = cn_ns_to_ms(cn_clock_now() - s);
    }
  }
  if (ok) {
    qsort(times, (size_t)a->runs, sizeof *times, cmp_double);
    double med = times[a->runs / 2];
    double p90 = times[(size_t)((double)(a->runs - 1) * 0.9)];
    printf("%s: backend %s, %ld runs: median %.3f ms, p90 %.3f ms, "
           "%.1f GFLOP/s, load %.1f ms",
           a->model, cn_model_backend(m), a->runs, med, p90,
           cn_model_flops(m) / (med * 1e6), load_ms);
    status = 0;
  }

  for (int i = 0; ins && i < nin; i++)
    free(ins[i]);
  free(ins);
  free(times);
  free_outputs(m, outs);
  /* Reloads: the model is freed first, so at most one copy is loaded. */
  double *reload =
      ok && a->reloads ? malloc((size_t)a->reloads * sizeof *reload) : NULL;
  for (long r = 0; reload && r < a->reloads; r++) {
    cn_model_free(m);
    int64_t s = cn_clock_now();
    if (load(a, &m)) {
      m = NULL;
      status = 1;
      break;
    }
    reload[r] = cn_ns_to_ms(cn_clock_now() - s);
    if (r == a->reloads - 1) {
      qsort(reload, (size_t)a->reloads, sizeof *reload, cmp_double);
      printf(", reload %.1f ms", reload[a->reloads / 2]);
    }
  }
  free(reload);
  if (ok)
    printf("\n");
  cn_model_free(m);
  return status;
}

int cn_app_model_tool(int argc, char **argv) {
  tool_args_t a;
  if (parse_args(argc, argv, &a))
    return 2;
  if (a.help) {
    printf("Usage:\n"
           "  camnet info MODEL [--weights W.caffemodel] [--backend ref|dnnl]\n"
           "  camnet infer --model M [--prototxt P] --input in.npy --out "
           "out.npy [--output NAME]\n"
           "  camnet bench MODEL [--weights W] [--input in.npy] [--threads N]"
           " [--runs N] [--warmup N] [--reloads N]\n");
    return 0;
  }
  if (!strcmp(argv[1], "info"))
    return cmd_info(&a);
  if (!strcmp(argv[1], "infer"))
    return cmd_infer(&a);
  return cmd_bench(&a);
}
