/* matmul_avx512_xq.h: the integer products on 8-bit activations (xq.h)
 * with AVX-512 BW (internal; included once by matmul_avx512_xq.c and once,
 * with XQ_VNNI 1, by matmul_avx512vnni_xq.c). A weight block's integers
 * are unpacked to bytes in registers once, then for each activation row:
 * vpmaddubsw (the weights' unsigned bytes times the activations' signed
 * ones, pairs summed in int16: at most 2 * 63 * 127, never saturating),
 * vpmaddwd by the sub-blocks' integer scales into int32 (fused into one
 * vpdpwssd with VNNI), and one f32 multiply-add a block. The weights'
 * offsets (Q4_0's 8, Q6_K's 32, the K types' mins) are products of the
 * activations' sums. Integer sums are exact, so these agree with
 * portable_vec_xq up to the f32 scaling's rounding; the operations on each
 * (row, activation row) are the same whatever n.
 *
 * The includer defines XQ_VNNI (0 or 1), XQ_TARGET (the target attribute's
 * string) and XQ_NAME(type) (the exported kernels' names). */
#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/matmul_quant.h"

_Static_assert(XQ_MAX == 4, "XQ_FN has a case for each n up to XQ_MAX");

#define TARGET __attribute__((target(XQ_TARGET)))
#define INLINE static inline __attribute__((always_inline)) TARGET

/* s + the int32 sums of pairs of 16-bit products p sc */
INLINE __m512i add_products16(__m512i s, __m512i p, __m512i sc)
{
#if XQ_VNNI
	return _mm512_dpwssd_epi32(s, p, sc);
#else
	return _mm512_add_epi32(s, _mm512_madd_epi16(p, sc));
#endif
}

/* The int32 sums of four products of unsigned bytes u and signed bytes v */
INLINE __m256i products8(__m256i u, __m256i v)
{
#if XQ_VNNI
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, v);
#else
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, v), _mm256_set1_epi16(1));
#endif
}

/* 16-bit lanes 0-15 set to a, 16-31 to b (the two halves of a register) */
INLINE __m512i halves16(short a, short b)
{
	return _mm512_inserti64x4(_mm512_set1_epi16(a), _mm256_set1_epi16(b), 1);
}

/* 16-bit lane i = i / per + first: each of the scales first, first + 1 ...
 * repeated per times */
INLINE __m512i spread16(int first, int per)
{
	short idx[32];
#pragma GCC unroll 32
	for (int i = 0; i < 32; i++)
		idx[i] = (short)(first + i / per);
	return _mm512_loadu_si512(idx);
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

/* Every cache line of the block VEC_PREFETCH bytes ahead: a K block spans
 * up to four, and the hardware prefetcher alone leaves the stream short. */
INLINE void prefetch_block(const uint8_t *b, int bytes)
{
#pragma GCC unroll 4
	for (int p = 0; p < bytes; p += 64)
		_mm_prefetch((const char *)b + VEC_PREFETCH + p, _MM_HINT_T0);
}

/* ---- the K types: super-blocks of 256, four chunks of 64 bytes ---- */

typedef struct {
	__m512i q[4];           /* elements 64 c .. 64 c + 63 as unsigned bytes */
	__m512i sc[4];          /* their pairs' integer scales, 16-bit lanes */
	__m256i sc6;            /* Q6_K: sub-block i's scale in 16-bit lane i */
	__m256 mins;            /* Q4_K/Q5_K: sub-block j's dmin m */
	float d;
} KBlock;

/* Q4_K/Q5_K: the 6-bit scales and mins (the layout of scale_min_k4) */
INLINE void k4_scales(const uint8_t *b, KBlock *k)
{
	uint32_t u[3];
	memcpy(u, b + offsetof(BlockQ4_K, scales), 12);
	uint64_t sc = (uint64_t)(u[0] & 0x3f3f3f3fu) |
		      (uint64_t)((u[2] & 0x0f0f0f0fu) | (u[0] >> 2 & 0x30303030u)) << 32;
	uint64_t m = (uint64_t)(u[1] & 0x3f3f3f3fu) |
		     (uint64_t)((u[2] >> 4 & 0x0f0f0f0fu) | (u[1] >> 2 & 0x30303030u)) << 32;
	__m512i s16 = _mm512_zextsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
#pragma GCC unroll 32
	for (int c = 0; c < 4; c++)
		k->sc[c] = _mm512_permutexvar_epi16(spread16(2 * c, 16), s16);
	k->mins = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m))),
				_mm256_set1_ps(half(b + 2)));
	k->d = half(b);
}

INLINE void unpack_k(WType t, const uint8_t *b, KBlock *k)
{
	const __m512i lo4 = _mm512_set1_epi8(0x0f);
	if (t == WT_Q6_K) {
		const BlockQ6_K *q = (const BlockQ6_K *)b;
		const __m512i two = _mm512_set1_epi8(0x30);
#pragma GCC unroll 32
		for (int h = 0; h < 2; h++) {
			__m512i l = _mm512_loadu_si512(q->ql + 64 * h);
			__m512i hb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(q->qh + 32 * h)));
			__m512i h01 = _mm512_slli_epi16(_mm512_srlv_epi16(hb, halves16(0, 2)), 4);
			__m512i h23 = _mm512_slli_epi16(_mm512_srlv_epi16(hb, halves16(4, 6)), 4);
			k->q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, lo4), _mm512_and_si512(h01, two));
			k->q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), lo4),
							  _mm512_and_si512(h23, two));
		}
		k->sc6 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)q->scales));
