/* matmul_avx2_xq.c: the integer products on 8-bit activations (xq.h)
 * with AVX2 (FMA and F16C for the scaling, nothing of AVX-512): the scheme
 * of matmul_avx512_xq.h on 256-bit registers. A weight block's integers
 * are unpacked to unsigned bytes once, 32 a register, and used by every
 * activation row: vpmaddubsw (weights' unsigned bytes times the
 * activations' signed ones, pairs summed in int16: at most 2 * 63 * 127,
 * never saturating), vpmaddwd by the sub-blocks' integer scales into
 * int32, one f32 multiply-add a block. The weights' offsets (Q6_K's 32,
 * the K types' mins) are products of the activations' sums. Integer sums
 * are exact, so these agree with portable_vec_xq up to the f32 scaling's
 * rounding; the operations on each (row, activation row) are the same
 * whatever n. Q8_0, Q4_0 and the instances: matmul_xq.h. */
#define XQ_VNNI 0
#define XQ_TARGET "avx2,fma,f16c"
#define XQ_NAME(type) avx2_xq_##type
#include "kernels/matmul_xq.h"

#if defined(__x86_64__)
/* v's 16-bit lanes shifted left by k (right by -k when k < 0): moves bit
 * 4 - k of each byte to bit 4 without crossing bytes for -3 <= k <= 4 */
INLINE __m256i shift16(__m256i v, int k)
{
	return k > 0 ? _mm256_slli_epi16(v, k) : k < 0 ? _mm256_srli_epi16(v, -k) : v;
}

/* 16-bit lanes 0-7 = lane a of v's low half, lanes 8-15 = lane b of its
 * high half (a, b < 8): vpshufb stays in its half */
INLINE __m256i pick16(__m256i v, int a, int b)
{
	return _mm256_shuffle_epi8(v, _mm256_setr_epi8(
		2 * a, 2 * a + 1, 2 * a, 2 * a + 1, 2 * a, 2 * a + 1, 2 * a, 2 * a + 1,
		2 * a, 2 * a + 1, 2 * a, 2 * a + 1, 2 * a, 2 * a + 1, 2 * a, 2 * a + 1,
		2 * b, 2 * b + 1, 2 * b, 2 * b + 1, 2 * b, 2 * b + 1, 2 * b, 2 * b + 1,
		2 * b, 2 * b + 1, 2 * b, 2 * b + 1, 2 * b, 2 * b + 1, 2 * b, 2 * b + 1));
}

/* v, computed by here: GCC would otherwise add up a block's products only
 * at its end, holding them all (32 of them for n = 4: spilled, 10-15% of a
 * batch's time) */
INLINE __m256i here(__m256i v)
{
	__asm__("" : "+x"(v));
	return v;
}

/* ---- the K types: super-blocks of 256, eight registers of 32 bytes ---- */

typedef struct {
	__m256i sc;             /* Q4_K/Q5_K: scale j in 16-bit lanes j and 8 + j;
				 * Q6_K: sub-block i's scale in lane i */
	__m256 mins;            /* Q4_K/Q5_K: sub-block j's dmin m */
} KScales;

INLINE void k_scales(WType t, const uint8_t *b, KScales *k)
{
	if (t == WT_Q6_K) {
		const BlockQ6_K *q = (const BlockQ6_K *)b;
		k->sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)q->scales));
		return;
	}
	uint64_t sc, m;
	k4_bytes(b, &sc, &m);
	k->sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
	k->mins = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m))),
				_mm256_set1_ps(half(b + offsetof(BlockQ4_K, dmin))));
}

/* Elements 32 j .. 32 j + 31 of block b as unsigned bytes (Q6_K's still
 * offset by 32), *sc their pairs' scales in 16-bit lanes. */
