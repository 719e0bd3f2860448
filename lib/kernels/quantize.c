/* quantize.c: f32 rows to blocks of every weight type (quantize.h).
 * Written from ggml's block layouts (wtype.h) and the published
 * descriptions of llama.cpp's reference quantisers: Q8_0 and Q4_0 take the
 * scale from the block's largest magnitude and round each element once;
 * the K types search a few candidate scales per sub-block for the least
 * weighted squared error, then quantise the scales. */
#include "kernels/quantize.h"

#include <math.h>
#include <string.h>

/* Magnitudes below this make an all-zero group (ggml's GROUP_MAX_EPS). */
#define GROUP_EPS 1e-15f

uint16_t f32_to_f16(float f)
{
	uint32_t u, a;
	memcpy(&u, &f, 4);
	uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
	a = u & 0x7fffffff;
	if (a > 0x7f800000)
		return sign | 0x7e00;                   /* NaN */
	if (a >= 0x477ff000)
		return sign | 0x7c00;                   /* 65520 and up round to infinity */
	if (a < 0x38800000)                             /* below 2^-14: subnormal, units of 2^-24 */
		return sign | (uint16_t)rintf(fabsf(f) * 16777216.0f);
	uint32_t r = a - 0x38000000;                    /* rebias the exponent 127 -> 15 */
	uint32_t h = r >> 13, rest = r & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++;                                    /* a carry into the exponent is right */
	return sign | (uint16_t)h;
}

uint16_t f32_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)(u >> 16 | 0x40);      /* keep a NaN a NaN */
	return (uint16_t)((u + 0x7fff + (u >> 16 & 1)) >> 16);
}

/* Round to nearest, ties to even, as the quantisers' searches assume. */
static int nearest(float f)
{
	return (int)lrintf(f);
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void f32_row(void *dst, const float *x, int64_t n)
{
	memcpy(dst, x, (size_t)n * 4);
}

static void f16_row(void *dst, const float *x, int64_t n)
{
	uint16_t *h = dst;
	for (int64_t i = 0; i < n; i++)
		h[i] = f32_to_f16(x[i]);
}

static void bf16_row(void *dst, const float *x, int64_t n)
{
	uint16_t *h = dst;
	for (int64_t i = 0; i < n; i++)
		h[i] = f32_to_bf16(x[i]);
}

/* Q8_0: d = max |x| / 127, q = round(x / d) with ties away from zero. */
static void q8_0_row(void *dst, const float *x, int64_t n)
{
	BlockQ8_0 *b = dst;
	for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0) {
		float amax = 0;
		for (int j = 0; j < QK8_0; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		float d = amax / 127, id = d != 0 ? 1 / d : 0;
		b->d = f32_to_f16(d);
		for (int j = 0; j < QK8_0; j++)
			b->qs[j] = (int8_t)roundf(x[j] * id);
	}
}

/* Q4_0: the element of largest magnitude, with its sign, maps to -8;
 * q = trunc(x / d + 8.5) capped at 15, so the opposite extreme gets 15. */
static void q4_0_row(void *dst, const float *x, int64_t n)
{
	BlockQ4_0 *b = dst;
	for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
		float amax = 0, max = 0;
		for (int j = 0; j < QK4_0; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		float d = max / -8, id = d != 0 ? 1 / d : 0;
		b->d = f32_to_f16(d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + QK4_0 / 2] * id + 8.5f);
			b->qs[j] = (uint8_t)((lo < 15 ? lo : 15) | (hi < 15 ? hi : 15) << 4);
		}
	}
}

/* ---- Q4_K and Q5_K: asymmetric sub-blocks of 32, x ~ scale * q - min */

/* Levels q[0..32) in [0, nmax] and a scale and min (returned, min >= 0 as
 * subtracted) for x ~ scale * q - min, minimising sum w (scale q - min - x)^2:
 * start from the plain min..max grid, then try nstep + 1 grids of
 * nmax + rmin + rdelta * k steps, each followed by the least-squares scale
 * and min for its levels (min clamped at 0 from above, as the format
 * stores min as a subtracted non-negative number). */
