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

/* Four floats at a time, two sums (GNU vector extension, SSE/NEON width;
 * without -ffast-math the compiler keeps a plain float sum scalar). */
typedef float v4f __attribute__((vector_size(16)));

static v4f load4(const float *p)
{
	v4f v;
	memcpy(&v, p, sizeof v);
	return v;
}

static float dot(const float *a, const float *b, int n)
{
	v4f s0 = { 0 }, s1 = { 0 };
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		s0 += load4(a + i) * load4(b + i);
		s1 += load4(a + i + 4) * load4(b + i + 4);
	}
	s0 += s1;
	float s = s0[0] + s0[1] + s0[2] + s0[3];
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* y[n] += a · x[n] */
static void axpy(float *y, float a, const float *x, int n)
{
	int i = 0;
	for (; i + 4 <= n; i += 4) {
		v4f v = load4(y + i) + a * load4(x + i);
		memcpy(y + i, &v, sizeof v);
	}
	for (; i < n; i++)
		y[i] += a * x[i];
}

void attend(float *out, const float *q, const float *k, const float *v, int npos,
	    int64_t stride, int d, float scale, float *scores)
{
	for (int j = 0; j < npos; j++)
		scores[j] = dot(q, k + j * stride, d) * scale;
	softmax(scores, npos);
	memset(out, 0, (size_t)d * sizeof *out);
	for (int j = 0; j < npos; j++)
		axpy(out, scores[j], v + j * stride, d);
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
