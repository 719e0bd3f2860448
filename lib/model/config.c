/* config.c: config.json and generation_config.json into a Config (config.h), refusing what the forward pass does not implement. */
#include "model/config.h"
#include "base/doc.h"
#include "base/err.h"
#include "model/gguf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUIRED LLONG_MIN      /* default meaning "the key must be there" */

/* An integer key in [lo, hi]; absent or null gives def (or an error if
 * def is REQUIRED), which may be a sentinel outside the range. */
static int get_int(const Doc *d, const char *key, long long lo, long long hi, long long def,
		   int *out)
{
	const DocNode *n = doc_get(d->root, key);
	long long v = def;
	if (doc_is_null(n)) {
		if (def == REQUIRED)
			return err(ERR_DATA, "%s: missing \"%s\"", d->name, key);
	} else if (doc_int(d, n, key, &v)) {
		return ERR_DATA;
	}
	if (!doc_is_null(n) && (v < lo || v > hi))
		return err(ERR_DATA, "%s:%d:%d: %s %lld outside [%lld, %lld]", d->name, n->line,
			   n->col, key, v, lo, hi);
	*out = (int)v;
	return 0;
}

static int get_double(const Doc *d, const DocNode *map, const char *key, double def,
		      double *out)
{
	const DocNode *n = doc_get(map, key);
	*out = def;
	if (doc_is_null(n))
		return 0;
	if (doc_double(d, n, key, out))
		return ERR_DATA;
	if (!(*out > 0))
		return err(ERR_DATA, "%s:%d:%d: %s must be positive", d->name, n->line, n->col, key);
	return 0;
}

static int str_is(const DocNode *n, const char *s)
{
	return n && n->kind == DOC_SCALAR && !strcmp(n->str, s);
}

/* ---- what kind of model ------------------------------------------------- */

static int read_kind(Config *c, const Doc *d)
{
	static const char *dense[] = { "Ernie4_5ForCausalLM", "Ernie4_5_ForCausalLM" };
	const DocNode *arch = doc_get(d->root, "architectures");
	const DocNode *type = doc_get(d->root, "model_type");
	const DocNode *a = arch && arch->kind == DOC_SEQ && arch->n ? arch->kids[0] : NULL;
	const DocNode *ne = doc_get(d->root, "moe_num_experts");

	if (ne && ne->kind == DOC_SEQ)
		return err(ERR_DATA, "%s:%d:%d: moe_num_experts is a list: a vision-language "
			   "checkpoint, not supported", d->name, ne->line, ne->col);
	if ((a && a->kind == DOC_SCALAR && strstr(a->str, "VL")) ||
	    (type && type->kind == DOC_SCALAR && strstr(type->str, "vl")))
		return err(ERR_DATA, "%s: a vision-language checkpoint (%s), not supported", d->name,
			   a && a->kind == DOC_SCALAR ? a->str : type->str);
	if (!a || a->kind != DOC_SCALAR)
		return err(ERR_DATA, "%s: missing \"architectures\"", d->name);
	if (!strcmp(a->str, dense[0]) || !strcmp(a->str, dense[1]))
		c->moe = 0;
	else if (!strcmp(a->str, "Ernie4_5_MoeForCausalLM"))
		c->moe = 1;
	else
		return err(ERR_DATA, "%s:%d:%d: architecture \"%s\" is not an ERNIE 4.5 text model",
			   d->name, a->line, a->col, a->str);
	if (type && type->kind != DOC_SCALAR)
		return err(ERR_DATA, "%s:%d:%d: model_type: expected a string", d->name, type->line,
			   type->col);
	if (type && !str_is(type, c->moe ? "ernie4_5_moe" : "ernie4_5"))
		return err(ERR_DATA, "%s:%d:%d: model_type \"%s\" contradicts architecture \"%s\"",
			   d->name, type->line, type->col, type->str, a->str);
	return 0;
}

/* Settings of the architecture with one value (or two names for it) that
 * the forward pass implements; absent or null means that value. Any other
 * is refused, naming the key and the value, rather than computed wrongly.
 * Values are as written in the JSON: strings quoted. */
