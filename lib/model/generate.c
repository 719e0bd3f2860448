/* generate.c: the generation loop (generate.h): a picker per step, stop ids, held-back stop strings. */
#include "model/generate.h"
#include "base/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Generated ids not yet written, with the decoded text they end at. */
typedef struct {
	int32_t *ids;           /* [n] generated so far */
	size_t *ends;           /* [n] text length after ids[i] */
	int n, written;         /* ids[0..written) are out */
	ByteBuf text;           /* decoded text of all ids, as ernie-detok shows it */
	Detok d;
} Pending;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int pick_sampler(void *ctx, const float *logits, uint32_t n, int32_t *id)
{
	return sampler_next(ctx, NULL, logits, n, id);
}

static int end_sampler(void *ctx)
{
	sampler_reset(ctx);
	return 0;
}

Picker picker_sampler(Sampler *s)
{
	return (Picker){ pick_sampler, end_sampler, s };
}

static int pick_proc(void *ctx, const float *logits, uint32_t n, int32_t *id)
{
	return sampler_proc_step(ctx, logits, n, id);
}

static int end_proc(void *ctx)
{
	return sampler_proc_end(ctx);
}

Picker picker_proc(SamplerProc *sp)
{
	return (Picker){ pick_proc, end_proc, sp };
}

int gen_stop_ids(const Model *m, const int32_t *ends, int nends, const int32_t *extra,
		 int nextra, int ignore_eos, int32_t *ids)
{
	int n = 0;
	for (int i = 0; i < nextra; i++)
		ids[n++] = extra[i];
	if (ignore_eos)
		return n;
	for (int i = 0; i < m->cfg.n_eos; i++)
		ids[n++] = m->cfg.eos[i];
	for (int i = 0; i < nends; i++)
		ids[n++] = ends[i];
	return n;
}

static int is_stop_id(const GenParams *g, int32_t id)
{
	for (int i = 0; i < g->nstop_ids; i++)
		if (g->stop_ids[i] == id)
			return 1;
	return 0;
}

/* Does text[at..len) match the start of some stop string (all of it, or
 * a proper prefix of it when partial)? */
static int stop_at(const GenParams *g, const char *text, size_t len, size_t at, int partial)
{
	for (int i = 0; i < g->nstops; i++) {
		size_t sl = strlen(g->stops[i]), tl = len - at;
		if (tl >= sl ? !memcmp(text + at, g->stops[i], sl)
			     : partial && !memcmp(text + at, g->stops[i], tl))
			return 1;
	}
	return 0;
}

/* Write the ids whose text ends at or before limit. */
static int release(Pending *p, StreamWriter *w, size_t limit)
{
	while (p->written < p->n && p->ends[p->written] <= limit) {
		int rc = stream_put_id(w, p->ids[p->written]);
		if (rc)
			return rc;
		p->written++;
	}
	return 0;
}

/* Add id; write what can no longer belong to a stop string. Sets *hit when
 * the text now contains one (the ids from the one it starts in are dropped). */
static int push(Pending *p, const GenParams *g, StreamWriter *w, int32_t id, int *hit)
{
	p->ids[p->n] = id;
	int rc = g->nstops ? detok_put(&p->d, id, &p->text) : 0;
	if (rc)
		return rc;
	/* ernie-detok leaves out an answer's leading newlines: so does the
	 * text the stop strings are looked for in (empty until then) */
	size_t lead = 0;
	if (p->n == 0 || p->ends[p->n - 1] == 0)
		while (lead < p->text.len && p->text.s[lead] == '\n')
			lead++;
	if (lead) {
		memmove(p->text.s, p->text.s + lead, p->text.len - lead);
		p->text.len -= lead;
	}
	p->ends[p->n++] = p->text.len;
	if (!g->nstops)
		return release(p, w, p->text.len);
	size_t from = p->written ? p->ends[p->written - 1] : 0;
	for (size_t at = from; at < p->text.len; at++) {
		if (stop_at(g, p->text.s, p->text.len, at, 0)) {
			*hit = 1;
			return release(p, w, at);
		}
	}
	size_t safe = from;
	while (safe < p->text.len && !stop_at(g, p->text.s, p->text.len, safe, 1))
		safe++;
	return release(p, w, safe);
}

static void pending_free(Pending *p)
{
	free(p->ids);
	free(p->ends);
	free(p->text.s);
}

int generate(const Model *m, State *s, Compute *c, const Picker *pk, const GenParams *g,
	     float *logits, StreamWriter *w, GenStats *st)
{
	Pending p = { 0 };
	memset(st, 0, sizeof *st);
	st->end = GEN_MAX;
	/* the context has room for this many more ids (the last is not evaluated) */
	int max = state_limit(s) - state_pos(s) + 1;
	if (g->max_tokens > 0 && g->max_tokens < max)
		max = g->max_tokens;
	p.ids = malloc(sizeof *p.ids * (size_t)max);
	p.ends = malloc(sizeof *p.ends * (size_t)max);
	if (!p.ids || !p.ends) {
		pending_free(&p);
		return err(ERR_IO, "out of memory");
	}
	if (g->nstops)
		detok_init(&p.d, g->tok, 0);
	int rc = 0, hit = 0;
	uint32_t vocab = (uint32_t)m->cfg.vocab;
	for (int i = 0; i < max && !rc; i++) {
		int32_t id;
		for (uint32_t v = g->nids > 0 ? (uint32_t)g->nids : vocab; v < vocab; v++)
			logits[v] = -INFINITY;
		if ((rc = pk->pick(pk->ctx, logits, vocab, &id)) != 0)
			break;
		if (is_stop_id(g, id)) {
			st->end = GEN_STOP_ID;
			break;
		}
		if ((rc = push(&p, g, w, id, &hit)) != 0)
			break;
		if (hit) {
			st->end = GEN_STOP_STRING;
			break;
		}
		if (i + 1 == g->max_tokens)
			break;
		if (state_pos(s) >= state_limit(s)) {
			st->end = GEN_CONTEXT_FULL;
			break;
		}
		double t0 = now_ms();
		rc = model_eval(m, s, c, &id, 1, logits, 0);
		st->eval_ms += now_ms() - t0;
		st->tokens++;
	}
	if (!rc && !hit)
		rc = release(&p, w, (size_t)-1);
	if (!rc)
		rc = stream_close_record(w);
	pending_free(&p);
	return rc;
}
