/* model.c: the forward pass over a batch of tokens, and the sequence state.
 * Loading is in model_load.c. */
#include "model/model.h"
#include "base/err.h"
#include "kernels/kv.h"
#include "kernels/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct State {
	const Model *m;
	int pos;                /* tokens in the sequence */
	int cap;                /* positions the KV cache holds now */
	int limit;              /* positions it may grow to */
	WType kt, vt;           /* the types keys and values are stored in */
	char **kc;              /* [L] -> rotated keys, in panels (kv.h: key_at) */
	char **vc;              /* [L] -> [cap] rows of nkv·d values (kv.h) */
	int32_t *ids;           /* [cap] the sequence's tokens */
	float *scores;          /* [threads][ATTEND_ROWS][cap] attention weights */
	int nscores;            /* threads the scores hold */
	int scores_cap;         /* positions they hold */
	int nb;                 /* rows the batch buffers below hold */
	float *x;               /* [nb][H] residual stream */
	float *xn;              /* [nb][H] normed input of a block */
	float *y;               /* [nb][H] output of a block */
	float *xg, *yg;         /* [nb][H] rows routed to one expert, its output */
	float *q;               /* [nb][nh·d] queries */
	float *k;               /* [nb][nkv·d] keys, before they go to the cache */
	float *v;               /* [nb][nkv·d] values, before they go to the cache */
	float *att;             /* [nb][nh·d] attention output */
	float *h1, *h2;         /* [nb][W] MLP hidden (W: the widest MLP) */
	float *cos, *sin;       /* [nb][d/2] RoPE angles of each row's position */
	int *sel;               /* [nb][top_k] experts chosen for each row */
	float *wsel;            /* [nb][top_k] their combine weights */
	int *rows;              /* [nb] rows routed to one expert */
	float *rw;              /* [nb] their weights */
	float *probs;           /* [nb][E] router logits, then probabilities */
	float *eh;              /* MoE decode: [top_k + 1][2][W] hidden rows of the
				 * shared MLP and the selected experts */
	float *ey;              /* MoE decode: [top_k + 1][H] their outputs */
};

/* ---- sizes -------------------------------------------------------------- */

static int64_t mlp_width(const Model *m)
{
	const Config *c = &m->cfg;
	int64_t w = c->inter;
	if (c->moe && c->moe_inter > w)
		w = c->moe_inter;
	return m->shared_width > w ? m->shared_width : w;
}

/* A batch buffer of s: a float or an int array of size values per row. */
typedef struct {
	float **f;
	int **i;
	size_t size;
} BatchBuf;
#define NBATCH_BUFS 18

/* The batch buffers of s, into b; returns how many. ensure_batch allocates
 * them, free_batch frees them and model_scratch_bytes counts them. */
static int batch_bufs(const Model *m, State *s, BatchBuf *b)
{
	const Config *c = &m->cfg;
	size_t H = (size_t)c->hidden, qd = (size_t)c->heads * (size_t)c->head_dim;
	size_t kvd = (size_t)c->kv_heads * (size_t)c->head_dim;
	size_t W = (size_t)mlp_width(m), half = (size_t)c->head_dim / 2;
	size_t k = c->moe ? (size_t)c->top_k : 1, E = c->moe ? (size_t)c->experts : 1;
	const BatchBuf list[] = {
		{ &s->x, NULL, H }, { &s->xn, NULL, H }, { &s->y, NULL, H }, { &s->xg, NULL, H },
		{ &s->yg, NULL, H }, { &s->q, NULL, qd }, { &s->k, NULL, kvd }, { &s->v, NULL, kvd },
		{ &s->att, NULL, qd },
		{ &s->h1, NULL, W }, { &s->h2, NULL, W }, { &s->cos, NULL, half },
		{ &s->sin, NULL, half }, { &s->wsel, NULL, k }, { &s->rw, NULL, 1 },
		{ &s->probs, NULL, E }, { NULL, &s->sel, k }, { NULL, &s->rows, 1 },
	};
	_Static_assert(sizeof list / sizeof list[0] == NBATCH_BUFS, "NBATCH_BUFS");
	memcpy(b, list, sizeof list);
	return NBATCH_BUFS;
}

