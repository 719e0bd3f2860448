/* dialect.c: the three serving APIs' requests and responses (remote.h):
 * the JSON body of a streaming completion request per dialect, the ids in
 * each streamed chunk, the model list and the server's error messages. */
#include "remote/remote.h"
#include "base/doc.h"
#include "base/err.h"

#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const api_names[] = {
	[API_AUTO] = "auto", [API_VLLM] = "vllm", [API_VLLM_LOGPROBS] = "vllm-logprobs",
	[API_FASTDEPLOY] = "fastdeploy", [API_LLAMA] = "llama-server",
};

const char *remote_api_name(RemoteApi api)
{
	return api_names[api];
}

int remote_api_parse(const char *s, RemoteApi *api)
{
	for (int i = API_VLLM; i <= API_LLAMA; i++)
		if (!strcmp(s, api_names[i])) {
			*api = (RemoteApi)i;
			return 0;
		}
	return err(ERR_DATA, "unknown server API '%s' (vllm, vllm-logprobs, fastdeploy, "
		   "llama-server)", s);
}

/* ---- requests ----------------------------------------------------------- */

/* Each option: its bit, ernie-run's name for it, and the dialects that
 * carry it. FastDeploy: the fields its /v1/completions documents (min_p,
 * stop_token_ids; bad_words_token_ids for a ban); it has no ignore_eos,
 * logit_bias or repeat_last_n, and keys its log-probabilities by their
 * text, not by id. --all is vLLM's echo with logprobs. */
#define OPENAI (1u << API_VLLM | 1u << API_VLLM_LOGPROBS)
#define FD (1u << API_FASTDEPLOY)
#define LLAMA (1u << API_LLAMA)
#define ALL (OPENAI | FD | LLAMA)
static const struct {
	unsigned bit;
	const char *opt;
	unsigned apis;
} options[] = {
	{ REQ_TEMP, "--temp", ALL },
	{ REQ_TOP_P, "--top-p", ALL },
	{ REQ_TOP_K, "--top-k", ALL },
	{ REQ_MIN_P, "--min-p", ALL },
	{ REQ_SEED, "--seed", ALL },
	{ REQ_REPEAT, "--repeat-penalty", ALL },
	{ REQ_REPEAT_LAST_N, "--repeat-last-n", LLAMA },
	{ REQ_PRESENCE, "--presence-penalty", ALL },
	{ REQ_FREQUENCY, "--frequency-penalty", ALL },
	{ REQ_BIAS, "--logit-bias", ALL },
	{ REQ_BIAS_FINITE, "--logit-bias other than ID=-inf (a ban)", OPENAI | LLAMA },
	{ REQ_STOP_IDS, "--stop-id", OPENAI | FD },
	{ REQ_STOP, "--stop", ALL },
	{ REQ_IGNORE_EOS, "--ignore-eos", OPENAI | LLAMA },
	{ REQ_TOP, "--top", OPENAI | LLAMA },
	{ REQ_ALL, "--all", OPENAI },
};

int remote_sampling(RemoteRequest *rq, const char *name, double v)
{
	static const struct {
		const char *name;
		unsigned bit;
		size_t off;             /* a double in RemoteRequest, or an int32_t if integer */
		int integer;
	} params[] = {
		{ "temperature", REQ_TEMP, offsetof(RemoteRequest, temperature), 0 },
		{ "top_p", REQ_TOP_P, offsetof(RemoteRequest, top_p), 0 },
		{ "top_k", REQ_TOP_K, offsetof(RemoteRequest, top_k), 1 },
		{ "min_p", REQ_MIN_P, offsetof(RemoteRequest, min_p), 0 },
		{ "repetition_penalty", REQ_REPEAT, offsetof(RemoteRequest, repeat_penalty), 0 },
		{ "repeat_last_n", REQ_REPEAT_LAST_N, offsetof(RemoteRequest, repeat_last_n), 1 },
		{ "presence_penalty", REQ_PRESENCE, offsetof(RemoteRequest, presence), 0 },
		{ "frequency_penalty", REQ_FREQUENCY, offsetof(RemoteRequest, frequency), 0 },
	};
	for (size_t i = 0; i < sizeof params / sizeof *params; i++)
		if (!strcmp(name, params[i].name)) {
			char *field = (char *)rq + params[i].off;
			if (params[i].integer)
				*(int32_t *)field = (int32_t)v;
			else
				*(double *)field = v;
			rq->set |= params[i].bit;
			return 0;
		}
	return err(ERR_DATA, "%s: not a sampling parameter a server request carries", name);
}

