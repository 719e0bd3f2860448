/* model.c: the forward pass over a batch of tokens, and the sequence state.
 * Loading is in model_load.c. */
#include "model/model.h"
#include "base/err.h"
#include "kernels/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct State {
	const Model *m;
	int pos;                /* tokens in the sequence */
	int cap;                /* positions the KV cache holds now */
	int limit;              /* positions it may grow to */
	float **kc;             /* [L] -> rotated keys, in panels (ops.h: key_at) */
	float **vc;             /* [L] -> [cap][nkv·d] values */
	float *scores;          /* [threads][ATTEND_ROWS][cap] attention weights */
	int nscores;            /* threads the scores hold */
	int nb;                 /* rows the batch buffers below hold */
	float *x;               /* [nb][H] residual stream */
	float *xn;              /* [nb][H] normed input of a block */
	float *y;               /* [nb][H] output of a block */
	float *xg, *yg;         /* [nb][H] rows routed to one expert, its output */
	float *q;               /* [nb][nh·d] queries */
	float *k;               /* [nb][nkv·d] keys, before they go to the cache */
	float *att;             /* [nb][nh·d] attention output */
	float *h1, *h2;         /* [nb][W] MLP hidden (W: the widest MLP) */
	float *cos, *sin;       /* [nb][d/2] RoPE angles of each row's position */
	int *sel;               /* [nb][top_k] experts chosen for each row */
	float *wsel;            /* [nb][top_k] their combine weights */
	int *rows;              /* [nb] rows routed to one expert */
	float *rw;              /* [nb] their weights */
	float *probs;           /* [E] router probabilities of one row */
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
#define NBATCH_BUFS 16

/* The batch buffers of s, into b; returns how many. ensure_batch allocates
 * them, free_batch frees them and model_scratch_bytes counts them. */
static int batch_bufs(const Model *m, State *s, BatchBuf *b)
{
	const Config *c = &m->cfg;
	size_t H = (size_t)c->hidden, qd = (size_t)c->heads * (size_t)c->head_dim;
	size_t kvd = (size_t)c->kv_heads * (size_t)c->head_dim;
	size_t W = (size_t)mlp_width(m), half = (size_t)c->head_dim / 2;
	size_t k = c->moe ? (size_t)c->top_k : 1;
	const BatchBuf list[] = {
		{ &s->x, NULL, H }, { &s->xn, NULL, H }, { &s->y, NULL, H }, { &s->xg, NULL, H },
		{ &s->yg, NULL, H }, { &s->q, NULL, qd }, { &s->k, NULL, kvd }, { &s->att, NULL, qd },
		{ &s->h1, NULL, W }, { &s->h2, NULL, W }, { &s->cos, NULL, half },
		{ &s->sin, NULL, half }, { &s->wsel, NULL, k }, { &s->rw, NULL, 1 },
		{ NULL, &s->sel, k }, { NULL, &s->rows, 1 },
	};
	_Static_assert(sizeof list / sizeof list[0] == NBATCH_BUFS, "NBATCH_BUFS");
	memcpy(b, list, sizeof list);
	return NBATCH_BUFS;
}

uint64_t model_kv_bytes(const Model *m)
{
	const Config *c = &m->cfg;
	return 2ull * (uint64_t)c->layers * (uint64_t)c->kv_heads * (uint64_t)c->head_dim *
	       sizeof(float);
}

/* One layer's cache for cap positions: keys in whole panels, values by row. */
static void kv_layer_bytes(const Model *m, int64_t cap, size_t *kbytes, size_t *vbytes)
{
	size_t row = (size_t)m->cfg.kv_heads * (size_t)m->cfg.head_dim * sizeof(float);
	size_t panels = ((size_t)cap + GEMM_PANEL - 1) / GEMM_PANEL;
	*kbytes = panels * GEMM_PANEL * row;
	*vbytes = (size_t)cap * row;
}

