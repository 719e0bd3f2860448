/* t_sample.c: the sampler (lib/sample/sample.h) against the definitions: exact
 * kept sets, exact penalty amounts, and the draw's empirical distribution
 * (chi-square) against a plain reference implementation written here; and
 * sampler_proc (a sampler process over pipes) with shell commands as the
 * child. */
#include "test.h"
#include "base/err.h"
#include "sample/sample.h"
#include "model/sampler_proc.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static SampleParams params(double temp, int k, double top_p, double min_p)
{
	SampleParams p;
	sample_params_default(&p);
	p.temperature = temp;
	p.top_k = k;
	p.top_p = top_p;
	p.min_p = min_p;
	p.seed = 42;
	return p;
}

/* Probability of each id 0..n-1 under the sampler's next distribution
 * (0 for ids it would never draw); returns the number kept, -1 on error. */
static int dist(Sampler *s, const int32_t *ids, const float *v, uint32_t n, double *prob, uint32_t nprob)
{
	int32_t out_ids[64];
	double out_p[64];
	size_t m;

	for (uint32_t i = 0; i < nprob; i++)
		prob[i] = 0;
	if (n > 64 || sampler_probs(s, ids, v, n, out_ids, out_p, &m))
		return -1;
	for (size_t i = 0; i < m; i++)
		prob[out_ids[i]] = out_p[i];
	return (int)m;
}

