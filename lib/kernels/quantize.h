/* quantize.h: f32 rows to each weight type's blocks, the inverse of
 * wtype_info[t].to_f32 up to the type's rounding. One function a type,
 * indexed by WType like wtype_info.
 *
 * Q8_0 and Q4_0 round as llama.cpp's reference quantisers do (one fixed
 * rule, no search), so their bytes equal llama-quantize's. The K types
 * follow the reference algorithms of ggml's K-quants without an importance
 * matrix: per sub-block scale (and min) chosen by a small search that
 * minimises the weighted squared error, then the scales themselves
 * quantised to 6 (Q4_K, Q5_K) or 8 (Q6_K) bits. */
#ifndef ERNIE_QUANTIZE_H
#define ERNIE_QUANTIZE_H

#include <stdint.h>

#include "kernels/wtype.h"

/* dst = the n elements of x (n a whole number of blocks of the type) in
 * the type's layout: wtype_row_bytes(t, n) bytes. */
typedef void (*QuantizeRowFn)(void *dst, const float *x, int64_t n);
extern const QuantizeRowFn quantize_row[WT_COUNT];

/* f32 to IEEE half and to bfloat16, rounding to nearest even (NaN stays a
 * NaN, overflow goes to infinity). */
uint16_t f32_to_f16(float f);
uint16_t f32_to_bf16(float f);

#endif
