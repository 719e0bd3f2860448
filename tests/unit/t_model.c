/* The forward pass against the golden logits of two tiny random-weight
 * checkpoints (tests/data/golden, computed by PyTorch and llama.cpp), on
 * each instruction set (skipped where this CPU lacks it): one prefill, one
 * token at a time (decode through the KV cache), uneven chunks, and greedy
 * continuation; and over 700 tokens, across the sizes at which the code
 * cuts its work, the same three against each other. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/doc.h"
#include "base/err.h"
#include "kernels/ops.h"
#include "model/model.h"

#define TOL 5e-4

typedef struct {
	Model *m;
	int32_t tokens[64];
	int n;                  /* tokens in tokens.json */
	float *golden;          /* [n][V] logits.f32 */
	int32_t greedy[32];     /* greedy.json "greedy", after its first 5-token prompt */
	int ngreedy;
} Golden;

static int read_ids(const char *path, const char *key, int32_t *out, int max)
{
	Doc d;
	if (doc_load_file(&d, path))
		return -1;
	const DocNode *seq = doc_get(d.root, key);
	int n = 0;
	for (size_t i = 0; seq && seq->kind == DOC_SEQ && i < seq->n && n < max; i++) {
		long long v;
		if (doc_int(&d, seq->kids[i], key, &v) == 0)
			out[n++] = (int32_t)v;
	}
	doc_free(&d);
	return n;
}

static int load_golden(Golden *g, const char *name)
{
	char dir[512], path[600];
	snprintf(dir, sizeof dir, "%s/golden/%s", test_data_dir, name);
	memset(g, 0, sizeof *g);
	if (model_load(&g->m, dir)) {
		printf("  %s: %s\n", name, err_msg());
		return -1;
	}
	snprintf(path, sizeof path, "%s/tokens.json", dir);
	g->n = read_ids(path, "tokens", g->tokens, 64);
	snprintf(path, sizeof path, "%s/greedy.json", dir);
	g->ngreedy = read_ids(path, "greedy", g->greedy, 32);
	int64_t V = g->m->cfg.vocab;
	g->golden = malloc((size_t)(g->n > 0 ? g->n : 1) * V * sizeof(float));
	snprintf(path, sizeof path, "%s/logits.f32", dir);
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(g->golden, sizeof(float), (size_t)(g->n * V), f) : 0;
	if (f)
		fclose(f);
	if (g->n != 20 || g->ngreedy != 16 || got != (size_t)(g->n * V)) {
		printf("  %s: golden files unreadable\n", name);
		return -1;
	}
	return 0;
}

static void free_golden(Golden *g)
{
	model_free(g->m);
	free(g->golden);
}

