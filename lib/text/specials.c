/* specials.c: special and added tokens of a model directory (see specials.h). */
#include "text/specials.h"

#include "base/doc.h"
#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the index ----------------------------------------------------------- */

static int cmp_text(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Position in s->sorted of the first token not less than text (lower bound). */
static size_t lower_bound(const Specials *s, const char *text, size_t len)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const Special *t = &s->v[s->sorted[mid]];
		if (cmp_text(t->text, t->len, text, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int is_at(const Specials *s, size_t pos, const char *text, size_t len)
{
	if (pos >= s->n)
		return 0;
	const Special *t = &s->v[s->sorted[pos]];
	return t->len == len && !memcmp(t->text, text, len);
}

static int grow(Specials *s, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		Special *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return err(ERR_IO, "special tokens: out of memory");
		s->v = v;
		size_t *sorted = realloc(s->sorted, cap * sizeof *sorted);
		if (!sorted)
			return err(ERR_IO, "special tokens: out of memory");
		s->sorted = sorted;
		s->cap = cap;
	}
	if (len > s->maxlen) {
		unsigned char *h = realloc(s->haslen, len + 1);
		if (!h)
			return err(ERR_IO, "special tokens: out of memory");
		memset(h + (s->haslen ? s->maxlen + 1 : 0), 0,
		       len + 1 - (s->haslen ? s->maxlen + 1 : 0));
		s->haslen = h;
		s->maxlen = len;
	}
	return 0;
}

int specials_add(Specials *s, const char *text, size_t len, int32_t id, int added)
{
	if (len == 0)
		return 0;
	size_t pos = lower_bound(s, text, len);
	if (is_at(s, pos, text, len))
		return 0;
	int rc = grow(s, len);
	if (rc)
		return rc;
	char *copy = malloc(len + 1);
	if (!copy)
		return err(ERR_IO, "special tokens: out of memory");
	memcpy(copy, text, len);
	copy[len] = 0;
	s->v[s->n] = (Special){ copy, len, id, added };
	memmove(s->sorted + pos + 1, s->sorted + pos, (s->n - pos) * sizeof *s->sorted);
	s->sorted[pos] = s->n++;
	s->haslen[len] = 1;
	s->first[(unsigned char)text[0] / 8] |= 1u << ((unsigned char)text[0] % 8);
	return 0;
}

void specials_free(Specials *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].text);
	free(s->v);
	free(s->sorted);
	free(s->haslen);
	memset(s, 0, sizeof *s);
}

size_t specials_prefix(const Specials *s, const char *text, size_t len, size_t *which)
{
	if (s->n == 0 || len == 0)
		return 0;
	unsigned char c = (unsigned char)text[0];
	if (!(s->first[c / 8] >> (c % 8) & 1))
		return 0;
	size_t top = len < s->maxlen ? len : s->maxlen;
	for (size_t l = top; l > 0; l--) {
		if (!s->haslen[l])
			continue;
		size_t pos = lower_bound(s, text, l);
		if (is_at(s, pos, text, l)) {
			*which = s->sorted[pos];
			return l;
		}
	}
	return 0;
}

int specials_find(const Specials *s, const char *text, size_t len, size_t *at, size_t *which)
{
	if (s->n == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (specials_prefix(s, text + i, len - i, which)) {
			*at = i;
			return 1;
		}
	}
	return 0;
}

/* ---- the built-in ERNIE 4.5 set ---------------------------------------- */

/* Named tokens of ERNIE-4.5-*-PT tokenizer_config.json, with the ids the
 * official vocabulary gives them (-1: look up in tokenizer.model). */
static const struct { const char *text; int32_t id; } ernie_named[] = {
	{ "<s>", 1 }, { "</s>", 2 }, { "<unk>", 0 },
	{ "<|begin_of_sentence|>", 100273 }, { "<|end_of_sentence|>", 100272 },
	{ "<mask:1>", -1 }, { "<mask:4>", -1 }, { "<mask:5>", -1 },
	{ "<mask:6>", -1 }, { "<mask:7>", -1 },
};

/* added_tokens.json: 100295.. in this order, <|LOC_0|>..<|LOC_1000|> after the first two. */
static const char *const ernie_added_head[] = { "<|IMAGE_PLACEHOLDER|>", "<|AUDIO_PLACEHOLDER|>" };
static const char *const ernie_added_tail[] = {
	"<|LOC_BEGIN|>", "<|LOC_END|>", "<|LOC_SEP|>",
	"<|CROP_COL_SEP|>", "<|CROP_ROW_SEP|>", "<|IMAGE_SEP|>",
};
enum { ERNIE_FIRST_ADDED = 100295, ERNIE_LOCS = 1001 };

int specials_builtin(Specials *s)
{
	memset(s, 0, sizeof *s);
	int rc = 0;
	int32_t id = ERNIE_FIRST_ADDED;
	char buf[32];
	for (size_t i = 0; !rc && i < sizeof ernie_named / sizeof *ernie_named; i++)
		rc = specials_add(s, ernie_named[i].text, strlen(ernie_named[i].text), ernie_named[i].id, 0);
	for (size_t i = 0; !rc && i < 2; i++)
		rc = specials_add(s, ernie_added_head[i], strlen(ernie_added_head[i]), id++, 1);
	for (int i = 0; !rc && i < ERNIE_LOCS; i++) {
		int n = snprintf(buf, sizeof buf, "<|LOC_%d|>", i);
		rc = specials_add(s, buf, (size_t)n, id++, 1);
	}
	for (size_t i = 0; !rc && i < sizeof ernie_added_tail / sizeof *ernie_added_tail; i++)
		rc = specials_add(s, ernie_added_tail[i], strlen(ernie_added_tail[i]), id++, 1);
	if (rc)
		specials_free(s);
	return rc;
}

