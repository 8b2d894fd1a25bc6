#include "alloc_count.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

static atomic_long count;
static atomic_bool armed;

void cn_test_alloc_start(void) {
  atomic_store(&count, 0);
  atomic_store(&armed, true);
}

long cn_test_alloc_stop(void) {
  atomic_store(&armed, false);
  return atomic_load(&count);
}

static void counted(void) {
  if (atomic_load_explicit(&armed, memory_order_relaxed))
    atomic_fetch_add(&count, 1);
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

void *__wrap_malloc(size_t n) {
  counted();
  return __real_malloc(n);
}
void *__wrap_calloc(size_t a, size_t b) {
  counted();
  return __real_calloc(a, b);
}
void *__wrap_realloc(void *p, size_t n) {
  counted();
  return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n) {
  counted();
  return __real_aligned_alloc(a, n);
}
