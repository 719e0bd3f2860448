/* matmul_avx512.c: AVX-512 F/BW/VL kernels (16 floats a register). Weights
 * are converted to f32 in registers; column tails use masked loads. */
#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/matmul_avx512.h"
#include "kernels/matmul_quant.h"

#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))
#define INLINE static inline __attribute__((always_inline)) TARGET

/* Weights w[k .. k+16) as f32 for the plain types (t a constant: f32, f16
 * or bf16); lanes outside mask m read nothing, are 0. */
INLINE __m512 load16(WType t, const void *w, int64_t k, __mmask16 m)
{
	const uint16_t *h = (const uint16_t *)w + k;
	if (t == WT_BF16)
		return _mm512_castsi512_ps(_mm512_slli_epi32(
			_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, h)), 16));
	if (t == WT_F16)
		return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h));
	return _mm512_maskz_loadu_ps(m, (const float *)w + k);
}

INLINE __mmask16 tail_mask(int64_t n)
{
	return (__mmask16)((1u << n) - 1);
}

/* One row at a time, front to back: the weights are read as one sequential
 * stream (interleaving several rows defeats the hardware prefetcher), and
 * each cache line prefetched VEC_PREFETCH bytes ahead into L1 and
 * VEC_PREFETCH_L2 into L2, as the AVX2 kernel does; x stays in L1. Four
 * accumulators hide the FMA latency. */
INLINE void vec_rows(WType t, float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	const int64_t K = W->cols, K64 = K & ~(int64_t)63;
	const int size = t == WT_F32 ? 4 : 2;
	const __mmask16 all = 0xffff;

	for (int64_t r = r0; r < r1; r++) {
		const void *w = mat_row(W, r);
		__m512 a[4];
#pragma GCC unroll 8
		for (int i = 0; i < 4; i++)
			a[i] = _mm512_setzero_ps();
		for (int64_t k = 0; k < K64; k += 64) {
			prefetch_ahead((const char *)w + k * size, 64 * size);
#pragma GCC unroll 8
			for (int i = 0; i < 4; i++)
				a[i] = _mm512_fmadd_ps(load16(t, w, k + 16 * i, all),
						       _mm512_loadu_ps(x + k + 16 * i), a[i]);
		}
		for (int64_t k = K64; k < K; k += 16) {
			__mmask16 m = K - k >= 16 ? all : tail_mask(K - k);
			a[0] = _mm512_fmadd_ps(load16(t, w, k, m), _mm512_maskz_loadu_ps(m, x + k), a[0]);
		}
		y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]),
							  _mm512_add_ps(a[2], a[3])));
	}
}

TARGET void avx512_vec_f32(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_rows(WT_F32, y, W, x, r0, r1);
}

TARGET void avx512_vec_f16(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_rows(WT_F16, y, W, x, r0, r1);
}

TARGET void avx512_vec_bf16(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_rows(WT_BF16, y, W, x, r0, r1);
}

/* ---- quantised types: each block read once, dequantised in registers ---- */

/* Elements e0 .. e0 + 15 of block b as the integers q of matmul_quant.h. */
INLINE __m512 quants16(WType t, const uint8_t *b, int e0)
{
	QuantBits qb = quant_bits(t, e0);
	__m128i bytes = _mm_loadu_si128((const __m128i *)(b + qb.lo));
	__m512i q;
	if (!qb.nibble)
		return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
	q = _mm512_cvtepu8_epi32(bytes);
	/* a byte's high nibble is all of it shifted; the low one, masked */
	q = qb.shift ? _mm512_srli_epi32(q, qb.shift) : _mm512_and_si512(q, _mm512_set1_epi32(15));
	if (qb.hi >= 0) {
		__m512i h = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + qb.hi)));
		h = _mm512_and_si512(_mm512_srli_epi32(h, qb.hshift), _mm512_set1_epi32(qb.hmask));
		q = _mm512_or_si512(q, _mm512_slli_epi32(h, 4));
	}
	return _mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(qb.bias)));
}

