/* wordcache.h: words already encoded, so frequent words skip the model.
 *
 * When the normalised text can be cut before every word (tokenizer.h), a
 * word's tokens do not depend on its neighbours, and natural text repeats
 * its words: a hash table from the word's bytes to its tokens (surfaces
 * relative to the word) turns most of the encoding into lookups. The table
 * is emptied when full, so its memory stays bounded (WORDCACHE_BYTES).
 */
#ifndef ERNIE_WORDCACHE_H
#define ERNIE_WORDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "text/normalizer.h"
#include "text/tokenizer.h"

#define WORDCACHE_MAXLEN 64             /* longer words are not kept */
#define WORDCACHE_SLOTS (1u << 18)      /* table size; emptied at half full */
#define WORDCACHE_BYTES (8u << 20)      /* word bytes kept at most */

typedef struct {
	uint32_t hash;
	uint32_t len;           /* 0 = empty slot */
	uint32_t text;          /* the word: bytes.s[text..text+len) */
	uint32_t tok, ntok;     /* its tokens: toks[tok..tok+ntok) */
} WordSlot;

typedef struct WordCache {
	WordSlot *slot;         /* [WORDCACHE_SLOTS] */
	uint32_t used;
	ByteBuf bytes;
	SpmToks toks;
} WordCache;

/* The tokens of word w (starts relative to w) and *n, or NULL if unknown. */
const SpmTok *wordcache_get(const WordCache *c, const char *w, size_t len, size_t *n);
/* Remember w's tokens (starts relative to w). ERR_IO if out of memory. */
int wordcache_put(WordCache *c, const char *w, size_t len, const SpmTok *toks, size_t n);
void wordcache_free(WordCache *c);

#endif
