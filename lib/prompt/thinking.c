/* thinking.c: the ERNIE-4.5-21B-A3B-Thinking chat template rendered natively,
 * its markers and its end-of-turn ids (thinking.h). */
#include "prompt/thinking.h"
#include "base/err.h"
#include "base/json.h"
#include "base/readall.h"
#include "prompt/prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const markers[] = {
	"<|im_start|>", "<|im_end|>", "<think>", "</think>", "<response>", "</response>",
	"<tool_call>", "</tool_call>", "<tool_output>", "</tool_output>",
};

int prompt_thinking_specials(Specials *s)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < sizeof markers / sizeof *markers; i++)
		rc = specials_add(s, markers[i], strlen(markers[i]), -1, 1);
	return rc;
}

/* ---- the end of a turn --------------------------------------------------- */

/* Append to ids the ids whose text is exactly text: its SentencePiece piece
 * and its added token (a tokenizer may have both); return how many. */
static int exact_ids(const Tokenizer *t, const char *text, int32_t *ids)
{
	size_t n = strlen(text), len, which;
	int k = 0;
	int32_t id = tok_piece_id(t, text, n);
	const char *got = tok_id_text(t, id, &len);
	if (got && len == n && !memcmp(got, text, n))
		ids[k++] = id;
	if (specials_prefix(&t->split, text, n, &which) == n && t->split.v[which].id >= 0 &&
	    (k == 0 || t->split.v[which].id != ids[0]))
		ids[k++] = t->split.v[which].id;
	return k;
}

int prompt_end_ids(const PromptModel *pm, const Tokenizer *t, int32_t *ids)
{
	static const char *const ends[] = { "<|end_of_sentence|>", "</s>", "<|im_end|>" };
	int n = 0;
	for (int i = 0; i < (pm->thinking ? 3 : 1); i++)
		n += exact_ids(t, ends[i], ids + n);
	return n;
}

/* ---- the tools list ------------------------------------------------------ */

int prompt_tools_load(const char *path, ByteBuf *out)
{
	Doc d;
	int rc = readall_doc(&d, path);
	if (rc)
		return rc;
	const DocNode *list = d.root;
	if (list && list->kind == DOC_MAP && doc_get(list, "tools"))
		list = doc_get(list, "tools");
	if (!list || list->kind != DOC_SEQ)
		rc = err(ERR_DATA, "%s:%d:%d: expected a list of tools", d.name,
			 list ? list->line : 1, list ? list->col : 1);
	/* the template writes each tool's "function" and type "function" */
	size_t start = out->len;
	if (!rc)
		rc = bytebuf_adds(out, "[");
	for (size_t i = 0; !rc && i < list->n; i++) {
		const DocNode *tool = list->kids[i], *fn = doc_get(tool, "function");
		if (!fn)
			rc = err(ERR_DATA, "%s:%d:%d: tool %zu: expected a map with a \"function\" "
				 "(OpenAI's {\"type\": \"function\", \"function\": {...}})", d.name,
				 tool->line, tool->col, i + 1);
		if (!rc && i)
			rc = bytebuf_adds(out, ",");
		if (!rc)
			rc = bytebuf_adds(out, "{\"type\": \"function\", \"function\": ");
		if (!rc && (rc = json_write(fn, out)) == ERR_DATA)
			rc = err_prefix(rc, "%s: tool %zu", d.name, i + 1);
		if (!rc)
			rc = bytebuf_adds(out, "}");
	}
	if (!rc && list->n)
		rc = bytebuf_adds(out, "]");
	else if (!rc)                   /* an empty list: no <tool_list> at all */
		out->s[out->len = start] = 0;
	doc_free(&d);
	return rc;
}

/* ---- the conversation ---------------------------------------------------- */

static int starts(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && !memcmp(s, p, k);
}

static int ends(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && !memcmp(s + n - k, p, k);
}

/* The first / last occurrence of p in s[0..n), or NULL. */
static const char *find_first(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(s + i, p, k))
			return s + i;
	return NULL;
}

static const char *find_last(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	for (size_t i = n >= k ? n - k + 1 : 0; i-- > 0;)
		if (!memcmp(s + i, p, k))
			return s + i;
	return NULL;
}

/* A span of text: Python's str slices, without copies. */
typedef struct {
	const char *s;
	size_t n;
} Span;

static Span lstrip_nl(Span a)
{
	while (a.n && a.s[0] == '\n')
		a.s++, a.n--;
	return a;
}

static Span rstrip_nl(Span a)
{
	while (a.n && a.s[a.n - 1] == '\n')
		a.n--;
	return a;
}

/* The template's last_query_index: the last user message that is not a
 * "<tool_output>...</tool_output>" echo; the last message if none. */
static size_t last_query(const Conversation *c)
{
	for (size_t i = c->n; i-- > 0;) {
		const Message *m = &c->v[i];
		if (m->role == ROLE_USER && !(starts(m->text, m->len, "<tool_output>") &&
					      ends(m->text, m->len, "</tool_output>")))
			return i;
	}
	return c->n - 1;
}

static int add_span(ByteBuf *out, Span a)
{
	return bytebuf_add(out, a.s, a.n);
}

/* The reasoning and the answer of an assistant message, as the template
 * reads them: its "thoughts" and text, or else the text split at "</think>":
 * content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
 * and content.split('</think>')[-1].lstrip('\n'). */
