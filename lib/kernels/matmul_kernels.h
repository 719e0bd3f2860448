/* matmul_kernels.h: what one instruction set provides to lib/kernels/matmul.c
 * (internal). Each lib/matmul_<isa>.c fills a Kernels table; a NULL entry
 * means "not available with this ISA". Row ranges are [r0, r1). */
#ifndef ERNIE_MATMUL_KERNELS_H
#define ERNIE_MATMUL_KERNELS_H

#include <stdint.h>

#include "kernels/matmul.h"
#include "kernels/xq.h"

/* y[r] = W[r] · x for r in [r0, r1): exact weights, f32 arithmetic */
typedef void VecFn(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1);
/* dst[(r - r0) * cols + k] = W[r][k] as f32, exactly */
typedef void ToF32Fn(float *dst, const Mat *W, int64_t r0, int64_t r1);
/* Y[m][r] = X[m] · W[r] for m < n, r in [r0, r1), f32 arithmetic; X has
 * row stride cols, Y ldy; pack is scratch (64-byte aligned) of
 * GEMM_PACK_ROWS * cols f32, twice that for the quantised types (their
 * rows dequantised there first) */
typedef void GemmF32Fn(float *Y, int64_t ldy, const Mat *W, const float *X, int n,
		       int64_t r0, int64_t r1, void *pack);

/* Y[m * ldy + r] = W[r] · x_m for m < n <= XQ_MAX, r in [r0, r1), x_m the
 * activations rounded to 8 bits (xq.h, blocks of xq_block(W->type)):
 * integer products summed exactly per block, then scaled in f32. The
 * arithmetic on each (r, m) must not depend on n, so that a prompt gives
 * the same logits in one batch and token by token. */
typedef void VecXqFn(float *Y, int64_t ldy, const Mat *W, const XQ *x, int n, int64_t r0,
		     int64_t r1);

/* Indexed by the weight's WType: vec and to_f32 have an entry for every
 * type (the portable one where an ISA has nothing better); gemm_f32 may be
 * NULL for a type (then mat_mul runs sgemm over panels from to_f32). */
typedef struct {
	VecFn *vec[WT_COUNT];
	ToF32Fn *to_f32[WT_COUNT];
	GemmF32Fn *gemm_f32[WT_COUNT];
	VecXqFn *vec_xq[WT_COUNT];      /* NULL for the plain types */
	/* rows <= 16 rows of X (cols each) rounded to bf16 (nearest even) as
	 * one group of pairs: xp[p * 16 + i] = (X[i][2p], X[i][2p + 1]) for
	 * p < kp / 2 (kp: cols rounded up to even), zero past rows and cols */
	void (*pack_bf16)(uint32_t *xp, const float *X, int64_t cols, int rows, int64_t kp);
	/* Y[m][r] = X[m] · W[r] for m < n, r in [r0, r1); bf16 W, X as the
	 * groups of 16 rows pack_bf16 makes, one after another (64-byte
	 * aligned), f32 sums; ldy is Y's row stride */
	void (*gemm_bf16)(float *Y, int64_t ldy, const Mat *W, const uint32_t *Xp,
			  int64_t kp, int n, int64_t r0, int64_t r1);
	/* the attention's products of gemm_np / gemm_nn in matmul.h, on one
	 * thread (pstride, ldb in bytes) */
	void (*gemm_np)(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
			KvLayout bl, int64_t pstride, int M, int N, int K);
	void (*gemm_nn)(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
			KvLayout bl, int64_t ldb, int M, int N, int K);
} Kernels;


/* Bytes ahead of the weights being read that the matrix-vector kernels
 * prefetch into L1 (one 1024-column bf16 row): the hardware prefetcher alone
 * ramps up slowly on each new range of rows; measured 8-10% more decode
 * bandwidth on Zen 5 with 2 threads. */
#define VEC_PREFETCH 2048

/* Bytes ahead that they also prefetch into L2 only: the L1 prefetch is
 * limited by the core's few line-fill buffers, and the K types' kernels,
 * busy unpacking, leave it short of the stream; with this the 0.3B Q4_K_M
 * decoded at 123 tok/s instead of 95, and the bf16 one at 50 instead of 46
 * (2 threads, Sapphire Rapids), and a longer L1 distance (4 or 8 KB) was
 * slower. */
#define VEC_PREFETCH_L2 8192

/* Every cache line of the bytes at p, VEC_PREFETCH bytes ahead into L1 and
 * VEC_PREFETCH_L2 ahead into L2: what a matrix-vector kernel does for each
 * step of its weight stream (a K block spans up to four lines). */
