/* t_ops.c: attend() against a double-precision reference, with more query
 * rows than one block (ATTEND_ROWS) and keys already in the cache, so the
 * causal mask of every block and the block edges are exercised (the golden
 * checkpoints have too few tokens for that), on every instruction set the
 * CPU has (our kernels, or sgemm for portable code) and head sizes that
 * are not a multiple of the 16-lane vectors. */
#include <stdint.h>
#include <stdlib.h>

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

/* n query rows of the second of three heads, each group rows at one
 * position from p0 on, against the second of two KV heads: the strides
 * matter. */
static void check_attend_on(Compute *c, int n, int group, int p0, int D)
{
	const int QS = 3 * D, KVS = 2 * D;
	float *q = malloc(sizeof(float) * n * QS), *out = calloc((size_t)n * QS, sizeof(float));
	float *k = malloc(sizeof(float) * (p0 + n) * KVS), *v = malloc(sizeof(float) * (p0 + n) * KVS);
	int panels = (p0 + n + GEMM_PANEL - 1) / GEMM_PANEL;
	float *kc = malloc(sizeof(float) * panels * KEY_PANEL_FLOATS(2, D));
	float *scores = malloc(sizeof(float) * ATTEND_ROWS * (p0 + n));
	double *ref = malloc(sizeof(double) * D), worst = 0;
	for (int i = 0; i < n * QS; i++)
		q[i] = 3 * uniform();
	for (int i = 0; i < (p0 + n) * KVS; i++) {
		k[i] = uniform();
		v[i] = uniform();
	}
	for (int pos = 0; pos < p0 + n; pos++)
		key_put(kc, 2, D, pos, k + pos * KVS);
	attend(c, out + D, q + D, QS, kc + key_at(2, D, 0, 1), KEY_PANEL_FLOATS(2, D), v + D, KVS,
	       n, group, p0, D, 0.25f, scores);
	for (int i = 0; i < n; i++) {
		reference(ref, q + i * QS + D, k + D, v + D, KVS, p0 + i / group + 1, D, 0.25);
		for (int t = 0; t < D; t++) {
			double e = fabs(out[i * QS + D + t] - ref[t]);
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
	free(scores);
}

static void check_attend(int n, int group, int p0)
{
	static const int dims[] = {32, 40, 8, 128};
	for (Isa isa = ISA_PORTABLE; isa < ISA_COUNT; isa++) {
		Compute *c;
		if (!isa_supported(isa) || compute_new(&c, 1, PREC_F32, isa))
			continue;
		for (size_t i = 0; i < sizeof dims / sizeof *dims; i++)
			check_attend_on(c, n, group, p0, dims[i]);
		compute_free(c);
	}
}

/* several blocks, with keys already in the cache; one row (decode); the 8
 * query heads of one KV head at one position (decode, grouped); 3 heads at
 * each of many positions, over block edges */
TEST(ops_attend_blocks) { check_attend(2 * ATTEND_ROWS + 5, 1, 9); }
TEST(ops_attend_one_row) { check_attend(1, 1, 40); }
TEST(ops_attend_group) { check_attend(8, 8, 40); }
TEST(ops_attend_groups_blocks) { check_attend(2 * ATTEND_ROWS + 6, 3, 5); }

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
