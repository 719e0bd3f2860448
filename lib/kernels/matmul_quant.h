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
#include <string.h>

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

/* Elements and bytes of a block, as constants the compiler folds (the
 * table in wtype.c is another file's data): the kernels' loops over a
 * block are then unrolled, every QuantBits computed at compile time. */
static inline __attribute__((always_inline)) int quant_block(WType t)
{
	return t == WT_Q8_0 ? QK8_0 : t == WT_Q4_0 ? QK4_0 : QK_K;
}

static inline __attribute__((always_inline)) int quant_bytes(WType t)
{
	switch (t) {
	case WT_Q8_0: return sizeof(BlockQ8_0);
	case WT_Q4_0: return sizeof(BlockQ4_0);
	case WT_Q4_K: return sizeof(BlockQ4_K);
	case WT_Q5_K: return sizeof(BlockQ5_K);
	case WT_Q6_K: return sizeof(BlockQ6_K);
	case WT_F32: case WT_F16: case WT_BF16: case WT_COUNT:
		break;
	}
	return 0;
}

/* Elements that share one s and o: a Q6_K sub-block, or 32. */
static inline __attribute__((always_inline)) int quant_group(WType t)
{
	return t == WT_Q6_K ? 16 : 32;
}

/* s[i] and o[i] for the elements of group i of block b. The K types' eight
 * 6-bit scales and mins are unpacked four at a time from 32-bit words of
 * their 12 bytes (the layout of scale_min_k4): scales 0-3 and mins 0-3 are
 * the low six bits of words 0 and 1; scales and mins 4-7 the nibbles of
 * word 2 with, as their bits 4-5, the top two bits of words 0 and 1. */
static inline __attribute__((always_inline)) void quant_scales(WType t, const uint8_t *b,
							       float s[16], float o[16])
{
	const uint16_t *d = (const uint16_t *)b;
	switch (t) {
	case WT_Q8_0:
	case WT_Q4_0:
		s[0] = f16_to_f32(d[0]);
		o[0] = 0;
		break;
	case WT_Q4_K:
	case WT_Q5_K: {
		uint32_t u[3];
		uint8_t sc[8], m[8];
		memcpy(u, b + offsetof(BlockQ4_K, scales), 12);
		uint32_t sc_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
		uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (u[0] >> 2 & 0x30303030u);
		uint32_t m_hi = (u[2] >> 4 & 0x0f0f0f0fu) | (u[1] >> 2 & 0x30303030u);
		memcpy(sc, &sc_lo, 4);
		memcpy(sc + 4, &sc_hi, 4);
		memcpy(m, &m_lo, 4);
		memcpy(m + 4, &m_hi, 4);
		float dd = f16_to_f32(d[0]), dmin = f16_to_f32(d[1]);
#pragma GCC unroll 8
		for (int j = 0; j < 8; j++) {
			s[j] = dd * (float)sc[j];
			o[j] = dmin * (float)m[j];
		}
		break;
	}
	case WT_Q6_K: {
		const BlockQ6_K *q = (const BlockQ6_K *)b;
		float dd = f16_to_f32(q->d);
		/* sub-block i = 8 h + 2 g + l / 16 holds elements 16 i .. 16 i + 15 */
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			s[i] = dd * (float)q->scales[i];
			o[i] = 0;
		}
		break;
	}
	case WT_F32: case WT_F16: case WT_BF16: case WT_COUNT:
		break;
	}
}

#endif
