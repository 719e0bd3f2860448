/* t_matmul.c: every kernel variant the CPU can run (forced through
 * compute_new's isa argument) against a double-precision reference, on
 * random shapes including odd and tiny ones.
 *
 * Tolerances: an f32 dot product of K terms is within
 * gamma_K = K u / (1 - K u) (u = 2^-24) of the exact sum, relative to
 * sum |w_k x_k| (Higham, Accuracy and Stability, 3.1); any order of
 * summation (SIMD lanes, sgemm blocking) obeys it, while a lost or doubled
 * term costs about sum/K, far more. bf16 products are specified as x
 * rounded to bf16 (round to nearest even) then exact bf16 products summed
 * in f32, in mat_mul of MAT_BF16_MIN_ROWS rows or more by bf16 weights
 * marked approx (PREC_BF16) or by any bf16 weights (PREC_BF16_ALL), exact
 * f32 elsewhere, so those are checked against a reference built from the
 * rounded x with the same tight bound: that tests the rounding itself, not
 * just "close enough", and that everything else stays exact. */
#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "kernels/matmul.h"
#include "test.h"

static uint64_t rng = 88172645463325252ull;

static double uniform(void)     /* [-1, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

static uint16_t bits16(float f, WType t)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if (t == WT_BF16)
		return (uint16_t)(u >> 16);
	/* f16 from a value in [-1, 1): sign, exponent 8..14, random mantissa */
	return (uint16_t)((u >> 31) << 15 | (8 + (rng >> 40) % 7) << 10 | (rng >> 20 & 0x3ff));
}

/* A random rows x cols matrix of dtype t; the exact f32 values in ref. */
static void *random_mat(Mat *W, WType t, int64_t rows, int64_t cols, double *ref)
{
	size_t n = (size_t)(rows * cols);
	void *data = malloc(n * (t == WT_F32 ? 4 : 2) + 1);
	for (size_t i = 0; i < n; i++) {
		float f = (float)uniform();
		if (t == WT_F32) {
			((float *)data)[i] = f;
			ref[i] = f;
		} else {
			uint16_t h = bits16(f, t);
			((uint16_t *)data)[i] = h;
			ref[i] = t == WT_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
		}
	}
	W->type = t;
	W->data = data;
	W->rows = rows;
	W->cols = cols;
	return data;
}

/* Round to 8 significant bits, ties to even (the default rounding mode). */
static double round_bf16(double v)
{
	int e;
	double m = frexp(v, &e);
	return ldexp(nearbyint(ldexp(m, 8)), e - 8);
}

/* |y - W x| within gamma_K sum |w x|, W x computed in double. */
static int check_rows(const float *y, const double *w, const float *x, int64_t rows,
		      int64_t cols, int bf16)
{
	double gamma = cols * 0x1p-24 / (1 - cols * 0x1p-24);
	for (int64_t r = 0; r < rows; r++) {
		double s = 0, a = 0;
		for (int64_t k = 0; k < cols; k++) {
			double xk = bf16 ? round_bf16(x[k]) : x[k];
			s += w[r * cols + k] * xk;
			a += fabs(w[r * cols + k] * xk);
		}
		if (!(fabs(y[r] - s) <= gamma * a + 1e-30)) {
			printf("  row %lld of %lldx%lld: %.9g, expected %.9g (bound %.3g)\n",
			       (long long)r, (long long)rows, (long long)cols, y[r], s, gamma * a);
			return 0;
		}
	}
	return 1;
}

static const int64_t shapes[][2] = {
	{1, 1}, {1, 17}, {3, 5}, {5, 33}, {7, 64}, {16, 15}, {17, 100},
	{33, 257}, {64, 1024}, {130, 311}, {301, 96}, {700, 129},
};
static const int batch[] = {1, 2, 3, 4, 5, 9, 17, 40};

/* Whether mat_mul of n rows by W rounds x to bf16 under c's precision. */
static int rounds(const Compute *c, const Mat *W, int n)
{
	Precision p = compute_precision(c);
	return W->type == WT_BF16 && n >= MAT_BF16_MIN_ROWS &&
	       (p == PREC_BF16_ALL || (p == PREC_BF16 && W->approx));
}

