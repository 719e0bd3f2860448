/* xq.h: activations rounded to 8-bit integers, for the quantised weights'
 * integer products (--precision q8, llama.cpp's scheme): the weights'
 * small integers times the activations' summed exactly in int32, a block
 * at a time, then scaled in f32. What rounds is the activation only:
 *
 *   x[k] ≈ d[k / B] q[k],  d = max |x| / 127 over the block,  q = x / d
 *   rounded to nearest (ties to even), in [-127, 127]
 *
 * with blocks of B = 32 for Q8_0 and Q4_0 weights (one activation scale a
 * weight block) and B = 256 for the K types (one scale a super-block, so
 * the sub-blocks' integer sums add up, weighted by their integer scales,
 * before one multiply). sum[i] = Σ q over elements 16 i .. 16 i + 15: the
 * weights' offsets (Q4_0's 8, Q6_K's 32, the K types' mins) are then one
 * product each instead of one per element (dsum: the same per 32, scaled). */
#ifndef ERNIE_XQ_H
#define ERNIE_XQ_H

#include <stdint.h>

#include "kernels/wtype.h"

#define XQ_MAX 4        /* activation rows one kernel call takes */

typedef struct {
	const int8_t *q;        /* [cols] */
	const float *d;         /* [cols / B] */
	const int16_t *sum;     /* [cols / 16] */
	const float *dsum;      /* [cols / 32]: d times Σ q of each 32, for the
				 * K types' mins (one product a sub-block) */
} XQ;

/* B for weights of type t (a quantised type): 32 or QK_K. */
static inline int xq_block(WType t)
{
	return t == WT_Q8_0 || t == WT_Q4_0 ? 32 : QK_K;
}

/* Bytes of one row of cols activations (cols a multiple of 32), q, d, sum
 * and dsum each 64-byte aligned when the row starts so. */
int64_t xq_row_bytes(int64_t cols);

/* Rows [m0, m1) of X (n rows of cols floats, cols a multiple of block)
 * into the rows of buf (xq_row_bytes(cols) apart), each described by
 * xq[m]. */
void xq_quantize(void *buf, XQ *xq, const float *X, int64_t cols, int block, int m0, int m1);

#endif
