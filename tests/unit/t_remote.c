/* lib/remote: the SSE parser and the chunk decoders on recorded streams
 * (tests/data/remote, written from the engines' documented fields) cut at
 * every byte and at random places; the request bodies per dialect. */
#include "test.h"
#include "base/err.h"
#include "base/readall.h"
#include "remote/remote.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
	RemoteApi api;
	int32_t ids[64];
	int n, done, finished, events, rc;
	int32_t top_ids[16];
	float top_lp[16];
	int ntop;
	int32_t top_n[16];              /* pairs per position */
	int npos;
	long long decoded;              /* the last tokens_predicted said */
	int limit;
} Got;

static int on_event(void *ctx, const char *data, size_t len)
{
	Got *g = ctx;
	Chunk c = { 0 };
	g->events++;
	if (g->done)
		return err(ERR_DATA, "an event after the end");
	int rc = remote_chunk(g->api, data, len, &c);
	for (size_t i = 0; !rc && i < c.n && g->n < 64; i++)
		g->ids[g->n++] = c.ids[i];
	for (size_t i = 0; !rc && i < c.ntop && g->ntop < 16; i++) {
		g->top_ids[g->ntop] = c.top_ids[i];
		g->top_lp[g->ntop++] = c.top_lp[i];
	}
	for (size_t i = 0; !rc && i < c.npos && g->npos < 16; i++)
		g->top_n[g->npos++] = c.top_n[i];
	g->done |= c.done;
	g->finished |= c.finished;
	g->decoded = c.decoded ? c.decoded : g->decoded;
	g->limit |= c.limit;
	chunk_free(&c);
	return rc;
}

/* Feed text to a fresh parser in pieces: cuts[] are the piece ends. */
static Got replay(RemoteApi api, const char *text, size_t len, const size_t *cuts, int ncuts)
{
	Got g = { .api = api };
	Sse s;
	sse_init(&s);
	size_t at = 0;
	for (int i = 0; i <= ncuts && !g.rc; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		g.rc = sse_feed(&s, text + at, end - at, on_event, &g);
		at = end;
	}
	if (!g.rc)
		g.rc = sse_finish(&s, on_event, &g);
	sse_free(&s);
	return g;
}

static char *load(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/remote/%s", test_data_dir, name);
	char *buf = NULL;
	if (readall_file(path, &buf, len))
		return NULL;
	return buf;
}

/* A recorded stream replayed whole, its decoding checked to succeed. */
static Got replay_file(RemoteApi api, const char *name)
{
	size_t len;
	char *text = load(name, &len);
	CHECK(text != NULL);
	Got g = replay(api, text ? text : "", text ? len : 0, NULL, 0);
	CHECK_EQ_INT(g.rc, 0);
	free(text);
	return g;
}

/* The whole stream, then every split in two, then 200 random cuttings into
 * up to 8 pieces: the same ids and flags each time. */
static void check_stream(RemoteApi api, const char *name, const int32_t *want, int nwant,
			 int events)
{
	size_t len;
	char *text = load(name, &len);
	CHECK(text != NULL);
	if (!text)
		return;
	Got whole = replay(api, text, len, NULL, 0);
	CHECK_EQ_INT(whole.rc, 0);
	CHECK_EQ_INT(whole.n, nwant);
	for (int i = 0; i < nwant && i < whole.n; i++)
		CHECK_EQ_INT(whole.ids[i], want[i]);
	CHECK(whole.done && whole.finished);
	CHECK_EQ_INT(whole.events, events);
	int bad = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		Got g = replay(api, text, len, &cut, 1);
		bad += g.rc || g.n != nwant || memcmp(g.ids, want, (size_t)nwant * 4) || !g.done ||
		       g.events != events;
	}
	srand(7);
	for (int t = 0; t < 200; t++) {
		size_t cuts[8];
		int n = 1 + rand() % 8;
		for (int i = 0; i < n; i++)
			cuts[i] = (size_t)rand() % (len + 1);
		for (int i = 1; i < n; i++)     /* ascending */
			for (int j = i; j > 0 && cuts[j] < cuts[j - 1]; j--) {
				size_t x = cuts[j];
				cuts[j] = cuts[j - 1], cuts[j - 1] = x;
			}
		Got g = replay(api, text, len, cuts, n);
		bad += g.rc || g.n != nwant || memcmp(g.ids, want, (size_t)nwant * 4) || !g.done;
	}
	CHECK_EQ_INT(bad, 0);
	free(text);
}