static int argmax(const float *x, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

/* Row by row against rows row0.. of ref ([][V]): max |diff| within TOL,
 * and (argmax) the same argmax; the first row that differs is printed. */
static void compare_to(const float *logits, const float *ref, int V, int row0, int rows, int same_argmax,
		       const char *what)
{
	for (int r = row0; r < row0 + rows; r++) {
		const float *a = logits + (int64_t)(r - row0) * V, *b = ref + (int64_t)r * V;
		double maxd = 0;
		for (int v = 0; v < V; v++)
			if (!(fabs(a[v] - b[v]) <= maxd))
				maxd = fabs(a[v] - b[v]);
		if (!(maxd <= TOL) || (same_argmax && argmax(a, V) != argmax(b, V))) {
			printf("  %s: position %d: max |diff| %g, argmax %d vs %d\n", what, r, maxd,
			       argmax(a, V), argmax(b, V));
			test_failed = 1;
			return;
		}
	}
}

/* Against the golden logits */
static void compare(const Golden *g, const float *logits, int row0, int rows, const char *what)
{
	compare_to(logits, g->golden, g->m->cfg.vocab, row0, rows, 1, what);
}

/* Feed ids[0..n) to a new sequence in chunks of the given sizes (cycled):
 * logits gets every position's [n][V]. */
static void feed(const Model *m, Compute *c, const int32_t *ids, int n, const int *sizes,
		 int nsizes, float *logits)
{
	State *s;
	int64_t V = m->cfg.vocab;
	CHECK(state_new(&s, m, 0) == 0);
	if (!s)
		return;
	for (int i = 0, k = 0; i < n; k++) {
		int len = sizes[k % nsizes] < n - i ? sizes[k % nsizes] : n - i;
		CHECK(model_eval(m, s, c, ids + i, len, logits + i * V, 1) == 0);
		i += len;
	}
	CHECK_EQ_INT(state_pos(s), n);
	state_free(s);
}

/* tokens.json in chunks of the given sizes, every position's logits
 * compared with the golden ones. */
static void run_chunks(const Golden *g, Compute *c, const int *sizes, int nsizes, const char *what)
{
	float *logits = malloc((size_t)g->n * g->m->cfg.vocab * sizeof(float));
	feed(g->m, c, g->tokens, g->n, sizes, nsizes, logits);
	compare(g, logits, 0, g->n, what);
	free(logits);
}

static void greedy(const Golden *g, Compute *c, const char *what)
{
	State *s;
	int V = g->m->cfg.vocab;
	float *logits = malloc((size_t)V * sizeof(float));
	CHECK(state_new(&s, g->m, 0) == 0);
	CHECK(model_eval(g->m, s, c, g->tokens, 5, logits, 0) == 0);
	for (int j = 0; j < g->ngreedy; j++) {
		int32_t next = argmax(logits, V);
		if (next != g->greedy[j]) {
			printf("  %s: greedy step %d: %d, expected %d\n", what, j, next, g->greedy[j]);
			test_failed = 1;
			break;
		}
		CHECK(model_eval(g->m, s, c, &next, 1, logits, 0) == 0);
	}
	state_free(s);
	free(logits);
}

static void golden_at(const char *name, Isa isa)
{
	Golden g;
	Compute *c;
	if (load_golden(&g, name)) {
		test_failed = 1;
		return;
	}
	CHECK_EQ_INT(compute_new(&c, 2, PREC_F32, isa), 0);
	if (c) {
		static const int whole[] = { 20 }, one[] = { 1 }, uneven[] = { 3, 1, 7, 2, 5 };
		char what[96];
		snprintf(what, sizeof what, "%s/%s", name, compute_isa_name(c));
		run_chunks(&g, c, whole, 1, what);
		run_chunks(&g, c, one, 1, what);
		run_chunks(&g, c, uneven, 5, what);
		greedy(&g, c, what);
		compute_free(c);
	}
	free_golden(&g);
}

TEST_ISA(model_golden_dense) { golden_at("tiny-dense", isa); }
TEST_ISA(model_golden_moe) { golden_at("tiny-moe", isa); }

/* ---- long sequences, across the internal boundaries ---------------------
 * One prefill, one token at a time and uneven chunks must give the same
 * logits (f32: within TOL) at every one of LONG positions, where the code
 * cuts the work at fixed sizes: the keys in panels of GEMM_PANEL (48)
 * positions, the KV cache grown from 64 by doubling, attention in blocks of
 * ATTEND_ROWS (64) query rows, a prefill in batches of MODEL_BATCH (512)
 * tokens. The chunks start and end on either side of each of them. The
 * first 20 tokens are tokens.json's, so the prefill is also checked against
 * the golden logits; the rest are pseudo-random ids. */
#define LONG 700

static const struct {
	int n, sizes[7];
} schedules[] = {
	{ 1, { 1 } },                                   /* decode, KV growth */
	{ 7, { 1, 47, 48, 49, 63, 64, 65 } },           /* panels, blocks */
	{ 4, { 511, 1, 65, 47 } },                      /* one short of a batch */
	{ 5, { 513, 64, 48, 49, 1 } },                  /* a batch and one */
	{ 2, { 49, 512 } },                             /* a whole batch at 49 */
};

static void long_at(const char *name, Isa isa)
{
	Golden g;
	Compute *c;
	if (load_golden(&g, name)) {
		test_failed = 1;
		return;
	}
	CHECK_EQ_INT(compute_new(&c, 2, PREC_F32, isa), 0);
	int V = g.m->cfg.vocab;
	int32_t ids[LONG];
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < LONG; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ids[i] = i < g.n ? g.tokens[i] : (int32_t)(x % (uint64_t)V);
	}
	float *ref = malloc((size_t)LONG * V * sizeof(float));
	float *got = malloc((size_t)LONG * V * sizeof(float));
	CHECK(LONG >= 600 && LONG > MODEL_BATCH + ATTEND_ROWS && g.m->cfg.max_pos >= LONG);
	for (size_t k = 0; c && k < sizeof schedules / sizeof *schedules; k++) {
		char what[160];
		int len = snprintf(what, sizeof what, "%s/%s: chunks", name, compute_isa_name(c));
		for (int j = 0; j < schedules[k].n; j++)
			len += snprintf(what + len, sizeof what - len, " %d", schedules[k].sizes[j]);
		if (k == 0) {   /* the reference: one prefill, against the golden rows too */
			feed(g.m, c, ids, LONG, (const int[]){ LONG }, 1, ref);
			compare(&g, ref, 0, g.n, what);
		}
		feed(g.m, c, ids, LONG, schedules[k].sizes, schedules[k].n, got);
		compare_to(got, ref, V, 0, LONG, 0, what);
	}
	if (c)
		compute_free(c);
	free(ref);
	free(got);
	free_golden(&g);
}

