/* matmul_avx512bf16.c: AVX-512 with BF16 dot products (vdpbf16ps): bf16
 * weights times activations rounded to bf16, exact products summed in f32.
 * vdpbf16ps works on pairs: lane i of the sum gets a[2i]b[2i] + a[2i+1]b[2i+1]. */
#include "matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "matmul_avx512.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define INLINE static inline __attribute__((always_inline)) TARGET

#define MR 8                        /* activation rows per GEMM tile */
#define NV (GEMM_PACK_ROWS / 16)    /* 16-row weight groups per tile: 3 */

INLINE __mmask32 tail_mask(int64_t n)
{
	return n >= 32 ? 0xffffffffu : (__mmask32)((1u << n) - 1);
}

INLINE __m512bh load_bh(const uint16_t *p, __mmask32 m)
{
	return (__m512bh)_mm512_maskz_loadu_epi16(m, p);
}

TARGET static void round_bf16(uint16_t *xb, const float *x, int64_t cols, int64_t kp)
{
	int64_t k = 0;
	for (; k + 32 <= cols; k += 32)
		_mm512_storeu_si512(xb + k, (__m512i)_mm512_cvtne2ps_pbh(
			_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k)));
	portable_round_bf16(xb + k, x + k, cols - k, kp - k);
}

/* ---- matrix-vector: one row at a time (one sequential stream for the
 * prefetcher, helped by VEC_PREFETCH), 32 weights a load, four
 * accumulators ---- */

TARGET static void vec_bf16(float *y, const Mat *W, const uint16_t *xb, int64_t r0, int64_t r1)
{
	const int64_t K = W->cols, K128 = K & ~(int64_t)127;

	for (int64_t r = r0; r < r1; r++) {
		const uint16_t *w = (const uint16_t *)W->data + r * K;
		__m512 a[4];
#pragma GCC unroll 8
		for (int i = 0; i < 4; i++)
			a[i] = _mm512_setzero_ps();
		for (int64_t k = 0; k < K128; k += 128)
#pragma GCC unroll 8
			for (int i = 0; i < 4; i++) {
				_mm_prefetch((const char *)(w + k + 32 * i) + VEC_PREFETCH, _MM_HINT_T0);
				a[i] = _mm512_dpbf16_ps(a[i], load_bh(w + k + 32 * i, 0xffffffffu),
							load_bh(xb + k + 32 * i, 0xffffffffu));
			}
		for (int64_t k = K128; k < K; k += 32) {
			__mmask32 m = tail_mask(K - k);
			a[0] = _mm512_dpbf16_ps(a[0], load_bh(w + k, m), load_bh(xb + k, m));
		}
		y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]),
							  _mm512_add_ps(a[2], a[3])));
	}
}

/* ---- GEMM: packed weight panels, MR x (16 NV) register tiles ---- */

/* Rows [j0, j1) of W as pairs: pack[(p * GEMM_PACK_ROWS + i) * 2 + h] =
 * W[j0 + i][2p + h], zero past the matrix, for the 16-row groups the tiles
 * read. 16 x 16 blocks of pairs are transposed in registers. */
TARGET static void pack_panel(uint16_t *pack, const Mat *W, int64_t j0, int64_t j1)
{
	const uint16_t *w = W->data;
	const int64_t K = W->cols, half = K / 2;
	uint32_t *dst = (uint32_t *)pack;

	for (int64_t g = j0; g < j1; g += 16) {
		uint32_t *d = dst + (g - j0);
		for (int64_t p0 = 0; p0 < half; p0 += 16) {
			__mmask16 m = half - p0 >= 16 ? 0xffff : (__mmask16)((1u << (half - p0)) - 1);
			__m512i r[16];
#pragma GCC unroll 16
			for (int i = 0; i < 16; i++)
				r[i] = g + i < j1 ? _mm512_maskz_loadu_epi32(m, w + (g + i) * K + 2 * p0)
						  : _mm512_setzero_si512();
			transpose16(r);
			for (int j = 0; j < 16 && p0 + j < half; j++)
				_mm512_store_si512(d + (p0 + j) * GEMM_PACK_ROWS, r[j]);
		}
		if (K & 1)
			for (int i = 0; i < 16; i++)
				d[half * GEMM_PACK_ROWS + i] = g + i < j1 ? w[(g + i) * K + K - 1] : 0;
	}
}

