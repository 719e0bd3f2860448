/* normalizer.c: SentencePiece normalisation (see normalizer.h). */
#include "text/normalizer.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

#define SPACE_SYMBOL "\xe2\x96\x81"     /* U+2581, what ' ' becomes */
#define MAX_TRIE_RESULTS 32             /* sentencepiece looks at this many prefixes */

/* ---- UTF-8 as sentencepiece decodes it ---------------------------------- */

static int trail(unsigned char c) { return (c & 0xc0) == 0x80; }
static int valid_cp(uint32_t c) { return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff); }

uint32_t spm_decode_utf8(const char *text, size_t len, size_t *n)
{
	const unsigned char *s = (const unsigned char *)text;
	uint32_t c;
	if (s[0] < 0x80) {
		*n = 1;
		return s[0];
	} else if (len >= 2 && (s[0] & 0xe0) == 0xc0) {
		c = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		if (trail(s[1]) && c >= 0x80 && valid_cp(c)) {
			*n = 2;
			return c;
		}
	} else if (len >= 3 && (s[0] & 0xf0) == 0xe0) {
		c = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		if (trail(s[1]) && trail(s[2]) && c >= 0x800 && valid_cp(c)) {
			*n = 3;
			return c;
		}
	} else if (len >= 4 && (s[0] & 0xf8) == 0xf0) {
		c = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		if (trail(s[1]) && trail(s[2]) && trail(s[3]) && c >= 0x10000 && valid_cp(c)) {
			*n = 4;
			return c;
		}
	}
	*n = 1;
	return 0xfffd;
}

/* ---- the precompiled charsmap -------------------------------------------- */

/* Darts-clone double-array unit fields. */
static int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & 0x7fffffffu; }
static uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xffu); }
static uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

int normalizer_init(Normalizer *nz, const SpmModel *m, const Specials *user)
{
	memset(nz, 0, sizeof *nz);
	nz->m = m;
	nz->user = user;
	const unsigned char *blob = (const unsigned char *)m->charsmap.s;
	size_t size = m->charsmap.len;
	if (size == 0)
		return 0;
	if (size <= 4)
		return err(ERR_DATA, "%s: precompiled_charsmap: %zu bytes, too short", m->path, size);
	uint32_t tsize = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
	                 (uint32_t)blob[3] << 24;
	if (tsize >= size - 4 || tsize % 4 || tsize == 0)
		return err(ERR_DATA, "%s: precompiled_charsmap: trie size %u does not fit in %zu bytes",
		           m->path, tsize, size);
	nz->nunits = tsize / 4;
	nz->units = malloc(tsize);
	if (!nz->units)
		return err(ERR_IO, "%s: out of memory", m->path);
	for (size_t i = 0; i < nz->nunits; i++) {
		const unsigned char *p = blob + 4 + 4 * i;
		nz->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	}
	nz->repl = (const char *)blob + 4 + tsize;
	nz->nrepl = size - 4 - tsize;
	if (nz->repl[nz->nrepl - 1] != 0) {
		normalizer_free(nz);
		return err(ERR_DATA, "%s: precompiled_charsmap: replacement strings not NUL-terminated", m->path);
	}
	return 0;
}

void normalizer_free(Normalizer *nz)
{
	free(nz->units);
	nz->units = NULL;
	nz->nunits = 0;
}

/* Darts commonPrefixSearch keeping the longest of the first
 * MAX_TRIE_RESULTS matches, as sentencepiece does; *value gets its value. */
static size_t trie_longest(const Normalizer *nz, const unsigned char *key, size_t len, uint32_t *value)
{
	const uint32_t *a = nz->units;
	size_t n = nz->nunits, best = 0, found = 0;
	size_t pos = unit_offset(a[0]);
	for (size_t i = 0; i < len; i++) {
		pos ^= key[i];
		if (pos >= n)
			break;
		uint32_t u = a[pos];
		if (unit_label(u) != key[i])
			break;
		pos ^= unit_offset(u);
		if (pos >= n)
			break;
		if (unit_has_leaf(u)) {
			if (found < MAX_TRIE_RESULTS && i + 1 > best) {
				best = i + 1;
				*value = unit_value(a[pos]);
			}
			found++;
		}
	}
	return best;
}

