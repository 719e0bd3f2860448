/* ernie-run: token stream in, logit stream out, through an ERNIE 4.5 model.
 * See man/ernie-run.1. This file is the command: options, loading, I/O and
 * exit codes; the modes themselves (logits, --logprobs, -n answers) are
 * lib/model/runner.c. */
#include "cli.h"
#include "sample_opts.h"
#include "base/err.h"
#include "model/gguf_vocab.h"
#include "kernels/kv.h"
#include "model/model.h"
#include "model/runner.h"
#include "model/sampler_proc.h"
#include "prompt/thinking.h"
#include "remote/client.h"
#include "stream/stream.h"
#include "text/tokenizer.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

enum {
	OPT_VERSION = 256, OPT_PRECISION, OPT_ISA, OPT_INFO, OPT_TOP,
	OPT_SAMPLER, OPT_SAMPLER_TIMEOUT, OPT_STOP, OPT_STOP_ID, OPT_IGNORE_EOS, OPT_LOGPROBS,
	OPT_CACHE_K, OPT_CACHE_V, OPT_PROMPT_CACHE, OPT_PROMPT_CACHE_RO,
	OPT_SERVER, OPT_API_KEY, OPT_SERVER_MODEL, OPT_SERVER_API, OPT_TIMEOUT, OPT_CACERT,
};

#define MAX_STOPS 64            /* --stop and --stop-id, each */

/* ernie-run's own options; the sampling options (sample_opts.h) are added
 * to them. A new option is a row here, a field in Options and a case in
 * parse_options(). */
static const struct option run_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "threads", required_argument, NULL, 't' },
	{ "ctx", required_argument, NULL, 'c' },
	{ "ctx-size", required_argument, NULL, 'c' },
	{ "all", no_argument, NULL, 'a' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "logprobs", no_argument, NULL, OPT_LOGPROBS },
	{ "precision", required_argument, NULL, OPT_PRECISION },
	{ "isa", required_argument, NULL, OPT_ISA },
	{ "info", no_argument, NULL, OPT_INFO },
	{ "cache-type-k", required_argument, NULL, OPT_CACHE_K },
	{ "cache-type-v", required_argument, NULL, OPT_CACHE_V },
	{ "prompt-cache", required_argument, NULL, OPT_PROMPT_CACHE },
	{ "prompt-cache-ro", no_argument, NULL, OPT_PROMPT_CACHE_RO },
	{ "force", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "predict", required_argument, NULL, 'n' },
	{ "n-predict", required_argument, NULL, 'n' },
	{ "max-tokens", required_argument, NULL, 'n' },
	{ "max_tokens", required_argument, NULL, 'n' },
	{ "binary", no_argument, NULL, 'b' },
	{ "sampler", required_argument, NULL, OPT_SAMPLER },
	{ "sampler-timeout", required_argument, NULL, OPT_SAMPLER_TIMEOUT },
	{ "stop", required_argument, NULL, OPT_STOP },
	{ "stop-id", required_argument, NULL, OPT_STOP_ID },
	{ "ignore-eos", no_argument, NULL, OPT_IGNORE_EOS },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "api-key", required_argument, NULL, OPT_API_KEY },
	{ "server-model", required_argument, NULL, OPT_SERVER_MODEL },
	{ "server-api", required_argument, NULL, OPT_SERVER_API },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "parallel", required_argument, NULL, 'P' },
};
#define NRUN_OPTS (sizeof run_opts / sizeof run_opts[0])