const char *remote_unsupported(RemoteApi api, unsigned set)
{
	for (size_t i = 0; i < sizeof options / sizeof *options; i++)
		if ((set & options[i].bit) && !(options[i].apis & 1u << api))
			return options[i].opt;
	return NULL;
}

const char *remote_path(RemoteApi api)
{
	return api == API_LLAMA ? "/completion" : "/v1/completions";
}

/* A JSON string: quotes, with ", \ and control characters escaped. */
static int json_string(ByteBuf *b, const char *s)
{
	int rc = bytebuf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\')
			snprintf(esc, sizeof esc, "\\%c", *p);
		else if (*p < 0x20)
			snprintf(esc, sizeof esc, "\\u%04x", *p);
		else
			esc[0] = (char)*p, esc[1] = 0;
		rc = bytebuf_adds(b, esc);
	}
	return rc ? rc : bytebuf_add(b, "\"", 1);
}

/* printf into the body. */
__attribute__((format(printf, 2, 3)))
static int add(ByteBuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return bytebuf_adds(b, tmp);
}

static int add_double(ByteBuf *b, const char *key, double v)
{
	if (!isfinite(v))
		return err(ERR_DATA, "%s: %g cannot be sent as JSON", key, v);
	return add(b, ",\"%s\":%.17g", key, v);
}

static int add_ids(ByteBuf *b, const char *key, const int32_t *ids, size_t n)
{
	int rc = add(b, ",\"%s\":[", key);
	for (size_t i = 0; i < n && !rc; i++)
		rc = add(b, "%s%" PRId32, i ? "," : "", ids[i]);
	return rc ? rc : bytebuf_add(b, "]", 1);
}

/* OpenAI's logit_bias is a map of id strings to biases in [-100, 100] (vLLM
 * clamps to it); llama-server's is a list of [id, bias] pairs, false bans;
 * FastDeploy only bans, with bad_words_token_ids. */
static int add_bias(RemoteApi api, const RemoteRequest *rq, ByteBuf *b)
{
	int llama = api == API_LLAMA, fd = api == API_FASTDEPLOY;
	int rc = bytebuf_adds(b, fd ? ",\"bad_words_token_ids\":[" : llama ? ",\"logit_bias\":[" :
			     ",\"logit_bias\":{");
	for (size_t i = 0; i < rq->nbias && !rc; i++) {
		double v = rq->bias[i].bias;
		int32_t id = rq->bias[i].id;
		if (isnan(v))
			return err(ERR_DATA, "logit_bias: NaN cannot be sent as JSON");
		if (fd && v != -INFINITY)
			return err(ERR_DATA, "fastdeploy cannot carry a logit bias of %g (only bans)", v);
		const char *sep = i ? "," : "";
		if (fd)
			rc = add(b, "%s%" PRId32, sep, id);
		else if (llama && v == -INFINITY)
			rc = add(b, "%s[%" PRId32 ",false]", sep, id);
		else if (llama)
			rc = add(b, "%s[%" PRId32 ",%.17g]", sep, id, v);
		else
			rc = add(b, "%s\"%" PRId32 "\":%.17g", sep, id,
				 v < -100 ? -100 : v > 100 ? 100 : v);
	}
	return rc ? rc : bytebuf_adds(b, fd || llama ? "]" : "}");
}

