/* ernie-sample: logit stream in, token stream out: one id per frame, chosen
 * with temperature, top-k, top-p, min-p, penalties and a seeded RNG.
 * See man/ernie-sample.1; the steps are in lib/sample/sample.h. */
#include "cli.h"
#include "base/err.h"
#include "model/gguf_vocab.h"
#include "sample/sample.h"
#include "stream/stream.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

/* Sampling options: llama.cpp's name, then Hugging Face / vLLM aliases; each
 * sets the parameter of sample_param_set() named by param. */
static const struct {
	const char *opt;
	const char *param;
} param_opts[] = {
	{ "temp", "temperature" },
	{ "temperature", "temperature" },
	{ "top-k", "top_k" },
	{ "top_k", "top_k" },
	{ "top-p", "top_p" },
	{ "top_p", "top_p" },
	{ "min-p", "min_p" },
	{ "min_p", "min_p" },
	{ "repeat-penalty", "repetition_penalty" },
	{ "repetition_penalty", "repetition_penalty" },
	{ "repeat-last-n", "repeat_last_n" },
	{ "presence-penalty", "presence_penalty" },
	{ "presence_penalty", "presence_penalty" },
	{ "frequency-penalty", "frequency_penalty" },
	{ "frequency_penalty", "frequency_penalty" },
};
#define NPARAM_OPTS (sizeof param_opts / sizeof param_opts[0])

enum { OPT_BIAS = 256, OPT_VERSION, OPT_PARAM };

static const struct option other_opts[] = {
	{ "logit-bias", required_argument, NULL, OPT_BIAS },
	{ "seed", required_argument, NULL, 's' },
	{ "model", required_argument, NULL, 'm' },
	{ "binary", no_argument, NULL, 'b' },
	{ "force", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

typedef struct {
	const char *opt;        /* as typed, for messages */
	const char *param;
	const char *arg;
} Pending;

typedef struct {
	SampleParams p;
	Pending *set;           /* nset sampling options (argc at most), applied
	                           over the model's defaults */
	size_t nset;
	const char *model;      /* -m, or $ERNIE_MODEL */
	int seeded;             /* -s given */
	int binary, force, verbose;
} Options;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] < logits > tokens\n"
		"Choose one token id for each frame of logits (ELOG or ETOP); an empty frame\n"
		"ends a sequence and passes on as an empty record.\n"
		"\n"
		"      --temp T                temperature; 0 = greedy (default 0.8)\n"
		"      --top-k K               keep the K most probable ids; 0 = off (default 0)\n"
		"      --top-p P               keep the smallest set of most probable ids whose\n"
		"                              probability reaches P; 1 = off (default 0.8)\n"
		"      --min-p P               keep ids with p >= P * p_max; 0 = off (default 0)\n"
		"      --repeat-penalty R      ids among the last N chosen: l/R if l > 0, else l*R;\n"
		"                              1 = off (default 1)\n"
		"      --repeat-last-n N       the window of --repeat-penalty; -1 = whole sequence,\n"
		"                              0 = off (default 64)\n"
		"      --presence-penalty A    minus A for every id chosen before in the sequence\n"
		"      --frequency-penalty A   minus A times the number of times it was chosen\n"
		"      --logit-bias ID=BIAS    add BIAS (a number or -inf) to id ID's logit (repeats)\n"
		"  -s, --seed N                seed of the random numbers (default: random)\n"
		"  -m, --model DIR             defaults from DIR/generation_config.json (a GGUF\n"
		"                              file: the model card's)\n"
		"                              (default DIR: $ERNIE_MODEL)\n"
		"  -b, --binary                write ETOK frames instead of text\n"
		"  -f, --force                 write binary even to a terminal\n"
		"  -v, --verbose               print the seed and parameters, and a stats line\n"
		"  -h, --help                  this help\n"
		"      --version               print the version\n"
		"Aliases: --temperature, --top_k, --top_p, --min_p, --repetition_penalty,\n"
		"--presence_penalty, --frequency_penalty. Order: penalties, bias, temperature,\n"
		"top-k, top-p, min-p, draw.\n",
		cli_prog());
}

/* A whole decimal or floating-point number ("-inf" too); -1 if not one. */
static int parse_double(const char *arg, double *v)
{
	char *end;

	if (!*arg || isspace((unsigned char)*arg))
		return -1;
	*v = strtod(arg, &end);
	return *end ? -1 : 0;
}

/* A seed: 0 .. 2^64-1, or -1 for a random one (llama.cpp's convention). */
static int parse_seed(const char *arg, Options *o)
{
	char *end;

	if (!strcmp(arg, "-1")) {
		o->seeded = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*arg))
		return -1;
	errno = 0;
	o->p.seed = strtoull(arg, &end, 10);
	if (*end || errno)
		return -1;
	o->seeded = 1;
	return 0;
}

static int parse_bias(const char *arg, Options *o)
{
	char *end;
	double bias;

	if (!isdigit((unsigned char)*arg))
		return cli_usage_error("--logit-bias: '%s' is not ID=BIAS", arg);
	errno = 0;
	long id = strtol(arg, &end, 10);
	if (*end != '=' || errno || id > INT32_MAX || parse_double(end + 1, &bias))
		return cli_usage_error("--logit-bias: '%s' is not ID=BIAS", arg);
	if (sample_params_bias(&o->p, (int32_t)id, bias))
		return cli_usage_error("--logit-bias: %s", err_msg());
	return 0;
}

/* Parse argv into o. Returns 0, -1 after --help/--version, or an ERR_* code
 * (the message already printed). */
