/* wordcache.c: see wordcache.h. */
#include "text/wordcache.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a: words are short, and this is cheap for them. */
static uint32_t word_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

const SpmTok *wordcache_get(const WordCache *c, const char *w, size_t len, size_t *n)
{
	if (!c->slot || len > WORDCACHE_MAXLEN)
		return NULL;
	uint32_t h = word_hash(w, len), mask = WORDCACHE_SLOTS - 1;
	for (uint32_t i = h & mask; c->slot[i].len; i = (i + 1) & mask) {
		const WordSlot *s = &c->slot[i];
		if (s->hash == h && s->len == len && !memcmp(c->bytes.s + s->text, w, len)) {
			*n = s->ntok;
			return c->toks.v + s->tok;
		}
	}
	return NULL;
}

static void clear(WordCache *c)
{
	memset(c->slot, 0, WORDCACHE_SLOTS * sizeof *c->slot);
	c->used = 0;
	c->bytes.len = 0;
	c->toks.n = 0;
}

int wordcache_put(WordCache *c, const char *w, size_t len, const SpmTok *toks, size_t n)
{
	if (len == 0 || len > WORDCACHE_MAXLEN)
		return 0;
	if (!c->slot && !(c->slot = calloc(WORDCACHE_SLOTS, sizeof *c->slot)))
		return err(ERR_IO, "out of memory");
	if (c->used >= WORDCACHE_SLOTS / 2 || c->bytes.len + len > WORDCACHE_BYTES)
		clear(c);
	WordSlot s = { word_hash(w, len), (uint32_t)len, (uint32_t)c->bytes.len, (uint32_t)c->toks.n, (uint32_t)n };
	int rc = bytebuf_add(&c->bytes, w, len);
	for (size_t i = 0; !rc && i < n; i++)
		rc = spmtoks_add(&c->toks, toks[i].id, toks[i].start, toks[i].len);
	if (rc)
		return rc;
	uint32_t mask = WORDCACHE_SLOTS - 1, i = s.hash & mask;
	while (c->slot[i].len)
		i = (i + 1) & mask;
	c->slot[i] = s;
	c->used++;
	return 0;
}

void wordcache_free(WordCache *c)
{
	free(c->slot);
	free(c->bytes.s);
	free(c->toks.v);
	memset(c, 0, sizeof *c);
}
