/* ernie-run: token stream in, logit stream out, through an ERNIE 4.5 model.
 * See man/ernie-run.1. Filter mode: each token record is appended to the
 * sequence and the next-token logits are written (one ELOG frame; with
 * --all one per position; with --top K an ETOP frame); an empty record
 * resets the sequence and is passed on. Generate mode (-n N): each input
 * sequence is a prompt; a sampler process picks each next id, which is
 * written at once and fed back, until N ids, an end-of-sequence id or a
 * stop string. */
#include "cli.h"
#include "base/err.h"
#include "model/generate.h"
#include "model/model.h"
#include "model/sampler_proc.h"
#include "remote/client.h"
#include "stream/stream.h"
#include "text/tokenizer.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

enum {
	OPT_VERSION = 256, OPT_PRECISION, OPT_ISA, OPT_INFO, OPT_TOP,
	OPT_SAMPLER, OPT_STOP, OPT_STOP_ID, OPT_IGNORE_EOS,
	OPT_SERVER, OPT_API_KEY, OPT_SERVER_MODEL, OPT_SERVER_API, OPT_TIMEOUT,
	OPT_PASS,               /* sampling options handed to ernie-sample */
};

#define MAX_STOPS 64            /* --stop and --stop-id, each */
#define MAX_PASS 64             /* words passed to the sampler */
#define ALL_ROWS 64             /* --all: positions computed (and logits held) at once */
#define QUIET_USAGE (-ERR_USAGE) /* a usage error already reported by the sampler */

static const struct option long_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "threads", required_argument, NULL, 't' },
	{ "ctx", required_argument, NULL, 'c' },
	{ "all", no_argument, NULL, 'a' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "precision", required_argument, NULL, OPT_PRECISION },
	{ "isa", required_argument, NULL, OPT_ISA },
	{ "info", no_argument, NULL, OPT_INFO },
	{ "force", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "predict", required_argument, NULL, 'n' },
	{ "max-tokens", required_argument, NULL, 'n' },
	{ "max_tokens", required_argument, NULL, 'n' },
	{ "binary", no_argument, NULL, 'b' },
	{ "sampler", required_argument, NULL, OPT_SAMPLER },
	{ "stop", required_argument, NULL, OPT_STOP },
	{ "stop-id", required_argument, NULL, OPT_STOP_ID },
	{ "ignore-eos", no_argument, NULL, OPT_IGNORE_EOS },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "api-key", required_argument, NULL, OPT_API_KEY },
	{ "server-model", required_argument, NULL, OPT_SERVER_MODEL },
	{ "server-api", required_argument, NULL, OPT_SERVER_API },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "parallel", required_argument, NULL, 'P' },
	/* ernie-sample's options, passed on as they are (it checks them) */
	{ "seed", required_argument, NULL, 's' },
	{ "temp", required_argument, NULL, OPT_PASS },
	{ "temperature", required_argument, NULL, OPT_PASS },
	{ "top-k", required_argument, NULL, OPT_PASS },
	{ "top_k", required_argument, NULL, OPT_PASS },
	{ "top-p", required_argument, NULL, OPT_PASS },
	{ "top_p", required_argument, NULL, OPT_PASS },
	{ "min-p", required_argument, NULL, OPT_PASS },
	{ "min_p", required_argument, NULL, OPT_PASS },
	{ "repeat-penalty", required_argument, NULL, OPT_PASS },
	{ "repetition_penalty", required_argument, NULL, OPT_PASS },
	{ "repeat-last-n", required_argument, NULL, OPT_PASS },
	{ "presence-penalty", required_argument, NULL, OPT_PASS },
	{ "presence_penalty", required_argument, NULL, OPT_PASS },
	{ "frequency-penalty", required_argument, NULL, OPT_PASS },
	{ "frequency_penalty", required_argument, NULL, OPT_PASS },
	{ "logit-bias", required_argument, NULL, OPT_PASS },
	{ NULL, 0, NULL, 0 },
};

