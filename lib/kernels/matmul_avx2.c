/* matmul_avx2.c: AVX2 + FMA + F16C kernels (8 floats a register). Weights
 * are converted to f32 in registers, never in memory. */
#include "kernels/kv.h"
#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels/matmul_quant.h"

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline)) TARGET

/* Eight weights from w + k as f32, for the plain types (t a constant: f32,
 * f16 or bf16; the quantised types have kernels of their own). */
INLINE __m256 load8(WType t, const void *w, int64_t k)
{
	if (t == WT_BF16)
		return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(
			_mm_loadu_si128((const __m128i *)((const uint16_t *)w + k))), 16));
	if (t == WT_F16)
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + k)));
	return _mm256_loadu_ps((const float *)w + k);
}

/* One weight, for the tails. */
INLINE float load1(WType t, const void *w, int64_t k)
{
	if (t == WT_BF16)
		return bf16_to_f32(((const uint16_t *)w)[k]);
	if (t == WT_F16)
		return f16_to_f32(((const uint16_t *)w)[k]);
	return ((const float *)w)[k];
}

INLINE float hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* One row at a time, front to back: the weights are read as one sequential
 * stream (interleaving several rows defeats the hardware prefetcher), and
 * prefetched VEC_PREFETCH bytes ahead into L1 and VEC_PREFETCH_L2 into L2,
 * which the hardware alone leaves short: bf16 decode of the 0.3B went from
 * 33 to 47 tok/s on 2 threads. x stays in L1. Four accumulators hide the
 * FMA latency. */
INLINE void vec_rows(WType t, float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	const int64_t K = W->cols, K32 = K & ~(int64_t)31;
	const int size = t == WT_F32 ? 4 : 2;

	for (int64_t r = r0; r < r1; r++) {
		const void *w = mat_row(W, r);
		__m256 a[4];
		int64_t k = 0;
#pragma GCC unroll 8
		for (int i = 0; i < 4; i++)
			a[i] = _mm256_setzero_ps();
		for (; k < K32; k += 32) {
			prefetch_ahead((const char *)w + k * size, 32 * size);
#pragma GCC unroll 8
			for (int i = 0; i < 4; i++)
				a[i] = _mm256_fmadd_ps(load8(t, w, k + 8 * i),
						       _mm256_loadu_ps(x + k + 8 * i), a[i]);
		}
		for (; k + 8 <= K; k += 8)
			a[0] = _mm256_fmadd_ps(load8(t, w, k), _mm256_loadu_ps(x + k), a[0]);
		float s = hsum(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
		for (; k < K; k++)
			s += load1(t, w, k) * x[k];
		y[r] = s;
	}
}

/* One instance per plain type. */
TARGET static void vec_f32(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_rows(WT_F32, y, W, x, r0, r1);
}

TARGET static void vec_f16(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_rows(WT_F16, y, W, x, r0, r1);
}

TARGET static void vec_bf16(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_rows(WT_BF16, y, W, x, r0, r1);
}

/* ---- quantised types: each block read once, dequantised in registers ---- */

/* Elements e0 .. e0 + 7 of block b as the integers q of matmul_quant.h. */
INLINE __m256 quants8(WType t, const uint8_t *b, int e0)
{
	QuantBits qb = quant_bits(t, e0);
	__m128i bytes = _mm_loadl_epi64((const __m128i *)(b + qb.lo));
	__m256i q;
	if (!qb.nibble)
		return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
	q = _mm256_cvtepu8_epi32(bytes);
	/* a byte's high nibble is all of it shifted; the low one, masked */
	q = qb.shift ? _mm256_srli_epi32(q, qb.shift) : _mm256_and_si256(q, _mm256_set1_epi32(15));
	if (qb.hi >= 0) {
		__m256i h = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b + qb.hi)));
		h = _mm256_and_si256(_mm256_srli_epi32(h, qb.hshift), _mm256_set1_epi32(qb.hmask));
		q = _mm256_or_si256(q, _mm256_slli_epi32(h, 4));
	}
	return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, _mm256_set1_epi32(qb.bias)));
}

/* One row at a time, block by block: the scales into scalars, then 8
 * weights at a time w = q s - o (exact) times x, four accumulators. */