static int add_options(RemoteApi api, const RemoteRequest *rq, ByteBuf *b)
{
	unsigned s = rq->set;
	int llama = api == API_LLAMA, rc = 0;
	if (!rc && (s & REQ_TEMP))
		rc = add_double(b, "temperature", rq->temperature);
	if (!rc && (s & REQ_TOP_P))
		rc = add_double(b, "top_p", rq->top_p);
	if (!rc && (s & REQ_TOP_K))
		rc = add(b, ",\"top_k\":%" PRId32, rq->top_k);
	if (!rc && (s & REQ_MIN_P))
		rc = add_double(b, "min_p", rq->min_p);
	if (!rc && (s & REQ_SEED))
		rc = add(b, ",\"seed\":%" PRIu64, rq->seed);
	if (!rc && (s & REQ_REPEAT))
		rc = add_double(b, llama ? "repeat_penalty" : "repetition_penalty", rq->repeat_penalty);
	if (!rc && (s & REQ_REPEAT_LAST_N))
		rc = add(b, ",\"repeat_last_n\":%" PRId32, rq->repeat_last_n);
	if (!rc && (s & REQ_PRESENCE))
		rc = add_double(b, "presence_penalty", rq->presence);
	if (!rc && (s & REQ_FREQUENCY))
		rc = add_double(b, "frequency_penalty", rq->frequency);
	if (!rc && (s & REQ_BIAS))
		rc = add_bias(api, rq, b);
	if (!rc && (s & REQ_STOP_IDS))
		rc = add_ids(b, "stop_token_ids", rq->stop_ids, rq->nstop_ids);
	if (!rc && (s & REQ_STOP)) {
		rc = bytebuf_adds(b, ",\"stop\":[");
		for (size_t i = 0; i < rq->nstop && !rc; i++)
			if (!(rc = i ? bytebuf_adds(b, ",") : 0))
				rc = json_string(b, rq->stop[i]);
		if (!rc)
			rc = bytebuf_adds(b, "]");
	}
	if (!rc && (s & REQ_IGNORE_EOS))
		rc = bytebuf_adds(b, ",\"ignore_eos\":true");
	return rc;
}

int remote_request(RemoteApi api, const RemoteRequest *rq, ByteBuf *body)
{
	const char *opt = remote_unsupported(api, rq->set);
	if (opt)
		return err(ERR_DATA, "%s cannot carry %s", remote_api_name(api), opt);
	int llama = api == API_LLAMA;
	int rc = bytebuf_adds(body, llama && rq->whole ? "{\"stream\":false,\"return_tokens\":true"
			      : "{\"stream\":true");
	if (!rc && rq->model && !llama && !(rc = bytebuf_adds(body, ",\"model\":")))
		rc = json_string(body, rq->model);
	if (!rc)
		rc = add_ids(body, "prompt", rq->prompt, rq->nprompt);
	/* -1: llama-server's n_predict -1; the OpenAI servers' null is "up to
	 * the context" (leaving it out would be their default, 16) */
	if (!rc && llama)
		rc = add(body, ",\"n_predict\":%ld", rq->max_tokens);
	else if (!rc && rq->max_tokens < 0)
		rc = bytebuf_adds(body, ",\"max_tokens\":null");
	else if (!rc)
		rc = add(body, ",\"max_tokens\":%ld", rq->max_tokens);
	int top = rq->set & REQ_TOP ? rq->top : 0;
	if (!rc && (api == API_VLLM || api == API_FASTDEPLOY))
		rc = bytebuf_adds(body, ",\"return_token_ids\":true");
	if (!rc && (api == API_VLLM_LOGPROBS || (api == API_VLLM && top)))
		rc = add(body, ",\"logprobs\":%d,\"return_tokens_as_token_ids\":true",
			 top > 1 ? top : 1);
	if (!rc && llama && top)
		rc = add(body, ",\"n_probs\":%d", top);
	/* --all: the prompt echoed with its log-probabilities (vLLM refuses
	 * prompt_logprobs in a stream; echo with logprobs K asks for them) */
	if (!rc && (rq->set & REQ_ALL))
		rc = bytebuf_adds(body, ",\"echo\":true");
	if (!rc)
		rc = add_options(api, rq, body);
	return rc ? rc : bytebuf_adds(body, "}");
}

/* ---- response chunks ---------------------------------------------------- */

void chunk_free(Chunk *c)
{
	free(c->ids);
	free(c->top_ids);
	free(c->top_lp);
	free(c->top_n);
	memset(c, 0, sizeof *c);
}

/* "chunk {"x": 1, ...}: " for messages: the start of what came. */
static int bad_chunk(const char *data, size_t len, const char *fmt, const char *what)
{
	char msg[160];
	snprintf(msg, sizeof msg, fmt, what);
	return err(ERR_DATA, "%s, in the chunk '%.*s%s'", msg, len > 80 ? 80 : (int)len, data,
		   len > 80 ? "..." : "");
}