TEST(remote_vllm_stream)
{
	check_stream(API_VLLM, "vllm.sse", (const int32_t[]){ 11057, 2134, 94011, 2 }, 4, 5);
}

TEST(remote_vllm_logprobs_stream)
{
	check_stream(API_VLLM_LOGPROBS, "vllm-logprobs.sse", (const int32_t[]){ 8461, 93938 }, 2, 3);
}

TEST(remote_fastdeploy_stream)
{
	check_stream(API_FASTDEPLOY, "fastdeploy.sse", (const int32_t[]){ 36474, 2 }, 2, 4);
}

TEST(remote_llama_stream)
{
	check_stream(API_LLAMA, "llama-server.sse", (const int32_t[]){ 1204, 3157 }, 2, 3);
}

/* llama-server's stream of a sampled answer (seed 5, the tiny model) whose
 * two byte tokens left the text inside a UTF-8 character: no event for
 * them, and tokens_predicted jumps from 4 to 7 */
TEST(remote_llama_lost_ids)
{
	Got g = replay_file(API_LLAMA, "llama-server-gap.sse");
	CHECK_EQ_INT(g.n, 6);
	CHECK_EQ_INT(g.decoded, 8);
	CHECK(g.done && g.finished && g.limit);
}

/* "stream": false, "return_tokens": true: one object with every id */
TEST(remote_llama_whole)
{
	size_t len;
	char *text = load("llama-server-whole.json", &len);
	CHECK(text != NULL);
	Chunk c = { 0 };
	CHECK_EQ_INT(remote_chunk(API_LLAMA, text ? text : "", text ? len : 0, &c), 0);
	CHECK_EQ_INT((int)c.n, 3);
	if (c.n == 3)
		CHECK(c.ids[0] == 896 && c.ids[1] == 9 && c.ids[2] == 620);
	CHECK(c.done && c.finished && c.limit);
	CHECK_EQ_INT((int)c.decoded, 3);
	const char *eos = "{\"tokens\":[2],\"stop\":true,\"tokens_predicted\":1,"
			  "\"stop_type\":\"eos\"}";
	CHECK_EQ_INT(remote_chunk(API_LLAMA, eos, strlen(eos), &c), 0);
	CHECK(c.finished && !c.limit);
	const char *full = "{\"tokens\":[7],\"stop\":true,\"tokens_predicted\":1,"
			   "\"stop_type\":\"limit\",\"truncated\":true}";
	CHECK_EQ_INT(remote_chunk(API_LLAMA, full, strlen(full), &c), 0);
	CHECK(c.finished && !c.limit);
	const char *bad = "{\"tokens\":[],\"stop\":false,\"tokens_predicted\":\"x\"}";
	CHECK_EQ_INT(remote_chunk(API_LLAMA, bad, strlen(bad), &c), ERR_DATA);
	CHECK(strstr(err_msg(), "tokens_predicted: expected an integer"));
	chunk_free(&c);
	free(text);
}

TEST(remote_top_logprobs)
{
	Got g = replay_file(API_VLLM, "vllm-top.sse");
	CHECK_EQ_INT(g.ntop, 3);
	CHECK_EQ_INT(g.top_ids[0], 17);
	CHECK_EQ_INT(g.top_ids[1], 4);
	CHECK_EQ_INT(g.top_ids[2], 99);
	CHECK_NEAR(g.top_lp[1], -1.25, 0);
	g = replay_file(API_LLAMA, "llama-server-probs.sse");
	CHECK_EQ_INT(g.ntop, 3);
	CHECK_EQ_INT(g.top_ids[2], 7);
	CHECK_NEAR(g.top_lp[1], -2.5, 1e-6);
}

/* --all: vLLM's echo gives the prompt's positions (the first null), then
 * the answer's, each with its own number of pairs, in any order. */
TEST(remote_all_positions)
{
	Got g = replay_file(API_VLLM, "vllm-all.sse");
	CHECK_EQ_INT(g.npos, 4);
	const int32_t want_n[] = { 0, 3, 2, 3 };
	for (int i = 0; i < 4 && i < g.npos; i++)
		CHECK_EQ_INT(g.top_n[i], want_n[i]);
	CHECK_EQ_INT(g.ntop, 8);
	CHECK_EQ_INT(g.top_ids[0], 200);
	CHECK_EQ_INT(g.top_ids[4], 9);
	CHECK_NEAR(g.top_lp[4], -1.75, 0);
	CHECK_EQ_INT(g.top_ids[7], 5);
	CHECK(g.done && g.finished);
	Chunk c = { 0 };
	const char *bad = "{\"choices\":[{\"token_ids\":[1],\"logprobs\":{\"top_logprobs\":[null,[1]]}}]}";
	CHECK_EQ_INT(remote_chunk(API_VLLM, bad, strlen(bad), &c), ERR_DATA);
	CHECK(strstr(err_msg(), "top_logprobs[1] is not a map"));
	chunk_free(&c);
}

