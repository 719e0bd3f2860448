/* references.h: search results for the web-search prompt.
 *
 * A references file is YAML or JSON: a list of maps, or a map holding the
 * list under "references", "results", "organic", "items" or
 * "webPages": {"value": ...} (the response shapes of common search APIs, so
 * they can be saved and passed on unchanged). Each entry's fields are found
 * under the first of these keys that is present and not null:
 *
 *   title    title, name
 *   date     date, datePublished, published_date, publishedDate, publishedAt,
 *            published
 *   content  content, text, snippet, description, body   (required, non-empty)
 *   url      url, link, href
 *   site     site, siteName, site_name, source
 *
 * Values must be scalars; other keys are ignored. An empty optional field
 * counts as absent.
 */
#ifndef ERNIE_REFERENCES_H
#define ERNIE_REFERENCES_H

#include <stddef.h>

#include "base/bytebuf.h"

enum { REF_TITLE, REF_DATE, REF_CONTENT, REF_URL, REF_SITE, REF_FIELDS };

typedef struct {
	char *field[REF_FIELDS];        /* NUL-terminated UTF-8, or NULL if absent */
	size_t len[REF_FIELDS];         /* bytes in field[i] */
} Reference;

typedef struct {
	Reference *v;                   /* n references in file order */
	size_t n;
} References;

/* Read the file at path ("-" is stdin). Returns 0, ERR_IO, or ERR_DATA with
 * "file:line:col: reference N: field: problem" (N counts from 1). */
int refs_load(References *r, const char *path);
void refs_free(References *r);

/* Append the official layout: for reference i (from 1) the lines
 * "##参考文章i", "标题：…", "文章发布时间：…", "内容：…", "来源网站网址：…",
 * "来源网站的网站名：…" (absent fields left out) joined by "\n"; references
 * separated by a blank line, no newline after the last. Content longer than
 * max_chars code points is cut at a grapheme boundary (0: no limit).
 * Returns 0 or ERR_IO. */
int refs_format(const References *r, size_t max_chars, ByteBuf *out);

#endif
