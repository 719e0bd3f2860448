/* model_load.c: open a model (a Hugging Face directory or a GGUF file),
 * bind its tensors to the Weights by role, checking each one against the
 * config, and refuse any tensor left over. */
#include "model/model.h"
#include "base/err.h"
#include "model/gguf.h"
#include "model/safetensors.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The tensors' names for each role, in the two naming schemes. Layer
 * names take the layer as their first %d; HF experts the expert as their
 * second; GGUF stacks a layer's experts in one [E, rows, cols] tensor. */
typedef struct {
	const char *embed, *norm, *head;
	const char *layer;                      /* prefix of a layer's names */
	const char *attn_norm, *q, *k, *v, *o, *mlp_norm;
	const char *mlp[3];                     /* dense gate, up, down */
	const char *router, *bias;
	const char *experts[3];
	const char *shared[3];
	int stacked;
	const char *source;                     /* where the config came from */
} Names;

static const Names hf_names = {
	.embed = "model.embed_tokens.weight", .norm = "model.norm.weight",
	.head = "lm_head.weight", .layer = "model.layers.%d.",
	.attn_norm = "model.layers.%d.input_layernorm.weight",
	.q = "model.layers.%d.self_attn.q_proj.weight",
	.k = "model.layers.%d.self_attn.k_proj.weight",
	.v = "model.layers.%d.self_attn.v_proj.weight",
	.o = "model.layers.%d.self_attn.o_proj.weight",
	.mlp_norm = "model.layers.%d.post_attention_layernorm.weight",
	.mlp = { "model.layers.%d.mlp.gate_proj.weight", "model.layers.%d.mlp.up_proj.weight",
		 "model.layers.%d.mlp.down_proj.weight" },
	.router = "model.layers.%d.mlp.gate.weight",
	.bias = "model.layers.%d.mlp.moe_statics.e_score_correction_bias",
	.experts = { "model.layers.%d.mlp.experts.%d.gate_proj.weight",
		     "model.layers.%d.mlp.experts.%d.up_proj.weight",
		     "model.layers.%d.mlp.experts.%d.down_proj.weight" },
	.shared = { "model.layers.%d.mlp.shared_experts.gate_proj.weight",
		    "model.layers.%d.mlp.shared_experts.up_proj.weight",
		    "model.layers.%d.mlp.shared_experts.down_proj.weight" },
	.source = "config.json",
};

static const Names gguf_names = {
	.embed = "token_embd.weight", .norm = "output_norm.weight", .head = "output.weight",
	.layer = "blk.%d.",
	.attn_norm = "blk.%d.attn_norm.weight", .q = "blk.%d.attn_q.weight",
	.k = "blk.%d.attn_k.weight", .v = "blk.%d.attn_v.weight", .o = "blk.%d.attn_output.weight",
	.mlp_norm = "blk.%d.ffn_norm.weight",
	.mlp = { "blk.%d.ffn_gate.weight", "blk.%d.ffn_up.weight", "blk.%d.ffn_down.weight" },
	.router = "blk.%d.ffn_gate_inp.weight", .bias = "blk.%d.exp_probs_b.bias",
	.experts = { "blk.%d.ffn_gate_exps.weight", "blk.%d.ffn_up_exps.weight",
		     "blk.%d.ffn_down_exps.weight" },
	.shared = { "blk.%d.ffn_gate_shexp.weight", "blk.%d.ffn_up_shexp.weight",
		    "blk.%d.ffn_down_shexp.weight" },
	.stacked = 1,
	.source = "the GGUF metadata",
};

typedef struct {
	Model *m;
	const Names *n;
	const char *path;       /* the model, for messages */
} Binder;

/* A matrix [rows, cols] of any weight type, used in place. */
static int get_mat(Binder *b, Mat *out, int64_t rows, int64_t cols, const char *fmt, int i,
		   int e)
{
	Tensor *t;
	int rc = tensors_get(&b->m->tensors, &t, 2, (int64_t[]){ rows, cols }, fmt, i, e);
	if (!rc)
		*out = (Mat){ .type = t->type, .data = t->data, .rows = rows, .cols = cols };
	return rc;
}

/* A small tensor of d0 (d1 < 0) or [d0, d1] elements as f32: in place when
 * stored as F32, else dequantised. */
