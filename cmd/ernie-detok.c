/* ernie-detok: token stream in, text out, written as soon as it is whole
 * UTF-8 so a generation streams. See man/ernie-detok.1. */
#include "cli.h"
#include "base/err.h"
#include "prompt/prompt.h"
#include "stream/stream.h"
#include "model/gguf_vocab.h"
#include "text/reasoning.h"
#include "text/tokenizer.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOLD_MAX (1 << 20)      /* decoded bytes held back at most */

enum { OPT_FORMAT = 256, OPT_RAW, OPT_SKIP, OPT_VERSION, OPT_REASONING, OPT_REASONING_FILE,
       OPT_TOOL_CALLS };

/* --reasoning: what becomes of a Thinking model's reasoning (text/reasoning.h).
 * R_OFF: no parsing, as for other models. */
typedef enum { R_OFF, R_KEEP, R_STRIP, R_SPLIT } ReasonMode;

static const struct option long_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "null", no_argument, NULL, '0' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "skip-special", no_argument, NULL, OPT_SKIP },
	{ "reasoning", required_argument, NULL, OPT_REASONING },
	{ "reasoning-file", required_argument, NULL, OPT_REASONING_FILE },
	{ "tool-calls", no_argument, NULL, OPT_TOOL_CALLS },
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
	int reasoning;          /* ReasonMode, or -1: R_STRIP for a Thinking model, else R_OFF */
	const char *reasoning_file; /* --reasoning-file, or NULL (split: fd 3) */
	int tool_calls;         /* write the tool calls only */
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
	Reasoning *rs;          /* the Thinking output parser (--reasoning strip/split,
	                           --tool-calls), or NULL */
	StreamWriter thoughts;  /* split: where the reasoning goes (fd -1: nowhere) */
	unsigned long seq;      /* sequences ended */
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
		"      --raw               keep special tokens and newlines, and add no\n"
		"                          newline at the end (exact round trip)\n"
		"      --skip-special      drop special tokens (also with --raw)\n"
		"      --input_format=id|piece  ids (default) or lines of pieces\n"
		"      --reasoning MODE    a Thinking model's output: strip (its default: the\n"
		"                          answer only), keep (the raw text, markers and all),\n"
		"                          split (the answer, and the reasoning to fd 3)\n"
		"      --reasoning-file FILE  split, with the reasoning to FILE\n"
		"      --tool-calls        write each <tool_call> as one line of JSON, nothing else\n"
		"  -0, --null              end each sequence with NUL (also with --raw)\n"
		"  -h, --help              this help\n"
		"      --version           print the version\n",
		cli_prog());
}