/* Weights e0 .. e0 + 15 of block b, w = q s - o (exact), from the block's
 * scales s and offsets o (quant_scales). */
INLINE __m512 weights16(WType t, const uint8_t *b, int e0, const float *s, const float *o)
{
	return _mm512_fmsub_ps(quants16(t, b, e0), _mm512_set1_ps(s[e0 / quant_group(t)]),
			       _mm512_set1_ps(o[e0 / quant_group(t)]));
}

/* One row at a time, block by block: the scales into scalars, then 16
 * weights at a time times x, four accumulators. */
INLINE void vec_quant(WType t, float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	const int block = quant_block(t), bytes = quant_bytes(t);
	const int64_t nb = W->cols / block;
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = mat_row(W, r);
		__m512 a[4];
#pragma GCC unroll 4
		for (int i = 0; i < 4; i++)
			a[i] = _mm512_setzero_ps();
		for (int64_t k = 0; k < nb; k++, b += bytes) {
			const float *xk = x + k * block;
			float s[16], o[16];
			_mm_prefetch((const char *)b + VEC_PREFETCH, _MM_HINT_T0);
			quant_scales(t, b, s, o);
#pragma GCC unroll 16
			for (int e0 = 0; e0 < block; e0 += 16) {
				a[e0 / 16 % 4] = _mm512_fmadd_ps(weights16(t, b, e0, s, o),
								 _mm512_loadu_ps(xk + e0), a[e0 / 16 % 4]);
			}
		}
		y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]),
							  _mm512_add_ps(a[2], a[3])));
	}
}

TARGET void avx512_vec_q8_0(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q8_0, y, W, x, r0, r1);
}

TARGET void avx512_vec_q4_0(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q4_0, y, W, x, r0, r1);
}

TARGET void avx512_vec_q4_k(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q4_K, y, W, x, r0, r1);
}

TARGET void avx512_vec_q5_k(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q5_K, y, W, x, r0, r1);
}

TARGET void avx512_vec_q6_k(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	vec_quant(WT_Q6_K, y, W, x, r0, r1);
}

INLINE void convert(WType t, float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++) {
		const void *w = mat_row(W, r);
		float *d = dst + (r - r0) * W->cols;
		for (int64_t k = 0; k < W->cols; k += 16) {
			__mmask16 m = W->cols - k >= 16 ? 0xffff : tail_mask(W->cols - k);
			_mm512_mask_storeu_ps(d + k, m, load16(t, w, k, m));
		}
	}
}

/* The quantised types, 16 weights at a time (as vec_quant reads them):
 * prefill's GEMM converts every panel it multiplies, and the plain C
 * dequantisers took a seventh of a Q4_K_M prompt's time. */
INLINE void dequant(WType t, float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	const int block = quant_block(t), bytes = quant_bytes(t);
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *b = mat_row(W, r);
		float *d = dst + (r - r0) * W->cols;
		for (int64_t k = 0; k < W->cols; k += block, b += bytes) {
			float s[16], o[16];
			quant_scales(t, b, s, o);
#pragma GCC unroll 16
			for (int e0 = 0; e0 < block; e0 += 16)
				_mm512_storeu_ps(d + k + e0, weights16(t, b, e0, s, o));
		}
	}
}

TARGET void avx512_to_f32(float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	switch (W->type) {
	case WT_BF16: convert(WT_BF16, dst, W, r0, r1); break;
	case WT_F16: convert(WT_F16, dst, W, r0, r1); break;
	case WT_F32: convert(WT_F32, dst, W, r0, r1); break;
	case WT_Q8_0: dequant(WT_Q8_0, dst, W, r0, r1); break;
	case WT_Q4_0: dequant(WT_Q4_0, dst, W, r0, r1); break;
	case WT_Q4_K: dequant(WT_Q4_K, dst, W, r0, r1); break;
	case WT_Q5_K: dequant(WT_Q5_K, dst, W, r0, r1); break;
	case WT_Q6_K: dequant(WT_Q6_K, dst, W, r0, r1); break;
	case WT_COUNT: break;
	}
}

/* ---- GEMM: f32 weight panels packed k-major, MR x (16 NV) register tiles ---- */