/* vLLM's refusal of an id past its vocabulary, told from other errors. */
TEST(remote_oov)
{
	long long id = 0;
	CHECK_EQ_INT(remote_oov_id("Token id 103424 is out of vocabulary", &id), 0);
	CHECK_EQ_INT(id, 103424);
	CHECK_EQ_INT(remote_oov_id("token id 7 is out of vocabulary (max 5)", &id), 0);
	CHECK_EQ_INT(id, 7);
	CHECK_EQ_INT(remote_oov_id("Token id 7 is fine", &id), ERR_DATA);
	CHECK_EQ_INT(remote_oov_id("oken id 7 is out of vocabulary", &id), ERR_DATA);
	CHECK_EQ_INT(remote_oov_id("Token id x is out of vocabulary", &id), ERR_DATA);
	CHECK_EQ_INT(remote_oov_id("", &id), ERR_DATA);
}

/* A stream cut before its end leaves done unset (the caller's failure);
 * events split across \r\n, multi-line data, comments. */
TEST(remote_sse_edges)
{
	const char *s = "data: [DO\r\n: c\r\nevent: x\r\ndata\r\n\r\ndata:{\"stop\":true}";
	Got g = { .api = API_LLAMA };
	Sse p;
	sse_init(&p);
	CHECK_EQ_INT(sse_feed(&p, s, strlen(s), on_event, &g), ERR_DATA);  /* "[DO\n" */
	CHECK(strstr(err_msg(), "not a JSON object"));
	sse_free(&p);

	size_t len;
	char *text = load("vllm.sse", &len);
	CHECK(text != NULL);
	if (text) {
		Got cut = replay(API_VLLM, text, len - 16, NULL, 0);   /* no [DONE] */
		CHECK_EQ_INT(cut.rc, 0);
		CHECK(!cut.done);
		free(text);
	}
	g = (Got){ .api = API_LLAMA };
	const char *last = "data: {\"tokens\":[5],\"stop\":true}";   /* no blank line */
	g = replay(API_LLAMA, last, strlen(last), NULL, 0);
	CHECK_EQ_INT(g.rc, 0);
	CHECK(g.done && g.n == 1 && g.ids[0] == 5);
}

TEST(remote_chunk_errors)
{
	Chunk c = { 0 };
#define BAD(api, text, pat) do { \
	CHECK_EQ_INT(remote_chunk(api, text, strlen(text), &c), ERR_DATA); \
	CHECK(strstr(err_msg(), pat)); } while (0)
	BAD(API_VLLM, "<html>", "not a JSON object");
	BAD(API_VLLM, "{\"choices\":[{\"text\":\"a\",\"finish_reason\":null}]}",
	    "no token_ids list (the server ignored return_token_ids)");
	BAD(API_FASTDEPLOY, "{\"choices\":[{\"token_ids\":[1],\"finish_reason\":null}]}",
	    "no completion_token_ids");
	BAD(API_VLLM, "{\"choices\":{}}", "no choices list");
	BAD(API_VLLM, "{\"choices\":[{\"token_ids\":[-1]}]}", "token id -1 out of range");
	BAD(API_VLLM, "{\"choices\":[{\"token_ids\":[2147483648]}]}", "out of range");
	BAD(API_VLLM, "{\"choices\":[{\"token_ids\":[\"x\"]}]}", "token id");
	BAD(API_VLLM_LOGPROBS, "{\"choices\":[{\"logprobs\":{\"tokens\":[\"Hi\"]}}]}",
	    "ignored return_tokens_as_token_ids");
	BAD(API_LLAMA, "{\"content\":\"a\",\"tokens\":[1]}", "no stop");
	BAD(API_LLAMA, "{\"tokens\":7,\"stop\":false}", "tokens is not a list");
	BAD(API_VLLM, "{\"error\":{\"message\":\"out of memory\",\"code\":500}}",
	    "error in the stream: out of memory");
	BAD(API_LLAMA, "{\"error\":{\"code\":500,\"message\":\"slot died\"}}", "slot died");