typedef struct {
	const char *model;      /* -m, or $ERNIE_MODEL */
	long threads;           /* 0: the machine's cores */
	long ctx;               /* 0: the model's maximum */
	const char *ctx_arg, *top_arg;  /* as given, for messages */
	int all;                /* a frame for every position */
	long top;               /* ETOP frames of this many logits; 0: ELOG */
	int logprobs;           /* --logprobs: text lines of log p(token) */
	int prec;               /* Precision flags */
	Isa isa;
	int info, force, verbose;
	WType cache[2];         /* --cache-type-k, --cache-type-v */
	const char *prompt_cache; /* --prompt-cache FILE */
	int prompt_cache_ro;    /* --prompt-cache-ro */
	/* generate mode */
	long predict;           /* -n: ids to generate per prompt, -1: no limit; 0: filter mode */
	int binary;             /* -b: generated ids as ETOK frames */
	const char *sampler;    /* --sampler CMD, run by sh -c */
	double sampler_timeout; /* seconds per id; 0: none */
	SampleOpts so;          /* the in-process sampler's options */
	char *stops[MAX_STOPS]; /* --stop */
	int nstops;
	int32_t stop_ids[MAX_STOPS]; /* --stop-id */
	int nstop_ids;
	int ignore_eos;
	/* --server: a serving engine instead of -m */
	const char *server;     /* URL, or $ERNIE_SERVER */
	const char *api_key;    /* or $ERNIE_API_KEY */
	const char *server_model;
	RemoteApi server_api;   /* API_AUTO: asked */
	double timeout;         /* seconds; 0: none */
	const char *cacert;     /* https: a private CA's PEM file */
	long parallel;          /* -P: requests in flight */
} Options;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] < tokens > logits\n"
		"Run an ERNIE 4.5 model over a token stream: each token record is appended to\n"
		"the sequence and the next-token logits are written as an ELOG frame; an empty\n"
		"record starts a new sequence.\n"
		"  -m, --model DIR|FILE  model directory, or a GGUF file (default: $ERNIE_MODEL)\n"
		"  -a, --all             one frame per position of each record, not just the last\n"
		"      --top K           ETOP frames with the K largest logits instead of ELOG\n"
		"      --logprobs        instead of frames, a text line per record: the natural\n"
		"                        log-probability of each of its tokens given those\n"
		"                        before it (for scoring)\n"
		"  -c, --ctx N           context limit in tokens; 0 = the model's maximum\n"
		"                        (the default; alias --ctx-size)\n"
		"  -t, --threads N       threads (default: $OPENBLAS_NUM_THREADS, else the\n"
		"                        machine's cores)\n"
		"      --precision P     f32 (exact products), or a comma-separated set of:\n"
		"                        bf16 (a prompt's MLP products by bf16 weights in\n"
		"                        bf16), bf16-all (all its bf16 products) and q8\n"
		"                        (products by quantised weights in decoding and\n"
		"                        records of up to 95 tokens on activations rounded\n"
		"                        to 8 bits); default: bf16 where the CPU has\n"
		"                        AVX512-BF16, q8 where it has AVX2\n"
		"      --isa NAME        auto, portable, avx2, avx512 or avx512bf16 (default: auto)\n"
		"  -ctk, --cache-type-k T, -ctv, --cache-type-v T\n"
		"                        store keys, values as T: f32 (default), f16, bf16\n"
		"                        or q8_0\n"
		"      --prompt-cache FILE  reuse the longest common prefix of each prompt\n"
		"                        with the one cached in FILE, if any, and save each\n"
		"                        prompt's state there after its prefill\n"
		"      --prompt-cache-ro use the --prompt-cache FILE, never write it\n"
		"      --info            describe the model and what a run costs, then exit\n"
		"  -f, --force           write binary frames even to a terminal\n"
		"  -v, --verbose         timing lines on stderr at the end\n"
		"  -h, --help            this help\n"
		"      --version         print the version\n"
		"Generation (each input sequence is a prompt; the answer's ids are written\n"
		"one by one as a record, then an empty record):\n"
		"  -n, --predict N       generate up to N ids per prompt; -1 = until an end id\n"
		"                        or the context limit (aliases --n-predict, --max-tokens)\n"
		"      --stop STR        end the answer where its text contains STR (repeatable)\n"
		"      --stop-id ID      end the answer at id ID (repeatable); the model's eos\n"
		"                        ids and <|end_of_sentence|> always end it...\n"
		"      --ignore-eos      ...unless this is given\n"
		"  -b, --binary          write the ids as ETOK frames\n"
		"      --sampler CMD     an outside sampler (run by sh -c) instead of the\n"
		"                        options below: ELOG frames out, one id back per frame\n"
		"      --sampler-timeout S  fail when it takes more than S seconds for an id\n"
		"Serving engine (vLLM, FastDeploy, llama-server) instead of -m:\n"
		"      --server URL      send the ids there (default: $ERNIE_SERVER); needs -n N,\n"
		"                        or --top K for top-K log-probabilities (with --all,\n"
		"                        of every position: vLLM only)\n"
		"      --api-key KEY     sent as a Bearer token (default: $ERNIE_API_KEY)\n"
		"      --server-model M  the model to ask for (default: the server's only one)\n"
		"      --server-api API  vllm, vllm-logprobs, fastdeploy or llama-server\n"
		"                        (default: asked of the server)\n"
		"      --timeout S       fail when the server is silent for S seconds\n"
		"      --cacert FILE     https: trust the CA certificates in FILE (PEM), as\n"
		"                        curl does (default: $CURL_CA_BUNDLE, $SSL_CERT_FILE,\n"
		"                        else the system's)\n"
		"  -P, --parallel N      up to N sequences in flight, answers in input order\n"
		"Sampling, in this process (defaults from DIR/generation_config.json):\n",
		cli_prog());
	sample_opts_usage(f);
}

