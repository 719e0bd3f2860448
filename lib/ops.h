/* ops.h: the small kernels of the forward pass, everything but the weight
 * matrix products (those are in matmul.h). All arithmetic in f32. */
#ifndef ERNIE_OPS_H
#define ERNIE_OPS_H

#include <stdint.h>

#include "matmul.h"

/* y[n] = w ⊙ x / sqrt(mean(x²) + eps); y may be x. */
void rmsnorm(float *y, const float *x, const float *w, int n, float eps);

/* cos/sin of pos · inv_freq[i] for i < half (inv_freq = theta^(-2i/d)),
 * the angle taken in f32 as the reference does. */
void rope_angles(float *cos_, float *sin_, const float *inv_freq, int half, int pos);

/* Rotate the consecutive pairs (2i, 2i+1) of each of nheads vectors of
 * head_dim = 2 * half floats by the angles above (interleaved / GPT-J
 * RoPE, not the half-split form). */
void rope(float *x, int nheads, int half, const float *cos_, const float *sin_);

/* x[n] = softmax(x[n]) (max subtracted first). */
void softmax(float *x, int n);

/* g[n] = silu(g) ⊙ u: the SwiGLU gate. */
void swiglu(float *g, const float *u, int64_t n);

/* One query head against keys/values 0..npos-1 of its KV head:
 * out[d] = Σ_j softmax_j(q·k_j · scale) v_j. k and v rows are stride floats
 * apart; scores is scratch of npos floats. */
void attend(float *out, const float *q, const float *k, const float *v, int npos,
	    int64_t stride, int d, float scale, float *scores);

/* n values of a tensor row (F32, BF16 or F16) as f32. */
void to_f32(float *dst, DType dt, const void *src, int64_t n);

#endif
