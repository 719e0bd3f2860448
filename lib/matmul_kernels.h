/* matmul_kernels.h: what one instruction set provides to lib/matmul.c
 * (internal). Each lib/matmul_<isa>.c fills a Kernels table; a NULL entry
 * means "not available with this ISA". Row ranges are [r0, r1). */
#ifndef ERNIE_MATMUL_KERNELS_H
#define ERNIE_MATMUL_KERNELS_H

#include <stdint.h>

#include "matmul.h"

typedef struct {
	/* y[r] = W[r] · x for r in [r0, r1): exact weights, f32 arithmetic */
	void (*vec_f32)(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1);
	/* the same with bf16 W and x rounded to bf16 (xb[cols rounded up
	 * to even], zero padded), f32 sums */
	void (*vec_bf16)(float *y, const Mat *W, const uint16_t *xb, int64_t r0, int64_t r1);
	/* xb[k] = x[k] rounded to bf16 (nearest even) for k < cols, 0 up to kp */
	void (*round_bf16)(uint16_t *xb, const float *x, int64_t cols, int64_t kp);
	/* dst[(r - r0) * cols + k] = W[r][k] as f32 */
	void (*to_f32)(float *dst, const Mat *W, int64_t r0, int64_t r1);
	/* Y[m][r] = X[m] · W[r] for m < n, r in [r0, r1), f32 arithmetic; X
	 * has row stride cols, Y ldy; pack is scratch (64-byte aligned) of
	 * GEMM_PACK_ROWS * cols f32 */
	void (*gemm_f32)(float *Y, int64_t ldy, const Mat *W, const float *X, int n,
			 int64_t r0, int64_t r1, void *pack);
	/* Y[m][r] = Xb[m] · W[r] for m < n, r in [r0, r1); bf16 W, Xb as in
	 * vec_bf16 with row stride kp (cols rounded up to even); ldy is Y's
	 * row stride; pack is scratch (64-byte aligned) of GEMM_PACK_ROWS * kp
	 * bf16 */
	void (*gemm_bf16)(float *Y, int64_t ldy, const Mat *W, const uint16_t *Xb,
			  int64_t kp, int n, int64_t r0, int64_t r1, void *pack);
} Kernels;

/* Bytes ahead of the weights being read that the AVX-512 matrix-vector
 * kernels prefetch (one 1024-column bf16 row): the hardware prefetcher alone
 * ramps up slowly on each new range of rows; measured 8-10% more decode
 * bandwidth on Zen 5 with 2 threads. */
#define VEC_PREFETCH 2048

/* weight rows packed together by the GEMMs: three 16-lane registers */
#define GEMM_PACK_ROWS 48

extern const Kernels kernels_portable;
#if defined(__x86_64__)
extern const Kernels kernels_avx2, kernels_avx512, kernels_avx512bf16;
/* shared by the AVX-512 tables */
void avx512_vec_f32(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1);
void avx512_to_f32(float *dst, const Mat *W, int64_t r0, int64_t r1);
void avx512_gemm_f32(float *Y, int64_t ldy, const Mat *W, const float *X, int n,
		     int64_t r0, int64_t r1, void *pack);
#endif

/* the plain C round_bf16 */
void portable_round_bf16(uint16_t *xb, const float *x, int64_t cols, int64_t kp);

#endif
