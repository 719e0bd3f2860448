/* remote.h: ernie-run --server, the pipeline's forward pass and sampling on
 * a serving engine (vLLM, FastDeploy, llama.cpp's llama-server).
 *
 * Three dialects of the OpenAI-style completion API, each given the prompt
 * as a list of token ids and streaming the answer's ids back as server-sent
 * events ("data: {json}\n\n"):
 *
 *   vLLM           POST /v1/completions, return_token_ids: true; each
 *                  chunk's choices[0].token_ids; ends with "data: [DONE]"
 *   vLLM (older)   the same with logprobs: 1 and return_tokens_as_token_ids:
 *                  true; the ids are choices[0].logprobs.tokens, "token_id:N"
 *   FastDeploy     POST /v1/completions, return_token_ids: true; each
 *                  chunk's choices[0].completion_token_ids; ends with [DONE]
 *   llama-server   POST /completion; each chunk's tokens; the last chunk
 *                  has "stop": true (no [DONE])
 *
 * Scoring (--top K) asks vLLM for logprobs: K ("token_id:N" keys), and with
 * --all for echo too: the prompt's log-probabilities then come first, one
 * entry per prompt id (null for the first); llama-server for n_probs: K.
 *
 * This layer builds the requests and decodes the responses; it does no I/O
 * (http.c moves the bytes with libcurl). Like the rest of lib/ it never
 * prints: errors are ERR_* codes with err() messages.
 */
#ifndef ERNIE_REMOTE_H
#define ERNIE_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "base/bytebuf.h"
#include "sample/sample.h"

typedef enum { API_AUTO, API_VLLM, API_VLLM_LOGPROBS, API_FASTDEPLOY, API_LLAMA } RemoteApi;

/* "vllm", "vllm-logprobs", "fastdeploy", "llama-server" ("auto" for API_AUTO). */
const char *remote_api_name(RemoteApi api);
/* The dialect named s (one of the names above); ERR_DATA for another name. */
int remote_api_parse(const char *s, RemoteApi *api);

/* ---- requests ----------------------------------------------------------- */

/* The sampling options a request can carry; `set` says which the user gave
 * (the others are left to the server's defaults, which for vLLM are the
 * model's generation_config.json). */
enum {
	REQ_TEMP = 1 << 0, REQ_TOP_P = 1 << 1, REQ_TOP_K = 1 << 2, REQ_MIN_P = 1 << 3,
	REQ_SEED = 1 << 4, REQ_REPEAT = 1 << 5, REQ_REPEAT_LAST_N = 1 << 6,
	REQ_PRESENCE = 1 << 7, REQ_FREQUENCY = 1 << 8, REQ_BIAS = 1 << 9,
	REQ_STOP_IDS = 1 << 10, REQ_STOP = 1 << 11, REQ_IGNORE_EOS = 1 << 12,
	REQ_TOP = 1 << 13, REQ_ALL = 1 << 14, REQ_BIAS_FINITE = 1 << 15,
};

typedef struct {
	const int32_t *prompt;          /* [nprompt] token ids, nprompt > 0 */
	size_t nprompt;
	long max_tokens;                /* > 0; -1: until an end id or the context limit */
	const char *model;              /* vLLM / FastDeploy "model"; NULL: left out */
	unsigned set;                   /* REQ_* bits of the options below that apply */
	double temperature, top_p, min_p, repeat_penalty, presence, frequency;
	int32_t top_k, repeat_last_n;
	uint64_t seed;
	const LogitBias *bias;          /* [nbias] ids and their biases (-INFINITY bans);
					 * REQ_BIAS_FINITE: some bias is not a ban */
	size_t nbias;
	const int32_t *stop_ids;        /* [nstop_ids] */
	size_t nstop_ids;
	const char *const *stop;        /* [nstop] stop strings */
	size_t nstop;
	int top;                        /* REQ_TOP: top-K log-probabilities of the next token;
					 * with REQ_ALL also of every prompt position (vLLM's
					 * echo: the prompt's log-probabilities come first) */
	int whole;                      /* llama-server: the answer as one JSON object with
					 * every id ("stream": false), not as events */
} RemoteRequest;

/* Set one sampling parameter by its Hugging Face name (lib/sample's
 * sample_param_specs: temperature, top_p, top_k, min_p, repetition_penalty,
 * repeat_last_n, presence_penalty, frequency_penalty) and mark it set.
 * ERR_DATA for another name. */
