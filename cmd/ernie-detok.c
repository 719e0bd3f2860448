/* ernie-detok: token stream in, text out, written as soon as it is whole
 * UTF-8 so a generation streams. See man/ernie-detok.1. */
#include "cli.h"
#include "base/err.h"
#include "stream/stream.h"
#include "text/tokenizer.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOLD_MAX (1 << 20)      /* decoded bytes held back at most */

enum { OPT_FORMAT = 256, OPT_RAW, OPT_SKIP, OPT_VERSION };

static const struct option long_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "null", no_argument, NULL, '0' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "skip-special", no_argument, NULL, OPT_SKIP },
	{ "input_format", required_argument, NULL, OPT_FORMAT },
	{ "input-format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

typedef struct {
	const char *model;      /* -m DIR or FILE.model, or $ERNIE_MODEL */
	int raw;                /* keep specials and newlines */
	int skip;               /* drop specials even with --raw */
	int pieces;             /* input is lines of pieces */
	int end;                /* written at the end of a sequence: '\n', '\0' (-0),
	                           or nothing (-1: --raw without -0) */
} Options;

/* Output of one sequence. In the default (model card) mode the answer's
 * leading newlines are dropped and trailing ones held back until more text
 * shows they were not trailing. */
typedef struct {
	const Options *o;
	Detok d;
	StreamWriter w;         /* stdout */
	int nul_warned;         /* said once that -0's NUL is in the text too */
	ByteBuf text;           /* decoded, not yet written */
	int started;            /* some non-newline byte written in this sequence */
	size_t held;            /* newlines held back */
} Out;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-m DIR | -m FILE.model] [options] [< tokens]\n"
		"Decode a token stream (text or binary) into text, as it arrives.\n"
		"By default special tokens are skipped and the answer's leading and\n"
		"trailing newlines dropped, as the model card's decode does.\n"
		"  -m, --model PATH        model directory, or a SentencePiece .model file\n"
		"                          (default $ERNIE_MODEL)\n"
		"      --raw               keep special tokens and newlines, and add no\n"
		"                          newline at the end (exact round trip)\n"
		"      --skip-special      drop special tokens (also with --raw)\n"
		"      --input_format=id|piece  ids (default) or lines of pieces\n"
		"  -0, --null              end each sequence with NUL (also with --raw)\n"
		"  -h, --help              this help\n"
		"      --version           print the version\n",
		cli_prog());
}

static int parse_args(int argc, char **argv, Options *o)
{
	*o = (Options){ .end = '\n' };
	int null = 0;
	int c;
	opterr = 0;     /* our own one-line message */
	while ((c = getopt_long(argc, argv, ":m:0h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case '0': null = 1; break;
		case OPT_RAW: o->raw = 1; break;
		case OPT_SKIP: o->skip = 1; break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "piece"))
				o->pieces = 1;
			else if (!strcmp(optarg, "id"))
				o->pieces = 0;
			else
				return cli_usage_error("--input_format: '%s' is not id or piece", optarg);
			break;
		case 'h': usage(stdout); return CLI_DONE;
		case OPT_VERSION: return cli_version();
		case ':': return cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
		default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (null)
		o->end = '\0';
	else if (o->raw)
		o->end = -1;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s': the tokens come on standard input", argv[optind]);
	o->model = cli_model(o->model);
	if (!o->model)
		return cli_usage_error("no model: give -m DIR (or a .model file) or set ERNIE_MODEL");
	return 0;
}

/* ---- output ----------------------------------------------------------- */

/* Write what was decoded, holding back newlines in model-card mode. */
static int drain(Out *w)
{
	const char *s = w->text.s;
	size_t n = w->text.len;
	int rc = 0;
	if (w->o->end == '\0' && !w->nul_warned && n && memchr(s, 0, n)) {
		fprintf(stderr, "%s: warning: the decoded text holds NUL bytes, which -0 "
		        "writes at the end of a sequence too\n", cli_prog());
		w->nul_warned = 1;
	}
	if (w->o->raw) {
		rc = stream_write_bytes(&w->w, s, n);
	} else {
		for (size_t i = 0; !rc && i < n;) {
			if (s[i] == '\n') {
				w->held += w->started;
				i++;
				continue;
			}
			size_t j = i;
			while (j < n && s[j] != '\n')
				j++;
			for (; !rc && w->held; w->held--)
				rc = stream_write_bytes(&w->w, "\n", 1);
			if (!rc)
				rc = stream_write_bytes(&w->w, s + i, j - i);
			w->started = 1;
			i = j;
		}
	}
	w->text.len = 0;
	return rc ? rc : stream_end_record(&w->w);
}

static int end_sequence(Out *w)
{
	int rc = detok_end(&w->d, &w->text);
	if (!rc)
		rc = drain(w);
	w->started = 0;
	w->held = 0;
	char end = (char)w->o->end;
	if (!rc && w->o->end >= 0)
		rc = stream_write_bytes(&w->w, &end, 1);
	return rc ? rc : stream_end_record(&w->w);
}

/* ---- input ------------------------------------------------------------ */

/* Text is written once everything that has arrived is decoded (a generation
 * streams); while more input is already waiting it is held, so a bad id
 * further on leaves nothing of its sequence on stdout. */
static int decode_ids(Out *w)
{
	StreamReader *r = stream_reader_new(STDIN_FILENO, "<stdin>", &w->w);
	if (!r)
		return err(ERR_IO, "out of memory");
	int rc = 0, open = 0;
	for (;;) {
		int32_t id;
		int end, empty;
		RecKind kind;
		if ((rc = stream_read_id(r, &id, &end, &empty, &kind)))
			break;
		if (kind == REC_EOF) {
			if (open)
				rc = end_sequence(w);
			break;
		}
		if (end) {
			if (empty) {
				rc = end_sequence(w);
				open = 0;
			}
		} else {
			open = 1;
			rc = detok_put(&w->d, id, &w->text);
			if (rc) {
				char where[64];
				rc = err_prefix(rc, "<stdin>: %s", stream_where(r, where, sizeof where));
			}
			if (!rc && w->text.len && (w->text.len > HOLD_MAX || stream_reader_idle(r)))
				rc = drain(w);
		}
		if (rc)
			break;
	}
	stream_reader_free(r);
	return rc;
}

/* spm_decode --input_format=piece: each line is one sequence of pieces. */
static int decode_pieces(Out *w)
{
	StreamInput in;
	stream_input_init(&in, STDIN_FILENO, "<stdin>", &w->w);
	const char *line;
	size_t n;
	int got = 1, rc = 0;
	while (!rc && !(rc = stream_input_until(&in, '\n', &line, &n, &got)) && got) {
		for (size_t i = 0; !rc && i < n;) {
			size_t j = i;
			while (j < n && line[j] != ' ')
				j++;
			if (j > i)
				rc = detok_put_piece(&w->d, line + i, j - i, &w->text);
			i = j + 1;
		}
		if (!rc)
			rc = end_sequence(w);
	}
	stream_input_free(&in);
	return rc;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	Options o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == CLI_DONE ? 0 : rc;
	Tokenizer *t;
	if ((rc = tok_load(&t, o.model)))
		return cli_fail(rc);
	Out w = { .o = &o };
	stream_writer_init(&w.w, STDOUT_FILENO, "<stdout>", 0);
	detok_init(&w.d, t, o.raw && !o.skip);
	rc = o.pieces ? decode_pieces(&w) : decode_ids(&w);
	int rc2 = stream_writer_close(&w.w);
	if (!rc)
		rc = rc2;
	free(w.text.s);
	tok_free(t);
	return rc ? cli_fail(rc) : 0;
}