static int parse_args(int argc, char **argv, Options *o)
{
	*o = (Options){ .end = '\n', .reasoning = -1 };
	int null = 0;
	int c;
	opterr = 0;     /* our own one-line message */
	while ((c = getopt_long(argc, argv, ":m:0h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case '0': null = 1; break;
		case OPT_RAW: o->raw = 1; break;
		case OPT_SKIP: o->skip = 1; break;
		case OPT_REASONING:
			if (!strcmp(optarg, "strip")) o->reasoning = R_STRIP;
			else if (!strcmp(optarg, "keep")) o->reasoning = R_KEEP;
			else if (!strcmp(optarg, "split")) o->reasoning = R_SPLIT;
			else return cli_usage_error("--reasoning: '%s' is not strip, keep or split", optarg);
			break;
		case OPT_REASONING_FILE: o->reasoning_file = optarg; break;
		case OPT_TOOL_CALLS: o->tool_calls = 1; break;
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
	if (o->reasoning_file && o->reasoning < 0)
		o->reasoning = R_SPLIT;
	if (o->reasoning_file && o->reasoning != R_SPLIT)
		return cli_usage_error("--reasoning-file goes with --reasoning split");
	if (o->reasoning == R_KEEP && o->tool_calls)
		return cli_usage_error("--tool-calls reads the output: not with --reasoning keep");
	if (o->pieces && (o->reasoning >= 0 || o->tool_calls))
		return cli_usage_error("--reasoning and --tool-calls read ids, not pieces");
	return 0;
}

/* The default --reasoning: strip for a model directory whose chat template
 * is the Thinking one (ids only: pieces are not read for markers; --raw is
 * the exact text). */
static int default_reasoning(Options *o)
{
	struct stat st;
	if (o->reasoning >= 0)
		return 0;
	o->reasoning = R_OFF;
	if (o->pieces || o->raw || stat(o->model, &st) || !S_ISDIR(st.st_mode))
		return 0;
	PromptModel pm;
	int rc = prompt_model_load(&pm, o->model);
	if (!rc && pm.thinking)
		o->reasoning = R_STRIP;
	prompt_model_free(&pm);
	return rc;
}

/* Where the reasoning goes with split: --reasoning-file, else fd 3. */
static int open_thoughts(const Options *o, StreamWriter *w)
{
	int fd = -1;
	if (o->reasoning == R_SPLIT && o->reasoning_file) {
		if ((fd = open(o->reasoning_file, O_WRONLY | O_CREAT | O_TRUNC, 0666)) < 0)
			return err_errno(ERR_IO, "%s", o->reasoning_file);
	} else if (o->reasoning == R_SPLIT) {
		if (fcntl(3, F_GETFD) == -1)
			return err(ERR_USAGE, "--reasoning split: file descriptor 3 is not open (give "
				   "--reasoning-file FILE, or 3>FILE)");
		fd = 3;
	}
	stream_writer_init(w, fd, o->reasoning_file ? o->reasoning_file : "fd 3", 0);
	return 0;
}

/* ---- output ----------------------------------------------------------- */

/* Feed what was decoded to the parser and write what it made of it:
 * the answer (or the tool calls) to stdout, the reasoning when split. */
static int drain_parsed(Out *w, int end)
{
	Reasoning *r = w->rs;
	int rc = reasoning_put(r, w->text.s, w->text.len);
	w->text.len = 0;
	if (!rc && end && r->state == RS_THINK && !w->o->tool_calls)
		fprintf(stderr, "%s: warning: sequence %lu ended in the reasoning (no </think>): "
			"no answer; a larger ernie-run -n may let it finish\n", cli_prog(), w->seq + 1);
	if (!rc && end)
		rc = reasoning_end(r);
	ByteBuf *out = w->o->tool_calls ? &r->calls : &r->answer;
	if (!rc)
		rc = stream_write_bytes(&w->w, out->s, out->len);
	if (!rc && w->thoughts.fd >= 0 && !(rc = stream_write_bytes(&w->thoughts, r->reasoning.s,
								     r->reasoning.len)))
		rc = stream_flush(&w->thoughts);
	r->answer.len = r->calls.len = r->reasoning.len = 0;
	return rc ? rc : stream_end_record(&w->w);
}

/* Write what was decoded, holding back newlines in model-card mode. */
static int drain(Out *w)
{
	if (w->rs)
		return drain_parsed(w, 0);
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
		rc = w->rs ? drain_parsed(w, 1) : drain(w);
	w->started = 0;
	w->held = 0;
	w->seq++;
	char end = (char)w->o->end;
	if (!rc && w->o->end >= 0 && !w->o->tool_calls)
		rc = stream_write_bytes(&w->w, &end, 1);
	if (!rc && w->o->end >= 0 && w->thoughts.fd >= 0 &&
	    !(rc = stream_write_bytes(&w->thoughts, &end, 1)))
		rc = stream_flush(&w->thoughts);
	return rc ? rc : stream_end_record(&w->w);
}

/* Decode one id: with a Thinking model's parsing, the special tokens that
 * are its markers are kept as text. */
static int put_id(Out *w, int32_t id)
{
	if (w->o->reasoning != R_OFF || w->o->tool_calls) {
		size_t len;
		const char *text = tok_id_text(w->d.t, id, &len);
		w->d.raw = (w->o->raw && !w->o->skip) ||
			   (text && w->d.t->special[id] && reasoning_is_marker(text, len));
	}
	return detok_put(&w->d, id, &w->text);
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
		if (kind == REC_EOF && stream_reader_unclosed(r)) {
			/* a record never closed: an answer cut short (ernie-run
			 * failed mid-answer), not a finished sequence: its text,
			 * but no end, so a batch can tell (ernie-streams(5)) */
			fprintf(stderr, "%s: warning: <stdin> ended inside a record (a cut answer): "
				"no end of sequence written\n", cli_prog());
			rc = drain(w);
			break;
		}
		if (kind == REC_EOF) {
			if (open)
				rc = end_sequence(w);
			break;
		}
		if (end) {
			if (empty) {
				rc = end_sequence(w);
				open = 0;
			} else if (w->text.len && stream_reader_idle(r)) {
				rc = drain(w);  /* the record's last id came with its end */
			}
		} else {
			open = 1;
			rc = put_id(w, id);
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
	if ((rc = tokenizer_open(&t, o.model)))
		return cli_fail(rc);
	Out w = { .o = &o };
	Reasoning rs = { 0 };
	stream_writer_init(&w.w, STDOUT_FILENO, "<stdout>", 0);
	detok_init(&w.d, t, o.raw && !o.skip);
	if (!(rc = default_reasoning(&o)) && !(rc = open_thoughts(&o, &w.thoughts))) {
		if (o.reasoning == R_STRIP || o.reasoning == R_SPLIT || o.tool_calls) {
			reasoning_init(&rs);
			w.rs = &rs;
		}
		rc = o.pieces ? decode_pieces(&w) : decode_ids(&w);
	}
	int rc2 = stream_writer_close(&w.w);
	if (!rc)
		rc = rc2;
	rc2 = stream_writer_close(&w.thoughts);
	if (!rc)
		rc = rc2;
	if (w.thoughts.fd >= 0 && w.thoughts.fd != 3 && close(w.thoughts.fd) && !rc)
		rc = err_errno(ERR_IO, "%s: write error", o.reasoning_file);
	if (!rc && rs.bad_calls)
		fprintf(stderr, "%s: warning: %zu <tool_call> block%s not a JSON object, skipped\n",
			cli_prog(), rs.bad_calls, rs.bad_calls == 1 ? " was" : "s were");
	reasoning_free(&rs);
	free(w.text.s);
	tok_free(t);
	return rc ? cli_fail(rc) : 0;
}
