/* xq.c: activations rounded to 8-bit integers by blocks (xq.h), in plain C
 * the compiler vectorises: this runs once per activation row, not per
 * weight row. */
#include <math.h>

#include "kernels/xq.h"

static int64_t align64(int64_t n)
{
	return (n + 63) & ~(int64_t)63;
}

int64_t xq_row_bytes(int64_t cols)
{
	return align64(cols) + 2 * align64(cols / 32 * (int64_t)sizeof(float)) +
	       align64(cols / 16 * (int64_t)sizeof(int16_t));
}

/* One block of n elements: q, its scale and its sums of 16 and 32. */
static void quantize_block(int8_t *q, float *d, int16_t *sum, float *dsum, const float *x, int n)
{
	float amax = 0;
	for (int k = 0; k < n; k++)
		amax = fabsf(x[k]) > amax ? fabsf(x[k]) : amax;
	float id = amax > 0 ? 127 / amax : 0;
	*d = amax / 127;
	/* |x id| <= 127: adding and taking away 1.5 * 2^23 leaves it rounded
	 * to the nearest integer, ties to even, as nearbyintf would, but
	 * vectorised rather than a libm call an element */
	for (int k = 0; k < n; k++)
		q[k] = (int8_t)(x[k] * id + 0x1.8p23f - 0x1.8p23f);
	for (int i = 0; i < n / 16; i++) {
		int s = 0;
		for (int k = 0; k < 16; k++)
			s += q[16 * i + k];
		sum[i] = (int16_t)s;
	}
	for (int i = 0; i < n / 32; i++)
		dsum[i] = *d * (float)(sum[2 * i] + sum[2 * i + 1]);
}

void xq_quantize(void *buf, XQ *xq, const float *X, int64_t cols, int block, int m0, int m1)
{
	const int64_t dbytes = align64(cols / 32 * (int64_t)sizeof(float));
	for (int m = m0; m < m1; m++) {
		char *row = (char *)buf + m * xq_row_bytes(cols);
		int8_t *q = (int8_t *)row;
		float *d = (float *)(row + align64(cols));
		float *dsum = (float *)(row + align64(cols) + dbytes);
		int16_t *sum = (int16_t *)(row + align64(cols) + 2 * dbytes);
		const float *x = X + m * cols;
		for (int64_t b = 0; b < cols / block; b++)
			quantize_block(q + b * block, d + b, sum + b * block / 16, dsum + b * block / 32,
				       x + b * block, block);
		xq[m] = (XQ){ q, d, sum, dsum };
	}
}
