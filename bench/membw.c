/* membw.c: what this machine allows, and how close the kernels get.
 *
 * Prints tab-separated rows "name<TAB>value<TAB>unit<TAB>bound<TAB>fraction"
 * for bench/run to tabulate:
 *   read bandwidth with 1 and all threads (a 1 GiB buffer read in slices by
 *   the library's own thread pool, with the software prefetch our kernels
 *   use, best of several passes);
 *   OpenBLAS sgemm GFLOP/s on the 0.3B model's prefill shapes (512 rows,
 *   weights already f32, OpenBLAS threads = our threads);
 *   mat_mul (f32 and bf16 precision) on the same shapes, bf16 weights;
 *   mat_vec over a 0.3B-shaped bf16 weight set, as GB/s of weights read
 *   (against the bandwidth measured in alternation with it).
 * Usage: membw [threads]       all of the above
 *        membw -b [threads]    the read bandwidth with all threads only (for
 *                              bench/run to measure next to each decode) */
#define _GNU_SOURCE
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/matmul.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- read bandwidth ---- */

#if defined(__x86_64__)
/* Words p[0..n) summed, 128 bytes a step, prefetching 2 KiB ahead as the
 * matrix-vector kernels do (VEC_PREFETCH): the bound is what a stream can
 * get, so it is measured the way the kernels stream. */
__attribute__((target("avx2")))
static uint64_t sum_avx2(const uint64_t *p, size_t n)
{
	__m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
	for (size_t i = 0; i + 16 <= n; i += 16) {
		_mm_prefetch((const char *)(p + i) + 2048, _MM_HINT_T0);
		_mm_prefetch((const char *)(p + i) + 2048 + 64, _MM_HINT_T0);
		a = _mm256_add_epi64(a, _mm256_load_si256((const __m256i *)(p + i)));
		b = _mm256_add_epi64(b, _mm256_load_si256((const __m256i *)(p + i + 4)));
		c = _mm256_add_epi64(c, _mm256_load_si256((const __m256i *)(p + i + 8)));
		d = _mm256_add_epi64(d, _mm256_load_si256((const __m256i *)(p + i + 12)));
	}
	a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
	return (uint64_t)_mm256_extract_epi64(a, 0) + (uint64_t)_mm256_extract_epi64(a, 3);
}
#endif

static uint64_t sum(const uint64_t *p, size_t n)
{
#if defined(__x86_64__)
	if (isa_supported(ISA_AVX2))
		return sum_avx2(p, n);
#endif
	uint64_t s[4] = {0};
	for (size_t i = 0; i + 4 <= n; i += 4)
		for (int j = 0; j < 4; j++)
			s[j] += p[i + j];
	return s[0] + s[1] + s[2] + s[3];
}

#define SLICES 64

typedef struct {
	const uint64_t *p;
	size_t n;                   /* words per slice */
	uint64_t s[SLICES];
} Read;

static void read_slice(void *arg, int i)
{
	Read *r = arg;
	r->s[i] = sum(r->p + r->n * i, r->n);
}

/* GB/s reading buf[0..n) on c's threads, SLICES slices handed out as the
 * kernels' tasks are; best of 4 passes. */
static double bandwidth(Compute *c, const uint64_t *buf, size_t n)
{
	double best = 0;
	Read r = {buf, n / SLICES, {0}};
	for (int rep = 0; rep < 4; rep++) {
		double t0 = now();
		compute_parallel(c, read_slice, &r, SLICES);
		double gbs = r.n * SLICES * 8.0 / (now() - t0) / 1e9;
		if (gbs > best)
			best = gbs;
	}
	return best;
}

/* ---- the 0.3B model's weight shapes ---- */

typedef struct {
	const char *name;
	int64_t rows, cols;
	int count;                  /* per model */
} Shape;

static const Shape shapes[] = {
	{"q_proj", 2048, 1024, 18}, {"k_proj", 256, 1024, 18}, {"v_proj", 256, 1024, 18},
	{"o_proj", 1024, 2048, 18}, {"gate_proj", 3072, 1024, 18},
	{"up_proj", 3072, 1024, 18}, {"down_proj", 1024, 3072, 18},
	{"lm_head", 103424, 1024, 1},
};
#define NSHAPES (sizeof shapes / sizeof *shapes)
#define BATCH 512

static uint16_t *random_bf16(size_t n)
{
	uint16_t *p = malloc(n * 2);
	uint32_t s = 12345;
	for (size_t i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		p[i] = (uint16_t)(0x3c00 + (s >> 24) - ((s >> 16 & 1) << 15));  /* +-[0.0078, 0.03) */
	}
	return p;
}

/* f32 GEMM FLOPs of one prefill over the layer shapes (lm_head excluded:
 * prefill computes logits for one position). */
static double layer_flops(void)
{
	double f = 0;
	for (size_t s = 0; s < NSHAPES - 1; s++)
		f += 2.0 * BATCH * shapes[s].rows * shapes[s].cols;
	return f;
}

/* GFLOP/s of OpenBLAS sgemm over each layer shape once (f32 weights). */
static double sgemm_gflops(int threads)
{
	double best = 0;
	float *X = malloc(sizeof(float) * BATCH * 3072), *Y = malloc(sizeof(float) * BATCH * 3072);
	float *W = malloc(sizeof(float) * 3072 * 1024);
	for (size_t i = 0; i < (size_t)BATCH * 3072; i++)
		X[i] = (float)(i % 17) * 0.01f;
	for (size_t i = 0; i < 3072 * 1024; i++)
		W[i] = (float)(i % 13) * 0.01f;
	openblas_set_num_threads(threads);
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		for (size_t s = 0; s < NSHAPES - 1; s++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH,
				    (int)shapes[s].rows, (int)shapes[s].cols, 1, X,
				    (int)shapes[s].cols, W, (int)shapes[s].cols, 0, Y,
				    (int)shapes[s].rows);
		double g = layer_flops() / (now() - t0) / 1e9;
		if (g > best)
			best = g;
	}
	free(X); free(Y); free(W);
	return best;
}

