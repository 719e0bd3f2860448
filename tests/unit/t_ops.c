/* t_ops.c: attend() against a double-precision reference, with more query
 * rows than one block (ATTEND_ROWS) and keys already in the cache, so the
 * causal mask of every block and the block edges are exercised (the golden
 * checkpoints have too few tokens for that), on every instruction set the
 * CPU has (our kernels, or sgemm for portable code), head sizes that are
 * not a multiple of the 16-lane vectors, and every cache type: the
 * reference takes the keys and values as stored (rounded or quantised by
 * kv.c, dequantised by wtype.c), so the kernels' reading of each layout is
 * checked to f32 accuracy, not just "close". */
#include <stdint.h>
#include <stdlib.h>

#include "kernels/kv.h"
#include "kernels/ops.h"
#include "test.h"

static uint64_t rng = 2463534242ull;

static float uniform(void)      /* [-1, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

/* Row i of one head, in double: position p0 + i sees keys 0..p0+i. */
static void reference(double *out, const float *q, const float *k, const float *v,
		      int64_t kvstride, int npos, int d, double scale)
{
	double *p = malloc((size_t)npos * sizeof *p), max = -INFINITY, sum = 0;
	for (int j = 0; j < npos; j++) {
		double s = 0;
		for (int t = 0; t < d; t++)
			s += (double)q[t] * k[j * kvstride + t];
		p[j] = s * scale;
		max = p[j] > max ? p[j] : max;
	}
	for (int j = 0; j < npos; j++)
		sum += (p[j] = exp(p[j] - max));
	for (int t = 0; t < d; t++) {
		out[t] = 0;
		for (int j = 0; j < npos; j++)
			out[t] += p[j] / sum * v[j * kvstride + t];
	}
	free(p);
}

/* x[n] as stored in type t and read back (n a multiple of 32 for q8_0) */
static void stored(float *x, WType t, int64_t n)
{
	char *row = malloc((size_t)kv_row_bytes(t, n));
	value_put(row, t, x, n);
	wtype_info[t].to_f32(x, row, n);
	free(row);
}

/* n query rows of the second of three heads, each group rows at one
 * position from p0 on, against the second of two KV heads: the strides
 * matter. */
static void check_attend_on(Compute *c, int n, int group, int p0, int D, WType t)
{
	const int QS = 3 * D, KVS = 2 * D;
	int64_t vrow = kv_row_bytes(t, KVS);
	float *q = malloc(sizeof(float) * n * QS), *out = calloc((size_t)n * QS, sizeof(float));
	float *k = malloc(sizeof(float) * (p0 + n) * KVS), *v = malloc(sizeof(float) * (p0 + n) * KVS);
	int panels = (p0 + n + GEMM_PANEL - 1) / GEMM_PANEL;
	char *kc = malloc((size_t)(panels * KEY_PANEL_BYTES(t, 2, D)));
	char *vc = malloc((size_t)((p0 + n) * vrow));
	float *scores = malloc(sizeof(float) * ATTEND_ROWS * (p0 + n));
	double *ref = malloc(sizeof(double) * D), worst = 0;
	for (int i = 0; i < n * QS; i++)
		q[i] = 3 * uniform();
	for (int i = 0; i < (p0 + n) * KVS; i++) {
		k[i] = uniform();
		v[i] = uniform();
	}
	for (int pos = 0; pos < p0 + n; pos++) {
		key_put(kc, t, 2, D, pos, k + pos * KVS);
		value_put(vc + pos * vrow, t, v + pos * KVS, KVS);
		stored(k + pos * KVS, t, KVS);
		stored(v + pos * KVS, t, KVS);
	}
	attend(c, out + D, q + D, QS, kc + key_at(t, 2, D, 0, 1), kv_layout(t, 0),
	       KEY_PANEL_BYTES(t, 2, D), vc + kv_row_bytes(t, D), kv_layout(t, 1), vrow, n, group,
	       p0, D, 0.25f, scores);
	for (int i = 0; i < n; i++) {
		reference(ref, q + i * QS + D, k + D, v + D, KVS, p0 + i / group + 1, D, 0.25);
		for (int j = 0; j < D; j++) {
			double e = fabs(out[i * QS + D + j] - ref[j]);
			worst = e > worst ? e : worst;
		}
		CHECK(out[i * QS] == 0 && out[i * QS + 2 * D] == 0);   /* other heads untouched */
	}
	CHECK(worst < 1e-5);
	free(ref);
	free(q);
	free(out);
	free(k);
	free(kc);
	free(v);
	free(vc);
	free(scores);
}