typedef struct {
	const char *model;      /* -m, or $ERNIE_MODEL */
	int threads;            /* 0: the machine's cores */
	long ctx;               /* 0: the model's maximum */
	int all;                /* a frame for every position */
	long top;               /* ETOP frames of this many logits; 0: ELOG */
	Precision prec;
	Isa isa;
	int info, force, verbose;
	/* generate mode */
	long predict;           /* -n: ids to generate per prompt; 0: filter mode */
	int binary;             /* -b: generated ids as ETOK frames */
	const char *sampler;    /* --sampler CMD, run by sh -c */
	char *pass[MAX_PASS];   /* sampling options for ernie-sample, "--name=value" */
	int npass;
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
	int parallel;           /* -P: requests in flight */
} Options;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] < tokens > logits\n"
		"Run an ERNIE 4.5 model over a token stream: each token record is appended to\n"
		"the sequence and the next-token logits are written as an ELOG frame; an empty\n"
		"record starts a new sequence.\n"
		"  -m, --model DIR       model directory (default: $ERNIE_MODEL)\n"
		"  -a, --all             one frame per position of each record, not just the last\n"
		"      --top K           ETOP frames with the K largest logits instead of ELOG\n"
		"  -c, --ctx N           context limit in tokens (default: the model's maximum)\n"
		"  -t, --threads N       threads (default: the machine's cores)\n"
		"      --precision P     f32, bf16 (the MLPs' products in bf16; the default\n"
		"                        where the CPU has AVX512-BF16) or bf16-all (every\n"
		"                        product: fastest prompts, least accurate)\n"
		"      --isa NAME        auto, portable, avx2, avx512 or avx512bf16 (default: auto)\n"
		"      --info            describe the model and what a run costs, then exit\n"
		"  -f, --force           write binary frames even to a terminal\n"
		"  -v, --verbose         timing lines on stderr at the end\n"
		"Generation (each input sequence is a prompt; the answer's ids are written\n"
		"one by one as a record, then an empty record):\n"
		"  -n, --predict N       generate up to N ids per prompt (alias --max-tokens)\n"
		"      --stop STR        end the answer where its text contains STR (repeatable)\n"
		"      --stop-id ID      end the answer at id ID (repeatable); the model's eos\n"
		"                        ids and <|end_of_sentence|> always end it...\n"
		"      --ignore-eos      ...unless this is given\n"
		"  -b, --binary          write the ids as ETOK frames\n"
		"      --sampler CMD     the sampler process (default: ernie-sample beside\n"
		"                        ernie-run, with -m DIR and the options below)\n"
		"  -s, --seed N, --temp T, --top-k K, --top-p P, --min-p P, --repeat-penalty R,\n"
		"  --repeat-last-n N, --presence-penalty P, --frequency-penalty P,\n"
		"  --logit-bias ID=BIAS  passed to ernie-sample (see ernie-sample(1))\n"
		"Serving engine (vLLM, FastDeploy, llama-server) instead of -m:\n"
		"      --server URL      send the ids there (default: $ERNIE_SERVER); needs -n N,\n"
		"                        or --top K for top-K log-probabilities\n"
		"      --api-key KEY     sent as a Bearer token (default: $ERNIE_API_KEY)\n"
		"      --server-model M  the model to ask for (default: the server's only one)\n"
		"      --server-api API  vllm, vllm-logprobs, fastdeploy or llama-server\n"
		"                        (default: asked of the server)\n"
		"      --timeout S       fail when the server is silent for S seconds\n"
		"  -P, --parallel N      up to N sequences in flight, answers in input order\n"
		"  -h, --help            this help\n"
		"      --version         print the version\n",
		cli_prog());
}

/* A whole decimal number in [lo, hi], or -1. */
static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s && !*end && v >= lo && v <= hi ? v : -1;
}