/* The kept set as a bit mask (ids < 32), or -1 on error. */
static long kept_mask(const SampleParams *p, const float *v, uint32_t n)
{
	Sampler *s;
	double prob[64];
	long mask = 0;

	if (sampler_new(&s, p))
		return -1;
	int m = dist(s, NULL, v, n, prob, n);
	sampler_free(s);
	if (m < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (prob[i] > 0)
			mask |= 1L << i;
	return mask;
}

#define BIT(i) (1L << (i))

/* The definition, computed the plain way: rank everything (probability,
 * then id), cut with top-k, then top-p renormalised over the kept, then
 * min-p; prob[i] is id i's final probability. */
static void reference(const float *l, int n, double temp, int k, double top_p, double min_p, double *prob)
{
	int order[64];
	double p[64], lmax = -INFINITY, z = 0;

	for (int i = 0; i < n; i++)
		lmax = l[i] > lmax ? l[i] : lmax;
	for (int i = 0; i < n; i++) {
		p[i] = exp((l[i] - lmax) / temp);
		z += p[i];
		order[i] = i;
	}
	for (int i = 0; i < n; i++)
		p[i] /= z;
	for (int i = 1; i < n; i++)             /* insertion sort: p desc, id asc */
		for (int j = i; j > 0 && (p[order[j]] > p[order[j - 1]] ||
		     (p[order[j]] == p[order[j - 1]] && order[j] < order[j - 1])); j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	int keep = k > 0 && k < n ? k : n;
	double sum = 0, cum = 0;
	for (int j = 0; j < keep; j++)
		sum += p[order[j]];
	if (top_p < 1) {
		int j = 0;
		while (j < keep) {
			cum += p[order[j++]] / sum;
			if (cum >= top_p)
				break;
		}
		keep = j;
	}
	double total = 0;
	for (int i = 0; i < n; i++)
		prob[i] = 0;
	for (int j = 0; j < keep; j++)
		if (p[order[j]] >= min_p * p[order[0]]) {
			prob[order[j]] = p[order[j]];
			total += p[order[j]];
		}
	for (int i = 0; i < n; i++)
		prob[i] /= total;
}

/* Logits of the probabilities q (natural log). */
static void logits_of(const double *q, int n, float *l)
{
	for (int i = 0; i < n; i++)
		l[i] = (float)log(q[i]);
}

/* A small deterministic generator for test inputs (not the one under test). */
static double lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005u + 1442695040888963407u;
	return (double)(*x >> 11) / 9007199254740992.0;
}

/* ---- the RNG ------------------------------------------------------------- */

TEST(sample_rng_splitmix64)
{
	/* published test vector: splitmix64 from seed 1234567 */
	uint64_t st = 1234567;
	const uint64_t want[] = { 6457827717110365317u, 3203168211198807973u, 9817491932198370423u,
	                          4593380528125082431u, 16408922859458223821u };
	for (int i = 0; i < 5; i++)
		CHECK(splitmix64(&st) == want[i]);
}

TEST(sample_rng_xoshiro256ss)
{
	/* the reference implementation's output from state {1, 2, 3, 4} */
	Rng r = { { 1, 2, 3, 4 } };
	const uint64_t want[] = { 11520u, 0u, 1509978240u, 1215971899390074240u,
	                          1216172134540287360u, 607988272756665600u };
	for (int i = 0; i < 6; i++)
		CHECK(rng_next(&r) == want[i]);
}

TEST(sample_rng_uniform)
{
	Rng a, b;
	double sum = 0;
	int same = 1;

	rng_seed(&a, 7);
	rng_seed(&b, 7);
	for (int i = 0; i < 1000000; i++) {
		double u = rng_uniform(&a);
		CHECK(u >= 0 && u < 1);
		same &= u == rng_uniform(&b);
		sum += u;
	}
	CHECK(same);
	CHECK_NEAR(sum / 1e6, 0.5, 0.002);      /* sd of the mean: 0.00029 */
	rng_seed(&b, 8);
	CHECK(rng_next(&a) != rng_next(&b));
}

/* ---- parameters ----------------------------------------------------------- */

TEST(sample_params_ranges)
{
	SampleParams p;
	sample_params_default(&p);
	CHECK_EQ_INT(sample_param_set(&p, "temperature", 0), 0);
	CHECK_EQ_INT(sample_param_set(&p, "top_p", 1), 0);
	CHECK_EQ_INT(sample_param_set(&p, "top_k", 40), 0);
	CHECK_EQ_INT(p.top_k, 40);
	CHECK_EQ_INT(sample_param_set(&p, "repeat_last_n", -1), 0);
	CHECK_EQ_INT(p.repeat_last_n, -1);
	CHECK_EQ_INT(sample_param_set(&p, "presence_penalty", -1.5), 0);

	struct { const char *name; double v; } bad[] = {
		{ "temperature", -0.1 }, { "temperature", INFINITY }, { "temperature", NAN },
		{ "top_p", 1.5 }, { "top_p", -0.1 }, { "top_k", 2.5 }, { "top_k", -1 },
		{ "min_p", 1.01 }, { "repetition_penalty", 0 }, { "repetition_penalty", -1 },
		{ "repeat_last_n", -2 }, { "frequency_penalty", INFINITY }, { "top_q", 1 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		SampleParams q = p;
		CHECK_EQ_INT(sample_param_set(&q, bad[i].name, bad[i].v), ERR_DATA);
		CHECK(!memcmp(&q, &p, sizeof p));       /* unchanged */
		CHECK(strstr(err_msg(), bad[i].name));
	}
	sample_param_set(&p, "top_p", 1.5);
	CHECK_EQ_STR(err_msg(), "top_p must be in [0, 1], not 1.5");
}

TEST(sample_params_bias)
{
	SampleParams p;
	sample_params_default(&p);
	CHECK_EQ_INT(sample_params_bias(&p, 9, 1), 0);
	CHECK_EQ_INT(sample_params_bias(&p, 2, -INFINITY), 0);
	CHECK_EQ_INT(sample_params_bias(&p, 5, 3), 0);
	CHECK_EQ_INT(sample_params_bias(&p, 9, -2), 0);         /* replaces */
	CHECK_EQ_INT(p.nbias, 3);
	CHECK(p.nbias == 3 && p.bias[0].id == 2 && p.bias[1].id == 5 && p.bias[2].id == 9);
	CHECK(p.nbias == 3 && p.bias[2].bias == -2);
	CHECK_EQ_INT(sample_params_bias(&p, -1, 1), ERR_DATA);
	CHECK_EQ_INT(sample_params_bias(&p, 1, INFINITY), ERR_DATA);
	CHECK_EQ_INT(sample_params_bias(&p, 1, NAN), ERR_DATA);
	CHECK_EQ_INT(p.nbias, 3);
	sample_params_free(&p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(sample_params_load)
{
	char dir[] = "/tmp/t_sample.XXXXXX", path[64], official[512];
	SampleParams p;

	snprintf(official, sizeof official, "%s/sample", test_data_dir);
	sample_params_default(&p);
	p.temperature = p.top_p = 0.5;
	p.repeat_penalty = 2;
	CHECK_EQ_INT(sample_params_load(&p, official), 0);
	CHECK(p.temperature == 0.8 && p.top_p == 0.8 && p.repeat_penalty == 1.0);
	CHECK(p.presence_penalty == 0 && p.frequency_penalty == 0 && p.top_k == 0);

	CHECK(mkdtemp(dir) != NULL);
	sample_params_default(&p);
	p.temperature = 0.3;
	CHECK_EQ_INT(sample_params_load(&p, dir), 0);           /* no file: unchanged */
	CHECK(p.temperature == 0.3);

	snprintf(path, sizeof path, "%s/generation_config.json", dir);
	write_file(path, "{\"do_sample\": false, \"top_k\": 20, \"min_p\": null}\n");
	CHECK_EQ_INT(sample_params_load(&p, dir), 0);
	CHECK(p.temperature == 0 && p.top_k == 20 && p.min_p == 0);

	write_file(path, "{\n  \"temperature\": 0.7,\n  \"top_p\": 1.5\n}\n");
	sample_params_default(&p);
	CHECK_EQ_INT(sample_params_load(&p, dir), ERR_DATA);
	CHECK(strstr(err_msg(), "generation_config.json:3:") && strstr(err_msg(), "top_p"));
	CHECK(p.temperature == 0.8);                            /* all or nothing */

	write_file(path, "{\"temperature\": \"hot\"}");
	CHECK_EQ_INT(sample_params_load(&p, dir), ERR_DATA);
	unlink(path);
	rmdir(dir);
	CHECK_EQ_INT(sample_params_load(&p, dir), ERR_IO);      /* no directory */
}

/* ---- greedy --------------------------------------------------------------- */

TEST(sample_greedy)
{
	const float v[] = { 1, 5, -INFINITY, 5, 2 };
	const int32_t ids[] = { 7, 3, 12 };
	const float sv[] = { 2, 9, 9 };
	SampleParams p = params(0, 0, 0.8, 0);
	Sampler *s;
	int32_t id;

	for (uint64_t seed = 1; seed < 4; seed++) {
		p.seed = seed;
		CHECK_EQ_INT(sampler_new(&s, &p), 0);
		CHECK_EQ_INT(sampler_next(s, NULL, v, 5, &id), 0);
		CHECK_EQ_INT(id, 1);            /* a tie goes to the lower id */
		CHECK_EQ_INT(sampler_next(s, ids, sv, 3, &id), 0);
		CHECK_EQ_INT(id, 3);
		sampler_free(s);
	}
}

/* ---- the kept sets -------------------------------------------------------- */

TEST(sample_top_k_exact)
{
	const float v[] = { 1, 3, 2, 5, 4 };
	const float tie[] = { 2, 1, 2, 2 };
	SampleParams p = params(1, 2, 1, 0);

	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(3) | BIT(4));
	p.top_k = 1;
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(3));
	p.top_k = 4;
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(1) | BIT(2) | BIT(3) | BIT(4));
	p.top_k = 5;
	CHECK_EQ_INT(kept_mask(&p, v, 5), 0x1f);
	p.top_k = 50;
	CHECK_EQ_INT(kept_mask(&p, v, 5), 0x1f);
	p.top_k = 2;                    /* exactly k on a tie: the lower ids */
	CHECK_EQ_INT(kept_mask(&p, tie, 4), BIT(0) | BIT(2));
}

TEST(sample_top_p_exact)
{
	/* probabilities 0.05 0.4 0.1 0.3 0.15: ranked 1, 3, 4, 2, 0 */
	const double q[] = { 0.05, 0.4, 0.1, 0.3, 0.15 };
	struct { double p; long mask; } cases[] = {
		{ 0, BIT(1) }, { 0.39, BIT(1) }, { 0.41, BIT(1) | BIT(3) },
		{ 0.69, BIT(1) | BIT(3) }, { 0.71, BIT(1) | BIT(3) | BIT(4) },
		{ 0.84, BIT(1) | BIT(3) | BIT(4) }, { 0.86, BIT(1) | BIT(3) | BIT(4) | BIT(2) },
		{ 0.96, 0x1f }, { 1, 0x1f },
	};
	float v[5];
	logits_of(q, 5, v);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		SampleParams p = params(1, 0, cases[i].p, 0);
		long got = kept_mask(&p, v, 5);
		if (got != cases[i].mask)
			printf("  top_p %g: kept 0x%lx, expected 0x%lx\n", cases[i].p, got, cases[i].mask);
		CHECK(got == cases[i].mask);
	}
	/* exactly at the boundary: four equal logits, each exactly 1/4 */
	const float flat[] = { 0, 0, 0, 0 };
	SampleParams f = params(1, 0, 0.5, 0);
	CHECK_EQ_INT(kept_mask(&f, flat, 4), BIT(0) | BIT(1));
	f.top_p = 0.75;
	CHECK_EQ_INT(kept_mask(&f, flat, 4), BIT(0) | BIT(1) | BIT(2));
	/* on the tempered distribution: at T = 2 the probabilities are
	 * proportional to sqrt(q): 0.300 0.260 0.184 ..., so 0.58 needs three */
	SampleParams p = params(1, 0, 0.58, 0);
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(1) | BIT(3));
	p.temperature = 2;
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(1) | BIT(3) | BIT(4));
}

