/* ernie-detok: token stream in, text out, written as soon as it is whole
 * UTF-8 so a generation streams. See man/ernie-detok.1. */
#define _GNU_SOURCE     /* fopencookie (glibc, musl): see Input below */
#include "cli.h"
#include "base/err.h"
#include "stream/stream.h"
#include "model/gguf_vocab.h"
#include "text/tokenizer.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
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
	char end;               /* written at the end of a sequence: '\n' or '\0' (-0) */
} Options;

/* Output of one sequence. In the default (model card) mode the answer's
 * leading newlines are dropped and trailing ones held back until more text
 * shows they were not trailing. */
typedef struct {
	const Options *o;
	Detok d;
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
		"  -m, --model PATH        model directory, SentencePiece .model or GGUF file\n"
		"                          (default $ERNIE_MODEL)\n"
		"      --raw               keep special tokens and newlines (exact round trip)\n"
		"      --skip-special      drop special tokens (also with --raw)\n"
		"      --input_format=id|piece  ids (default) or lines of pieces\n"
		"  -0, --null              end each sequence with NUL instead of newline\n"
		"  -h, --help              this help\n"
		"      --version           print the version\n",
		cli_prog());
}

static int parse_args(int argc, char **argv, Options *o, int *done)
{
	*o = (Options){ .end = '\n' };
	int c;
	opterr = 0;     /* our own one-line message */
	while ((c = getopt_long(argc, argv, ":m:0h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case '0': o->end = '\0'; break;
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
		case 'h': usage(stdout); *done = 1; return 0;
		case OPT_VERSION: cli_version(); *done = 1; return 0;
		case ':': return cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
		default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
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
	FILE *f = stdout;
	if (w->o->raw) {
		fwrite(w->text.s, 1, w->text.len, f);
	} else {
		for (size_t i = 0; i < w->text.len; i++) {
			char c = w->text.s[i];
			if (c == '\n') {
				w->held += w->started;
				continue;
			}
			for (; w->held; w->held--)
				putc('\n', f);
			putc(c, f);
			w->started = 1;
		}
	}
	w->text.len = 0;
	return cli_flush(f, "<stdout>");
}

static int end_sequence(Out *w)
{
	int rc = detok_end(&w->d, &w->text);
	if (!rc)
		rc = drain(w);
	w->started = 0;
	w->held = 0;
	putc(w->o->end, stdout);
	return rc ? rc : cli_flush(stdout, "<stdout>");
}

/* ---- input ------------------------------------------------------------ */

/* Standard input through an unbuffered FILE over a buffer of our own, so we
 * know when everything that has arrived has been read. Text is written
 * then (a generation streams); while more input is already waiting, it is
 * held, so a bad id further on leaves nothing of its sequence on stdout. */
typedef struct {
	int fd;
	char buf[1 << 16];
	size_t pos, len;        /* unread bytes: buf[pos..len) */
} Input;

static ssize_t input_read(void *cookie, char *out, size_t n)
{
	Input *in = cookie;
	if (in->pos == in->len) {
		ssize_t k;
		do
			k = read(in->fd, in->buf, sizeof in->buf);
		while (k < 0 && errno == EINTR);
		if (k <= 0)
			return k;
		in->pos = 0;
		in->len = (size_t)k;
	}
	size_t m = in->len - in->pos < n ? in->len - in->pos : n;
	memcpy(out, in->buf + in->pos, m);
	in->pos += m;
	return (ssize_t)m;
}

/* Would the next read wait for the writer? */
static int input_idle(Input *in)
{
	if (in->pos < in->len)
		return 0;
	struct pollfd p = { .fd = in->fd, .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}

static int decode_ids(Out *w)
{
	static Input in;
	in.fd = STDIN_FILENO;
	FILE *f = fopencookie(&in, "r", (cookie_io_functions_t){ .read = input_read });
	if (!f || setvbuf(f, NULL, _IONBF, 0))
		return err(ERR_IO, "<stdin>: cannot set up reading");
	StreamReader *r = stream_reader_new(f, "<stdin>");
	if (!r) {
		fclose(f);
		return err(ERR_IO, "out of memory");
	}
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
			if (!rc && w->text.len && (w->text.len > HOLD_MAX || input_idle(&in)))
				rc = drain(w);
		}
		if (rc)
			break;
	}
	stream_reader_free(r);
	fclose(f);
	return rc;
}

/* spm_decode --input_format=piece: each line is one sequence of pieces. */
static int decode_pieces(Out *w)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (!rc && (n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		for (ssize_t i = 0; !rc && i < n;) {
			ssize_t j = i;
			while (j < n && line[j] != ' ')
				j++;
			if (j > i)
				rc = detok_put_piece(&w->d, line + i, (size_t)(j - i), &w->text);
			i = j + 1;
		}
		if (!rc)
			rc = end_sequence(w);
	}
	if (!rc && ferror(stdin))
		rc = err_errno(ERR_IO, "<stdin>: read error");
	free(line);
	return rc;
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	Options o;
	int done = 0, rc = parse_args(argc, argv, &o, &done);
	if (rc || done)
		return rc;
	Tokenizer *t;
	if ((rc = tokenizer_open(&t, o.model)))
		return cli_fail(rc);
	Out w = { .o = &o };
	detok_init(&w.d, t, o.raw && !o.skip);
	rc = o.pieces ? decode_pieces(&w) : decode_ids(&w);
	free(w.text.s);
	tok_free(t);
	return rc ? cli_fail(rc) : 0;
}
