/* cn_dtype: the element types of IR tensors (engine/ir/graph.h). Only
 * float32 reaches kernels; the others are constants evaluated at load.
 * Threads, ownership, errors: none (types and pure functions). */
#ifndef CN_ENGINE_IR_DTYPE_H
#define CN_ENGINE_IR_DTYPE_H

#include <stddef.h>

/* Integer constants of every width (int8..int64, unsigned) are held as
 * int64, the type shape arithmetic works in; bool as int64 0 or 1. The
 * file's width matters only to Cast, which wraps as it converts. */
typedef enum cn_dtype {
  CN_DT_F32 = 0,
  CN_DT_I64 = 1,
  CN_DT_BOOL = 2, /* comparisons, Not, Cast to bool: int64 0 or 1 */
} cn_dtype_t;

/* 1 for the types held as int64 elements. */
static inline int cn_dtype_is_int(cn_dtype_t dt) {
  return dt == CN_DT_I64 || dt == CN_DT_BOOL;
}
/* Bytes per element as held in the graph. */
static inline size_t cn_dtype_size(cn_dtype_t dt) {
  return cn_dtype_is_int(dt) ? 8 : 4;
}

#endif
