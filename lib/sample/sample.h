/* sample.h: choosing the next token from a frame of logits (ernie-sample(1)).
 *
 * One frame is dense (logit i belongs to id i) or sparse (id, logit pairs;
 * an id not in the frame is absent, as if its logit were -inf). The steps,
 * in the order of Hugging Face transformers and vLLM:
 *
 *   1. repeat penalty (llama.cpp): each id seen in the last repeat_last_n
 *      ids of the sequence gets l / r if l > 0, else l * r;
 *   2. presence and frequency penalties (OpenAI): each id seen c > 0 times
 *      in the sequence gets l - c * frequency - presence;
 *   3. logit bias: l + bias (a -inf bias bans the id);
 *   4. temperature: p_i proportional to exp((l_i - l_max) / T); T = 0 is
 *      greedy: the highest logit wins (the lowest id on a tie) and the
 *      remaining steps are skipped;
 *   5. top-k: the k most probable ids;
 *   6. top-p: of those, the smallest set of most probable ids whose
 *      probability (renormalised over the ids kept so far) reaches p;
 *   7. min-p: of those, the ids with p_i >= min_p * p_max;
 *   8. draw from what is left, renormalised.
 *
 * Ids are ranked by probability, ties by ascending id, so every set above is
 * exact. At least one id is always kept.
 *
 * The history (for the penalties) is the ids this sampler chose since the
 * last sampler_reset(). Same seed and same frames give the same ids on every
 * machine: the RNG state is integers, the arithmetic is IEEE double with a
 * fixed order of operations, and exp is computed here rather than by libm
 * (whose last bit may differ between systems).
 */
#ifndef ERNIE_SAMPLE_H
#define ERNIE_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* ---- random numbers: xoshiro256** seeded through splitmix64 ---- */

typedef struct {
	uint64_t s[4];          /* xoshiro256** state, never all zero */
} Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
/* Uniform in [0, 1), from the top 53 bits of rng_next(). */
double rng_uniform(Rng *r);
/* splitmix64: the seed expander (exposed for tests). */
uint64_t splitmix64(uint64_t *state);

/* ---- parameters ---- */

typedef struct {
	int32_t id;
	double bias;            /* finite, or -INFINITY to ban the id */
} LogitBias;

typedef struct {
	double temperature;       /* >= 0; 0 = greedy */
	int32_t top_k;            /* >= 0; 0 = off */
	double top_p;             /* [0, 1]; 1 = off */
	double min_p;             /* [0, 1]; 0 = off */
	double repeat_penalty;    /* > 0; 1 = off */
	int32_t repeat_last_n;    /* >= -1; 0 = off, -1 = the whole sequence */
	double presence_penalty;  /* finite; 0 = off */
	double frequency_penalty; /* finite; 0 = off */
	LogitBias *bias;          /* nbias entries, ascending distinct ids (owned) */
	size_t nbias;
	uint64_t seed;
} SampleParams;

/* The model card's values: temperature 0.8, top_p 0.8, everything else off;
 * repeat_last_n 64 (llama.cpp's default window); seed 0. */
void sample_params_default(SampleParams *p);
void sample_params_free(SampleParams *p);

/* The parameters below, each once: its Hugging Face name (the key of
 * generation_config.json), llama.cpp's option name, and what it accepts.
 * The programs build their sampling options from this table. */
typedef struct {
	const char *name;       /* "top_p" */
	const char *opt;        /* "top-p" */
	size_t off;             /* in SampleParams: a double, or an int32_t if integer */
	int integer;
	double lo, hi;          /* the accepted range, closed */
	const char *want;       /* "in [0, 1]", for messages */
	const char *metavar;    /* "P", and what it does, for --help (lines split by \n) */
	const char *help;
} SampleParamSpec;
#define SAMPLE_NPARAMS 8
extern const SampleParamSpec *const sample_param_specs;   /* [SAMPLE_NPARAMS] */
extern const size_t sample_nparams;                      /* SAMPLE_NPARAMS */

/* Set one parameter by its Hugging Face name: temperature, top_p, top_k,
 * min_p, repetition_penalty, repeat_last_n, presence_penalty,
 * frequency_penalty. Returns 0, or ERR_DATA ("top_p must be in [0, 1], not
 * 1.5") for an out-of-range value or an unknown name; p is unchanged then. */
int sample_param_set(SampleParams *p, const char *name, double v);

/* Bias id by bias (a later bias for the same id replaces the earlier).
 * ERR_DATA for a negative id or a NaN / +inf bias, ERR_IO out of memory. */
int sample_params_bias(SampleParams *p, int32_t id, double bias);

/* Read DIR/generation_config.json into p, if the file exists: the keys of
 * sample_param_set() and do_sample (false: temperature 0). Other keys are
 * ignored. Returns 0, ERR_DATA naming file:line:col, or ERR_IO (the
 * directory does not exist, the file cannot be read). */
int sample_params_load(SampleParams *p, const char *dir);

/* ---- the sampler ---- */

typedef struct Sampler Sampler;

/* Copies p (bias included). ERR_IO out of memory. */
int sampler_new(Sampler **s, const SampleParams *p);
void sampler_free(Sampler *s);

/* A new sequence: forget the history (the RNG goes on). */
void sampler_reset(Sampler *s);

/* Choose the next id from one frame of n logits: dense when ids is NULL,
 * else sparse with ids[i] the id of vals[i]. The chosen id joins the history.
 * ERR_DATA (the message names the id) for a NaN or +inf logit, a logit that
 * overflows after the penalties, a frame with no finite logit, a negative or
 * repeated id in a sparse frame, or a bias for an id past a dense frame's
 * end; ERR_IO out of memory. */
int sampler_next(Sampler *s, const int32_t *ids, const float *vals, uint32_t n, int32_t *out);

/* The distribution the next sampler_next() would draw from, without drawing
 * or touching the history: *m ids (most probable first when top-k or top-p
 * cut, else ascending) with their probabilities, into arrays of n entries.
 * Greedy gives the one id with probability 1. Errors as sampler_next(). */
int sampler_probs(Sampler *s, const int32_t *ids, const float *vals, uint32_t n,
                  int32_t *out_ids, double *out_p, size_t *m);

/* ---- ranking without drawing ---- */

/* The k largest of the n logits x (k <= n), largest first and the lower id
 * first on a tie (the sampler's ranking), into ids[k] and vals[k]. ERR_IO
 * out of memory. */
int sample_top(const float *x, uint32_t n, uint32_t k, int32_t *ids, float *vals);

/* log p(id) under the softmax of the n logits x (natural log), in double. */
double sample_logprob(const float *x, uint32_t n, int32_t id);

#endif