static int get_f32(Binder *b, const float **out, int64_t d0, int64_t d1, const char *fmt, int i)
{
	Tensor *t;
	int rc = d1 < 0 ? tensors_get(&b->m->tensors, &t, 1, (int64_t[]){ d0 }, fmt, i)
			: tensors_get(&b->m->tensors, &t, 2, (int64_t[]){ d0, d1 }, fmt, i);
	if (rc)
		return rc;
	if (t->type == WT_F32) {
		*out = t->data;
		return 0;
	}
	Model *m = b->m;
	void **no = realloc(m->owned, (size_t)(m->nowned + 1) * sizeof *no);
	float *f = malloc((size_t)t->nelem * sizeof *f);
	if (no)
		m->owned = no;
	if (!no || !f) {
		free(f);
		return err(ERR_IO, "out of memory");
	}
	wtype_info[t->type].to_f32(f, t->data, t->nelem);
	m->owned[m->nowned++] = f;
	*out = f;
	return 0;
}

/* rounding here passes on linearly; in the attention's products the
 * softmax amplifies it (--precision bf16 would otherwise be 3 times
 * further from the reference on the golden models) */
static void mark_approx(Mlp *mlp)
{
	mlp->gate.approx = mlp->up.approx = mlp->down.approx = 1;
}

/* The MLP of width width named by names[3] (layer i, expert e). */
static int get_mlp(Binder *b, Mlp *mlp, int64_t width, const char *const names[3], int i, int e)
{
	int64_t H = b->m->cfg.hidden;
	int rc = get_mat(b, &mlp->gate, width, H, names[0], i, e);
	if (!rc) rc = get_mat(b, &mlp->up, width, H, names[1], i, e);
	if (!rc) rc = get_mat(b, &mlp->down, H, width, names[2], i, e);
	mark_approx(mlp);
	return rc;
}

/* GGUF: the experts of layer i, each a slice of the stacked tensors. */
static int get_stacked(Binder *b, Mlp *experts, int i)
{
	const Config *c = &b->m->cfg;
	int64_t E = c->experts, H = c->hidden, w = c->moe_inter;
	const int64_t shapes[3][3] = { { E, w, H }, { E, w, H }, { E, H, w } };
	for (int p = 0; p < 3; p++) {
		Tensor *t;
		int rc = tensors_get(&b->m->tensors, &t, 3, shapes[p], b->n->experts[p], i);
		if (rc)
			return rc;
		int64_t rows = shapes[p][1], cols = shapes[p][2];
		uint64_t size = (uint64_t)rows * (uint64_t)wtype_row_bytes(t->type, cols);
		for (int64_t e = 0; e < E; e++) {
			Mat *mat = p == 0 ? &experts[e].gate : p == 1 ? &experts[e].up : &experts[e].down;
			*mat = (Mat){ .type = t->type, .data = (const char *)t->data + e * size,
				      .rows = rows, .cols = cols, .approx = 1 };
		}
	}
	return 0;
}

/* ---- what the tensors say where the config may be silent ---------------- */

static int has(const Model *m, const char *fmt, int layer)
{
	char name[128];
	snprintf(name, sizeof name, fmt, layer);
	return tensors_find(&m->tensors, name) != NULL;
}

/* The first MoE layer and the shared-expert width when the config is silent;
 * the MoE layers must be exactly those with a router. */
static int settle_moe(Model *m, const Names *n, const char *path)
{
	Config *c = &m->cfg;
	for (int i = 0; c->moe_start < 0 && i < c->layers; i++)
		if (has(m, n->router, i))
			c->moe_start = i;
	if (c->moe_start < 0)
		return err(ERR_DATA, "%s: a MoE model without any router tensor", path);
	for (int i = 0; i < c->layers; i++)
		if (has(m, n->router, i) != config_is_moe_layer(c, i)) {
			char name[128];
			snprintf(name, sizeof name, n->router, i);
			return err(ERR_DATA, "%s: %s makes layer %d %s, but it %s a router (%s)", path,
				   n->source, i, config_is_moe_layer(c, i) ? "MoE" : "dense",
				   has(m, n->router, i) ? "has" : "has no", name);
		}
	const Tensor *t = NULL;
	for (int i = 0; !t && i < c->layers; i++)
		if (config_is_moe_layer(c, i)) {
			char name[128];
			snprintf(name, sizeof name, n->shared[0], i);
			t = tensors_find(&m->tensors, name);
		}
	if (c->shared_width >= 0)   /* GGUF: said in the metadata */
		m->shared_width = c->shared_width;
	else if (c->shared < 0)     /* not said: the tensor tells, width and all */
		m->shared_width = t && t->ndim == 2 ? (int)t->shape[0] : 0;
	else
		m->shared_width = c->moe_inter * c->shared;
	if (m->shared_width && !t)
		return err(ERR_DATA, "%s: %s says shared experts of width %d, but there are no "
			   "shared-expert tensors", path, n->source, m->shared_width);
	return 0;
}

