/* matmul_portable.c: the plain C kernels, correct on every CPU; the
 * reference the SIMD variants are tested against. */
#include <math.h>
#include <string.h>

#include "kernels/kv.h"
#include "kernels/matmul_kernels.h"

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

/* Weight k of row w (a row pointer of the given dtype) as f32. */
static float weight(DType t, const void *w, int64_t k)
{
	switch (t) {
	case DT_BF16:
		return bf16_to_f32(((const uint16_t *)w)[k]);
	case DT_F16:
		return f16_to_f32(((const uint16_t *)w)[k]);
	default:
		return ((const float *)w)[k];
	}
}

static const void *row(const Mat *W, int64_t r)
{
	size_t size = W->dtype == DT_F32 ? 4 : 2;
	return (const char *)W->data + (size_t)r * (size_t)W->cols * size;
}

/* Eight partial sums: independent chains the compiler can vectorise. */
static void vec_f32(float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++) {
		const void *w = row(W, r);
		float s[8] = {0};
		int64_t k = 0;
		for (; k + 8 <= W->cols; k += 8)
			for (int j = 0; j < 8; j++)
				s[j] += weight(W->dtype, w, k + j) * x[k + j];
		for (; k < W->cols; k++)
			s[0] += weight(W->dtype, w, k) * x[k];
		y[r] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
	}
}

static void to_f32(float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++) {
		const void *w = row(W, r);
		float *d = dst + (r - r0) * W->cols;
		for (int64_t k = 0; k < W->cols; k++)
			d[k] = weight(W->dtype, w, k);
	}
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
	.vec_f32 = vec_f32,
	.to_f32 = to_f32,
	.gemm_np = portable_gemm_np,
	.gemm_nn = portable_gemm_nn,
};