#define MR 8                        /* activation rows per tile */
/* Rows of the panel ahead of the tile that it prefetches: nothing for the
 * packed weights (in cache), but keys and values stream from memory, the
 * values in slices of strided rows the hardware prefetcher does not follow
 * (decode attention at 4K tokens of context twice as fast). */
#define TILE_PREFETCH 16
#define NV (GEMM_PACK_ROWS / 16)    /* 16-row weight groups per tile: 3 */

/* Rows [j0, j1) of W as f32: pack[k * GEMM_PACK_ROWS + i] = W[j0 + i][k],
 * zero past the matrix, for the 16-row groups the tiles read; 16 x 16
 * blocks are converted and transposed in registers. */
INLINE void pack_rows(WType t, float *pack, const Mat *W, int64_t j0, int64_t j1)
{
	const int64_t K = W->cols;
	for (int64_t g = j0; g < j1; g += 16) {
		float *d = pack + (g - j0);
		for (int64_t k0 = 0; k0 < K; k0 += 16) {
			__mmask16 m = K - k0 >= 16 ? 0xffff : tail_mask(K - k0);
			__m512i r[16];
#pragma GCC unroll 16
			for (int i = 0; i < 16; i++)
				r[i] = g + i < j1 ? _mm512_castps_si512(load16(t, mat_row(W, g + i), k0, m))
						  : _mm512_setzero_si512();
			transpose16(r);
			for (int j = 0; j < 16 && k0 + j < K; j++)
				_mm512_store_si512(d + (k0 + j) * GEMM_PACK_ROWS, r[j]);
		}
	}
}

/* The plain types (the table has no gemm_f32 for the quantised ones). */
TARGET static void pack_panel(float *pack, const Mat *W, int64_t j0, int64_t j1)
{
	switch (W->type) {
	case WT_BF16: pack_rows(WT_BF16, pack, W, j0, j1); break;
	case WT_F16: pack_rows(WT_F16, pack, W, j0, j1); break;
	case WT_F32: pack_rows(WT_F32, pack, W, j0, j1); break;
	case WT_Q8_0: case WT_Q4_0: case WT_Q4_K: case WT_Q5_K: case WT_Q6_K: case WT_COUNT:
		break;
	}
}

/* Bytes from the start of a row of B in layout l (kv.h) to column col. */
INLINE int64_t col_bytes(KvLayout l, int64_t col)
{
	switch (l) {
	case KV_F16: case KV_BF16: return 2 * col;
	case KV_Q8_PANEL: return col;
	case KV_Q8_ROWS: return col / QK8_0 * (int64_t)sizeof(BlockQ8_0) + 2 + col % QK8_0;
	case KV_F32: break;
	}
	return 4 * col;
}

/* B(k, col .. col + 16) as f32, col a multiple of 16, row k at P + k * ldp
 * bytes, K rows (kv.h); lanes outside mask m read nothing, are 0. */
INLINE __m512 loadb(KvLayout l, const char *P, int64_t ldp, int64_t K, int64_t k, int64_t col,
		    __mmask16 m)
{
	const char *r = P + k * ldp + col_bytes(l, col);
	switch (l) {
	case KV_F16:
		return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, r));
	case KV_BF16:
		return _mm512_castsi512_ps(_mm512_slli_epi32(
			_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, r)), 16));
	case KV_Q8_PANEL: {     /* the scales of block k / 32 follow the K rows */
		const char *sc = P + K * ldp + k / QK8_0 * 2 * ldp + 2 * col;
		return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, r))),
				     _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, sc)));
	}
	case KV_Q8_ROWS: {      /* 16 quants of one block; its scale before them */
		uint16_t d;
		if (!m)         /* a masked tail past the row: no block there */
			return _mm512_setzero_ps();
		memcpy(&d, r - 2 - col % QK8_0, 2);
		return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, r))),
				     _mm512_cvtph_ps(_mm256_set1_epi16((short)d)));
	}
	case KV_F32:
		break;
	}
	return _mm512_maskz_loadu_ps(m, r);
}