static double matmul_gflops(Compute *c)
{
	double best = 0;
	float *X = malloc(sizeof(float) * BATCH * 3072), *Y = malloc(sizeof(float) * BATCH * 3072);
	uint16_t *w = random_bf16(3072 * 1024);
	for (size_t i = 0; i < (size_t)BATCH * 3072; i++)
		X[i] = (float)(i % 17) * 0.01f;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		for (size_t s = 0; s < NSHAPES - 1; s++) {
			Mat W = {WT_BF16, w, shapes[s].rows, shapes[s].cols};
			mat_mul(c, Y, &W, X, BATCH);
		}
		double g = layer_flops() / (now() - t0) / 1e9;
		if (g > best)
			best = g;
	}
	free(X); free(Y); free(w);
	return best;
}

/* A 0.3B-shaped bf16 weight set: every layer matrix, and the lm_head. */
typedef struct {
	Mat W[7 * 18 + 1];
	int n;
	double bytes;
	float *x, *y;
} Set;

static void set_new(Set *s)
{
	s->n = 0;
	s->bytes = 0;
	for (int l = 0; l < 18; l++)
		for (size_t i = 0; i < NSHAPES; i++)
			if (shapes[i].count == 18 || l == 0) {
				int64_t r = shapes[i].rows, c = shapes[i].cols;
				s->W[s->n++] = (Mat){WT_BF16, random_bf16(r * c), r, c};
				s->bytes += 2.0 * r * c;
			}
	s->x = calloc(103424, sizeof *s->x);
	s->y = calloc(103424, sizeof *s->y);
	for (int i = 0; i < 3072; i++)
		s->x[i] = 0.001f * (i % 7);
}

static void set_free(Set *s)
{
	for (int i = 0; i < s->n; i++)
		free((void *)s->W[i].data);
	free(s->x);
	free(s->y);
}

/* GB/s of weights streamed by mat_vec over the set (one decode token). */
static double matvec_gbs(Compute *c, const Set *s)
{
	double best = 0;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		for (int i = 0; i < s->n; i++)
			mat_vec(c, s->y, &s->W[i], s->x);
		double g = s->bytes / (now() - t0) / 1e9;
		if (g > best)
			best = g;
	}
	return best;
}

static void row(const char *name, double v, const char *unit, double bound)
{
	if (bound > 0)
		printf("%s\t%.1f\t%s\t%.1f\t%.0f%%\n", name, v, unit, bound, 100 * v / bound);
	else
		printf("%s\t%.1f\t%s\t\t\n", name, v, unit);
	fflush(stdout);
}

static double max(double a, double b)
{
	return a > b ? a : b;
}

int main(int argc, char **argv)
{
	int only_bw = argc > 1 && strcmp(argv[1], "-b") == 0;
	int threads = argc > 1 + only_bw ? atoi(argv[1 + only_bw]) : 2;
	size_t n = ((size_t)1 << 30) / 8;
	uint64_t *buf = aligned_alloc(64, n * 8);
	Compute *one = NULL, *c[2] = {NULL, NULL};     /* 1 thread; f32, bf16 precision */
	double bw1 = 0, bwt = 0, mv = 0, sg;
	char name[64];
	Set set;

	if (!buf || threads < 1 || compute_new(&one, 1, PREC_F32, ISA_AUTO) ||
	    compute_new(&c[0], threads, PREC_F32, ISA_AUTO))
		return 3;
	if (compute_new(&c[1], threads, PREC_BF16_ALL, ISA_AUTO))
		c[1] = NULL;
	memset(buf, 1, n * 8);
	snprintf(name, sizeof name, "read bandwidth, %d thread%s", threads, threads > 1 ? "s" : "");
	if (only_bw) {
		row(name, bandwidth(c[0], buf, n), "GB/s", 0);
		return 0;
	}
	set_new(&set);
	/* bandwidth and mat_vec in alternation, so that both see the same
	 * machine when other work comes and goes */
	for (int round = 0; round < 3; round++) {
		bw1 = max(bw1, bandwidth(one, buf, n));
		bwt = max(bwt, bandwidth(c[0], buf, n));
		mv = max(mv, matvec_gbs(c[0], &set));
	}
	free(buf);
	row("read bandwidth, 1 thread", bw1, "GB/s", 0);
	if (threads > 1)
		row(name, bwt, "GB/s", 0);
	sg = sgemm_gflops(threads);
	row("OpenBLAS sgemm, 0.3B prefill shapes", sg, "GFLOP/s", 0);
	snprintf(name, sizeof name, "mat_vec, %.2f GB of bf16 weights a token", set.bytes / 1e9);
	row(name, mv, "GB/s", bwt);
	set_free(&set);
	for (int p = 0; p < 2; p++) {
		if (!c[p])
			continue;
		snprintf(name, sizeof name, "mat_mul %s (%s)", p ? "bf16" : "f32", compute_isa_name(c[p]));
		row(name, matmul_gflops(c[p]), "GFLOP/s", sg);
		compute_free(c[p]);
	}
	compute_free(one);
	return 0;
}
