/* matmul_avx512bf16.c: AVX-512 with BF16 dot products (vdpbf16ps): bf16
 * weights times activations rounded to bf16, summed in f32. */
#include "matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define INLINE static inline __attribute__((always_inline)) TARGET

const Kernels kernels_avx512bf16 = {
	.vec_f32 = avx512_vec_f32,
	.to_f32 = avx512_to_f32,
};
#endif
