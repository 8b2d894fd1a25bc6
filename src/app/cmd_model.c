/* camnet info | infer | bench: the engine's tools.
 *
 *   camnet info MODEL [--weights W | --prototxt P] [--backend ref|dnnl]
 *               [--input-shape NAME:1x3xHxW]...
 *   camnet infer --model M [--weights W | --prototxt P] --input in.npy
 *                -o out.npy [--output NAME] [--backend B] [--threads N]
 *   camnet bench MODEL [--weights W | --prototxt P] [--input in.npy]
 *                [--threads N] [--runs N] [--warmup N] [--reloads N]
 *                [--backend B] [--profile]
 *
 * Open input dimensions come from --input-shape (repeatable), then the
 * shape of the .npy given to infer/bench --input (for the first input);
 * the engine fills the rest (camnet/model.h). A bad or disagreeing shape
 * is a usage error (exit 2).
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

#define CN_MAX_INPUT_SHAPES 8

typedef struct tool_args {
  const char *model, *weights, *prototxt, *backend, *input, *out;
  const char *output;
  const char *shape_text[CN_MAX_INPUT_SHAPES]; /* --input-shape */
  int n_shapes;
  cn_input_shape_t shapes[CN_MAX_INPUT_SHAPES + 1]; /* parsed, + the .npy */
  int nparsed;
  int64_t threads, runs, warmup, reloads;
  bool help, profile;
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
    {"input-shape", 0, "NAME:1x3xHxW", CN_ARG_LIST, F(shape_text), 0,
     CN_MAX_INPUT_SHAPES, F(n_shapes),
     "size of an input the model leaves open (repeatable; no NAME: the "
     "first input)"},
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
    {"profile", 0, NULL, CN_ARG_FLAG, F(profile), 0, 0, 0,
     "bench: then time every step (--runs more runs): its implementation, "
     "share, and a warning for reference kernels above 2 %"},
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
  for (int i = 0; i < a->n_shapes; i++)
    if (cn_input_shape_parse(a->shape_text[i], &a->shapes[a->nparsed++],
                             &err)) {
      fprintf(stderr, "camnet %s: option --input-shape: %s\n", argv[1],
              err.msg);
      return -1;
    }
  return 0;
}

/* The .npy given to infer/bench sizes the first input when no
 * --input-shape does. 0, or 1 after a message (unreadable file). */
static int shape_from_npy(tool_args_t *a) {
  if (!a->input)
    return 0;
  cn_npy_t in = {0};
  cn_err_t err = {0};
  if (cn_npy_read(a->input, &in, &err)) {
    fprintf(stderr, "camnet: error: %s\n", err.msg);
    return 1;
  }
  cn_input_shape_t *e = &a->shapes[a->nparsed];
  memset(e, 0, sizeof *e);
  e->hint = 1; /* a static model takes any .npy of the right size */
  e->ndim = in.ndim < CN_MODEL_MAX_DIMS ? in.ndim : CN_MODEL_MAX_DIMS;
  for (int k = 0; k < e->ndim; k++)
    e->dims[k] = in.dims[k];
  cn_npy_free(&in);
  /* An .npy whose dimensions could not size an input (0, too many) is
   * left to the size check against the loaded model. */
  for (int k = 0; k < e->ndim; k++)
    if (e->dims[k] < 1 || e->dims[k] > CN_INPUT_MAX_DIM)
      return 0;
  a->nparsed++;
  return 0;
}

/* 0, or the exit status after a message: 2 when a given --input-shape is
 * wrong for this model (rank, a fixed dimension, no such input), else 1
 * (a dimension left open without any --input-shape is also 1). */
static int load(const tool_args_t *a, cn_model_t **m) {
  cn_model_opts_t o;
  cn_model_opts_default(&o);
  o.weights = a->weights;
  o.prototxt = a->prototxt;
  o.backend = a->backend;
  o.threads = (int)a->threads;
  static const cn_logger_t tool_log = {.level = CN_LOG_WARN}; /* stderr */
  o.log = &tool_log;
  if (a->output) {
    o.outputs = &a->output;
    o.noutputs = 1;
  }
  o.input_shapes = a->shapes;
  o.ninput_shapes = a->nparsed;
  cn_err_t err = {0};
  int r = cn_model_load(m, a->model, &o, &err);
  if (r < 0) {
    fprintf(stderr, "camnet: error: %s\n", err.msg);
    /* CN_EINVAL with shapes given: they are wrong for this model. */
    return r == CN_EINVAL && a->n_shapes > 0 ? 2 : 1;
  }
  return 0;
}