size_t charsmap_match(const Normalizer *nz, const char *text, size_t len, const char **repl)
{
	if (!nz->units)
		return 0;
	uint32_t value = 0;
	size_t n = trie_longest(nz, (const unsigned char *)text, len, &value);
	if (n == 0)
		return 0;
	if (value >= nz->nrepl)
		return SIZE_MAX;
	*repl = nz->repl + value;
	return n;
}

/* ---- normalisation ----------------------------------------------------- */

/* sentencepiece's NormalizePrefix: the replacement for the longest rule at
 * the start of text (*out, *outlen) and the input bytes it consumes. */
static int next_piece(const Normalizer *nz, const char *text, size_t len,
                      const char **out, size_t *outlen, size_t *consumed)
{
	size_t which, n = nz->user ? specials_prefix(nz->user, text, len, &which) : 0;
	if (n) {
		*out = text;
		*outlen = *consumed = n;
		return 0;
	}
	const char *repl;
	n = charsmap_match(nz, text, len, &repl);
	if (n == SIZE_MAX)
		return err(ERR_DATA, "%s: precompiled_charsmap: replacement offset out of range", nz->m->path);
	if (n) {
		*out = repl;
		*outlen = strlen(repl);
		*consumed = n;
		return 0;
	}
	if (spm_decode_utf8(text, len, &n) == 0xfffd && n != 3) {
		*out = "\xef\xbf\xbd";
		*outlen = 3;
		*consumed = 1;
	} else {
		*out = text;
		*outlen = *consumed = n;
	}
	return 0;
}

int normalize(const Normalizer *nz, const char *text, size_t len, ByteBuf *out)
{
	const SpmModel *m = nz->m;
	const char *piece;
	size_t plen, used;
	int rc;
	if (m->remove_extra_ws) {       /* leading spaces go */
		while (len) {
			if ((rc = next_piece(nz, text, len, &piece, &plen, &used)))
				return rc;
			if (plen != 1 || piece[0] != ' ')
				break;
			text += used;
			len -= used;
		}
	}
	if (len == 0)
		return 0;
	size_t start = out->len;
	/* spaces grow to 3 bytes; a guess that is usually enough */
	if ((rc = bytebuf_reserve(out, len + len / 2 + 8)))
		return rc;
	if (m->add_dummy_prefix && !m->treat_ws_suffix && (rc = bytebuf_add(out, SPACE_SYMBOL, 3)))
		return rc;
	int prev_space = m->remove_extra_ws;
	while (len) {
		if ((rc = next_piece(nz, text, len, &piece, &plen, &used)))
			return rc;
		if (prev_space)
			while (plen && piece[0] == ' ')
				piece++, plen--;
		if (plen) {
			if ((rc = bytebuf_reserve(out, 3 * plen)))
				return rc;
			for (size_t i = 0; i < plen; i++) {
				if (m->escape_ws && piece[i] == ' ') {
					memcpy(out->s + out->len, SPACE_SYMBOL, 3);
					out->len += 3;
				} else {
					out->s[out->len++] = piece[i];
				}
			}
			prev_space = piece[plen - 1] == ' ';
		}
		text += used;
		len -= used;
		if (!m->remove_extra_ws)
			prev_space = 0;
	}
	if (m->remove_extra_ws) {       /* trailing spaces go */
		const char *sp = m->escape_ws ? SPACE_SYMBOL : " ";
		size_t sl = m->escape_ws ? 3 : 1;
		while (out->len - start >= sl && !memcmp(out->s + out->len - sl, sp, sl))
			out->len -= sl;
	}
	if (m->add_dummy_prefix && m->treat_ws_suffix)
		return bytebuf_add(out, SPACE_SYMBOL, 3);
	return 0;
}
