/* wtype.c: the weight-type table of wtype.h and the exact dequantisers, in
 * plain C. They are the reference: SIMD kernels dequantise in registers and
 * are tested against these. */
#include "kernels/wtype.h"

#include <string.h>

static void f32_to_f32(float *dst, const void *src, int64_t n)
{
	memcpy(dst, src, (size_t)n * 4);
}

static void f16_row(float *dst, const void *src, int64_t n)
{
	const uint16_t *h = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = f16_to_f32(h[i]);
}

static void bf16_row(float *dst, const void *src, int64_t n)
{
	const uint16_t *h = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = bf16_to_f32(h[i]);
}

static void q8_0_row(float *dst, const void *src, int64_t n)
{
	const BlockQ8_0 *b = src;
	for (int64_t i = 0; i < n / QK8_0; i++, b++, dst += QK8_0) {
		float d = f16_to_f32(b->d);
		for (int j = 0; j < QK8_0; j++)
			dst[j] = d * b->qs[j];
	}
}

static void q4_0_row(float *dst, const void *src, int64_t n)
{
	const BlockQ4_0 *b = src;
	for (int64_t i = 0; i < n / QK4_0; i++, b++, dst += QK4_0) {
		float d = f16_to_f32(b->d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			dst[j] = d * ((b->qs[j] & 15) - 8);
			dst[j + QK4_0 / 2] = d * ((b->qs[j] >> 4) - 8);
		}
	}
}

/* One Q4_K/Q5_K super-block: qs holds two sub-blocks per 32 bytes (low
 * nibbles first); qh, when not NULL, the fifth bits (bit 2p and 2p + 1 of
 * byte l for the pair p of sub-blocks). */
static void k4_block(float *y, uint16_t d16, uint16_t dmin16, const uint8_t *scales,
		     const uint8_t *qs, const uint8_t *qh)
{
	float d = f16_to_f32(d16), dmin = f16_to_f32(dmin16);
	for (int p = 0; p < 4; p++, qs += 32, y += 64) {
		int sc0, m0, sc1, m1;
		scale_min_k4(2 * p, scales, &sc0, &m0);
		scale_min_k4(2 * p + 1, scales, &sc1, &m1);
		for (int l = 0; l < 32; l++) {
			int hi0 = qh ? (qh[l] >> (2 * p) & 1) << 4 : 0;
			int hi1 = qh ? (qh[l] >> (2 * p + 1) & 1) << 4 : 0;
			y[l] = d * sc0 * ((qs[l] & 15) | hi0) - dmin * m0;
			y[l + 32] = d * sc1 * ((qs[l] >> 4) | hi1) - dmin * m1;
		}
	}
}

static void q4_k_row(float *dst, const void *src, int64_t n)
{
	const BlockQ4_K *b = src;
	for (int64_t i = 0; i < n / QK_K; i++, b++, dst += QK_K)
		k4_block(dst, b->d, b->dmin, b->scales, b->qs, NULL);
}

static void q5_k_row(float *dst, const void *src, int64_t n)
{
	const BlockQ5_K *b = src;
	for (int64_t i = 0; i < n / QK_K; i++, b++, dst += QK_K)
		k4_block(dst, b->d, b->dmin, b->scales, b->qs, b->qh);
}

/* Q6_K: two halves of 128; in each, byte l of ql (l < 64) holds the low
 * nibbles of elements l and l + 64, byte l of qh (l < 32) the high two bits
 * of elements l, l + 32, l + 64, l + 96; sub-blocks of 16 elements. */
static void q6_k_row(float *dst, const void *src, int64_t n)
{
	const BlockQ6_K *b = src;
	for (int64_t i = 0; i < n / QK_K; i++, b++) {
		float d = f16_to_f32(b->d);
		const uint8_t *ql = b->ql, *qh = b->qh;
		const int8_t *sc = b->scales;
		for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, dst += 128) {
			for (int l = 0; l < 32; l++) {
				int s = l / 16;
				int q1 = ((ql[l] & 15) | (qh[l] & 3) << 4) - 32;
				int q2 = ((ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4) - 32;
				int q3 = ((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4) - 32;
				int q4 = ((ql[l + 32] >> 4) | (qh[l] >> 6 & 3) << 4) - 32;
				dst[l] = d * sc[s] * q1;
				dst[l + 32] = d * sc[s + 2] * q2;
				dst[l + 64] = d * sc[s + 4] * q3;
				dst[l + 96] = d * sc[s + 6] * q4;
			}
		}
	}
}

const WTypeInfo wtype_info[WT_COUNT] = {
	[WT_F32] = { "f32", 0, 1, 4, f32_to_f32 },
	[WT_F16] = { "f16", 1, 1, 2, f16_row },
	[WT_BF16] = { "bf16", 30, 1, 2, bf16_row },
	[WT_Q8_0] = { "q8_0", 8, QK8_0, sizeof(BlockQ8_0), q8_0_row },
	[WT_Q4_0] = { "q4_0", 2, QK4_0, sizeof(BlockQ4_0), q4_0_row },
	[WT_Q4_K] = { "q4_K", 12, QK_K, sizeof(BlockQ4_K), q4_k_row },
	[WT_Q5_K] = { "q5_K", 13, QK_K, sizeof(BlockQ5_K), q5_k_row },
	[WT_Q6_K] = { "q6_K", 14, QK_K, sizeof(BlockQ6_K), q6_k_row },
};

_Static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_K) == 144 &&
	       sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210, "ggml block sizes");

int64_t wtype_row_bytes(WType t, int64_t cols)
{
	const WTypeInfo *w = &wtype_info[t];
	if (cols < 0 || cols % w->block || cols / w->block > INT64_MAX / w->bytes)
		return -1;
	return cols / w->block * w->bytes;
}

int wtype_from_ggml(uint32_t g, WType *t)
{
	for (int i = 0; i < WT_COUNT; i++)
		if ((uint32_t)wtype_info[i].ggml == g) {
			*t = (WType)i;
			return 0;
		}
	return -1;
}

const char *wtype_names(void)
{
	return "f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K";
}
