/* t_quant.c: the quantised weight types (lib/kernels/wtype.c and the
 * matmul kernels): dequantisation of hand-made blocks whose values follow
 * from the format description by hand, of random blocks against the numpy
 * reference of tests/quant.py (tests/data/quant), and every ISA's
 * matrix-vector and prefill kernels against a double-precision reference
 * over the exact dequantised weights (the f32 rounding bound of
 * t_matmul.c). ISAs this CPU lacks print a skip line. */
#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "kernels/matmul.h"
#include "kernels/xq.h"
#include "test.h"

/* ---- scales ------------------------------------------------------------- */

/* Every half against its definition: (-1)^s 2^(e-15) (1 + m/1024), or
 * 2^-14 m/1024 for e = 0, infinities and NaNs for e = 31. */
TEST(quant_f16_every_value)
{
	int bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		int e = h >> 10 & 31, m = h & 1023;
		double v = e == 0 ? ldexp(m / 1024.0, -14) : ldexp(1 + m / 1024.0, e - 15);
		float f = f16_to_f32((uint16_t)h);
		if (e == 31)
			bad += m ? !isnan(f) : !(isinf(f) && (f < 0) == (h >> 15));
		else
			bad += f != (float)(h >> 15 ? -v : v) || !!signbit(f) != (int)(h >> 15);
	}
	CHECK_EQ_INT(bad, 0);
}

/* ---- hand-made blocks --------------------------------------------------- */

TEST(quant_q8_0_by_hand)
{
	BlockQ8_0 b = { .d = 0x3800 };          /* 0.5 */
	float y[32];
	for (int i = 0; i < 32; i++)
		b.qs[i] = (int8_t)(i * 8 - 128);
	wtype_info[WT_Q8_0].to_f32(y, &b, 32);
	for (int i = 0; i < 32; i++)
		CHECK(y[i] == 0.5f * (i * 8 - 128));
}

TEST(quant_q4_0_by_hand)
{
	BlockQ4_0 b = { .d = 0x4000 };          /* 2 */
	float y[32];
	for (int j = 0; j < 16; j++)            /* low nibbles: elements 0-15 */
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
	wtype_info[WT_Q4_0].to_f32(y, &b, 32);
	for (int j = 0; j < 16; j++) {
		CHECK(y[j] == 2.0f * (j - 8));
		CHECK(y[j + 16] == 2.0f * (7 - j));
	}
}

/* The 12 bytes of eight 6-bit scales and mins: sub-blocks 0-3 in the low
 * six bits of bytes 0-3 (scale) and 4-7 (min); 4-7 split into a low nibble
 * in byte 8-11 (scale low, min high) and two top bits in the spare top bits
 * of bytes 0-3 (scale) and 4-7 (min). */
static void pack_k4_scales(uint8_t q[12], const int sc[8], const int m[8])
{
	for (int k = 0; k < 4; k++) {
		q[k] = (uint8_t)(sc[k] | (sc[k + 4] >> 4) << 6);
		q[k + 4] = (uint8_t)(m[k] | (m[k + 4] >> 4) << 6);
		q[k + 8] = (uint8_t)((sc[k + 4] & 15) | (m[k + 4] & 15) << 4);
	}
}

static const int K4_SC[8] = { 1, 2, 3, 4, 17, 33, 49, 63 };
static const int K4_M[8] = { 5, 6, 7, 8, 16, 32, 48, 1 };

/* Q4_K/Q5_K: sub-block s is the low (s even) or high (s odd) nibbles of
 * qs[32 (s/2) .. +32); element l of it gets q = l % 16 or 15 - l % 16, plus
 * (Q5_K) 16 times bit s of qh[l], here bit s of l. x = d sc q - dmin m. */
static void check_k4(WType t)
{
	BlockQ5_K b5 = { .d = 0x3c00, .dmin = 0x3800 };         /* 1, 0.5 */
	BlockQ4_K b4 = { .d = 0x3c00, .dmin = 0x3800 };
	uint8_t *scales = t == WT_Q5_K ? b5.scales : b4.scales;
	uint8_t *qs = t == WT_Q5_K ? b5.qs : b4.qs;
	float y[256];
	pack_k4_scales(scales, K4_SC, K4_M);
	for (int p = 0; p < 4; p++)
		for (int l = 0; l < 32; l++)
			qs[32 * p + l] = (uint8_t)((l & 15) | (15 - (l & 15)) << 4);
	for (int l = 0; l < 32; l++)
		b5.qh[l] = (uint8_t)l;
	wtype_info[t].to_f32(y, t == WT_Q5_K ? (const void *)&b5 : (const void *)&b4, 256);
	int bad = 0;
	for (int s = 0; s < 8; s++)
		for (int l = 0; l < 32; l++) {
			int q = s % 2 ? 15 - (l & 15) : l & 15;
			if (t == WT_Q5_K)
				q += (l >> s & 1) << 4;
			bad += y[32 * s + l] != 1.0f * K4_SC[s] * q - 0.5f * K4_M[s];
		}
	CHECK_EQ_INT(bad, 0);
}

