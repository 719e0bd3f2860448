/* ernie-prompt: questions, conversations and search results -> the prompt
 * text ERNIE 4.5 was trained to read (the official chat template and
 * web-search prompts, byte for byte). See man/ernie-prompt.1. */
#include "prompt/bjtime.h"
#include "base/chars.h"
#include "cli.h"
#include "prompt/conversation.h"
#include "base/err.h"
#include "prompt/neutral.h"
#include "prompt/prompt.h"
#include "base/readall.h"
#include "prompt/references.h"
#include "prompt/thinking.h"
#include "text/specials.h"
#include "model/gguf_vocab.h"
#include "base/bytebuf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- options ------------------------------------------------------------ */

typedef struct {
	int kind;                   /* 's', 'u', 'a' (a message) or 'c' (a conversation file) */
	const char *arg;
} Source;

typedef enum { LANG_AUTO, LANG_ZH, LANG_EN } Lang;

typedef struct {
	Source *src;                /* nsrc message options in command-line order */
	size_t nsrc;
	int gen;                    /* add the generation prompt "Assistant: " */
	const char *model;          /* model directory, or NULL */
	int allow_special;
	const char *refs;           /* references file: web-search mode when set */
	const char *tmpl;           /* user search template file, or NULL */
	const char *date;           /* {date}, or NULL for now in Beijing */
	int raw;                    /* print the filled search prompt alone */
	Lang lang;
	size_t max_ref_chars;       /* 0: no limit */
	int batch;                  /* 0, or the option that asked for it: 'l' or '0' */
	int stdin_question;         /* stdin holds the question(s): -l, -0, or no -u, -a, -c */
	int thinking;               /* --template-name: -1 the model's, 0 pt, 1 thinking */
	const char *tools;          /* --tools FILE, or NULL */
} Options;

enum { OPT_NO_GEN = 256, OPT_SEARCH, OPT_RAW, OPT_DATE, OPT_LANG, OPT_MAX_REF,
       OPT_TEMPLATE, OPT_ALLOW_SPECIAL, OPT_VERSION, OPT_TEMPLATE_NAME, OPT_TOOLS };