static inline __attribute__((always_inline)) void prefetch_ahead(const void *p, int bytes)
{
#pragma GCC unroll 4
	for (int b = 0; b < bytes; b += 64) {
		__builtin_prefetch((const char *)p + VEC_PREFETCH + b, 0, 3);     /* prefetcht0 */
		__builtin_prefetch((const char *)p + VEC_PREFETCH_L2 + b, 0, 2);  /* prefetcht1 */
	}
}

/* weight rows packed together by the f32 GEMM: three 16-lane registers,
 * like the panels of gemm_np */
#define GEMM_PACK_ROWS GEMM_PANEL
/* weight rows the bf16 GEMM's tiles take together (task ranges start on a
 * multiple of it) */
#define GEMM_BF16_ROWS 8

extern const Kernels kernels_portable;
/* the portable kernels, for any type (the ISAs' tables fall back on them) */
VecFn portable_vec;
ToF32Fn portable_to_f32;
VecXqFn portable_vec_xq;
#if defined(__x86_64__)
extern const Kernels kernels_avx2, kernels_avx512, kernels_avx512bf16;
VecXqFn avx2_xq_q8_0, avx2_xq_q4_0, avx2_xq_q4_k, avx2_xq_q5_k, avx2_xq_q6_k;
/* shared by the AVX-512 tables: every entry of the AVX-512 table */
#define AVX512_TABLE \
	.vec = { [WT_F32] = avx512_vec_f32, [WT_F16] = avx512_vec_f16, \
		 [WT_BF16] = avx512_vec_bf16, [WT_Q8_0] = avx512_vec_q8_0, \
		 [WT_Q4_0] = avx512_vec_q4_0, [WT_Q4_K] = avx512_vec_q4_k, \
		 [WT_Q5_K] = avx512_vec_q5_k, [WT_Q6_K] = avx512_vec_q6_k }, \
	.to_f32 = { [WT_F32] = avx512_to_f32, [WT_F16] = avx512_to_f32, \
		    [WT_BF16] = avx512_to_f32, [WT_Q8_0] = avx512_to_f32, \
		    [WT_Q4_0] = avx512_to_f32, [WT_Q4_K] = avx512_to_f32, \
		    [WT_Q5_K] = avx512_to_f32, [WT_Q6_K] = avx512_to_f32 }, \
	.gemm_f32 = { [WT_F32] = avx512_gemm_f32, [WT_F16] = avx512_gemm_f32, \
		      [WT_BF16] = avx512_gemm_f32, [WT_Q8_0] = avx512_gemm_quant, \
		      [WT_Q4_0] = avx512_gemm_quant, [WT_Q4_K] = avx512_gemm_quant, \
		      [WT_Q5_K] = avx512_gemm_quant, [WT_Q6_K] = avx512_gemm_quant }, \
	.gemm_np = avx512_gemm_np, \
	.gemm_nn = avx512_gemm_nn
VecFn avx512_vec_f32, avx512_vec_f16, avx512_vec_bf16, avx512_vec_q8_0, avx512_vec_q4_0,
	avx512_vec_q4_k, avx512_vec_q5_k, avx512_vec_q6_k;
ToF32Fn avx512_to_f32;
GemmF32Fn avx512_gemm_f32, avx512_gemm_quant;
/* the integer products, without and with VNNI (matmul_avx512_xq.h) */
#define AVX512_XQ(p) \
	.vec_xq = { [WT_Q8_0] = p##q8_0, [WT_Q4_0] = p##q4_0, [WT_Q4_K] = p##q4_k, \
		    [WT_Q5_K] = p##q5_k, [WT_Q6_K] = p##q6_k }
VecXqFn avx512_xq_q8_0, avx512_xq_q4_0, avx512_xq_q4_k, avx512_xq_q5_k, avx512_xq_q6_k;
VecXqFn avx512vnni_xq_q8_0, avx512vnni_xq_q4_0, avx512vnni_xq_q4_k, avx512vnni_xq_q5_k,
	avx512vnni_xq_q6_k;
void avx512_gemm_np(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
		    KvLayout bl, int64_t pstride, int M, int N, int K);
void avx512_gemm_nn(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
		    KvLayout bl, int64_t ldb, int M, int N, int K);
#endif

/* The plain C attention products, for the ISAs without their own. */
void portable_gemm_np(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
		      KvLayout bl, int64_t pstride, int M, int N, int K);
void portable_gemm_nn(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
		      KvLayout bl, int64_t ldb, int M, int N, int K);

/* Bytes of a row of GEMM_PANEL keys of a panel in layout l (a q8_0
 * panel: its quants; kv.h) */
int64_t kv_panel_row_bytes(KvLayout l);

/* xb[k] = x[k] rounded to bf16 (nearest even) for k < cols, 0 up to kp:
 * the plain C rounding, for pack_bf16's tails */
void portable_round_bf16(uint16_t *xb, const float *x, int64_t cols, int64_t kp);

#endif