static const struct {
	const char *key;
	const char *ok[2];      /* ok[1] may be NULL */
} implemented[] = {
	{ "hidden_act", { "\"silu\"", "\"swish\"" } },  /* one function in transformers */
	{ "use_bias", { "false", NULL } },              /* no bias in the linear layers */
	{ "use_rmsnorm", { "true", NULL } },            /* RMSNorm, not LayerNorm */
	{ "moe_gate_act", { "\"softmax\"", NULL } },    /* the router's softmax */
};

static int read_implemented(const Doc *d)
{
	for (size_t i = 0; i < sizeof implemented / sizeof implemented[0]; i++) {
		const char *key = implemented[i].key, *const *ok = implemented[i].ok;
		const DocNode *n = doc_get(d->root, key);
		char value[64];
		if (doc_is_null(n))
			continue;
		if (n->kind != DOC_SCALAR)
			snprintf(value, sizeof value, "%s", n->kind == DOC_SEQ ? "[...]" : "{...}");
		else
			snprintf(value, sizeof value, n->plain ? "%.60s" : "\"%.58s\"", n->str);
		if (strcmp(value, ok[0]) && (!ok[1] || strcmp(value, ok[1])))
			return err(ERR_DATA, "%s:%d:%d: %s %s is not implemented (only %s)", d->name,
				   n->line, n->col, key, value, ok[0]);
	}
	return 0;
}

/* rope_theta, or rope_parameters.rope_theta (transformers v5); any scaling
 * other than the default is refused. */
static int read_rope(Config *c, const Doc *d)
{
	const DocNode *params = doc_get(d->root, "rope_parameters");
	const DocNode *scaling = doc_get(d->root, "rope_scaling");
	int rc = get_double(d, d->root, "rope_theta", 500000.0, &c->rope_theta);
	if (!rc && params && params->kind == DOC_MAP)
		rc = get_double(d, params, "rope_theta", c->rope_theta, &c->rope_theta);
	if (rc)
		return rc;
	const DocNode *maps[] = { params, scaling };
	for (int i = 0; i < 2; i++) {
		const DocNode *m = maps[i];
		if (doc_is_null(m))
			continue;
		if (m->kind != DOC_MAP)
			return err(ERR_DATA, "%s:%d:%d: expected an object", d->name, m->line, m->col);
		if (doc_get(m, "mrope_section") || doc_get(m, "freq_allocation"))
			return err(ERR_DATA, "%s:%d:%d: 3-D rope of a vision-language checkpoint, not "
				   "supported", d->name, m->line, m->col);
		const DocNode *t = doc_get(m, "rope_type");
		if (!t)
			t = doc_get(m, "type");
		if (t && !doc_is_null(t) && !str_is(t, "default"))
			return err(ERR_DATA, "%s:%d:%d: rope scaling \"%s\" is not supported", d->name,
				   t->line, t->col, t->kind == DOC_SCALAR ? t->str : "?");
	}
	return 0;
}

static int read_sizes(Config *c, const Doc *d)
{
	int rc = get_int(d, "vocab_size", 1, 1 << 24, REQUIRED, &c->vocab);
	if (!rc) rc = get_int(d, "hidden_size", 1, 1 << 20, REQUIRED, &c->hidden);
	if (!rc) rc = get_int(d, "intermediate_size", 1, 1 << 22, REQUIRED, &c->inter);
	if (!rc) rc = get_int(d, "num_hidden_layers", 1, 4096, REQUIRED, &c->layers);
	if (!rc) rc = get_int(d, "num_attention_heads", 1, 4096, REQUIRED, &c->heads);
	if (!rc) rc = get_int(d, "num_key_value_heads", 1, 4096, c->heads, &c->kv_heads);
	if (!rc) rc = get_int(d, "max_position_embeddings", 1, 1 << 24, 131072, &c->max_pos);
	if (!rc) rc = get_double(d, d->root, "rms_norm_eps", 1e-5, &c->eps);
	if (rc)
		return rc;
	if (c->heads % c->kv_heads)
		return err(ERR_DATA, "%s: num_key_value_heads %d does not divide num_attention_heads "
			   "%d", d->name, c->kv_heads, c->heads);
	int def = c->hidden % c->heads ? 0 : c->hidden / c->heads;
	if ((rc = get_int(d, "head_dim", 0, 1 << 16, def, &c->head_dim)))
		return rc;
	if (c->head_dim == 0 || c->head_dim % 2)
		return err(ERR_DATA, "%s: head_dim %d is not a positive even number (hidden_size %d, "
			   "%d heads)", d->name, c->head_dim, c->hidden, c->heads);
	const DocNode *tie = doc_get(d->root, "tie_word_embeddings");
	c->tie = 1;
	if (!doc_is_null(tie) && doc_bool(d, tie, "tie_word_embeddings", &c->tie))
		return ERR_DATA;
	return 0;
}

