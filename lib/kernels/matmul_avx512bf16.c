/* matmul_avx512bf16.c: AVX-512 with BF16 dot products (vdpbf16ps) for the
 * GEMM of PREC_BF16: bf16 weights times activations rounded to bf16, exact
 * products summed in f32. The f32 kernels are the AVX-512 ones.
 * vdpbf16ps works on pairs: lane i of the sum gets a[2i]b[2i] + a[2i+1]b[2i+1]. */
#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels/matmul_avx512.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define INLINE static inline __attribute__((always_inline)) TARGET

#define RW GEMM_BF16_ROWS  /* weight rows per tile: their pairs are broadcast */
#define GV 3               /* 16-row groups of activations per tile */

/* Rows [0, rows) (rows <= 16) of X (cols each) as one group of the packed
 * activations: xp[p * 16 + i] = the pair (x[i][2p], x[i][2p + 1]) rounded
 * to bf16, zero past the rows and columns, for p < kp / 2. 16 x 16 blocks
 * of pairs are transposed in registers. */
TARGET static void pack_x(uint32_t *xp, const float *X, int64_t cols, int rows, int64_t kp)
{
	uint16_t row[32];
	for (int64_t k0 = 0; k0 < kp; k0 += 32) {
		__m512i r[16];
		for (int i = 0; i < 16; i++) {
			const float *x = X + i * cols + k0;
			if (i >= rows)
				r[i] = _mm512_setzero_si512();
			else if (k0 + 32 <= cols)
				r[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16),
								   _mm512_loadu_ps(x));
			else {
				portable_round_bf16(row, x, cols > k0 ? cols - k0 : 0, 32);
				r[i] = _mm512_loadu_si512(row);
			}
		}
		transpose16(r);
		for (int j = 0; j < 16 && k0 + 2 * j < kp; j++)
			_mm512_store_si512(xp + (k0 / 2 + j) * 16, r[j]);
	}
}

/* Y[16 (g0 + v) + lane][j0 + r] = the pairs of group g0 + v times those of
 * weight row j0 + r, for r < rw, v < gv. The weight rows are read in place
 * (each pair broadcast to every lane), so no weight is packed; the sums of
 * each group are transposed to rows of Y at the end. rows: valid rows of Y
 * from 16 g0. An odd K ends with the pair (w, 0), read without going past
 * the row. */
INLINE void tile(int rw, int gv, float *Y, int64_t ldy, const uint16_t *w, int64_t K,
		 const uint32_t *xp, int64_t kp2, int rows)
{
	__m512 acc[RW][GV];
	#pragma GCC unroll 8
	for (int r = 0; r < rw; r++)
		#pragma GCC unroll 8
		for (int v = 0; v < gv; v++)
			acc[r][v] = _mm512_setzero_ps();
	for (int64_t p = 0; p < K / 2; p++) {
		__m512bh x[GV];
		#pragma GCC unroll 8
		for (int v = 0; v < gv; v++)
			x[v] = (__m512bh)_mm512_load_si512(xp + (v * kp2 + p) * 16);
		#pragma GCC unroll 8
		for (int r = 0; r < rw; r++) {
			int32_t pair;
			memcpy(&pair, w + r * K + 2 * p, 4);
			__m512bh wr = (__m512bh)_mm512_set1_epi32(pair);
			#pragma GCC unroll 8
			for (int v = 0; v < gv; v++)
				acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x[v], wr);
		}
	}
	if (K & 1) {
		int64_t p = K / 2;
		#pragma GCC unroll 8
		for (int r = 0; r < rw; r++) {
			__m512bh wr = (__m512bh)_mm512_set1_epi32(w[r * K + K - 1]);
			#pragma GCC unroll 8
			for (int v = 0; v < gv; v++)
				acc[r][v] = _mm512_dpbf16_ps(acc[r][v],
					(__m512bh)_mm512_load_si512(xp + (v * kp2 + p) * 16), wr);
		}
	}
	#pragma GCC unroll 8
	for (int v = 0; v < gv; v++) {
		__m512i t[16];
		#pragma GCC unroll 16
		for (int r = 0; r < 16; r++)
			t[r] = r < rw ? _mm512_castps_si512(acc[r][v]) : _mm512_setzero_si512();
		transpose16(t);
		for (int i = 0; i < 16 && 16 * v + i < rows; i++)
			_mm256_mask_storeu_ps(Y + (16 * v + i) * ldy, (__mmask8)((1u << rw) - 1),
					      _mm512_castps512_ps256(_mm512_castsi512_ps(t[i])));
	}
}

/* One instance per (rw, gv): constant trip counts keep acc in registers. */
#define TILE(rw, gv) case (rw) * 4 + (gv): \
	tile(rw, gv, Y, ldy, w, K, xp, kp2, rows); break;
#define TILES(rw) TILE(rw, 1) TILE(rw, 2) TILE(rw, 3)

TARGET static void tile_any(int rw, int gv, float *Y, int64_t ldy, const uint16_t *w, int64_t K,
			    const uint32_t *xp, int64_t kp2, int rows)
{
	switch (rw * 4 + gv) {
	TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6) TILES(7) TILES(8)
	}
}

/* Weight rows [r0, r1), RW at a time: each block of them (a few KiB, kept
 * in L1) meets every group of activations. */
TARGET static void gemm_bf16(float *Y, int64_t ldy, const Mat *W, const uint32_t *Xp,
			     int64_t kp, int n, int64_t r0, int64_t r1)
{
	const int64_t K = W->cols, kp2 = kp / 2;
	const int groups = (n + 15) / 16;
	for (int64_t j0 = r0; j0 < r1; j0 += RW) {
		int rw = r1 - j0 < RW ? (int)(r1 - j0) : RW;
		const uint16_t *w = (const uint16_t *)W->data + j0 * K;
		for (int g0 = 0; g0 < groups; g0 += GV) {
			int gv = groups - g0 < GV ? groups - g0 : GV;
			tile_any(rw, gv, Y + (int64_t)g0 * 16 * ldy + j0, ldy, w, K,
				 Xp + (int64_t)g0 * kp2 * 16, kp2, n - g0 * 16);
		}
	}
}

const Kernels kernels_avx512bf16 = {
	AVX512_TABLE,
	AVX512_XQ(avx512vnni_xq_),
	.pack_bf16 = pack_x,
	.gemm_bf16 = gemm_bf16,
};
#endif