static int pick(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* Keep "--name=value" for the sampler's command line. */
static int pass_option(Options *o, const char *name, const char *value)
{
	if (o->npass == MAX_PASS)
		return cli_usage_error("more than %d sampling options", MAX_PASS);
	size_t n = strlen(name) + strlen(value) + 4;
	if (!(o->pass[o->npass] = malloc(n)))
		return cli_fail(err(ERR_IO, "out of memory"));
	snprintf(o->pass[o->npass++], n, "--%s=%s", name, value);
	return 0;
}

/* --server: what the engine does instead of the model and the kernels. */
static int check_server_options(Options *o)
{
	if (!*o->server)
		return cli_usage_error("--server: the URL is empty");
	if (o->model || o->all || o->info || o->sampler || o->threads || o->ctx ||
	    o->prec != PREC_AUTO || o->isa)
		return cli_usage_error("--server runs the model on the server: -m, --all, --info, "
				       "--sampler, -t, -c, --precision and --isa do not apply");
	if (!o->predict && !o->top)
		return cli_usage_error("--server gives generated ids (-n N) or top-K "
				       "log-probabilities (--top K), not whole logits");
	if (o->predict && o->top)
		return cli_usage_error("-n generates ids: --all and --top are for logits");
	if (!o->predict && (o->binary || o->npass || o->nstops || o->nstop_ids || o->ignore_eos))
		return cli_usage_error("generation options need -n N");
	if (!o->api_key && getenv("ERNIE_API_KEY") && *getenv("ERNIE_API_KEY"))
		o->api_key = getenv("ERNIE_API_KEY");
	if (!o->parallel)
		o->parallel = 1;
	return 0;
}

/* --precision's values, in the order of Precision */
static const char *const precs[] = { "f32", "bf16", "bf16-all" };

static int parse_options(Options *o, int argc, char **argv)
{
	static const char *const isas[] = { "auto", "portable", "avx2", "avx512", "avx512bf16" };
	memset(o, 0, sizeof *o);
	o->prec = PREC_AUTO;
	int c, k;
	opterr = 0;             /* our own one-line messages */
	int longi = 0;
	while ((c = getopt_long(argc, argv, ":m:t:c:afvhn:bs:P:", long_opts, &longi)) != -1) {
		switch (c) {
		case 'n':
			if ((o->predict = parse_num(optarg, 1, INT_MAX / 2)) < 0)
				return cli_usage_error("-n: expected a positive number of tokens, not '%s'", optarg);
			break;
		case 'b': o->binary = 1; break;
		case OPT_SAMPLER: o->sampler = optarg; break;
		case OPT_IGNORE_EOS: o->ignore_eos = 1; break;
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
			if ((k = (int)parse_num(optarg, 0, INT32_MAX)) < 0)
				return cli_usage_error("--stop-id: expected a token id, not '%s'", optarg);
			o->stop_ids[o->nstop_ids++] = k;
			break;
		case 's':
		case OPT_PASS:
			if ((k = pass_option(o, c == 's' ? "seed" : long_opts[longi].name, optarg)))
				return k;
			break;
		case 'm': o->model = optarg; break;
		case OPT_SERVER: o->server = optarg; break;
		case OPT_API_KEY: o->api_key = optarg; break;
		case OPT_SERVER_MODEL: o->server_model = optarg; break;
		case OPT_SERVER_API:
			if (remote_api_parse(optarg, &o->server_api))
				return cli_usage_error("--server-api: %s", err_msg());
			break;
		case OPT_TIMEOUT: {
			char *end;
			o->timeout = strtod(optarg, &end);
			if (!*optarg || *end || !(o->timeout > 0 && o->timeout < 1e6))
				return cli_usage_error("--timeout: expected seconds > 0, not '%s'", optarg);
			break;
		}
		case 'P':
			if ((o->parallel = (int)parse_num(optarg, 1, 1024)) < 0)
				return cli_usage_error("-P: expected 1..1024 sequences in flight, not '%s'",
						       optarg);
			break;
		case 'a': o->all = 1; break;
		case 'f': o->force = 1; break;
		case 'v': o->verbose = 1; break;
		case OPT_INFO: o->info = 1; break;
		case 't':
			if ((o->threads = (int)parse_num(optarg, 1, 4096)) < 0)
				return cli_usage_error("-t: expected a number of threads 1..4096, not '%s'", optarg);
			break;
		case 'c':
			if ((o->ctx = parse_num(optarg, 1, 1L << 30)) < 0)
				return cli_usage_error("-c: expected a positive number of tokens, not '%s'", optarg);
			break;
		case OPT_TOP:
			if ((o->top = parse_num(optarg, 1, STREAM_MAX_COUNT)) < 0)
				return cli_usage_error("--top: expected a positive count, not '%s'", optarg);
			break;
		case OPT_PRECISION:
			if ((k = pick(optarg, precs, 3)) < 0)
				return cli_usage_error("--precision: expected f32, bf16 or bf16-all, "
						       "not '%s'", optarg);
			o->prec = (Precision)k;
			break;
		case OPT_ISA:
			if ((k = pick(optarg, isas, 5)) < 0)
				return cli_usage_error("--isa: unknown instruction set '%s'", optarg);
			o->isa = (Isa)k;
			break;
		case 'h': usage(stdout); return CLI_DONE;
		case OPT_VERSION: return cli_version();
		case ':': return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->server && !o->model && getenv("ERNIE_SERVER") && *getenv("ERNIE_SERVER"))
		o->server = getenv("ERNIE_SERVER");
	if (o->server)
		return check_server_options(o);
	if (o->api_key || o->server_model || o->server_api || o->timeout || o->parallel)
		return cli_usage_error("--api-key, --server-model, --server-api, --timeout and -P "
				       "go with --server URL");
	o->model = cli_model(o->model);
	if (!o->model || !*o->model)
		return cli_usage_error("no model: give -m DIR or set ERNIE_MODEL");
	if (!o->predict && (o->binary || o->sampler || o->npass || o->nstops || o->nstop_ids ||
			    o->ignore_eos))
		return cli_usage_error("generation options need -n N");
	if (o->predict && (o->all || o->top))
		return cli_usage_error("-n generates ids: --all and --top are for logits");
	if (o->sampler && o->npass)
		return cli_usage_error("sampling options go to the --sampler command itself");
	return 0;
}

static void options_free(Options *o)
{
	for (int i = 0; i < o->npass; i++)
		free(o->pass[i]);
}

/* Settings that need the model to be checked. */
static int check_against_model(const Options *o, const Model *m)
{
	if (o->ctx > m->cfg.max_pos)
		return cli_usage_error("-c %ld: the model's maximum context is %d tokens", o->ctx,
				       m->cfg.max_pos);
	if (o->top > m->cfg.vocab)
		return cli_usage_error("--top %ld: the vocabulary has only %d tokens", o->top,
				       m->cfg.vocab);
	return 0;
}

/* ---- --info ------------------------------------------------------------- */

/* Rows of logits computed at once: --all writes a batch's worth. */
static int logit_rows(const Options *o)
{
	return o->all ? ALL_ROWS : 1;
}

static uint64_t mapped_bytes(const Model *m)
{
	return tensors_file_bytes(&m->tensors);
}

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
	uint64_t mapped = mapped_bytes(m);
	long ctx = o->ctx ? o->ctx : c->max_pos;

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
	print_size(stdout, "mapped (read-only)", (double)mapped);
	print_size(stdout, "KV cache per token", (double)model_kv_bytes(m));
	char label[64];
	snprintf(label, sizeof label, "KV cache at -c %ld", ctx);
	print_size(stdout, label, (double)model_kv_bytes(m) * (double)ctx);
	double scratch = (double)model_scratch_bytes(m, MODEL_BATCH) +
			 (double)model_attention_bytes(m, o->threads ? o->threads : 1, ctx) +
			 (double)logit_rows(o) * c->vocab * sizeof(float);
	print_size(stdout, "scratch", scratch);
	snprintf(label, sizeof label, "memory at -c %ld", ctx);
	print_size(stdout, label, (double)mapped + (double)model_kv_bytes(m) * (double)ctx + scratch);
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
	if (mapped_bytes(*m) < ram / 2)
		tensors_prefetch(&(*m)->tensors, o->threads > 0 ? o->threads : compute_default_threads(),
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

typedef struct {
	uint64_t tokens;
	double ms;
} Stat;

typedef struct {
	const Model *m;
	State *s;
	Compute *c;
	float *logits;          /* [logit_rows()][V] */
	Stat prompt;            /* records of several tokens (prefill) */
	Stat eval;              /* records of one token (decode) */
} Runner;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Append ids[0..n) (n <= ALL_ROWS when all) to the sequence: r->logits
 * gets the logits of every position (all) or of the last. The one step a
 * generate mode repeats. */
static int append(Runner *r, const int32_t *ids, int n, int all)
{
	double t0 = now_ms();
	int rc = model_eval(r->m, r->s, r->c, ids, n, r->logits, all);
	Stat *st = n == 1 ? &r->eval : &r->prompt;
	st->tokens += (uint64_t)n;
	st->ms += now_ms() - t0;
	return rc;
}

/* The k largest of x[0..n), largest first (lower id first on ties). */
static void top_k(const float *x, int n, int k, int32_t *ids, float *vals)
{
	int have = 0;
	for (int i = 0; i < n; i++) {
		if (have == k && !(x[i] > vals[k - 1]))
			continue;
		int j = have < k ? have++ : k - 1;
		while (j > 0 && x[i] > vals[j - 1]) {
			ids[j] = ids[j - 1];
			vals[j] = vals[j - 1];
			j--;
		}
		ids[j] = i;
		vals[j] = x[i];
	}
}

static int write_frame(StreamWriter *w, const Options *o, const float *logits, int V,
		       int32_t *top_ids, float *top_vals)
{
	if (!o->top)
		return stream_write_logits(w, logits, (uint32_t)V);
	top_k(logits, V, (int)o->top, top_ids, top_vals);
	return stream_write_top(w, top_ids, top_vals, (uint32_t)o->top);
}

/* Where a bad record is: "<stdin>: record 3 (line 3)". */
static int blame(StreamReader *rd, unsigned long recno, int rc)
{
	char where[64];
	return err_prefix(rc, "<stdin>: record %lu (%s)", recno, stream_where(rd, where, sizeof where));
}

/* The ids of rec are in the vocabulary and fit in the context. */
static int check_record(Runner *r, StreamReader *rd, unsigned long recno, const Record *rec)
{
	int n = (int)rec->n, pos = state_pos(r->s), limit = state_limit(r->s);
	int rc = model_check_ids(r->m, rec->ids, n);
	if (rc)
		return blame(rd, recno, rc);
	if (n > limit - pos)
		return blame(rd, recno, err(ERR_DATA, "the sequence would reach %lld tokens, past "
			     "the context limit of %d%s", (long long)pos + n, limit,
			     limit < r->m->cfg.max_pos ? " (raise it with -c N)" :
			     " (the model's maximum)"));
	return 0;
}

static int filter(Runner *r, const Options *o, StreamReader *rd)
{
	StreamWriter writer, *w = &writer;
	int V = r->m->cfg.vocab, rc = cli_binary_out(1, o->force);
	if (rc)
		return rc;
	stream_writer_init(w, STDOUT_FILENO, "<stdout>", 1);
	int32_t *top_ids = malloc((size_t)(o->top ? o->top : 1) * sizeof *top_ids);
	float *top_vals = malloc((size_t)(o->top ? o->top : 1) * sizeof *top_vals);
	if (!top_ids || !top_vals)
		rc = err(ERR_IO, "out of memory");
	for (unsigned long recno = 1; !rc; recno++) {
		Record rec;
		if ((rc = stream_read(rd, &rec, 0)) || rec.kind == REC_EOF)
			break;
		if (rec.kind != REC_TOKENS) {
			rc = blame(rd, recno, err(ERR_DATA, "logits where token ids were expected"));
			break;
		}
		if (rec.n == 0) {
			state_reset(r->s);
			rc = stream_write_end(w, 1);
			continue;
		}
		int n = (int)rec.n;
		if ((rc = check_record(r, rd, recno, &rec)))
			break;
		/* --all: batches of at most ALL_ROWS, so r->logits stays small */
		for (int i = 0; i < n && !rc; ) {
			int nb = o->all && n - i > ALL_ROWS ? ALL_ROWS : n - i;
			if ((rc = append(r, rec.ids + i, nb, o->all)))
				break;
			for (int j = o->all ? 0 : nb - 1; j < nb && !rc; j++)
				rc = write_frame(w, o, r->logits + (o->all ? (int64_t)j * V : 0), V,
						 top_ids, top_vals);
			i += nb;
		}
	}
	free(top_ids);
	free(top_vals);
	int rc2 = stream_writer_close(w);
	return rc ? rc : rc2;
}

/* ---- generate mode ------------------------------------------------------ */

/* The ids that end an answer: the model's eos ids, its <|end_of_sentence|>
 * (from the tokenizer), and --stop-id. */
static int stop_ids(const Options *o, const Model *m, const Tokenizer *t, int32_t *ids)
{
	int n = 0;
	for (int i = 0; i < o->nstop_ids; i++)
		ids[n++] = o->stop_ids[i];
	if (o->ignore_eos)
		return n;
	for (int i = 0; i < m->cfg.n_eos; i++)
		ids[n++] = m->cfg.eos[i];
	if (t) {
		static const char eos[] = "<|end_of_sentence|>";
		int32_t id = tok_piece_id(t, eos, sizeof eos - 1);
		size_t len;
		const char *text = tok_id_text(t, id, &len);
		if (text && len == sizeof eos - 1 && !memcmp(text, eos, len))
			ids[n++] = id;
	}
	return n;
}

/* ernie-sample in the directory of this program, else from PATH. */
static void sampler_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			snprintf(buf, size, "%.*s/ernie-sample", (int)(slash - self), self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, size, "ernie-sample");
}

static int start_sampler(SamplerProc *sp, const Options *o)
{
	if (o->sampler)
		return sampler_proc_start(sp, o->sampler);
	char path[PATH_MAX + 16];
	char *argv[MAX_PASS + 5];
	int n = 0;
	sampler_path(path, sizeof path);
	argv[n++] = path;
	argv[n++] = "-b";
	argv[n++] = "-m";
	argv[n++] = (char *)o->model;
	for (int i = 0; i < o->npass; i++)
		argv[n++] = o->pass[i];
	argv[n] = NULL;
	return sampler_proc_start_argv(sp, argv);
}

/* Answer the prompt in the sequence, then end the sequence. */
static int answer(Runner *r, SamplerProc *sp, const GenParams *g, StreamWriter *w)
{
	int rc = 0;
	if (state_pos(r->s) > 0) {
		GenStats st;
		rc = generate(r->m, r->s, r->c, sp, g, r->logits, w, &st);
		r->eval.tokens += (uint64_t)st.tokens;
		r->eval.ms += st.eval_ms;
		if (!rc && st.end == GEN_CONTEXT_FULL)
			fprintf(stderr, "%s: warning: the answer stopped at the context limit of %d "
				"tokens (raise it with -c N)\n", cli_prog(), state_limit(r->s));
		if (!rc)
			rc = sampler_proc_end(sp);
	}
	if (!rc)
		rc = stream_write_end(w, 0);
	state_reset(r->s);
	return rc;
}

/* Each sequence of records is a prompt: append them all, then answer. */
static int prompts(Runner *r, SamplerProc *sp, const GenParams *g, StreamReader *rd,
		   StreamWriter *w)
{
	int rc = 0, pending = 0;
	for (unsigned long recno = 1; !rc; recno++) {
		Record rec;
		if ((rc = stream_read(rd, &rec, 0)))
			break;
		if (rec.kind == REC_EOF) {
			if (pending)
				rc = answer(r, sp, g, w);
			break;
		}
		if (rec.kind != REC_TOKENS) {
			rc = blame(rd, recno, err(ERR_DATA, "logits where token ids were expected"));
			break;
		}
		if (rec.n == 0) {
			rc = answer(r, sp, g, w);
			pending = 0;
			continue;
		}
		if ((rc = check_record(r, rd, recno, &rec)) == 0)
			rc = append(r, rec.ids, (int)rec.n, 0);
		pending = 1;
	}
	return rc;
}

/* A model directory without tokenizer.model at all. */
static int tok_absent(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "%s/tokenizer.model", dir);
	return lstat(path, &st) && errno == ENOENT;
}

static int generate_mode(Runner *r, const Options *o, StreamReader *rd)
{
	StreamWriter w;
	SamplerProc sp;
	Tokenizer *t = NULL;
	int32_t ids[2 * MAX_STOPS + CONFIG_MAX_EOS];
	int rc = cli_binary_out(o->binary, o->force);
	if (rc)
		return rc;
	stream_writer_init(&w, STDOUT_FILENO, "<stdout>", o->binary);
	/* the tokenizer names <|end_of_sentence|> and decodes for --stop; a
	 * model without one generates all the same, unless --stop needs it */
	if ((rc = tok_load(&t, o->model)) && (o->nstops || !tok_absent(o->model)))
		return err_prefix(rc, "%s", o->nstops ? "--stop needs the model's tokenizer" :
				  "the model's tokenizer");
	GenParams g = {
		.max_tokens = (int)o->predict, .stop_ids = ids,
		.nstop_ids = stop_ids(o, r->m, t, ids),
		.stops = o->stops, .nstops = o->nstops, .tok = t, .nids = t ? t->nids : 0,
	};
	if ((rc = start_sampler(&sp, o)) == 0) {
		rc = prompts(r, &sp, &g, rd, &w);
		int rc2 = sampler_proc_close(&sp);
		if (!rc)
			rc = rc2;
		/* ernie-sample refused its options and said why: its one line is ours */
		if (rc && WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == ERR_USAGE)
			rc = QUIET_USAGE;
	}
	int rc2 = stream_writer_close(&w);
	tok_free(t);
	return rc ? rc : rc2;
}

static void print_stat(const char *what, const Stat *s)
{
	fprintf(stderr, "%s: %" PRIu64 " tokens, %.2f ms, %.2f tok/s\n", what, s->tokens, s->ms,
		s->ms > 0 ? (double)s->tokens * 1e3 / s->ms : 0.0);
}

static int run(const Options *o, Model *m)
{
	Runner r = { .m = m };
	StreamReader *rd = NULL;
	int rc = compute_new(&r.c, o->threads, o->prec, o->isa);
	if (rc == ERR_DATA)
		rc = ERR_USAGE;         /* --isa or --precision that this CPU cannot do */
	if (!rc)
		rc = state_new(&r.s, m, (int)o->ctx);
	if (!rc && !(r.logits = malloc((size_t)logit_rows(o) * m->cfg.vocab * sizeof(float))))
		rc = err(ERR_IO, "out of memory");
	if (!rc && !(rd = stream_reader_new(STDIN_FILENO, "<stdin>", NULL)))
		rc = err(ERR_IO, "out of memory");
	if (!rc)
		rc = o->predict ? generate_mode(&r, o, rd) : filter(&r, o, rd);
	if (o->verbose && r.c)
		fprintf(stderr, "compute: %d threads, %s kernels, %s precision\n",
			compute_threads(r.c), compute_isa_name(r.c), precs[compute_precision(r.c)]);
	if (o->verbose) {
		print_stat("prompt eval", &r.prompt);
		print_stat("eval", &r.eval);
	}
	stream_reader_free(rd);
	free(r.logits);
	state_free(r.s);
	compute_free(r.c);
	return rc;
}

/* ---- --server ----------------------------------------------------------- */

/* The sampling options, generation limits and stops as a request's. */
static int server_request(const Options *o, RemoteClient *c)
{
	RemoteRequest *rq = &c->rq;
	for (int i = 0; i < o->npass; i++) {     /* "--name=value" */
		char name[64];
		const char *eq = strchr(o->pass[i], '=');
		snprintf(name, sizeof name, "%.*s", (int)(eq - o->pass[i] - 2), o->pass[i] + 2);
		if (remote_option(c, name, eq + 1))
			return cli_usage_error("%s", err_msg());
	}
	rq->max_tokens = o->predict;
	rq->stop = (const char *const *)o->stops;
	rq->nstop = (size_t)o->nstops;
	rq->stop_ids = o->stop_ids;
	rq->nstop_ids = (size_t)o->nstop_ids;
	rq->set |= (o->nstops ? REQ_STOP : 0) | (o->nstop_ids ? REQ_STOP_IDS : 0) |
		   (o->ignore_eos ? REQ_IGNORE_EOS : 0) | (o->top ? REQ_TOP : 0);
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
		.server = { .url = o->server, .api_key = o->api_key, .timeout = o->timeout },
		.api = o->server_api, .model = o->server_model, .parallel = o->parallel,
		.top = o->predict ? 0 : (int)o->top,
	};
	char url[4096];         /* without a trailing slash: paths are appended */
	snprintf(url, sizeof url, "%s", o->server);
	for (size_t n = strlen(url); n > 0 && url[n - 1] == '/'; )
		url[--n] = 0;
	c.server.url = url;
	StreamReader *rd = NULL;
	StreamWriter w;
	int rc = cli_binary_out(o->binary || !o->predict, o->force);
	if (rc)
		return rc;
	if ((rc = remote_http_init()))
		return cli_fail(rc);
	if (!(rc = remote_connect(&c)) && (rc = server_request(o, &c)) == 0) {
		stream_writer_init(&w, STDOUT_FILENO, "<stdout>", o->binary || !o->predict);
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

int main(int argc, char **argv)
{
	Options o;
	Model *m;
	cli_init(argv[0]);
	int rc = parse_options(&o, argc, argv);
	if (rc) {
		options_free(&o);
		return rc == CLI_DONE ? 0 : rc;
	}
	if (o.server) {
		rc = run_server(&o);
		options_free(&o);
		return rc;
	}
	if ((rc = load(&m, &o))) {
		options_free(&o);
		return cli_fail(rc);
	}
	if (!(rc = check_against_model(&o, m))) {
		if (o.info)
			info(m, o.model, &o);
		else if ((rc = run(&o, m)) == QUIET_USAGE)
			rc = ERR_USAGE;
		else if (rc)
			cli_fail(rc);
	}
	if (!rc && o.info && (rc = cli_flush(stdout, "<stdout>")))
		cli_fail(rc);
	model_free(m);
	options_free(&o);
	return rc;
}