TEST(quant_q4_k_by_hand) { check_k4(WT_Q4_K); }
TEST(quant_q5_k_by_hand) { check_k4(WT_Q5_K); }

/* Q6_K: element e = 128 h + 32 g + l has its low nibble in
 * ql[64 h + l + 32 (g & 1)] (low nibble for g < 2, high for g >= 2), its
 * top two bits at bits 2g of qh[32 h + l], its scale in
 * scales[8 h + 2 g + l / 16]; x = d sc (q - 32). Here q = e % 64 and
 * scale i = i - 8. */
TEST(quant_q6_k_by_hand)
{
	BlockQ6_K b = { .d = 0x3400 };          /* 0.25 */
	float y[256];
	for (int i = 0; i < 16; i++)
		b.scales[i] = (int8_t)(i - 8);
	for (int e = 0; e < 256; e++) {
		int h = e / 128, g = e % 128 / 32, l = e % 32, q = e % 64;
		uint8_t *lo = &b.ql[64 * h + l + 32 * (g & 1)];
		*lo |= (uint8_t)(g < 2 ? q & 15 : (q & 15) << 4);
		b.qh[32 * h + l] |= (uint8_t)((q >> 4) << (2 * g));
	}
	wtype_info[WT_Q6_K].to_f32(y, &b, 256);
	int bad = 0;
	for (int e = 0; e < 256; e++) {
		int h = e / 128, g = e % 128 / 32, l = e % 32;
		bad += y[e] != 0.25f * (8 * h + 2 * g + l / 16 - 8) * (e % 64 - 32);
	}
	CHECK_EQ_INT(bad, 0);
}

/* ---- random blocks against tests/quant.py's numpy reference -------------- */

