/* conversation.c: conversation files (YAML/JSON messages) into Messages (conversation.h). */
#include "prompt/conversation.h"
#include "base/bytebuf.h"
#include "base/chars.h"
#include "base/err.h"
#include "base/json.h"
#include "base/readall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *role_name(Role r)
{
	static const char *const names[] = { "system", "user", "assistant", "tool" };
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
	c->v[c->n++] = (Message){ .role = role, .text = copy, .len = len };
	return 0;
}

void conv_free(Conversation *c)
{
	for (size_t i = 0; i < c->n; i++) {
		Message *m = &c->v[i];
		free(m->text);
		free(m->thoughts);
		for (size_t k = 0; k < m->ncalls; k++) {
			free(m->calls[k].name);
			free(m->calls[k].args);
		}
		free(m->calls);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* A copy of string scalar v, checked like content; what names it in messages. */
static int copy_string(const Doc *d, const DocNode *v, size_t index, const char *what,
		       char **out, size_t *len)
{
	char where[80];
	snprintf(where, sizeof where, "message %zu: %s", index, what);
	if (v->kind != DOC_SCALAR)
		return err(ERR_DATA, "%s:%d:%d: %s: expected a string", d->name, v->line, v->col,
			   where);
	int rc = chars_check(where, v->str, v->len, 0);
	if (rc)
		return err_prefix(rc, "%s:%d:%d", d->name, v->line, v->col);
	if (!(*out = strdup(v->str)))
		return err(ERR_IO, "out of memory");
	*len = v->len;
	return 0;
}

/* Tool call k of an assistant message: {"function": {...}} or the function itself. */
static int load_call(const Doc *d, const DocNode *call, size_t index, size_t k, ToolCall *tc)
{
	char what[48];
	if (doc_get(call, "function"))
		call = doc_get(call, "function");
	const DocNode *name = doc_get(call, "name"), *args = doc_get(call, "arguments");
	if (!name || !args || call->kind != DOC_MAP)
		return err(ERR_DATA, "%s:%d:%d: message %zu: tool call %zu: expected a map with "
			   "name and arguments", d->name, call->line, call->col, index, k + 1);
	snprintf(what, sizeof what, "tool call %zu: name", k + 1);
	int rc = copy_string(d, name, index, what, &tc->name, &tc->name_len);
	snprintf(what, sizeof what, "tool call %zu: arguments", k + 1);
	if (rc || (args->kind == DOC_SCALAR && json_scalar(args) == JSON_STRING))
		return rc ? rc : copy_string(d, args, index, what, &tc->args, &tc->args_len);
	ByteBuf json = { 0 };
	if (!(rc = json_write(args, &json)))
		rc = chars_check(what, json.s, json.len, 0);
	tc->args_len = json.len;
	tc->args = bytebuf_take(&json);
	return rc ? err_prefix(rc, "%s: message %zu", d->name, index) :
	       tc->args ? 0 : err(ERR_IO, "out of memory");
}

/* An assistant message: its content, then its "thoughts" and "tool_calls". */
static int load_extras(Conversation *c, const Doc *d, const DocNode *m, size_t index,
		       const char *text, size_t len)
{
	int rc = conv_add(c, ROLE_ASSISTANT, text, len);
	if (rc)
		return rc;
	Message *msg = &c->v[c->n - 1];
	const DocNode *thoughts = doc_get(m, "thoughts"), *calls = doc_get(m, "tool_calls");
	if (thoughts && !doc_is_null(thoughts))
		rc = copy_string(d, thoughts, index, "thoughts", &msg->thoughts, &msg->thoughts_len);
	if (rc || !calls || doc_is_null(calls))
		return rc;
	if (calls->kind != DOC_SEQ)
		return err(ERR_DATA, "%s:%d:%d: message %zu: tool_calls: expected a list", d->name,
			   calls->line, calls->col, index);
	if (calls->n && !(msg->calls = calloc(calls->n, sizeof *msg->calls)))
		return err(ERR_IO, "out of memory");
	for (size_t k = 0; !rc && k < calls->n; k++, msg->ncalls++)
		rc = load_call(d, calls->kids[k], index, k, &msg->calls[k]);
	return rc;
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
	else if (!strcmp(role->str, "tool"))
		*r = ROLE_TOOL;
	else
		return err(ERR_DATA, "%s:%d:%d: message %zu: role '%.40s' is not system, developer, "
			   "user, assistant or tool (the ERNIE 4.5 templates would drop it)", d->name,
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
	const DocNode *calls = r == ROLE_ASSISTANT ? doc_get(m, "tool_calls") : NULL;
	if (calls && calls->kind == DOC_SEQ && calls->n && doc_is_null(content))
		return load_extras(c, d, m, index, "", 0);
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
	else if (r == ROLE_ASSISTANT)
		rc = load_extras(c, d, m, index, text, len);
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