TEST(sample_top_k_then_top_p)
{
	/* 0.4 0.3 0.2 0.1, top-k 2 leaves 0.4/0.7 = 0.571 and 0.429: top-p 0.55
	 * keeps one id (over the whole distribution it would keep two) */
	const double q[] = { 0.4, 0.3, 0.2, 0.1 };
	float v[4];
	logits_of(q, 4, v);
	SampleParams p = params(1, 2, 0.55, 0);
	CHECK_EQ_INT(kept_mask(&p, v, 4), BIT(0));
	p.top_p = 0.6;
	CHECK_EQ_INT(kept_mask(&p, v, 4), BIT(0) | BIT(1));
	p.top_k = 0;
	p.top_p = 0.55;
	CHECK_EQ_INT(kept_mask(&p, v, 4), BIT(0) | BIT(1));
}

TEST(sample_min_p_exact)
{
	/* relative to the most probable: 1, 0.5, 0.25, 0.125, 0.125 */
	const double q[] = { 0.5, 0.25, 0.125, 0.0625, 0.0625 };
	float v[5];
	logits_of(q, 5, v);
	SampleParams p = params(1, 0, 1, 0.2);
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(0) | BIT(1) | BIT(2));
	p.min_p = 0.45;
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(0) | BIT(1));
	p.min_p = 0.55;
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(0));
	p.min_p = 0.1;
	CHECK_EQ_INT(kept_mask(&p, v, 5), 0x1f);
	p.min_p = 0.45;                 /* T = 2: 1, 0.71, 0.5, 0.35, 0.35 */
	p.temperature = 2;
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(0) | BIT(1) | BIT(2));
	p.min_p = 0.2;                  /* after top-p 0.7 (ids 0, 1) */
	p.temperature = 1;
	p.top_p = 0.7;
	CHECK_EQ_INT(kept_mask(&p, v, 5), BIT(0) | BIT(1));
}