/* ---- the model directory's files --------------------------------------- */

/* A token value: "text" or an AddedToken object {"content": "text", ...}. */
static int token_text(const Doc *d, const DocNode *n, const char *key, const char **text, size_t *len)
{
	if (n->kind == DOC_MAP) {
		const DocNode *c = doc_get(n, "content");
		if (!c)
			return err(ERR_DATA, "%s:%d:%d: '%s': token object without \"content\"",
			           d->name, n->line, n->col, key);
		n = c;
	}
	int rc = doc_string(d, n, key, text);
	if (!rc)
		*len = n->len;
	return rc;
}

static int add_node(Specials *s, const Doc *d, const DocNode *n, const char *key, int added)
{
	const char *text;
	size_t len;
	int rc = token_text(d, n, key, &text, &len);
	return rc ? rc : specials_add(s, text, len, -1, added);
}

/* tokenizer_config.json and special_tokens_map.json: every "*_token" key,
 * "additional_special_tokens", and "added_tokens_decoder" {"id": {"content"}}. */
static int read_named(Specials *s, const Doc *d)
{
	const DocNode *root = d->root;
	if (!root)
		return 0;
	if (root->kind != DOC_MAP)
		return err(ERR_DATA, "%s:%d:%d: expected an object", d->name, root->line, root->col);
	for (size_t i = 0; i < root->n; i++) {
		const DocNode *k = root->kids[2 * i], *v = root->kids[2 * i + 1];
		if (k->kind != DOC_SCALAR || doc_is_null(v))
			continue;
		int rc = 0;
		size_t kl = k->len;
		if (!strcmp(k->str, "additional_special_tokens")) {
			if (v->kind != DOC_SEQ)
				return err(ERR_DATA, "%s:%d:%d: additional_special_tokens: expected a list",
				           d->name, v->line, v->col);
			for (size_t j = 0; !rc && j < v->n; j++)
				rc = add_node(s, d, v->kids[j], k->str, 1);
		} else if (!strcmp(k->str, "added_tokens_decoder") && v->kind == DOC_MAP) {
			for (size_t j = 0; !rc && j < v->n; j++) {
				const DocNode *idn = v->kids[2 * j], *tok = v->kids[2 * j + 1];
				const char *text;
				size_t len;
				char *end;
				long long id = idn->kind == DOC_SCALAR ? strtoll(idn->str, &end, 10) : -1;
				if (id < 0 || id > INT32_MAX || end == idn->str || *end)
					rc = err(ERR_DATA, "%s:%d:%d: added_tokens_decoder: key is not an id",
					         d->name, idn->line, idn->col);
				if (!rc)
					rc = token_text(d, tok, k->str, &text, &len);
				if (!rc)
					rc = specials_add(s, text, len, (int32_t)id, 1);
			}
		} else if (kl > 6 && !strcmp(k->str + kl - 6, "_token") && v->kind != DOC_SEQ) {
			rc = add_node(s, d, v, k->str, 0);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* added_tokens.json: {"text": id, ...} */
static int read_added(Specials *s, const Doc *d)
{
	const DocNode *root = d->root;
	if (!root)
		return 0;
	if (root->kind != DOC_MAP)
		return err(ERR_DATA, "%s:%d:%d: expected an object", d->name, root->line, root->col);
	for (size_t i = 0; i < root->n; i++) {
		const DocNode *k = root->kids[2 * i], *v = root->kids[2 * i + 1];
		const char *text;
		long long id;
		int rc = doc_string(d, k, "added token", &text);
		if (!rc)
			rc = doc_int(d, v, text, &id);
		if (!rc && (id < 0 || id > INT32_MAX))
			rc = err(ERR_DATA, "%s:%d:%d: '%s': id %lld out of range", d->name, v->line, v->col, text, id);
		if (!rc)
			rc = specials_add(s, text, k->len, (int32_t)id, 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* Load dir/name with fn; a missing file is no error. */
static int read_file(Specials *s, const char *dir, const char *name,
                     int (*fn)(Specials *, const Doc *))
{
	char path[4096];
	struct stat st;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return err(ERR_IO, "%s/%s: path too long", dir, name);
	if (stat(path, &st) && errno == ENOENT)
		return 0;
	Doc d;
	int rc = doc_load_file(&d, path);
	if (rc)
		return rc;
	rc = fn(s, &d);
	doc_free(&d);
	return rc;
}

int specials_load(Specials *s, const char *dir)
{
	if (!dir)
		return specials_builtin(s);
	memset(s, 0, sizeof *s);
	/* added_tokens.json first: it gives the ids of names listed again later */
	int rc = read_file(s, dir, "added_tokens.json", read_added);
	if (!rc)
		rc = read_file(s, dir, "tokenizer_config.json", read_named);
	if (!rc)
		rc = read_file(s, dir, "special_tokens_map.json", read_named);
	if (rc)
		specials_free(s);
	return rc;
}