int remote_sampling(RemoteRequest *rq, const char *name, double v);

/* The command-line option (as ernie-run spells it) of the first REQ_* bit
 * in set that the dialect cannot carry, or NULL when it carries them all. */
const char *remote_unsupported(RemoteApi api, unsigned set);

/* The path to POST to ("/v1/completions" or "/completion") and the JSON body
 * of a streaming request, appended to body. ERR_DATA for an option the
 * dialect cannot carry (see remote_unsupported) or a value JSON cannot hold
 * (a NaN); ERR_IO out of memory. */
const char *remote_path(RemoteApi api);
int remote_request(RemoteApi api, const RemoteRequest *rq, ByteBuf *body);

/* ---- server-sent events ------------------------------------------------- */

/* A server-sent event stream parser, fed the response body in whatever
 * pieces the network delivers. Each event's data (its "data:" lines joined
 * by \n) goes to the callback; a callback's nonzero return stops the feed
 * and is returned. Comment lines (":...") and other fields are skipped. */
typedef int (*SseEventFn)(void *ctx, const char *data, size_t len);

typedef struct {
	ByteBuf line;                   /* the current line, without its end */
	ByteBuf data;                   /* the current event's data */
	int has_data;                   /* a data: line was seen in this event */
	int cr;                         /* the last byte fed was \r (a \n next is part of it) */
} Sse;

void sse_init(Sse *s);
int sse_feed(Sse *s, const char *buf, size_t n, SseEventFn fn, void *ctx);
/* The stream ended: an event not yet ended by a blank line is dispatched
 * (as browsers do not, but servers that close right after it mean it). */
int sse_finish(Sse *s, SseEventFn fn, void *ctx);
void sse_free(Sse *s);

/* ---- response chunks ---------------------------------------------------- */

/* What one event of the stream carried. */
typedef struct {
	int32_t *ids;                   /* [n] ids generated, in order (owned, reused) */
	size_t n, cap;
	int done;                       /* the stream's end: [DONE], or llama-server's stop */
	int finished;                   /* a finish_reason or stop: the answer is complete */
	long long decoded;              /* llama-server: ids generated so far, this chunk's
					 * included ("tokens_predicted"); 0 when not said */
	int limit;                      /* llama-server: it stopped at n_predict
					 * ("stop_type": "limit", not "truncated" at
					 * the end of its context) */
	int32_t *top_ids;               /* [ntop] top-K ids (REQ_TOP), position after position */
	float *top_lp;                  /* [ntop] their log-probabilities, as the server sent them */
	size_t ntop, top_cap;
	int32_t *top_n;                 /* [npos] pairs of each position (0: vLLM's null for the
					 * prompt's first id, which nothing predicts) */
	size_t npos, pos_cap;
} Chunk;

/* Decode one event's data (a JSON chunk, or [DONE]) into c (its ids and
 * flags reset first). ERR_DATA for a chunk that is not the dialect's JSON
 * (the message says what was expected, then shows the chunk's start), or
 * an error object the server sent in the stream (its own message). */
int remote_chunk(RemoteApi api, const char *data, size_t len, Chunk *c);
void chunk_free(Chunk *c);

/* ---- discovery ---------------------------------------------------------- */

/* What GET /v1/models (and llama-server's /props) said about the server. */
typedef struct {
	int nmodels;                    /* entries in data[] */
	char *model;                    /* the first model's id (owned) */
	RemoteApi api;                  /* from owned_by; API_AUTO when it does not say */
	long long vocab;                /* the vocabulary size, 0 when not given */
	long long ctx;                  /* max_model_len / n_ctx_train, 0 when not given */
} RemoteInfo;

/* Read a /v1/models response body into info. ERR_DATA when it is not the
 * OpenAI model list. */
int remote_models(const char *json, size_t len, RemoteInfo *info);
void remote_info_free(RemoteInfo *info);

/* The message of an HTTP error response body: OpenAI's {"error": {"message":
 * ...}}, FastAPI's {"detail": ...}, {"message": ...}, else the body's first
 * line; at most max bytes, into out. */
void remote_error_text(const char *body, size_t len, char *out, size_t max);

/* The id of vLLM's refusal of a prompt id past its vocabulary ("Token id N
 * is out of vocabulary", HTTP 400), from an error message: 0 and *id, or
 * ERR_DATA when the message is another. */
int remote_oov_id(const char *msg, long long *id);

#endif