static const struct option longopts[] = {
	{ "system", required_argument, NULL, 's' },
	{ "user", required_argument, NULL, 'u' },
	{ "assistant", required_argument, NULL, 'a' },
	{ "conversation", required_argument, NULL, 'c' },
	{ "no-generation-prompt", no_argument, NULL, OPT_NO_GEN },
	{ "model", required_argument, NULL, 'm' },
	{ "search", no_argument, NULL, OPT_SEARCH },
	{ "references", required_argument, NULL, 'r' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "date", required_argument, NULL, OPT_DATE },
	{ "lang", required_argument, NULL, OPT_LANG },
	{ "max-ref-chars", required_argument, NULL, OPT_MAX_REF },
	{ "template", required_argument, NULL, OPT_TEMPLATE },
	{ "allow-special", no_argument, NULL, OPT_ALLOW_SPECIAL },
	{ "template-name", required_argument, NULL, OPT_TEMPLATE_NAME },
	{ "tools", required_argument, NULL, OPT_TOOLS },
	{ "lines", no_argument, NULL, 'l' },
	{ "null", no_argument, NULL, '0' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(void)
{
	printf(
		"usage: %s [options] [< question]\n"
		"Write the ERNIE 4.5 prompt for a question or a conversation (no trailing newline).\n"
		"\n"
		"  -s, --system TEXT          a system message       (-s, -u, -a, -c repeat and\n"
		"  -u, --user TEXT            a user message          keep their order)\n"
		"  -a, --assistant TEXT       an assistant message\n"
		"  -c, --conversation FILE    messages from a YAML/JSON list of {role, content}\n"
		"                             (without -u, -a, -c: stdin is the user message)\n"
		"      --no-generation-prompt do not end with \"Assistant: \"\n"
		"  -m, --model DIR|FILE       model directory or GGUF file (default $ERNIE_MODEL):\n"
		"                             its special tokens and chat template (PT or\n"
		"                             Thinking) are used\n"
		"      --template-name NAME   pt or thinking (ERNIE-4.5-21B-A3B-Thinking's template;\n"
		"                             default: the model's, else pt)\n"
		"      --tools FILE           an OpenAI tools list (YAML/JSON) for <tool_list>\n"
		"                             (thinking only)\n"		"  -r, --references FILE      web search: fill the official search prompt with\n"
		"                             these references and the last user message\n"
		"      --search               web search (implied by -r, which it needs)\n"
		"      --raw                  print the filled search prompt alone\n"
		"      --date TEXT            {date} (default: now, Beijing time)\n"
		"      --lang zh|en|auto      search prompt language (auto: zh if the question\n"
		"                             has Han characters)\n"
		"      --max-ref-chars N      cut each reference's content to N characters\n"
		"      --template FILE        a search template with {date} {references} {question}\n"
		"      --allow-special        keep special-token text in content verbatim\n"
		"  -l, --lines                each line of stdin is a question; prompts end in NUL\n"
		"  -0, --null                 stdin holds NUL-separated questions; prompts end in NUL\n"
		"                             (-l and -0 exclude each other)\n"
		"  -h, --help                 this help\n"
		"      --version              print the version\n",
		cli_prog());
}

static int add_source(Options *o, int kind, const char *arg)
{
	Source *s = realloc(o->src, (o->nsrc + 1) * sizeof *s);
	if (!s)
		return err(ERR_IO, "out of memory");
	o->src = s;
	o->src[o->nsrc++] = (Source){ kind, arg };
	return 0;
}

static int parse_count(const char *arg, size_t *out)
{
	char *end;
	if (arg[0] < '0' || arg[0] > '9')
		return -1;
	unsigned long long v = strtoull(arg, &end, 10);
	if (*end || v == 0 || v > (size_t)-1 / 8)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int is_stdin(const char *path)
{
	return path && path[0] == '-' && !path[1];
}

/* Standard input can feed one thing only. */
static int check_stdin(Options *o)
{
	int readers = 0, questions = 0;
	for (size_t i = 0; i < o->nsrc; i++) {
		questions |= o->src[i].kind != 's';
		readers += o->src[i].kind == 'c' && is_stdin(o->src[i].arg);
	}
	o->stdin_question = o->batch || !questions;
	readers += o->stdin_question + is_stdin(o->refs) + is_stdin(o->tmpl) + is_stdin(o->tools);
	if (readers > 1)
		return cli_usage_error("standard input can be read once only (by -c -, -r -, "
				       "--template -, --tools -, or as the question)");
	return 0;
}

/* Parse argv into o. Returns 0, CLI_DONE after --help/--version, or an ERR_* code
 * (the message already printed). */
static int parse_args(int argc, char **argv, Options *o)
{
	int c;
	const char *search_only = NULL;     /* an option that needs -r */
	o->gen = 1;
	o->thinking = -1;
	opterr = 0;                         /* one message, ours */
	while ((c = getopt_long(argc, argv, ":s:u:a:c:m:r:l0h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': case 'u': case 'a': case 'c':
			if (add_source(o, c, optarg))
				return cli_fail(ERR_IO);
			break;
		case OPT_NO_GEN: o->gen = 0; break;
		case 'm': o->model = optarg; break;
		case 'r': o->refs = optarg; break;
		case OPT_SEARCH: search_only = "--search"; break;
		case OPT_RAW: o->raw = 1; search_only = "--raw"; break;
		case OPT_DATE: o->date = optarg; search_only = "--date"; break;
		case OPT_TEMPLATE: o->tmpl = optarg; search_only = "--template"; break;
		case OPT_LANG:
			if (!strcmp(optarg, "zh")) o->lang = LANG_ZH;
			else if (!strcmp(optarg, "en")) o->lang = LANG_EN;
			else if (!strcmp(optarg, "auto")) o->lang = LANG_AUTO;
			else return cli_usage_error("--lang: '%s' is not zh, en or auto", optarg);
			search_only = "--lang";
			break;
		case OPT_MAX_REF:
			if (parse_count(optarg, &o->max_ref_chars))
				return cli_usage_error("--max-ref-chars: '%s' is not a positive integer",
						       optarg);
			search_only = "--max-ref-chars";
			break;
		case OPT_ALLOW_SPECIAL: o->allow_special = 1; break;
		case OPT_TEMPLATE_NAME:
			if (!strcmp(optarg, "pt")) o->thinking = 0;
			else if (!strcmp(optarg, "thinking")) o->thinking = 1;
			else return cli_usage_error("--template-name: '%s' is not pt or thinking", optarg);
			break;
		case OPT_TOOLS: o->tools = optarg; break;
		case 'l': case '0':
			if (o->batch && o->batch != c)
				return cli_usage_error("-l and -0 cut questions two ways: give one");
			o->batch = c;
			break;
		case 'h': usage(); return CLI_DONE;
		case OPT_VERSION: return cli_version();
		case ':':
			return cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return cli_usage_error("unknown option '-%c'", optopt);
			return cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (search_only && !o->refs)
		return cli_usage_error("%s needs -r FILE (the references)", search_only);
	o->model = cli_model(o->model);
	return check_stdin(o);
}

/* ---- what every document shares ---------------------------------------- */

typedef struct {
	Options o;
	PromptModel model;
	Specials specials;          /* tokens to neutralise (empty with --allow-special) */
	Neutral neutralised;        /* literals neutralised so far */
	Conversation base;          /* the messages of the options */
	int thinking;               /* render the Thinking template */
	ByteBuf tools;              /* --tools, laid out for <tool_list> */
	char *tmpl;                 /* --template file contents, or NULL */
	size_t tmpl_len;
	ByteBuf refs;                /* {references}, laid out */
	char *date;                 /* {date} */
	size_t date_len;
} Job;

static int defuse(Job *j, char **text, size_t *len)
{
	return neutral_string(&j->specials, text, len, &j->neutralised);
}

/* Everything of a message that reaches the prompt. */
static int defuse_message(Job *j, Message *m)
{
	int rc = j->thinking ? prompt_thinking_split(m) : 0;
	if (!rc)
		rc = defuse(j, &m->text, &m->len);
	if (!rc && m->thoughts)
		rc = defuse(j, &m->thoughts, &m->thoughts_len);
	for (size_t k = 0; !rc && k < m->ncalls; k++)
		if (!(rc = defuse(j, &m->calls[k].name, &m->calls[k].name_len)))
			rc = defuse(j, &m->calls[k].args, &m->calls[k].args_len);
	return rc;
}

/* The official set, plus the model directory's own tokens. */
static int load_specials(Job *j)
{
	int rc = specials_builtin(&j->specials);
	if (rc || !j->o.model)
		return rc;
	Specials dir;
	if ((rc = specials_load(&dir, j->o.model)) != 0)
		return rc;
	for (size_t i = 0; !rc && i < dir.n; i++)
		rc = specials_add(&j->specials, dir.v[i].text, dir.v[i].len, dir.v[i].id,
				  dir.v[i].added);
	specials_free(&dir);
	return rc;
}

/* A GGUF file: its tokenizer.chat_template, and its split tokens as the
 * model's own. */
static int load_gguf(Job *j)
{
	Tokenizer *t = NULL;
	int rc = prompt_model_open(&j->model, j->o.model);
	if (!rc && !j->o.allow_special && !(rc = specials_builtin(&j->specials)))
		rc = tokenizer_open(&t, j->o.model);
	for (size_t i = 0; !rc && t && i < t->split.n; i++)
		rc = specials_add(&j->specials, t->split.v[i].text, t->split.v[i].len, t->split.v[i].id, 0);
	tok_free(t);
	return rc;
}

/* The model's template and special tokens, from a directory or a GGUF file. */
static int load_model_files(Job *j)
{
	struct stat st;
	if (j->o.model && gguf_is_file(j->o.model))
		return load_gguf(j);
	if (j->o.model && stat(j->o.model, &st) != 0)
		return err_errno(ERR_IO, "%s", j->o.model);
	if (j->o.model && !S_ISDIR(st.st_mode))
		return err(ERR_IO, "%s: not a directory", j->o.model);
	int rc = prompt_model_load(&j->model, j->o.model);
	if (!rc && !j->o.allow_special)
		rc = load_specials(j);
	return rc;
}

static int load_model(Job *j)
{
	int rc = load_model_files(j);
	j->thinking = j->o.thinking >= 0 ? j->o.thinking : !rc && j->model.thinking;
	if (!rc && j->thinking && !j->o.allow_special)
		rc = prompt_thinking_specials(&j->specials);
	if (rc)
		return rc;
	if (j->thinking && !j->o.gen)
		return err(ERR_USAGE, "--no-generation-prompt: the Thinking template always ends "
			   "with the generation prompt");
	if (!j->thinking && j->o.tools)
		return err(ERR_USAGE, "--tools needs the Thinking template (--template-name "
			   "thinking, or a model directory that has it)");
	return 0;
}

/* The messages of -s, -u, -a and -c, in order. */
static int load_base(Job *j)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < j->o.nsrc; i++) {
		const Source *s = &j->o.src[i];
		size_t first = j->base.n;
		if (s->kind == 'c') {
			rc = conv_load(&j->base, s->arg);
		} else {
			char name[48];
			snprintf(name, sizeof name, "message %zu (-%c)", first + 1, s->kind);
			Role role = s->kind == 's' ? ROLE_SYSTEM : s->kind == 'u' ? ROLE_USER :
				    ROLE_ASSISTANT;
			size_t len = strlen(s->arg);
			if (!(rc = chars_check(name, s->arg, len, 0)))
				rc = conv_add(&j->base, role, s->arg, len);
		}
		for (size_t m = first; !rc && m < j->base.n; m++)
			rc = defuse_message(j, &j->base.v[m]);
	}
	return rc;
}

/* --tools, its special-token literals neutralised. */
static int load_tools(Job *j)
{
	ByteBuf raw = { 0 };
	int rc = prompt_tools_load(j->o.tools, &raw);
	if (!rc)
		rc = neutral_text(&j->specials, raw.s ? raw.s : "", raw.len, &j->tools,
				  &j->neutralised);
	bytebuf_free(&raw);
	return rc;
}

/* Read the references, the template and the date for --search. */
static int load_search(Job *j)
{
	References refs;
	int rc = refs_load(&refs, j->o.refs);
	for (size_t i = 0; !rc && i < refs.n; i++)
		for (int f = 0; !rc && f < REF_FIELDS; f++)
			if (refs.v[i].field[f])
				rc = defuse(j, &refs.v[i].field[f], &refs.v[i].len[f]);
	if (!rc)
		rc = refs_format(&refs, j->o.max_ref_chars, &j->refs);
	refs_free(&refs);
	if (!rc && j->o.tmpl) {
		if (!(rc = readall_file(j->o.tmpl, &j->tmpl, &j->tmpl_len)) &&
		    !(rc = chars_check(j->o.tmpl, j->tmpl, j->tmpl_len, 0)) &&
		    !prompt_has(j->tmpl, j->tmpl_len, FILL_QUESTION))
			rc = err(ERR_DATA, "%s: no {question} placeholder", j->o.tmpl);
	}
	if (rc)
		return rc;
	char now[BJTIME_SIZE];
	const char *date = j->o.date;
	if (!date) {
		if ((rc = bjtime_now(now)) != 0)
			return rc;
		date = now;
	}
	j->date_len = strlen(date);
	if (!(j->date = strdup(date)))
		return err(ERR_IO, "out of memory");
	if ((rc = chars_check("--date", j->date, j->date_len, 0)) != 0)
		return rc;
	return defuse(j, &j->date, &j->date_len);
}

/* ---- one document ------------------------------------------------------ */

/* Append the search prompt for question q to out. */
static int fill_search(const Job *j, const Message *q, ByteBuf *out)
{
	const char *tmpl = j->tmpl;
	size_t n = j->tmpl_len;
	if (!tmpl) {
		int zh = j->o.lang == LANG_ZH ||
			 (j->o.lang == LANG_AUTO && chars_has_han(q->text, q->len));
		tmpl = zh ? prompt_websearch_zh : prompt_websearch_en;
		n = strlen(tmpl);
	}
	const char *val[FILLS] = { j->date, j->refs.s ? j->refs.s : "", q->text };
	const size_t len[FILLS] = { j->date_len, j->refs.len, q->len };
	return prompt_fill(tmpl, n, val, len, out);
}

/* The chat template of the job. */
static int chat(const Job *j, const Conversation *c, ByteBuf *out)
{
	if (j->thinking)
		return prompt_thinking(c, j->tools.s, j->tools.len, out);
	return prompt_chat(&j->model, c, j->o.gen, out);
}

/* Render conversation c (its last message is the question in search mode). */
static int render(const Job *j, const Conversation *c, ByteBuf *out)
{
	if (!j->o.refs)
		return chat(j, c, out);
	if (c->n == 0 || c->v[c->n - 1].role != ROLE_USER)
		return err(ERR_USAGE, "web search needs a question: the last message must be a "
			   "user message");
	ByteBuf filled = { 0 };
	int rc = fill_search(j, &c->v[c->n - 1], &filled);
	if (!rc && j->o.raw) {
		rc = bytebuf_add(out, filled.s, filled.len);
	} else if (!rc) {
		Message *v = malloc(c->n * sizeof *v);
		if (!v) {
			rc = err(ERR_IO, "out of memory");
		} else {
			memcpy(v, c->v, c->n * sizeof *v);
			v[c->n - 1].text = filled.s;
			v[c->n - 1].len = filled.len;
			Conversation with = { v, c->n, c->n };
			rc = chat(j, &with, out);
			free(v);
		}
	}
	bytebuf_free(&filled);
	return rc;
}

static int write_out(const ByteBuf *b, int nul)
{
	if (b->len && fwrite(b->s, 1, b->len, stdout) != b->len)
		return err_errno(ERR_IO, "stdout: write error");
	if (nul && putchar('\0') == EOF)
		return err_errno(ERR_IO, "stdout: write error");
	return 0;
}

/* Drop one line ending ("\n" or "\r\n") from the end of s[0..*n). */
static void chomp(const char *s, size_t *n)
{
	if (*n && s[*n - 1] == '\n' && --*n && s[*n - 1] == '\r')
		--*n;
}

/* Render the base conversation plus user message text[0..n) (stdin bytes
 * from offset base) and write it. */
static int one_question(Job *j, const char *text, size_t n, size_t base, int nul)
{
	int rc = chars_check("stdin", text, n, base);
	if (!rc)
		rc = conv_add(&j->base, ROLE_USER, text, n);
	if (rc)
		return rc;
	Message *q = &j->base.v[j->base.n - 1];
	ByteBuf out = { 0 };
	if (!(rc = defuse(j, &q->text, &q->len)) && !(rc = render(j, &j->base, &out)))
		rc = write_out(&out, nul);
	bytebuf_free(&out);
	free(q->text);
	j->base.n--;
	return rc;
}

/* -l / -0: every non-empty line (a "\r" before the "\n" dropped) or
 * NUL-terminated item of stdin is a question. */
static int run_batch(Job *j, const char *in, size_t n)
{
	char sep = j->o.batch == 'l' ? '\n' : '\0';
	int rc = 0;
	for (size_t at = 0; !rc && at < n;) {
		const char *end = memchr(in + at, sep, n - at);
		size_t len = end ? (size_t)(end - (in + at)) : n - at, next = at + len + 1;
		if (sep == '\n' && len && in[at + len - 1] == '\r')
			len--;
		if (len)
			rc = one_question(j, in + at, len, at, 1);
		at = next;
	}
	return rc;
}

static int run(Job *j)
{
	int rc = load_model(j);
	if (!rc)
		rc = load_base(j);
	if (!rc && j->o.refs)
		rc = load_search(j);
	if (!rc && j->o.tools)
		rc = load_tools(j);
	if (rc)
		return rc;
	if (!j->o.stdin_question) {
		ByteBuf out = { 0 };
		if (!(rc = render(j, &j->base, &out)))
			rc = write_out(&out, 0);
		bytebuf_free(&out);
		return rc;
	}
	char *in;
	size_t n;
	if ((rc = readall_stream(stdin, "stdin", &in, &n)) != 0)
		return rc;
	if (j->o.batch) {
		rc = run_batch(j, in, n);
	} else {
		chomp(in, &n);
		rc = one_question(j, in, n, 0, 0);
	}
	free(in);
	return rc;
}

static void job_free(Job *j)
{
	prompt_model_free(&j->model);
	specials_free(&j->specials);
	neutral_free(&j->neutralised);
	conv_free(&j->base);
	bytebuf_free(&j->tools);
	free(j->tmpl);
	bytebuf_free(&j->refs);
	free(j->date);
	free(j->o.src);
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	Job j = { 0 };
	int rc = parse_args(argc, argv, &j.o);
	if (rc) {
		free(j.o.src);
		return rc == CLI_DONE ? 0 : rc;
	}
	rc = run(&j);
	if (!rc)
		rc = cli_flush(stdout, "stdout");
	if (rc) {
		cli_fail(rc);
	} else {
		if (!j.model.known)
			fprintf(stderr, "%s: warning: %s%s: the chat_template is not "
				"the ERNIE 4.5 one; this output follows the ERNIE 4.5 template\n",
				cli_prog(), j.o.model, gguf_is_file(j.o.model) ? "" : "/tokenizer_config.json");
		if (j.neutralised.count)
			fprintf(stderr, "%s: warning: neutralised %zu special-token literal%s in the "
				"input (%s; --allow-special keeps them)\n", cli_prog(),
				j.neutralised.count, j.neutralised.count == 1 ? "" : "s",
				j.neutralised.changes.s);
	}
	job_free(&j);
	return rc;
}
