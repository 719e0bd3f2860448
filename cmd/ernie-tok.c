/* ernie-tok: text in, token stream out (the SentencePiece model of an ERNIE
 * model directory, with its special tokens). See man/ernie-tok.1. */
#include "cli.h"
#include "base/err.h"
#include "stream/stream.h"
#include "model/gguf_vocab.h"
#include "text/tokenizer.h"

#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_FORMAT = 256, OPT_PIECES, OPT_NO_SPECIAL, OPT_BOS, OPT_EOS, OPT_VERSION };

static const struct option long_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "lines", no_argument, NULL, 'l' },
	{ "null", no_argument, NULL, '0' },
	{ "binary", no_argument, NULL, 'b' },
	{ "force", no_argument, NULL, 'f' },
	{ "output_format", required_argument, NULL, OPT_FORMAT },
	{ "output-format", required_argument, NULL, OPT_FORMAT },
	{ "pieces", no_argument, NULL, OPT_PIECES },
	{ "no-parse-special", no_argument, NULL, OPT_NO_SPECIAL },
	{ "add-bos", no_argument, NULL, OPT_BOS },
	{ "add-eos", no_argument, NULL, OPT_EOS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

typedef struct {
	const char *model;      /* -m DIR or FILE.model, or $ERNIE_MODEL */
	int delim;              /* document separator: '\n' (-l), '\0' (-0), -1 whole input */
	int binary, force, pieces, parse_special, bos, eos;
	int verbose;            /* -v: stats on stderr */
} Options;

typedef struct {
	Tokenizer *t;
	const Options *o;
	StreamWriter w;         /* stdout */
	StreamInput in;         /* the input being read */
	int nul_warned;         /* said once that a NUL was read without -0 */
	TokList toks;
	int32_t bos, eos;
	size_t bytes, tokens;   /* encoded so far, for -v */
} Run;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-m DIR | -m FILE.model] [options] [FILE...]\n"
		"Encode text into token ids with an ERNIE (SentencePiece) tokenizer.\n"
		"The whole input is one document and one token record, unless -l or -0.\n"
		"  -m, --model PATH        model directory, SentencePiece .model or GGUF file\n"
		"                          (default $ERNIE_MODEL)\n"
		"  -l, --lines             each line is a document (like spm_encode; not with -0)\n"
		"  -0, --null              documents are NUL-separated; each record is\n"
		"                          followed by an empty record (end of sequence);\n"
		"                          without it a NUL is text, with a warning\n"
		"  -b, --binary            write binary ETOK frames\n"
		"  -f, --force             write binary even to a terminal\n"
		"      --output_format=id|piece, --pieces\n"
		"                          write ids (default) or pieces (text form only)\n"
		"      --no-parse-special  encode special-token text as plain text\n"
		"      --add-bos, --add-eos  add the model's <s> / </s> to each document\n"
		"  -v, --verbose           print load and encode stats on stderr\n"
		"  -h, --help              this help\n"
		"      --version           print the version\n",
		cli_prog());
}

static int parse_args(int argc, char **argv, Options *o)
{
	*o = (Options){ .delim = -1, .parse_special = 1 };
	int c, lines = 0, null = 0;
	opterr = 0;     /* our own one-line message */
	while ((c = getopt_long(argc, argv, ":m:l0bfvh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'l': o->delim = '\n'; lines = 1; break;
		case '0': o->delim = '\0'; null = 1; break;
		case 'b': o->binary = 1; break;
		case 'f': o->force = 1; break;
		case 'v': o->verbose = 1; break;
		case OPT_PIECES: o->pieces = 1; break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "piece"))
				o->pieces = 1;
			else if (!strcmp(optarg, "id"))
				o->pieces = 0;
			else
				return cli_usage_error("--output_format: '%s' is not id or piece", optarg);
			break;
		case OPT_NO_SPECIAL: o->parse_special = 0; break;
		case OPT_BOS: o->bos = 1; break;
		case OPT_EOS: o->eos = 1; break;
		case 'h': usage(stdout); return CLI_DONE;
		case OPT_VERSION: return cli_version();
		case ':': return cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
		default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (lines && null)
		return cli_usage_error("-l and -0 cut documents two ways: give one");
	if (o->pieces && o->binary)
		return cli_usage_error("pieces are written in text form only (drop -b)");
	o->model = cli_model(o->model);
	if (!o->model)
		return cli_usage_error("no model: give -m DIR (or a .model file) or set ERNIE_MODEL");
	return 0;
}

/* ---- output ------------------------------------------------------------ */

static int write_pieces(Run *r)
{
	const TokList *l = &r->toks;
	size_t start = 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < l->n; i++) {
		if (i)
			rc = stream_write_bytes(&r->w, " ", 1);
		if (!rc)
			rc = stream_write_bytes(&r->w, l->pieces.s + start, l->ends[i] - start);
		start = l->ends[i];
	}
	if (!rc)
		rc = stream_write_bytes(&r->w, "\n", 1);
	return rc ? rc : stream_end_record(&r->w);
}

