/* ops.h: the small kernels of the forward pass, everything but the weight
 * matrix products (those are in matmul.h). All arithmetic in f32. */
#ifndef ERNIE_OPS_H
#define ERNIE_OPS_H

#include <stdint.h>

#include "kernels/matmul.h"

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

/* Query rows attend to at once: the scores scratch of attend() holds
 * ATTEND_ROWS rows of keys. */
#define ATTEND_ROWS 64

/* Causal attention against one KV head: rows r < n of q, each group
 * consecutive rows at one position p0 + r / group (one query head at n /
 * group positions, or the group query heads sharing the KV head at one
 * position), against keys/values 0..p(r):
 * out[r] = Σ_j softmax_j(q_r·k_j · scale) v_j. q and out rows are qstride
 * floats apart; the keys are the head's panels (kp, kpstride bytes apart,
 * layout kl: kernels/kv.h), the values rows of v vstride bytes apart
 * (layout vl); scores is scratch of ATTEND_ROWS * (p0 + n / group) floats.
 * Products by gemm_np / gemm_nn (matmul.h) ATTEND_ROWS rows at a time (the
 * masked corner of each block costs a little extra work; the keys and
 * values are read once for all the rows of a block); on the calling
 * thread. */
void attend(Compute *c, float *out, const float *q, int64_t qstride, const void *kp,
	    KvLayout kl, int64_t kpstride, const void *v, KvLayout vl, int64_t vstride, int n,
	    int group, int p0, int d, float scale, float *scores);

#endif