/* mat_vec and mat_mul for every shape, dtype and batch size, marked approx
 * or not. */
static void check_compute(Compute *c)
{
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		int64_t rows = shapes[s][0], cols = shapes[s][1];
		for (WType t = WT_F32; t <= WT_BF16; t++) {
			Mat W;
			double *ref = malloc(sizeof *ref * rows * cols);
			void *data = random_mat(&W, t, rows, cols, ref);
			W.approx = s % 2;
			for (size_t b = 0; b < sizeof batch / sizeof *batch; b++) {
				int n = batch[b];
				float *x = malloc(sizeof *x * n * cols);
				float *y = malloc(sizeof *y * n * rows);
				for (int64_t i = 0; i < n * cols; i++)
					x[i] = (float)uniform();
				if (n == 1) {
					mat_vec(c, y, &W, x);
					CHECK(check_rows(y, ref, x, rows, cols, 0));
				}
				mat_mul(c, y, &W, x, n);
				for (int m = 0; m < n; m++)
					CHECK(check_rows(y + m * rows, ref, x + m * cols, rows, cols,
							 rounds(c, &W, n)));
				free(x);
				free(y);
			}
			free(data);
			free(ref);
		}
	}
}

/* mat_vec and mat_mul at isa (which this CPU has) on threads threads. */
static void check_isa(Isa isa, Precision prec, int threads)
{
	Compute *c;
	CHECK_EQ_INT(compute_new(&c, threads, prec, isa), 0);
	if (!c)
		return;
	CHECK(compute_precision(c) == (int)prec);
	CHECK_EQ_INT(compute_threads(c), threads);
	check_compute(c);
	compute_free(c);
}

/* mat_vecs: matrices of every dtype, different heights and widths, each
 * with its own x, in one job (large enough to be split across threads),
 * each product right and exact in either precision. */
static void check_vecs(Compute *c)
{
	enum { K = 4 };
	/* the last, 4.4 MB of f32, is cut into pieces (cut_pieces in matmul.c) */
	static const int64_t rows[K] = {700, 301, 33, 1100}, cols[K] = {257, 257, 64, 1000};
	Mat W[K];
	const Mat *Wp[K];
	void *data[K];
	double *ref[K];
	float *y[K], *x[K];
	for (int m = 0; m < K; m++) {
		ref[m] = malloc(sizeof *ref[m] * rows[m] * cols[m]);
		data[m] = random_mat(&W[m], (WType)(m % 3), rows[m], cols[m], ref[m]);
		W[m].approx = 1;
		y[m] = malloc(sizeof *y[m] * rows[m]);
		x[m] = malloc(sizeof *x[m] * cols[m]);
		for (int i = 0; i < cols[m]; i++)
			x[m][i] = (float)uniform();
		Wp[m] = &W[m];
	}
	mat_vecs(c, K, y, Wp, (const float *const *)x);
	for (int m = 0; m < K; m++) {
		CHECK(check_rows(y[m], ref[m], x[m], rows[m], cols[m], 0));
		free(data[m]);
		free(ref[m]);
		free(y[m]);
		free(x[m]);
	}
}

/* mat_muls: matrices of one width and different heights times one batch,
 * all bf16 and approx (one job with bf16 products: X packed once) or mixed
 * dtypes and marks (one mat_mul each), each product right for its dtype,
 * mark and the precision. */
