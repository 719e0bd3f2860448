/* ernie-quantize: a model (Hugging Face "-PT" directory or GGUF file) in,
 * a GGUF file for llama.cpp's ernie4_5 / ernie4_5-moe architectures out,
 * its matrices quantised with llama.cpp's mix rules. See
 * man/ernie-quantize.1. */
#include "cli.h"
#include "base/doc.h"
#include "base/err.h"
#include "kernels/matmul.h"
#include "kernels/pool.h"
#include "kernels/quantize.h"
#include "model/config.h"
#include "model/gguf.h"
#include "model/gguf_vocab.h"
#include "model/gguf_write.h"
#include "model/safetensors.h"
#include "text/tokenizer.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_VERSION = 256 };

static const struct option long_opts[] = {
	{ "threads", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* The mixes: the type most matrices get, and llama.cpp's file type number
 * (general.file_type). */
typedef enum { MIX_Q8_0, MIX_Q4_0, MIX_Q4_K_M, MIX_Q5_K_M, MIX_Q6_K, MIX_BF16, MIX_F16, MIX_F32 } Mix;

static const struct {
	const char *name;
	WType base;
	uint32_t ftype;
} mixes[] = {
	[MIX_Q8_0] = { "q8_0", WT_Q8_0, 7 },
	[MIX_Q4_0] = { "q4_0", WT_Q4_0, 2 },
	[MIX_Q4_K_M] = { "q4_k_m", WT_Q4_K, 15 },
	[MIX_Q5_K_M] = { "q5_k_m", WT_Q5_K, 17 },
	[MIX_Q6_K] = { "q6_k", WT_Q6_K, 18 },
	[MIX_BF16] = { "bf16", WT_BF16, 32 },
	[MIX_F16] = { "f16", WT_F16, 1 },
	[MIX_F32] = { "f32", WT_F32, 0 },
};
#define NMIX (sizeof mixes / sizeof mixes[0])

typedef struct {
	const char *in, *out;
	Mix mix;
	int threads;            /* 0: the machine's cores */
} Options;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] IN OUT TYPE\n"
		"Write the model IN (a Hugging Face \"-PT\" directory or a GGUF file) as the\n"
		"GGUF file OUT for llama.cpp (and ernie-run), its matrices of type TYPE with\n"
		"llama.cpp's mix rules: q8_0, q4_0, q4_k_m, q5_k_m, q6_k, bf16, f16 or f32.\n"
		"OUT appears only when complete.\n"
		"  -t, --threads N         threads (default: the machine's cores)\n"
		"  -h, --help              this help\n"
		"      --version           print the version\n",
		cli_prog());
}

static int parse_args(int argc, char **argv, Options *o, int *done)
{
	*o = (Options){ 0 };
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:h", long_opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 't':
			o->threads = (int)strtol(optarg, &end, 10);
			if (!*optarg || *end || o->threads < 1 || o->threads > 4096)
				return cli_usage_error("-t: expected a number of threads 1..4096, not '%s'", optarg);
			break;
		case 'h': usage(stdout); *done = 1; return 0;
		case OPT_VERSION: cli_version(); *done = 1; return 0;
		case ':': return cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
		default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 3)
		return cli_usage_error("expected IN OUT TYPE, got %d argument%s", argc - optind,
				       argc - optind == 1 ? "" : "s");
	o->in = argv[optind];
	o->out = argv[optind + 1];
	for (size_t i = 0; i < NMIX; i++)
		if (!strcasecmp(argv[optind + 2], mixes[i].name)) {
			o->mix = (Mix)i;
			return 0;
		}
	return cli_usage_error("TYPE '%s' is not one of q8_0, q4_0, q4_k_m, q5_k_m, q6_k, bf16, f16, f32",
			       argv[optind + 2]);
}

/* ---- the output tensors and where their data comes from ---------------- */

/* One output tensor: a stack of ne[2] matrices of ne[1] rows of ne[0]
 * (a vector is one row). Matrix e is read from src[e], zero-padded when
 * the source is smaller, all zeros when src[e] is NULL (llama.cpp's loader
 * wants tensors ERNIE's checkpoints lack: see add_layer). */
typedef struct {
	char name[64];
	WType type;
	int ndim;
	int64_t ne[3];
	const Tensor **src;     /* [ne[2]] */
} OutT;

typedef struct {
	const Config *c;
	const Tensors *ts;
	const Gguf *g;           /* the input when it is a GGUF file, else NULL */
	const char *dir;
	Mix mix;
	int tied;               /* no output.weight: token_embd serves both */
	int moe_start;          /* first MoE layer (llama.cpp: every layer from it on is MoE) */
	int sw;                 /* shared-expert width written (0: none) */
	OutT *t;
	size_t n, cap;
} Plan;