static int add_named(Run *r, int32_t id)
{
	size_t len;
	const char *text = tok_id_text(r->t, id, &len);
	return toklist_push(&r->toks, id, text, len);
}

static int document(Run *r, const char *text, size_t len)
{
	const Options *o = r->o;
	TokList *l = &r->toks;
	toklist_clear(l);
	int rc = 0;
	if (o->bos)
		rc = add_named(r, r->bos);
	if (!rc)
		rc = tok_encode(r->t, text, len, o->parse_special, l);
	if (!rc && o->eos)
		rc = add_named(r, r->eos);
	if (!rc && l->n > STREAM_MAX_COUNT)
		rc = err(ERR_DATA, "document of %zu tokens: over the stream's %u per record", l->n,
		         STREAM_MAX_COUNT);
	if (rc)
		return rc;
	r->bytes += len;
	r->tokens += l->n;
	if (o->delim != '\0' && !r->nul_warned && memchr(text, 0, len)) {
		fprintf(stderr, "%s: warning: %s: NUL bytes encoded as text (give -0 if they "
		        "separate documents)\n", cli_prog(), r->in.name);
		r->nul_warned = 1;
	}
	/* -0: the record, then an empty record to end the sequence; an empty
	 * document is that empty record alone */
	if (o->delim == '\0' && l->n == 0)
		return stream_write_end(&r->w, 0);
	rc = o->pieces ? write_pieces(r) : stream_write_tokens(&r->w, l->ids, (uint32_t)l->n);
	if (!rc && o->delim == '\0')
		rc = stream_write_end(&r->w, 0);
	return rc;
}

/* ---- input ------------------------------------------------------------ */

/* Each file (or stdin) in turn: with -l or -0 its documents are encoded as
 * they are cut out; without, the files are read up to the end, one document. */
static int each_input(Run *r, int argc, char **argv)
{
	int nfiles = argc > 0 ? argc : 1, rc = 0;
	for (int i = 0; !rc && i < nfiles; i++) {
		const char *path = argc > 0 ? argv[i] : "-";
		int std = !strcmp(path, "-");
		int fd = std ? STDIN_FILENO : open(path, O_RDONLY);
		if (fd < 0)
			return err_errno(ERR_IO, "%s", path);
		stream_input_next_fd(&r->in, fd, std ? "<stdin>" : path);
		const char *doc;
		size_t len;
		int got = 1;
		if (r->o->delim < 0)
			while (!rc && !r->in.eof)
				rc = stream_input_fill(&r->in);
		else
			while (!rc && got && !(rc = stream_input_until(&r->in, r->o->delim, &doc, &len, &got)) && got)
				rc = document(r, doc, len);
		if (!std)
			close(fd);
	}
	if (!rc && r->o->delim < 0)
		rc = document(r, r->in.buf ? r->in.buf + r->in.pos : "", r->in.len - r->in.pos);
	return rc;
}

static double now_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	Options o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == CLI_DONE ? 0 : rc;
	Run r = { .o = &o };
	r.toks.want_pieces = o.pieces;
	stream_writer_init(&r.w, STDOUT_FILENO, "<stdout>", o.binary);
	stream_input_init(&r.in, STDIN_FILENO, "<stdin>", &r.w);
	rc = cli_binary_out(o.binary, o.force);
	double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	if (!rc)
		rc = tokenizer_open(&r.t, o.model);
	double t1 = now_ms(CLOCK_MONOTONIC), c1 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	if (!rc) {
		r.bos = tok_bos(r.t);
		r.eos = tok_eos(r.t);
		if ((o.bos && r.bos < 0) || (o.eos && r.eos < 0))
			rc = err(ERR_DATA, "%s: the model has no %s piece", o.model,
				 o.bos && r.bos < 0 ? "BOS" : "EOS");
	}
	if (!rc)
		rc = each_input(&r, argc - optind, argv + optind);
	/* the records of the documents before a failing one go out too */
	int rc2 = stream_writer_close(&r.w);
	if (!rc)
		rc = rc2;
	stream_input_free(&r.in);
	if (!rc && o.verbose) {
		double ms = now_ms(CLOCK_MONOTONIC) - t1;
		fprintf(stderr, "load: %ld pieces, %.2f ms, %.2f ms CPU\n", (long)r.t->nids, t1 - t0, c1 - c0);
		fprintf(stderr, "encode: %zu bytes, %zu tokens, %.1f ms, %.2f MB/s\n", r.bytes, r.tokens,
		        ms, ms > 0 ? r.bytes / ms / 1e3 : 0);
	}
	toklist_free(&r.toks);
	tok_free(r.t);
	return rc ? cli_fail(rc) : 0;
}