uint64_t model_kv_bytes(const Model *m, WType kt, WType vt)
{
	const Config *c = &m->cfg;
	return (uint64_t)c->layers * (uint64_t)(kv_row_bytes(kt, (int64_t)c->kv_heads * c->head_dim) +
						kv_row_bytes(vt, (int64_t)c->kv_heads * c->head_dim));
}

int model_cache_type_ok(const Model *m, WType t)
{
	if (kv_type_ok(t))
		return err(ERR_DATA, "cache type %s: expected one of " KV_TYPE_NAMES,
			   t >= 0 && t < WT_COUNT ? wtype_info[t].name : "?");
	if (t == WT_Q8_0 && m->cfg.head_dim % QK8_0)
		return err(ERR_DATA, "cache type q8_0: the head size %d is not a multiple of %d",
			   m->cfg.head_dim, QK8_0);
	return 0;
}

/* One layer's cache for cap positions: keys (of type kt) in whole panels,
 * values (vt) by row. */
static void kv_layer_bytes(const Model *m, WType kt, WType vt, int64_t cap, size_t *kbytes,
			   size_t *vbytes)
{
	const Config *c = &m->cfg;
	size_t panels = ((size_t)cap + GEMM_PANEL - 1) / GEMM_PANEL;
	*kbytes = panels * (size_t)KEY_PANEL_BYTES(kt, c->kv_heads, c->head_dim);
	*vbytes = (size_t)cap * (size_t)kv_row_bytes(vt, (int64_t)c->kv_heads * c->head_dim);
}

uint64_t model_kv_cache_bytes(const Model *m, WType kt, WType vt, int64_t ctx)
{
	size_t k, v;
	kv_layer_bytes(m, kt, vt, ctx, &k, &v);
	return (uint64_t)m->cfg.layers * ((uint64_t)k + (uint64_t)v);
}

uint64_t model_scratch_bytes(const Model *m, int batch)
{
	const Config *c = &m->cfg;
	State s = { .m = m };
	BatchBuf b[NBATCH_BUFS];
	uint64_t row = 0, slots = c->moe ? (uint64_t)c->top_k + 1 : 0;
	for (int i = batch_bufs(m, &s, b); i-- > 0;)
		row += b[i].size;
	/* with state_new's MoE decode rows */
	return (row * (uint64_t)batch +
		slots * (2 * (uint64_t)mlp_width(m) + (uint64_t)c->hidden)) * sizeof(float);
}

uint64_t model_attention_bytes(const Model *m, int threads, int64_t ctx)
{
	(void)m;
	return (uint64_t)threads * ATTEND_ROWS * (uint64_t)ctx * sizeof(float);
}

/* ---- state -------------------------------------------------------------- */

int state_new(State **out, const Model *m, int limit)
{
	State *s = calloc(1, sizeof *s);
	*out = NULL;
	if (!s)
		return err(ERR_IO, "out of memory");
	s->m = m;
	s->kt = s->vt = MODEL_CACHE_TYPE;
	s->limit = limit > 0 && limit < m->cfg.max_pos ? limit : m->cfg.max_pos;
	s->kc = calloc((size_t)m->cfg.layers, sizeof *s->kc);
	s->vc = calloc((size_t)m->cfg.layers, sizeof *s->vc);
	if (m->cfg.moe) {
		size_t slots = (size_t)m->cfg.top_k + 1;
		s->eh = malloc(slots * 2 * (size_t)mlp_width(m) * sizeof *s->eh);
		s->ey = malloc(slots * (size_t)m->cfg.hidden * sizeof *s->ey);
	}
	if (!s->kc || !s->vc || (m->cfg.moe && (!s->eh || !s->ey))) {
		state_free(s);
		return err(ERR_IO, "out of memory");
	}
	*out = s;
	return 0;
}

