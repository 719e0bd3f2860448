#include "ops.h"

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

void attend(float *out, const float *q, const float *k, const float *v, int npos,
	    int64_t stride, int d, float scale, float *scores)
{
	for (int j = 0; j < npos; j++) {
		const float *kj = k + j * stride;
		float s = 0;
		for (int i = 0; i < d; i++)
			s += q[i] * kj[i];
		scores[j] = s * scale;
	}
	softmax(scores, npos);
	memset(out, 0, (size_t)d * sizeof *out);
	for (int j = 0; j < npos; j++) {
		const float *vj = v + j * stride;
		float p = scores[j];
		for (int i = 0; i < d; i++)
			out[i] += p * vj[i];
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