/* Random logit vectors and settings against the plain reference. */
TEST(sample_matches_reference)
{
	uint64_t x = 12345;
	const double temps[] = { 0.3, 0.8, 1, 1.7 };
	const double tops[] = { 0.1, 0.5, 0.8, 0.95, 1 };
	const double minps[] = { 0, 0.05, 0.3 };
	int bad = 0;

	for (int trial = 0; trial < 300; trial++) {
		uint32_t n = 2 + (uint32_t)(lcg(&x) * 40);
		float v[64];
		double want[64], got[64];
		for (uint32_t i = 0; i < n; i++)
			v[i] = (float)(lcg(&x) * 8 - 4);
		SampleParams p = params(temps[trial % 4], (int)(lcg(&x) * 12) % 12,
		                        tops[trial % 5], minps[trial % 3]);
		Sampler *s;
		reference(v, (int)n, p.temperature, p.top_k, p.top_p, p.min_p, want);
		CHECK_EQ_INT(sampler_new(&s, &p), 0);
		CHECK(dist(s, NULL, v, n, got, n) > 0);
		sampler_free(s);
		for (uint32_t i = 0; i < n; i++)
			if ((want[i] > 0) != (got[i] > 0) || fabs(want[i] - got[i]) > 1e-12)
				bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

/* The weights, eight at a time and in the tail: exp to 1e-15 of libm's
 * over the whole range, and exactly 0 from e^-708 down (then dropped). */
TEST(sample_weights_range)
{
	enum { N = 27 };
	float v[N];
	double got[N];
	for (int i = 0; i < N; i++)
		v[i] = -30.0f * (float)i;       /* 0 .. -780 */
	SampleParams p = params(1, 0, 1, 0);
	Sampler *s;
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	CHECK_EQ_INT(dist(s, NULL, v, N, got, N), 24);     /* -690 kept, -720 not */
	sampler_free(s);
	double z = 0;
	for (int i = 0; i < 24; i++)
		z += exp(v[i]);
	for (int i = 0; i < N; i++) {
		double want = i < 24 ? exp(v[i]) / z : 0;
		CHECK(fabs(got[i] - want) <= 1e-15 * want);
	}
}

/* ---- the draw ------------------------------------------------------------- */

/* Upper 0.999 quantile of chi-square with df degrees of freedom
 * (Wilson-Hilferty; z = 3.0902). */
static double chi2_limit(int df)
{
	double a = 2.0 / (9.0 * df);
	double c = 1 - a + 3.0902 * sqrt(a);
	return df * c * c * c;
}

/* Draw many times from one frame and compare with the reference; bins with
 * an expected count under 5 are pooled. Ids never kept must never come. */
static void chi_square(const float *v, uint32_t n, SampleParams p, int draws)
{
	double want[64], chi2 = 0, pool_obs = 0, pool_exp = 0;
	long count[64] = { 0 };
	int bins = 0;
	Sampler *s;
	int32_t id;

	reference(v, (int)n, p.temperature, p.top_k, p.top_p, p.min_p, want);
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	for (int i = 0; i < draws; i++) {
		if (sampler_next(s, NULL, v, n, &id) || id < 0 || (uint32_t)id >= n) {
			CHECK(!"draw failed");
			break;
		}
		count[id]++;
		if (i % 1000 == 999)
			sampler_reset(s);
	}
	sampler_free(s);
	for (uint32_t i = 0; i < n; i++) {
		double e = want[i] * draws;
		if (want[i] == 0) {
			CHECK_EQ_INT(count[i], 0);
		} else if (e < 5) {
			pool_obs += count[i];
			pool_exp += e;
		} else {
			chi2 += (count[i] - e) * (count[i] - e) / e;
			bins++;
		}
	}
	if (pool_exp > 0) {
		chi2 += (pool_obs - pool_exp) * (pool_obs - pool_exp) / pool_exp;
		bins++;
	}
	if (bins > 1 && chi2 > chi2_limit(bins - 1))
		printf("  chi2 %.2f over %d bins, limit %.2f (T %g k %d p %g min_p %g)\n", chi2, bins,
		       chi2_limit(bins - 1), p.temperature, p.top_k, p.top_p, p.min_p);
	CHECK(bins <= 1 || chi2 <= chi2_limit(bins - 1));
}

TEST(sample_chi_square)
{
	const float v[12] = { 1.2f, -0.5f, 3.1f, 2.2f, 0.0f, 2.9f, -2.0f, 1.7f, 0.4f, 2.6f, -1.1f, 1.0f };
	float wide[64];
	uint64_t x = 99;

	chi_square(v, 12, params(0.7, 10, 0.9, 0.02), 200000);
	chi_square(v, 12, params(1.3, 0, 1, 0), 200000);
	chi_square(v, 12, params(1, 0, 0.8, 0), 200000);
	chi_square(v, 12, params(0.5, 5, 1, 0.1), 200000);
	for (int i = 0; i < 64; i++)
		wide[i] = (float)(lcg(&x) * 6);
	chi_square(wide, 64, params(0.8, 0, 0.8, 0), 200000);
}

/* ---- penalties and bias ----------------------------------------------------- */

/* Make the sampler choose these ids (a sparse frame of one id leaves no
 * choice), so they become its history. */
static void choose(Sampler *s, const int32_t *ids, int n)
{
	const float zero = 0;
	int32_t got;
	for (int i = 0; i < n; i++) {
		CHECK_EQ_INT(sampler_next(s, ids + i, &zero, 1, &got), 0);
		CHECK_EQ_INT(got, ids[i]);
	}
}

/* With T = 1 and nothing cut, log(p_i / p_4) is l_i - l_4 after the
 * penalties: compare with the expected adjusted logits. */
static void check_adjusted(Sampler *s, const float *v, const double *want)
{
	double prob[5];
	CHECK_EQ_INT(dist(s, NULL, v, 5, prob, 5), 5);
	for (int i = 0; i < 5; i++) {
		double got = log(prob[i] / prob[4]), exp_ = want[i] - want[4];
		if (fabs(got - exp_) > 1e-9)
			printf("  id %d: adjusted logit difference %.12g, expected %.12g\n", i, got, exp_);
		CHECK(fabs(got - exp_) <= 1e-9);
	}
}

static const float pen_v[5] = { 2, -1, 0.5f, 3, 1 };
static const int32_t pen_hist[4] = { 0, 1, 3, 3 };

TEST(sample_repeat_penalty)
{
	SampleParams p = params(1, 0, 1, 0);
	Sampler *s;

	/* window 3 holds 1 3 3: l > 0 divided, l <= 0 multiplied; 0 left it */
	p.repeat_penalty = 2;
	p.repeat_last_n = 3;
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	choose(s, pen_hist, 4);
	check_adjusted(s, pen_v, (const double[]){ 2, -2, 0.5, 1.5, 1 });
	sampler_free(s);

	p.repeat_last_n = -1;           /* the whole sequence */
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	choose(s, pen_hist, 4);
	check_adjusted(s, pen_v, (const double[]){ 1, -2, 0.5, 1.5, 1 });
	sampler_reset(s);               /* a new sequence: no history */
	check_adjusted(s, pen_v, (const double[]){ 2, -1, 0.5, 3, 1 });
	sampler_free(s);

	p.repeat_last_n = 0;            /* off */
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	choose(s, pen_hist, 4);
	check_adjusted(s, pen_v, (const double[]){ 2, -1, 0.5, 3, 1 });
	sampler_free(s);
}

TEST(sample_presence_frequency_penalty)
{
	SampleParams p = params(1, 0, 1, 0);
	Sampler *s;

	/* over the whole sequence (the window is only the repeat penalty's) */
	p.presence_penalty = 0.5;
	p.frequency_penalty = 0.25;
	p.repeat_last_n = 1;
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	choose(s, pen_hist, 4);
	check_adjusted(s, pen_v, (const double[]){ 1.25, -1.75, 0.5, 2, 1 });
	sampler_free(s);

	/* the repeat penalty first: 3 / 2 - 2 * 0.25 - 0.5 = 0.5 */
	p.repeat_penalty = 2;
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	choose(s, pen_hist, 4);
	check_adjusted(s, pen_v, (const double[]){ 1.25, -1.75, 0.5, 0.5, 1 });
	sampler_free(s);
}

TEST(sample_logit_bias)
{
	SampleParams p = params(1, 0, 1, 0);
	Sampler *s;
	double prob[5];
	int32_t id;

	p.repeat_penalty = 2;
	p.repeat_last_n = -1;
	sample_params_bias(&p, 3, 1);
	sample_params_bias(&p, 0, -0.5);
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	check_adjusted(s, pen_v, (const double[]){ 1.5, -1, 0.5, 4, 1 });
	choose(s, (const int32_t[]){ 3 }, 1);   /* after the penalty: 3 / 2 + 1 */
	check_adjusted(s, pen_v, (const double[]){ 1.5, -1, 0.5, 2.5, 1 });
	sampler_free(s);

	sample_params_bias(&p, 3, -INFINITY);   /* banned */
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	CHECK_EQ_INT(dist(s, NULL, pen_v, 5, prob, 5), 4);
	CHECK(prob[3] == 0);
	sampler_free(s);

	sample_params_bias(&p, 7, 1);           /* past a dense frame of 5 */
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	CHECK_EQ_INT(sampler_next(s, NULL, pen_v, 5, &id), ERR_DATA);
	CHECK(strstr(err_msg(), "id 7"));
	/* a sparse frame without id 7: the bias has nothing to change */
	CHECK_EQ_INT(sampler_next(s, (const int32_t[]){ 2 }, (const float[]){ 0 }, 1, &id), 0);
	CHECK_EQ_INT(id, 2);
	sampler_free(s);
	sample_params_free(&p);
}

/* ---- bad frames ------------------------------------------------------------- */

TEST(sample_bad_frames)
{
	SampleParams p = params(0.8, 0, 0.8, 0);
	Sampler *s;
	int32_t id;

	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	CHECK_EQ_INT(sampler_next(s, NULL, (const float[]){ 1, 2, 3, NAN }, 4, &id), ERR_DATA);
	CHECK(strstr(err_msg(), "id 3") && strstr(err_msg(), "NaN"));
	CHECK_EQ_INT(sampler_next(s, NULL, (const float[]){ 1, INFINITY }, 2, &id), ERR_DATA);
	CHECK(strstr(err_msg(), "id 1") && strstr(err_msg(), "inf"));
	CHECK_EQ_INT(sampler_next(s, NULL, (const float[]){ -INFINITY, -INFINITY }, 2, &id), ERR_DATA);
	CHECK_EQ_INT(sampler_next(s, (const int32_t[]){ 4, 9, 4 }, (const float[]){ 1, 2, 3 }, 3, &id), ERR_DATA);
	CHECK(strstr(err_msg(), "id 4"));
	/* -inf is a mask, not an error */
	CHECK_EQ_INT(sampler_next(s, NULL, (const float[]){ -INFINITY, 0, -INFINITY }, 3, &id), 0);
	CHECK_EQ_INT(id, 1);
	sampler_free(s);

	p.frequency_penalty = -DBL_MAX;         /* 2 * -DBL_MAX overflows */
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	choose(s, (const int32_t[]){ 1, 1 }, 2);
	CHECK_EQ_INT(sampler_next(s, NULL, (const float[]){ 0, 0 }, 2, &id), ERR_DATA);
	CHECK(strstr(err_msg(), "id 1") && strstr(err_msg(), "overflow"));
	sampler_free(s);
}

/* ---- reproducibility ---------------------------------------------------------- */

/* ids chosen for nframes frames of 40 logits, dense or as an equivalent
 * sparse frame (ids not in it are the dense frame's -inf), with penalties */
static void run_frames(uint64_t seed, int sparse, int32_t *out, int nframes)
{
	SampleParams p = params(0.9, 20, 0.9, 0.01);
	uint64_t x = 5;
	Sampler *s;

	p.seed = seed;
	p.repeat_penalty = 1.3;
	p.presence_penalty = 0.2;
	CHECK_EQ_INT(sampler_new(&s, &p), 0);
	for (int f = 0; f < nframes; f++) {
		float v[40], sv[40];
		int32_t ids[40];
		uint32_t m = 0;
		for (int i = 0; i < 40; i++)
			v[i] = lcg(&x) < 0.25 ? -INFINITY : (float)(lcg(&x) * 5);
		for (int i = 0; i < 40; i++) {
			int j = (i * 17) % 40;          /* a scrambled order */
			if (v[j] != -INFINITY) {
				ids[m] = j;
				sv[m++] = v[j];
			}
		}
		int rc = sparse ? sampler_next(s, ids, sv, m, out + f) : sampler_next(s, NULL, v, 40, out + f);
		CHECK_EQ_INT(rc, 0);
		if (f % 50 == 49)
			sampler_reset(s);
	}
	sampler_free(s);
}

TEST(sample_same_seed_same_ids)
{
	int32_t a[500], b[500], c[500], d[500];

	run_frames(2024, 0, a, 500);
	run_frames(2024, 0, b, 500);
	run_frames(2024, 1, c, 500);
	run_frames(2025, 0, d, 500);
	CHECK(!memcmp(a, b, sizeof a));
	CHECK(!memcmp(a, c, sizeof a));         /* ELOG and the same ETOP agree */
	CHECK(memcmp(a, d, sizeof a) != 0);
}

/* ---- sampler_proc: a sampler as a child process ---------------------------------
 * The children here are shell commands that read each frame whole (head -c
 * reads no further) and answer fixed ids, so these tests need no built
 * program; ernie-sample itself as the child is tested through ernie-run
 * --sampler in tests/t-sample.sh. */

TEST(sample_proc_round_trip)
{
	SamplerProc sp;
	const float a[] = { 0.5f, 3, -1, 2 }, b[] = { 9, 1, 1, 1, 1, 1, 1 };
	int32_t id = -1;

	/* frames of 4 and 7 logits: 24 and 36 bytes; the empty one: 8 */
	CHECK_EQ_INT(sampler_proc_start(&sp, "head -c 24 >/dev/null; echo 1; head -c 36 >/dev/null; "
				       "echo 6; head -c 8 >/dev/null; echo; head -c 24 >/dev/null; "
				       "echo 3; cat >/dev/null", 0), 0);
	CHECK_EQ_INT(sampler_proc_step(&sp, a, 4, &id), 0);
	CHECK_EQ_INT(id, 1);
	CHECK_EQ_INT(sampler_proc_step(&sp, b, 7, &id), 0);
	CHECK_EQ_INT(id, 6);
	CHECK_EQ_INT(sampler_proc_end(&sp), 0);
	CHECK_EQ_INT(sampler_proc_step(&sp, a, 4, &id), 0);
	CHECK_EQ_INT(id, 3);
	CHECK_EQ_INT(sampler_proc_close(&sp, 0), 0);

	/* binary replies (ETOK frames of id 77777 = 0x12fd1), and a whole
	 * vocabulary per frame: 413704 bytes, more than a pipe holds */
	static float big[103424];
	CHECK_EQ_INT(sampler_proc_start(&sp, "for i in 1 2 3; do head -c 413704 >/dev/null; "
				       "printf 'ETOK\\001\\000\\000\\000\\321\\057\\001\\000'; done", 0), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(sampler_proc_step(&sp, big, 103424, &id), 0);
		CHECK_EQ_INT(id, 77777);
	}
	CHECK_EQ_INT(sampler_proc_close(&sp, 0), 0);
}

/* A child that ends early gives an error naming it and how it ended, and
 * does not kill us with SIGPIPE. */
TEST(sample_proc_child_dies)
{
	static float big[200000];
	SamplerProc sp;
	int32_t id;

	CHECK_EQ_INT(sampler_proc_start(&sp, "exit 3", 0), 0);
	CHECK_EQ_INT(sampler_proc_step(&sp, big, 200000, &id), ERR_IO);
	CHECK(strstr(err_msg(), "sampler 'exit 3'") && strstr(err_msg(), "exited with status 3"));
	CHECK_EQ_INT(sampler_proc_close(&sp, 0), ERR_IO);

	CHECK_EQ_INT(sampler_proc_start(&sp, "head -c 100 >/dev/null", 0), 0);
	CHECK_EQ_INT(sampler_proc_step(&sp, big, 200000, &id), ERR_IO);
	CHECK(strstr(err_msg(), "without answering"));
	sampler_proc_close(&sp, 0);

	CHECK_EQ_INT(sampler_proc_start(&sp, "kill -9 $$", 0), 0);
	CHECK_EQ_INT(sampler_proc_step(&sp, big, 4, &id), ERR_IO);
	CHECK(strstr(err_msg(), "killed by signal 9"));
	sampler_proc_close(&sp, 0);
}

TEST(sample_proc_bad_answers)
{
	const float v[] = { 1, 2, 3 };
	struct { const char *cmd, *msg; } cases[] = {
		{ "head -c 20 >/dev/null; echo 1 2", "answered 2 ids" },
		{ "head -c 20 >/dev/null; echo 3", "answered id 3, past the 3 logits" },
		{ "head -c 20 >/dev/null; echo x", "not a token id" },
		{ "head -c 20 >/dev/null; echo", "answered 0 ids" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		SamplerProc sp;
		int32_t id;
		CHECK_EQ_INT(sampler_proc_start(&sp, cases[i].cmd, 0), 0);
		CHECK_EQ_INT(sampler_proc_step(&sp, v, 3, &id), ERR_DATA);
		if (!strstr(err_msg(), cases[i].msg))
			printf("  %s: message [%s] lacks [%s]\n", cases[i].cmd, err_msg(), cases[i].msg);
		CHECK(strstr(err_msg(), cases[i].msg));
		sampler_proc_close(&sp, 0);
	}
}

/* sample_top against a full sort on (logit descending, id ascending), with
 * many ties, for k from 1 to n. */
static int by_rank(const void *a, const void *b)
{
	const float *x = a, *y = b;     /* pairs (logit, id) */
	if (x[0] != y[0])
		return x[0] > y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

TEST(sample_top_ranks)
{
	enum { N = 300 };
	static float x[N], pairs[N][2], vals[N];
	static int32_t ids[N];
	unsigned r = 12345;
	for (int i = 0; i < N; i++) {
		r = r * 1103515245 + 12345;
		x[i] = (float)(r >> 16 & 31) - 16;      /* 32 values: ties */
		pairs[i][0] = x[i];
		pairs[i][1] = (float)i;
	}
	qsort(pairs, N, sizeof *pairs, by_rank);
	for (uint32_t k = 1; k <= N; k += k < 8 ? 1 : 37) {
		int bad = 0;
		CHECK_EQ_INT(sample_top(x, N, k, ids, vals), 0);
		for (uint32_t i = 0; i < k; i++)
			bad += ids[i] != (int32_t)pairs[i][1] || vals[i] != pairs[i][0];
		CHECK_EQ_INT(bad, 0);
	}
}
