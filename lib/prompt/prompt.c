/* prompt.c: the ERNIE 4.5 chat template and web-search prompts rendered natively (prompt.h). */
#include "prompt/prompt.h"
#include "prompt/thinking.h"
#include "base/doc.h"
#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const placeholders[FILLS] = { "{date}", "{references}", "{question}" };

/* A token given as a string or as a serialised AddedToken {"content": ...}. */
static const DocNode *token_node(const DocNode *config, const char *key)
{
	const DocNode *v = doc_get(config, key);
	if (v && v->kind == DOC_MAP)
		v = doc_get(v, "content");
	return v && v->kind == DOC_SCALAR && !doc_is_null(v) ? v : NULL;
}

static int set_token(char **dst, const DocNode *v, const char *fallback)
{
	*dst = strdup(v ? v->str : fallback);
	return *dst ? 0 : err(ERR_IO, "out of memory");
}

int prompt_model_load(PromptModel *m, const char *dir)
{
	memset(m, 0, sizeof *m);
	m->known = 1;
	Doc d = { 0 };
	if (dir) {
		char path[4096];
		snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
		if (access(path, F_OK) == 0 || errno != ENOENT) {
			int rc = doc_load_file(&d, path);
			if (rc)
				return rc;
		}
	}
	const DocNode *tmpl = doc_get(d.root, "chat_template");
	if (tmpl && tmpl->kind == DOC_SCALAR)
		prompt_model_template(m, tmpl->str, strlen(tmpl->str));
	else if (tmpl)
		m->known = m->thinking = 0;
	int rc = set_token(&m->cls, token_node(d.root, "cls_token"), "<|begin_of_sentence|>");
	if (!rc)
		rc = set_token(&m->sep, token_node(d.root, "sep_token"), "<|end_of_sentence|>");
	doc_free(&d);
	if (rc)
		prompt_model_free(m);
	return rc;
}

static int same(const char *s, size_t len, const char *t)
{
	return len == strlen(t) && !memcmp(s, t, len);
}

void prompt_model_template(PromptModel *m, const char *s, size_t len)
{
	m->thinking = same(s, len, prompt_thinking_template);
	m->known = m->thinking || same(s, len, prompt_chat_template);
}

void prompt_model_free(PromptModel *m)
{
	free(m->cls);
	free(m->sep);
	m->cls = m->sep = NULL;
}

int prompt_chat(const PromptModel *m, const Conversation *c, int gen, ByteBuf *out)
{
	static const char *const before[] = { "", "User: ", "Assistant: " };
	int rc = bytebuf_adds(out, m->cls);
	for (size_t i = 0; !rc && i < c->n; i++) {
		const Message *msg = &c->v[i];
		if (msg->role == ROLE_TOOL)
			return err(ERR_DATA, "message %zu: a tool message, which the ERNIE 4.5 PT "
				   "template has no role for (the Thinking template has)", i + 1);
		if (!(rc = bytebuf_adds(out, before[msg->role])) &&
		    !(rc = bytebuf_add(out, msg->text, msg->len)))
			rc = bytebuf_adds(out, msg->role == ROLE_ASSISTANT ? m->sep : "\n");
	}
	if (!rc && gen)
		rc = bytebuf_adds(out, "Assistant: ");
	return rc;
}

/* The placeholder starting at p (n bytes left), or -1. */
static int placeholder_at(const char *p, size_t n)
{
	for (int i = 0; i < FILLS; i++) {
		size_t k = strlen(placeholders[i]);
		if (n >= k && !memcmp(p, placeholders[i], k))
			return i;
	}
	return -1;
}

int prompt_fill(const char *tmpl, size_t n, const char *const val[FILLS],
		const size_t len[FILLS], ByteBuf *out)
{
	size_t done = 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		int which = tmpl[i] == '{' ? placeholder_at(tmpl + i, n - i) : -1;
		if (which < 0)
			continue;
		if (!(rc = bytebuf_add(out, tmpl + done, i - done)))
			rc = bytebuf_add(out, val[which], len[which]);
		done = i + strlen(placeholders[which]);
		i = done - 1;
	}
	if (!rc)
		rc = bytebuf_add(out, tmpl + done, n - done);
	return rc;
}

int prompt_has(const char *tmpl, size_t n, int which)
{
	for (size_t i = 0; i < n; i++)
		if (tmpl[i] == '{' && placeholder_at(tmpl + i, n - i) == which)
			return 1;
	return 0;
}