#pragma GCC unroll 32
		for (int c = 0; c < 4; c++)
			k->sc[c] = _mm512_permutexvar_epi16(spread16(4 * c, 8), _mm512_zextsi256_si512(k->sc6));
		k->d = half((const uint8_t *)&q->d);
		return;
	}
	const uint8_t *qs = b + (t == WT_Q4_K ? offsetof(BlockQ4_K, qs) : offsetof(BlockQ5_K, qs));
#pragma GCC unroll 32
	for (int c = 0; c < 4; c++) {
		__m512i w = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * c)));
		k->q[c] = _mm512_and_si512(_mm512_srlv_epi16(w, halves16(0, 4)), lo4);
	}
	if (t == WT_Q5_K) {
		__m512i hb = _mm512_broadcast_i64x4(
			_mm256_loadu_si256((const __m256i *)(b + offsetof(BlockQ5_K, qh))));
#pragma GCC unroll 32
		for (int c = 0; c < 4; c++) {
			__m512i h = _mm512_slli_epi16(_mm512_srlv_epi16(hb, halves16(2 * c, 2 * c + 1)), 4);
			k->q[c] = _mm512_or_si512(k->q[c], _mm512_and_si512(h, _mm512_set1_epi8(0x10)));
		}
	}
	k4_scales(b, k);
}

INLINE void rows_k(WType t, int n, float *Y, int64_t ldy, const Mat *W, const XQ *x, int64_t r0,
		   int64_t r1)
{
	const int bytes = quant_bytes(t);
	const int64_t nb = W->cols / QK_K;
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = mat_row(W, r);
		__m512 acc[XQ_MAX];
		__m256 accm[XQ_MAX];
#pragma GCC unroll 32
		for (int m = 0; m < n; m++) {
			acc[m] = _mm512_setzero_ps();
			accm[m] = _mm256_setzero_ps();
		}
		for (int64_t i = 0; i < nb; i++, b += bytes) {
			KBlock k;
			prefetch_block(b, bytes);
			unpack_k(t, b, &k);
			const __m512 d = _mm512_set1_ps(k.d);
#pragma GCC unroll 32
			for (int m = 0; m < n; m++) {
				const int8_t *xq = x[m].q + i * QK_K;
				__m512i s = _mm512_setzero_si512();
#pragma GCC unroll 32
				for (int c = 0; c < 4; c++)
					s = add_products16(s, _mm512_maddubs_epi16(
						k.q[c], _mm512_loadu_si512(xq + 64 * c)), k.sc[c]);
				if (t == WT_Q6_K)       /* q - 32: minus 32 Σ sc sum */
					s = _mm512_sub_epi32(s, _mm512_zextsi256_si512(_mm256_slli_epi32(
						_mm256_madd_epi16(k.sc6, _mm256_loadu_si256(
							(const __m256i *)(x[m].sum + i * 16))), 5)));
				else                    /* the mins: Σ dmin m d_x (sum + sum) */
					accm[m] = _mm256_fmadd_ps(k.mins, _mm256_loadu_ps(x[m].dsum + i * 8),
								  accm[m]);
				acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
							 _mm512_mul_ps(_mm512_set1_ps(x[m].d[i]), d), acc[m]);
			}
		}
#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			Y[m * ldy + r] = _mm512_reduce_add_ps(acc[m]) - hsum256(accm[m]);
	}
}

/* ---- Q8_0 and Q4_0: blocks of 32, one register of bytes ---- */

INLINE void rows_32(WType t, int n, float *Y, int64_t ldy, const Mat *W, const XQ *x, int64_t r0,
		    int64_t r1)
{
	const int bytes = quant_bytes(t);
	const int64_t nb = W->cols / 32;
	const __m256i lo4 = _mm256_set1_epi8(0x0f);
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = mat_row(W, r);
		__m256 acc[XQ_MAX];
#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			acc[m] = _mm256_setzero_ps();
		for (int64_t i = 0; i < nb; i++, b += bytes) {
			__m256i q, aq = _mm256_setzero_si256();
			prefetch_block(b, bytes);
			if (t == WT_Q8_0) {
				q = _mm256_loadu_si256((const __m256i *)(b + 2));
				aq = _mm256_abs_epi8(q);
			} else {                /* elements 0-15 the low nibbles, 16-31 the high */
				__m128i p = _mm_loadu_si128((const __m128i *)(b + 2));
				q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(p, 4), p), lo4);
			}
			float d = half(b);
#pragma GCC unroll 32
			for (int m = 0; m < n; m++) {
				__m256i xv = _mm256_loadu_si256((const __m256i *)(x[m].q + 32 * i)), s;
				if (t == WT_Q8_0) {     /* |q| times x with q's sign */
					s = products8(aq, _mm256_sign_epi8(xv, q));
				} else {                /* q - 8: minus 8 Σ x */
					s = products8(q, xv);
					s = _mm256_sub_epi32(s, _mm256_zextsi128_si256(_mm_cvtsi32_si128(
						8 * (x[m].sum[2 * i] + x[m].sum[2 * i + 1]))));
				}
				acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * x[m].d[i]),
							 acc[m]);
			}
		}
#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			Y[m * ldy + r] = hsum256(acc[m]);
	}
}

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
