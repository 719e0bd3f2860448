/* matmul_avx512.h: register helpers shared by the AVX-512 kernel files
 * (internal; include after <immintrin.h>, x86-64 only). */
#ifndef ERNIE_MATMUL_AVX512_H
#define ERNIE_MATMUL_AVX512_H

/* Transpose a 16 x 16 block of 32-bit elements: r[i] is row i on entry,
 * column i on return. Pairs within 128-bit lanes, then 64-bit pairs, then
 * the 128-bit lanes themselves. */
static inline __attribute__((always_inline, target("avx512f")))
void transpose16(__m512i r[16])
{
	__m512i t[16], u[16];
#pragma GCC unroll 16
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
	}
	/* u[4g + c], lane L: rows 4g..4g+3 of column 4L + c */
#pragma GCC unroll 16
	for (int g = 0; g < 4; g++) {
		u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
		u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
		u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
		u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
	}
#pragma GCC unroll 16
	for (int c = 0; c < 4; c++) {
		__m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
		__m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
		__m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
		__m512i v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
		r[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);
		r[4 + c] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
		r[8 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);
		r[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
	}
}

#endif
