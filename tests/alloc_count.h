/* Counts heap allocations made while armed, for the "nothing allocated per
 * frame" tests. Linked into a test with cn_add_test(... ALLOCS), which
 * wraps malloc, calloc, realloc and aligned_alloc at link time: calls from
 * the test and from camnet's static libraries are counted, calls made
 * inside shared libraries (oneDNN, libswscale, libc) are theirs and not.
 * Any thread may allocate while armed (the counter is atomic). */
#ifndef CN_TEST_ALLOC_COUNT_H
#define CN_TEST_ALLOC_COUNT_H

/* Starts counting from zero. */
void cn_test_alloc_start(void);

/* Stops counting; returns the allocations since cn_test_alloc_start. */
long cn_test_alloc_stop(void);

#endif