static int read_moe(Config *c, const Doc *d)
{
	int rc = get_int(d, "moe_num_experts", 1, 1 << 16, REQUIRED, &c->experts);
	if (!rc) rc = get_int(d, "moe_k", 1, c->experts, REQUIRED, &c->top_k);
	if (!rc) rc = get_int(d, "moe_intermediate_size", 1, 1 << 22, REQUIRED, &c->moe_inter);
	if (!rc) rc = get_int(d, "moe_num_shared_experts", 0, 1 << 10, -1, &c->shared);
	if (!rc) rc = get_int(d, "moe_layer_start_index", 0, c->layers - 1, -1, &c->moe_start);
	if (!rc) rc = get_int(d, "moe_layer_end_index", -1, c->layers - 1, -1, &c->moe_end);
	if (!rc) rc = get_int(d, "moe_layer_interval", 1, c->layers, 1, &c->moe_interval);
	if (!rc) rc = get_double(d, d->root, "moe_norm_min", 1e-12, &c->moe_norm_min);
	if (!rc && c->moe_end < 0)
		c->moe_end = c->layers - 1;
	return rc;
}

/* eos_token_id: an id or a list of ids. */
static int read_eos(Config *c, const Doc *d)
{
	const DocNode *n = doc_get(d->root, "eos_token_id");
	if (doc_is_null(n))
		return 0;
	size_t count = n->kind == DOC_SEQ ? n->n : 1;
	if (count > CONFIG_MAX_EOS)
		return err(ERR_DATA, "%s:%d:%d: more than %d eos_token_id values", d->name, n->line,
			   n->col, CONFIG_MAX_EOS);
	c->n_eos = 0;
	for (size_t i = 0; i < count; i++) {
		long long v;
		if (doc_int(d, n->kind == DOC_SEQ ? n->kids[i] : n, "eos_token_id", &v))
			return ERR_DATA;
		if (v < 0 || v >= c->vocab)
			return err(ERR_DATA, "%s: eos_token_id %lld outside the vocabulary (%d)",
				   d->name, v, c->vocab);
		c->eos[c->n_eos++] = (int)v;
	}
	return 0;
}

static int read_ids(Config *c, const Doc *d)
{
	int rc = get_int(d, "bos_token_id", -1, c->vocab - 1, c->bos, &c->bos);
	return rc ? rc : read_eos(c, d);
}

/* ---- loading ------------------------------------------------------------ */

static int load_doc(Doc *d, const char *dir, const char *file, int optional)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *path = malloc(n);
	if (!path)
		return err(ERR_IO, "out of memory");
	snprintf(path, n, "%s/%s", dir, file);
	int rc = optional && access(path, F_OK) ? -1 : doc_load_file(d, path);
	free(path);
	if (rc > 0 || rc < 0)
		return rc;
	if (!d->root || d->root->kind != DOC_MAP) {
		doc_free(d);
		return err(ERR_DATA, "%s/%s: not a JSON object", dir, file);
	}
	return 0;
}