TEST_ISA(model_long_dense) { long_at("tiny-dense", isa); }
TEST_ISA(model_long_moe) { long_at("tiny-moe", isa); }

/* Only the last position's logits, and they equal the --all ones. */
TEST(model_last_logits_only)
{
	Golden g;
	Compute *c;
	State *s;
	if (load_golden(&g, "tiny-moe") || compute_new(&c, 1, PREC_F32, ISA_PORTABLE)) {
		test_failed = 1;
		return;
	}
	int V = g.m->cfg.vocab;
	float *logits = malloc((size_t)V * sizeof(float));
	CHECK(state_new(&s, g.m, 0) == 0);
	CHECK(model_eval(g.m, s, c, g.tokens, 12, logits, 0) == 0);
	compare(&g, logits, 11, 1, "last");
	state_reset(s);
	CHECK_EQ_INT(state_pos(s), 0);
	CHECK(model_eval(g.m, s, c, g.tokens, 4, NULL, 0) == 0);
	CHECK(model_eval(g.m, s, c, g.tokens + 4, 1, logits, 0) == 0);
	compare(&g, logits, 4, 1, "after reset");
	state_free(s);
	compute_free(c);
	free(logits);
	free_golden(&g);
}

TEST(model_bad_ids_and_limit)
{
	Golden g;
	Compute *c;
	State *s;
	if (load_golden(&g, "tiny-dense") || compute_new(&c, 1, PREC_F32, ISA_PORTABLE)) {
		test_failed = 1;
		return;
	}
	int32_t bad[] = { 1, 2, 1024 }, neg[] = { -1 };
	CHECK(state_new(&s, g.m, 4) == 0);
	CHECK_EQ_INT(model_eval(g.m, s, c, bad, 3, NULL, 0), ERR_DATA);
	CHECK(strstr(err_msg(), "token 3: id 1024 outside the vocabulary [0, 1024)") != NULL);
	CHECK_EQ_INT(model_eval(g.m, s, c, neg, 1, NULL, 0), ERR_DATA);
	CHECK(strstr(err_msg(), "id -1") != NULL);
	CHECK_EQ_INT(state_pos(s), 0);
	CHECK(model_eval(g.m, s, c, g.tokens, 3, NULL, 0) == 0);
	CHECK_EQ_INT(model_eval(g.m, s, c, g.tokens, 2, NULL, 0), ERR_DATA);
	CHECK(strstr(err_msg(), "context limit of 4") != NULL);
	CHECK_EQ_INT(state_pos(s), 3);
	state_free(s);
	compute_free(c);
	free_golden(&g);
}