/* A whole decimal number in [lo, hi] into *v, else -1. */
static int parse_num(const char *s, long lo, long hi, long *v)
{
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (!*s || *end || errno || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* A number of seconds, > 0 and at most a year. */
static int parse_seconds(const char *s, double *v)
{
	char *end;
	double x = strtod(s, &end);
	if (!*s || *end || isspace((unsigned char)*s) || !(x > 0 && x <= 365 * 86400.0))
		return -1;
	*v = x;
	return 0;
}

static int pick(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* --precision's words, for the flags 1 << i of Precision */
static const char *const precs[] = { "bf16", "bf16-all", "q8" };

/* --precision LIST: f32, or a comma-separated set of precs; -1 if not */
static int parse_precision(const char *s, int *prec)
{
	*prec = PREC_F32;
	if (!strcmp(s, "f32"))
		return 0;
	for (size_t n; *s; s += n + (s[n] == ',')) {
		int i = 0;
		n = strcspn(s, ",");
		while (i < 3 && (strlen(precs[i]) != n || strncmp(s, precs[i], n)))
			i++;
		if (i == 3 || (s[n] == ',' && !s[n + 1]))
			return -1;
		*prec |= 1 << i;
	}
	return *prec ? 0 : -1;
}

/* The flags as --precision would take them: "f32", "bf16,q8" ... */
static const char *precision_name(int prec, char buf[32])
{
	buf[0] = 0;
	for (int i = 0; i < 3; i++)
		if (prec & 1 << i)
			strcat(strcat(buf, *buf ? "," : ""), precs[i]);
	return *buf ? buf : "f32";
}

/* --cache-type-k (v 0) or --cache-type-v (v 1) */
static int cache_type(Options *o, int v, const char *name)
{
	for (int t = 0; t < WT_COUNT; t++)
		if (!strcmp(name, wtype_info[t].name) && kv_type_ok((WType)t) == 0) {
			o->cache[v] = (WType)t;
			return 0;
		}
	return cli_usage_error("--cache-type-%c: expected %s, not '%s'", v ? 'v' : 'k',
			       KV_TYPE_NAMES, name);
}

/* -t N, or $OPENBLAS_NUM_THREADS, within the same limits. */
static int parse_threads(const char *what, const char *arg, long *threads)
{
	if (parse_num(arg, 1, 4096, threads))
		return cli_usage_error("%s: expected a number of threads 1..4096, not '%s'", what, arg);
	return 0;
}

/* --server: what the engine does instead of the model and the kernels. */
static int check_server_options(Options *o)
{
	if (!*o->server)
		return cli_usage_error("--server: the URL is empty");
	if (o->model || o->logprobs || o->info || o->sampler || o->threads || o->ctx ||
	    o->prec != PREC_AUTO || o->isa)
		return cli_usage_error("--server runs the model on the server: -m, --logprobs, "
				       "--info, --sampler, -t, -c, --precision and --isa do not apply");
	if (!o->predict && !o->top)
		return cli_usage_error("--server gives generated ids (-n N) or top-K "
				       "log-probabilities (--top K), not whole logits");
	if (o->predict && o->top)
		return cli_usage_error("-n generates ids: --top K is for logit frames "
				       "(did you mean --top-k %s?)", o->top_arg);
	if (o->predict && o->all)
		return cli_usage_error("-n generates ids: --all is for logits");
	if (!o->predict && (o->binary || o->so.given || o->nstops || o->nstop_ids || o->ignore_eos))
		return cli_usage_error("generation options need -n N");
	if (!o->api_key && getenv("ERNIE_API_KEY") && *getenv("ERNIE_API_KEY"))
		o->api_key = getenv("ERNIE_API_KEY");
	if (o->cacert && !*o->cacert)
		return cli_usage_error("--cacert: the file name is empty");
	if (!o->parallel)
		o->parallel = 1;
	return 0;
}

/* Settings that only make sense together, and the environment. */
static int check_options(Options *o)
{
	const char *env = getenv("OPENBLAS_NUM_THREADS");
	if (!o->server && !o->model && getenv("ERNIE_SERVER") && *getenv("ERNIE_SERVER"))
		o->server = getenv("ERNIE_SERVER");
	if (o->server)
		return check_server_options(o);
	if (o->api_key || o->server_model || o->server_api || o->timeout || o->parallel || o->cacert)
		return cli_usage_error("--api-key, --server-model, --server-api, --timeout, --cacert "
				       "and -P go with --server URL");
	o->model = cli_model(o->model);
	if (!o->model || !*o->model)
		return cli_usage_error("no model: give -m DIR or set ERNIE_MODEL");
	if (!o->threads && env && *env && parse_threads("OPENBLAS_NUM_THREADS", env, &o->threads))
		return ERR_USAGE;
	if (!o->predict && (o->binary || o->sampler || o->so.given || o->nstops || o->nstop_ids ||
			    o->ignore_eos || o->sampler_timeout))
		return cli_usage_error("generation options need -n N");
	if (o->predict && o->top)
		return cli_usage_error("-n generates ids: --top K is for logit frames "
				       "(did you mean --top-k %s?)", o->top_arg);
	if (o->predict && (o->all || o->logprobs))
		return cli_usage_error("-n generates ids: %s is for logits",
				       o->all ? "--all" : "--logprobs");
	if (o->logprobs && o->top)
		return cli_usage_error("--logprobs writes log-probabilities, not --top frames");
	if (o->sampler && o->so.given)
		return cli_usage_error("sampling options go to the --sampler command itself");
	if (o->sampler_timeout && !o->sampler)
		return cli_usage_error("--sampler-timeout is for an outside --sampler");
	if (o->prompt_cache_ro && !o->prompt_cache)
		return cli_usage_error("--prompt-cache-ro needs --prompt-cache FILE");
	if (o->prompt_cache && (o->all || o->logprobs))
		return cli_usage_error("--prompt-cache: %s wants every position, cached ones too",
				       o->all ? "--all" : "--logprobs");
	return 0;
}

static int parse_options(Options *o, int argc, char **argv)
{
	static const char *const isas[] = { "auto", "portable", "avx2", "avx512", "avx512bf16" };
	struct option longopts[NRUN_OPTS + SAMPLE_OPTS_MAX + 1];
	memcpy(longopts, run_opts, sizeof run_opts);
	longopts[NRUN_OPTS + sample_opts_longopts(longopts + NRUN_OPTS)] = (struct option){ 0 };
	o->prec = PREC_AUTO;
	o->cache[0] = o->cache[1] = MODEL_CACHE_TYPE;
	int c, k, longi;
	long v;
	opterr = 0;             /* our own one-line messages */
	while (longi = -1, (c = getopt_long(argc, argv, ":m:t:c:afvhn:bs:P:", longopts, &longi)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'a': o->all = 1; break;
		case OPT_LOGPROBS: o->logprobs = 1; break;
		case 'f': o->force = 1; break;
		case 'v': o->verbose = 1; break;
		case 'b': o->binary = 1; break;
		case OPT_INFO: o->info = 1; break;
		case OPT_SAMPLER: o->sampler = optarg; break;
		case OPT_IGNORE_EOS: o->ignore_eos = 1; break;
		case 'n':
			if (parse_num(optarg, -1, INT_MAX / 2, &o->predict) || !o->predict)
				return cli_usage_error("-n: expected a positive number of tokens or -1, "
						       "not '%s'", optarg);
			break;
		case 't':
			if (parse_threads("-t", optarg, &o->threads))
				return ERR_USAGE;
			break;
		case 'c':
			/* -ctk T and -ctv T, llama.cpp's short forms, read by
			 * getopt as -c with "tk" or "tv" attached */
			if (!strcmp(argv[optind - 1], "-ctk") || !strcmp(argv[optind - 1], "-ctv")) {
				if (optind == argc)
					return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
				if ((k = cache_type(o, argv[optind - 1][3] == 'v', argv[optind])))
					return k;
				optind++;
				break;
			}
			if (parse_num(optarg, 0, 1L << 30, &o->ctx))
				return cli_usage_error("-c: expected a number of tokens (0: the model's "
						       "maximum), not '%s'", optarg);
			o->ctx_arg = optarg;
			break;
		case OPT_TOP:
			if (parse_num(optarg, 1, STREAM_MAX_COUNT, &o->top))
				return cli_usage_error("--top: expected a positive count, not '%s'", optarg);
			o->top_arg = optarg;
			break;
		case OPT_SAMPLER_TIMEOUT:
			if (parse_seconds(optarg, &o->sampler_timeout))
				return cli_usage_error("--sampler-timeout: expected a number of seconds "
						       "> 0, not '%s'", optarg);
			break;
		case OPT_STOP:
			if (!*optarg)
				return cli_usage_error("--stop: the string is empty");
			if (o->nstops == MAX_STOPS)
				return cli_usage_error("--stop: more than %d", MAX_STOPS);
			o->stops[o->nstops++] = optarg;
			break;
		case OPT_STOP_ID:
			if (o->nstop_ids == MAX_STOPS)
				return cli_usage_error("--stop-id: more than %d", MAX_STOPS);
			if (parse_num(optarg, 0, INT32_MAX, &v))
				return cli_usage_error("--stop-id: expected a token id, not '%s'", optarg);
			o->stop_ids[o->nstop_ids++] = (int32_t)v;
			break;
		case OPT_SERVER: o->server = optarg; break;
		case OPT_API_KEY: o->api_key = optarg; break;
		case OPT_SERVER_MODEL: o->server_model = optarg; break;
		case OPT_SERVER_API:
			if (remote_api_parse(optarg, &o->server_api))
				return cli_usage_error("--server-api: %s", err_msg());
			break;
		case OPT_CACERT: o->cacert = optarg; break;
		case OPT_TIMEOUT:
			if (parse_seconds(optarg, &o->timeout))
				return cli_usage_error("--timeout: expected a number of seconds > 0, "
						       "not '%s'", optarg);
			break;
		case 'P':
			if (parse_num(optarg, 1, 1024, &o->parallel))
				return cli_usage_error("-P: expected 1..1024 sequences in flight, not '%s'",
						       optarg);
			break;
		case OPT_PRECISION:
			if (parse_precision(optarg, &o->prec))
				return cli_usage_error("--precision: expected f32, or any of bf16 or "
						       "bf16-all, and q8, joined by commas; not '%s'",
						       optarg);
			break;
		case OPT_CACHE_K:
		case OPT_CACHE_V:
			if ((k = cache_type(o, c == OPT_CACHE_V, optarg)))
				return k;
			break;
		case OPT_PROMPT_CACHE: o->prompt_cache = optarg; break;
		case OPT_PROMPT_CACHE_RO: o->prompt_cache_ro = 1; break;
		case OPT_ISA:
			if ((k = pick(optarg, isas, 5)) < 0)
				return cli_usage_error("--isa: unknown instruction set '%s'", optarg);
			o->isa = (Isa)k;
			break;
		case 'h': usage(stdout); return CLI_DONE;
		case OPT_VERSION: return cli_version();
		case ':': return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?': return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			if ((k = sample_opts_take(&o->so, c, longi >= 0 ? longopts[longi].name : NULL,
						  optarg)))
				return k;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return check_options(o);
}

/* Settings that need the model to be checked. */
static int check_against_model(const Options *o, const Model *m)
{
	if (o->ctx > m->cfg.max_pos)
		return cli_usage_error("-c %s: the model's maximum context is %d tokens", o->ctx_arg,
				       m->cfg.max_pos);
	if (o->top > m->cfg.vocab)
		return cli_usage_error("--top %s: the vocabulary has only %d tokens", o->top_arg,
				       m->cfg.vocab);
	for (int v = 0; v < 2; v++)
		if (model_cache_type_ok(m, o->cache[v]))
			return cli_usage_error("--cache-type-%c: %s", v ? 'v' : 'k', err_msg());
	return 0;
}

/* ---- --info ------------------------------------------------------------- */

static void print_size(FILE *f, const char *label, double bytes)
{
	const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	double v = bytes;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	fprintf(f, "%-22s %.1f %s (%.0f bytes)\n", label, v, units[u], bytes);
}

/* "1-3, 5" */
static void print_moe_layers(FILE *f, const Model *m)
{
	int L = m->cfg.layers, first = 1;
	for (int i = 0; i < L; i++) {
		if (!m->w.layers[i].moe)
			continue;
		int j = i;
		while (j + 1 < L && m->w.layers[j + 1].moe)
			j++;
		fprintf(f, first ? " %d" : ", %d", i);
		if (j > i)
			fprintf(f, "-%d", j);
		first = 0;
		i = j;
	}
}

static void info(const Model *m, const char *dir, const Options *o)
{
	const Config *c = &m->cfg;
	long ctx = o->ctx ? o->ctx : c->max_pos;
	RunMemory mem;
	runner_memory(m, o->threads ? (int)o->threads : 1, ctx, o->all || o->logprobs, o->cache[0],
		      o->cache[1], &mem);

	printf("%-22s %s\n", "model", dir);
	printf("%-22s %s, %d layers\n", "type", c->moe ? "MoE (ernie4_5_moe)" : "dense (ernie4_5)",
	       c->layers);
	if (c->moe) {
		printf("%-22s", "MoE layers");
		print_moe_layers(stdout, m);
		printf("\n%-22s %d routed of width %d, top %d; shared MLP width %d\n", "experts",
		       c->experts, c->moe_inter, c->top_k, m->shared_width);
	}
	printf("%-22s hidden %d, MLP %d, %d heads (%d KV) of %d, vocabulary %d\n", "sizes",
	       c->hidden, c->inter, c->heads, c->kv_heads, c->head_dim, c->vocab);
	printf("%-22s bos %d, eos", "special ids", c->bos);
	for (int i = 0; i < c->n_eos; i++)
		printf(" %d", c->eos[i]);
	printf("\n%-22s %s, rope theta %g, max context %d\n", "output head",
	       m->tied ? "tied to the embedding" : "lm_head.weight", c->rope_theta, c->max_pos);
	printf("%-22s %" PRIu64 " total, %" PRIu64 " active per token\n", "parameters", m->params,
	       m->active);
	printf("%-22s %" PRIu64 " bytes in %d file(s), %zu mtp tensors skipped\n", "weights",
	       m->tensors.bytes, m->tensors.nfiles, m->tensors.skipped);
	char types[256];
	model_weight_types(m, types, sizeof types);
	printf("%-22s %s\n", "weight types", types);
	print_size(stdout, "mapped (read-only)", (double)mem.mapped);
	printf("%-22s keys %s, values %s\n", "KV cache types", wtype_info[o->cache[0]].name,
	       wtype_info[o->cache[1]].name);
	print_size(stdout, "KV cache per token", (double)mem.kv_token);
	char label[64];
	snprintf(label, sizeof label, "KV cache at -c %ld", ctx);
	print_size(stdout, label, (double)mem.kv);
	print_size(stdout, "scratch", (double)mem.scratch);
	snprintf(label, sizeof label, "memory at -c %ld", ctx);
	print_size(stdout, label, (double)mem.total);
}

/* ---- loading, with a progress bar on a terminal ------------------------- */

static void progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	int width = 40, fill = total ? (int)(done * (uint64_t)width / total) : width;
	fprintf(stderr, "\r%s: loading [%.*s%*s] %3d%%", cli_prog(), fill,
		"########################################", width - fill, "",
		total ? (int)(done * 100 / total) : 100);
	if (done == total)
		fputs("\r\033[K", stderr);
}

static int load(Model **m, const Options *o)
{
	int rc = model_load(m, o->model);
	if (rc || o->info)
		return rc;
	/* Map the weights' pages now, in one pass, rather than one fault at a
	 * time during the first tokens, when they fit in memory. */
	int tty = isatty(STDERR_FILENO);
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	RunMemory mem;
	runner_memory(*m, 1, 0, 0, MODEL_CACHE_TYPE, MODEL_CACHE_TYPE, &mem);
	if (mem.mapped < ram / 2)
		tensors_prefetch(&(*m)->tensors,
				 o->threads > 0 ? (int)o->threads : compute_default_threads(),
				 tty ? progress : NULL, NULL);
	if (!tty)
		return 0;
	const Config *c = &(*m)->cfg;
	fprintf(stderr, "%s: %s: %s, %d layers, %.3g B parameters (%.3g B active)\n", cli_prog(),
		o->model, c->moe ? "MoE" : "dense", c->layers, (double)(*m)->params / 1e9,
		(double)(*m)->active / 1e9);
	return 0;
}

/* ---- running ------------------------------------------------------------ */

/* A model directory without tokenizer.model at all. */
static int tok_absent(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "%s/tokenizer.model", dir);
	return lstat(path, &st) && errno == ENOENT;
}

