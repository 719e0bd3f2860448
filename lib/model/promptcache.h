/* promptcache.h: prompt cache files (ernie-run --prompt-cache): the tokens
 * of a prompt and the KV cache after them, so that a later process whose
 * prompt starts the same way computes only the rest (llama.cpp's
 * --prompt-cache, for a pipeline of processes).
 *
 * File format, version 1, little-endian, nothing between the parts:
 *
 *   0   "ERNIEKV\0"
 *   8   u32 version (1)
 *   12  u32 panel: positions per key panel (GEMM_PANEL, 48)
 *   16  u64 model fingerprint (pc_fingerprint)
 *   24  u32 key type, u32 value type: their GGUF numbers (f32 0, f16 1,
 *       q8_0 8, bf16 30)
 *   32  u32 layers, u32 KV heads, u32 head size, u32 n: tokens
 *   48  u64 bytes of KV data
 *   56  u64 checksum of every other byte of the file
 *   64  i32 token ids [n]
 *       KV data: per layer, the key panels holding the n positions (in the
 *       cache's layout, kernels/kv.h; slots past n zero), then n value rows
 *
 * Every field is checked before anything is used, the checksum last but
 * before the data: a file of another model, other cache types, another
 * version, a wrong size, a bad checksum or an id outside the vocabulary is
 * refused (ERR_DATA), never half used.
 */
#ifndef ERNIE_PROMPTCACHE_H
#define ERNIE_PROMPTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

#define PC_VERSION 1

typedef struct {
	void *data;             /* the whole file, checked; NULL: no file */
	const int32_t *ids;     /* [n] into data */
	const void *kv;         /* into data */
	int n;
} PromptCache;

/* The model's identity: a hash of its config, its tensor table (names,
 * types, shapes) and 64 bytes of each tensor at four fixed places (start,
 * one third, two thirds, end): a fine-tune of the same shapes differs, and
 * only a few pages of the weights are read. */
uint64_t pc_fingerprint(const Model *m);

/* Read path for s (its model, its cache types; fp = pc_fingerprint of its
 * model). No file: an empty cache. ERR_DATA says what is wrong with a bad
 * one, ERR_IO if it cannot be read. */
int pc_load(PromptCache *pc, const char *path, const State *s, uint64_t fp);

/* The same checks on a file's bytes in memory (taken over: freed by
 * pc_free, or here on failure); name is for messages. */
int pc_parse(PromptCache *pc, void *data, size_t size, const char *name, const State *s,
	     uint64_t fp);

/* Tokens of a prompt computed even when the cache has them all: the last
 * one for its logits, and a batch of MAT_BF16_MIN_ROWS so that they go
 * through the same GEMM as a whole prompt (fewer take the matrix-vector
 * kernels, another summation order): the logits of a dense model are then
 * those of a run without the cache, bit for bit. */
#define PC_MIN_SUFFIX MAT_BF16_MIN_ROWS

/* Start the empty sequence s with the longest common prefix of ids[0..n)
 * and the cache, but at most n - PC_MIN_SUFFIX tokens. *reused: how
 * many. */
int pc_reuse(const PromptCache *pc, State *s, const int32_t *ids, int n, int *reused);

/* Write the sequence of s to path: a temporary file beside it, renamed
 * into place when complete (readers see the old file or the new one). */
int pc_save(const char *path, const State *s, uint64_t fp);

void pc_free(PromptCache *pc);

#endif
