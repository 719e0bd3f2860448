/* conversation.c: conversation files (YAML/JSON messages) into Messages (conversation.h). */
#include "prompt/conversation.h"
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

/* One entry of the list: {role, content}. */
static int load_message(Conversation *c, const Doc *d, const DocNode *m, size_t index)
{
	const char *name = d->name;
	if (m->kind != DOC_MAP)
		return err(ERR_DATA, "%s:%d:%d: message %zu: expected a map with role and content",
			   name, m->line, m->col, index);
	const DocNode *role = doc_get(m, "role"), *content = doc_get(m, "content");
	if (!role || role->kind != DOC_SCALAR)
		return err(ERR_DATA, "%s:%d:%d: message %zu: %s", name,
			   role ? role->line : m->line, role ? role->col : m->col, index,
			   role ? "role: expected a string" : "no role");
	Role r;
	if (!strcmp(role->str, "system"))
		r = ROLE_SYSTEM;
	else if (!strcmp(role->str, "user"))
		r = ROLE_USER;
	else if (!strcmp(role->str, "assistant"))
		r = ROLE_ASSISTANT;
	else
		return err(ERR_DATA, "%s:%d:%d: message %zu: role '%.40s' is not system, user or "
			   "assistant (the ERNIE 4.5 template would drop it)", name, role->line,
			   role->col, index, role->str);
	if (!content || content->kind != DOC_SCALAR || doc_is_null(content))
		return err(ERR_DATA, "%s:%d:%d: message %zu: %s", name,
			   content ? content->line : m->line, content ? content->col : m->col,
			   index, content ? "content: expected a string" : "no content");
	char where[64];
	snprintf(where, sizeof where, "message %zu: content", index);
	int rc = chars_check(where, content->str, content->len, 0);
	if (rc)
		return err_prefix(rc, "%s:%d:%d", name, content->line, content->col);
	return conv_add(c, r, content->str, content->len);
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
