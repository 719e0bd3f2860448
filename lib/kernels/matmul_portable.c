/* matmul_portable.c: the plain C kernels, correct on every CPU and for
 * every weight type; the reference the SIMD variants are tested against. */
#include <math.h>
#include <string.h>

#include "kernels/kv.h"
#include "kernels/matmul_kernels.h"
#include "kernels/matmul_quant.h"

static uint16_t f32_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)(u >> 16 | 0x40);       /* quiet NaN */
	u += 0x7fff + (u >> 16 & 1);
	return (uint16_t)(u >> 16);
}

void portable_round_bf16(uint16_t *xb, const float *x, int64_t cols, int64_t kp)
{
	for (int64_t k = 0; k < cols; k++)
		xb[k] = f32_to_bf16(x[k]);
	for (int64_t k = cols; k < kp; k++)
		xb[k] = 0;
}

#define CHUNK QK_K      /* a multiple of every type's block */

/* Each row dequantised CHUNK weights at a time (exactly, into L1) by the
 * type's to_f32, then eight partial sums: independent chains the compiler
 * can vectorise. */
void portable_vec(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	const WTypeInfo *t = &wtype_info[W->type];
	const int64_t rb = wtype_row_bytes(W->type, CHUNK);
	float w[CHUNK];
	for (int64_t r = r0; r < r1; r++) {
		const char *row = mat_row(W, r);
		float s[8] = {0};
		for (int64_t k0 = 0; k0 < W->cols; k0 += CHUNK, row += rb) {
			int64_t n = W->cols - k0 < CHUNK ? W->cols - k0 : CHUNK, k = 0;
			const float *xk = x + k0;
			t->to_f32(w, row, n);
			for (; k + 8 <= n; k += 8)
				for (int j = 0; j < 8; j++)
					s[j] += w[k + j] * xk[k + j];
			for (; k < n; k++)
				s[0] += w[k] * xk[k];
		}
		y[r] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
	}
}

/* Element e0 + i (i < 16) of block b as its signed integer q (the weight
 * is q s - o, matmul_quant.h). */
static int quant_int(WType t, const uint8_t *b, int e0, int i)
{
	QuantBits qb = quant_bits(t, e0);
	int v = b[qb.lo + i];
	if (!qb.nibble)
		return (int8_t)v;
	v = v >> qb.shift & 15;
	if (qb.hi >= 0)
		v |= (b[qb.hi + i] >> qb.hshift & qb.hmask) << 4;
	return v - qb.bias;
}

/* The integer products' definition (xq.h): for each group of elements
 * that share s and o, the exact integer sum of q times the activations'
 * q, then x_d (s Σ q q_x - o Σ q_x): the f32 product of the exact weights
 * and the rounded activations, summed in another order. */
void portable_vec_xq(float *Y, int64_t ldy, const Mat *W, const XQ *x, int n, int64_t r0,
		     int64_t r1)
{
	const WType t = W->type;
	const int block = wtype_info[t].block, bytes = wtype_info[t].bytes;
	const int group = quant_group(t), B = xq_block(t);
	for (int64_t r = r0; r < r1; r++)
		for (int m = 0; m < n; m++) {
			const uint8_t *b = mat_row(W, r);
			float acc = 0;
			for (int64_t e = 0; e < W->cols; b += bytes) {
				float s[16], o[16];
				quant_scales(t, b, s, o);
				for (int g = 0; g < block / group; g++, e += group) {
					int isum = 0, xsum = 0;
					for (int i = 0; i < group; i++)
						isum += quant_int(t, b, g * group + i / 16 * 16, i % 16) *
							x[m].q[e + i];
					for (int i = 0; i < group / 16; i++)
						xsum += x[m].sum[e / 16 + i];
					acc += x[m].d[e / B] * (s[g] * (float)isum - o[g] * (float)xsum);
				}
			}
			Y[m * ldy + r] = acc;
		}
}

void portable_to_f32(float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++)
		wtype_info[W->type].to_f32(dst + (r - r0) * W->cols, mat_row(W, r), W->cols);
}

/* The attention's products, one element of B at a time (kv_elem). */
void portable_gemm_np(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
		      KvLayout bl, int64_t pstride, int M, int N, int K)
{
	for (int m = 0; m < M; m++)
		for (int j = 0; j < N; j++) {
			const char *P = (const char *)B + j / GEMM_PANEL * pstride;
			float s = 0;
			for (int k = 0; k < K; k++)
				s += A[m * lda + k] * kv_elem(bl, P, kv_panel_row_bytes(bl), K, k,
							      j % GEMM_PANEL);
			Y[m * ldy + j] = s;
		}
}

void portable_gemm_nn(float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
		      KvLayout bl, int64_t ldb, int M, int N, int K)
{
	for (int m = 0; m < M; m++)
		for (int j = 0; j < N; j++) {
			float s = 0;
			for (int k = 0; k < K; k++)
				s += A[m * lda + k] * kv_elem(bl, B, ldb, K, k, j);
			Y[m * ldy + j] = s;
		}
}

const Kernels kernels_portable = {
	.vec = { [WT_F32] = portable_vec, [WT_F16] = portable_vec, [WT_BF16] = portable_vec,
		 [WT_Q8_0] = portable_vec, [WT_Q4_0] = portable_vec, [WT_Q4_K] = portable_vec,
		 [WT_Q5_K] = portable_vec, [WT_Q6_K] = portable_vec },
	.to_f32 = { [WT_F32] = portable_to_f32, [WT_F16] = portable_to_f32,
		    [WT_BF16] = portable_to_f32, [WT_Q8_0] = portable_to_f32,
		    [WT_Q4_0] = portable_to_f32, [WT_Q4_K] = portable_to_f32,
		    [WT_Q5_K] = portable_to_f32, [WT_Q6_K] = portable_to_f32 },
	.vec_xq = { [WT_Q8_0] = portable_vec_xq, [WT_Q4_0] = portable_vec_xq,
		    [WT_Q4_K] = portable_vec_xq, [WT_Q5_K] = portable_vec_xq,
		    [WT_Q6_K] = portable_vec_xq },
	.gemm_np = portable_gemm_np,
	.gemm_nn = portable_gemm_nn,
};