INLINE __m256i quants_k(WType t, const uint8_t *b, const KScales *k, int j, __m256i *sc)
{
	const __m256i lo4 = _mm256_set1_epi8(0x0f);
	if (t == WT_Q6_K) {     /* sub-blocks 2j, 2j + 1; ql nibbles, qh pairs of bits */
		const BlockQ6_K *q = (const BlockQ6_K *)b;
		int h = j / 4, g = j % 4;
		__m256i l = _mm256_loadu_si256((const __m256i *)(q->ql + 64 * h + 32 * (g & 1)));
		__m256i hb = _mm256_loadu_si256((const __m256i *)(q->qh + 32 * h));
		l = _mm256_and_si256(g < 2 ? l : _mm256_srli_epi16(l, 4), lo4);
		/* (two calls: the lane selector must be an immediate even at -O0) */
		__m256i half_sc = h ? _mm256_permute2x128_si256(k->sc, k->sc, 0x11)
				    : _mm256_permute2x128_si256(k->sc, k->sc, 0x00);
		*sc = pick16(half_sc, 2 * g, 2 * g + 1);
		return _mm256_or_si256(l, _mm256_and_si256(shift16(hb, 4 - 2 * g),
							   _mm256_set1_epi8(0x30)));
	}
	/* sub-block j: the low nibbles of 32 bytes for even j, the high for odd */
	const uint8_t *qs = b + (t == WT_Q4_K ? offsetof(BlockQ4_K, qs) : offsetof(BlockQ5_K, qs));
	__m256i w = _mm256_loadu_si256((const __m256i *)(qs + 32 * (j / 2)));
	__m256i q = _mm256_and_si256(j % 2 ? _mm256_srli_epi16(w, 4) : w, lo4);
	*sc = pick16(k->sc, j, j);
	if (t == WT_Q5_K) {     /* the fifth bit: bit j of qh */
		__m256i hb = _mm256_loadu_si256((const __m256i *)(b + offsetof(BlockQ5_K, qh)));
		q = _mm256_or_si256(q, _mm256_and_si256(shift16(hb, 4 - j), _mm256_set1_epi8(0x10)));
	}
	return q;
}

/* Register by register of a block, each used by every activation row while
 * it is live (few registers: 16 ymm hold n accumulators and n block sums). */
INLINE void rows_k(WType t, int n, float *Y, int64_t ldy, const Mat *W, const XQ *x, int64_t r0,
		   int64_t r1)
{
	const int bytes = quant_bytes(t);
	const int64_t nb = W->cols / QK_K;
	const int64_t rb = wtype_row_bytes(t, W->cols);   /* not mat_row: a call a row */
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = (const uint8_t *)W->data + r * rb;
		__m256 acc[XQ_MAX];
#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			acc[m] = _mm256_setzero_ps();
		for (int64_t i = 0; i < nb; i++, b += bytes) {
			KScales k;
			__m256i s[XQ_MAX];
			prefetch_ahead(b, bytes);
			k_scales(t, b, &k);
#pragma GCC unroll 32
			for (int m = 0; m < n; m++)
				s[m] = _mm256_setzero_si256();
#pragma GCC unroll 32
			for (int j = 0; j < 8; j++) {
				__m256i sc, q = quants_k(t, b, &k, j, &sc);
#pragma GCC unroll 32
				for (int m = 0; m < n; m++)
					s[m] = here(_mm256_add_epi32(s[m], _mm256_madd_epi16(_mm256_maddubs_epi16(
						q, _mm256_loadu_si256((const __m256i *)(x[m].q + i * QK_K + 32 * j))),
						sc)));
			}
			/* the f32 scale read last: fewer registers live */
			float d = half(b + (t == WT_Q6_K ? offsetof(BlockQ6_K, d) : offsetof(BlockQ4_K, d)));
#pragma GCC unroll 32
			for (int m = 0; m < n; m++) {
				if (t == WT_Q6_K)       /* q - 32: minus 32 Σ sc sum */
					s[m] = _mm256_sub_epi32(s[m], _mm256_slli_epi32(_mm256_madd_epi16(
						k.sc, _mm256_loadu_si256((const __m256i *)(x[m].sum + i * 16))), 5));
				acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[m]),
							 _mm256_set1_ps(x[m].d[i] * d), acc[m]);
				if (t != WT_Q6_K)       /* the mins: Σ dmin m d_x (sum + sum) */
					acc[m] = _mm256_fnmadd_ps(k.mins, _mm256_loadu_ps(x[m].dsum + i * 8),
								  acc[m]);
			}
		}
#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			Y[m * ldy + r] = hsum256(acc[m]);
	}
}

#endif