/* v appended to the growing array *a (*n used, *cap allocated). */
static int push32(int32_t **a, size_t *n, size_t *cap, int32_t v)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		int32_t *p = realloc(*a, c * sizeof *p);
		if (!p)
			return err(ERR_IO, "out of memory");
		*a = p;
		*cap = c;
	}
	(*a)[(*n)++] = v;
	return 0;
}

static int push_id(Chunk *c, long long id)
{
	return push32(&c->ids, &c->n, &c->cap, (int32_t)id);
}

static int push_top(Chunk *c, long long id, double lp)
{
	if (c->ntop == c->top_cap) {
		size_t cap = c->top_cap ? 2 * c->top_cap : 16;
		int32_t *ids = realloc(c->top_ids, cap * sizeof *ids);
		if (ids)
			c->top_ids = ids;
		float *v = ids ? realloc(c->top_lp, cap * sizeof *v) : NULL;
		if (!v)
			return err(ERR_IO, "out of memory");
		c->top_lp = v;
		c->top_cap = cap;
	}
	c->top_ids[c->ntop] = (int32_t)id;
	c->top_lp[c->ntop++] = (float)lp;
	return 0;
}

/* The end of a position's pairs: n of them were pushed for it. */
static int push_pos(Chunk *c, size_t n)
{
	return push32(&c->top_n, &c->npos, &c->pos_cap, (int32_t)n);
}

/* A token id: an integer in [0, INT32_MAX]. */
static int id_of(const Doc *d, const DocNode *n, long long *id)
{
	int rc = doc_int(d, n, "a token id", id);
	if (!rc && (*id < 0 || *id > INT32_MAX))
		rc = err(ERR_DATA, "%s:%d:%d: token id %lld out of range", d->name, n->line, n->col, *id);
	return rc;
}

/* "token_id:N" (vLLM's return_tokens_as_token_ids). */
static int id_of_text(const char *s, long long *id)
{
	char *end;
	if (strncmp(s, "token_id:", 9) || s[9] < '0' || s[9] > '9')
		return ERR_DATA;
	*id = strtoll(s + 9, &end, 10);
	return *end || *id > INT32_MAX ? ERR_DATA : 0;
}

static int ids_of_seq(const Doc *d, const DocNode *seq, Chunk *c)
{
	int rc = 0;
	for (size_t i = 0; i < seq->n && !rc; i++) {
		long long id;
		if (!(rc = id_of(d, seq->kids[i], &id)))
			rc = push_id(c, id);
	}
	return rc;
}

/* vLLM's top_logprobs: for each position {"token_id:N": logprob, ...}, or
 * null for an echoed prompt's first id. */
static int vllm_top(const Doc *d, const DocNode *lp, Chunk *c)
{
	DocNode *top = doc_get(lp, "top_logprobs");
	if (doc_is_null(top))
		return 0;
	if (top->kind != DOC_SEQ)
		return err(ERR_DATA, "top_logprobs is not a list");
	int rc = 0;
	for (size_t p = 0; p < top->n && !rc; p++) {
		const DocNode *m = top->kids[p];
		size_t n = doc_is_null(m) ? 0 : m->n;
		if (n && m->kind != DOC_MAP)
			return err(ERR_DATA, "top_logprobs[%zu] is not a map", p);
		for (size_t i = 0; i < n && !rc; i++) {
			long long id;
			double v;
			if (m->kids[2 * i]->kind != DOC_SCALAR || id_of_text(m->kids[2 * i]->str, &id))
				return err(ERR_DATA, "a top_logprobs key is not 'token_id:N' (the server "
					   "ignored return_tokens_as_token_ids)");
			if (!(rc = doc_double(d, m->kids[2 * i + 1], "a log-probability", &v)))
				rc = push_top(c, id, v);
		}
		if (!rc)
			rc = push_pos(c, n);
	}
	return rc;
}

