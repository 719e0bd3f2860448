/* runner.h: what ernie-run does with a token stream, one function per mode.
 *
 * Each reads token records until the end of the input. A non-empty record is
 * appended to the sequence; an empty record ends the sequence (the state is
 * reset) and is passed on. Errors in the input name the record:
 * "<stdin>: record 3 (line 3): ...".
 *
 *   run_logits     one ELOG (or ETOP) frame per record: the next token's
 *                  logits; with all, one per position
 *   run_logprobs   one text line per record: log p(token | those before it)
 *                  for each of its tokens (not the sequence's first)
 *   run_answers    each sequence is a prompt: the answer's ids as one record
 *                  (generate.h), then an empty record
 */
#ifndef ERNIE_RUNNER_H
#define ERNIE_RUNNER_H

#include <stdint.h>
#include <stdio.h>

#include "model/generate.h"
#include "model/model.h"
#include "stream/stream.h"

#define RUN_ALL_ROWS 64         /* positions whose logits are computed (and held) at once */

typedef struct {
	uint64_t tokens;
	double ms;
} RunStat;

typedef struct {
	const Model *m;
	State *s;
	Compute *c;
	float *logits;          /* [rows][V]: RUN_ALL_ROWS rows when all, else one */
	float *last;            /* [V] the last position's logits (run_logprobs) */
	RunStat prompt;         /* records of several tokens (prefill) */
	RunStat eval;           /* records of one token, and generated tokens (decode) */
	/* called (when set) after an answer that the context limit cut short of
	 * max_tokens (> 0), with the limit: the command's warning */
	void (*context_full)(int limit);
	/* called (when set) after an answer cut at max_tokens (> 0), with it */
	void (*at_max)(int max_tokens);
} Runner;

/* A sequence of at most ctx tokens (0: the model's maximum) computed on c;
 * all: room for the logits of RUN_ALL_ROWS positions. ERR_IO out of memory. */
int runner_new(Runner *r, const Model *m, Compute *c, int ctx, int all);
void runner_free(Runner *r);

/* What a run costs in memory, from the same sizes the allocations use. */
typedef struct {
	uint64_t mapped;        /* the weight files, mapped read-only */
	uint64_t kv_token;      /* KV cache per token of context */
	uint64_t kv;            /* KV cache at ctx tokens */
	uint64_t scratch;       /* a prefill batch, attention at ctx, the logits */
	uint64_t total;
} RunMemory;
void runner_memory(const Model *m, int threads, int64_t ctx, int all, RunMemory *mem);

int run_logits(Runner *r, StreamReader *rd, StreamWriter *w, int all, uint32_t top);
int run_logprobs(Runner *r, StreamReader *rd, FILE *out, const char *name);
int run_answers(Runner *r, StreamReader *rd, StreamWriter *w, const Picker *pk,
		const GenParams *g);

#endif