#undef BAD
	/* a usage-only chunk and a long chunk quoted short */
	CHECK_EQ_INT(remote_chunk(API_VLLM, "{\"choices\":[],\"usage\":{}}", 25, &c), 0);
	CHECK_EQ_INT(c.n, 0);
	char big[400];
	memset(big, 'x', sizeof big);
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + sizeof big - 2, "\"}", 2);
	CHECK_EQ_INT(remote_chunk(API_VLLM, big, sizeof big, &c), ERR_DATA);
	CHECK(strlen(err_msg()) < 200 && strstr(err_msg(), "...'"));
	chunk_free(&c);
}

static void check_body(RemoteApi api, const RemoteRequest *rq, const char *want)
{
	ByteBuf b = { 0 };
	CHECK_EQ_INT(remote_request(api, rq, &b), 0);
	CHECK_EQ_STR(b.s, want);
	bytebuf_free(&b);
}

TEST(remote_request_bodies)
{
	const int32_t prompt[] = { 1, 23, 456 };
	RemoteRequest rq = { .prompt = prompt, .nprompt = 3, .max_tokens = 8, .model = "m\"1" };
	check_body(API_VLLM, &rq, "{\"stream\":true,\"model\":\"m\\\"1\",\"prompt\":[1,23,456],"
		   "\"max_tokens\":8,\"return_token_ids\":true}");
	check_body(API_VLLM_LOGPROBS, &rq, "{\"stream\":true,\"model\":\"m\\\"1\",\"prompt\":[1,23,456],"
		   "\"max_tokens\":8,\"logprobs\":1,\"return_tokens_as_token_ids\":true}");
	check_body(API_FASTDEPLOY, &rq, "{\"stream\":true,\"model\":\"m\\\"1\",\"prompt\":[1,23,456],"
		   "\"max_tokens\":8,\"return_token_ids\":true}");
	rq.max_tokens = -1;
	check_body(API_LLAMA, &rq, "{\"stream\":true,\"prompt\":[1,23,456],\"n_predict\":-1}");
	check_body(API_FASTDEPLOY, &rq, "{\"stream\":true,\"model\":\"m\\\"1\",\"prompt\":[1,23,456],"
		   "\"max_tokens\":null,\"return_token_ids\":true}");

	const int32_t stop_ids[] = { 2 };
	const LogitBias bias[] = { { 5, 1.5 }, { 9, -INFINITY } };
	const char *stop[] = { "\n\n", "END" };
	RemoteRequest all = { .prompt = prompt, .nprompt = 1, .max_tokens = 4,
		.set = REQ_TEMP | REQ_TOP_P | REQ_TOP_K | REQ_MIN_P | REQ_SEED | REQ_REPEAT |
		       REQ_PRESENCE | REQ_FREQUENCY | REQ_BIAS | REQ_STOP | REQ_IGNORE_EOS,
		.temperature = 0, .top_p = 0.5, .top_k = 40, .min_p = 0.25, .seed = 42,
		.repeat_penalty = 1.125, .presence = 0.5, .frequency = -0.5,
		.bias = bias, .nbias = 2, .stop = stop, .nstop = 2,
		.stop_ids = stop_ids, .nstop_ids = 1 };
	check_body(API_LLAMA, &all, "{\"stream\":true,\"prompt\":[1],\"n_predict\":4,"
		   "\"temperature\":0,\"top_p\":0.5,\"top_k\":40,\"min_p\":0.25,\"seed\":42,"
		   "\"repeat_penalty\":1.125,\"presence_penalty\":0.5,\"frequency_penalty\":-0.5,"
		   "\"logit_bias\":[[5,1.5],[9,false]],\"stop\":[\"\\u000a\\u000a\",\"END\"],"
		   "\"ignore_eos\":true}");
	all.set |= REQ_STOP_IDS;
	all.set &= ~(unsigned)REQ_STOP;
	check_body(API_VLLM, &all, "{\"stream\":true,\"prompt\":[1],\"max_tokens\":4,"
		   "\"return_token_ids\":true,"
		   "\"temperature\":0,\"top_p\":0.5,\"top_k\":40,\"min_p\":0.25,\"seed\":42,"
		   "\"repetition_penalty\":1.125,\"presence_penalty\":0.5,\"frequency_penalty\":-0.5,"
		   "\"logit_bias\":{\"5\":1.5,\"9\":-100},\"stop_token_ids\":[2],"
		   "\"ignore_eos\":true}");

	RemoteRequest top = { .prompt = prompt, .nprompt = 3, .max_tokens = 1, .set = REQ_TOP,
			      .top = 5 };
	check_body(API_VLLM, &top, "{\"stream\":true,\"prompt\":[1,23,456],\"max_tokens\":1,"
		   "\"return_token_ids\":true,\"logprobs\":5,\"return_tokens_as_token_ids\":true}");
	check_body(API_LLAMA, &top, "{\"stream\":true,\"prompt\":[1,23,456],\"n_predict\":1,"
		   "\"n_probs\":5}");
	RemoteRequest whole = { .prompt = prompt, .nprompt = 1, .max_tokens = 16, .whole = 1 };
	check_body(API_LLAMA, &whole, "{\"stream\":false,\"return_tokens\":true,\"prompt\":[1],"
		   "\"n_predict\":16}");
	top.set |= REQ_ALL;
	check_body(API_VLLM, &top, "{\"stream\":true,\"prompt\":[1,23,456],\"max_tokens\":1,"
		   "\"return_token_ids\":true,\"logprobs\":5,\"return_tokens_as_token_ids\":true,"
		   "\"echo\":true}");

	/* FastDeploy: min_p, stop_token_ids, and a ban as bad_words_token_ids */
	const LogitBias ban[] = { { 9, -INFINITY }, { 4, -INFINITY } };
	RemoteRequest fd = { .prompt = prompt, .nprompt = 1, .max_tokens = 2,
		.set = REQ_MIN_P | REQ_STOP_IDS | REQ_BIAS, .min_p = 0.125, .bias = ban, .nbias = 2,
		.stop_ids = stop_ids, .nstop_ids = 1 };
	check_body(API_FASTDEPLOY, &fd, "{\"stream\":true,\"prompt\":[1],\"max_tokens\":2,"
		   "\"return_token_ids\":true,\"min_p\":0.125,\"bad_words_token_ids\":[9,4],"
		   "\"stop_token_ids\":[2]}");
	fd.bias = bias;         /* a finite bias is no ban */
	ByteBuf b = { 0 };
	CHECK_EQ_INT(remote_request(API_FASTDEPLOY, &fd, &b), ERR_DATA);
	CHECK(strstr(err_msg(), "only bans"));
	bytebuf_free(&b);
}

