/* clones.h: functions built for several instruction sets at once, for the
 * small vector loops (softmax, SwiGLU, the sampler's weights). GNU vector
 * types (the compiler splits them to the machine's width) inside functions
 * marked CLONES are built for AVX-512, AVX2 and the baseline, and the best
 * is picked when the program loads: the build still runs on any x86-64. */
#ifndef ERNIE_CLONES_H
#define ERNIE_CLONES_H

#if defined(__x86_64__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/* The helpers take vectors by pointer and are always inlined into the
 * clones: a 64-byte vector passed by value would have a different ABI in
 * each clone (compilers warn, clang refuses). */
#define VINLINE static inline __attribute__((always_inline))

#endif
