/* matmul_avx512vnni_xq.c: the integer products on 8-bit activations with
 * AVX-512 BW and VNNI (matmul_avx512_xq.h), for the avx512bf16 kernels:
 * every CPU with AVX512-BF16 has VNNI too (cpu.c checks both). */
#define XQ_VNNI 1
#define XQ_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define XQ_NAME(type) avx512vnni_xq_##type
#include "kernels/matmul_avx512_xq.h"