/* Y[m][v * 16 + lane] = Σ_k X[m][k] B(k, c0 + v * 16 + lane) for m < mr,
 * v < nv, k < K: X rows ldx floats apart, B in layout l with rows ldp bytes
 * apart (a packed panel, the keys' panels, or the values' rows in place);
 * cols: valid columns of the tile, the loads and stores past them masked. */
INLINE void tile(KvLayout l, int mr, int nv, float *Y, int64_t ldy, const char *P, int64_t ldp,
		 int64_t c0, const float *X, int64_t ldx, int64_t K, int64_t cols)
{
	__m512 acc[MR][NV];
	__mmask16 mask[NV];
#pragma GCC unroll 8
	for (int v = 0; v < nv; v++) {
		int64_t left = cols - v * 16;
		mask[v] = left >= 16 ? 0xffff : left > 0 ? tail_mask(left) : 0;
	}
#pragma GCC unroll 8
	for (int m = 0; m < mr; m++)
#pragma GCC unroll 8
		for (int v = 0; v < nv; v++)
			acc[m][v] = _mm512_setzero_ps();
	for (int64_t k = 0; k < K; k++) {
		__m512 w[NV];
#pragma GCC unroll 8
		for (int v = 0; v < nv; v++) {
			_mm_prefetch(P + (k + TILE_PREFETCH) * ldp + col_bytes(l, c0 + v * 16), _MM_HINT_T0);
			w[v] = loadb(l, P, ldp, K, k, c0 + v * 16, mask[v]);
		}
#pragma GCC unroll 8
		for (int m = 0; m < mr; m++) {
			__m512 xm = _mm512_set1_ps(X[m * ldx + k]);
#pragma GCC unroll 8
			for (int v = 0; v < nv; v++)
				acc[m][v] = _mm512_fmadd_ps(w[v], xm, acc[m][v]);
		}
	}
#pragma GCC unroll 8
	for (int v = 0; v < nv; v++)
#pragma GCC unroll 8
		for (int m = 0; m < mr; m++)
			_mm512_mask_storeu_ps(Y + m * ldy + v * 16, mask[v], acc[m][v]);
}

/* One instance per (layout, mr, nv): constant trip counts keep acc in
 * registers, and the conversion is chosen outside the loops. The cache's
 * other types take the three vectors of a whole panel always (a narrower
 * tail is masked: its loads read nothing), a third of the instances: the
 * sanitised fuzz build of this file took minutes of CPU with them all. */
typedef void TileFn(int mr, int nv, float *Y, int64_t ldy, const char *P, int64_t ldp,
		    int64_t c0, const float *X, int64_t ldx, int64_t K, int64_t cols);
#define TILE(l, mr, nv) case (mr) * 4 + (nv): tile(l, mr, nv, Y, ldy, P, ldp, c0, X, ldx, K, cols); break;
#define TILES(l, mr) TILE(l, mr, 1) TILE(l, mr, 2) TILE(l, mr, 3)
#define TILE_FN(name)                                                                         \
	TARGET static void name(int mr, int nv, float *Y, int64_t ldy, const char *P,         \
				int64_t ldp, int64_t c0, const float *X, int64_t ldx, int64_t K, \
				int64_t cols)
#define TILE_ANY(name, l)                                                                     \
	TILE_FN(name)                                                                         \
	{                                                                                     \
		switch (mr * 4 + nv) {                                                        \
		TILES(l, 1) TILES(l, 2) TILES(l, 3) TILES(l, 4)                               \
		TILES(l, 5) TILES(l, 6) TILES(l, 7) TILES(l, 8)                               \
		}                                                                             \
	}
#define TILE_PANEL(name, l)                                                                   \
	TILE_FN(name)                                                                         \
	{                                                                                     \
		switch (mr * 4 + (nv = NV)) {                                                 \
		TILE(l, 1, NV) TILE(l, 2, NV) TILE(l, 3, NV) TILE(l, 4, NV)                   \
		TILE(l, 5, NV) TILE(l, 6, NV) TILE(l, 7, NV) TILE(l, 8, NV)                   \
		}                                                                             \
	}