static void *read_file(const char *name, size_t *size)
{
	char path[512];
	snprintf(path, sizeof path, "%s/quant/%s", test_data_dir, name);
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long n;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*size = (size_t)n;
	else {
		printf("  %s: cannot read\n", path);
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

TEST(quant_random_blocks_match_numpy)
{
	for (WType t = WT_Q8_0; t < WT_COUNT; t++) {
		const WTypeInfo *w = &wtype_info[t];
		char name[32];
		size_t nb = 0, nf = 0;
		snprintf(name, sizeof name, "%s.bin", w->name);
		uint8_t *raw = read_file(name, &nb);
		snprintf(name, sizeof name, "%s.f32", w->name);
		float *want = read_file(name, &nf);
		int64_t n = (int64_t)(nb / (size_t)w->bytes) * w->block;
		CHECK(raw && want && nb % (size_t)w->bytes == 0 && nf == (size_t)n * 4);
		if (raw && want && nf == (size_t)n * 4) {
			float *y = malloc((size_t)n * sizeof *y);
			w->to_f32(y, raw, n);
			int bad = 0;
			for (int64_t i = 0; i < n; i++)
				bad += memcmp(&y[i], &want[i], 4) != 0;
			if (bad)
				printf("  %s: %d of %lld values differ\n", w->name, bad, (long long)n);
			CHECK_EQ_INT(bad, 0);
			free(y);
		}
		free(raw);
		free(want);
	}
}

/* ---- kernels ---------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A rows x cols matrix of random blocks of type t: random bytes, with the
 * f16 scales set to finite values of either sign around 1/64. */
static void *random_quant(Mat *W, WType t, int64_t rows, int64_t cols)
{
	const WTypeInfo *w = &wtype_info[t];
	int64_t nb = rows * cols / w->block;
	uint8_t *p = malloc((size_t)(nb * w->bytes));
	for (int64_t i = 0; i < nb * w->bytes; i++)
		p[i] = (uint8_t)(next() >> 32);
	for (int64_t i = 0; i < nb; i++) {
		uint8_t *b = p + i * w->bytes;
		/* exponent 9..12 (2^-6 .. 2^-3), any mantissa and sign */
		uint16_t h = (uint16_t)((next() & 1) << 15 | (9 + next() % 4) << 10 | (next() & 0x3ff));
		uint16_t *d = t == WT_Q6_K ? &((BlockQ6_K *)b)->d : (uint16_t *)b;
		*d = h;
		if (t == WT_Q4_K || t == WT_Q5_K)
			d[1] = (uint16_t)(h ^ 0x8000);
	}
	*W = (Mat){ .type = t, .data = p, .rows = rows, .cols = cols };
	return p;
}

/* |y - W x| within the f32 rounding bound of a cols-term sum, W x in
 * double over the exact weights. */
static int check_rows(const float *y, const float *w, const float *x, int64_t rows, int64_t cols)
{
	double gamma = cols * 0x1p-24 / (1 - cols * 0x1p-24);
	for (int64_t r = 0; r < rows; r++) {
		double s = 0, a = 0;
		for (int64_t k = 0; k < cols; k++) {
			s += (double)w[r * cols + k] * x[k];
			a += fabs((double)w[r * cols + k] * x[k]);
		}
		if (!(fabs(y[r] - s) <= gamma * a + 1e-30)) {
			printf("  row %lld of %lldx%lld: %.9g, expected %.9g (bound %.3g)\n",
			       (long long)r, (long long)rows, (long long)cols, y[r], s, gamma * a);
			return 0;
		}
	}
	return 1;
}

static const int64_t qshapes[][2] = { {1, 256}, {7, 512}, {33, 256}, {64, 1024}, {130, 768} };
static const int qbatch[] = { 1, 3, 4, 9, 17 };

static void check_quant_compute(Compute *c)
{
	for (WType t = WT_Q8_0; t < WT_COUNT; t++)
		for (size_t s = 0; s < sizeof qshapes / sizeof *qshapes; s++) {
			int64_t rows = qshapes[s][0], cols = qshapes[s][1];
			Mat W;
			void *data = random_quant(&W, t, rows, cols);
			float *w = malloc(sizeof *w * rows * cols);
			wtype_info[t].to_f32(w, data, rows * cols);
			for (size_t b = 0; b < sizeof qbatch / sizeof *qbatch; b++) {
				int n = qbatch[b];
				float *x = malloc(sizeof *x * n * cols), *y = malloc(sizeof *y * n * rows);
				for (int64_t i = 0; i < n * cols; i++)
					x[i] = (float)((int64_t)(next() >> 11) - (1ll << 52)) * 0x1p-52f;
				if (n == 1) {
					mat_vec(c, y, &W, x);
					if (!check_rows(y, w, x, rows, cols)) {
						printf("  %s mat_vec %s\n", compute_isa_name(c), wtype_info[t].name);
						test_failed = 1;
					}
				}
				mat_mul(c, y, &W, x, n);
				for (int m = 0; m < n; m++)
					if (!check_rows(y + m * rows, w, x + m * cols, rows, cols)) {
						printf("  %s mat_mul %s n=%d\n", compute_isa_name(c),
						       wtype_info[t].name, n);
						test_failed = 1;
					}
				free(x);
				free(y);
			}
			free(w);
			free(data);
		}
}

TEST(quant_kernels_every_isa)
{
	static const char *names[ISA_COUNT] = { "auto", "portable", "avx2", "avx512", "avx512bf16" };
	for (Isa isa = ISA_PORTABLE; isa < ISA_COUNT; isa++) {
		Compute *c;
		if (!isa_supported(isa)) {
			printf("skip quant_kernels_%s: this CPU lacks it\n", names[isa]);
			continue;
		}
		CHECK_EQ_INT(compute_new(&c, 2, PREC_F32, isa), 0);
		if (c) {
			check_quant_compute(c);
			compute_free(c);
		}
	}
}

/* ---- integer products on 8-bit activations (--precision q8, xq.h) -------- */

/* Every row of n random activation rows rounded by xq_quantize: q in
 * [-127, 127], d = max |x| / 127, |x - d q| <= d / 2, the sums of 16 right. */
TEST(quant_xq_rounding)
{
	enum { COLS = 512 };
	static float x[2][COLS];
	static char buf[2 * 1024];
	XQ xq[2];
	CHECK(xq_row_bytes(COLS) * 2 <= (int64_t)sizeof buf);
	for (int block = 32; block <= QK_K; block += QK_K - 32) {
		for (int k = 0; k < 2 * COLS; k++)
			x[k / COLS][k % COLS] = (float)((int64_t)(next() >> 11) - (1ll << 52)) * 0x1p-50f;
		x[1][block] = 0;        /* a block of zeros: d = 0, q = 0 */
		for (int k = 0; k < block; k++)
			x[1][block + k] = 0;
		xq_quantize(buf, xq, &x[0][0], COLS, block, 0, 2);
		int bad = 0;
		for (int m = 0; m < 2; m++)
			for (int b = 0; b < COLS / block; b++) {
				float amax = 0;
				for (int k = 0; k < block; k++)
					amax = fmaxf(amax, fabsf(x[m][b * block + k]));
				bad += xq[m].d[b] != amax / 127;
				for (int k = 0; k < block; k++) {
					int q = xq[m].q[b * block + k];
					bad += q < -127 || q > 127 ||
					       fabs(x[m][b * block + k] - (double)xq[m].d[b] * q) >
						       xq[m].d[b] * 0.5000001;
				}
			}
		for (int m = 0; m < 2; m++)
			for (int i = 0; i < COLS / 16; i++) {
				int s = 0;
				for (int k = 0; k < 16; k++)
					s += xq[m].q[16 * i + k];
				bad += s != xq[m].sum[i];
			}
		CHECK_EQ_INT(bad, 0);
	}
}

/* |y - W x̂| within 2e-5 of sum |w x̂|, x̂ = d q the rounded activations, in
 * double over the exact weights: the integer sums are exact, the f32
 * scaling rounds a few times a group; a lost or doubled term costs about
 * 1/cols, a wrong sum or scale far more. */
static int check_xq_rows(const float *y, const float *w, const XQ *xq, int block, int64_t rows,
			 int64_t cols)
{
	for (int64_t r = 0; r < rows; r++) {
		double s = 0, a = 0;
		for (int64_t k = 0; k < cols; k++) {
			double xk = (double)xq->d[k / block] * xq->q[k];
			s += (double)w[r * cols + k] * xk;
			a += fabs((double)w[r * cols + k] * xk);
		}
		if (!(fabs(y[r] - s) <= 2e-5 * a + 1e-30)) {
			printf("  row %lld of %lldx%lld: %.9g, expected %.9g (bound %.3g)\n",
			       (long long)r, (long long)rows, (long long)cols, y[r], s, 2e-5 * a);
			return 0;
		}
	}
	return 1;
}

/* Every quantised type under PREC_Q8: mat_vec and mat_mul of up to
 * MAT_XQ_MAX_ROWS rows against the rounded activations, each row of such a
 * batch bit for bit the mat_vec of that row; larger batches exact. */
TEST_ISA(quant_xq_kernels)
{
	Compute *c;
	CHECK_EQ_INT(compute_new(&c, 2, PREC_Q8, isa), 0);
	if (!c)
		return;
	for (WType t = WT_Q8_0; t < WT_COUNT; t++)
		for (size_t s = 0; s < sizeof qshapes / sizeof *qshapes; s++) {
			int64_t rows = qshapes[s][0], cols = qshapes[s][1];
			int block = xq_block(t);
			Mat W;
			void *data = random_quant(&W, t, rows, cols);
			float *w = malloc(sizeof *w * rows * cols);
			wtype_info[t].to_f32(w, data, rows * cols);
			for (size_t b = 0; b <= sizeof qbatch / sizeof *qbatch; b++) {
				/* and one batch past MAT_XQ_MAX_ROWS */
				int n = b < sizeof qbatch / sizeof *qbatch ? qbatch[b] : MAT_XQ_MAX_ROWS + 1;
				int bad = 0;
				float *x = malloc(sizeof *x * n * cols), *y = malloc(sizeof *y * n * rows);
				float *yv = malloc(sizeof *yv * rows);
				char *buf = malloc((size_t)(n * xq_row_bytes(cols)));
				XQ *xq = malloc(sizeof *xq * n);
				for (int64_t i = 0; i < n * cols; i++)
					x[i] = (float)((int64_t)(next() >> 11) - (1ll << 52)) * 0x1p-52f;
				xq_quantize(buf, xq, x, cols, block, 0, n);
				mat_mul(c, y, &W, x, n);
				for (int m = 0; m < n; m++) {
					if (n > MAT_XQ_MAX_ROWS) {
						bad += !check_rows(y + m * rows, w, x + m * cols, rows, cols);
						continue;
					}
					bad += !check_xq_rows(y + m * rows, w, &xq[m], block, rows, cols);
					mat_vec(c, yv, &W, x + m * cols);
					bad += memcmp(yv, y + m * rows, sizeof *yv * rows) != 0;
				}
				if (bad) {
					printf("  %s %s %lldx%lld n=%d: %d bad rows\n", compute_isa_name(c),
					       wtype_info[t].name, (long long)rows, (long long)cols, n, bad);
					test_failed = 1;
				}
				free(x);
				free(y);
				free(yv);
				free(buf);
				free(xq);
			}
			free(w);
			free(data);
		}
	compute_free(c);
}