int config_load(Config *c, const char *dir)
{
	memset(c, 0, sizeof *c);
	c->bos = -1;
	c->shared = c->shared_width = c->moe_start = -1;
	Doc d;
	int rc = load_doc(&d, dir, "config.json", 0);
	if (rc)
		return rc;
	if (!(rc = read_kind(c, &d)) && !(rc = read_implemented(&d)) && !(rc = read_sizes(c, &d)) &&
	    !(rc = read_rope(c, &d)) &&
	    !(rc = c->moe ? read_moe(c, &d) : 0))
		rc = read_ids(c, &d);
	doc_free(&d);
	if (rc)
		return rc;
	rc = load_doc(&d, dir, "generation_config.json", 1);
	if (rc < 0)
		return 0;
	if (!rc) {
		rc = read_ids(c, &d);
		doc_free(&d);
	}
	return rc;
}

int config_is_moe_layer(const Config *c, int i)
{
	return c->moe && c->moe_start >= 0 && i >= c->moe_start && i <= c->moe_end &&
	       (i + 1) % c->moe_interval == 0;
}

/* ---- GGUF metadata ------------------------------------------------------ */

/* "ARCH.name" as a u32 in [lo, hi]; absent: def (REQUIRED: an error). */
static int gguf_int(const Gguf *g, const char *arch, const char *name, long long lo,
		    long long hi, long long def, int *out)
{
	char key[128];
	uint32_t v;
	snprintf(key, sizeof key, "%s.%s", arch, name);
	if (!gguf_find(g, key)) {
		if (def == REQUIRED)
			return err(ERR_DATA, "%s: key '%s' missing", g->path, key);
		*out = (int)def;
		return 0;
	}
	int rc = gguf_u32(g, key, &v);
	if (rc)
		return rc;
	if (v < lo || v > hi)
		return err(ERR_DATA, "%s: key '%s': %u outside [%lld, %lld]", g->path, key, v, lo, hi);
	*out = (int)v;
	return 0;
}

/* "ARCH.name" as a positive f32, def when absent. */
static int gguf_pos(const Gguf *g, const char *arch, const char *name, double def, double *out)
{
	char key[128];
	float v;
	snprintf(key, sizeof key, "%s.%s", arch, name);
	*out = def;
	if (!gguf_find(g, key))
		return 0;
	int rc = gguf_f32(g, key, &v);
	if (!rc && !(v > 0))
		rc = err(ERR_DATA, "%s: key '%s': %g must be positive", g->path, key, v);
	if (!rc)
		*out = v;
	return rc;
}

static int gguf_moe(Config *c, const Gguf *g, const char *a)
{
	int rc = gguf_int(g, a, "expert_count", 1, 1 << 16, REQUIRED, &c->experts);
	if (!rc) rc = gguf_int(g, a, "expert_used_count", 1, c->experts, REQUIRED, &c->top_k);
	if (!rc) rc = gguf_int(g, a, "expert_feed_forward_length", 1, 1 << 22, REQUIRED,
			       &c->moe_inter);
	if (!rc) rc = gguf_int(g, a, "expert_shared_feed_forward_length", 0, 1 << 22, 0,
			       &c->shared_width);
	if (!rc) rc = gguf_int(g, a, "leading_dense_block_count", 0, c->layers - 1, 0,
			       &c->moe_start);
	if (!rc) rc = gguf_int(g, a, "interleave_moe_layer_step", 1, c->layers, 1,
			       &c->moe_interval);
	c->moe_end = c->layers - 1;
	c->moe_norm_min = 1e-12;
	return rc;
}

/* bos and eos from the tokenizer's keys, when there. */
static int gguf_ids(Config *c, const Gguf *g)
{
	int rc = 0;
	uint32_t v;
	if (gguf_find(g, "tokenizer.ggml.bos_token_id") &&
	    !(rc = gguf_u32(g, "tokenizer.ggml.bos_token_id", &v)))
		c->bos = v < (uint32_t)c->vocab ? (int)v : -1;
	if (!rc && gguf_find(g, "tokenizer.ggml.eos_token_id") &&
	    !(rc = gguf_u32(g, "tokenizer.ggml.eos_token_id", &v))) {
		if (v >= (uint32_t)c->vocab)
			return err(ERR_DATA, "%s: tokenizer.ggml.eos_token_id %u outside the vocabulary "
				   "(%d)", g->path, v, c->vocab);
		c->eos[c->n_eos++] = (int)v;
	}
	return rc;
}

