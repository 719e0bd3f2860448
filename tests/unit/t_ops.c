/* t_ops.c: attend() against a double-precision reference, with more query
 * rows than one block (ATTEND_ROWS) and keys already in the cache, so the
 * causal mask of every block and the block edges are exercised; the golden
 * checkpoints have too few tokens for that. */
#include <stdint.h>
#include <stdlib.h>

#include "ops.h"
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

TEST(ops_attend_blocks)
{
	enum { D = 32, QSTRIDE = 3 * D, KVSTRIDE = 2 * D, P0 = 9, N = 2 * ATTEND_ROWS + 5 };
	float *q = malloc(sizeof(float) * N * QSTRIDE), *out = calloc(N * QSTRIDE, sizeof(float));
	float *k = malloc(sizeof(float) * (P0 + N) * KVSTRIDE), *v = malloc(sizeof(float) * (P0 + N) * KVSTRIDE);
	float *scores = malloc(sizeof(float) * ATTEND_ROWS * (P0 + N));
	double ref[D], worst = 0;
	for (int i = 0; i < N * QSTRIDE; i++)
		q[i] = 3 * uniform();
	for (int i = 0; i < (P0 + N) * KVSTRIDE; i++) {
		k[i] = uniform();
		v[i] = uniform();
	}
	/* the second head of q and out, the second KV head: strides matter */
	attend(out + D, q + D, QSTRIDE, k + D, v + D, KVSTRIDE, N, P0, D, 0.25f, scores);
	for (int i = 0; i < N; i++) {
		reference(ref, q + i * QSTRIDE + D, k + D, v + D, KVSTRIDE, P0 + i + 1, D, 0.25);
		for (int t = 0; t < D; t++) {
			double e = fabs(out[i * QSTRIDE + D + t] - ref[t]);
			worst = e > worst ? e : worst;
		}
		CHECK(out[i * QSTRIDE] == 0 && out[i * QSTRIDE + 2 * D] == 0);   /* other heads untouched */
	}
	CHECK(worst < 1e-5);
	free(q);
	free(out);
	free(k);
	free(v);
	free(scores);
}
