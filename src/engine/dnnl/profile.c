/* What each step of a oneDNN plan is, for `camnet bench --profile` and the
 * load-time warning about reference implementations: the implementation
 * oneDNN picked, whether it is a reference one, and a rough cost estimate.
 *
 * The estimate exists because a reference kernel's share cannot be read
 * off the FLOPs: a broadcast Mul on 1x24x320x320 is 0.1 % of a detector's
 * FLOPs but took 100-1500 ms on oneDNN's ref:any, more than the rest of
 * the network. The rates below are this machine class's (2 cores,
 * AVX-512, see docs/engine.md), rounded; they only need to be right
 * within a few times to tell 2 % from 50 %.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/dnnl/dnnl_internal.h"

#define JIT_FLOPS 20e9  /* jit conv/gemm, FLOP/s (MobileNetV3: 23 G) */
#define JIT_BYTES 4e9   /* jit eltwise/binary/reorder, bytes/s moved */
#define REF_ELEM 40e-9  /* oneDNN ref:any, s per output element */
#define REF_FLOPS 0.5e9 /* oneDNN ref convolutions, FLOP/s */
#define OWN_FLOPS 1e9   /* camnet's plain loops, FLOP/s */
#define OWN_BYTES 1e9   /* camnet's plain loops, bytes/s */

static double md_elems(const dnnl_memory_desc_t *md) {
  double n = 1;
  for (int d = 0; d < md->ndims; d++)
    n *= (double)md->dims[d];
  return md->ndims > 0 ? n : 0;
}

/* Elements the step writes. */
static double step_elems(const cn__dnnl_t *s, const cn__dstep_t *st) {
  double n = 0;
  if (st->kind == CN__STEP_PRIM) {
    for (int a = 0; a < st->nargs; a++)
      if (st->arg_ids[a] == DNNL_ARG_DST || st->arg_ids[a] == DNNL_ARG_TO)
        n += md_elems(&s->vals[st->arg_vals[a]].md);
    return n;
  }
  const cn_node_t *nd = &s->g->nodes[st->node];
  for (int k = 0; k < nd->noutputs; k++)
    n += (double)cn_tensor_numel(&s->g->tensors[nd->outputs[k]]);
  return n;
}

static void describe_step(const cn__dnnl_t *s, int k, cn_engine_step_t *o) {
  const cn__dstep_t *st = &s->steps[k];
  o->node = st->node;
  o->what = st->what;
  /* camnet's own loops are fine for data movement and elementwise work
   * (a broadcast Mul oneDNN has no jit layout for); a convolution or
   * matrix product falling back to them is the slow path to flag. */
  cn_op_t op = st->node >= 0 ? s->g->nodes[st->node].op : CN_OP_COUNT_;
  o->impl = "camnet:ref";
  o->reference = op == CN_OP_CONV || op == CN_OP_DECONV ||
                 op == CN_OP_INNER_PRODUCT || op == CN_OP_MATMUL;
  if (st->kind == CN__STEP_PRIM) {
    const_dnnl_primitive_desc_t pd;
    const char *impl = NULL;
    if (dnnl_primitive_get_primitive_desc(st->prim, &pd) == dnnl_success)
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    o->impl = impl ? impl : "?";
    o->reference = !strncmp(o->impl, "ref", 3);
  }
  /* A node's FLOPs go to its main step, not to the reorders it needs. */
  double flops = st->node >= 0 && strcmp(st->what, "reorder")
                     ? cn_node_flops(s->g, st->node)
                     : 0;
  double bytes = 8 * step_elems(s, st); /* read and written, float32 */
  if (st->kind != CN__STEP_PRIM)
    o->est_s = flops / OWN_FLOPS + bytes / OWN_BYTES;
  else if (o->reference)
    o->est_s = step_elems(s, st) * REF_ELEM + flops / REF_FLOPS;
  else
    o->est_s = flops / JIT_FLOPS + bytes / JIT_BYTES;
}

int cn__dnnl_profile_init(cn__dnnl_t *s, cn_err_t *err) {
  s->info = calloc((size_t)(s->nsteps ? s->nsteps : 1), sizeof *s->info);
  if (!s->info)
    return cn_err_set(err, CN_ENOMEM, "dnnl: out of memory");
  for (int k = 0; k < s->nsteps; k++)
    describe_step(s, k, &s->info[k]);
  return 0;
}
