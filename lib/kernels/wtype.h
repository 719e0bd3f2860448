/* wtype.h: the weight types, as data. One row a type (the idea of ggml's
 * type traits): its name, its number in GGUF files, how many elements a
 * block holds and in how many bytes, and the exact dequantiser of a row.
 * Everything that depends on a weight's type looks here, so a new type is
 * one row plus its kernels; the per-ISA kernel tables in matmul_kernels.h
 * are indexed by WType too, and switches on WType list every value
 * (-Wswitch-enum: no default branch that would read an unknown type as
 * floats).
 *
 * Block layouts are those of ggml's format description (ggml-common.h):
 * little-endian, f16 scales, no padding. */
#ifndef ERNIE_WTYPE_H
#define ERNIE_WTYPE_H

#include <stdint.h>
#include <string.h>

typedef enum {
	WT_F32,
	WT_F16,
	WT_BF16,
	WT_Q8_0,
	WT_Q4_0,
	WT_Q4_K,
	WT_Q5_K,
	WT_Q6_K,
	WT_COUNT
} WType;

#define QK8_0 32
#define QK4_0 32
#define QK_K 256        /* the K types' super-block */

typedef struct {
	uint16_t d;             /* f16 scale */
	int8_t qs[QK8_0];       /* x[i] = d * qs[i] */
} BlockQ8_0;

typedef struct {
	uint16_t d;             /* f16 scale */
	uint8_t qs[QK4_0 / 2];  /* x[j] = d * ((qs[j] & 15) - 8), x[j + 16] = d * ((qs[j] >> 4) - 8) */
} BlockQ4_0;

/* Q4_K and Q5_K: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit
 * min packed in scales[12]; x = d * sc * q - dmin * m */
typedef struct {
	uint16_t d, dmin;       /* f16 super-block scales of the scales and mins */
	uint8_t scales[12];
	uint8_t qs[QK_K / 2];   /* 4-bit quants, two sub-blocks per 32 bytes */
} BlockQ4_K;

typedef struct {
	uint16_t d, dmin;
	uint8_t scales[12];
	uint8_t qh[QK_K / 8];   /* the fifth bit of each quant */
	uint8_t qs[QK_K / 2];   /* the low four bits */
} BlockQ5_K;

/* Q6_K: 16 sub-blocks of 16, each with an 8-bit signed scale; x = d * sc * (q - 32) */
typedef struct {
	uint8_t ql[QK_K / 2];   /* low four bits */
	uint8_t qh[QK_K / 4];   /* high two bits */
	int8_t scales[QK_K / 16];
	uint16_t d;             /* f16 */
} BlockQ6_K;

typedef struct {
	const char *name;       /* ggml's name: "f32", "q8_0", "q4_K" ... */
	int ggml;               /* the type's number in a GGUF tensor table */
	int block;              /* elements a block */
	int bytes;              /* bytes a block */
	/* dst[0..n) = the n elements at src, exactly (n a multiple of block) */
	void (*to_f32)(float *dst, const void *src, int64_t n);
} WTypeInfo;

extern const WTypeInfo wtype_info[WT_COUNT];

/* Bytes of a row of cols elements; -1 when cols is not a whole number of
 * blocks (or the bytes overflow int64_t). */
int64_t wtype_row_bytes(WType t, int64_t cols);

/* The WType of GGUF type number g; -1 if ernie has no such type. */
int wtype_from_ggml(uint32_t g, WType *t);

/* The supported types' names, "f32, f16, ...", for messages. */
const char *wtype_names(void);

/* Scale *sc and min *m of sub-block j (< 8) of a Q4_K/Q5_K super-block,
 * from its 12 packed bytes q: the first four are the low six bits of bytes
 * j and j + 4; the last four take their low four bits from byte j + 4 and
 * their top two from the spare bits of bytes j - 4 and j. */
static inline void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4;
		*m = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
	}
}

/* IEEE half and bfloat16 to f32, exact (inline: the quantised kernels
 * convert a scale every block). A half's exponent and mantissa, moved to
 * the f32 positions, are its value times 2^-112 exactly, subnormals
 * included; all-ones exponents are infinities and NaNs. */
static inline float f16_to_f32(uint16_t h)
{
	uint32_t em = h & 0x7fffu, u = em << 13;
	float f;
	if (em >= 0x7c00u) {
		u |= 0x7f800000u;
		memcpy(&f, &u, 4);
	} else {
		memcpy(&f, &u, 4);
		f *= 0x1p112f;
	}
	return (h & 0x8000u) ? -f : f;
}

static inline float bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

#endif