static void split(const Message *m, Span *reasoning, Span *content)
{
	*content = (Span){ m->text, m->len };
	*reasoning = (Span){ m->thoughts ? m->thoughts : "", m->thoughts_len };
	const char *end = find_first(m->text, m->len, "</think>");
	if (m->thoughts || !end)
		return;
	*reasoning = rstrip_nl((Span){ m->text, (size_t)(end - m->text) });
	const char *open = find_last(reasoning->s, reasoning->n, "<think>");
	if (open)
		*reasoning = (Span){ open + 7, reasoning->n - (size_t)(open + 7 - reasoning->s) };
	*reasoning = lstrip_nl(*reasoning);
	const char *after = find_last(m->text, m->len, "</think>") + 8;
	*content = lstrip_nl((Span){ after, m->len - (size_t)(after - m->text) });
}

static char *copy_span(Span a)
{
	char *s = malloc(a.n + 1);
	if (s) {
		memcpy(s, a.s, a.n);
		s[a.n] = 0;
	}
	return s;
}

int prompt_thinking_split(Message *m)
{
	Span reasoning, content;
	if (m->role != ROLE_ASSISTANT || m->thoughts)
		return 0;
	split(m, &reasoning, &content);
	if (content.s == m->text && content.n == m->len)
		return 0;
	char *t = copy_span(reasoning), *c = copy_span(content);
	if (!t || !c) {
		free(t);
		free(c);
		return err(ERR_IO, "out of memory");
	}
	free(m->text);
	m->text = c;
	m->len = content.n;
	m->thoughts = t;
	m->thoughts_len = reasoning.n;
	return 0;
}

static int assistant(const Message *m, int keep_reasoning, int last, ByteBuf *out)
{
	Span reasoning, content;
	split(m, &reasoning, &content);
	int rc;
	if (keep_reasoning && (last || reasoning.n)) {
		if (!(rc = bytebuf_adds(out, "<|im_start|>assistant\n<think>\n")) &&
		    !(rc = add_span(out, rstrip_nl(lstrip_nl(reasoning)))))
			rc = bytebuf_adds(out, "\n</think>\n");
	} else {
		rc = bytebuf_adds(out, "<|im_start|>assistant\n");
	}
	if (!rc && content.n && !(rc = bytebuf_adds(out, "<response>\n")) &&
	    !(rc = add_span(out, content)))
		rc = bytebuf_adds(out, "\n</response>\n");
	for (size_t k = 0; !rc && k < m->ncalls; k++) {
		const ToolCall *tc = &m->calls[k];
		if ((k == 0 && content.n) || k > 0)
			rc = bytebuf_adds(out, "\n");
		if (!rc && !(rc = bytebuf_adds(out, "\n<tool_call>\n{\"name\": \"")) &&
		    !(rc = bytebuf_add(out, tc->name, tc->name_len)) &&
		    !(rc = bytebuf_adds(out, "\", \"arguments\": ")) &&
		    !(rc = bytebuf_add(out, tc->args, tc->args_len)))
			rc = bytebuf_adds(out, "}\n</tool_call>\n");
	}
	return rc ? rc : bytebuf_adds(out, "<|im_end|>\n\n");
}

static int system_block(const Conversation *c, const char *tools, size_t tools_len,
			ByteBuf *out)
{
	static const char global[] = "<global_setting>\nthink_mode=True\n</global_setting>";
	int rc = bytebuf_adds(out, "<|im_start|>system\n");
	if (!rc && c->v[0].role == ROLE_SYSTEM) {
		if (!(rc = bytebuf_adds(out, "<system_setting>\n")) &&
		    !(rc = bytebuf_add(out, c->v[0].text, c->v[0].len)))
			rc = bytebuf_adds(out, "\n</system_setting>\n\n");
	}
	if (!rc)
		rc = bytebuf_adds(out, global);
	if (!rc && tools_len && !(rc = bytebuf_adds(out, "\n\n<tool_list>\n")) &&
	    !(rc = bytebuf_add(out, tools, tools_len)))
		rc = bytebuf_adds(out, "\n</tool_list>");
	return rc ? rc : bytebuf_adds(out, "<|im_end|>\n\n");
}

int prompt_thinking(const Conversation *c, const char *tools, size_t tools_len, ByteBuf *out)
{
	if (!c->n)
		return err(ERR_DATA, "the Thinking template needs at least one message");
	int rc = system_block(c, tools, tools_len, out);
	size_t query = last_query(c);
	for (size_t i = 0; !rc && i < c->n; i++) {
		const Message *m = &c->v[i];
		int first_tool = i == 0 || c->v[i - 1].role != ROLE_TOOL;
		int last_tool = i + 1 == c->n || c->v[i + 1].role != ROLE_TOOL;
		switch (m->role) {
		case ROLE_SYSTEM:       /* the first one is in the system block */
		case ROLE_USER:
			if (m->role == ROLE_SYSTEM && i == 0)
				break;
			if (!(rc = bytebuf_adds(out, "<|im_start|>")) &&
			    !(rc = bytebuf_adds(out, role_name(m->role))) &&
			    !(rc = bytebuf_adds(out, "\n")) &&
			    !(rc = bytebuf_add(out, m->text, m->len)))
				rc = bytebuf_adds(out, "<|im_end|>\n\n");
			break;
		case ROLE_ASSISTANT:
			rc = assistant(m, i > query, i + 1 == c->n, out);
			break;
		case ROLE_TOOL:
			if (first_tool)
				rc = bytebuf_adds(out, "<|im_start|>tool");
			if (!rc && !(rc = bytebuf_adds(out, "\n<tool_output>")) &&
			    !(rc = json_write_string(m->text, m->len, out)))
				rc = bytebuf_adds(out, "</tool_output>");
			if (!rc && last_tool)
				rc = bytebuf_adds(out, "<|im_end|>\n\n");
			break;
		}
	}
	return rc ? rc : bytebuf_adds(out, "<|im_start|>assistant\n<think>\n");
}
