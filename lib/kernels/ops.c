/* ops.c: the small kernels of the forward pass (see ops.h). */
#include "kernels/ops.h"
#include "kernels/clones.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
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

/* ---- exp, sixteen lanes at a time ----------------------------------------
 * In CLONES functions (clones.h). exp is Cephes' expf: Cody-Waite reduction
 * by ln 2, a degree-6 polynomial, 2^n put in the exponent; within a few ulp
 * of expf over the clamped range, where the extremes are 0 and overflow for
 * softmax and SiLU alike. */

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* lanes of m set: a, else b */
#define VSEL(m, a, b) ((v16f)(((m) & (v16i)(a)) | (~(m) & (v16i)(b))))

/* *v = k <= 16 floats from p, the other lanes pad */
VINLINE void vload(v16f *v, const float *p, int k, float pad)
{
	*v = (v16f){ 0 } + pad;
	memcpy(v, p, (size_t)k * sizeof(float));
}

VINLINE void vstore(float *p, const v16f *v, int k)
{
	memcpy(p, v, (size_t)k * sizeof(float));
}

/* *v = exp(*v) */
VINLINE void vexp(v16f *v)
{
	v16f lo = (v16f){ 0 } - 87.0f, hi = (v16f){ 0 } + 88.0f, x = *v;
	x = VSEL(x < lo, lo, VSEL(x > hi, hi, x));
	v16f t = x * 1.44269504f + 12582912.0f;         /* + 1.5 · 2^23: rounds x / ln 2 */
	v16f n = t - 12582912.0f;
	v16i e = (v16i)t - 0x4b400000;                  /* n as an integer */
	v16f r = x - n * 0.693359375f + n * 2.12194440e-4f;
	v16f p = 1.9875691500e-4f * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	*v = (p * r * r + r + 1.0f) * (v16f)((e + 127) << 23);
}

/* Each loop below runs whole vectors, then the tail of k < 16 floats
 * through the same inlined step (memcpy of a constant 64 bytes is a plain
 * load). */

VINLINE void max_step(v16f *m, const float *x, int k)
{
	v16f v;
	vload(&v, x, k, -INFINITY);
	*m = VSEL(v > *m, v, *m);
}

CLONES static float max_of(const float *x, int n)
{
	v16f m = (v16f){ 0 } - INFINITY;
	int i = 0;
	for (; i + 16 <= n; i += 16)
		max_step(&m, x + i, 16);
	if (i < n)
		max_step(&m, x + i, n - i);
	float max = m[0];
	for (int l = 1; l < 16; l++)
		max = m[l] > max ? m[l] : max;
	return max;
}

/* x[k] = exp((x[k] - shift) · scale), added to *s (pad lanes add 0) */
VINLINE void exp_step(v16f *s, float *x, int k, float shift, float scale)
{
	v16f y, keep;
	vload(&y, x, k, shift);
	y = (y - shift) * scale;
	vexp(&y);
	vstore(x, &y, k);
	vload(&keep, (const float *)&y, k, 0.0f);
	*s += keep;
}

/* x[i] = exp((x[i] - shift) · scale); returns their sum */
CLONES static float exp_sum(float *x, int n, float shift, float scale)
{
	v16f s = { 0 };
	int i = 0;
	for (; i + 16 <= n; i += 16)
		exp_step(&s, x + i, 16, shift, scale);
	if (i < n)
		exp_step(&s, x + i, n - i, shift, scale);
	float sum = 0;
	for (int l = 0; l < 16; l++)
		sum += s[l];
	return sum;
}

VINLINE void scale_step(float *x, int k, float a)
{
	v16f v;
	vload(&v, x, k, 0.0f);
	v *= a;
	vstore(x, &v, k);
}

CLONES static void scale(float *x, int n, float a)
{
	int i = 0;
	for (; i + 16 <= n; i += 16)
		scale_step(x + i, 16, a);
	if (i < n)
		scale_step(x + i, n - i, a);
}

/* x[n] = softmax(x[n] · s), s > 0 */
static void softmax_scaled(float *x, int n, float s)
{
	float max = max_of(x, n);
	scale(x, n, 1.0f / exp_sum(x, n, max, s));
}

void softmax(float *x, int n)
{
	softmax_scaled(x, n, 1.0f);
}

VINLINE void swiglu_step(float *g, const float *u, int k)
{
	v16f x, e, v;
	vload(&x, g, k, 0.0f);
	vload(&v, u, k, 0.0f);
	e = -x;
	vexp(&e);
	x = x / (1.0f + e) * v;
	vstore(g, &x, k);
}

CLONES static void swiglu_clones(float *g, const float *u, int64_t n)
{
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		swiglu_step(g + i, u + i, 16);
	if (i < n)
		swiglu_step(g + i, u + i, (int)(n - i));
}

/* a plain symbol for the callers (clang names an exported clone set
 * differently) */
void swiglu(float *g, const float *u, int64_t n)
{
	swiglu_clones(g, u, n);
}

/* out[m][d] = p[m][npos] · v (a single row of f32 values: sgemv, which
 * OpenBLAS does well and is bandwidth-bound anyway) */
static void pv(Compute *c, float *out, int64_t qstride, const float *p, const void *v,
	       KvLayout vl, int64_t vstride, int m, int npos, int d)
{
	if (m == 1 && vl == KV_F32)
		cblas_sgemv(CblasRowMajor, CblasTrans, npos, d, 1.0f, v,
			    (int)(vstride / (int64_t)sizeof(float)), p, 1, 0.0f, out, 1);
	else
		gemm_nn(c, out, qstride, p, npos, v, vl, vstride, m, d, npos);
}

void attend(Compute *c, float *out, const float *q, int64_t qstride, const void *kp,
	    KvLayout kl, int64_t kpstride, const void *v, KvLayout vl, int64_t vstride, int n,
	    int group, int p0, int d, float scale, float *scores)
{
	for (int i0 = 0; i0 < n; i0 += ATTEND_ROWS) {
		int m = n - i0 < ATTEND_ROWS ? n - i0 : ATTEND_ROWS;
		int npos = p0 + (i0 + m - 1) / group + 1;       /* keys the last row sees */
		gemm_np(c, scores, npos, q + i0 * qstride, qstride, kp, kl, kpstride, m, npos, d);
		for (int r = 0; r < m; r++) {
			float *row = scores + (int64_t)r * npos;
			int seen = p0 + (i0 + r) / group + 1;   /* keys this row may see */
			softmax_scaled(row, seen, scale);
			memset(row + seen, 0, (size_t)(npos - seen) * sizeof *row);
		}
		pv(c, out + i0 * qstride, qstride, scores, v, vl, vstride, m, npos, d);
	}
}