/* A Thinking model's answer cut at -n before the end of its turn. */
static void warn_thinking_cut(int max_tokens)
{
	fprintf(stderr, "%s: warning: the answer stopped at -n %d tokens, before the end of the "
		"turn (a Thinking model reasons at length: raise -n)\n", cli_prog(), max_tokens);
}

static void warn_context_full(int limit)
{
	fprintf(stderr, "%s: warning: the answer stopped at the context limit of %d tokens "
		"(raise it with -c N)\n", cli_prog(), limit);
}

/* -n: the answers, with the sampler of this process or --sampler CMD. */
static int answers(Runner *r, Options *o, StreamReader *rd)
{
	StreamWriter w;
	Tokenizer *t = NULL;
	Sampler *s = NULL;
	SamplerProc sp;
	SampleParams p = { 0 };
	Picker pk;
	int32_t ids[MAX_STOPS + CONFIG_MAX_EOS + PROMPT_MAX_END_IDS], ends[PROMPT_MAX_END_IDS];
	int thinking = 0;
	int rc = cli_binary_out(o->binary, o->force);
	if (rc)
		return rc;
	/* the tokenizer names the template's ends of a turn and decodes for
	 * --stop; a model without one generates all the same, unless --stop
	 * needs it */
	if ((rc = tokenizer_open(&t, o->model)) && (o->nstops || !tok_absent(o->model)))
		return err_prefix(rc, "%s", o->nstops ? "--stop needs the model's tokenizer" :
				  "the model's tokenizer");
	PromptModel pm;
	if (t && (rc = prompt_model_open(&pm, o->model))) {
		tok_free(t);
		return err_prefix(rc, "the model's chat template");
	}
	int nends = t ? prompt_end_ids(&pm, t, ends) : 0;
	if (t) {
		thinking = pm.thinking;
		prompt_model_free(&pm);
	}
	r->at_max = thinking ? warn_thinking_cut : NULL;
	stream_writer_init(&w, STDOUT_FILENO, "<stdout>", o->binary);
	GenParams g = {
		.max_tokens = (int)o->predict, .stop_ids = ids,
		.nstop_ids = gen_stop_ids(r->m, ends, nends, o->stop_ids, o->nstop_ids,
					  o->ignore_eos, ids),
		.stops = o->stops, .nstops = o->nstops, .tok = t, .nids = t ? t->nids : 0,
	};
	if (o->sampler) {
		if ((rc = sampler_proc_start(&sp, o->sampler, o->sampler_timeout)) == 0) {
			pk = picker_proc(&sp);
			rc = sampler_proc_close(&sp, run_answers(r, rd, &w, &pk, &g));
		}
	} else {
		if (!(rc = sample_opts_settle(&o->so, o->model, &p)) && !(rc = sampler_new(&s, &p))) {
			if (o->verbose)
				sample_opts_print(&p);
			pk = picker_sampler(s);
			rc = run_answers(r, rd, &w, &pk, &g);
		}
	}
	int rc2 = stream_writer_close(&w);
	sampler_free(s);
	sample_params_free(&p);
	tok_free(t);
	return rc ? rc : rc2;
}

