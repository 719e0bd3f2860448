/* matmul_xq.h: what the x86 kernels of the integer products on 8-bit
 * activations (xq.h) share (internal): the helpers, Q8_0 and Q4_0 (a block
 * of 32 is one 256-bit register whatever the ISA) and the instances per
 * (type, n). Included by matmul_avx2_xq.c and matmul_avx512_xq.h; the
 * includer defines XQ_TARGET (the target attribute's string), XQ_VNNI (0
 * or 1) and XQ_NAME(type) (the exported kernels' names) first, and rows_k
 * (the K types, in registers of its width) after. */
#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/matmul_quant.h"

_Static_assert(XQ_MAX == 4, "XQ_FN has a case for each n up to XQ_MAX");

#define TARGET __attribute__((target(XQ_TARGET)))
#define INLINE static inline __attribute__((always_inline)) TARGET

/* The int32 sums of four products of unsigned bytes u and signed bytes v */
INLINE __m256i products8(__m256i u, __m256i v)
{
#if XQ_VNNI
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, v);
#else
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, v), _mm256_set1_epi16(1));
#endif
}

INLINE float hsum256(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

INLINE float half(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	return _cvtsh_ss(h);
}

/* Q4_K/Q5_K: the eight 6-bit scales and the eight mins as bytes (the
 * layout of scale_min_k4), from three words read one by one (a 12-byte
 * memcpy would go through the stack). */
INLINE void k4_bytes(const uint8_t *b, uint64_t *sc, uint64_t *m)
{
	const uint8_t *p = b + offsetof(BlockQ4_K, scales);
	uint32_t u0, u1, u2;
	memcpy(&u0, p, 4);
	memcpy(&u1, p + 4, 4);
	memcpy(&u2, p + 8, 4);
	*sc = (uint64_t)(u0 & 0x3f3f3f3fu) |
	      (uint64_t)((u2 & 0x0f0f0f0fu) | (u0 >> 2 & 0x30303030u)) << 32;
	*m = (uint64_t)(u1 & 0x3f3f3f3fu) |
	     (uint64_t)((u2 >> 4 & 0x0f0f0f0fu) | (u1 >> 2 & 0x30303030u)) << 32;
}

/* ---- Q8_0 and Q4_0: blocks of 32, one register of bytes ---- */

/* Block i (at b) times each activation row, into acc[m]: the weights'
 * signed bytes q as |q| times the activations with q's sign (Q4_0's
 * nibbles minus 8 first: cheaper than subtracting 8 Σ x for each row). */
INLINE void block_32(WType t, int n, const uint8_t *b, const XQ *x, int64_t i, __m256 *acc)
{
	__m256i q;
	prefetch_ahead(b, quant_bytes(t));
	if (t == WT_Q8_0) {
		q = _mm256_loadu_si256((const __m256i *)(b + 2));
	} else {                /* elements 0-15 the low nibbles, 16-31 the high */
		__m128i p = _mm_loadu_si128((const __m128i *)(b + 2));
		q = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(p, 4), p),
						     _mm256_set1_epi8(0x0f)),
				    _mm256_set1_epi8(8));
	}
	__m256i aq = _mm256_abs_epi8(q);
	float d = half(b);
#pragma GCC unroll 32
	for (int m = 0; m < n; m++) {
		__m256i xv = _mm256_loadu_si256((const __m256i *)(x[m].q + 32 * i));
		__m256i s = products8(aq, _mm256_sign_epi8(xv, q));
		acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * x[m].d[i]), acc[m]);
	}
}

/* Even and odd blocks into two accumulators: with one, each block waited
 * for the last one's multiply-add (4 cycles, more than the rest of a
 * block takes with n = 1). */
INLINE void rows_32(WType t, int n, float *Y, int64_t ldy, const Mat *W, const XQ *x, int64_t r0,
		    int64_t r1)
{
	const int bytes = quant_bytes(t);
	const int64_t nb = W->cols / 32;
	const int64_t rb = wtype_row_bytes(t, W->cols);   /* not mat_row: a call a row */
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = (const uint8_t *)W->data + r * rb;
		__m256 acc[2][XQ_MAX];
		int64_t i = 0;
#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			acc[0][m] = acc[1][m] = _mm256_setzero_ps();
		for (; i + 1 < nb; i += 2, b += 2 * bytes) {
			block_32(t, n, b, x, i, acc[0]);
			block_32(t, n, b + bytes, x, i + 1, acc[1]);
		}
		if (i < nb)
			block_32(t, n, b, x, i, acc[0]);
#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			Y[m * ldy + r] = hsum256(_mm256_add_ps(acc[0][m], acc[1][m]));
	}
}

/* ---- the instances ---- */

/* defined by the includer */
INLINE void rows_k(WType t, int n, float *Y, int64_t ldy, const Mat *W, const XQ *x, int64_t r0,
		   int64_t r1);

/* One instance per (type, n): constant trip counts keep the accumulators
 * in registers. */
#define XQ_FN(name, t, rows)                                                                 \
	TARGET void name(float *Y, int64_t ldy, const Mat *W, const XQ *x, int n, int64_t r0, \
			 int64_t r1)                                                         \
	{                                                                                    \
		switch (n) {                                                                 \
		case 1: rows(t, 1, Y, ldy, W, x, r0, r1); break;                             \
		case 2: rows(t, 2, Y, ldy, W, x, r0, r1); break;                             \
		case 3: rows(t, 3, Y, ldy, W, x, r0, r1); break;                             \
		default: rows(t, XQ_MAX, Y, ldy, W, x, r0, r1); break;                       \
		}                                                                            \
	}
XQ_FN(XQ_NAME(q8_0), WT_Q8_0, rows_32)
XQ_FN(XQ_NAME(q4_0), WT_Q4_0, rows_32)
XQ_FN(XQ_NAME(q4_k), WT_Q4_K, rows_k)
XQ_FN(XQ_NAME(q5_k), WT_Q5_K, rows_k)
XQ_FN(XQ_NAME(q6_k), WT_Q6_K, rows_k)
#endif