static void check_muls(Compute *c, int mixed)
{
	enum { K = 3, COLS = 67, N = 21 };
	static const int64_t rows[K] = {130, 17, 64};
	Mat W[K];
	const Mat *Wp[K];
	void *data[K];
	double *ref[K];
	float *y[K], *x = malloc(sizeof *x * N * COLS);
	for (int i = 0; i < N * COLS; i++)
		x[i] = (float)uniform();
	for (int m = 0; m < K; m++) {
		ref[m] = malloc(sizeof *ref[m] * rows[m] * COLS);
		data[m] = random_mat(&W[m], mixed ? (WType)m : WT_BF16, rows[m], COLS, ref[m]);
		W[m].approx = !mixed || m % 2;
		y[m] = malloc(sizeof *y[m] * rows[m] * N);
		Wp[m] = &W[m];
	}
	mat_muls(c, K, y, Wp, x, N);
	for (int m = 0; m < K; m++) {
		for (int i = 0; i < N; i++)
			CHECK(check_rows(y[m] + i * rows[m], ref[m], x + i * COLS, rows[m], COLS,
					 rounds(c, &W[m], N)));
		free(data[m]);
		free(ref[m]);
		free(y[m]);
	}
	free(x);
}

/* fn on a 2-thread context of isa (which this CPU has) at every precision
 * it has: f32 everywhere, bf16 products only with AVX512-BF16. */
static void each_precision(Isa isa, void (*fn)(Compute *c))
{
	for (Precision p = PREC_F32; p <= PREC_BF16_ALL; p++) {
		Compute *c;
		if (p != PREC_F32 && isa != ISA_AVX512BF16)
			continue;
		CHECK_EQ_INT(compute_new(&c, 2, p, isa), 0);
		if (!c)
			return;
		fn(c);
		compute_free(c);
	}
}

static void check_muls_both(Compute *c)
{
	check_muls(c, 0);
	check_muls(c, 1);
}

TEST_ISA(matmul_muls) { each_precision(isa, check_muls_both); }

TEST_ISA(matmul_vecs) { each_precision(isa, check_vecs); }

/* mat_vec and mat_mul on odd thread counts; the bf16 precisions too where
 * the kernels have them */
TEST_ISA(matmul)
{
	check_isa(isa, PREC_F32, 1);
	check_isa(isa, PREC_F32, 3);
	if (isa == ISA_AVX512BF16) {
		check_isa(isa, PREC_BF16, 1);
		check_isa(isa, PREC_BF16, 3);
		check_isa(isa, PREC_BF16_ALL, 2);
	}
}

/* isa_supported agrees with the flags the kernel reports: a CPU that has an
 * instruction set must not be skipped as if it had not. */
TEST(matmul_isa_detection)
{
	static const struct { Isa isa; const char *flags; } need[] = {
		{ ISA_AVX2, "avx2 fma f16c" },
		{ ISA_AVX512, "avx2 fma f16c avx512f avx512bw avx512vl" },
		{ ISA_AVX512BF16, "avx2 fma f16c avx512f avx512bw avx512vl avx512_bf16 avx512_vnni" },
	};
	char line[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		SKIP("no /proc/cpuinfo to compare with");
	int found = 0;
	while (!found && fgets(line, sizeof line, f))
		found = !strncmp(line, "flags", 5);
	fclose(f);
	if (!found)
		SKIP("no flags line in /proc/cpuinfo");
	line[strcspn(line, "\n")] = ' ';
	for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
		int has = 1;
		char word[32];
		for (const char *p = need[i].flags; *p; p += strcspn(p, " "), p += *p == ' ') {
			snprintf(word, sizeof word, " %.*s ", (int)strcspn(p, " "), p);
			has &= strstr(line, word) != NULL;
		}
		if (has != isa_supported(need[i].isa))
			printf("  /proc/cpuinfo flags %s: %s; isa_supported: %d\n", need[i].flags,
			       has ? "all there" : "not all there", isa_supported(need[i].isa));
		CHECK_EQ_INT(isa_supported(need[i].isa), has);
	}
}