static void free_batch(State *s)
{
	BatchBuf b[NBATCH_BUFS];
	for (int i = batch_bufs(s->m, s, b); i-- > 0;) {
		if (b[i].f) {
			free(*b[i].f);
			*b[i].f = NULL;
		} else {
			free(*b[i].i);
			*b[i].i = NULL;
		}
	}
	s->nb = 0;
}

void state_free(State *s)
{
	if (!s)
		return;
	for (int i = 0; s->kc && s->vc && i < s->m->cfg.layers; i++) {
		free(s->kc[i]);
		free(s->vc[i]);
	}
	free(s->kc);
	free(s->vc);
	free(s->ids);
	free(s->scores);
	free(s->eh);
	free(s->ey);
	free_batch(s);
	free(s);
}

void state_reset(State *s) { s->pos = 0; }
const int32_t *state_ids(const State *s) { return s->ids; }
const Model *state_model(const State *s) { return s->m; }

void state_cache_types(const State *s, WType *k, WType *v)
{
	*k = s->kt;
	*v = s->vt;
}

int state_set_cache_types(State *s, WType k, WType v)
{
	int rc = model_cache_type_ok(s->m, k);
	if (rc || (rc = model_cache_type_ok(s->m, v)))
		return rc;
	for (int i = 0; i < s->m->cfg.layers; i++) {
		free(s->kc[i]);
		free(s->vc[i]);
		s->kc[i] = s->vc[i] = NULL;
	}
	s->kt = k;
	s->vt = v;
	s->pos = s->cap = 0;    /* the ids and scores stay: no type in them */
	return 0;
}
int state_pos(const State *s) { return s->pos; }
int state_limit(const State *s) { return s->limit; }

/* Room for need positions: grow by doubling (at most to the limit) so long
 * sequences cost few copies and short ones little memory. */
static int grow_kv(State *s, int need)
{
	const Config *c = &s->m->cfg;
	int cap = s->cap * 2 > 64 ? s->cap * 2 : 64;
	if (cap < need)
		cap = need;
	if (cap > s->limit)
		cap = s->limit;
	size_t kbytes, vbytes, had, had_v;
	kv_layer_bytes(s->m, s->kt, s->vt, cap, &kbytes, &vbytes);
	kv_layer_bytes(s->m, s->kt, s->vt, s->cap, &had, &had_v);
	int32_t *ids = realloc(s->ids, (size_t)cap * sizeof *ids);
	if (!ids)
		return err(ERR_IO, "KV cache for %d tokens: out of memory", cap);
	s->ids = ids;
	for (int i = 0; i < c->layers; i++) {
		char *k = realloc(s->kc[i], kbytes);
		if (k) {
			/* the slots past the sequence are never read, but a
			 * prompt cache file holds whole panels: zeros, not old heap */
			memset(k + had, 0, kbytes - had);
			s->kc[i] = k;
		}
		char *v = realloc(s->vc[i], vbytes);
		if (v)
			s->vc[i] = v;
		if (!k || !v)
			return err(ERR_IO, "KV cache for %d tokens: out of memory", cap);
	}
	s->cap = cap;
	return 0;
}

/* Room for need positions, and attention scratch for that many keys on
 * each of threads threads. */
static int ensure_kv(State *s, int need, int threads)
{
	int rc;
	if (need > s->cap && (rc = grow_kv(s, need)))
		return rc;
	if (threads <= s->nscores && s->cap <= s->scores_cap)
		return 0;
	if (threads < s->nscores)
		threads = s->nscores;
	free(s->scores);
	s->nscores = 0;
	if (!(s->scores = malloc(model_attention_bytes(s->m, threads, s->cap))))
		return err(ERR_IO, "KV cache for %d tokens: out of memory", s->cap);
	s->nscores = threads;
	s->scores_cap = s->cap;
	return 0;
}