uint64_t model_kv_cache_bytes(const Model *m, int64_t ctx)
{
	size_t k, v;
	kv_layer_bytes(m, ctx, &k, &v);
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
	/* with state_new's router probabilities and MoE decode rows */
	return (row * (uint64_t)batch + (uint64_t)c->experts + 1 +
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
	s->limit = limit > 0 && limit < m->cfg.max_pos ? limit : m->cfg.max_pos;
	s->kc = calloc((size_t)m->cfg.layers, sizeof *s->kc);
	s->vc = calloc((size_t)m->cfg.layers, sizeof *s->vc);
	s->probs = malloc((size_t)(m->cfg.experts + 1) * sizeof *s->probs);
	if (m->cfg.moe) {
		size_t slots = (size_t)m->cfg.top_k + 1;
		s->eh = malloc(slots * 2 * (size_t)mlp_width(m) * sizeof *s->eh);
		s->ey = malloc(slots * (size_t)m->cfg.hidden * sizeof *s->ey);
	}
	if (!s->kc || !s->vc || !s->probs || (m->cfg.moe && (!s->eh || !s->ey))) {
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
	free(s->scores);
	free(s->probs);
	free(s->eh);
	free(s->ey);
	free_batch(s);
	free(s);
}

void state_reset(State *s) { s->pos = 0; }
int state_pos(const State *s) { return s->pos; }
int state_limit(const State *s) { return s->limit; }

/* Room for need positions: grow by doubling (at most to the limit) so long
 * sequences cost few copies and short ones little memory; attention
 * scratch for that many keys on each of threads threads. */
static int ensure_kv(State *s, int need, int threads)
{
	const Config *c = &s->m->cfg;
	if (need <= s->cap && threads <= s->nscores)
		return 0;
	int cap = s->cap;
	if (need > cap) {
		cap = cap * 2 > 64 ? cap * 2 : 64;
		if (cap < need)
			cap = need;
		if (cap > s->limit)
			cap = s->limit;
	}
	size_t kbytes, vbytes;
	kv_layer_bytes(s->m, cap, &kbytes, &vbytes);
	for (int i = 0; i < c->layers; i++) {
		float *k = realloc(s->kc[i], kbytes);
		if (k)
			s->kc[i] = k;
		float *v = realloc(s->vc[i], vbytes);
		if (v)
			s->vc[i] = v;
		if (!k || !v)
			return err(ERR_IO, "KV cache for %d tokens: out of memory", cap);
	}
	free(s->scores);
	s->nscores = 0;
	if (!(s->scores = malloc(model_attention_bytes(s->m, threads, cap)))) {
		s->cap = 0;     /* caches still valid, scores not: make the next call retry */
		return err(ERR_IO, "KV cache for %d tokens: out of memory", cap);
	}
	s->cap = cap;
	s->nscores = threads;
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
	float *kc;              /* rope_row: the layer's key cache */
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

/* RoPE on the row's queries and keys; the keys go to the cache */
static void rope_row(const Rows *r, int i)
{
	const Config *cf = &r->m->cfg;
	int half = cf->head_dim / 2;
	int64_t qd = (int64_t)cf->heads * cf->head_dim, kvd = (int64_t)cf->kv_heads * cf->head_dim;
	const float *cos_ = r->s->cos + i * half, *sin_ = r->s->sin + i * half;
	float *k = r->s->k + i * kvd;
	rope(r->s->q + i * qd, cf->heads, half, cos_, sin_);
	rope(k, cf->kv_heads, half, cos_, sin_);
	key_put(r->kc, cf->kv_heads, cf->head_dim, r->p0 + i, k);
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
	float *scores = s->scores + (int64_t)compute_self() * ATTEND_ROWS * s->cap;
	attend(j->c, s->att + (int64_t)h * d, s->q + (int64_t)h * d, qstride,
	       s->kc[j->layer] + key_at(c->kv_heads, d, 0, g), KEY_PANEL_FLOATS(c->kv_heads, d),
	       s->vc[j->layer] + (int64_t)g * d, (int64_t)c->kv_heads * d, rows, group, j->p0, d,
	       1.0f / sqrtf((float)d), scores);
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
	int64_t kvd = (int64_t)cf->kv_heads * cf->head_dim;
	float *v = s->vc[l] + p0 * kvd;

	linears(c, 3, (float *const[]){ s->q, s->k, v },
		(const Mat *const[]){ &L->q, &L->k, &L->v }, s->xn, n);
	each_row(c, &(Rows){ .row = rope_row, .n = n, .m = m, .s = s, .kc = s->kc[l], .p0 = p0 });
	AttJob j = { .m = m, .s = s, .c = c, .layer = l, .n = n, .p0 = p0 };
	if (n == 1)
		compute_parallel(c, attend_group, &j, cf->kv_heads);
	else
		compute_parallel(c, attend_head, &j, cf->heads);
	linear(c, s->y, &L->o, s->att, n);
}

/* Router for one row: top_k experts by probability + bias, weighted by the
 * probabilities alone, renormalised (arch.md §8). fp32 throughout. */
static void route(const Model *m, const Layer *L, const float *x, float *p, int *sel, float *w)
{
	const Config *c = &m->cfg;
	int E = c->experts, H = c->hidden;
	for (int e = 0; e < E; e++) {
		const float *r = L->router + (int64_t)e * H;
		float acc = 0;
		for (int i = 0; i < H; i++)
			acc += r[i] * x[i];
		p[e] = acc;
	}
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

	route(m, L, s->xn, s->probs, s->sel, s->wsel);
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
	for (int i = 0; i < n; i++)
		route(m, L, s->xn + (int64_t)i * H, s->probs, s->sel + i * k, s->wsel + i * k);
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
