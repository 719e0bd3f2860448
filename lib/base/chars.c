/* chars.c: UTF-8 validation, Han detection and grapheme cutting for prompts (chars.h), on utf8proc's tables. */
#include "base/chars.h"
#include "base/err.h"

#include <utf8proc.h>

/* Decode the code point at s[0..n) (n > 0); -1 if the bytes are not UTF-8. */
static utf8proc_ssize_t next(const char *s, size_t n, utf8proc_int32_t *cp)
{
	utf8proc_ssize_t len = n > 4 ? 4 : (utf8proc_ssize_t)n;
	return utf8proc_iterate((const utf8proc_uint8_t *)s, len, cp);
}

int chars_check(const char *name, const char *s, size_t n, size_t base)
{
	for (size_t i = 0; i < n;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = next(s + i, n - i, &cp);
		if (k < 0)
			return err(ERR_DATA, "%s: invalid UTF-8 at byte offset %zu", name, base + i);
		if (cp == 0)
			return err(ERR_DATA, "%s: NUL byte at byte offset %zu", name, base + i);
		i += (size_t)k;
	}
	return 0;
}

static int in_han_block(utf8proc_int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x20000 && c <= 0x323AF) || (c >= 0xF900 && c <= 0xFAFF) ||
	       (c >= 0x2F800 && c <= 0x2FA1F);
}

int chars_has_han(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = next(s + i, n - i, &cp);
		if (k < 0)
			return 0;
		if (in_han_block(cp) && utf8proc_category(cp) == UTF8PROC_CATEGORY_LO)
			return 1;
		i += (size_t)k;
	}
	return 0;
}

size_t chars_cut(const char *s, size_t n, size_t max)
{
	utf8proc_int32_t prev = 0, state = 0;
	size_t count = 0, boundary = 0;
	for (size_t i = 0; i < n;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = next(s + i, n - i, &cp);
		if (k < 0)
			break;
		if (count > 0 && utf8proc_grapheme_break_stateful(prev, cp, &state))
			boundary = i;
		/* max code points are in: cut at the last boundary, but not
		 * before the first grapheme cluster ends (never an empty text) */
		if (count >= max && boundary > 0)
			return boundary;
		count++;
		prev = cp;
		i += (size_t)k;
	}
	return n;
}