static int parse_args(int argc, char **argv, Options *o)
{
	struct option longopts[NPARAM_OPTS + sizeof other_opts / sizeof other_opts[0]];
	size_t n = 0;
	int c;

	for (size_t i = 0; i < NPARAM_OPTS; i++)
		longopts[n++] = (struct option){ param_opts[i].opt, required_argument, NULL, OPT_PARAM + (int)i };
	for (size_t i = 0; i < sizeof other_opts / sizeof other_opts[0]; i++)
		longopts[n++] = other_opts[i];
	opterr = 0;     /* one message, ours */
	while ((c = getopt_long(argc, argv, ":s:m:bfvh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BIAS:
			if (parse_bias(optarg, o))
				return ERR_USAGE;
			break;
		case 's':
			if (parse_seed(optarg, o))
				return cli_usage_error("--seed: '%s' is not a number from 0 to 2^64-1, or -1", optarg);
			break;
		case 'm': o->model = optarg; break;
		case 'b': o->binary = 1; break;
		case 'f': o->force = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout); return -1;
		case OPT_VERSION: cli_version(); return -1;
		case ':':
			return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				return cli_usage_error("unknown option '-%c'", optopt);
			return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			o->set[o->nset++] = (Pending){ param_opts[c - OPT_PARAM].opt,
			                               param_opts[c - OPT_PARAM].param, optarg };
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s' (input is stdin)", argv[optind]);
	o->model = cli_model(o->model);
	return 0;
}

/* The model's defaults, then the options over them. */
static int settle_params(Options *o)
{
	int rc;

	/* a GGUF file has no generation_config: the model card's values */
	if (o->model && !gguf_is_file(o->model) && (rc = sample_params_load(&o->p, o->model)))
		return cli_fail(rc);
	for (size_t i = 0; i < o->nset; i++) {
		double v;
		if (parse_double(o->set[i].arg, &v))
			return cli_usage_error("--%s: '%s' is not a number", o->set[i].opt, o->set[i].arg);
		if (sample_param_set(&o->p, o->set[i].param, v))
			return cli_usage_error("--%s: %s", o->set[i].opt, err_msg());
	}
	return 0;
}

static uint64_t random_seed(void)
{
	uint64_t seed;
	struct timespec t;

	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == sizeof seed)
		return seed;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000007u ^ (uint64_t)t.tv_nsec ^ (uint64_t)getpid() << 32;
}

static void print_params(const SampleParams *p)
{
	fprintf(stderr, "%s: seed=%" PRIu64 " temperature=%g top_k=%d top_p=%g min_p=%g"
	        " repetition_penalty=%g repeat_last_n=%d presence_penalty=%g"
	        " frequency_penalty=%g logit_bias=%zu\n",
	        cli_prog(), p->seed, p->temperature, (int)p->top_k, p->top_p, p->min_p,
	        p->repeat_penalty, (int)p->repeat_last_n, p->presence_penalty,
	        p->frequency_penalty, p->nbias);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---- the stream --------------------------------------------------------- */

/* One id record per frame until the end of input. *ntok and *ms count the
 * ids chosen and the time spent choosing them. */
static int run(Sampler *s, StreamReader *r, StreamWriter *w, uint64_t *ntok, double *ms)
{
	uint64_t frame = 0;
	char where[64];
	int rc;

	for (;;) {
		Record rec;
		int32_t id;
		if ((rc = stream_read(r, &rec, 0)))
			return rc;
		if (rec.kind == REC_EOF)
			return 0;
		frame++;
		if (rec.n == 0) {
			sampler_reset(s);
			if ((rc = stream_write_end(w, 0)))
				return rc;
			continue;
		}
		if (rec.kind == REC_TOKENS)
			return err(ERR_DATA, "<stdin>: frame %" PRIu64 " (%s): token ids where logits were expected",
			           frame, stream_where(r, where, sizeof where));
		double t0 = now_ms();
		rc = sampler_next(s, rec.kind == REC_TOP ? rec.ids : NULL, rec.vals, rec.n, &id);
		*ms += now_ms() - t0;
		if (rc)
			return err_prefix(rc, "<stdin>: frame %" PRIu64 " (%s)", frame,
			                  stream_where(r, where, sizeof where));
		if ((rc = stream_write_tokens(w, &id, 1)))
			return rc;
		++*ntok;
	}
}

int main(int argc, char **argv)
{
	Options o = { 0 };
	StreamWriter w;
	StreamReader *r = NULL;
	Sampler *s = NULL;
	uint64_t ntok = 0;
	double ms = 0;
	int rc;

	cli_init(argv[0]);
	sample_params_default(&o.p);
	if (!(o.set = calloc((size_t)argc, sizeof *o.set)))
		return cli_fail(err(ERR_IO, "out of memory"));
	rc = parse_args(argc, argv, &o);
	if (!rc)
		rc = settle_params(&o);
	if (rc) {
		free(o.set);
		sample_params_free(&o.p);
		return rc < 0 ? 0 : rc;
	}
	if (!o.seeded)
		o.p.seed = random_seed();
	if (o.verbose)
		print_params(&o.p);
	if ((rc = stream_writer_init(&w, stdout, "<stdout>", o.binary, o.force)) ||
	    (rc = sampler_new(&s, &o.p)))
		goto out;
	if (!(r = stream_reader_new(stdin, "<stdin>"))) {
		rc = err(ERR_IO, "out of memory");
		goto out;
	}
	rc = run(s, r, &w, &ntok, &ms);
	if (!rc && o.verbose)
		fprintf(stderr, "sample: %" PRIu64 " tokens, %.2f ms, %.3f ms/token\n",
		        ntok, ms, ntok ? ms / ntok : 0.0);
out:
	stream_reader_free(r);
	sampler_free(s);
	sample_params_free(&o.p);
	free(o.set);
	return rc ? cli_fail(rc) : 0;
}