static void print_stat(const char *what, const RunStat *s)
{
	fprintf(stderr, "%s: %" PRIu64 " tokens, %.2f ms, %.2f tok/s\n", what, s->tokens, s->ms,
		s->ms > 0 ? (double)s->tokens * 1e3 / s->ms : 0.0);
}

static int run(Options *o, Model *m)
{
	Compute *c = NULL;
	Runner r = { 0 };
	StreamReader *rd = NULL;
	StreamWriter w;
	int rc = compute_new(&c, (int)o->threads, o->prec, o->isa);
	if (rc == ERR_DATA)
		rc = ERR_USAGE;         /* --isa or --precision that this CPU cannot do */
	if (!rc)
		rc = runner_new(&r, m, c, (int)o->ctx, o->all || o->logprobs);
	if (!rc)
		rc = runner_cache_types(&r, o->cache[0], o->cache[1]);
	if (!rc && o->prompt_cache)
		rc = runner_prompt_cache(&r, o->prompt_cache, o->prompt_cache_ro);
	if (!rc && !(rd = stream_reader_new(STDIN_FILENO, "<stdin>", NULL)))
		rc = err(ERR_IO, "out of memory");
	if (rc)
		;
	else if (o->predict) {
		r.context_full = warn_context_full;
		rc = answers(&r, o, rd);
	}
	else if (o->logprobs)
		rc = run_logprobs(&r, rd, stdout, "<stdout>");
	else if (!(rc = cli_binary_out(1, o->force))) {
		stream_writer_init(&w, STDOUT_FILENO, "<stdout>", 1);
		rc = run_logits(&r, rd, &w, o->all, (uint32_t)o->top);
		int rc2 = stream_writer_close(&w);
		rc = rc ? rc : rc2;
	}
	char buf[32];
	if (o->verbose && c)
		fprintf(stderr, "compute: %d threads, %s kernels, %s precision\n",
			compute_threads(c), compute_isa_name(c),
			precision_name(compute_precision(c), buf));
	if (o->verbose) {
		print_stat("prompt eval", &r.prompt);
		print_stat("eval", &r.eval);
		if (o->prompt_cache)
			fprintf(stderr, "prompt cache: %" PRIu64 " tokens reused (%d in %s)\n",
				r.reused, r.pc.n, o->prompt_cache);
	}
	stream_reader_free(rd);
	runner_free(&r);
	compute_free(c);
	return rc;
}