INLINE void vec_quant(WType t, float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	const int block = quant_block(t), bytes = quant_bytes(t);
	const int64_t nb = W->cols / block;
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = mat_row(W, r);
		__m256 a[4];
#pragma GCC unroll 4
		for (int i = 0; i < 4; i++)
			a[i] = _mm256_setzero_ps();
		for (int64_t k = 0; k < nb; k++, b += bytes) {
			const float *xk = x + k * block;
			float s[16], o[16];
			quant_scales(t, b, s, o);
#pragma GCC unroll 32
			for (int e0 = 0; e0 < block; e0 += 8) {
				__m256 w = _mm256_fmsub_ps(quants8(t, b, e0), _mm256_set1_ps(s[e0 / quant_group(t)]),
							   _mm256_set1_ps(o[e0 / quant_group(t)]));
				a[e0 / 8 % 4] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xk + e0), a[e0 / 8 % 4]);
			}
		}
		y[r] = hsum(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
	}
}

TARGET static void vec_q8_0(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q8_0, y, W, x, r0, r1);
}

TARGET static void vec_q4_0(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q4_0, y, W, x, r0, r1);
}

TARGET static void vec_q4_k(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q4_K, y, W, x, r0, r1);
}

TARGET static void vec_q5_k(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q5_K, y, W, x, r0, r1);
}

TARGET static void vec_q6_k(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q6_K, y, W, x, r0, r1);
}

INLINE void convert(WType t, float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++) {
		const void *w = mat_row(W, r);
		float *d = dst + (r - r0) * W->cols;
		int64_t k = 0;
		for (; k + 8 <= W->cols; k += 8)
			_mm256_storeu_ps(d + k, load8(t, w, k));
		for (; k < W->cols; k++)
			d[k] = load1(t, w, k);
	}
}

TARGET static void to_f32(float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	convert(WT_F32, dst, W, r0, r1);
}

TARGET static void f16_to_f32s(float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	convert(WT_F16, dst, W, r0, r1);
}

TARGET static void bf16_to_f32s(float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	convert(WT_BF16, dst, W, r0, r1);
}

/* ---- the attention's products on f16, bf16 and q8_0 keys and values ---- */

#define AMR 4   /* rows of A per tile: 4 x 2 accumulators, 2 loads, 1 broadcast */

/* B(k, col .. col + 8) as f32 (kv.h layouts), row k at P + k * ldp bytes, K
 * rows; fewer than 8 valid columns (a tail) one at a time, the rest 0. */
INLINE __m256 loadb(KvLayout l, const char *P, int64_t ldp, int64_t K, int64_t k, int64_t col,
		    int64_t valid)
{
	const char *r = P + k * ldp;
	if (valid < 8) {
		float t[8] = { 0 };
		for (int i = 0; i < valid; i++)
			t[i] = kv_elem(l, P, ldp, K, k, col + i);
		return _mm256_loadu_ps(t);
	}
	switch (l) {
	case KV_F16:
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 2 * col)));
	case KV_BF16:
		return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(
			_mm_loadu_si128((const __m128i *)(r + 2 * col))), 16));
	case KV_Q8_PANEL: {     /* the scales of block k / 32 follow the K rows */
		const char *sc = P + K * ldp + k / QK8_0 * 2 * ldp + 2 * col;
		return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
					     _mm_loadl_epi64((const __m128i *)(r + col)))),
				     _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)sc)));
	}
	case KV_Q8_ROWS: {      /* 8 quants of one block; its scale before them */
		const char *b = r + col / QK8_0 * (int64_t)sizeof(BlockQ8_0);
		uint16_t d;
		memcpy(&d, b, 2);
		return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
					     _mm_loadl_epi64((const __m128i *)(b + 2 + col % QK8_0)))),
				     _mm256_set1_ps(_cvtsh_ss(d)));
	}
	case KV_F32:
		break;
	}
	return _mm256_loadu_ps((const float *)(r + 4 * col));
}

/* Y[m][c] = Σ_k X[m][k] B(k, c0 + c) for m < mr, c < cols <= 16. */
INLINE void tile(KvLayout l, int mr, float *Y, int64_t ldy, const char *P, int64_t ldp,
		 int64_t c0, const float *X, int64_t ldx, int64_t K, int64_t cols)
{
	__m256 acc[AMR][2];
#pragma GCC unroll 4
	for (int m = 0; m < mr; m++)
		acc[m][0] = acc[m][1] = _mm256_setzero_ps();
	for (int64_t k = 0; k < K; k++) {
		__m256 w0 = loadb(l, P, ldp, K, k, c0, cols);
		__m256 w1 = cols > 8 ? loadb(l, P, ldp, K, k, c0 + 8, cols - 8) : _mm256_setzero_ps();
#pragma GCC unroll 4
		for (int m = 0; m < mr; m++) {
			__m256 x = _mm256_broadcast_ss(X + m * ldx + k);
			acc[m][0] = _mm256_fmadd_ps(w0, x, acc[m][0]);
			acc[m][1] = _mm256_fmadd_ps(w1, x, acc[m][1]);
		}
	}
	for (int m = 0; m < mr; m++) {
		float t[16];
		_mm256_storeu_ps(t, acc[m][0]);
		_mm256_storeu_ps(t + 8, acc[m][1]);
		memcpy(Y + m * ldy, t, (size_t)cols * sizeof *t);
	}
}

