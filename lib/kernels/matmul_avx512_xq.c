/* matmul_avx512_xq.c: the integer products on 8-bit activations with
 * AVX-512 BW (matmul_avx512_xq.h), for the avx512 kernels. */
#define XQ_VNNI 0
#define XQ_TARGET "avx512f,avx512bw,avx512vl,avx2,fma,f16c"
#define XQ_NAME(type) avx512_xq_##type
#include "kernels/matmul_avx512_xq.h"