/* Options a dialect cannot carry are named, never dropped. */
TEST(remote_unsupported_options)
{
	CHECK(remote_unsupported(API_VLLM, REQ_TEMP | REQ_BIAS | REQ_STOP_IDS | REQ_TOP) == NULL);
	CHECK_EQ_STR(remote_unsupported(API_LLAMA, REQ_TEMP | REQ_STOP_IDS), "--stop-id");
	CHECK_EQ_STR(remote_unsupported(API_VLLM, REQ_REPEAT_LAST_N), "--repeat-last-n");
	CHECK(remote_unsupported(API_FASTDEPLOY, REQ_SEED | REQ_BIAS | REQ_MIN_P | REQ_STOP_IDS) ==
	      NULL);
	CHECK_EQ_STR(remote_unsupported(API_FASTDEPLOY, REQ_BIAS | REQ_BIAS_FINITE),
		     "--logit-bias other than ID=-inf (a ban)");
	CHECK_EQ_STR(remote_unsupported(API_FASTDEPLOY, REQ_IGNORE_EOS), "--ignore-eos");
	CHECK_EQ_STR(remote_unsupported(API_FASTDEPLOY, REQ_TOP), "--top");
	CHECK_EQ_STR(remote_unsupported(API_LLAMA, REQ_TOP | REQ_ALL), "--all");
	CHECK(remote_unsupported(API_VLLM_LOGPROBS, REQ_TOP | REQ_ALL) == NULL);
	const int32_t p[] = { 1 };
	RemoteRequest rq = { .prompt = p, .nprompt = 1, .max_tokens = 1, .set = REQ_STOP_IDS };
	ByteBuf b = { 0 };
	CHECK_EQ_INT(remote_request(API_LLAMA, &rq, &b), ERR_DATA);
	CHECK(strstr(err_msg(), "llama-server cannot carry --stop-id"));
	rq.set = REQ_TEMP;
	rq.temperature = NAN;
	b.len = 0;
	CHECK_EQ_INT(remote_request(API_VLLM, &rq, &b), ERR_DATA);
	bytebuf_free(&b);
	RemoteApi api;
	CHECK_EQ_INT(remote_api_parse("llama-server", &api), 0);
	CHECK_EQ_INT(api, API_LLAMA);
	CHECK_EQ_INT(remote_api_parse("tgi", &api), ERR_DATA);
	CHECK(strstr(err_msg(), "unknown server API 'tgi'"));
}