static int use_more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* The type of a tensor under the mix, as llama.cpp's llama-quant.cpp
 * chooses it for these architectures: vectors, norms and the router stay
 * f32; the output matrix (or the tied embeddings) gets Q6_K in the
 * quantised mixes but Q8_0; the K_M mixes give attn_v and ffn_down Q6_K in
 * the layers use_more_bits picks; models of exactly 8 experts get Q8_0
 * attn_k/attn_v (and Q5_K attn_output in Q4_K_M). Rows that are not whole
 * blocks fall back to Q8_0 (llama.cpp picks Q5_0/Q5_1 for Q4_K/Q5_K, types
 * ernie does not read), then to F16. */
static WType tensor_type(const Plan *p, const char *name, int ndim, int64_t cols)
{
	WType t = mixes[p->mix].base;
	int layer = -1, km = p->mix == MIX_Q4_K_M || p->mix == MIX_Q5_K_M, e8 = p->c->moe && p->c->experts == 8;

	if (ndim < 2 || ends_with(name, "_norm.weight") || strstr(name, "ffn_gate_inp.weight"))
		return WT_F32;
	if (wtype_info[t].block == 1)
		return t;
	sscanf(name, "blk.%d.", &layer);
	if (!strcmp(name, "output.weight") || (p->tied && !strcmp(name, "token_embd.weight"))) {
		if (cols % wtype_info[t].block)
			t = WT_Q8_0;
		else if (t != WT_Q8_0)
			t = WT_Q6_K;
	} else if (strstr(name, "attn_v.weight")) {
		if (km && use_more_bits(layer, p->c->layers))
			t = WT_Q6_K;
		if (e8)
			t = WT_Q8_0;
	} else if (strstr(name, "attn_k.weight")) {
		if (e8)
			t = WT_Q8_0;
	} else if (strstr(name, "ffn_down")) {
		if (km && use_more_bits(layer, p->c->layers))
			t = WT_Q6_K;
	} else if (strstr(name, "attn_output.weight")) {
		if (e8 && p->mix == MIX_Q4_K_M)
			t = WT_Q5_K;
	}
	if (cols % wtype_info[t].block)
		t = cols % wtype_info[WT_Q8_0].block ? WT_F16 : WT_Q8_0;
	return t;
}

/* Add an output tensor of shape ne (ggml order) from nsrc sources. */
static int add(Plan *p, const char *name, int ndim, int64_t ne0, int64_t ne1, int64_t ne2,
	       const Tensor *const *src)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		OutT *nt = realloc(p->t, cap * sizeof *nt);
		if (!nt)
			return err(ERR_IO, "out of memory");
		p->t = nt;
		p->cap = cap;
	}
	OutT *o = &p->t[p->n];
	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "%s", name);
	o->ndim = ndim;
	o->ne[0] = ne0;
	o->ne[1] = ne1;
	o->ne[2] = ne2;
	if (!(o->src = calloc((size_t)ne2, sizeof *o->src)))
		return err(ERR_IO, "out of memory");
	p->n++;
	for (int64_t e = 0; e < ne2; e++)
		o->src[e] = src ? src[e] : NULL;
	o->type = tensor_type(p, name, ndim, ne0);
	return 0;
}

/* The checkpoint's tensor called fmt..., checked to be a [rows, cols]
 * matrix (cols < 0: a vector of rows elements, [1, rows] accepted) no
 * larger than the output wants; NULL with an ERR_DATA message if not. */