/* ---- binding ------------------------------------------------------------ */

static int bind_layer(Binder *b, int i)
{
	const Config *c = &b->m->cfg;
	const Names *n = b->n;
	Layer *L = &b->m->w.layers[i];
	int64_t H = c->hidden, qd = (int64_t)c->heads * c->head_dim;
	int64_t kvd = (int64_t)c->kv_heads * c->head_dim;

	int rc = get_f32(b, &L->attn_norm, H, -1, n->attn_norm, i);
	if (!rc) rc = get_mat(b, &L->q, qd, H, n->q, i, 0);
	if (!rc) rc = get_mat(b, &L->k, kvd, H, n->k, i, 0);
	if (!rc) rc = get_mat(b, &L->v, kvd, H, n->v, i, 0);
	if (!rc) rc = get_mat(b, &L->o, H, qd, n->o, i, 0);
	if (!rc) rc = get_f32(b, &L->mlp_norm, H, -1, n->mlp_norm, i);
	if (rc)
		return rc;
	L->moe = config_is_moe_layer(c, i);
	if (!L->moe)
		return get_mlp(b, &L->mlp, c->inter, n->mlp, i, 0);

	rc = get_f32(b, &L->router, c->experts, H, n->router, i);
	if (!rc) rc = get_f32(b, &L->bias, c->experts, -1, n->bias, i);
	if (!rc && !(L->experts = calloc((size_t)c->experts, sizeof *L->experts)))
		rc = err(ERR_IO, "out of memory");
	if (!rc && n->stacked)
		rc = get_stacked(b, L->experts, i);
	for (int e = 0; !rc && !n->stacked && e < c->experts; e++)
		rc = get_mlp(b, &L->experts[e], c->moe_inter, n->experts, i, e);
	if (!rc && b->m->shared_width)
		rc = get_mlp(b, &L->shared, b->m->shared_width, n->shared, i, 0);
	return rc;
}

/* The output head [V, H] when present (the tensors decide, not the config),
 * else the embedding when the config allows tying. */
static int bind_head(Binder *b)
{
	Model *m = b->m;
	const Config *c = &m->cfg;
	const Tensor *t = tensors_find(&m->tensors, b->n->head);
	if (t && t->ndim == 2 && t->shape[0] == c->hidden && t->shape[1] == c->vocab &&
	    c->hidden != c->vocab)
		return err(ERR_DATA, "%s: tensor '%s' is [H, V] = [%d, %d] (Paddle layout); only "
			   "the Hugging Face [V, H] layout is supported", tensors_path(&m->tensors, t),
			   b->n->head, c->hidden, c->vocab);
	if (!t && !c->tie)
		return err(ERR_DATA, "%s: tensor '%s' missing (%s: tie_word_embeddings false)",
			   b->path, b->n->head, b->n->source);
	m->tied = !t;
	if (m->tied) {
		m->w.lm_head = m->w.embed;
		return 0;
	}
	return get_mat(b, &m->w.lm_head, c->vocab, c->hidden, b->n->head, 0, 0);
}

/* Every tensor in the table must have been bound: a leftover one means a
 * model this code would compute wrongly. */
static int check_leftovers(const Model *m, const Names *n)
{
	for (size_t i = 0; i < m->tensors.n; i++) {
		const Tensor *t = &m->tensors.t[i];
		const char *path = tensors_path(&m->tensors, t);
		int layer;
		if (t->used)
			continue;
		if (strstr(t->name, "vision_model.") || strstr(t->name, "resampler_model.") ||
		    strstr(t->name, "gate.weight_1"))
			return err(ERR_DATA, "%s: tensor '%s': a vision-language checkpoint, not "
				   "supported", path, t->name);
		if (sscanf(t->name, n->layer, &layer) == 1 && layer >= m->cfg.layers)
			return err(ERR_DATA, "%s: tensor '%s' is for layer %d, but %s has %d layers",
				   path, t->name, layer, n->source, m->cfg.layers);
		return err(ERR_DATA, "%s: tensor '%s' is not part of the model %s describes", path,
			   t->name, n->source);
	}
	return 0;
}