int config_from_gguf(Config *c, const Gguf *g)
{
	GgufStr arch;
	char a[32], key[128];
	memset(c, 0, sizeof *c);
	c->bos = -1;
	c->shared = -1;
	int rc = gguf_str(g, "general.architecture", &arch);
	if (rc)
		return rc;
	if (arch.len == 8 && !memcmp(arch.s, "ernie4_5", 8))
		c->moe = 0;
	else if (arch.len == 12 && !memcmp(arch.s, "ernie4_5-moe", 12))
		c->moe = 1;
	else
		return err(ERR_DATA, "%s: architecture '%.*s' is not an ERNIE 4.5 text model "
			   "(ernie4_5, ernie4_5-moe)", g->path, (int)(arch.len < 64 ? arch.len : 64),
			   arch.s);
	snprintf(a, sizeof a, "%.*s", (int)arch.len, arch.s);

	/* the vocabulary: its own key, else the tokenizer's size */
	const GgufKv *toks = gguf_find(g, "tokenizer.ggml.tokens");
	long long vdef = toks && toks->type == GGUF_ARRAY ? (long long)toks->n : REQUIRED;
	rc = gguf_int(g, a, "vocab_size", 1, 1 << 24, vdef, &c->vocab);
	if (!rc) rc = gguf_int(g, a, "embedding_length", 1, 1 << 20, REQUIRED, &c->hidden);
	if (!rc) rc = gguf_int(g, a, "feed_forward_length", 1, 1 << 22, REQUIRED, &c->inter);
	if (!rc) rc = gguf_int(g, a, "block_count", 1, 4096, REQUIRED, &c->layers);
	if (!rc) rc = gguf_int(g, a, "attention.head_count", 1, 4096, REQUIRED, &c->heads);
	if (!rc) rc = gguf_int(g, a, "attention.head_count_kv", 1, 4096, c->heads, &c->kv_heads);
	if (!rc) rc = gguf_int(g, a, "context_length", 1, 1 << 24, 131072, &c->max_pos);
	if (!rc) rc = gguf_pos(g, a, "attention.layer_norm_rms_epsilon", 1e-5, &c->eps);
	/* llama.cpp's default when the file is silent */
	if (!rc) rc = gguf_pos(g, a, "rope.freq_base", 10000.0, &c->rope_theta);
	if (rc)
		return rc;
	if (c->heads % c->kv_heads)
		return err(ERR_DATA, "%s: head_count_kv %d does not divide head_count %d", g->path,
			   c->kv_heads, c->heads);
	int def = c->hidden % c->heads ? 0 : c->hidden / c->heads;
	if ((rc = gguf_int(g, a, "attention.key_length", 0, 1 << 16, def, &c->head_dim)))
		return rc;
	if (c->head_dim == 0 || c->head_dim % 2)
		return err(ERR_DATA, "%s: head dimension %d is not a positive even number", g->path,
			   c->head_dim);
	int rot;                /* rotary dimensions: all of the head */
	if ((rc = gguf_int(g, a, "rope.dimension_count", 0, 1 << 16, c->head_dim, &rot)))
		return rc;
	if (rot != c->head_dim)
		return err(ERR_DATA, "%s: %s.rope.dimension_count %d: partial rotary embeddings (head "
			   "dimension %d) are not ERNIE 4.5's", g->path, a, rot, c->head_dim);
	snprintf(key, sizeof key, "%s.rope.scaling.type", a);
	GgufStr scaling;
	if (gguf_find(g, key) && !(rc = gguf_str(g, key, &scaling)) &&
	    !(scaling.len == 4 && !memcmp(scaling.s, "none", 4)))
		return err(ERR_DATA, "%s: rope scaling '%.*s' is not supported", g->path,
			   (int)(scaling.len < 64 ? scaling.len : 64), scaling.s);
	if (rc)
		return rc;
	c->tie = 1;             /* the tensors tell: no output.weight means tied */
	if (c->moe && (rc = gguf_moe(c, g, a)))
		return rc;
	return gguf_ids(c, g);
}