static int ensure_batch(State *s, int nb)
{
	if (nb <= s->nb)
		return 0;
	free_batch(s);
	BatchBuf b[NBATCH_BUFS];
	int ok = 1;
	for (int i = batch_bufs(s->m, s, b); i-- > 0;) {
		if (b[i].f)
			ok &= (*b[i].f = malloc((size_t)nb * b[i].size * sizeof(float))) != NULL;
		else
			ok &= (*b[i].i = malloc((size_t)nb * b[i].size * sizeof(int))) != NULL;
	}
	if (!ok) {
		free_batch(s);
		return err(ERR_IO, "buffers for a batch of %d tokens: out of memory", nb);
	}
	s->nb = nb;
	return 0;
}

/* ---- the cache as bytes (prompt cache files) ----------------------------
 * Per layer: the key panels that hold the positions, then their value
 * rows. Slots past the sequence in the last panel are written as zeros. */

static uint64_t layer_bytes(const State *s, int n, uint64_t *keys)
{
	const Config *c = &s->m->cfg;
	*keys = (uint64_t)((n + GEMM_PANEL - 1) / GEMM_PANEL) *
		(uint64_t)KEY_PANEL_BYTES(s->kt, c->kv_heads, c->head_dim);
	return *keys + (uint64_t)n * (uint64_t)kv_row_bytes(s->vt, (int64_t)c->kv_heads * c->head_dim);
}

uint64_t state_kv_bytes(const State *s, int n)
{
	uint64_t keys;
	return (uint64_t)s->m->cfg.layers * layer_bytes(s, n, &keys);
}

void state_kv_save(const State *s, void *dst)
{
	const Config *c = &s->m->cfg;
	uint64_t keys, size = layer_bytes(s, s->pos, &keys);
	for (int l = 0; l < c->layers; l++) {
		char *d = (char *)dst + (uint64_t)l * size;
		memcpy(d, s->kc[l], keys);
		memcpy(d + keys, s->vc[l], size - keys);
		if (s->pos % GEMM_PANEL)
			for (int g = 0; g < c->kv_heads; g++)
				key_clear(d + key_at(s->kt, c->kv_heads, c->head_dim,
						     s->pos - s->pos % GEMM_PANEL, g),
					  s->kt, c->head_dim, s->pos % GEMM_PANEL);
	}
}

int state_kv_load(State *s, const int32_t *ids, const void *src, int nsrc, int n)
{
	const Config *c = &s->m->cfg;
	int rc;
	if (n > nsrc || n > s->limit)
		return err(ERR_DATA, "%d cached tokens: past the context limit of %d", n, s->limit);
	if (n > s->cap && (rc = grow_kv(s, n)))
		return rc;
	uint64_t skeys, ssize = layer_bytes(s, nsrc, &skeys), keys, size = layer_bytes(s, n, &keys);
	for (int l = 0; l < c->layers; l++) {
		const char *d = (const char *)src + (uint64_t)l * ssize;
		memcpy(s->kc[l], d, keys);
		memcpy(s->vc[l], d + skeys, size - keys);
	}
	memcpy(s->ids, ids, (size_t)n * sizeof *ids);
	s->pos = n;
	return 0;
}

/* ---- blocks ------------------------------------------------------------- */

/* Y[n][W.rows] = X[n][W.cols] · Wᵀ: decode one vector, prefill a batch. */
static void linear(Compute *c, float *Y, const Mat *W, const float *X, int n)
{
	if (n == 1)
		mat_vec(c, Y, W, X);
	else
		mat_mul(c, Y, W, X, n);
}

/* Y[m][n][W[m].rows] = X[n][cols] · W[m]ᵀ for m < k, matrices of the same
 * input: decode runs them as one job. */
static void linears(Compute *c, int k, float *const Y[], const Mat *const W[], const float *X,
		    int n)
{
	if (n == 1)
		mat_vecs(c, k, Y, W, (const float *const[]){ X, X, X, X }); /* k <= 4 */
	else
		mat_muls(c, k, Y, W, X, n);
}

