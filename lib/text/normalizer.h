/* normalizer.h: SentencePiece's text normalisation, byte for byte.
 *
 * Input text is rewritten before encoding: the model's precompiled charsmap
 * (a Darts double-array trie of source strings whose values point at NUL-
 * terminated replacements, as stored by spm_train for nmt_nfkc and friends)
 * replaces the longest matching prefix; malformed UTF-8 becomes U+FFFD one
 * byte at a time; user-defined symbols pass through untouched; spaces become
 * U+2581; a dummy prefix U+2581 is added and runs of spaces are collapsed when
 * the model says so.
 */
#ifndef ERNIE_NORMALIZER_H
#define ERNIE_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/bytebuf.h"
#include "text/specials.h"
#include "text/spm_model.h"

typedef struct {
	const SpmModel *m;
	const Specials *user;   /* user-defined symbols, matched before the charsmap */
	uint32_t *units;        /* [nunits] the double array, host byte order */
	size_t nunits;
	const char *repl;       /* [nrepl] NUL-terminated replacement strings */
	size_t nrepl;
} Normalizer;

/* Set up from the model (checks the charsmap blob: ERR_DATA naming the model). */
int normalizer_init(Normalizer *nz, const SpmModel *m, const Specials *user);
void normalizer_free(Normalizer *nz);

/* Append the normalised form of text[0..len) to out. ERR_DATA if the
 * charsmap points outside its strings, ERR_IO if out of memory. */
int normalize(const Normalizer *nz, const char *text, size_t len, ByteBuf *out);

/* Longest charsmap source string at the start of text[0..len): its length
 * (0 if none) and *repl the replacement. Exposed for the unit tests. */
size_t charsmap_match(const Normalizer *nz, const char *text, size_t len, const char **repl);

/* SentencePiece's UTF-8 decoder: the code point at text[0..len) and its
 * length in *n; malformed (overlong, surrogate, > U+10FFFF, truncated)
 * gives 0xFFFD with *n = 1. */
uint32_t spm_decode_utf8(const char *text, size_t len, size_t *n);

#endif