/* ---- --server ----------------------------------------------------------- */

/* The sampling options, generation limits and stops as a request's. */
static int server_request(const Options *o, RemoteClient *c)
{
	RemoteRequest *rq = &c->rq;
	for (size_t i = 0; i < sample_nparams; i++)
		if (o->so.set & 1u << i) {
			const SampleParamSpec *sp = &sample_param_specs[i];
			const char *v = (const char *)&o->so.over + sp->off;
			remote_sampling(rq, sp->name, sp->integer ? *(const int32_t *)v : *(const double *)v);
		}
	if (o->so.seeded) {
		rq->seed = o->so.over.seed;
		rq->set |= REQ_SEED;
	}
	rq->bias = o->so.over.bias;
	rq->nbias = o->so.over.nbias;
	for (size_t i = 0; i < rq->nbias; i++)
		if (rq->bias[i].bias != -INFINITY)
			rq->set |= REQ_BIAS_FINITE;
	rq->set |= (rq->nbias ? REQ_BIAS : 0) | (o->nstops ? REQ_STOP : 0) |
		   (o->nstop_ids ? REQ_STOP_IDS : 0) | (o->ignore_eos ? REQ_IGNORE_EOS : 0) |
		   (o->top ? REQ_TOP : 0) | (o->all ? REQ_ALL : 0);
	rq->max_tokens = o->predict;
	rq->stop = (const char *const *)o->stops;
	rq->nstop = (size_t)o->nstops;
	rq->stop_ids = o->stop_ids;
	rq->nstop_ids = (size_t)o->nstop_ids;
	rq->top = (int)o->top;
	const char *opt = remote_unsupported(c->api, rq->set);
	if (opt)
		return cli_usage_error("%s: the %s server does not take it", opt,
				       remote_api_name(c->api));
	return 0;
}