TEST(matmul_conversions)
{
	CHECK(bf16_to_f32(0x3f80) == 1.0f);
	CHECK(bf16_to_f32(0xc040) == -3.0f);
	CHECK(isinf(bf16_to_f32(0xff80)) && bf16_to_f32(0xff80) < 0);
	CHECK(f16_to_f32(0x3c00) == 1.0f);
	CHECK(f16_to_f32(0xc000) == -2.0f);
	CHECK(f16_to_f32(0x7bff) == 65504.0f);
	CHECK(f16_to_f32(0x0001) == 0x1p-24f);      /* smallest subnormal */
	CHECK(f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
	CHECK(f16_to_f32(0x8000) == 0.0f && signbit(f16_to_f32(0x8000)));
	CHECK(isinf(f16_to_f32(0x7c00)));
	CHECK(isnan(f16_to_f32(0x7e00)));
}

/* PREC_AUTO is bf16 where the kernels have bf16 products, and q8 where
 * they have SIMD integer ones (all but plain C); the bf16 precisions asked
 * for where they have not, an error; q8, never. */
TEST_ISA(matmul_precision)
{
	Compute *c;
	int bf16 = isa == ISA_AVX512BF16;
	CHECK_EQ_INT(compute_new(&c, 1, PREC_AUTO, isa), 0);
	CHECK(c && compute_precision(c) == ((bf16 ? PREC_BF16 : PREC_F32) |
					    (isa != ISA_PORTABLE ? PREC_Q8 : PREC_F32)));
	compute_free(c);
	CHECK_EQ_INT(compute_new(&c, 1, PREC_Q8, isa), 0);
	CHECK(c && compute_precision(c) == PREC_Q8);
	compute_free(c);
	for (Precision p = PREC_BF16; p <= PREC_BF16_ALL; p++) {
		CHECK_EQ_INT(compute_new(&c, 1, p, isa), bf16 ? 0 : ERR_DATA);
		CHECK(!c == !bf16);
		compute_free(c);
	}
}

TEST(matmul_compute_new)
{
	Compute *c;
	CHECK_EQ_INT(compute_new(&c, 0, PREC_F32, ISA_AUTO), 0);
	CHECK(compute_precision(c) == PREC_F32);
	CHECK(compute_threads(c) >= 1);
	CHECK(strcmp(compute_isa_name(c), "auto") != 0);
	compute_free(c);
}

/* An instruction set the CPU lacks is refused, not run. */
TEST(matmul_isa_refused)
{
	Compute *c;
	int lacking = 0;
	for (Isa i = ISA_PORTABLE; i < ISA_COUNT; i++)
		if (!isa_supported(i)) {
			lacking++;
			CHECK_EQ_INT(compute_new(&c, 1, PREC_F32, i), ERR_DATA);
			CHECK(c == NULL);
		}
	if (!lacking)
		SKIP("this CPU has every instruction set: none to refuse");
}

static void count(void *arg, int i)
{
	__atomic_fetch_add((int *)arg + i, 1, __ATOMIC_RELAXED);
}

typedef struct {
	Compute *c;
	int hits[8][8];
} Nest;

static void inner(void *arg, int i)
{
	int *row = arg;
	__atomic_fetch_add(&row[i], 1, __ATOMIC_RELAXED);
}

static void outer(void *arg, int i)
{
	Nest *n = arg;
	compute_parallel(n->c, inner, n->hits[i], 8);
}

/* A job started from inside a task still runs every index once. */
TEST(matmul_parallel_nested)
{
	Nest n = {0};
	CHECK_EQ_INT(compute_new(&n.c, 2, PREC_F32, ISA_PORTABLE), 0);
	compute_parallel(n.c, outer, &n, 8);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 8; j++)
			CHECK_EQ_INT(n.hits[i][j], 1);
	compute_free(n.c);
}

/* Each index exactly once, over many back-to-back jobs. */
TEST(matmul_parallel)
{
	static int hits[1000];
	Compute *c;
	CHECK_EQ_INT(compute_new(&c, 3, PREC_F32, ISA_PORTABLE), 0);
	for (int rep = 0; rep < 200; rep++) {
		int n = rep % 7 == 0 ? 1000 : rep % 5;
		memset(hits, 0, sizeof hits);
		compute_parallel(c, count, hits, n);
		for (int i = 0; i < 1000; i++)
			if (hits[i] != (i < n)) {
				CHECK(hits[i] == (i < n));
				break;
			}
	}
	compute_free(c);
}
