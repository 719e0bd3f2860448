/* matmul_avx2_xq.c: the integer products on 8-bit activations (xq.h)
 * with AVX2 (FMA and F16C for the scaling, nothing of AVX-512). The
 * scheme of matmul_avx512_xq.c on 256-bit registers: a weight block's
 * integers are unpacked to unsigned bytes once, 32 a register, and used by
 * every activation row: vpmaddubsw (weights' unsigned bytes times the
 * activations' signed ones, pairs summed in int16: at most 2 * 63 * 127,
 * never saturating), vpmaddwd by the sub-blocks' integer scales into
 * int32, one f32 multiply-add a block. The weights' offsets (Q4_0's 8,
 * Q6_K's 32, the K types' mins) are products of the activations' sums of
 * 16. Integer sums are exact, so these agree with portable_vec_xq up to
 * the f32 scaling's rounding; the operations on each (row, activation
 * row) are the same whatever n. */
#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/matmul_quant.h"

_Static_assert(XQ_MAX == 4, "XQ_FN has a case for each n up to XQ_MAX");

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline)) TARGET

INLINE float hsum(__m256 v)
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

/* Every cache line of the block VEC_PREFETCH bytes ahead (as the AVX-512
 * kernels do: one a block leaves the K types' streams short). */
INLINE void prefetch_block(const uint8_t *b, int bytes)
{
	#pragma GCC unroll 4
	for (int p = 0; p < bytes; p += 64)
		_mm_prefetch((const char *)b + VEC_PREFETCH + p, _MM_HINT_T0);
}

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
	/* the 6-bit scales and mins (the layout of scale_min_k4), three words
	 * read one by one: a 12-byte memcpy would go through the stack */
	const uint8_t *p = b + offsetof(BlockQ4_K, scales);
	uint32_t u0, u1, u2;
	memcpy(&u0, p, 4);
	memcpy(&u1, p + 4, 4);
	memcpy(&u2, p + 8, 4);
	uint64_t sc = (uint64_t)(u0 & 0x3f3f3f3fu) |
		      (uint64_t)((u2 & 0x0f0f0f0fu) | (u0 >> 2 & 0x30303030u)) << 32;
	uint64_t m = (uint64_t)(u1 & 0x3f3f3f3fu) |
		     (uint64_t)((u2 >> 4 & 0x0f0f0f0fu) | (u1 >> 2 & 0x30303030u)) << 32;
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
		*sc = pick16(_mm256_permute2x128_si256(k->sc, k->sc, h ? 0x11 : 0x00), 2 * g,
			     2 * g + 1);
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
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = mat_row(W, r);
		__m256 acc[XQ_MAX];
		#pragma GCC unroll 32
		for (int m = 0; m < n; m++)
			acc[m] = _mm256_setzero_ps();
		for (int64_t i = 0; i < nb; i++, b += bytes) {
			KScales k;
			__m256i s[XQ_MAX];
			prefetch_block(b, bytes);
			k_scales(t, b, &k);
			#pragma GCC unroll 32
			for (int m = 0; m < n; m++)
				s[m] = _mm256_setzero_si256();
			#pragma GCC unroll 32
			for (int j = 0; j < 8; j++) {
				__m256i sc, q = quants_k(t, b, &k, j, &sc);
				#pragma GCC unroll 32
				for (int m = 0; m < n; m++)
					s[m] = _mm256_add_epi32(s[m], _mm256_madd_epi16(_mm256_maddubs_epi16(
						q, _mm256_loadu_si256((const __m256i *)(x[m].q + i * QK_K + 32 * j))),
						sc));
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
			Y[m * ldy + r] = hsum(acc[m]);
	}
}

/* ---- Q8_0 and Q4_0: blocks of 32, one register of bytes ---- */

/* Block i (at b) times each activation row, into acc[m]. */
INLINE void block_32(WType t, int n, const uint8_t *b, const XQ *x, int64_t i, __m256 *acc)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i q, aq = _mm256_setzero_si256();
	prefetch_block(b, quant_bytes(t));
	if (t == WT_Q8_0) {
		q = _mm256_loadu_si256((const __m256i *)(b + 2));
		aq = _mm256_abs_epi8(q);
	} else {                /* elements 0-15 the low nibbles, 16-31 the high */
		__m128i p = _mm_loadu_si128((const __m128i *)(b + 2));
		q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(p, 4), p), _mm256_set1_epi8(0x0f));
	}
	float d = half(b);
	#pragma GCC unroll 32
	for (int m = 0; m < n; m++) {
		__m256i xv = _mm256_loadu_si256((const __m256i *)(x[m].q + 32 * i)), s;
		if (t == WT_Q8_0) {     /* |q| times x with q's sign */
			s = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, _mm256_sign_epi8(xv, q)), ones);
		} else {                /* q - 8: minus 8 Σ x */
			s = _mm256_madd_epi16(_mm256_maddubs_epi16(q, xv), ones);
			s = _mm256_sub_epi32(s, _mm256_zextsi128_si256(_mm_cvtsi32_si128(
				8 * (x[m].sum[2 * i] + x[m].sum[2 * i + 1]))));
		}
		acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * x[m].d[i]), acc[m]);
	}
}

/* Even and odd blocks into two accumulators: with one, a block would wait
 * for the last one's multiply-add (4 cycles, more than the rest takes). */
INLINE void rows_32(WType t, int n, float *Y, int64_t ldy, const Mat *W, const XQ *x, int64_t r0,
		    int64_t r1)
{
	const int bytes = quant_bytes(t);
	const int64_t nb = W->cols / 32;
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = mat_row(W, r);
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
			Y[m * ldy + r] = hsum(_mm256_add_ps(acc[0][m], acc[1][m]));
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
XQ_FN(avx2_xq_q8_0, WT_Q8_0, rows_32)
XQ_FN(avx2_xq_q4_0, WT_Q4_0, rows_32)
XQ_FN(avx2_xq_q4_k, WT_Q4_K, rows_k)
XQ_FN(avx2_xq_q5_k, WT_Q5_K, rows_k)
XQ_FN(avx2_xq_q6_k, WT_Q6_K, rows_k)
#endif
