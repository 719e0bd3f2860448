/* ops.c: the small kernels of the forward pass (see ops.h). */
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
	float ss = 0;
	for (int i = 0; i < n; i++)
		ss += x[i] * x[i];
	float r = 1.0f / sqrtf(ss / (float)n + eps);
	for (int i = 0; i < n; i++)
		y[i] = w[i] * (x[i] * r);
}

void rope_angles(float *cos_, float *sin_, const float *inv_freq, int half, int pos)
{
	for (int i = 0; i < half; i++) {
		float a = (float)pos * inv_freq[i];
		cos_[i] = (float)cos((double)a);
		sin_[i] = (float)sin((double)a);
	}
}

void rope(float *x, int nheads, int half, const float *cos_, const float *sin_)
{
	for (int h = 0; h < nheads; h++, x += 2 * half)
		for (int i = 0; i < half; i++) {
			float a = x[2 * i], b = x[2 * i + 1];
			x[2 * i] = a * cos_[i] - b * sin_[i];
			x[2 * i + 1] = b * cos_[i] + a * sin_[i];
		}
}

void softmax(float *x, int n)
{
	float max = x[0], sum = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > max)
			max = x[i];
	for (int i = 0; i < n; i++)
		sum += (x[i] = expf(x[i] - max));
	for (int i = 0; i < n; i++)
		x[i] /= sum;
}

void swiglu(float *g, const float *u, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* scores[m][npos] = scale · q[m] · kᵀ (a single row: sgemv, which OpenBLAS
 * does far better than a one-row sgemm) */
static void qk(float *scores, const float *q, int64_t qstride, const float *k, int64_t kvstride,
	       int m, int npos, int d, float scale)
{
	if (m == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, npos, d, scale, k, (int)kvstride, q, 1,
			    0.0f, scores, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, npos, d, scale, q,
			    (int)qstride, k, (int)kvstride, 0.0f, scores, npos);
}

/* out[m][d] = p[m][npos] · v */
static void pv(float *out, int64_t qstride, const float *p, const float *v, int64_t kvstride,
	       int m, int npos, int d)
{
	if (m == 1)
		cblas_sgemv(CblasRowMajor, CblasTrans, npos, d, 1.0f, v, (int)kvstride, p, 1, 0.0f,
			    out, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, npos, 1.0f, p, npos, v,
			    (int)kvstride, 0.0f, out, (int)qstride);
}

void attend(float *out, const float *q, int64_t qstride, const float *k, const float *v,
	    int64_t kvstride, int n, int p0, int d, float scale, float *scores)
{
	for (int i0 = 0; i0 < n; i0 += ATTEND_ROWS) {
		int m = n - i0 < ATTEND_ROWS ? n - i0 : ATTEND_ROWS, npos = p0 + i0 + m;
		qk(scores, q + i0 * qstride, qstride, k, kvstride, m, npos, d, scale);
		for (int r = 0; r < m; r++) {
			float *row = scores + (int64_t)r * npos;
			int seen = p0 + i0 + r + 1;     /* keys this row may see */
			softmax(row, seen);
			memset(row + seen, 0, (size_t)(npos - seen) * sizeof *row);
		}
		pv(out + i0 * qstride, qstride, scores, v, kvstride, m, npos, d);
	}
}

void to_f32(float *dst, DType dt, const void *src, int64_t n)
{
	const uint16_t *h = src;
	switch (dt) {
	case DT_F32:
		memcpy(dst, src, (size_t)n * sizeof *dst);
		break;
	case DT_BF16:
		for (int64_t i = 0; i < n; i++)
			dst[i] = bf16_to_f32(h[i]);
		break;
	case DT_F16:
		for (int64_t i = 0; i < n; i++)
			dst[i] = f16_to_f32(h[i]);
		break;
	}
}