TILE_ANY(tile_f32, KV_F32)
TILE_PANEL(tile_f16, KV_F16)
TILE_PANEL(tile_bf16, KV_BF16)
TILE_PANEL(tile_q8_panel, KV_Q8_PANEL)
TILE_PANEL(tile_q8_rows, KV_Q8_ROWS)

/* in the order of KvLayout */
static TileFn *const tiles[] = { tile_f32, tile_f16, tile_bf16, tile_q8_panel, tile_q8_rows };

/* Y[m][c] for m < M, c < cols <= GEMM_PACK_ROWS: every row of X against
 * columns c0.. of B, MR rows at a time. */
TARGET static void panel_rows(KvLayout l, float *Y, int64_t ldy, const char *P, int64_t ldp,
			      int64_t c0, const float *X, int64_t ldx, int M, int64_t K,
			      int64_t cols)
{
	int nv = (int)((cols + 15) / 16);
	for (int m0 = 0; m0 < M; m0 += MR) {
		int mr = M - m0 < MR ? M - m0 : MR;
		tiles[l](mr, nv, Y + m0 * ldy, ldy, P, ldp, c0, X + m0 * ldx, ldx, K, cols);
	}
}

TARGET void avx512_gemm_f32(float *Y, int64_t ldy, const Mat *W, const float *X, int n,
			    int64_t r0, int64_t r1, void *pack)
{
	for (int64_t j0 = r0; j0 < r1; j0 += GEMM_PACK_ROWS) {
		int64_t j1 = j0 + GEMM_PACK_ROWS < r1 ? j0 + GEMM_PACK_ROWS : r1;
		pack_panel(pack, W, j0, j1);
		panel_rows(KV_F32, Y + j0, ldy, pack, GEMM_PACK_ROWS * sizeof(float), 0, X, W->cols,
			   n, W->cols, j1 - j0);
	}
}

/* The quantised types: each panel's rows dequantised exactly into
 * the second half of pack, then packed and multiplied as f32. */
TARGET void avx512_gemm_quant(float *Y, int64_t ldy, const Mat *W, const float *X, int n,
			      int64_t r0, int64_t r1, void *pack)
{
	float *rows = (float *)pack + GEMM_PACK_ROWS * W->cols;
	for (int64_t j0 = r0; j0 < r1; j0 += GEMM_PACK_ROWS) {
		int64_t j1 = j0 + GEMM_PACK_ROWS < r1 ? j0 + GEMM_PACK_ROWS : r1;
		Mat F = { .type = WT_F32, .data = rows, .rows = j1 - j0, .cols = W->cols };
		avx512_to_f32(rows, W, j0, j1);
		pack_rows(WT_F32, pack, &F, 0, j1 - j0);
		panel_rows(KV_F32, Y + j0, ldy, pack, GEMM_PACK_ROWS * sizeof(float), 0, X, W->cols,
			   n, W->cols, j1 - j0);
	}
}

TARGET void avx512_gemm_np(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
			   KvLayout bl, int64_t pstride, int M, int N, int K)
{
	for (int64_t j0 = 0; j0 < N; j0 += GEMM_PANEL)
		panel_rows(bl, Y + j0, ldy, (const char *)B + j0 / GEMM_PANEL * pstride,
			   kv_panel_row_bytes(bl), 0, A, lda, M, K,
			   N - j0 < GEMM_PANEL ? N - j0 : GEMM_PANEL);
}

/* B itself taken GEMM_PANEL columns at a time */
TARGET void avx512_gemm_nn(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
			   KvLayout bl, int64_t ldb, int M, int N, int K)
{
	for (int64_t j0 = 0; j0 < N; j0 += GEMM_PANEL)
		panel_rows(bl, Y + j0, ldy, B, ldb, j0, A, lda, M, K,
			   N - j0 < GEMM_PANEL ? N - j0 : GEMM_PANEL);
}

const Kernels kernels_avx512 = {
	AVX512_TABLE,
	AVX512_XQ(avx512_xq_),
};
#endif
