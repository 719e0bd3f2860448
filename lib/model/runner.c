/* runner.c: ernie-run's modes over a token stream (runner.h): logits, log-probabilities, answers. */
#include "model/runner.h"
#include "base/err.h"
#include "sample/sample.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the runner --------------------------------------------------------- */

static int logit_rows(int all)
{
	return all ? RUN_ALL_ROWS : 1;
}

int runner_new(Runner *r, const Model *m, Compute *c, int ctx, int all)
{
	size_t V = (size_t)m->cfg.vocab;
	memset(r, 0, sizeof *r);
	r->m = m;
	r->c = c;
	int rc = state_new(&r->s, m, ctx);
	if (rc)
		return rc;
	r->logits = malloc((size_t)logit_rows(all) * V * sizeof *r->logits);
	r->last = all ? malloc(V * sizeof *r->last) : NULL;
	if (!r->logits || (all && !r->last)) {
		runner_free(r);
		return err(ERR_IO, "out of memory");
	}
	return 0;
}

void runner_free(Runner *r)
{
	state_free(r->s);
	free(r->logits);
	free(r->last);
	r->s = NULL;
	r->logits = r->last = NULL;
}

void runner_memory(const Model *m, int threads, int64_t ctx, int all, RunMemory *mem)
{
	uint64_t V = (uint64_t)m->cfg.vocab;
	mem->mapped = tensors_file_bytes(&m->tensors);
	mem->kv_token = model_kv_bytes(m);
	mem->kv = model_kv_cache_bytes(m, ctx);
	mem->scratch = model_scratch_bytes(m, MODEL_BATCH) + model_attention_bytes(m, threads, ctx) +
		       ((uint64_t)logit_rows(all) + (all ? 1 : 0)) * V * sizeof(float);
	mem->total = mem->mapped + mem->kv + mem->scratch;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Append ids[0..n) (n <= RUN_ALL_ROWS when all) to the sequence: r->logits
 * gets the logits of every position (all) or of the last. */
static int append(Runner *r, const int32_t *ids, int n, int all)
{
	double t0 = now_ms();
	int rc = model_eval(r->m, r->s, r->c, ids, n, r->logits, all);
	RunStat *st = n == 1 ? &r->eval : &r->prompt;
	st->tokens += (uint64_t)n;
	st->ms += now_ms() - t0;
	return rc;
}

/* Where a bad record is: "<stdin>: record 3 (line 3)". */
static int blame(StreamReader *rd, unsigned long recno, int rc)
{
	char where[64];
	return err_prefix(rc, "<stdin>: record %lu (%s)", recno, stream_where(rd, where, sizeof where));
}

/* The next record, which must hold token ids in the vocabulary that fit in
 * the context; rec->kind is REC_EOF at the end. */
static int next_record(Runner *r, StreamReader *rd, unsigned long recno, Record *rec)
{
	int rc = stream_read(rd, rec, 0);
	if (rc || rec->kind == REC_EOF)
		return rc;
	if (rec->kind != REC_TOKENS)
		return blame(rd, recno, err(ERR_DATA, "logits where token ids were expected"));
	int n = (int)rec->n, pos = state_pos(r->s), limit = state_limit(r->s);
	if ((rc = model_check_ids(r->m, rec->ids, n)))
		return blame(rd, recno, rc);
	if (n > limit - pos)
		return blame(rd, recno, err(ERR_DATA, "the sequence would reach %lld tokens, past "
			     "the context limit of %d%s", (long long)pos + n, limit,
			     limit < r->m->cfg.max_pos ? " (raise it with -c N)" :
			     " (the model's maximum)"));
	return 0;
}

/* ---- logits ------------------------------------------------------------- */

static int write_frame(StreamWriter *w, const float *logits, uint32_t V, uint32_t top,
		       int32_t *top_ids, float *top_vals)
{
	int rc;
	if (!top)
		return stream_write_logits(w, logits, V);
	if ((rc = sample_top(logits, V, top, top_ids, top_vals)))
		return rc;
	return stream_write_top(w, top_ids, top_vals, top);
}

int run_logits(Runner *r, StreamReader *rd, StreamWriter *w, int all, uint32_t top)
{
	uint32_t V = (uint32_t)r->m->cfg.vocab;
	int32_t *top_ids = malloc((top ? top : 1) * sizeof *top_ids);
	float *top_vals = malloc((top ? top : 1) * sizeof *top_vals);
	int rc = !top_ids || !top_vals ? err(ERR_IO, "out of memory") : 0;
	for (unsigned long recno = 1; !rc; recno++) {
		Record rec;
		if ((rc = next_record(r, rd, recno, &rec)) || rec.kind == REC_EOF)
			break;
		if (rec.n == 0) {
			state_reset(r->s);
			rc = stream_write_end(w, 1);
			continue;
		}
		/* --all: batches of at most RUN_ALL_ROWS, so r->logits stays small */
		for (int i = 0, n = (int)rec.n; i < n && !rc; ) {
			int nb = all && n - i > RUN_ALL_ROWS ? RUN_ALL_ROWS : n - i;
			if ((rc = append(r, rec.ids + i, nb, all)))
				break;
			for (int j = all ? 0 : nb - 1; j < nb && !rc; j++)
				rc = write_frame(w, r->logits + (all ? (size_t)j * V : 0), V, top,
						 top_ids, top_vals);
			i += nb;
		}
	}
	free(top_ids);
	free(top_vals);
	return rc;
}

/* ---- log-probabilities -------------------------------------------------- */

int run_logprobs(Runner *r, StreamReader *rd, FILE *out, const char *name)
{
	uint32_t V = (uint32_t)r->m->cfg.vocab;
	int have_last = 0, rc = 0;      /* r->last holds the sequence's last logits */
	for (unsigned long recno = 1; !rc; recno++) {
		const char *sep = "";
		Record rec;
		if ((rc = next_record(r, rd, recno, &rec)) || rec.kind == REC_EOF)
			break;
		if (rec.n == 0) {
			state_reset(r->s);
			have_last = 0;
		}
		for (int i = 0, n = (int)rec.n; i < n && !rc; ) {
			int nb = n - i > RUN_ALL_ROWS ? RUN_ALL_ROWS : n - i;
			if ((rc = append(r, rec.ids + i, nb, 1)))
				break;
			/* token i + j follows the position before it: the last one of
			 * the previous batch or record, or row j - 1 of this batch */
			for (int j = 0; j < nb; j++) {
				const float *before = j ? r->logits + (size_t)(j - 1) * V :
						      have_last ? r->last : NULL;
				if (before) {
					fprintf(out, "%s%.6f", sep, sample_logprob(before, V, rec.ids[i + j]));
					sep = " ";
				}
			}
			memcpy(r->last, r->logits + (size_t)(nb - 1) * V, V * sizeof *r->last);
			have_last = 1;
			i += nb;
		}
		if (!rc && (putc('\n', out) == EOF || fflush(out)))
			rc = err_errno(ERR_IO, "%s: write error", name);
	}
	return rc;
}

/* ---- answers ------------------------------------------------------------ */

/* Answer the prompt in the sequence, then end the sequence. */
static int answer(Runner *r, const Picker *pk, const GenParams *g, StreamWriter *w)
{
	int rc = 0;
	if (state_pos(r->s) > 0) {
		GenStats st;
		rc = generate(r->m, r->s, r->c, pk, g, r->logits, w, &st);
		r->eval.tokens += (uint64_t)st.tokens;
		r->eval.ms += st.eval_ms;
		if (!rc && st.end == GEN_CONTEXT_FULL && g->max_tokens > 0 && r->context_full)
			r->context_full(state_limit(r->s));
		if (!rc && st.end == GEN_MAX && g->max_tokens > 0 && r->at_max)
			r->at_max(g->max_tokens);
		if (!rc)
			rc = pk->end(pk->ctx);
	}
	if (!rc)
		rc = stream_write_end(w, 0);
	state_reset(r->s);
	return rc;
}

int run_answers(Runner *r, StreamReader *rd, StreamWriter *w, const Picker *pk,
		const GenParams *g)
{
	int rc = 0, pending = 0;
	for (unsigned long recno = 1; !rc; recno++) {
		Record rec;
		if ((rc = next_record(r, rd, recno, &rec)))
			break;
		if (rec.kind == REC_EOF) {
			if (pending)
				rc = answer(r, pk, g, w);
			break;
		}
		if (rec.n == 0) {
			rc = answer(r, pk, g, w);
			pending = 0;
			continue;
		}
		rc = append(r, rec.ids, (int)rec.n, 0);
		pending = 1;
	}
	return rc;
}