static int openai_chunk(RemoteApi api, const Doc *d, const DocNode *root, Chunk *c,
			const char *data, size_t len)
{
	DocNode *choices = doc_get(root, "choices");
	if (!choices || choices->kind != DOC_SEQ)
		return bad_chunk(data, len, "no %s list", "choices");
	if (choices->n == 0)                    /* a usage-only chunk */
		return 0;
	const DocNode *ch = choices->kids[0];
	if (ch->kind != DOC_MAP)
		return bad_chunk(data, len, "%s is not a map", "choices[0]");
	c->finished = !doc_is_null(doc_get(ch, "finish_reason"));
	DocNode *lp = doc_get(ch, "logprobs");
	int rc = 0;
	if (!doc_is_null(lp) && lp->kind == DOC_MAP)
		rc = vllm_top(d, lp, c);
	if (rc)
		return rc;
	if (api == API_VLLM_LOGPROBS) {
		DocNode *toks = lp && lp->kind == DOC_MAP ? doc_get(lp, "tokens") : NULL;
		if (!toks || toks->kind != DOC_SEQ)
			return c->finished ? 0 : bad_chunk(data, len, "no %s list", "logprobs.tokens");
		for (size_t i = 0; i < toks->n && !rc; i++) {
			long long id;
			if (toks->kids[i]->kind != DOC_SCALAR || id_of_text(toks->kids[i]->str, &id))
				return bad_chunk(data, len, "%s", "a logprobs token is not 'token_id:N' "
						 "(the server ignored return_tokens_as_token_ids)");
			rc = push_id(c, id);
		}
		return rc;
	}
	const char *key = api == API_FASTDEPLOY ? "completion_token_ids" : "token_ids";
	DocNode *ids = doc_get(ch, key);
	/* the first chunk may carry only the prompt's ids, the last only the reason */
	if (doc_is_null(ids) && (c->finished || doc_get(ch, "prompt_token_ids")))
		return 0;
	if (!ids || ids->kind != DOC_SEQ)
		return bad_chunk(data, len, "no %s list (the server ignored return_token_ids)", key);
	return ids_of_seq(d, ids, c);
}

/* llama-server: {"content": ..., "tokens": [...], "stop": false,
 * "tokens_predicted": N, at the end "stop_type": "limit" or another and
 * "truncated", and with n_probs "completion_probabilities": [{"id",
 * "logprob", "top_logprobs": [{"id", "logprob"}...]}]}; the whole answer
 * ("stream": false) is one such object with every id. */
static int llama_chunk(const Doc *d, const DocNode *root, Chunk *c, const char *data, size_t len)
{
	DocNode *toks = doc_get(root, "tokens");
	int rc = 0, stop = 0;
	if (!doc_is_null(toks) && toks->kind == DOC_SEQ)
		rc = ids_of_seq(d, toks, c);
	else if (!doc_is_null(toks))
		return bad_chunk(data, len, "%s is not a list", "tokens");
	DocNode *st = doc_get(root, "stop");
	if (!st)
		return bad_chunk(data, len, "no %s", "stop");
	if (!rc)
		rc = doc_bool(d, st, "stop", &stop);
	c->finished = c->done = stop;
	DocNode *dec = doc_get(root, "tokens_predicted"), *type = doc_get(root, "stop_type");
	DocNode *cut = doc_get(root, "truncated");
	int truncated = 0;
	if (!rc && !doc_is_null(dec))
		rc = doc_int(d, dec, "tokens_predicted", &c->decoded);
	if (!rc && !doc_is_null(cut))
		rc = doc_bool(d, cut, "truncated", &truncated);
	c->limit = type && type->kind == DOC_SCALAR && !strcmp(type->str, "limit") && !truncated;
	DocNode *probs = doc_get(root, "completion_probabilities");
	if (rc || doc_is_null(probs) || probs->kind != DOC_SEQ || probs->n == 0)
		return rc;
	DocNode *top = doc_get(probs->kids[0], "top_logprobs");
	if (!top || top->kind != DOC_SEQ)
		return bad_chunk(data, len, "no %s list", "top_logprobs");
	for (size_t i = 0; i < top->n && !rc; i++) {
		long long id;
		double v;
		if (!(rc = id_of(d, doc_get(top->kids[i], "id"), &id)) &&
		    !(rc = doc_double(d, doc_get(top->kids[i], "logprob"), "logprob", &v)))
			rc = push_top(c, id, v);
	}
	return rc ? rc : push_pos(c, top->n);
}

/* {"error": {"message": ...}} or {"error": "..."}: the server's own words. */
static const char *error_message(const DocNode *root)
{
	DocNode *e = doc_get(root, "error");
	if (e && e->kind == DOC_MAP)
		e = doc_get(e, "message");
	if (!e)
		e = doc_get(root, "detail");
	if (!e)
		e = doc_get(root, "message");
	return e && e->kind == DOC_SCALAR ? e->str : NULL;
}

