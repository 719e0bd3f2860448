/* matmul_avx512_xq.h: the integer products on 8-bit activations (xq.h)
 * with AVX-512 BW (internal; included once by matmul_avx512_xq.c and once,
 * with XQ_VNNI 1, by matmul_avx512vnni_xq.c). A weight block's integers
 * are unpacked to bytes in registers once, then for each activation row:
 * vpmaddubsw (the weights' unsigned bytes times the activations' signed
 * ones, pairs summed in int16: at most 2 * 63 * 127, never saturating),
 * vpmaddwd by the sub-blocks' integer scales into int32 (fused into one
 * vpdpwssd with VNNI), and one f32 multiply-add a block. The weights'
 * offsets (Q6_K's 32, the K types' mins) are products of the activations'
 * sums (Q4_0's 8 comes off its nibbles: matmul_xq.h). Integer sums are exact, so these agree with
 * portable_vec_xq up to the f32 scaling's rounding; the operations on each
 * (row, activation row) are the same whatever n.
 *
 * The includer defines XQ_VNNI (0 or 1), XQ_TARGET (the target attribute's
 * string) and XQ_NAME(type) (the exported kernels' names); Q8_0, Q4_0 and
 * the instances are matmul_xq.h's, shared with AVX2. */
#include "kernels/matmul_xq.h"

#if defined(__x86_64__)
/* s + the int32 sums of pairs of 16-bit products p sc */
INLINE __m512i add_products16(__m512i s, __m512i p, __m512i sc)
{
#if XQ_VNNI
	return _mm512_dpwssd_epi32(s, p, sc);
#else
	return _mm512_add_epi32(s, _mm512_madd_epi16(p, sc));
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
	uint64_t sc, m;
	k4_bytes(b, &sc, &m);
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
	const int64_t rb = wtype_row_bytes(t, W->cols);   /* not mat_row: a call a row */
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = (const uint8_t *)W->data + r * rb;
		__m512 acc[XQ_MAX];
		__m256 accm[XQ_MAX];
#pragma GCC unroll 32
		for (int m = 0; m < n; m++) {
			acc[m] = _mm512_setzero_ps();
			accm[m] = _mm256_setzero_ps();
		}
		for (int64_t i = 0; i < nb; i++, b += bytes) {
			KBlock k;
			prefetch_ahead(b, bytes);
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

#endif
