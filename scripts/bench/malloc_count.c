/* malloc_count: an LD_PRELOAD shim counting the heap allocations of a
 * whole process (every library's, not only camnet's) and writing the
 * count to $CN_ALLOC_COUNT_FILE at exit. Used by scripts/count-allocs.sh.
 * Built with: cc -O2 -shared -fPIC -o malloc_count.so malloc_count.c */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);

static atomic_ulong count;

void *malloc(size_t n) {
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  return __libc_malloc(n);
}

void *calloc(size_t k, size_t n) {
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n) {
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  return __libc_realloc(p, n);
}

void *aligned_alloc(size_t a, size_t n) {
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  return __libc_memalign(a, n);
}

void *memalign(size_t a, size_t n) {
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  return __libc_memalign(a, n);
}

int posix_memalign(void **out, size_t a, size_t n) {
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  void *p = __libc_memalign(a, n);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("CN_ALLOC_COUNT_FILE");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (f) {
    fprintf(f, "%lu\n", atomic_load(&count));
    fclose(f);
  }
}
