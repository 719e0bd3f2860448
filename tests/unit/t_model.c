/* The forward pass against the golden logits of two tiny random-weight
 * checkpoints (tests/data/golden, computed by PyTorch and llama.cpp), on
 * every instruction set this CPU has: one prefill, one token at a time
 * (decode through the KV cache), uneven chunks, and greedy continuation. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/doc.h"
#include "base/err.h"
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

/* Row by row: max |diff| and equal argmax against the golden logits. */
static void compare(const Golden *g, const float *logits, int row0, int rows, const char *what)
{
	int V = g->m->cfg.vocab;
	for (int r = row0; r < row0 + rows; r++) {
		const float *a = logits + (int64_t)(r - row0) * V, *b = g->golden + (int64_t)r * V;
		double maxd = 0;
		for (int v = 0; v < V; v++)
			if (!(fabs(a[v] - b[v]) <= maxd))
				maxd = fabs(a[v] - b[v]);
		if (!(maxd <= TOL) || argmax(a, V) != argmax(b, V)) {
			printf("  %s: position %d: max |diff| %g, argmax %d vs %d\n", what, r, maxd,
			       argmax(a, V), argmax(b, V));
			test_failed = 1;
			return;
		}
	}
}

/* Feed tokens.json in chunks of the given sizes (cycled), every position's
 * logits compared. */
static void run_chunks(const Golden *g, Compute *c, const int *sizes, int nsizes, const char *what)
{
	State *s;
	int V = g->m->cfg.vocab;
	float *logits = malloc((size_t)g->n * V * sizeof(float));
	CHECK(state_new(&s, g->m, 0) == 0);
	for (int i = 0, k = 0; i < g->n; k++) {
		int n = sizes[k % nsizes] < g->n - i ? sizes[k % nsizes] : g->n - i;
		CHECK(model_eval(g->m, s, c, g->tokens + i, n, logits, 1) == 0);
		compare(g, logits, i, n, what);
		i += n;
	}
	CHECK_EQ_INT(state_pos(s), g->n);
	state_free(s);
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

static void golden_all_isas(const char *name)
{
	Golden g;
	if (load_golden(&g, name)) {
		test_failed = 1;
		return;
	}
	static const int whole[] = { 20 }, one[] = { 1 }, uneven[] = { 3, 1, 7, 2, 5 };
	for (Isa isa = ISA_PORTABLE; isa < ISA_COUNT; isa++) {
		Compute *c;
		if (!isa_supported(isa) || compute_new(&c, 2, PREC_F32, isa))
			continue;
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

TEST(model_golden_dense) { golden_all_isas("tiny-dense"); }
TEST(model_golden_moe) { golden_all_isas("tiny-moe"); }

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
