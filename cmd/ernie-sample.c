/* ernie-sample: logit stream in, token stream out: one id per frame, chosen
 * with temperature, top-k, top-p, min-p, penalties and a seeded RNG.
 * See man/ernie-sample.1; the steps are in lib/sample/sample.h. */
#include "cli.h"
#include "sample_opts.h"
#include "base/err.h"
#include "sample/sample.h"
#include "stream/stream.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

enum { OPT_VERSION = 256 };

static const struct option other_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "binary", no_argument, NULL, 'b' },
	{ "force", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
};
#define NOTHER (sizeof other_opts / sizeof other_opts[0])

typedef struct {
	SampleOpts so;
	const char *model;      /* -m, or $ERNIE_MODEL */
	int binary, force, verbose;
} Options;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] < logits > tokens\n"
		"Choose one token id for each frame of logits (ELOG or ETOP); an empty frame\n"
		"ends a sequence and passes on as an empty record.\n"
		"\n"
		"  -m, --model DIR             defaults from DIR/generation_config.json (a GGUF\n"
		"                              file: the model card's)\n"
		"                              (default DIR: $ERNIE_MODEL)\n"
		"  -b, --binary                write ETOK frames instead of text\n"
		"  -f, --force                 write binary even to a terminal\n"
		"  -v, --verbose               print the seed and parameters, and a stats line\n"
		"  -h, --help                  this help\n"
		"      --version               print the version\n", cli_prog());
	sample_opts_usage(f);
}

/* Parse argv into o. Returns 0, CLI_DONE after --help/--version, or an ERR_* code
 * (the message already printed). */
static int parse_args(int argc, char **argv, Options *o)
{
	struct option longopts[SAMPLE_OPTS_MAX + NOTHER + 1];
	int n = sample_opts_longopts(longopts), c, longi, rc;
	memcpy(longopts + n, other_opts, sizeof other_opts);
	longopts[n + NOTHER] = (struct option){ 0 };
	opterr = 0;     /* one message, ours */
	while (longi = -1, (c = getopt_long(argc, argv, ":s:m:bfvh", longopts, &longi)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'b': o->binary = 1; break;
		case 'f': o->force = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout); return CLI_DONE;
		case OPT_VERSION: return cli_version();
		case ':':
			return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				return cli_usage_error("unknown option '-%c'", optopt);
			return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			if ((rc = sample_opts_take(&o->so, c, longi >= 0 ? longopts[longi].name : NULL,
						   optarg)))
				return rc;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s' (input is stdin)", argv[optind]);
	o->model = cli_model(o->model);
	return 0;
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
	SampleParams p = { 0 };
	StreamWriter w;
	StreamReader *r = NULL;
	Sampler *s = NULL;
	uint64_t ntok = 0;
	double ms = 0;

	cli_init(argv[0]);
	int rc = parse_args(argc, argv, &o);
	stream_writer_init(&w, STDOUT_FILENO, "<stdout>", o.binary);
	if (rc) {
		sample_opts_free(&o.so);
		return rc == CLI_DONE ? 0 : rc;
	}
	if ((rc = sample_opts_settle(&o.so, o.model, &p)))
		goto out;
	if (o.verbose)
		sample_opts_print(&p);
	if ((rc = cli_binary_out(o.binary, o.force)) || (rc = sampler_new(&s, &p)))
		goto out;
	if (!(r = stream_reader_new(STDIN_FILENO, "<stdin>", &w))) {
		rc = err(ERR_IO, "out of memory");
		goto out;
	}
	rc = run(s, r, &w, &ntok, &ms);
	if (!rc && o.verbose)
		fprintf(stderr, "sample: %" PRIu64 " tokens, %.2f ms, %.3f ms/token\n",
		        ntok, ms, ntok ? ms / ntok : 0.0);
out:
	if (!rc)
		rc = stream_writer_close(&w);
	else
		stream_writer_close(&w);
	stream_reader_free(r);
	sampler_free(s);
	sample_params_free(&p);
	sample_opts_free(&o.so);
	return rc ? cli_fail(rc) : 0;
}
