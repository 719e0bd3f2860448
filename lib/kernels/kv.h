/* kv.h: how the KV cache stores keys and values in its element type (f32,
 * f16, bf16 or q8_0: a subset of wtype.h's types), and the scalar reading
 * of one element that the plain C attention products and the SIMD tails use.
 *
 * Values: one row a position, the nkv·d values of all KV heads, in the
 * type's row format (q8_0: ggml blocks of 32 along the row; head_dim is a
 * multiple of 32, so no block spans two heads).
 *
 * Keys: the positions in panels of GEMM_PANEL, each KV head's keys in a
 * panel transposed, so that attention multiplies by them where they are
 * (gemm_np). In a head's panel, element t of the key at slot i (position
 * pos, slot pos % GEMM_PANEL) is at row t, column i: byte
 * (t * GEMM_PANEL + i) * size for f32/f16/bf16. q8_0 keys are quantised as
 * ggml quantises a key row (blocks of 32 along the head dimension, one f16
 * scale each, the same numbers as llama.cpp's q8_0 K cache) but stored
 * transposed like the others: the int8 quants at byte t * GEMM_PANEL + i,
 * then the scales, block b of slot i at byte d * GEMM_PANEL + (b *
 * GEMM_PANEL + i) * 2. So a panel row of GEMM_PANEL quants is one load, its
 * scales one more, and a head's panel is GEMM_PANEL q8_0 rows long, the
 * same 34 bytes per 32 values as ggml.
 */
#ifndef ERNIE_KV_H
#define ERNIE_KV_H

#include <stdint.h>

#include "kernels/matmul.h"

/* 0 if t is one of the cache's element types, else -1. */
int kv_type_ok(WType t);
/* "f32, f16, bf16, q8_0" */
#define KV_TYPE_NAMES "f32, f16, bf16, q8_0"

/* Bytes of one head's panel of keys (GEMM_PANEL positions of d elements),
 * and of one row of n values. */
int64_t kv_panel_bytes(WType t, int d);
int64_t kv_row_bytes(WType t, int64_t n);

/* Bytes of a key element in a panel (q8_0: its quant). */
static inline int64_t key_size(WType t)
{
	return t == WT_F32 ? 4 : t == WT_Q8_0 ? 1 : 2;
}

/* Byte offset of the key of KV head g at position pos in a layer's key
 * cache (its element 0); the panels of head g start at key_at(.., 0, g),
 * KEY_PANEL_BYTES apart. */
static inline int64_t key_at(WType t, int kv_heads, int d, int pos, int g)
{
	return ((int64_t)(pos / GEMM_PANEL) * kv_heads + g) * kv_panel_bytes(t, d) +
	       pos % GEMM_PANEL * key_size(t);
}
#define KEY_PANEL_BYTES(t, kv_heads, d) ((int64_t)(kv_heads) * kv_panel_bytes(t, d))

/* Store k (the keys of all kv_heads heads at pos, d floats each). */
void key_put(void *kc, WType t, int kv_heads, int d, int pos, const float *k);

/* Zero the slots from slot on of one head's panel of keys (at its slot 0). */
void key_clear(void *panel, WType t, int d, int slot);

/* dst = the row of n values x in type t (q8_0: n a multiple of 32). */
void value_put(void *dst, WType t, const float *x, int64_t n);

/* How the attention products (matmul.h gemm_np / gemm_nn) read keys
 * (rows 0: f32, f16, bf16 or q8_0 panels) and values (rows 1) of type t. */
KvLayout kv_layout(WType t, int rows);

/* B(k, col) of a B operand in layout l: row k at B + k * ld bytes; K rows
 * (q8_0 panels: the scales follow the K rows of quants). */
float kv_elem(KvLayout l, const char *B, int64_t ld, int64_t K, int64_t k, int64_t col);

/* IEEE half and bfloat16 from f32, rounded to nearest even. */
uint16_t kv_f16(float f);
uint16_t kv_bf16(float f);

#endif
