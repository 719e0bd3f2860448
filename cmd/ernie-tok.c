/* ernie-tok: text in, token stream out (the SentencePiece model of an ERNIE
 * model directory, with its special tokens). See man/ernie-tok.1. */
#define _GNU_SOURCE     /* fopencookie (glibc, musl): see "input and output" */
#include "cli.h"
#include "base/err.h"
#include "stream/stream.h"
#include "model/gguf_vocab.h"
#include "text/tokenizer.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
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
		"  -m, --model PATH        model directory, SentencePiece .model or GGUF file\n"
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
	o->model = cli_model(o->model);
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
	/* -0: the record, then an empty record to end the sequence; an empty
	 * document is that empty record alone */
	if (o->delim == '\0' && l->n == 0)
		return stream_write_end(&r->w, 0);
	rc = o->pieces ? write_pieces(r) : stream_write_tokens(&r->w, l->ids, (uint32_t)l->n);
	if (!rc && o->delim == '\0')
		rc = stream_write_end(&r->w, 0);
	return rc;
}

/* ---- input and output -------------------------------------------------
 *
 * The stream writer flushes each record so that a reader can act on it at
 * once. That matters when the input trickles in; when it is all there, a
 * write() per line costs more than the encoding. So stdout is a FILE over a
 * buffer of our own that holds the flushed records until it is full or until
 * we are about to wait for input; documents are cut out of a read() buffer.
 */

#define IO_CHUNK (1 << 16)

static ByteBuf held;            /* records flushed but not yet written */

static int release(void)
{
	for (size_t done = 0; done < held.len;) {
		ssize_t k = write(STDOUT_FILENO, held.s + done, held.len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		done += (size_t)k;
	}
	held.len = 0;
	return 0;
}

static ssize_t out_write(void *cookie, const char *p, size_t n)
{
	(void)cookie;
	if (bytebuf_add(&held, p, n) || (held.len >= IO_CHUNK && release()))
		return -1;
	return (ssize_t)n;
}

typedef struct {
	int fd;
	const char *name;       /* for messages */
	ByteBuf buf;            /* unread input: buf.s[pos..buf.len) */
	size_t pos;
	int eof;
} Input;

/* Read more; write out what is held first if the read would wait. */
static int fill(Input *in)
{
	struct pollfd p = { .fd = in->fd, .events = POLLIN };
	if (held.len && poll(&p, 1, 0) == 0 && release())
		return err_errno(ERR_IO, "<stdout>: write error");
	if (in->pos) {          /* keep only the unread bytes */
		memmove(in->buf.s, in->buf.s + in->pos, in->buf.len - in->pos);
		in->buf.len -= in->pos;
		in->pos = 0;
	}
	int rc = bytebuf_reserve(&in->buf, IO_CHUNK);
	if (rc)
		return rc;
	ssize_t k;
	do
		k = read(in->fd, in->buf.s + in->buf.len, in->buf.cap - in->buf.len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return err_errno(ERR_IO, "%s: read error", in->name);
	in->buf.len += (size_t)k;
	in->eof = k == 0;
	return 0;
}

/* The next document up to delim (or the whole input, delim < 0) in *doc,
 * *len; *got is 0 at the end. *doc is valid until the next call. */
static int next_doc(Input *in, int delim, const char **doc, size_t *len, int *got)
{
	size_t scanned = 0;
	for (;;) {
		const char *start = in->buf.s + in->pos, *end = NULL;
		size_t avail = in->buf.len - in->pos;
		if (delim >= 0 && avail > scanned)
			end = memchr(start + scanned, delim, avail - scanned);
		if (end || (in->eof && avail)) {
			*doc = start;
			*len = end ? (size_t)(end - start) : avail;
			in->pos += *len + (end != NULL);
			*got = 1;
			return 0;
		}
		if (in->eof) {
			*got = 0;
			return 0;
		}
		scanned = avail;
		int rc = fill(in);
		if (rc)
			return rc;
	}
}

static int each_input(Run *r, int argc, char **argv, Input *in)
{
	int nfiles = argc > 0 ? argc : 1, rc = 0;
	for (int i = 0; !rc && i < nfiles; i++) {
		const char *path = argc > 0 ? argv[i] : "-";
		int std = !strcmp(path, "-");
		in->fd = std ? STDIN_FILENO : open(path, O_RDONLY);
		in->name = std ? "<stdin>" : path;
		in->eof = 0;
		if (in->fd < 0)
			return err_errno(ERR_IO, "%s", path);
		if (r->o->delim < 0) {  /* the whole input is one document: read it all */
			while (!rc && !in->eof)
				rc = fill(in);
		} else {
			const char *doc;
			size_t len;
			int got = 1;
			while (!rc && got && !(rc = next_doc(in, r->o->delim, &doc, &len, &got)) && got)
				rc = document(r, doc, len);
		}
		if (!std)
			close(in->fd);
	}
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
	int done = 0, rc = parse_args(argc, argv, &o, &done);
	if (rc || done)
		return rc;
	Run r = { .o = &o };
	r.toks.want_pieces = o.pieces;
	FILE *out = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = out_write });
	if (!out || setvbuf(out, NULL, _IOFBF, IO_CHUNK)) {
		if (out)
			fclose(out);
		return cli_fail(err(ERR_IO, "<stdout>: cannot set up writing"));
	}
	if (o.binary && !o.force && isatty(STDOUT_FILENO))
		rc = err(ERR_USAGE, "<stdout> is a terminal: refusing to write binary frames (use -f to force)");
	if (!rc)
		rc = stream_writer_init(&r.w, out, "<stdout>", o.binary, 1);
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
	Input in = { 0 };
	if (!rc)
		rc = each_input(&r, argc - optind, argv + optind, &in);
	if (!rc && o.delim < 0)
		rc = document(&r, in.buf.s ? in.buf.s : "", in.buf.len);
	/* the records of the documents before a failing one go out too */
	if ((fflush(out) || release()) && !rc)
		rc = err_errno(ERR_IO, "<stdout>: write error");
	free(in.buf.s);
	if (!rc && o.verbose) {
		double ms = now_ms(CLOCK_MONOTONIC) - t1;
		fprintf(stderr, "load: %ld pieces, %.2f ms, %.2f ms CPU\n", (long)r.t->nids, t1 - t0, c1 - c0);
		fprintf(stderr, "encode: %zu bytes, %zu tokens, %.1f ms, %.2f MB/s\n", r.bytes, r.tokens,
		        ms, ms > 0 ? r.bytes / ms / 1e3 : 0);
	}
	toklist_free(&r.toks);
	tok_free(r.t);
	fclose(out);
	free(held.s);
	return rc ? cli_fail(rc) : 0;
}