static int run_server(const Options *o)
{
	RemoteClient c = {
		.server = { .api_key = o->api_key, .timeout = o->timeout },
		.api = o->server_api, .model = o->server_model, .parallel = (int)o->parallel,
		.top = o->predict ? 0 : (int)o->top, .all = o->all,
	};
	/* a private CA as the curl tool finds it: --cacert, $CURL_CA_BUNDLE,
	 * else $SSL_CERT_FILE and $SSL_CERT_DIR (libcurl reads none of them) */
	const char *bundle = getenv("CURL_CA_BUNDLE");
	if (bundle && *bundle)
		c.server.cacert = bundle;
	else {
		c.server.cacert = getenv("SSL_CERT_FILE");
		c.server.capath = getenv("SSL_CERT_DIR");
	}
	if (o->cacert)
		c.server.cacert = o->cacert, c.server.capath = NULL;
	if (c.server.cacert && !*c.server.cacert)
		c.server.cacert = NULL;
	if (c.server.capath && !*c.server.capath)
		c.server.capath = NULL;
	char url[4096];         /* without a trailing slash: paths are appended */
	snprintf(url, sizeof url, "%s", o->server);
	for (size_t n = strlen(url); n > 0 && url[n - 1] == '/'; )
		url[--n] = 0;
	c.server.url = url;
	StreamReader *rd = NULL;
	StreamWriter w;
	int binary = o->binary || !o->predict, rc = cli_binary_out(binary, o->force);
	if (rc)
		return rc;
	if ((rc = remote_http_init()))
		return cli_fail(rc);
	if (!(rc = remote_connect(&c)) && (rc = server_request(o, &c)) == 0) {
		stream_writer_init(&w, STDOUT_FILENO, "<stdout>", binary);
		if (!(rd = stream_reader_new(STDIN_FILENO, "<stdin>", NULL)))
			rc = err(ERR_IO, "out of memory");
		if (!rc)
			rc = remote_run(&c, rd, &w);
		int rc2 = stream_writer_close(&w);
		if (!rc)
			rc = rc2;
		if (rc)
			cli_fail(rc);
	} else if (rc != ERR_USAGE)
		cli_fail(rc);
	stream_reader_free(rd);
	remote_client_free(&c);
	remote_http_cleanup();
	return rc;
}

