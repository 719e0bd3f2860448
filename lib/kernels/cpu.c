/* cpu.c: which SIMD instruction sets this CPU and OS can run; implements
 * isa_supported() of matmul.h. cpuid says what the CPU has, xgetbv whether
 * the OS saves the wide registers on a context switch. */
#include "kernels/matmul.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xcr0(void)
{
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (unsigned long long)hi << 32 | lo;
}

int isa_supported(Isa isa)
{
	unsigned a, b, c, d, b7, c7, a71;
	int avx2, avx512;

	if (isa == ISA_AUTO || isa == ISA_PORTABLE)
		return 1;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return 0;
	/* FMA, F16C, AVX and OS support for the ymm state */
	avx2 = (c & bit_FMA) && (c & bit_F16C) && (c & bit_AVX) &&
	       (xcr0() & 0x6) == 0x6;
	if (!avx2 || !__get_cpuid_count(7, 0, &a, &b7, &c7, &d))
		return 0;
	avx2 = (b7 & bit_AVX2) != 0;
	/* AVX-512 F/BW/VL and the opmask + zmm states */
	avx512 = avx2 && (b7 & bit_AVX512F) && (b7 & bit_AVX512BW) &&
		 (b7 & bit_AVX512VL) && (xcr0() & 0xe6) == 0xe6;
	switch (isa) {
	case ISA_AVX2:
		return avx2;
	case ISA_AVX512:
		return avx512;
	case ISA_AVX512BF16:
		if (!avx512 || !__get_cpuid_count(7, 1, &a71, &b, &c, &d))
			return 0;
		/* AVX512_BF16, and the VNNI of the integer products (every CPU
		 * with the first has the second) */
		return (a71 & (1u << 5)) && (c7 & (1u << 11));
	case ISA_AUTO:
	case ISA_PORTABLE:
	case ISA_COUNT:
		break;
	}
	return 0;
}
#else
int isa_supported(Isa isa)
{
	return isa == ISA_AUTO || isa == ISA_PORTABLE;
}
#endif
