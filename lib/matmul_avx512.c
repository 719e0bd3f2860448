/* matmul_avx512.c: AVX-512 F/BW/VL kernels (16 floats a register). Weights
 * are converted to f32 in registers; column tails use masked loads. */
#include "matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))
#define INLINE static inline __attribute__((always_inline)) TARGET

/* Weights w[k .. k+16) as f32; lanes outside mask m read nothing, are 0. */
INLINE __m512 load16(DType t, const void *w, int64_t k, __mmask16 m)
{
	const uint16_t *h = (const uint16_t *)w + k;
	switch (t) {
	case DT_BF16:
		return _mm512_castsi512_ps(_mm512_slli_epi32(
			_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, h)), 16));
	case DT_F16:
		return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h));
	default:
		return _mm512_maskz_loadu_ps(m, (const float *)w + k);
	}
}

INLINE const void *row(const Mat *W, int64_t r)
{
	size_t size = W->dtype == DT_F32 ? 4 : 2;
	return (const char *)W->data + (size_t)r * (size_t)W->cols * size;
}

INLINE __mmask16 tail_mask(int64_t n)
{
	return (__mmask16)((1u << n) - 1);
}

/* One row at a time, front to back: the weights are read as one sequential
 * stream, which the hardware prefetcher follows (interleaving several rows
 * defeats it); x stays in L1. Four accumulators hide the FMA latency. */
INLINE void vec_rows(DType t, float *y, const Mat *W, const float *x, int64_t r0, int64_t r1)
{
	const int64_t K = W->cols, K64 = K & ~(int64_t)63;
	const __mmask16 all = 0xffff;

	for (int64_t r = r0; r < r1; r++) {
		const void *w = row(W, r);
		__m512 a[4];
#pragma GCC unroll 8
		for (int i = 0; i < 4; i++)
			a[i] = _mm512_setzero_ps();
		for (int64_t k = 0; k < K64; k += 64)
#pragma GCC unroll 8
			for (int i = 0; i < 4; i++)
				a[i] = _mm512_fmadd_ps(load16(t, w, k + 16 * i, all),
						       _mm512_loadu_ps(x + k + 16 * i), a[i]);
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
	switch (W->dtype) {
	case DT_BF16: vec_rows(DT_BF16, y, W, x, r0, r1); break;
	case DT_F16: vec_rows(DT_F16, y, W, x, r0, r1); break;
	default: vec_rows(DT_F32, y, W, x, r0, r1); break;
	}
}

INLINE void convert(DType t, float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	for (int64_t r = r0; r < r1; r++) {
		const void *w = row(W, r);
		float *d = dst + (r - r0) * W->cols;
		for (int64_t k = 0; k < W->cols; k += 16) {
			__mmask16 m = W->cols - k >= 16 ? 0xffff : tail_mask(W->cols - k);
			_mm512_mask_storeu_ps(d + k, m, load16(t, w, k, m));
		}
	}
}

TARGET void avx512_to_f32(float *dst, const Mat *W, int64_t r0, int64_t r1)
{
	switch (W->dtype) {
	case DT_BF16: convert(DT_BF16, dst, W, r0, r1); break;
	case DT_F16: convert(DT_F16, dst, W, r0, r1); break;
	default: convert(DT_F32, dst, W, r0, r1); break;
	}
}

const Kernels kernels_avx512 = {
	.vec_f32 = avx512_vec_f32,
	.to_f32 = avx512_to_f32,
};
#endif
