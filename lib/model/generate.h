/* generate.h: the generation loop of ernie-run -n.
 *
 * After a prompt has been evaluated (its last logits in hand), each step
 * hands the logits to a Picker (the sampler in this process, or a sampler
 * process), takes the id it chose, writes the id out and evaluates it to get
 * the next logits. It stops at max_tokens, at a stop id (the id is not
 * written), when the generated text contains a stop string, or when the
 * sequence reaches its context limit.
 *
 * Stop strings: the ids are decoded as ernie-detok shows them by default
 * (special tokens skipped, the answer's leading newlines left out). An id is written only once the text up to its
 * end can no longer be the start of a stop string, so no part of the stop
 * string reaches the output; a token in which the stop string begins is not
 * written at all (with the text before the stop string in that token).
 */
#ifndef ERNIE_GENERATE_H
#define ERNIE_GENERATE_H

#include <stdint.h>

#include "kernels/matmul.h"
#include "model/model.h"
#include "model/sampler_proc.h"
#include "sample/sample.h"
#include "stream/stream.h"
#include "text/tokenizer.h"

/* Who chooses each next id: pick() gets the n logits of the next position;
 * end() ends the sequence (the penalties' history starts again). */
typedef struct {
	int (*pick)(void *ctx, const float *logits, uint32_t n, int32_t *id);
	int (*end)(void *ctx);
	void *ctx;
} Picker;

Picker picker_sampler(Sampler *s);     /* in this process (lib/sample) */
Picker picker_proc(SamplerProc *sp);   /* a sampler process (--sampler CMD) */

typedef struct {
	int max_tokens;             /* > 0, or -1: until the context is full */
	const int32_t *stop_ids;    /* [nstop_ids] end-of-sequence ids */
	int nstop_ids;
	char *const *stops;         /* [nstops] stop strings (non-empty) */
	int nstops;
	const Tokenizer *tok;       /* decodes for the stop strings; NULL if nstops == 0 */
	int32_t nids;               /* ids past the tokenizer's (the model's vocabulary is
	                               padded) are never chosen; 0: no limit */
} GenParams;

typedef enum { GEN_MAX, GEN_STOP_ID, GEN_STOP_STRING, GEN_CONTEXT_FULL } GenEnd;

typedef struct {
	int tokens;                 /* ids evaluated after the prompt */
	double eval_ms;             /* time in model_eval for them */
	GenEnd end;
} GenStats;

/* The ids that end an answer, into ids (room for nextra + CONFIG_MAX_EOS +
 * nends): extra[nextra] (--stop-id), then unless ignore_eos the model's eos
 * ids and ends[nends], its chat template's ends of a turn (found in its
 * tokenizer by prompt_end_ids). Returns how many. */
int gen_stop_ids(const Model *m, const int32_t *ends, int nends, const int32_t *extra,
		 int nextra, int ignore_eos, int32_t *ids);

/* logits[V] holds the prompt's next-token logits on entry (and is
 * overwritten). The generated ids go to w as one streamed record
 * (stream_put_id, then stream_close_record). */
int generate(const Model *m, State *s, Compute *c, const Picker *pk, const GenParams *g,
	     float *logits, StreamWriter *w, GenStats *st);

#endif
