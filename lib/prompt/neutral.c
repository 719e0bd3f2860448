/* neutral.c: special-token literals in untrusted text replaced by look-alikes (neutral.h). */
#include "prompt/neutral.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Note the change "'<' made '＜'" (or "'«' given U+2060 after it") in nt
 * unless it is there already. */
static int note_change(Neutral *nt, const char *from, size_t flen, const char *to, size_t tlen)
{
	char what[64];
	int k = tlen ? snprintf(what, sizeof what, "'%.*s' made '%.*s'", (int)flen, from,
				(int)tlen, to)
		     : snprintf(what, sizeof what, "'%.*s' given U+2060 after it", (int)flen, from);
	if (nt->changes.s && strstr(nt->changes.s, what))
		return 0;
	int rc = nt->changes.len ? bytebuf_adds(&nt->changes, ", ") : 0;
	return rc ? rc : bytebuf_add(&nt->changes, what, (size_t)k);
}

/* Append the neutralised form of the character at p (n bytes left) and note
 * it; return how many bytes of p it replaces. */
static size_t defuse_first(const char *p, size_t n, ByteBuf *out, Neutral *nt, int *rc)
{
	unsigned char c = (unsigned char)p[0];
	utf8proc_uint8_t enc[8];
	if (c >= 0x21 && c <= 0x7E) {
		utf8proc_ssize_t k = utf8proc_encode_char(0xFF00 + (c - 0x20), enc);
		*rc = bytebuf_add(out, (const char *)enc, (size_t)k);
		if (!*rc)
			*rc = note_change(nt, p, 1, (const char *)enc, (size_t)k);
		return 1;
	}
	utf8proc_int32_t cp;
	utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)p,
						n > 4 ? 4 : (utf8proc_ssize_t)n, &cp);
	size_t first = len > 0 ? (size_t)len : 1;
	utf8proc_ssize_t k = utf8proc_encode_char(0x2060, enc);
	*rc = bytebuf_add(out, p, first);
	if (!*rc)
		*rc = bytebuf_add(out, (const char *)enc, (size_t)k);
	if (!*rc)
		*rc = note_change(nt, p, first, NULL, 0);
	return first;
}

int neutral_text(const Specials *s, const char *text, size_t n, ByteBuf *out, Neutral *nt)
{
	size_t pos = 0, at, which;
	int rc = 0;
	/* Search again right after the replaced character: a literal may hide
	 * another one ("<<|end_of_sentence|>" ...). */
	while (!rc && pos < n && specials_find(s, text + pos, n - pos, &at, &which)) {
		rc = bytebuf_add(out, text + pos, at);
		if (!rc)
			pos += at + defuse_first(text + pos + at, n - pos - at, out, nt, &rc);
		nt->count++;
	}
	if (!rc)
		rc = bytebuf_add(out, text + pos, n - pos);
	return rc;
}

int neutral_string(const Specials *s, char **text, size_t *len, Neutral *nt)
{
	size_t before = nt->count;
	ByteBuf b = { 0 };
	int rc = neutral_text(s, *text, *len, &b, nt);
	if (rc || nt->count == before) {
		bytebuf_free(&b);
		return rc;
	}
	free(*text);
	*len = b.len;
	*text = bytebuf_take(&b);
	return 0;
}

void neutral_free(Neutral *nt)
{
	bytebuf_free(&nt->changes);
	nt->count = 0;
}