int remote_chunk(RemoteApi api, const char *data, size_t len, Chunk *c)
{
	c->n = c->ntop = c->npos = 0;
	c->done = c->finished = 0;
	c->decoded = 0;
	c->limit = 0;
	if (len == 6 && !memcmp(data, "[DONE]", 6)) {
		c->done = 1;
		return 0;
	}
	Doc d;
	if (len == 0 || data[0] != '{' || doc_load_buffer(&d, "chunk", data, len))
		return bad_chunk(data, len, "%s", "not a JSON object");
	int rc;
	if (!d.root || d.root->kind != DOC_MAP)
		rc = bad_chunk(data, len, "%s", "not a JSON object");
	else if (doc_get(d.root, "error"))
		rc = err(ERR_DATA, "error in the stream: %s", error_message(d.root) ?
			 error_message(d.root) : "(no message)");
	else
		rc = api == API_LLAMA ? llama_chunk(&d, d.root, c, data, len)
				      : openai_chunk(api, &d, d.root, c, data, len);
	doc_free(&d);
	return rc;
}

/* ---- discovery ---------------------------------------------------------- */

void remote_info_free(RemoteInfo *info)
{
	free(info->model);
	memset(info, 0, sizeof *info);
}

/* An optional integer field; absent or unreadable leaves *out. */
static void opt_int(const Doc *d, const DocNode *map, const char *key, long long *out)
{
	DocNode *n = map && map->kind == DOC_MAP ? doc_get(map, key) : NULL;
	long long v;
	if (n && n->kind == DOC_SCALAR && !doc_int(d, n, key, &v) && v > 0)
		*out = v;
}

int remote_models(const char *json, size_t len, RemoteInfo *info)
{
	memset(info, 0, sizeof *info);
	Doc d;
	if (len == 0 || json[0] != '{' || doc_load_buffer(&d, "/v1/models", json, len))
		return err(ERR_DATA, "/v1/models: not a JSON object");
	DocNode *data = d.root && d.root->kind == DOC_MAP ? doc_get(d.root, "data") : NULL;
	int rc = 0;
	if (!data || data->kind != DOC_SEQ)
		rc = err(ERR_DATA, "/v1/models: no data list");
	else if (data->n > 0 && data->kids[0]->kind == DOC_MAP) {
		const DocNode *m = data->kids[0];
		DocNode *id = doc_get(m, "id"), *owner = doc_get(m, "owned_by");
		info->nmodels = (int)data->n;
		if (id && id->kind == DOC_SCALAR && !(info->model = strdup(id->str)))
			rc = err(ERR_IO, "out of memory");
		const char *o = owner && owner->kind == DOC_SCALAR ? owner->str : "";
		info->api = !strcasecmp(o, "vllm") ? API_VLLM :
			    !strcasecmp(o, "fastdeploy") || !strcasecmp(o, "paddlepaddle") ?
			    API_FASTDEPLOY : !strcasecmp(o, "llamacpp") ? API_LLAMA : API_AUTO;
		opt_int(&d, m, "max_model_len", &info->ctx);
		opt_int(&d, doc_get(m, "meta"), "n_ctx_train", &info->ctx);
		opt_int(&d, doc_get(m, "meta"), "n_vocab", &info->vocab);
	}
	doc_free(&d);
	return rc;
}

void remote_error_text(const char *body, size_t len, char *out, size_t max)
{
	Doc d;
	const char *msg = NULL;
	int parsed = len > 0 && body[0] == '{' && !doc_load_buffer(&d, "error", body, len);
	if (parsed && d.root && d.root->kind == DOC_MAP)
		msg = error_message(d.root);
	size_t n = 0;
	if (msg)
		n = strlen(msg);
	else {
		msg = body;
		while (n < len && body[n] != '\n' && body[n] != '\r')
			n++;
	}
	snprintf(out, max, "%.*s", (int)(n < max ? n : max - 1), msg);
	if (parsed)
		doc_free(&d);
}

int remote_oov_id(const char *msg, long long *id)
{
	const char *p = strstr(msg, "oken id ");
	char *end;
	if (!p || p == msg || (p[-1] != 'T' && p[-1] != 't') || p[8] < '0' || p[8] > '9')
		return ERR_DATA;
	*id = strtoll(p + 8, &end, 10);
	return strncmp(end, " is out of vocabulary", 21) ? ERR_DATA : 0;
}
