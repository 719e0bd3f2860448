/* conversation.c: conversation files (YAML/JSON messages) into Messages (conversation.h). */
#include "prompt/conversation.h"
#include "base/bytebuf.h"
#include "base/chars.h"
#include "base/err.h"
#include "base/readall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *role_name(Role r)
{
	static const char *const names[] = { "system", "user", "assistant" };
	return names[r];
}

int conv_add(Conversation *c, Role role, const char *text, size_t len)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		Message *v = realloc(c->v, cap * sizeof *v);
		if (!v)
			return err(ERR_IO, "out of memory");
		c->v = v;
		c->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return err(ERR_IO, "out of memory");
	memcpy(copy, text, len);
	copy[len] = 0;
	c->v[c->n++] = (Message){ role, copy, len };
	return 0;
}

void conv_free(Conversation *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].text);
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* The role of a message; OpenAI's "developer" is its name for system. */
static int parse_role(const Doc *d, const DocNode *m, size_t index, Role *r)
{
	const DocNode *role = doc_get(m, "role");
	if (!role || role->kind != DOC_SCALAR)
		return err(ERR_DATA, "%s:%d:%d: message %zu: %s", d->name,
			   role ? role->line : m->line, role ? role->col : m->col, index,
			   role ? "role: expected a string" : "no role");
	if (!strcmp(role->str, "system") || !strcmp(role->str, "developer"))
		*r = ROLE_SYSTEM;
	else if (!strcmp(role->str, "user"))
		*r = ROLE_USER;
	else if (!strcmp(role->str, "assistant"))
		*r = ROLE_ASSISTANT;
	else
		return err(ERR_DATA, "%s:%d:%d: message %zu: role '%.40s' is not system, developer, "
			   "user or assistant (the ERNIE 4.5 template would drop it)", d->name,
			   role->line, role->col, index, role->str);
	return 0;
}

/* An OpenAI-style content array: its text parts joined with newlines, as
 * vLLM joins them; any other part (an image...) is an error naming it. */
static int join_parts(const Doc *d, const DocNode *content, size_t index, ByteBuf *text)
{
	for (size_t i = 0; i < content->n; i++) {
		const DocNode *part = content->kids[i];
		const DocNode *type = doc_get(part, "type"), *t = doc_get(part, "text");
		if (!type || type->kind != DOC_SCALAR)
			return err(ERR_DATA, "%s:%d:%d: message %zu: content part %zu: expected a map "
				   "with type: text and text", d->name, part->line, part->col, index, i + 1);
		if (strcmp(type->str, "text"))
			return err(ERR_DATA, "%s:%d:%d: message %zu: content part %zu: type '%.40s' is "
				   "not text (an ERNIE 4.5 text prompt holds text only)", d->name,
				   type->line, type->col, index, i + 1, type->str);
		if (!t || t->kind != DOC_SCALAR || doc_is_null(t))
			return err(ERR_DATA, "%s:%d:%d: message %zu: content part %zu: %s", d->name,
				   t ? t->line : part->line, t ? t->col : part->col, index, i + 1,
				   t ? "text: expected a string" : "no text");
		int rc = i ? bytebuf_add(text, "\n", 1) : 0;
		if (!rc)
			rc = bytebuf_add(text, t->str, t->len);
		if (rc)
			return rc;
	}
	return bytebuf_add(text, "", 0);        /* an empty array: the empty string */
}

/* One entry of the list: {role, content}, content a string or a list of
 * text parts. */
static int load_message(Conversation *c, const Doc *d, const DocNode *m, size_t index)
{
	const char *name = d->name;
	if (m->kind != DOC_MAP)
		return err(ERR_DATA, "%s:%d:%d: message %zu: expected a map with role and content",
			   name, m->line, m->col, index);
	Role r = ROLE_USER;
	int rc = parse_role(d, m, index, &r);
	if (rc)
		return rc;
	const DocNode *content = doc_get(m, "content");
	if (!content || (content->kind != DOC_SCALAR && content->kind != DOC_SEQ) ||
	    doc_is_null(content))
		return err(ERR_DATA, "%s:%d:%d: message %zu: %s", name,
			   content ? content->line : m->line, content ? content->col : m->col,
			   index, content ? "content: expected a string or a list of text parts" :
			   "no content");
	ByteBuf parts = { 0 };
	if (content->kind == DOC_SEQ && (rc = join_parts(d, content, index, &parts)) != 0) {
		bytebuf_free(&parts);
		return rc;
	}
	const char *text = content->kind == DOC_SEQ ? parts.s : content->str;
	size_t len = content->kind == DOC_SEQ ? parts.len : content->len;
	char where[64];
	snprintf(where, sizeof where, "message %zu: content", index);
	rc = chars_check(where, text, len, 0);
	if (rc)
		rc = err_prefix(rc, "%s:%d:%d", name, content->line, content->col);
	else
		rc = conv_add(c, r, text, len);
	bytebuf_free(&parts);
	return rc;
}

int conv_load(Conversation *c, const char *path)
{
	Doc d;
	int rc = readall_doc(&d, path);
	if (rc)
		return rc;
	const DocNode *list = d.root;
	if (list && list->kind == DOC_MAP && doc_get(list, "messages"))
		list = doc_get(list, "messages");
	if (!list || list->kind != DOC_SEQ)
		rc = err(ERR_DATA, "%s:%d:%d: expected a list of messages", d.name,
			 list ? list->line : 1, list ? list->col : 1);
	for (size_t i = 0; !rc && i < list->n; i++)
		rc = load_message(c, &d, list->kids[i], i + 1);
	doc_free(&d);
	return rc;
}