static const Tensor *src(const Plan *p, int64_t rows, int64_t cols, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static const Tensor *src(const Plan *p, int64_t rows, int64_t cols, const char *fmt, ...)
{
	char name[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	const Tensor *t = tensors_find(p->ts, name);
	if (!t) {
		err(ERR_DATA, "%s: tensor '%s' missing", p->dir, name);
		return NULL;
	}
	int ok = cols < 0 ? t->nelem == rows && (t->ndim == 1 || (t->ndim == 2 && t->shape[0] == 1))
			  : t->ndim == 2 && t->shape[0] <= rows && t->shape[1] <= cols;
	if (!ok) {
		char have[96];
		tensors_shape_str(have, sizeof have, t->shape, t->ndim);
		err(ERR_DATA, "%s: tensor '%s': shape %s, expected %s of [%lld, %lld] at most", p->dir, name,
		    have, cols < 0 ? "a vector" : "a matrix", (long long)rows, (long long)(cols < 0 ? 1 : cols));
		return NULL;
	}
	return t;
}

static int add_mat(Plan *p, const char *name, int64_t rows, int64_t cols, const char *fmt, int layer)
{
	const Tensor *t = src(p, rows, cols, fmt, layer);
	return t ? add(p, name, 2, cols, rows, 1, &t) : ERR_DATA;
}

static int add_vec(Plan *p, const char *name, int64_t n, const char *fmt, int layer)
{
	const Tensor *t = src(p, n, -1, fmt, layer);
	return t ? add(p, name, 1, n, 1, 1, &t) : ERR_DATA;
}

/* An MLP's gate/up/down (the checkpoint's prefix.{gate,up,down}_proj, or
 * zeros when prefix is NULL) as blk.i.ffn_{gate,up,down}SUFFIX of width w. */
static int add_mlp(Plan *p, int i, const char *suffix, int64_t w, const char *prefix)
{
	static const char *const g[] = { "gate", "up", "down" };
	int64_t H = p->c->hidden;
	for (int k = 0; k < 3; k++) {
		int64_t rows = k < 2 ? w : H, cols = k < 2 ? H : w;
		const Tensor *t = NULL;
		char name[64];
		if (prefix && !(t = src(p, rows, cols, "%s.%s_proj.weight", prefix, g[k])))
			return ERR_DATA;
		snprintf(name, sizeof name, "blk.%d.ffn_%s%s.weight", i, g[k], suffix);
		int rc = add(p, name, 2, cols, rows, 1, &t);
		if (rc)
			return rc;
	}
	return 0;
}

/* The routed experts of layer i stacked, ne = [in, out, E]; all zeros
 * when zero is set. */
static int add_experts(Plan *p, int i, int zero)
{
	static const char *const g[] = { "gate", "up", "down" };
	int64_t H = p->c->hidden, W = p->c->moe_inter, E = p->c->experts;
	const Tensor **s = calloc((size_t)E, sizeof *s);
	int rc = s ? 0 : err(ERR_IO, "out of memory");
	for (int k = 0; k < 3 && !rc; k++) {
		int64_t rows = k < 2 ? W : H, cols = k < 2 ? H : W;
		for (int64_t e = 0; e < E && !zero && !rc; e++)
			if (!(s[e] = src(p, rows, cols, "model.layers.%d.mlp.experts.%lld.%s_proj.weight", i,
					 (long long)e, g[k])))
				rc = ERR_DATA;
		char name[64];
		snprintf(name, sizeof name, "blk.%d.ffn_%s_exps.weight", i, g[k]);
		if (!rc)
			rc = add(p, name, 3, cols, rows, E, zero ? NULL : s);
	}
	free(s);
	return rc;
}

static int has(const Plan *p, const char *fmt, int i)
{
	char name[256];
	snprintf(name, sizeof name, fmt, i);
	return tensors_find(p->ts, name) != NULL;
}

/* One layer. llama.cpp makes every layer from leading_dense_block_count on
 * an MoE layer and has one shared-expert width; a dense layer after the
 * checkpoint's MoE range (moe_layer_end_index) is therefore written as an
 * MoE layer computing the same function: zero router and bias, zero routed
 * experts (their output is exactly 0) and the dense MLP, zero-padded to
 * the shared width, as its shared expert. */
static int add_layer(Plan *p, int i)
{
	const Config *c = p->c;
	int64_t H = c->hidden, q = (int64_t)c->heads * c->head_dim, kv = (int64_t)c->kv_heads * c->head_dim;
	char b[64], name[96];
	int rc = 0;
#define NAME(s) (snprintf(name, sizeof name, "%s.%s.weight", b, s), name)
	snprintf(b, sizeof b, "blk.%d", i);
	if (!rc) rc = add_vec(p, NAME("attn_norm"), H, "model.layers.%d.input_layernorm.weight", i);
	if (!rc) rc = add_mat(p, NAME("attn_q"), q, H, "model.layers.%d.self_attn.q_proj.weight", i);
	if (!rc) rc = add_mat(p, NAME("attn_k"), kv, H, "model.layers.%d.self_attn.k_proj.weight", i);
	if (!rc) rc = add_mat(p, NAME("attn_v"), kv, H, "model.layers.%d.self_attn.v_proj.weight", i);
	if (!rc) rc = add_mat(p, NAME("attn_output"), H, q, "model.layers.%d.self_attn.o_proj.weight", i);
	if (!rc) rc = add_vec(p, NAME("ffn_norm"), H, "model.layers.%d.post_attention_layernorm.weight", i);
	if (rc)
		return rc;
	char mlp[64], shexp[80];
	snprintf(mlp, sizeof mlp, "model.layers.%d.mlp", i);
	snprintf(shexp, sizeof shexp, "%s.shared_experts", mlp);
	if (!c->moe || i < p->moe_start)
		return add_mlp(p, i, "", c->inter, mlp);
	int real = config_is_moe_layer(c, i);
	int64_t E = c->experts;
	const Tensor *t = real ? src(p, E, H, "model.layers.%d.mlp.gate.weight", i) : NULL;
	if (real && !t)
		return ERR_DATA;
	if ((rc = add(p, NAME("ffn_gate_inp"), 2, H, E, 1, &t)))
		return rc;
	t = NULL;
	if (real && has(p, "model.layers.%d.mlp.moe_statics.e_score_correction_bias", i) &&
	    !(t = src(p, E, -1, "model.layers.%d.mlp.moe_statics.e_score_correction_bias", i)))
		return ERR_DATA;
	snprintf(name, sizeof name, "%s.exp_probs_b.bias", b);
	if ((!real || t) && (rc = add(p, name, 1, E, 1, 1, &t)))
		return rc;
	if ((rc = add_experts(p, i, !real)))
		return rc;
	if (!p->sw)
		return 0;
	if (!real)
		return add_mlp(p, i, "_shexp", p->sw, mlp);
	return add_mlp(p, i, "_shexp", p->sw,
		       has(p, "model.layers.%d.mlp.shared_experts.gate_proj.weight", i) ? shexp : NULL);
#undef NAME
}

static int plan_build(Plan *p)
{
	const Config *c = p->c;
	int rc;
	p->tied = c->tie || !tensors_find(p->ts, "lm_head.weight");
	if (c->moe) {
		p->moe_start = c->moe_start;
		for (int i = 0; p->moe_start < 0 && i < c->layers; i++)
			if (has(p, "model.layers.%d.mlp.experts.0.gate_proj.weight", i))
				p->moe_start = i;
		if (p->moe_start < 0)
			return err(ERR_DATA, "%s: an MoE model without experts", p->dir);
		if (c->moe_interval != 1)
			return err(ERR_DATA, "%s: moe_layer_interval %d: llama.cpp's ERNIE 4.5 supports 1 only",
				   p->dir, c->moe_interval);
		/* the shared width: the widest real shared expert or dense MLP
		 * that becomes one */
		for (int i = p->moe_start; i < c->layers; i++) {
			char n[128];
			if (config_is_moe_layer(c, i))
				snprintf(n, sizeof n, "model.layers.%d.mlp.shared_experts.gate_proj.weight", i);
			else
				snprintf(n, sizeof n, "model.layers.%d.mlp.gate_proj.weight", i);
			const Tensor *t = tensors_find(p->ts, n);
			if (t && t->ndim == 2 && t->shape[0] > p->sw)
				p->sw = (int)t->shape[0];
		}
	}
	const Tensor *t = src(p, c->vocab, c->hidden, "model.embed_tokens.weight");
	if (!t || (rc = add(p, "token_embd.weight", 2, c->hidden, c->vocab, 1, &t)))
		return ERR_DATA;
	if (!(t = src(p, c->hidden, -1, "model.norm.weight")) || (rc = add(p, "output_norm.weight", 1, c->hidden, 1, 1, &t)))
		return ERR_DATA;
	if (!p->tied && (!(t = src(p, c->vocab, c->hidden, "lm_head.weight")) ||
			 (rc = add(p, "output.weight", 2, c->hidden, c->vocab, 1, &t))))
		return ERR_DATA;
	for (int i = 0; i < c->layers; i++)
		if ((rc = add_layer(p, i)))
			return rc;
	return 0;
}

static void plan_free(Plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->t[i].src);
	free(p->t);
}

/* ---- metadata ------------------------------------------------------------ */

/* The general.* keys; name NULL: the input's (copied with the rest). */
static int add_general(GgufWriter *w, const Plan *p, const char *name)
{
	int rc = 0;
	if (!rc && name) rc = gguf_w_str(w, "general.architecture", p->c->moe ? "ernie4_5-moe" : "ernie4_5");
	if (!rc && name) rc = gguf_w_str(w, "general.name", name);
	if (!rc) rc = gguf_w_u32(w, "general.file_type", mixes[p->mix].ftype);
	if (!rc) rc = gguf_w_u32(w, "general.quantization_version", 2);
	return rc;
}

static int add_hparams(GgufWriter *w, const Plan *p)
{
	const Config *c = p->c;
	const char *arch = c->moe ? "ernie4_5-moe" : "ernie4_5";
	char k[96];
	int rc = 0;
#define KEY(s) (snprintf(k, sizeof k, "%s.%s", arch, s), k)
	if (!rc) rc = gguf_w_u32(w, KEY("vocab_size"), (uint32_t)c->vocab);
	if (!rc) rc = gguf_w_u32(w, KEY("context_length"), (uint32_t)c->max_pos);
	if (!rc) rc = gguf_w_u32(w, KEY("embedding_length"), (uint32_t)c->hidden);
	if (!rc) rc = gguf_w_u32(w, KEY("block_count"), (uint32_t)c->layers);
	if (!rc) rc = gguf_w_u32(w, KEY("feed_forward_length"), (uint32_t)c->inter);
	if (!rc) rc = gguf_w_u32(w, KEY("attention.head_count"), (uint32_t)c->heads);
	if (!rc) rc = gguf_w_u32(w, KEY("attention.head_count_kv"), (uint32_t)c->kv_heads);
	if (!rc) rc = gguf_w_u32(w, KEY("attention.key_length"), (uint32_t)c->head_dim);
	if (!rc) rc = gguf_w_u32(w, KEY("attention.value_length"), (uint32_t)c->head_dim);
	if (!rc) rc = gguf_w_u32(w, KEY("rope.dimension_count"), (uint32_t)c->head_dim);
	if (!rc) rc = gguf_w_f32(w, KEY("rope.freq_base"), (float)c->rope_theta);
	if (!rc) rc = gguf_w_f32(w, KEY("attention.layer_norm_rms_epsilon"), (float)c->eps);
	if (!c->moe || rc)
		return rc;
	if (!rc) rc = gguf_w_u32(w, KEY("expert_count"), (uint32_t)c->experts);
	if (!rc) rc = gguf_w_u32(w, KEY("expert_used_count"), (uint32_t)c->top_k);
	if (!rc) rc = gguf_w_u32(w, KEY("expert_feed_forward_length"), (uint32_t)c->moe_inter);
	if (!rc) rc = gguf_w_u32(w, KEY("expert_shared_count"), p->sw ? (uint32_t)(c->shared > 0 ? c->shared : 1) : 0);
	if (!rc && p->sw) rc = gguf_w_u32(w, KEY("expert_shared_feed_forward_length"), (uint32_t)p->sw);
	if (!rc) rc = gguf_w_u32(w, KEY("leading_dense_block_count"), (uint32_t)p->moe_start);
	if (!rc) rc = gguf_w_u32(w, KEY("interleave_moe_layer_step"), (uint32_t)c->moe_interval);
	if (!rc) rc = gguf_w_f32(w, KEY("expert_weights_scale"), 1.0f);
	return rc;
#undef KEY
}

/* A GGUF vocabulary (SentencePiece token types; scores) being built. */
typedef struct {
	char **text;
	uint32_t *len;
	float *score;
	int32_t *type;
	int32_t n;
} Vocab;

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

static int vocab_set(Vocab *v, int32_t id, const char *s, size_t len, float score, int type)
{
	if (!(v->text[id] = malloc(len + 1)))
		return err(ERR_IO, "out of memory");
	memcpy(v->text[id], s, len);
	v->text[id][len] = 0;
	v->len[id] = (uint32_t)len;
	v->score[id] = score;
	v->type[id] = type;
	return 0;
}

static void vocab_free(Vocab *v)
{
	for (int32_t i = 0; v->text && i < v->n; i++)
		free(v->text[i]);
	free(v->text);
	free(v->len);
	free(v->score);
	free(v->type);
}

/* The vocabulary of tokenizer t padded to n ids: its pieces with their
 * types and scores, the added tokens as control tokens (ERNIE's are all
 * special), [PAD<id>] unused tokens for ids it lacks, as llama.cpp's
 * converter does. */
static int vocab_from_tokenizer(Vocab *v, const Tokenizer *t)
{
	char pad[32];
	for (int32_t i = 0; i < v->n; i++) {
		size_t len;
		const char *s = i < t->nids ? tok_id_text(t, i, &len) : NULL;
		int rc;
		if (i < t->m.n)
			rc = vocab_set(v, i, s, len, t->m.pieces[i].score, t->m.pieces[i].type);
		else if (s)
			rc = vocab_set(v, i, s, len, -1000.0f, TT_CONTROL);
		else
			rc = vocab_set(v, i, pad, (size_t)snprintf(pad, sizeof pad, "[PAD%d]", i), -1000.0f, TT_UNUSED);
		if (rc)
			return rc;
	}
	return 0;
}

/* Without a tokenizer.model: <unk> <s> </s>, the 256 byte pieces and
 * placeholders, enough for llama.cpp to load the file and run on ids. */
static int vocab_placeholder(Vocab *v, int32_t bos, int32_t eos, int32_t unk)
{
	char s[32];
	int byte = 0, rc = 0;
	for (int32_t i = 0; i < v->n && !rc; i++) {
		if (i == unk)
			rc = vocab_set(v, i, "<unk>", 5, 0, TT_UNKNOWN);
		else if (i == bos)
			rc = vocab_set(v, i, "<s>", 3, 0, TT_CONTROL);
		else if (i == eos)
			rc = vocab_set(v, i, "</s>", 4, 0, TT_CONTROL);
		else if (byte < 256)
			rc = vocab_set(v, i, s, (size_t)snprintf(s, sizeof s, "<0x%02X>", byte++), 0, TT_BYTE);
		else
			rc = vocab_set(v, i, s, (size_t)snprintf(s, sizeof s, "\xe2\x96\x81t%d", i), -(float)i, TT_NORMAL);
	}
	return rc;
}

/* tokenizer_config.json's string value of key, or NULL. */
static const char *config_str(const Doc *d, const char *key)
{
	const DocNode *n = doc_get(d->root, key);
	return n && n->kind == DOC_SCALAR && !doc_is_null(n) ? n->str : NULL;
}

static int add_tokenizer(GgufWriter *w, const Plan *p)
{
	const Config *c = p->c;
	char path[4096];
	Tokenizer *t = NULL;
	Doc d = { 0 };
	Vocab v = { .n = c->vocab };
	int32_t bos = c->bos >= 0 ? c->bos : 1, eos = c->n_eos ? c->eos[0] : 2, unk = 0, pad = -1;
	int rc = 0;

	snprintf(path, sizeof path, "%s/tokenizer.model", p->dir);
	if (access(path, F_OK) == 0) {
		if ((rc = tok_load(&t, p->dir)))
			return rc;
		if (t->nids > c->vocab)
			fprintf(stderr, "%s: %s: the tokenizer's ids %d..%d are past vocab_size %d: left out, "
				"as llama.cpp's converter does\n", cli_prog(), p->dir, c->vocab, t->nids - 1, c->vocab);
		unk = t->unk_id;
	} else {
		fprintf(stderr, "%s: %s has no tokenizer.model: writing a placeholder vocabulary "
			"(token ids only)\n", cli_prog(), p->dir);
		unk = bos != 0 && eos != 0 ? 0 : 3;
	}
	snprintf(path, sizeof path, "%s/tokenizer_config.json", p->dir);
	if (!rc && access(path, F_OK) == 0)
		rc = doc_load_file(&d, path);
	v.text = calloc((size_t)v.n, sizeof *v.text);
	v.len = calloc((size_t)v.n, sizeof *v.len);
	v.score = calloc((size_t)v.n, sizeof *v.score);
	v.type = calloc((size_t)v.n, sizeof *v.type);
	if (!rc && (!v.text || !v.len || !v.score || !v.type))
		rc = err(ERR_IO, "out of memory");
	if (!rc)
		rc = t ? vocab_from_tokenizer(&v, t) : vocab_placeholder(&v, bos, eos, unk);
	const char *s = config_str(&d, "pad_token");
	if (t && s)
		pad = tok_piece_id(t, s, strlen(s));
	if (!rc) rc = gguf_w_str(w, "tokenizer.ggml.model", "llama");
	if (!rc) rc = gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v.text, v.len, (uint64_t)v.n);
	if (!rc) rc = gguf_w_arr_f32(w, "tokenizer.ggml.scores", v.score, (uint64_t)v.n);
	if (!rc) rc = gguf_w_arr_i32(w, "tokenizer.ggml.token_type", v.type, (uint64_t)v.n);
	if (!rc) rc = gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
	if (!rc) rc = gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
	if (!rc) rc = gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)unk);
	if (!rc && pad >= 0) rc = gguf_w_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)pad);
	if (!rc) rc = gguf_w_bool(w, "tokenizer.ggml.add_space_prefix", t && t->m.add_dummy_prefix);
	if (!rc) rc = gguf_w_bool(w, "tokenizer.ggml.remove_extra_whitespaces", t && t->m.remove_extra_ws);
	/* the model card's pipeline adds no BOS: the chat template writes it */
	if (!rc) rc = gguf_w_bool(w, "tokenizer.ggml.add_bos_token", 0);
	if (!rc) rc = gguf_w_bool(w, "tokenizer.ggml.add_eos_token", 0);
	int32_t *split = t ? malloc((size_t)t->nids * sizeof *split) : NULL, nsplit = 0;
	if (t && !split && !rc)
		rc = err(ERR_IO, "out of memory");
	for (int32_t i = 0; split && i < t->nids && i < c->vocab; i++)
		if (t->special[i])
			split[nsplit++] = i;
	if (!rc && split)
		rc = gguf_w_arr_i32(w, GGUF_SPLIT_KEY, split, (uint64_t)nsplit);
	free(split);
	if (!rc && (s = config_str(&d, "chat_template")))
		rc = gguf_w_str(w, "tokenizer.chat_template", s);
	vocab_free(&v);
	doc_free(&d);
	tok_free(t);
	return rc;
}