/* ---- the model file changing under the map ----------------------------- */

static char sigbus_msg[512];
static size_t sigbus_len;

/* A page of the mapped weights that is no longer in the file (it was
 * truncated or replaced in place while we run) raises SIGBUS: say so in one
 * line and exit 3, rather than die without a word. */
static void on_sigbus(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, sigbus_msg, sigbus_len) < 0)
		_exit(ERR_IO);
	_exit(ERR_IO);
}

static void catch_sigbus(const char *model)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	int n = snprintf(sigbus_msg, sizeof sigbus_msg, "%s: %s: model file changed while in use\n",
			 cli_prog(), model);
	if (n < 0 || (size_t)n >= sizeof sigbus_msg) {     /* a long path: cut, one line still */
		n = sizeof sigbus_msg - 1;
		sigbus_msg[n - 1] = '\n';
	}
	sigbus_len = (size_t)n;
	sigaction(SIGBUS, &sa, NULL);
}

int main(int argc, char **argv)
{
	Options o = { 0 };
	Model *m = NULL;
	cli_init(argv[0]);
	int rc = parse_options(&o, argc, argv);
	if (!rc && o.server) {
		rc = run_server(&o);
		sample_opts_free(&o.so);
		return rc;
	}
	if (!rc)
		catch_sigbus(o.model);
	if (!rc && (rc = load(&m, &o)))
		cli_fail(rc);
	else if (!rc && !(rc = check_against_model(&o, m))) {
		if (o.info)
			info(m, o.model, &o);
		if ((rc = o.info ? cli_flush(stdout, "<stdout>") : run(&o, m)))
			cli_fail(rc);
	}
	model_free(m);
	sample_opts_free(&o.so);
	return rc == CLI_DONE ? 0 : rc;
}
