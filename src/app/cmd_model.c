/* camnet info | infer | bench: the engine's tools.
 *
 *   camnet info MODEL [--weights W | --prototxt P] [--backend ref|dnnl]
 *   camnet infer --model M [--weights W | --prototxt P] --input in.npy
 *                -o out.npy [--output NAME] [--backend B] [--threads N]
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
#include "app/optparse.h"
#include "engine/model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "camnet/clock.h"
#include "engine/ir/graph.h"
#include "camnet/mean.h"
#include "camnet/model.h"

typedef struct tool_args {
  const char *model, *weights, *prototxt, *backend, *input, *out;
  const char *output;
  int64_t threads, runs, warmup, reloads;
  bool help;
} tool_args_t;

#define F(field) offsetof(tool_args_t, field)
static const cn_opt_t tool_options[] = {
    {"model", 0, "FILE", CN_ARG_STRING, F(model), 0, 0, 0,
     "the network (also the first word after the command)"},
    {"weights", 0, "FILE", CN_ARG_STRING, F(weights), 0, 0, 0,
     "Caffe: the .caffemodel when MODEL is the .prototxt"},
    {"prototxt", 0, "FILE", CN_ARG_STRING, F(prototxt), 0, 0, 0,
     "Caffe: the .prototxt when MODEL is the .caffemodel"},
    {"backend", 0, "dnnl|ref", CN_ARG_STRING, F(backend), 0, 0, 0,
     "inference backend (default dnnl)"},
    {"input", 0, "FILE.npy", CN_ARG_STRING, F(input), 0, 0, 0,
     "infer, bench: the input tensor (float32 .npy)"},
    {"out", 'o', "FILE.npy", CN_ARG_STRING, F(out), 0, 0, 0,
     "infer: where the output tensor goes"},
    {"output", 0, "NAME", CN_ARG_STRING, F(output), 0, 0, 0,
     "infer: the tensor to return (any intermediate; default the graph's)"},
    {"threads", 0, "N", CN_ARG_INT, F(threads), 0, 256, 0,
     "inference threads (default: all cores)"},
    {"runs", 0, "N", CN_ARG_INT, F(runs), 1, 1e6, 0,
     "bench: timed runs (default 50)"},
    {"warmup", 0, "N", CN_ARG_INT, F(warmup), 0, 1e6, 0,
     "bench: untimed runs first (default 5)"},
    {"reloads", 0, "N", CN_ARG_INT, F(reloads), 0, 1000, 0,
     "bench: loads timed after the first (default 5)"},
    {"help", 'h', NULL, CN_ARG_FLAG, F(help), 0, 0, 0, "show this help"},
};
#undef F

static int set_model(void *cfg, const char *word, cn_err_t *err) {
  tool_args_t *a = cfg;
  if (a->model)
    return cn_err_set(err, CN_EINVAL, "unexpected argument '%s'", word);
  a->model = word;
  return 0;
}

static const cn_optset_t tool_set = {
    tool_options, sizeof tool_options / sizeof tool_options[0], set_model};

void cn_app_model_tool_man(FILE *f) { cn_opt_print_man(&tool_set, f); }

static int parse_args(int argc, char **argv, tool_args_t *a) {
  memset(a, 0, sizeof *a);
  a->runs = 50;
  a->warmup = 5;
  a->reloads = 5;
  cn_err_t err = {0};
  if (cn_opt_parse(&tool_set, a, argc, argv, 2, &err)) {
    fprintf(stderr, "camnet %s: %s\n", argv[1], err.msg);
    return -1;
  }
  /* The Jetson script's form: --prototxt deploy.prototxt --model
   * x.caffemodel. */
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
    fprintf(stderr, "camnet: infer needs --input in.npy and -o out.npy\n");
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
           "  camnet info MODEL [options]    inputs, outputs, graph, FLOPs\n"
           "  camnet infer MODEL --input in.npy -o out.npy [options]\n"
           "  camnet bench MODEL [--input in.npy] [options]\n\nOptions:\n");
    cn_opt_print_help(&tool_set, stdout);
    return 0;
  }
  if (!strcmp(argv[1], "info"))
    return cmd_info(&a);
  if (!strcmp(argv[1], "infer"))
    return cmd_infer(&a);
  return cmd_bench(&a);
}