static float fit_scale_min(int nmax, const float *x, const float *w, uint8_t *q, float *min_out,
			   float rmin, float rdelta, int nstep)
{
	enum { N = 32 };
	float min = x[0], max = x[0], sum_w = 0, sum_x = 0;
	for (int i = 0; i < N; i++) {
		min = fminf(min, x[i]);
		max = fmaxf(max, x[i]);
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(q, 0, N);
		*min_out = -min;
		return 0;
	}
	float iscale = nmax / (max - min), scale = 1 / iscale, best = 0;
	for (int i = 0; i < N; i++) {
		q[i] = (uint8_t)clampi(nearest(iscale * (x[i] - min)), 0, nmax);
		float e = scale * q[i] + min - x[i];
		best += w[i] * e * e;
	}
	for (int k = 0; k <= nstep; k++) {
		uint8_t cand[N];
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;
		iscale = (rmin + rdelta * k + nmax) / (max - min);
		for (int i = 0; i < N; i++) {
			int l = clampi(nearest(iscale * (x[i] - min)), 0, nmax);
			cand[i] = (uint8_t)l;
			sum_l += w[i] * l;
			sum_l2 += w[i] * l * l;
			sum_xl += w[i] * l * x[i];
		}
		float det = sum_w * sum_l2 - sum_l * sum_l;
		if (det <= 0)
			continue;
		float s = (sum_w * sum_xl - sum_x * sum_l) / det;
		float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
		if (m > 0) {
			m = 0;
			s = sum_xl / sum_l2;
		}
		float err = 0;
		for (int i = 0; i < N; i++) {
			float e = s * cand[i] + m - x[i];
			err += w[i] * e * e;
		}
		if (err < best) {
			memcpy(q, cand, N);
			best = err;
			scale = s;
			min = m;
		}
	}
	*min_out = -min;
	return scale;
}

/* One Q4_K/Q5_K super-block: the 8 sub-blocks' scales and mins as 6-bit
 * multiples of d and dmin (packed as wtype.c's scale_min_k4 unpacks them),
 * and the levels L[256] in [0, nmax] recomputed against the stored scales. */
static void k4_super_block(const float *x, int nmax, float rmin, int nstep, uint16_t *d16,
			   uint16_t *dmin16, uint8_t scales[12], uint8_t L[QK_K])
{
	float sc[8], mn[8], max_sc = 0, max_mn = 0;
	for (int j = 0; j < 8; j++) {
		const float *xs = x + 32 * j;
		float w[32], sum_x2 = 0;
		for (int l = 0; l < 32; l++)
			sum_x2 += xs[l] * xs[l];
		float av = sqrtf(sum_x2 / 32);
		for (int l = 0; l < 32; l++)
			w[l] = av + fabsf(xs[l]);
		sc[j] = fit_scale_min(nmax, xs, w, L + 32 * j, &mn[j], rmin, 0.1f, nstep);
		max_sc = fmaxf(max_sc, sc[j]);
		max_mn = fmaxf(max_mn, mn[j]);
	}
	float inv_sc = max_sc > 0 ? 63 / max_sc : 0, inv_mn = max_mn > 0 ? 63 / max_mn : 0;
	int ls[8], lm[8];
	memset(scales, 0, 12);
	for (int j = 0; j < 8; j++) {
		ls[j] = clampi(nearest(inv_sc * sc[j]), 0, 63);
		lm[j] = clampi(nearest(inv_mn * mn[j]), 0, 63);
		if (j < 4) {
			scales[j] = (uint8_t)ls[j];
			scales[j + 4] = (uint8_t)lm[j];
		} else {
			scales[j + 4] = (uint8_t)((ls[j] & 15) | (lm[j] & 15) << 4);
			scales[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
			scales[j] |= (uint8_t)((lm[j] >> 4) << 6);
		}
	}
	*d16 = f32_to_f16(max_sc / 63);
	*dmin16 = f32_to_f16(max_mn / 63);
	float d = f16_to_f32(*d16), dmin = f16_to_f32(*dmin16);
	for (int j = 0; j < 8; j++) {
		float ds = d * ls[j], dm = dmin * lm[j];
		if (ds == 0)
			continue;
		for (int l = 0; l < 32; l++)
			L[32 * j + l] = (uint8_t)clampi(nearest((x[32 * j + l] + dm) / ds), 0, nmax);
	}
}

static void q4_k_row(void *dst, const float *x, int64_t n)
{
	BlockQ4_K *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K];
		k4_super_block(x, 15, -1.0f, 20, &b->d, &b->dmin, b->scales, L);
		/* 32 bytes a pair of sub-blocks: low nibbles the first */
		for (int p = 0; p < 4; p++)
			for (int l = 0; l < 32; l++)
				b->qs[32 * p + l] = (uint8_t)(L[64 * p + l] | L[64 * p + 32 + l] << 4);
	}
}