/* Y[m][v * 16 + lane] for m < mr, v < nv; cols: valid columns of the tile. */
INLINE void tile(int mr, int nv, float *Y, int64_t ldy, const uint16_t *pack,
		 const uint16_t *Xb, int64_t kp, int64_t cols)
{
	__m512 acc[MR][NV];
	#pragma GCC unroll 8
	for (int m = 0; m < mr; m++)
		#pragma GCC unroll 8
		for (int v = 0; v < nv; v++)
			acc[m][v] = _mm512_setzero_ps();
	for (int64_t p = 0; p < kp / 2; p++) {
		__m512bh w[NV];
		#pragma GCC unroll 8
		for (int v = 0; v < nv; v++)
			w[v] = (__m512bh)_mm512_load_si512(pack + (p * GEMM_PACK_ROWS + v * 16) * 2);
		#pragma GCC unroll 8
		for (int m = 0; m < mr; m++) {
			int32_t pair;
			memcpy(&pair, Xb + m * kp + 2 * p, 4);
			__m512bh xm = (__m512bh)_mm512_set1_epi32(pair);
			#pragma GCC unroll 8
			for (int v = 0; v < nv; v++)
				acc[m][v] = _mm512_dpbf16_ps(acc[m][v], w[v], xm);
		}
	}
	#pragma GCC unroll 8
	for (int v = 0; v < nv; v++) {
		int64_t left = cols - v * 16;
		__mmask16 mask = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		#pragma GCC unroll 8
		for (int m = 0; m < mr; m++)
			_mm512_mask_storeu_ps(Y + m * ldy + v * 16, mask, acc[m][v]);
	}
}

/* One instance per (mr, nv): constant trip counts keep acc in registers. */
#define TILE(mr, nv) case (mr) * 4 + (nv): \
	tile(mr, nv, Y, ldy, pack, Xb, kp, cols); break;
#define TILES(mr) TILE(mr, 1) TILE(mr, 2) TILE(mr, 3)

TARGET static void tile_any(int mr, int nv, float *Y, int64_t ldy, const uint16_t *pack,
			    const uint16_t *Xb, int64_t kp, int64_t cols)
{
	switch (mr * 4 + nv) {
	TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6) TILES(7) TILES(8)
	}
}

TARGET static void gemm_bf16(float *Y, int64_t ldy, const Mat *W, const uint16_t *Xb,
			     int64_t kp, int n, int64_t r0, int64_t r1, void *pack)
{
	for (int64_t j0 = r0; j0 < r1; j0 += GEMM_PACK_ROWS) {
		int64_t j1 = j0 + GEMM_PACK_ROWS < r1 ? j0 + GEMM_PACK_ROWS : r1;
		int nv = (int)((j1 - j0 + 15) / 16);
		pack_panel(pack, W, j0, j1);
		for (int m0 = 0; m0 < n; m0 += MR) {
			int mr = n - m0 < MR ? n - m0 : MR;
			tile_any(mr, nv, Y + m0 * ldy + j0, ldy, pack, Xb + m0 * kp, kp, j1 - j0);
		}
	}
}

const Kernels kernels_avx512bf16 = {
	.vec_f32 = avx512_vec_f32,
	.vec_bf16 = vec_bf16,
	.round_bf16 = round_bf16,
	.to_f32 = avx512_to_f32,
	.gemm_f32 = avx512_gemm_f32,
	.gemm_bf16 = gemm_bf16,
};
#endif