typedef void TileFn(int mr, float *Y, int64_t ldy, const char *P, int64_t ldp, int64_t c0,
		    const float *X, int64_t ldx, int64_t K, int64_t cols);
#define TILE(l, mr) case mr: tile(l, mr, Y, ldy, P, ldp, c0, X, ldx, K, cols); break;
#define TILE_ANY(name, l)                                                                     \
	TARGET static void name(int mr, float *Y, int64_t ldy, const char *P, int64_t ldp,    \
				int64_t c0, const float *X, int64_t ldx, int64_t K, int64_t cols) \
	{                                                                                     \
		switch (mr) { TILE(l, 1) TILE(l, 2) TILE(l, 3) TILE(l, 4) }                   \
	}
TILE_ANY(tile_f32, KV_F32)
TILE_ANY(tile_f16, KV_F16)
TILE_ANY(tile_bf16, KV_BF16)
TILE_ANY(tile_q8_panel, KV_Q8_PANEL)
TILE_ANY(tile_q8_rows, KV_Q8_ROWS)

/* in the order of KvLayout */
static TileFn *const tiles[] = { tile_f32, tile_f16, tile_bf16, tile_q8_panel, tile_q8_rows };

/* Y[m][c] for m < M, c < cols: columns c0.. of B, 16 at a time */
TARGET static void columns(KvLayout l, float *Y, int64_t ldy, const char *P, int64_t ldp,
			   int64_t c0, const float *X, int64_t ldx, int M, int64_t K, int64_t cols)
{
	for (int64_t c = 0; c < cols; c += 16)
		for (int m0 = 0; m0 < M; m0 += AMR)
			tiles[l](M - m0 < AMR ? M - m0 : AMR, Y + m0 * ldy + c, ldy, P, ldp, c0 + c,
				 X + m0 * ldx, ldx, K, cols - c < 16 ? cols - c : 16);
}

TARGET static void att_np(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
			  KvLayout bl, int64_t pstride, int M, int N, int K)
{
	for (int64_t j0 = 0; j0 < N; j0 += GEMM_PANEL)
		columns(bl, Y + j0, ldy, (const char *)B + j0 / GEMM_PANEL * pstride,
			kv_panel_row_bytes(bl), 0, A, lda, M, K,
			N - j0 < GEMM_PANEL ? N - j0 : GEMM_PANEL);
}

TARGET static void att_nn(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
			   KvLayout bl, int64_t ldb, int M, int N, int K)
{
	columns(bl, Y, ldy, B, ldb, 0, A, lda, M, K, N);
}

const Kernels kernels_avx2 = {
	.vec = { [WT_F32] = vec_f32, [WT_F16] = vec_f16, [WT_BF16] = vec_bf16,
		 [WT_Q8_0] = vec_q8_0, [WT_Q4_0] = vec_q4_0, [WT_Q4_K] = vec_q4_k,
		 [WT_Q5_K] = vec_q5_k, [WT_Q6_K] = vec_q6_k },
	.to_f32 = { [WT_F32] = to_f32, [WT_F16] = f16_to_f32s, [WT_BF16] = bf16_to_f32s,
		    [WT_Q8_0] = portable_to_f32, [WT_Q4_0] = portable_to_f32,
		    [WT_Q4_K] = portable_to_f32, [WT_Q5_K] = portable_to_f32,
		    [WT_Q6_K] = portable_to_f32 },
	.vec_xq = { [WT_Q8_0] = avx2_xq_q8_0, [WT_Q4_0] = avx2_xq_q4_0,
		    [WT_Q4_K] = avx2_xq_q4_k, [WT_Q5_K] = avx2_xq_q5_k,
		    [WT_Q6_K] = avx2_xq_q6_k },
	.gemm_np = att_np,
	.gemm_nn = att_nn,
};
#endif