static void q5_k_row(void *dst, const float *x, int64_t n)
{
	BlockQ5_K *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K];
		k4_super_block(x, 31, -0.5f, 15, &b->d, &b->dmin, b->scales, L);
		memset(b->qh, 0, sizeof b->qh);
		/* as Q4_K, the fifth bits of sub-blocks 2p and 2p + 1 in bits 2p
		 * and 2p + 1 of qh[l] */
		for (int p = 0; p < 4; p++)
			for (int l = 0; l < 32; l++) {
				int lo = L[64 * p + l], hi = L[64 * p + 32 + l];
				b->qh[l] |= (uint8_t)((lo >> 4) << (2 * p) | (hi >> 4) << (2 * p + 1));
				b->qs[32 * p + l] = (uint8_t)((lo & 15) | (hi & 15) << 4);
			}
	}
}

/* ---- Q6_K: symmetric sub-blocks of 16, x ~ d * sc * (q - 32) */

/* Levels L[0..n) in [0, 2 nmax) (offset by nmax) and the scale for
 * x ~ scale * (L - nmax), weighting each element by x^2: the scale that
 * maps the largest magnitude, with its sign, to -nmax, and 18 neighbours
 * (nmax +- 0.1k), keeping the one whose least-squares fit explains most. */
static float fit_scale_sym(int n, int nmax, const float *x, int8_t *L)
{
	float amax = 0, max = 0;
	for (int i = 0; i < n; i++)
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	if (amax < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	float scale = 0, best = 0;
	for (int k = 0; k <= 18; k++) {
		/* k = 0 is the plain scale, then nmax - 0.9 .. nmax + 0.9 */
		int step = k == 0 ? 0 : k <= 9 ? k - 10 : k - 9;
		float iscale = -(nmax + 0.1f * step) / max;
		float sum_lx = 0, sum_l2 = 0;
		for (int i = 0; i < n; i++) {
			int l = clampi(nearest(iscale * x[i]), -nmax, nmax - 1);
			float w = x[i] * x[i];
			sum_lx += w * x[i] * l;
			sum_l2 += w * l * l;
		}
		if (k > 0 && !(sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2))
			continue;
		for (int i = 0; i < n; i++)
			L[i] = (int8_t)(nmax + clampi(nearest(iscale * x[i]), -nmax, nmax - 1));
		scale = sum_l2 != 0 ? sum_lx / sum_l2 : 0;
		best = scale * sum_lx;
	}
	return scale;
}

static void q6_k_row(void *dst, const float *x, int64_t n)
{
	BlockQ6_K *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		int8_t L[QK_K];
		float sc[16], max_sc = 0, amax_sc = 0;
		for (int s = 0; s < 16; s++) {
			sc[s] = fit_scale_sym(16, 32, x + 16 * s, L + 16 * s);
			if (fabsf(sc[s]) > amax_sc) {
				amax_sc = fabsf(sc[s]);
				max_sc = sc[s];
			}
		}
		memset(b, 0, sizeof *b);
		if (amax_sc < GROUP_EPS)
			continue;
		/* the scales as signed 8-bit multiples of d, the largest -128 */
		float iscale = -128 / max_sc;
		b->d = f32_to_f16(1 / iscale);
		float d = f16_to_f32(b->d);
		for (int s = 0; s < 16; s++) {
			b->scales[s] = (int8_t)clampi(nearest(iscale * sc[s]), -128, 127);
			float ds = d * b->scales[s];
			if (ds == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * s + l] = (int8_t)(32 + clampi(nearest(x[16 * s + l] / ds), -32, 31));
		}
		/* the layout wtype.c's q6_k_row reads: per half of 128, ql[l]
		 * holds elements l and l + 64 (low nibbles), ql[l + 32] elements
		 * l + 32 and l + 96, qh[l] the top two bits of all four */
		for (int h = 0; h < 2; h++) {
			const int8_t *q = L + 128 * h;
			uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
			for (int l = 0; l < 32; l++) {
				ql[l] = (uint8_t)((q[l] & 15) | (q[l + 64] & 15) << 4);
				ql[l + 32] = (uint8_t)((q[l + 32] & 15) | (q[l + 96] & 15) << 4);
				qh[l] = (uint8_t)(q[l] >> 4 | (q[l + 32] >> 4) << 2 | (q[l + 64] >> 4) << 4 |
						  (q[l + 96] >> 4) << 6);
			}
		}
	}
}

const QuantizeRowFn quantize_row[WT_COUNT] = {
	[WT_F32] = f32_row,
	[WT_F16] = f16_row,
	[WT_BF16] = bf16_row,
	[WT_Q8_0] = q8_0_row,
	[WT_Q4_0] = q4_0_row,
	[WT_Q4_K] = q4_k_row,
	[WT_Q5_K] = q5_k_row,
	[WT_Q6_K] = q6_k_row,
};
