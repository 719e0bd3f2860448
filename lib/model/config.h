/* config.h: what an ERNIE 4.5 text model is, from its config.json and
 * generation_config.json (../shared/arch.md §2, §10).
 *
 * Only what the files say is read here; whatever the tensors can tell better
 * (shared experts present, lm_head tied or not, the first MoE layer when the
 * config is silent) is left at -1 for model.c to settle and cross-check.
 */
#ifndef ERNIE_CONFIG_H
#define ERNIE_CONFIG_H

#define CONFIG_MAX_EOS 8

typedef struct {
	int moe;                /* 1 for ernie4_5_moe, 0 for the dense ernie4_5 */
	int vocab;              /* V: vocabulary size */
	int hidden;             /* H */
	int inter;              /* I: width of the dense SwiGLU MLPs */
	int layers;             /* L */
	int heads;              /* nh: query heads */
	int kv_heads;           /* nkv: key/value heads, divides nh */
	int head_dim;           /* d: head_dim when given, else H / nh; even */
	int max_pos;            /* max_position_embeddings: the longest context */
	double eps;             /* rms_norm_eps */
	double rope_theta;
	int tie;                /* tie_word_embeddings (the tensors have the last word) */

	/* MoE models only */
	int experts;            /* E: routed experts */
	int top_k;              /* moe_k: experts per token */
	int moe_inter;          /* routed expert width */
	int shared;             /* moe_num_shared_experts; -1: not said, the tensors decide */
	int shared_width;       /* GGUF: expert_shared_feed_forward_length (0: none);
				 * -1 (config.json): from shared, or the tensors */
	int moe_start;          /* moe_layer_start_index; -1: not said, the tensors decide */
	int moe_end;            /* moe_layer_end_index, L-1 when absent or negative */
	int moe_interval;       /* moe_layer_interval */
	double moe_norm_min;    /* clamp of the top-k renormalisation */

	/* generation_config.json (config.json when absent) */
	int bos;                /* -1 if unknown */
	int eos[CONFIG_MAX_EOS];/* end-of-sequence ids */
	int n_eos;
} Config;

/* Read DIR/config.json and DIR/generation_config.json (optional). Refuses
 * vision-language checkpoints, unknown architectures, rope scaling, other
 * settings the forward pass does not implement (hidden_act other than silu,
 * use_bias, ...), and inconsistent sizes (ERR_DATA naming the file, the key,
 * the value and the line). */
int config_load(Config *c, const char *dir);

struct Gguf;
/* The same from a GGUF file's metadata (architectures ernie4_5 and
 * ernie4_5-moe; llama.cpp's keys, ERR_DATA naming the file and the key).
 * MoE layers follow llama.cpp's rule: from leading_dense_block_count on,
 * every interleave_moe_layer_step-th. */
int config_from_gguf(Config *c, const struct Gguf *g);

/* Layer i uses the MoE block (HF rule: start <= i <= end, (i+1) % interval == 0). */
int config_is_moe_layer(const Config *c, int i);

#endif
