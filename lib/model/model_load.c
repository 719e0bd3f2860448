/* model_load.c: bind the mapped tensors to the Weights, checking each one
 * against the config, and refuse any tensor left over. */
#include "model/model.h"
#include "base/err.h"
#include "kernels/ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	Model *m;
	const char *dir;
	char name[256];         /* the tensor being bound */
} Binder;

static const char *file_of(const Binder *b, const Tensor *t)
{
	return b->m->st.files[t->file].path;
}

static void shape_str(char *buf, size_t size, const int64_t *shape, int ndim)
{
	size_t k = (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < ndim && k < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
	if (k < size)
		snprintf(buf + k, size - k, "]");
}

/* Find the tensor named by fmt and check its shape (d1 < 0: one dimension,
 * else [d0, d1]; a [1, d0] vector is accepted too) and dtype. */
static int find(Binder *b, Tensor **out, int64_t d0, int64_t d1, const char *fmt, va_list ap)
{
	vsnprintf(b->name, sizeof b->name, fmt, ap);
	Tensor *t = st_find(&b->m->st, b->name);
	if (!t)
		return err(ERR_DATA, "%s: tensor '%s' missing", b->dir, b->name);
	int64_t want[2] = { d0, d1 };
	int ndim = d1 < 0 ? 1 : 2;
	int ok = t->ndim == ndim && t->shape[0] == d0 && (ndim == 1 || t->shape[1] == d1);
	if (ndim == 1 && t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == d0)
		ok = 1;
	if (!ok) {
		char got[128], exp[64];
		shape_str(got, sizeof got, t->shape, t->ndim);
		shape_str(exp, sizeof exp, want, ndim);
		return err(ERR_DATA, "%s: tensor '%s': shape %s, config.json says %s", file_of(b, t),
			   b->name, got, exp);
	}
	if (strcmp(t->dtype, "BF16") && strcmp(t->dtype, "F32") && strcmp(t->dtype, "F16"))
		return err(ERR_DATA, "%s: tensor '%s': dtype %s, expected BF16, F16 or F32",
			   file_of(b, t), b->name, t->dtype);
	t->used = 1;
	*out = t;
	return 0;
}

static DType dtype_of(const Tensor *t)
{
	return !strcmp(t->dtype, "F32") ? DT_F32 : !strcmp(t->dtype, "F16") ? DT_F16 : DT_BF16;
}

__attribute__((format(printf, 5, 6)))
static int get_mat(Binder *b, Mat *out, int64_t rows, int64_t cols, const char *fmt, ...)
{
	Tensor *t;
	va_list ap;
	va_start(ap, fmt);
	int rc = find(b, &t, rows, cols, fmt, ap);
	va_end(ap);
	if (rc)
		return rc;
	*out = (Mat){ .dtype = dtype_of(t), .data = t->data, .rows = rows, .cols = cols };
	return 0;
}

/* A small tensor as f32: in place when stored as F32, else converted. */
__attribute__((format(printf, 5, 6)))
static int get_f32(Binder *b, const float **out, int64_t d0, int64_t d1, const char *fmt, ...)
{
	Tensor *t;
	va_list ap;
	va_start(ap, fmt);
	int rc = find(b, &t, d0, d1, fmt, ap);
	va_end(ap);
	if (rc)
		return rc;
	if (dtype_of(t) == DT_F32) {
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
	to_f32(f, dtype_of(t), t->data, t->nelem);
	m->owned[m->nowned++] = f;
	*out = f;
	return 0;
}

static int get_mlp(Binder *b, Mlp *mlp, int64_t width, const char *prefix)
{
	int64_t H = b->m->cfg.hidden;
	int rc = get_mat(b, &mlp->gate, width, H, "%s.gate_proj.weight", prefix);
	if (!rc) rc = get_mat(b, &mlp->up, width, H, "%s.up_proj.weight", prefix);
	if (!rc) rc = get_mat(b, &mlp->down, H, width, "%s.down_proj.weight", prefix);
	/* rounding here passes on linearly; in the attention's products the
	 * softmax amplifies it (--precision bf16 would otherwise be 3 times
	 * further from the reference on the golden models) */
	mlp->gate.approx = mlp->up.approx = mlp->down.approx = 1;
	return rc;
}

/* ---- what the tensors say where the config may be silent ---------------- */

static int has(const Model *m, const char *fmt, int layer)
{
	char name[128];
	snprintf(name, sizeof name, fmt, layer);
	return st_find(&m->st, name) != NULL;
}

/* The first MoE layer and the shared-expert width when the config is silent;
 * the MoE layers must be exactly those with a router. */
static int settle_moe(Model *m, const char *dir)
{
	Config *c = &m->cfg;
	const char *gate = "model.layers.%d.mlp.gate.weight";
	for (int i = 0; c->moe_start < 0 && i < c->layers; i++)
		if (has(m, gate, i))
			c->moe_start = i;
	if (c->moe_start < 0)
		return err(ERR_DATA, "%s: a MoE model without any mlp.gate.weight tensor", dir);
	for (int i = 0; i < c->layers; i++)
		if (has(m, gate, i) != config_is_moe_layer(c, i))
			return err(ERR_DATA, "%s: config.json makes layer %d %s, but it %s a router "
				   "(model.layers.%d.mlp.gate.weight)", dir, i,
				   config_is_moe_layer(c, i) ? "MoE" : "dense",
				   has(m, gate, i) ? "has" : "has no", i);
	const Tensor *t = NULL;
	for (int i = 0; !t && i < c->layers; i++)
		if (config_is_moe_layer(c, i)) {
			char name[128];
			snprintf(name, sizeof name, "model.layers.%d.mlp.shared_experts.gate_proj.weight", i);
			t = st_find(&m->st, name);
		}
	if (c->shared < 0)          /* not said: the tensor tells, width and all */
		m->shared_width = t && t->ndim == 2 ? (int)t->shape[0] : 0;
	else
		m->shared_width = c->moe_inter * c->shared;
	if (m->shared_width && !t)
		return err(ERR_DATA, "%s: config.json says %d shared experts, but there are no "
			   "mlp.shared_experts tensors", dir, c->shared);
	return 0;
}

/* ---- binding ------------------------------------------------------------ */

static int bind_layer(Binder *b, int i)
{
	const Config *c = &b->m->cfg;
	Layer *L = &b->m->w.layers[i];
	int64_t H = c->hidden, qd = (int64_t)c->heads * c->head_dim;
	int64_t kvd = (int64_t)c->kv_heads * c->head_dim;
	char p[64];
	snprintf(p, sizeof p, "model.layers.%d", i);

	int rc = get_f32(b, &L->attn_norm, H, -1, "%s.input_layernorm.weight", p);
	if (!rc) rc = get_mat(b, &L->q, qd, H, "%s.self_attn.q_proj.weight", p);
	if (!rc) rc = get_mat(b, &L->k, kvd, H, "%s.self_attn.k_proj.weight", p);
	if (!rc) rc = get_mat(b, &L->v, kvd, H, "%s.self_attn.v_proj.weight", p);
	if (!rc) rc = get_mat(b, &L->o, H, qd, "%s.self_attn.o_proj.weight", p);
	if (!rc) rc = get_f32(b, &L->mlp_norm, H, -1, "%s.post_attention_layernorm.weight", p);
	if (rc)
		return rc;
	L->moe = config_is_moe_layer(c, i);
	char mp[96];
	snprintf(mp, sizeof mp, "%s.mlp", p);
	if (!L->moe)
		return get_mlp(b, &L->mlp, c->inter, mp);

	rc = get_f32(b, &L->router, c->experts, H, "%s.gate.weight", mp);
	if (!rc) rc = get_f32(b, &L->bias, c->experts, -1, "%s.moe_statics.e_score_correction_bias", mp);
	if (!rc && !(L->experts = calloc((size_t)c->experts, sizeof *L->experts)))
		rc = err(ERR_IO, "out of memory");
	for (int e = 0; !rc && e < c->experts; e++) {
		char ep[128];
		snprintf(ep, sizeof ep, "%s.experts.%d", mp, e);
		rc = get_mlp(b, &L->experts[e], c->moe_inter, ep);
	}
	if (!rc && b->m->shared_width) {
		char sp[128];
		snprintf(sp, sizeof sp, "%s.shared_experts", mp);
		rc = get_mlp(b, &L->shared, b->m->shared_width, sp);
	}
	return rc;
}

/* lm_head.weight [V, H] when present (the tensors decide, not the config),
 * else the embedding when the config says tied. */
static int bind_head(Binder *b)
{
	Model *m = b->m;
	const Config *c = &m->cfg;
	const Tensor *t = st_find(&m->st, "lm_head.weight");
	if (t && t->ndim == 2 && t->shape[0] == c->hidden && t->shape[1] == c->vocab &&
	    c->hidden != c->vocab)
		return err(ERR_DATA, "%s: tensor 'lm_head.weight' is [H, V] = [%d, %d] (Paddle "
			   "layout); only the Hugging Face [V, H] layout is supported",
			   m->st.files[t->file].path, c->hidden, c->vocab);
	if (!t && !c->tie)
		return err(ERR_DATA, "%s: tensor 'lm_head.weight' missing (config.json: "
			   "tie_word_embeddings false)", b->dir);
	m->tied = !t;
	if (m->tied) {
		m->w.lm_head = m->w.embed;
		return 0;
	}
	return get_mat(b, &m->w.lm_head, c->vocab, c->hidden, "lm_head.weight");
}

/* Every tensor in the table must have been bound: a leftover one means a
 * model this code would compute wrongly. */
static int check_leftovers(const Model *m)
{
	for (size_t i = 0; i < m->st.n; i++) {
		const Tensor *t = &m->st.t[i];
		int layer;
		if (t->used)
			continue;
		if (strstr(t->name, "vision_model.") || strstr(t->name, "resampler_model.") ||
		    strstr(t->name, "gate.weight_1"))
			return err(ERR_DATA, "%s: tensor '%s': a vision-language checkpoint, not "
				   "supported", m->st.files[t->file].path, t->name);
		if (sscanf(t->name, "model.layers.%d.", &layer) == 1 && layer >= m->cfg.layers)
			return err(ERR_DATA, "%s: tensor '%s' is for layer %d, but config.json has %d "
				   "layers", m->st.files[t->file].path, t->name, layer, m->cfg.layers);
		return err(ERR_DATA, "%s: tensor '%s' is not part of the model config.json describes",
			   m->st.files[t->file].path, t->name);
	}
	return 0;
}

static void count_params(Model *m)
{
	const Config *c = &m->cfg;
	m->params = 0;
	for (size_t i = 0; i < m->st.n; i++)
		m->params += (uint64_t)m->st.t[i].nelem;
	m->active = m->params;
	uint64_t expert = 3ull * (uint64_t)c->moe_inter * (uint64_t)c->hidden;
	for (int i = 0; i < c->layers; i++)
		if (m->w.layers[i].moe)
			m->active -= (uint64_t)(c->experts - c->top_k) * expert;
}

static int bind_all(Model *m, const char *dir)
{
	Config *c = &m->cfg;
	Binder b = { .m = m, .dir = dir };
	int rc = c->moe ? settle_moe(m, dir) : 0;
	if (!rc) rc = get_mat(&b, &m->w.embed, c->vocab, c->hidden, "model.embed_tokens.weight");
	if (!rc) rc = get_f32(&b, &m->w.norm, c->hidden, -1, "model.norm.weight");
	if (!rc && !(m->w.layers = calloc((size_t)c->layers, sizeof *m->w.layers)))
		rc = err(ERR_IO, "out of memory");
	for (int i = 0; !rc && i < c->layers; i++)
		rc = bind_layer(&b, i);
	if (!rc) rc = bind_head(&b);
	if (!rc) rc = check_leftovers(m);
	return rc;
}

int model_load(Model **out, const char *dir)
{
	Model *m = calloc(1, sizeof *m);
	*out = NULL;
	if (!m)
		return err(ERR_IO, "out of memory");
	int rc = config_load(&m->cfg, dir);
	if (!rc)
		rc = st_open_dir(&m->st, dir);
	if (!rc)
		rc = bind_all(m, dir);
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
	st_close(&m->st);
	free(m);
}
