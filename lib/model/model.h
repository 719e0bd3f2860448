/* model.h: the ERNIE 4.5 forward pass, dense and MoE (../shared/arch.md).
 *
 * Model: the config, the mapped weights (pointers into the safetensors or
 * GGUF files, used in place whatever their type, never dequantised into a
 * copy; only norms, router and bias become f32 arrays) and the RoPE
 * frequencies; read-only once loaded. State: one sequence, its KV cache
 * (grown with use up to a limit) and the scratch of the batch being
 * computed. model_eval appends tokens to a sequence and writes the logits
 * that are asked for, nothing more.
 */
#ifndef ERNIE_MODEL_H
#define ERNIE_MODEL_H

#include <stdint.h>

#include "model/config.h"
#include "kernels/matmul.h"
#include "model/tensors.h"

#define MODEL_BATCH 512         /* tokens computed together in a prefill: the
				 * weights are read (and packed) once per batch */

typedef struct {
	Mat gate;               /* [w, H] SiLU branch (w = this MLP's width) */
	Mat up;                 /* [w, H] linear branch */
	Mat down;               /* [H, w] */
} Mlp;

typedef struct {
	const float *attn_norm; /* [H] input_layernorm */
	Mat q;                  /* [nh·d, H] */
	Mat k, v;               /* [nkv·d, H] */
	Mat o;                  /* [H, nh·d] */
	const float *mlp_norm;  /* [H] post_attention_layernorm */
	int moe;                /* 1: router + experts below; 0: mlp */
	Mlp mlp;                /* dense layers: width I */
	const float *router;    /* MoE: [E, H] mlp.gate.weight, f32 */
	const float *bias;      /* MoE: [E] e_score_correction_bias (selection only) */
	Mlp *experts;           /* MoE: [E], width moe_inter */
	Mlp shared;             /* MoE: width moe_inter · n_shared; gate.data NULL if none */
} Layer;

typedef struct {
	Mat embed;              /* [V, H] model.embed_tokens.weight */
	Layer *layers;          /* [L] */
	const float *norm;      /* [H] model.norm.weight */
	Mat lm_head;            /* [V, H] lm_head.weight, or embed when tied */
} Weights;

typedef struct {
	Config cfg;             /* shared / moe_start settled from the tensors */
	Tensors tensors;        /* the mapped files and their tensors */
	int gguf;               /* loaded from a GGUF file (llama.cpp's names) */
	Weights w;
	float *inv_freq;        /* [d/2] theta^(-2i/d) */
	int shared_width;       /* width of the shared-expert MLP, 0 if none */
	int tied;               /* lm_head is the embedding */
	uint64_t params;        /* weights in the table (mtp excluded) */
	uint64_t active;        /* of which used per token (top_k of E experts) */
	void **owned;           /* [nowned] f32 copies made at load */
	int nowned;
} Model;

typedef struct State State;

/* Load PATH: a Hugging Face directory (config.json, safetensors), or a
 * GGUF file (config from its metadata, llama.cpp's tensor names). Every
 * tensor is checked against the config and every tensor must be used:
 * ERR_DATA names the file, the tensor, what was expected and what is
 * there. */
int model_load(Model **m, const char *path);
void model_free(Model *m);

/* "q4_K 120 (3.2 GB), f32 50 (1.1 MB)": the tensors of each weight type
 * and their bytes, into buf. */
void model_weight_types(const Model *m, char *buf, size_t size);

/* A sequence of at most limit tokens (0: the model's maximum). */
int state_new(State **s, const Model *m, int limit);
void state_free(State *s);
void state_reset(State *s);          /* an empty sequence; memory kept */
int state_pos(const State *s);       /* tokens in the sequence */
int state_limit(const State *s);

/* ERR_DATA "token i: id X outside the vocabulary [0, V)" for the first bad id. */
int model_check_ids(const Model *m, const int32_t *ids, int n);

/* Append ids[0..n) to the sequence. logits NULL: only the KV cache is
 * filled; else all ? logits[n][V] for every position : logits[V] for the
 * last. ERR_DATA for a bad id or past the limit (nothing appended), ERR_IO
 * out of memory. */
int model_eval(const Model *m, State *s, Compute *c, const int32_t *ids, int n, float *logits,
	       int all);

/* Bytes of KV cache per token of context and for a context of ctx tokens,
 * of scratch for a batch, and of attention scratch for a context of ctx
 * tokens computed on threads threads: the sizes the State allocates. */
uint64_t model_kv_bytes(const Model *m);
uint64_t model_kv_cache_bytes(const Model *m, int64_t ctx);
uint64_t model_scratch_bytes(const Model *m, int batch);
uint64_t model_attention_bytes(const Model *m, int threads, int64_t ctx);

#endif