/* ---- per-row steps, spread over the pool ------------------------------
 * The elementwise steps of a batch are cheap, but on one thread they would
 * leave the others idle for a few percent of a prefill. */

#define ROWS_PER_TASK 16

typedef struct Rows Rows;
struct Rows {
	void (*row)(const Rows *r, int i);      /* the step, on row i */
	int n;                                  /* rows */
	const Model *m;
	State *s;
	const float *norm;      /* norm_row: the weights */
	int layer;              /* rope_row: the layer whose caches get the row */
	int p0;                 /* rope_row: the position of row 0 */
	int64_t width;          /* swiglu_row: the MLP's width */
};

static void rows_task(void *arg, int t)
{
	const Rows *r = arg;
	int i1 = (t + 1) * ROWS_PER_TASK < r->n ? (t + 1) * ROWS_PER_TASK : r->n;
	for (int i = t * ROWS_PER_TASK; i < i1; i++)
		r->row(r, i);
}

static void each_row(Compute *c, const Rows *r)
{
	int tasks = (r->n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
	if (tasks == 1)
		rows_task((void *)r, 0);
	else
		compute_parallel(c, rows_task, (void *)r, tasks);
}

/* xn = rmsnorm(x) · norm */
static void norm_row(const Rows *r, int i)
{
	int64_t H = r->m->cfg.hidden;
	rmsnorm(r->s->xn + i * H, r->s->x + i * H, r->norm, (int)H, (float)r->m->cfg.eps);
}

/* x += y: the residual */
static void add_row(const Rows *r, int i)
{
	int64_t H = r->m->cfg.hidden;
	float *x = r->s->x + i * H;
	const float *y = r->s->y + i * H;
	for (int64_t j = 0; j < H; j++)
		x[j] += y[j];
}

/* RoPE on the row's queries and keys; keys and values go to the cache, in
 * its types */
static void rope_row(const Rows *r, int i)
{
	const Config *cf = &r->m->cfg;
	State *s = r->s;
	int half = cf->head_dim / 2, pos = r->p0 + i;
	int64_t qd = (int64_t)cf->heads * cf->head_dim, kvd = (int64_t)cf->kv_heads * cf->head_dim;
	const float *cos_ = s->cos + i * half, *sin_ = s->sin + i * half;
	float *k = s->k + i * kvd;
	rope(s->q + i * qd, cf->heads, half, cos_, sin_);
	rope(k, cf->kv_heads, half, cos_, sin_);
	key_put(s->kc[r->layer], s->kt, cf->kv_heads, cf->head_dim, pos, k);
	value_put(s->vc[r->layer] + pos * kv_row_bytes(s->vt, kvd), s->vt, s->v + i * kvd, kvd);
}

/* h1 = silu(h1) ⊙ h2 */
static void swiglu_row(const Rows *r, int i)
{
	swiglu(r->s->h1 + i * r->width, r->s->h2 + i * r->width, r->width);
}

/* Y[n][H] = down(silu(gate(X)) ⊙ up(X)) */
static void mlp(const Model *m, State *s, Compute *c, const Mlp *w, const float *X, int n,
		float *Y)
{
	linears(c, 2, (float *const[]){ s->h1, s->h2 }, (const Mat *const[]){ &w->gate, &w->up },
		X, n);
	each_row(c, &(Rows){ .row = swiglu_row, .n = n, .m = m, .s = s, .width = w->gate.rows });
	linear(c, Y, &w->down, s->h1, n);
}

typedef struct {
	const Model *m;
	State *s;
	Compute *c;
	int layer, n, p0;       /* rows n at positions p0.. */
} AttJob;

/* Query heads [h, h + heads) against KV head g: rows rows of s->q from head
 * h on, qstride floats apart, group of them at each position (ops.h). */
static void attend_rows(const AttJob *j, int h, int g, int64_t qstride, int rows, int group)
{
	const State *s = j->s;
	const Config *c = &j->m->cfg;
	int d = c->head_dim;
	int64_t vrow = kv_row_bytes(s->vt, (int64_t)c->kv_heads * d);
	float *scores = s->scores + (int64_t)compute_self() * ATTEND_ROWS * s->cap;
	attend(j->c, s->att + (int64_t)h * d, s->q + (int64_t)h * d, qstride,
	       s->kc[j->layer] + key_at(s->kt, c->kv_heads, d, 0, g), kv_layout(s->kt, 0),
	       KEY_PANEL_BYTES(s->kt, c->kv_heads, d),
	       s->vc[j->layer] + kv_row_bytes(s->vt, (int64_t)g * d), kv_layout(s->vt, 1), vrow,
	       rows, group, j->p0, d, 1.0f / sqrtf((float)d), scores);
}

/* Query head h of every row against the cache (causal: row i sees 0..p0+i). */
static void attend_head(void *arg, int h)
{
	const AttJob *j = arg;
	const Config *c = &j->m->cfg;
	attend_rows(j, h, h / (c->heads / c->kv_heads), (int64_t)c->heads * c->head_dim, j->n, 1);
}

/* One row (decode): the query heads sharing KV head g, together, so that
 * its keys and values are read once for all of them, not once a head. */
static void attend_group(void *arg, int g)
{
	const AttJob *j = arg;
	const Config *c = &j->m->cfg;
	int group = c->heads / c->kv_heads;
	attend_rows(j, g * group, g, c->head_dim, group, group);
}

/* s->y = Attn(s->xn); keys and values of the rows go into the cache. */
static void attention(const Model *m, State *s, Compute *c, int l, int n, int p0)
{
	const Config *cf = &m->cfg;
	const Layer *L = &m->w.layers[l];

	linears(c, 3, (float *const[]){ s->q, s->k, s->v },
		(const Mat *const[]){ &L->q, &L->k, &L->v }, s->xn, n);
	each_row(c, &(Rows){ .row = rope_row, .n = n, .m = m, .s = s, .layer = l, .p0 = p0 });
	AttJob j = { .m = m, .s = s, .c = c, .layer = l, .n = n, .p0 = p0 };
	if (n == 1)
		compute_parallel(c, attend_group, &j, cf->kv_heads);
	else
		compute_parallel(c, attend_head, &j, cf->heads);
	linear(c, s->y, &L->o, s->att, n);
}

/* P[i][e] = the router's logit of expert e for row i < n of X, by the
 * matrix-vector kernels (MAT_VECS_MAX rows a pool job): the same arithmetic
 * in decode and prefill, so both choose the same experts bit for bit, and
 * SIMD on both threads (a plain C loop of one dependent sum an expert was
 * 5% of a 21B-A3B decode step). */
static void router_logits(const Model *m, const Layer *L, Compute *c, float *P, const float *X,
			  int n)
{
	const Config *cf = &m->cfg;
	const Mat R = { .type = WT_F32, .data = L->router, .rows = cf->experts, .cols = cf->hidden };
	const Mat *w[MAT_VECS_MAX];
	float *y[MAT_VECS_MAX];
	const float *x[MAT_VECS_MAX];
	for (int i0 = 0; i0 < n; i0 += MAT_VECS_MAX) {
		int k = n - i0 < MAT_VECS_MAX ? n - i0 : MAT_VECS_MAX;
		for (int j = 0; j < k; j++) {
			w[j] = &R;
			y[j] = P + (int64_t)(i0 + j) * cf->experts;
			x[j] = X + (int64_t)(i0 + j) * cf->hidden;
		}
		mat_vecs(c, k, y, w, x);
	}
}

/* Router for one row, from its logits p (softmaxed in place): top_k
 * experts by probability + bias into sel, weighted by the probabilities
 * alone, renormalised, into w (arch.md §8). fp32 throughout. */
static void route(const Model *m, const Layer *L, float *p, int *sel, float *w)
{
	const Config *c = &m->cfg;
	int E = c->experts;
	softmax(p, E);
	float sum = 0;
	for (int j = 0; j < c->top_k; j++) {
		int best = -1;
		for (int e = 0; e < E; e++) {
			int taken = 0;
			for (int t = 0; t < j; t++)
				taken |= sel[t] == e;
			if (!taken && (best < 0 || p[e] + L->bias[e] > p[best] + L->bias[best]))
				best = e;      /* strict '>': ties go to the lower index */
		}
		sel[j] = best;
		sum += p[best];
	}
	float denom = sum > (float)c->moe_norm_min ? sum : (float)c->moe_norm_min;
	for (int j = 0; j < c->top_k; j++)
		w[j] = p[sel[j]] / denom;
}

/* s->y = MoE(s->xn) of one row (decode): the gate/up products of the shared
 * MLP and of every selected expert as one pool job, then their down
 * products as another, instead of two jobs per expert; each expert is only
 * a few MB, and the threads' meetings would cost as much as the reading.
 * Outputs are added in the order moe() adds them. */
static void moe_row(const Model *m, State *s, Compute *c, const Layer *L)
{
	const Config *cf = &m->cfg;
	int64_t H = cf->hidden, W = mlp_width(m);
	const Mlp *mlp[MAT_VECS_MAX / 2];
	float wt[MAT_VECS_MAX / 2];
	float *y[MAT_VECS_MAX];
	const Mat *w[MAT_VECS_MAX];
	const float *x[MAT_VECS_MAX];
	int n = 0, shared = L->shared.gate.data != NULL;

	router_logits(m, L, c, s->probs, s->xn, 1);
	route(m, L, s->probs, s->sel, s->wsel);
	if (shared)
		mlp[n++] = &L->shared;
	for (int e = 0; e < cf->experts; e++)
		for (int j = 0; j < cf->top_k; j++)
			if (s->sel[j] == e) {
				wt[n] = s->wsel[j];
				mlp[n++] = &L->experts[e];
			}
	for (int i = 0; i < n; i++) {
		float *h = s->eh + 2 * i * W;
		y[2 * i] = h;
		y[2 * i + 1] = h + W;
		w[2 * i] = &mlp[i]->gate;
		w[2 * i + 1] = &mlp[i]->up;
		x[2 * i] = x[2 * i + 1] = s->xn;
	}
	mat_vecs(c, 2 * n, y, w, x);
	for (int i = 0; i < n; i++) {
		float *h = s->eh + 2 * i * W;
		swiglu(h, h + W, mlp[i]->gate.rows);
		y[i] = s->ey + i * H;
		w[i] = &mlp[i]->down;
		x[i] = h;
	}
	mat_vecs(c, n, y, w, x);
	if (shared)
		memcpy(s->y, s->ey, (size_t)H * sizeof *s->y);
	else
		memset(s->y, 0, (size_t)H * sizeof *s->y);
	for (int i = shared; i < n; i++)
		for (int64_t j = 0; j < H; j++)
			s->y[j] += wt[i] * s->ey[i * H + j];
}

/* s->y = MoE(s->xn): each expert runs once on the rows routed to it. */
static void moe(const Model *m, State *s, Compute *c, const Layer *L, int n)
{
	const Config *cf = &m->cfg;
	int k = cf->top_k, H = cf->hidden;
	if (n == 1 && 2 * (k + 1) <= MAT_VECS_MAX) {
		moe_row(m, s, c, L);
		return;
	}
	router_logits(m, L, c, s->probs, s->xn, n);
	for (int i = 0; i < n; i++)
		route(m, L, s->probs + (int64_t)i * cf->experts, s->sel + i * k, s->wsel + i * k);
	if (L->shared.gate.data)
		mlp(m, s, c, &L->shared, s->xn, n, s->y);
	else
		memset(s->y, 0, (size_t)n * H * sizeof *s->y);
	for (int e = 0; e < cf->experts; e++) {
		int cnt = 0;
		for (int i = 0; i < n * k; i++)
			if (s->sel[i] == e) {
				s->rows[cnt] = i / k;
				s->rw[cnt++] = s->wsel[i];
			}
		if (!cnt)
			continue;
		for (int r = 0; r < cnt; r++)
			memcpy(s->xg + (int64_t)r * H, s->xn + (int64_t)s->rows[r] * H, H * sizeof(float));
		mlp(m, s, c, &L->experts[e], s->xg, cnt, s->yg);
		for (int r = 0; r < cnt; r++) {
			float *y = s->y + (int64_t)s->rows[r] * H, *g = s->yg + (int64_t)r * H;
			for (int i = 0; i < H; i++)
				y[i] += s->rw[r] * g[i];
		}
	}
}

/* One batch of n <= s->nb tokens at the end of the sequence. logits: NULL,
 * or [n][V] (all) or [V] (last row only). */
static void forward(const Model *m, State *s, Compute *c, const int32_t *ids, int n,
		    float *logits, int all)
{
	const Config *cf = &m->cfg;
	int H = cf->hidden, half = cf->head_dim / 2, p0 = s->pos;
	float eps = (float)cf->eps;

	for (int i = 0; i < n; i++) {
		const Mat *E = &m->w.embed;
		wtype_info[E->type].to_f32(s->x + (int64_t)i * H, mat_row(E, ids[i]), H);
		rope_angles(s->cos + i * half, s->sin + i * half, m->inv_freq, half, p0 + i);
		s->ids[p0 + i] = ids[i];
	}
	Rows add = { .row = add_row, .n = n, .m = m, .s = s };
	for (int l = 0; l < cf->layers; l++) {
		const Layer *L = &m->w.layers[l];
		each_row(c, &(Rows){ .row = norm_row, .n = n, .m = m, .s = s, .norm = L->attn_norm });
		attention(m, s, c, l, n, p0);
		each_row(c, &add);
		each_row(c, &(Rows){ .row = norm_row, .n = n, .m = m, .s = s, .norm = L->mlp_norm });
		if (L->moe)
			moe(m, s, c, L, n);
		else
			mlp(m, s, c, &L->mlp, s->xn, n, s->y);
		each_row(c, &add);
	}
	s->pos += n;
	if (!logits)
		return;
	int first = all ? 0 : n - 1;
	for (int i = first; i < n; i++)
		rmsnorm(s->xn + (int64_t)i * H, s->x + (int64_t)i * H, m->w.norm, H, eps);
	linear(c, logits, &m->w.lm_head, s->xn + (int64_t)first * H, n - first);
}

/* ---- the sequence ------------------------------------------------------- */

int model_check_ids(const Model *m, const int32_t *ids, int n)
{
	for (int i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= m->cfg.vocab)
			return err(ERR_DATA, "token %d: id %d outside the vocabulary [0, %d)", i + 1,
				   (int)ids[i], m->cfg.vocab);
	return 0;
}

int model_eval(const Model *m, State *s, Compute *c, const int32_t *ids, int n, float *logits,
	       int all)
{
	int rc = model_check_ids(m, ids, n);
	if (rc)
		return rc;
	if (n > s->limit - s->pos)
		return err(ERR_DATA, "%d + %d tokens: past the context limit of %d", s->pos, n,
			   s->limit);
	if ((rc = ensure_kv(s, s->pos + n, compute_threads(c))) ||
	    (rc = ensure_batch(s, n < MODEL_BATCH ? n : MODEL_BATCH)))
		return rc;
	int64_t V = m->cfg.vocab;
	for (int i = 0; i < n; i += s->nb) {
		int nb = n - i < s->nb ? n - i : s->nb;
		float *out = !logits ? NULL : all ? logits + i * V : i + nb == n ? logits : NULL;
		forward(m, s, c, ids + i, nb, out, all);
	}
	return 0;
}
