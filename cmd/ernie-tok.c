/* ernie-tok: text in, token stream out (the SentencePiece model of an ERNIE
 * model directory, with its special tokens). See man/ernie-tok.1. */
#include "cli.h"
#include "err.h"
#include "stream.h"
#include "tokenizer.h"

#include <getopt.h>
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
	StreamWriter w;
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
		"  -m, --model PATH        model directory, or a SentencePiece .model file\n"
		"                          (default $ERNIE_MODEL)\n"
		"  -l, --lines             each line is a document (like spm_encode)\n"
		"  -0, --null              documents are NUL-separated; each record is\n"
		"                          followed by an empty record (end of sequence)\n"
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

static int parse_args(int argc, char **argv, Options *o, int *done)
{
	*o = (Options){ .delim = -1, .parse_special = 1 };
	int c;
	opterr = 0;     /* our own one-line message */
	while ((c = getopt_long(argc, argv, ":m:l0bfvh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'l': o->delim = '\n'; break;
		case '0': o->delim = '\0'; break;
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
		case 'h': usage(stdout); *done = 1; return 0;
		case OPT_VERSION: cli_version(); *done = 1; return 0;
		case ':': return cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
		default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o->pieces && o->binary)
		return cli_usage_error("pieces are written in text form only (drop -b)");
	if (!o->model && getenv("ERNIE_MODEL") && *getenv("ERNIE_MODEL"))
		o->model = getenv("ERNIE_MODEL");
	if (!o->model)
		return cli_usage_error("no model: give -m DIR (or a .model file) or set ERNIE_MODEL");
	return 0;
}

/* ---- output ------------------------------------------------------------ */

static int write_pieces(Run *r)
{
	const TokList *l = &r->toks;
	FILE *f = r->w.f;
	size_t start = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			putc(' ', f);
		fwrite(l->pieces.s + start, 1, l->ends[i] - start, f);
		start = l->ends[i];
	}
	putc('\n', f);
	return cli_flush(f, r->w.name);
}

static int add_named(Run *r, int32_t id)
{
	size_t len;
	const char *text = tok_id_text(r->t, id, &len);
	TokList *l = &r->toks;
	/* encode the piece text with specials parsed: it is a control piece, so one id */
	size_t before = l->n;
	int rc = tok_encode(r->t, text, len, 1, l);
	if (!rc && (l->n != before + 1 || l->ids[before] != id))
		rc = err(ERR_DATA, "%s: BOS/EOS piece '%s' is not a special token", r->o->model, text);
	return rc;
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
	/* -0: the record, then an empty record to end the sequence; an empty
	 * document is that empty record alone */
	if (o->delim == '\0' && l->n == 0)
		return stream_write_end(&r->w, 0);
	rc = o->pieces ? write_pieces(r) : stream_write_tokens(&r->w, l->ids, (uint32_t)l->n);
	if (!rc && o->delim == '\0')
		rc = stream_write_end(&r->w, 0);
	return rc;
}

/* ---- input ----------------------------------------------------------------- */

/* Documents separated by delim, from one input; a last one without the
 * separator counts too. */
static int split_input(Run *r, FILE *f, const char *name, int delim)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (!rc && (n = getdelim(&line, &cap, delim, f)) >= 0) {
		if (n > 0 && line[n - 1] == (char)delim)
			n--;
		rc = document(r, line, (size_t)n);
	}
	if (!rc && ferror(f))
		rc = err_errno(ERR_IO, "%s: read error", name);
	free(line);
	return rc;
}

static int slurp(FILE *f, const char *name, ByteBuf *all)
{
	for (;;) {
		int rc = bytebuf_reserve(all, 1 << 16);
		if (rc)
			return rc;
		size_t k = fread(all->s + all->len, 1, all->cap - all->len, f);
		all->len += k;
		if (k == 0)
			return ferror(f) ? err_errno(ERR_IO, "%s: read error", name) : 0;
	}
}

static int each_input(Run *r, int argc, char **argv, ByteBuf *all)
{
	int nfiles = argc > 0 ? argc : 1;
	for (int i = 0; i < nfiles; i++) {
		const char *path = argc > 0 ? argv[i] : "-";
		int std = !strcmp(path, "-");
		FILE *f = std ? stdin : fopen(path, "rb");
		if (!f)
			return err_errno(ERR_IO, "%s", path);
		const char *name = std ? "<stdin>" : path;
		int rc = r->o->delim < 0 ? slurp(f, name, all) : split_input(r, f, name, r->o->delim);
		if (!std)
			fclose(f);
		if (rc)
			return rc;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	Options o;
	int done = 0, rc = parse_args(argc, argv, &o, &done);
	if (rc || done)
		return rc;
	Run r = { .o = &o };
	r.toks.want_pieces = o.pieces;
	if ((rc = stream_writer_init(&r.w, stdout, "<stdout>", o.binary, o.force)))
		return cli_fail(rc);
	double t0 = now_ms();
	if ((rc = tok_load(&r.t, o.model)))
		return cli_fail(rc);
	double t1 = now_ms();
	r.bos = tok_bos(r.t);
	r.eos = tok_eos(r.t);
	if ((o.bos && r.bos < 0) || (o.eos && r.eos < 0))
		rc = err(ERR_DATA, "%s: the model has no %s piece", o.model, o.bos && r.bos < 0 ? "BOS" : "EOS");
	ByteBuf all = { 0 };
	if (!rc)
		rc = each_input(&r, argc - optind, argv + optind, &all);
	if (!rc && o.delim < 0)
		rc = document(&r, all.s ? all.s : "", all.len);
	free(all.s);
	if (!rc && o.verbose) {
		double ms = now_ms() - t1;
		fprintf(stderr, "load: %ld pieces, %.2f ms\n", (long)r.t->nids, t1 - t0);
		fprintf(stderr, "encode: %zu bytes, %zu tokens, %.1f ms, %.2f MB/s\n", r.bytes, r.tokens,
		        ms, ms > 0 ? r.bytes / ms / 1e3 : 0);
	}
	toklist_free(&r.toks);
	tok_free(r.t);
	return rc ? cli_fail(rc) : 0;
}