/* "input x [1,3,480,640] (open: batch=1, height=480, width=640)". */
static void print_desc(const char *kind, const cn_tensor_desc_t *d) {
  printf("%s %s [", kind, d->name);
  for (int i = 0; i < d->ndim; i++)
    printf("%s%lld", i ? "," : "", (long long)d->dims[i]);
  printf("]");
  const char *sep = " (open: ";
  for (int i = 0; i < d->ndim; i++)
    if (d->symbols[i]) {
      printf("%s%s=%lld", sep, d->symbols[i], (long long)d->dims[i]);
      sep = ", ";
    }
  printf("%s\n", sep[1] == '(' ? "" : ")");
}

/* The file's metadata, one line each, long values cut. */
static void print_metadata(const cn_model_t *m) {
  const char *key, *v;
  for (int i = 0; (v = cn_model_metadata(m, i, &key)); i++) {
    int n = (int)strcspn(v, "\n\r");
    printf("metadata %s: %.*s%s\n", key, n > 100 ? 100 : n, v,
           n > 100 || v[n] ? " ..." : "");
  }
}

static int cmd_info(const tool_args_t *a) {
  cn_model_t *m;
  int r = load(a, &m);
  if (r)
    return r;
  printf("model %s\nbackend %s\n", a->model, cn_model_backend(m));
  for (int i = 0; i < cn_model_num_inputs(m); i++)
    print_desc("input", cn_model_input(m, i));
  for (int i = 0; i < cn_model_num_outputs(m); i++)
    print_desc("output", cn_model_output(m, i));
  print_metadata(m);
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
  int r = load(a, &m);
  if (r)
    return r;
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

/* bench --profile: per step, in execution order, the mean time over
 * `runs` timed runs, its share, the node, oneDNN's implementation name or
 * camnet's own kernel; then a warning per reference step above 2 %. */
static int profile(cn_model_t *m, float **ins, float **outs, long runs) {
  const cn_engine_step_t *st;
  int n = cn_model_steps(m, &st);
  if (n <= 0) {
    fprintf(stderr,
            "camnet: bench --profile: backend %s does not describe "
            "its steps\n",
            cn_model_backend(m));
    return 1;
  }
  int64_t *ns = calloc((size_t)n, sizeof *ns);
  if (!ns)
    return 1;
  cn_err_t err = {0};
  for (long r = 0; r < runs; r++)
    if (cn_model_run_timed(m, (const float *const *)ins, outs, ns, &err) < 0) {
      fprintf(stderr, "camnet: error: %s\n", err.msg);
      free(ns);
      return 1;
    }
  const cn_graph_t *g = cn_model_graph(m);
  double total = 0;
  for (int k = 0; k < n; k++)
    total += (double)ns[k];
  printf("\nprofile (mean of %ld runs, %.3f ms per run):\n"
         "step  node      ms   share  what     implementation        name\n",
         runs, total / (double)runs / 1e6);
  for (int k = 0; k < n; k++) {
    const char *name = st[k].node >= 0 ? g->nodes[st[k].node].name : "";
    printf("%4d %5d %7.3f %6.1f%%  %-8s %-21s %s\n", k, st[k].node,
           (double)ns[k] / (double)runs / 1e6,
           total > 0 ? 100.0 * (double)ns[k] / total : 0.0, st[k].what,
           st[k].impl, name ? name : "");
  }
  for (int k = 0; k < n; k++) {
    double share = total > 0 ? (double)ns[k] / total : 0;
    if (st[k].reference && share > CN_MODEL_REF_WARN_SHARE)
      printf("warning: step %d (node %d, %s) runs on a reference "
             "implementation (%s): %.1f %% of the run\n",
             k, st[k].node, st[k].what, st[k].impl, 100 * share);
  }
  free(ns);
  return 0;
}

static int cmd_bench(const tool_args_t *a) {
  int64_t t0 = cn_clock_now();
  cn_model_t *m;
  int r0 = load(a, &m);
  if (r0)
    return r0;
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
    if (a->profile) {
      printf("\n");
      ok = profile(m, ins, outs, a->runs) == 0;
      status = ok ? 0 : 1;
    }
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
    if (load(a, &m) != 0) {
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
  if (strcmp(argv[1], "info") && shape_from_npy(&a))
    return 1;
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
