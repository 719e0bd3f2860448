/* references.c: references files (search results in YAML/JSON) into References (references.h). */
#include "prompt/references.h"
#include "base/chars.h"
#include "base/err.h"
#include "base/readall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Accepted keys per field, in order of preference (see references.h). */
static const char *const keys[REF_FIELDS][8] = {
	[REF_TITLE] = { "title", "name" },
	[REF_DATE] = { "date", "datePublished", "published_date", "publishedDate", "publishedAt",
		       "published" },
	[REF_CONTENT] = { "content", "text", "snippet", "description", "body" },
	[REF_URL] = { "url", "link", "href" },
	[REF_SITE] = { "site", "siteName", "site_name", "source" },
};

/* The official labels, full-width colons included. */
static const char *const labels[REF_FIELDS] = {
	"标题：", "文章发布时间：", "内容：", "来源网站网址：", "来源网站的网站名：",
};

void refs_free(References *r)
{
	for (size_t i = 0; i < r->n; i++)
		for (int f = 0; f < REF_FIELDS; f++)
			free(r->v[i].field[f]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* The value of field f in entry m: the first accepted key present and not null. */
static const DocNode *field_node(const DocNode *m, int f, const char **key)
{
	for (int k = 0; k < 8 && keys[f][k]; k++) {
		const DocNode *v = doc_get(m, keys[f][k]);
		if (!doc_is_null(v)) {
			*key = keys[f][k];
			return v;
		}
	}
	return NULL;
}

static int load_field(Reference *ref, const Doc *d, const DocNode *m, int f, size_t index)
{
	const char *key = NULL;
	const DocNode *v = field_node(m, f, &key);
	if (v && v->kind != DOC_SCALAR)
		return err(ERR_DATA, "%s:%d:%d: reference %zu: %s: expected a string", d->name,
			   v->line, v->col, index, key);
	if (v) {
		char where[96];
		snprintf(where, sizeof where, "%s:%d:%d: reference %zu: %s", d->name, v->line,
			 v->col, index, key);
		int rc = chars_check(where, v->str, v->len, 0);
		if (rc)
			return rc;
	}
	if (!v || v->len == 0) {
		if (f == REF_CONTENT)
			return err(ERR_DATA, "%s:%d:%d: reference %zu: %s", d->name, m->line, m->col,
				   index, v ? "empty content" : "no content (content, text, snippet, "
				   "description or body)");
		return 0;
	}
	ref->field[f] = malloc(v->len + 1);
	if (!ref->field[f])
		return err(ERR_IO, "out of memory");
	memcpy(ref->field[f], v->str, v->len + 1);
	ref->len[f] = v->len;
	return 0;
}

/* The list inside a search API's response, or the root itself. */
static const DocNode *find_list(const DocNode *root)
{
	static const char *const wrappers[] = { "references", "results", "organic", "items" };
	if (!root || root->kind != DOC_MAP)
		return root;
	for (size_t i = 0; i < sizeof wrappers / sizeof *wrappers; i++)
		if (doc_get(root, wrappers[i]))
			return doc_get(root, wrappers[i]);
	const DocNode *pages = doc_get(doc_get(root, "webPages"), "value");
	return pages ? pages : root;
}

int refs_load(References *r, const char *path)
{
	memset(r, 0, sizeof *r);
	Doc d;
	int rc = readall_doc(&d, path);
	if (rc)
		return rc;
	const DocNode *list = find_list(d.root);
	if (!list || list->kind != DOC_SEQ)
		rc = err(ERR_DATA, "%s:%d:%d: expected a list of references", d.name,
			 list ? list->line : 1, list ? list->col : 1);
	else if (list->n && !(r->v = calloc(list->n, sizeof *r->v)))
		rc = err(ERR_IO, "out of memory");
	for (size_t i = 0; !rc && i < list->n; i++) {
		const DocNode *m = list->kids[i];
		r->n = i + 1;
		if (m->kind != DOC_MAP)
			rc = err(ERR_DATA, "%s:%d:%d: reference %zu: expected a map", d.name,
				 m->line, m->col, i + 1);
		for (int f = 0; !rc && f < REF_FIELDS; f++)
			rc = load_field(&r->v[i], &d, m, f, i + 1);
	}
	doc_free(&d);
	if (rc)
		refs_free(r);
	return rc;
}

int refs_format(const References *r, size_t max_chars, ByteBuf *out)
{
	int rc = 0;
	char num[48];
	for (size_t i = 0; !rc && i < r->n; i++) {
		const Reference *ref = &r->v[i];
		snprintf(num, sizeof num, "%s##参考文章%zu", i ? "\n\n" : "", i + 1);
		rc = bytebuf_adds(out, num);
		for (int f = 0; !rc && f < REF_FIELDS; f++) {
			if (!ref->field[f])
				continue;
			size_t len = ref->len[f];
			if (f == REF_CONTENT && max_chars)
				len = chars_cut(ref->field[f], len, max_chars);
			if (!(rc = bytebuf_adds(out, "\n")) && !(rc = bytebuf_adds(out, labels[f])))
				rc = bytebuf_add(out, ref->field[f], len);
		}
	}
	return rc;
}
