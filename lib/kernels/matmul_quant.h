/* matmul_quant.h: what the SIMD matrix-vector kernels of the quantised
 * types share (internal). Every type's element is w = q s - o, with q a
 * small integer read from the block's bits, s and o f32 per 16 elements:
 *   Q8_0  q = qs (signed)                 s = d            o = 0
 *   Q4_0  q = nibble - 8                  s = d            o = 0
 *   Q4_K  q = nibble                      s = d sc         o = dmin m
 *   Q5_K  q = nibble + 16 (fifth bit)     s = d sc         o = dmin m
 *   Q6_K  q = nibble + 16 (two bits) - 32 s = d sc         o = 0
 * s q is exact in f32 (at most 11 + 8 + 6 significant bits, except Q6_K's
 * one rounding, the same as wtype.c's), so w computed as fmsub(q, s, o)
 * is bit for bit the exact dequantised weight of wtype.c: the kernels are
 * f32 products over the exact weights.
 *
 * QuantBits says where the bits of elements e0.. (a run of 8 or 16 in one
 * sub-block) are; with e0 a constant the compiler folds it all. */
#ifndef ERNIE_MATMUL_QUANT_H
#define ERNIE_MATMUL_QUANT_H

#include <stddef.h>

#include "kernels/wtype.h"

typedef struct {
	int lo;                 /* offset of the bytes of the low bits */
	int shift;              /* their shift (nibbles: 0 or 4) */
	int nibble;             /* 1: keep 4 bits; 0: the byte is the (signed) value */
	int hi;                 /* offset of the high bits' bytes, -1: none */
	int hshift, hmask;      /* (byte >> hshift) & hmask, then << 4 */
	int bias;               /* subtracted at the end */
} QuantBits;

static inline __attribute__((always_inline)) QuantBits quant_bits(WType t, int e0)
{
	int s = e0 / 32, l = e0 % 32, h = e0 / 128, g = e0 % 128 / 32;
	switch (t) {
	case WT_Q8_0:
		return (QuantBits){ offsetof(BlockQ8_0, qs) + e0, 0, 0, -1, 0, 0, 0 };
	case WT_Q4_0:
		return (QuantBits){ offsetof(BlockQ4_0, qs) + e0 % 16, e0 / 16 * 4, 1, -1, 0, 0, 8 };
	case WT_Q4_K:
		return (QuantBits){ offsetof(BlockQ4_K, qs) + 32 * (s / 2) + l, s % 2 * 4, 1, -1, 0,
				    0, 0 };
	case WT_Q5_K:
		return (QuantBits){ offsetof(BlockQ5_K, qs) + 32 * (s / 2) + l, s % 2 * 4, 1,
				    offsetof(BlockQ5_K, qh) + l, s, 1, 0 };
	case WT_Q6_K:
		return (QuantBits){ offsetof(BlockQ6_K, ql) + 64 * h + l + 32 * (g & 1), g / 2 * 4, 1,
				    offsetof(BlockQ6_K, qh) + 32 * h + l, 2 * g, 3, 32 };
	case WT_F32: case WT_F16: case WT_BF16: case WT_COUNT:
		break;
	}
	return (QuantBits){ 0, 0, 0, -1, 0, 0, 0 };
}

/* s[i] and o[i] for the elements 16 i .. 16 i + 15 of block b. */
static inline __attribute__((always_inline)) void quant_scales(WType t, const uint8_t *b,
							       float s[16], float o[16])
{
	const uint16_t *d = (const uint16_t *)b;
	switch (t) {
	case WT_Q8_0:
	case WT_Q4_0:
		s[0] = s[1] = f16_to_f32(d[0]);
		o[0] = o[1] = 0;
		break;
	case WT_Q4_K:
	case WT_Q5_K: {
		float dd = f16_to_f32(d[0]), dmin = f16_to_f32(d[1]);
		for (int j = 0; j < 8; j++) {
			int sc, m;
			scale_min_k4(j, b + offsetof(BlockQ4_K, scales), &sc, &m);
			s[2 * j] = s[2 * j + 1] = dd * (float)sc;
			o[2 * j] = o[2 * j + 1] = dmin * (float)m;
		}
		break;
	}
	case WT_Q6_K: {
		const BlockQ6_K *q = (const BlockQ6_K *)b;
		float dd = f16_to_f32(q->d);
		/* sub-blocks of 16: element 16 i has scale 8 h + 2 g + l / 16 */
		for (int i = 0; i < 16; i++) {
			int e0 = 16 * i, h = e0 / 128, g = e0 % 128 / 32, l = e0 % 32;
			s[i] = dd * (float)q->scales[8 * h + 2 * g + l / 16];
			o[i] = 0;
		}
		break;
	}
	case WT_F32: case WT_F16: case WT_BF16: case WT_COUNT:
		break;
	}
}

#endif