/* lib/sample's parameters by their Hugging Face names. */
TEST(remote_sampling_names)
{
	RemoteRequest rq = { 0 };
	for (size_t i = 0; i < sample_nparams; i++)
		CHECK_EQ_INT(remote_sampling(&rq, sample_param_specs[i].name, 1), 0);
	CHECK_EQ_INT(rq.set, REQ_TEMP | REQ_TOP_P | REQ_TOP_K | REQ_MIN_P | REQ_REPEAT |
		     REQ_REPEAT_LAST_N | REQ_PRESENCE | REQ_FREQUENCY);
	CHECK_EQ_INT(rq.top_k, 1);
	CHECK_EQ_INT(remote_sampling(&rq, "typical_p", 1), ERR_DATA);
}

TEST(remote_models_list)
{
	RemoteInfo info;
	const char *vllm = "{\"object\":\"list\",\"data\":[{\"id\":\"baidu/ERNIE-4.5-300B-A47B-PT\","
			   "\"object\":\"model\",\"created\":1,\"owned_by\":\"vllm\",\"root\":\"x\","
			   "\"parent\":null,\"max_model_len\":131072,\"permission\":[]}]}";
	CHECK_EQ_INT(remote_models(vllm, strlen(vllm), &info), 0);
	CHECK_EQ_INT(info.nmodels, 1);
	CHECK_EQ_STR(info.model, "baidu/ERNIE-4.5-300B-A47B-PT");
	CHECK_EQ_INT(info.api, API_VLLM);
	CHECK_EQ_INT(info.ctx, 131072);
	CHECK_EQ_INT(info.vocab, 0);
	remote_info_free(&info);
	const char *llama = "{\"models\":[{\"name\":\"t.gguf\"}],\"object\":\"list\",\"data\":[{\"id\":"
			    "\"t.gguf\",\"object\":\"model\",\"created\":1,\"owned_by\":\"llamacpp\","
			    "\"meta\":{\"vocab_type\":1,\"n_vocab\":103424,\"n_ctx_train\":4096}}]}";
	CHECK_EQ_INT(remote_models(llama, strlen(llama), &info), 0);
	CHECK_EQ_INT(info.api, API_LLAMA);
	CHECK_EQ_INT(info.vocab, 103424);
	CHECK_EQ_INT(info.ctx, 4096);
	remote_info_free(&info);
	CHECK_EQ_INT(remote_models("{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", 32, &info), 0);
	CHECK_EQ_INT(info.nmodels, 2);
	CHECK_EQ_INT(info.api, API_AUTO);
	remote_info_free(&info);
	CHECK_EQ_INT(remote_models("<html>", 6, &info), ERR_DATA);
	CHECK_EQ_INT(remote_models("{\"x\":1}", 7, &info), ERR_DATA);
	CHECK(strstr(err_msg(), "no data list"));
}

TEST(remote_error_messages)
{
	char m[64];
	const char *openai = "{\"object\":\"error\",\"message\":\"This model's maximum context length "
			     "is 8 tokens\",\"type\":\"BadRequestError\",\"code\":400}";
	remote_error_text(openai, strlen(openai), m, sizeof m);
	CHECK_EQ_STR(m, "This model's maximum context length is 8 tokens");
	const char *llama = "{\"error\":{\"code\":400,\"message\":\"invalid token\",\"type\":"
			    "\"invalid_request_error\"}}";
	remote_error_text(llama, strlen(llama), m, sizeof m);
	CHECK_EQ_STR(m, "invalid token");
	remote_error_text("Internal Server Error\nmore", 26, m, sizeof m);
	CHECK_EQ_STR(m, "Internal Server Error");
	const char *fastapi = "{\"detail\":\"Not Found\"}";
	remote_error_text(fastapi, strlen(fastapi), m, sizeof m);
	CHECK_EQ_STR(m, "Not Found");
	remote_error_text("", 0, m, sizeof m);
	CHECK_EQ_STR(m, "");
}
