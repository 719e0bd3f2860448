/* t_quantize.c: the quantisers of quantize.h against the exact
 * dequantisers of wtype.c: hand-computed Q8_0 and Q4_0 blocks, the f16 and
 * bf16 roundings on their boundary cases, and dequantise(quantise(x))
 * within each type's error bound on random rows, about 1.5 times what
 * they reach (a wrong bit layout or a lost scale costs far more). The byte comparison with
 * llama-quantize is tests/t-quantize.sh. */
#include <stdint.h>
#include <stdlib.h>

#include "kernels/quantize.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float uniform(void)     /* [-1, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

TEST(quantize_f16_rounding)
{
	CHECK_EQ_INT(f32_to_f16(1.0f), 0x3c00);
	CHECK_EQ_INT(f32_to_f16(-2.0f), 0xc000);
	CHECK_EQ_INT(f32_to_f16(65504.0f), 0x7bff);
	CHECK_EQ_INT(f32_to_f16(65519.0f), 0x7bff);
	CHECK_EQ_INT(f32_to_f16(65520.0f), 0x7c00);        /* the tie rounds to even: infinity */
	CHECK_EQ_INT(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie, even stays */
	CHECK_EQ_INT(f32_to_f16(1.0f + 3.0f / 2048), 0x3c02); /* tie, odd goes up */
	CHECK_EQ_INT(f32_to_f16(ldexpf(1, -24)), 0x0001);   /* smallest subnormal */
	CHECK_EQ_INT(f32_to_f16(ldexpf(1, -25)), 0x0000);   /* its half: tie to even 0 */
	CHECK_EQ_INT(f32_to_f16(ldexpf(3, -25)), 0x0002);
	CHECK_EQ_INT(f32_to_f16(-0.0f), 0x8000);
	CHECK_EQ_INT(f32_to_f16(INFINITY), 0x7c00);
	CHECK(f32_to_f16(NAN) > 0x7c00 && (f32_to_f16(NAN) & 0x7c00) == 0x7c00);
	/* every finite half survives the round trip */
	int bad = 0;
	for (uint32_t h = 0; h < 0x10000; h++)
		if ((h & 0x7c00) != 0x7c00 && f32_to_f16(f16_to_f32((uint16_t)h)) != h)
			bad++;
	CHECK_EQ_INT(bad, 0);
}

TEST(quantize_bf16_rounding)
{
	CHECK_EQ_INT(f32_to_bf16(1.0f), 0x3f80);
	CHECK_EQ_INT(f32_to_bf16(1.0f + ldexpf(1, -8)), 0x3f80);     /* tie, even */
	CHECK_EQ_INT(f32_to_bf16(1.0f + ldexpf(3, -8)), 0x3f82);     /* tie, odd up */
	CHECK_EQ_INT(f32_to_bf16(1.0f + ldexpf(1, -8) + ldexpf(1, -20)), 0x3f81);
	CHECK(bf16_to_f32(f32_to_bf16(NAN)) != bf16_to_f32(f32_to_bf16(NAN)));
}

TEST(quantize_q8_0_block)
{
	float x[32];
	BlockQ8_0 b;
	for (int i = 0; i < 32; i++)
		x[i] = (i - 16) * 0.25f;                /* -4 .. 3.75: d = 4/127 */
	x[5] = 0.5f * 4.0f / 127;                       /* exactly half a step */
	quantize_row[WT_Q8_0](&b, x, 32);
	CHECK_EQ_INT(b.d, f32_to_f16(4.0f / 127));
	CHECK_EQ_INT(b.qs[0], -127);
	CHECK_EQ_INT(b.qs[31], (int)roundf(3.75f * 127 / 4));
	CHECK_EQ_INT(b.qs[16], 0);
	CHECK(b.qs[5] == 0 || b.qs[5] == 1);            /* x * (1/d) rounds near 0.5 */
}

TEST(quantize_q4_0_block)
{
	float x[32] = { 0 }, y[32];
	BlockQ4_0 b;
	x[0] = 2.0f;            /* the largest, positive: d = -0.25, x = 2 -> 0 */
	x[1] = -2.0f;           /* -> 16, capped at 15 */
	x[2] = 0.25f;           /* -> 7 */
	x[17] = -0.5f;          /* -> 10 */
	quantize_row[WT_Q4_0](&b, x, 32);
	CHECK_EQ_INT(b.d, f32_to_f16(-0.25f));
	CHECK_EQ_INT(b.qs[0], 0 | 8 << 4);
	CHECK_EQ_INT(b.qs[1], 15 | 10 << 4);
	CHECK_EQ_INT(b.qs[2], 7 | 8 << 4);
	wtype_info[WT_Q4_0].to_f32(y, &b, 32);
	CHECK_NEAR(y[0], 2.0, 0);
	CHECK_NEAR(y[1], -1.75, 0);
	CHECK_NEAR(y[17], -0.5, 0);
}

/* Round trip of random rows: the RMS error relative to the row's RMS. */
TEST(quantize_round_trip)
{
	static const struct { WType t; double rel; } cases[] = {
		{ WT_F32, 0 }, { WT_F16, 4e-4 }, { WT_BF16, 3e-3 }, { WT_Q8_0, 0.006 },
		{ WT_Q4_0, 0.09 }, { WT_Q4_K, 0.07 }, { WT_Q5_K, 0.04 }, { WT_Q6_K, 0.02 },
	};
	enum { N = 4 * QK_K };
	float x[N], y[N];
	static unsigned char q[N * 4];
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		WType t = cases[c].t;
		double err = 0, sum = 0;
		for (int i = 0; i < N; i++)     /* blocks of different scales, some all zero */
			x[i] = (i / QK_K == 2) ? 0 : uniform() * (1 + i / 64);
		quantize_row[t](q, x, N);
		wtype_info[t].to_f32(y, q, N);
		for (int i = 0; i < N; i++) {
			err += (double)(y[i] - x[i]) * (y[i] - x[i]);
			sum += (double)x[i] * x[i];
			if (i / QK_K == 2 && y[i] != 0) {
				printf("  %s: zero block dequantised to %g\n", wtype_info[t].name, y[i]);
				test_failed = 1;
				break;
			}
		}
		double rel = sqrt(err / sum);
		if (!(rel <= cases[c].rel)) {
			printf("  %s: relative RMS error %g, bound %g\n", wtype_info[t].name, rel, cases[c].rel);
			test_failed = 1;
		}
	}
}
