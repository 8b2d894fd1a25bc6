/* cn_pattern: a test picture that carries a frame number readably through
 * compression and scaling, so tests can tell exactly which frame arrived.
 *
 * Layout (any size >= 68x16): the top eighth of the picture is two bands
 * of 34 equal cells. Band 1: a white start cell, the 32 bits of the number
 * (most significant first, white = 1), a black end cell. Band 2: the same
 * with every cell inverted, a check that rejects torn or blended frames.
 * Below the bands moving diagonal colour bars keep video encoders honest.
 *
 * Pure functions on caller memory; any thread.
 */
#ifndef CN_PATTERN_H
#define CN_PATTERN_H

#include <stdint.h>

/* Paints the picture for number n into a packed BGR24 image. */
void cn_pattern_paint_bgr(uint8_t *data, int stride, int width, int height,
                          uint32_t n);

/* Reads the number back from a BGR24 image. Returns it (0..2^32-1) as
 * int64, or -1 when the bands are unreadable or inconsistent. */
int64_t cn_pattern_read_bgr(const uint8_t *data, int stride, int width,
                            int height);

#endif