/* every head size and cache type on one instruction set (the harness
 * reports the sets this CPU lacks as skips) */
static void check_attend(Isa isa, int n, int group, int p0)
{
	static const int dims[] = {32, 40, 8, 128};
	static const WType types[] = {WT_F32, WT_F16, WT_BF16, WT_Q8_0};
	Compute *c;
	CHECK(compute_new(&c, 1, PREC_F32, isa) == 0);
	if (test_failed)
		return;
	for (size_t i = 0; i < sizeof dims / sizeof *dims; i++)
		for (size_t t = 0; t < sizeof types / sizeof *types; t++)
			if (types[t] != WT_Q8_0 || dims[i] % QK8_0 == 0)
				check_attend_on(c, n, group, p0, dims[i], types[t]);
	compute_free(c);
}

/* several blocks, with keys already in the cache; one row (decode); the 8
 * query heads of one KV head at one position (decode, grouped); 3 heads at
 * each of many positions, over block edges */
TEST_ISA(ops_attend_blocks) { check_attend(isa, 2 * ATTEND_ROWS + 5, 1, 9); }
TEST_ISA(ops_attend_one_row) { check_attend(isa, 1, 1, 40); }
TEST_ISA(ops_attend_group) { check_attend(isa, 8, 8, 40); }
TEST_ISA(ops_attend_groups_blocks) { check_attend(isa, 2 * ATTEND_ROWS + 6, 3, 5); }

TEST(kv_f16_bf16_rounding)
{
	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = f16_to_f32((uint16_t)h);
		if (f == f)
			CHECK(kv_f16(f) == h);
		if ((h & 0x7fff) < 0x7bff) {
			float mid = (f + f16_to_f32((uint16_t)(h + 1))) / 2;
			CHECK(kv_f16(mid) == (h & 1 ? h + 1 : h));
		}
	}
	for (int i = 0; i < 100000; i++) {
		float f = uniform() * ldexpf(1, (int)(uniform() * 40));
		float r = f16_to_f32(kv_f16(f)), b = bf16_to_f32(kv_bf16(f));
		CHECK(fabsf(r - f) <= fabsf(f) * 0x1p-11f + 0x1p-25f || fabsf(f) >= 65520);
		CHECK(fabsf(b - f) <= fabsf(f) * 0x1p-8f);
	}
	CHECK(kv_f16(65520.0f) == 0x7c00 && kv_f16(65519.0f) == 0x7bff && kv_f16(-1e-8f) == 0x8000);
}

/* The vector exp inside softmax and SwiGLU against libm in double, over
 * the whole range (clamped ends included), with a tail. Relative error a
 * few ulp per unit of exp's argument: rounding the argument (x - max, -g)
 * to f32 alone costs |argument| · 2^-24, as it did with libm's expf. */
TEST(ops_softmax_swiglu)
{
	enum { N = 203 };
	float x[N], g[N], u[N];
	double e[N], sum = 0, max = -INFINITY, worst = 0, worst_silu = 0;
	for (int i = 0; i < N; i++) {
		x[i] = 40 * uniform();
		g[i] = i < 10 ? 120.0f * (float)(i - 5) : 30 * uniform();   /* overflow of exp(-g) too */
		u[i] = uniform();
		max = x[i] > max ? x[i] : max;
	}
	for (int i = 0; i < N; i++)
		sum += (e[i] = exp((double)x[i] - max));
	softmax(x, N);
	for (int i = 0; i < N; i++)
		worst = fmax(worst, fabs(x[i] - e[i] / sum) / (e[i] / sum) / (1 + log(sum) - log(e[i])));
	CHECK(worst < 5e-7);
	float g2[N];
	memcpy(g2, g, sizeof g);
	swiglu(g2, u, N);
	for (int i = 0; i < N; i++) {
		double s = (double)g[i] / (1 + exp(-(double)g[i])) * u[i];
		worst_silu = fmax(worst_silu, fabs(g2[i] - s) / (fabs(s) + 1e-30) / (1 + fabs(g[i])));
	}
	CHECK(worst_silu < 5e-7);
	float one[1] = { 3.0f };
	softmax(one, 1);
	CHECK(one[0] == 1.0f);
}