/* ---- the data ------------------------------------------------------------ */

static const char *volatile tmp_path;   /* removed if a signal ends the run */

static void on_signal(int sig)
{
	if (tmp_path)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void progress(uint64_t done, uint64_t total, const char *name)
{
	int width = 30, fill = total ? (int)(done * (uint64_t)width / total) : width;
	fprintf(stderr, "\r%s: [%.*s%*s] %3d%% %-40.40s", cli_prog(), fill,
		"##############################", width - fill, "",
		total ? (int)(done * 100 / total) : 100, name);
	if (done == total)
		fputs("\r\033[K", stderr);
}

/* Row r of matrix e of o as f32, zero-padded: a source of 3 dimensions
 * (a GGUF input's stacked experts) holds all the matrices, one of 2 only
 * matrix e, a vector one row. */
static void source_row(const OutT *o, int64_t e, int64_t r, float *x)
{
	const Tensor *t = o->src[e];
	int vec = o->ndim == 1 || !t || t->ndim < 2;
	int64_t rows = !t ? 0 : vec ? 1 : t->shape[t->ndim - 2];
	int64_t cols = !t ? 0 : vec ? t->nelem : t->shape[t->ndim - 1];
	memset(x, 0, (size_t)o->ne[0] * sizeof *x);
	if (r >= rows)
		return;
	int64_t row = t->ndim == 3 ? e * rows + r : r;
	wtype_info[t->type].to_f32(x, (const unsigned char *)t->data + row * wtype_row_bytes(t->type, cols), cols);
}

/* A batch of consecutive rows of one tensor (row g is row g % ne[1] of
 * matrix g / ne[1]), quantised on the pool TASK_ROWS rows a task. */
enum { TASK_ROWS = 16, BATCH_BYTES = 32 << 20 };

typedef struct {
	const OutT *o;
	int64_t first, rows;    /* the batch: global rows [first, first + rows) */
	int64_t row_bytes;
	unsigned char *out;     /* rows * row_bytes */
	float *x;               /* [threads][ne[0]] one source row a thread */
} Batch;

static void quantize_task(void *arg, int i)
{
	const Batch *b = arg;
	const OutT *o = b->o;
	float *x = b->x + (size_t)pool_self() * (size_t)o->ne[0];
	for (int64_t k = (int64_t)i * TASK_ROWS; k < b->rows && k < (int64_t)(i + 1) * TASK_ROWS; k++) {
		int64_t g = b->first + k;
		source_row(o, g / o->ne[1], g % o->ne[1], x);
		quantize_row[o->type](b->out + k * b->row_bytes, x, o->ne[0]);
	}
}

static int write_data(GgufWriter *w, const Plan *p, int threads)
{
	int64_t maxcols = 0, maxrow = 0;
	uint64_t total = 0, done = 0;
	int tty = isatty(STDERR_FILENO), rc;
	Pool *pool = NULL;
	for (size_t i = 0; i < p->n; i++) {
		int64_t cols = p->t[i].ne[0], row = wtype_row_bytes(p->t[i].type, cols);
		maxcols = cols > maxcols ? cols : maxcols;
		maxrow = row > maxrow ? row : maxrow;
		total += w->t[i].bytes;
	}
	/* a batch holds BATCH_BYTES of output, or one row */
	int64_t batch_rows = maxrow && BATCH_BYTES / maxrow > 0 ? BATCH_BYTES / maxrow : 1;
	Batch b = { .x = malloc((size_t)threads * (size_t)maxcols * sizeof *b.x),
		    .out = malloc((size_t)(batch_rows * maxrow) + 1) };
	rc = !b.x || !b.out ? err(ERR_IO, "out of memory") : pool_new(&pool, threads);
	for (size_t i = 0; i < p->n && !rc; i++) {
		const OutT *o = &p->t[i];
		int64_t rows = o->ne[1] * o->ne[2];
		b.o = o;
		b.row_bytes = wtype_row_bytes(o->type, o->ne[0]);
		for (b.first = 0; b.first < rows && !rc; b.first += b.rows) {
			b.rows = rows - b.first < batch_rows ? rows - b.first : batch_rows;
			pool_run(pool, quantize_task, &b, (int)((b.rows + TASK_ROWS - 1) / TASK_ROWS));
			rc = gguf_w_data(w, b.out, (uint64_t)(b.rows * b.row_bytes));
		}
		done += w->t[i].bytes;
		if (tty)
			progress(done, total, o->name);
	}
	if (pool)
		pool_free(pool);
	free(b.x);
	free(b.out);
	return rc;
}

/* A GGUF input keeps its tensors (names, shapes, order) and its metadata;
 * only the types change. */
static int plan_copy(Plan *p)
{
	p->tied = !tensors_find(p->ts, "output.weight");
	for (size_t i = 0; i < p->ts->n; i++) {
		const Tensor *t = &p->ts->t[i], *srcs[1024];
		int64_t ne[3] = { 1, 1, 1 };
		if (t->ndim > 3)
			return err(ERR_DATA, "%s: tensor '%s': %d dimensions", p->dir, t->name, t->ndim);
		if (t->ndim == 3 && t->shape[0] > 1024)
			return err(ERR_DATA, "%s: tensor '%s': %lld experts, at most 1024", p->dir, t->name,
				   (long long)t->shape[0]);
		for (int d = 0; d < t->ndim; d++)
			ne[d] = t->shape[t->ndim - 1 - d];
		for (int64_t e = 0; e < ne[2]; e++)
			srcs[e] = t;
		int rc = add(p, t->name, t->ndim, ne[0], ne[1], ne[2], srcs);
		if (rc)
			return rc;
	}
	return 0;
}

/* Every key of the input but those this file sets anew. */
static int copy_metadata(GgufWriter *w, const Gguf *g)
{
	static const char *const fresh[] = { "general.file_type", "general.quantization_version",
					     "general.alignment" };
	for (uint64_t i = 0; i < g->nkv; i++) {
		int skip = 0;
		for (size_t k = 0; k < sizeof fresh / sizeof fresh[0]; k++)
			skip |= !strcmp(g->kv[i].key, fresh[k]);
		int rc = skip ? 0 : gguf_w_kv(w, &g->kv[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int quantize(const Options *o)
{
	struct stat sb;
	Config c;
	Tensors ts = { 0 };
	Gguf g = { 0 };
	GgufWriter w;
	Plan p = { .mix = o->mix, .dir = o->in, .c = &c, .ts = &ts };
	const char *base = strrchr(o->in, '/');
	char name[256];
	int rc;

	gguf_w_init(&w);
	if (stat(o->in, &sb))
		return err_errno(ERR_IO, "%s", o->in);
	snprintf(name, sizeof name, "%s", base && base[1] ? base + 1 : o->in);
	if (S_ISDIR(sb.st_mode)) {
		if ((rc = config_load(&c, o->in)) || (rc = st_open_dir(&ts, o->in)))
			return rc;
		rc = plan_build(&p);
		if (!rc) rc = add_general(&w, &p, name);
		if (!rc) rc = add_hparams(&w, &p);
		if (!rc) rc = add_tokenizer(&w, &p);
	} else {
		if ((rc = gguf_open(&g, o->in, &ts))) {
			tensors_close(&ts);     /* the file may be mapped into it */
			return rc;
		}
		p.g = &g;
		rc = config_from_gguf(&c, &g);
		if (!rc) rc = plan_copy(&p);
		if (!rc) rc = add_general(&w, &p, NULL);
		if (!rc) rc = copy_metadata(&w, &g);
	}
	for (size_t i = 0; i < p.n && !rc; i++)
		rc = gguf_w_tensor(&w, p.t[i].name, p.t[i].type, p.t[i].ndim, p.t[i].ne);
	if (!rc) {
		rc = gguf_w_begin(&w, o->out);
		tmp_path = w.tmp;
	}
	if (!rc) rc = write_data(&w, &p, o->threads ? o->threads : compute_default_threads());
	if (!rc) rc = gguf_w_finish(&w);
	tmp_path = NULL;
	gguf_w_free(&w);
	plan_free(&p);
	if (p.g)
		gguf_close(&g);
	tensors_close(&ts);
	return rc;
}

int main(int argc, char **argv)
{
	Options o;
	int done = 0, rc;

	cli_init(argv[0]);
	if ((rc = parse_args(argc, argv, &o, &done)) || done)
		return rc;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rc = quantize(&o);
	return rc ? cli_fail(rc) : 0;
}