static void count_params(Model *m)
{
	const Config *c = &m->cfg;
	m->params = 0;
	for (size_t i = 0; i < m->tensors.n; i++)
		m->params += (uint64_t)m->tensors.t[i].nelem;
	m->active = m->params;
	uint64_t expert = 3ull * (uint64_t)c->moe_inter * (uint64_t)c->hidden;
	for (int i = 0; i < c->layers; i++)
		if (m->w.layers[i].moe)
			m->active -= (uint64_t)(c->experts - c->top_k) * expert;
}

static int bind_all(Model *m, const Names *n, const char *path)
{
	Config *c = &m->cfg;
	Binder b = { .m = m, .n = n, .path = path };
	m->tensors.source = m->gguf ? "the GGUF metadata says" : "config.json says";
	int rc = c->moe ? settle_moe(m, n, path) : 0;
	if (!rc) rc = get_mat(&b, &m->w.embed, c->vocab, c->hidden, n->embed, 0, 0);
	if (!rc) rc = get_f32(&b, &m->w.norm, c->hidden, -1, n->norm, 0);
	if (!rc && !(m->w.layers = calloc((size_t)c->layers, sizeof *m->w.layers)))
		rc = err(ERR_IO, "out of memory");
	for (int i = 0; !rc && i < c->layers; i++)
		rc = bind_layer(&b, i);
	if (!rc) rc = bind_head(&b);
	if (!rc) rc = check_leftovers(m, n);
	return rc;
}

void model_weight_types(const Model *m, char *buf, size_t size)
{
	uint64_t n[WT_COUNT] = { 0 }, bytes[WT_COUNT] = { 0 };
	size_t k = 0;
	for (size_t i = 0; i < m->tensors.n; i++) {
		n[m->tensors.t[i].type]++;
		bytes[m->tensors.t[i].type] += m->tensors.t[i].bytes;
	}
	buf[0] = 0;
	for (int t = 0; t < WT_COUNT && k < size; t++)
		if (n[t])
			k += (size_t)snprintf(buf + k, size - k, "%s%s %" PRIu64 " (%.3g MB)",
					      k ? ", " : "", wtype_info[t].name, n[t], bytes[t] / 1e6);
}

/* A GGUF file: its metadata for the config, its tensors into the table. */
static int open_gguf(Model *m, const char *path)
{
	Gguf g;
	int rc = gguf_open(&g, path, &m->tensors);
	if (rc)
		return rc;
	rc = config_from_gguf(&m->cfg, &g);
	gguf_close(&g);
	m->gguf = 1;
	return rc;
}

int model_load(Model **out, const char *path)
{
	Model *m = calloc(1, sizeof *m);
	struct stat sb;
	*out = NULL;
	if (!m)
		return err(ERR_IO, "out of memory");
	int rc;
	if (stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode))
		rc = open_gguf(m, path);
	else if (!(rc = config_load(&m->cfg, path)))
		rc = st_open_dir(&m->tensors, path);
	if (!rc)
		rc = bind_all(m, m->gguf ? &gguf_names : &hf_names, path);
	int half = m->cfg.head_dim / 2;
	if (!rc && !(m->inv_freq = malloc((size_t)half * sizeof *m->inv_freq)))
		rc = err(ERR_IO, "out of memory");
	if (rc) {
		model_free(m);
		return rc;
	}
	for (int i = 0; i < half; i++)
		m->inv_freq[i] = (float)(1.0 / pow(m->cfg.rope_theta, 2.0 * i / m->cfg.head_dim));
	count_params(m);
	*out = m;
	return 0;
}

void model_free(Model *m)
{
	if (!m)
		return;
	for (int i = 0; m->w.layers && i < m->cfg.layers; i++)
		free(m->w.layers[i].experts);
	free(m->w.layers);
	for (int i = 0; i < m->nowned; i++)
		free(m->owned[i]);
	free(m->owned);
	free(m->inv_freq);
	tensors_close(&m->tensors);
	free(m);
}
