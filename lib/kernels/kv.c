/* kv.c: the KV cache's element types and layouts (kv.h): storing keys and
 * values, reading one element, f32 to f16 / bf16 / q8_0. */
#include "kernels/kv.h"
#include "kernels/matmul_kernels.h"

#include <math.h>
#include <string.h>

int kv_type_ok(WType t)
{
	return t == WT_F32 || t == WT_F16 || t == WT_BF16 || t == WT_Q8_0 ? 0 : -1;
}

int64_t kv_row_bytes(WType t, int64_t n)
{
	return wtype_row_bytes(t, n);
}

int64_t kv_panel_bytes(WType t, int d)
{
	return GEMM_PANEL * kv_row_bytes(t, d);
}

uint16_t kv_f16(float f)
{
	uint32_t x, ax;
	memcpy(&x, &f, sizeof x);
	uint16_t sign = (uint16_t)(x >> 16 & 0x8000);
	ax = x & 0x7fffffff;
	if (ax > 0x7f800000)
		return sign | 0x7e00;                   /* NaN */
	if (ax >= 0x47800000)
		return sign | 0x7c00;                   /* 65536 and up: infinity */
	if (ax < 0x38800000) {                          /* below 2^-14: subnormal */
		float a;
		memcpy(&a, &ax, sizeof a);
		return sign | (uint16_t)lrintf(a * 16777216.0f);  /* exact scaling, then nearest even */
	}
	/* rebias the exponent, round the 13 dropped bits to nearest even (a
	 * carry moves into the exponent, up to infinity, as it should) */
	return sign | (uint16_t)((ax - (112u << 23) + 0xfff + (ax >> 13 & 1)) >> 13);
}

uint16_t kv_bf16(float f)
{
	uint16_t h;
	portable_round_bf16(&h, &f, 1, 1);
	return h;
}

/* ggml's q8_0: scale max|x| / 127, quants rounded half away from zero */
static float q8_scale(const float *x, int stride, int8_t *q, int qstride)
{
	float amax = 0;
	for (int i = 0; i < QK8_0; i++)
		amax = fmaxf(amax, fabsf(x[i * stride]));
	float d = amax / 127, id = d ? 1 / d : 0;
	for (int i = 0; i < QK8_0; i++)
		q[i * qstride] = (int8_t)roundf(x[i * stride] * id);
	return d;
}

void key_put(void *kc, WType t, int kv_heads, int d, int pos, const float *k)
{
	int slot = pos % GEMM_PANEL;
	for (int g = 0; g < kv_heads; g++) {
		char *dst = (char *)kc + key_at(t, kv_heads, d, pos, g);
		const float *x = k + (int64_t)g * d;
		for (int i = 0; i < d; i++) {
			switch (t) {
			case WT_F32: ((float *)dst)[i * GEMM_PANEL] = x[i]; break;
			case WT_F16: ((uint16_t *)dst)[i * GEMM_PANEL] = kv_f16(x[i]); break;
			case WT_BF16: ((uint16_t *)dst)[i * GEMM_PANEL] = kv_bf16(x[i]); break;
			case WT_Q8_0: break;    /* below, a block at a time */
			case WT_Q4_0: case WT_Q4_K: case WT_Q5_K: case WT_Q6_K: case WT_COUNT: break;  /* not cache types */
			}
		}
		if (t != WT_Q8_0)
			continue;
		char *scales = dst - slot + (int64_t)d * GEMM_PANEL;
		for (int b = 0; b < d / QK8_0; b++) {
			uint16_t h = kv_f16(q8_scale(x + b * QK8_0, 1,
						 (int8_t *)dst + b * QK8_0 * GEMM_PANEL, GEMM_PANEL));
			memcpy(scales + ((int64_t)b * GEMM_PANEL + slot) * 2, &h, 2);
		}
	}
}

void key_clear(void *panel, WType t, int d, int slot)
{
	int64_t size = key_size(t), rest = GEMM_PANEL - slot;
	char *p = panel;
	for (int i = 0; i < d; i++)
		memset(p + (i * GEMM_PANEL + slot) * size, 0, (size_t)(rest * size));
	for (int b = 0; t == WT_Q8_0 && b < d / QK8_0; b++)     /* the scales */
		memset(p + (int64_t)d * GEMM_PANEL + (b * GEMM_PANEL + slot) * 2, 0, (size_t)rest * 2);
}

void value_put(void *dst, WType t, const float *x, int64_t n)
{
	switch (t) {
	case WT_F16:
		for (int64_t i = 0; i < n; i++)
			((uint16_t *)dst)[i] = kv_f16(x[i]);
		break;
	case WT_BF16:
		for (int64_t i = 0; i < n; i++)
			((uint16_t *)dst)[i] = kv_bf16(x[i]);
		break;
	case WT_Q8_0:
		for (int64_t b = 0; b < n / QK8_0; b++) {
			BlockQ8_0 blk;
			blk.d = kv_f16(q8_scale(x + b * QK8_0, 1, blk.qs, 1));
			memcpy((char *)dst + b * (int64_t)sizeof blk, &blk, sizeof blk);
		}
		break;
	case WT_F32:
		memcpy(dst, x, (size_t)n * sizeof *x);
		break;
	case WT_Q4_0: case WT_Q4_K: case WT_Q5_K: case WT_Q6_K: case WT_COUNT:      /* not cache types (kv_type_ok) */
		break;
	}
}

KvLayout kv_layout(WType t, int rows)
{
	switch (t) {
	case WT_F16: return KV_F16;
	case WT_BF16: return KV_BF16;
	case WT_Q8_0: return rows ? KV_Q8_ROWS : KV_Q8_PANEL;
	case WT_F32: case WT_Q4_0: case WT_Q4_K: case WT_Q5_K: case WT_Q6_K: case WT_COUNT:
		break;
	}
	return KV_F32;
}

float kv_elem(KvLayout l, const char *B, int64_t ld, int64_t K, int64_t k, int64_t col)
{
	const char *r = B + k * ld;
	uint16_t h;
	float f;
	switch (l) {
	case KV_F16:
		memcpy(&h, r + 2 * col, 2);
		return f16_to_f32(h);
	case KV_BF16:
		memcpy(&h, r + 2 * col, 2);
		return bf16_to_f32(h);
	case KV_Q8_PANEL:
		memcpy(&h, B + K * ld + (k / QK8_0) * 2 * ld + 2 * col, 2);
		return f16_to_f32(h) * (float)(int8_t)r[col];
	case KV_Q8_ROWS: {
		const char *blk = r + col / QK8_0 * (int64_t)sizeof(BlockQ8_0);
		memcpy(&h, blk, 2);
		return f16_to_f32(h) * (float)(int8_t)blk[2 + col % QK8_0];
	}
	case KV_F32:
		break;
	}
	memcpy(&f, r + 4 * col, 4);
	return f;
}

int64_t kv_panel_row_bytes(KvLayout l)
{
	return GEMM_PANEL * (l == KV_F32 ? 4 : l == KV_Q8_PANEL ? 1 : 2);
}
