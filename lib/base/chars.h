/* chars.h: the UTF-8 facts ernie-prompt needs (utf8proc supplies the data).
 *
 * Text that goes into a prompt must be valid UTF-8 without NUL bytes (the
 * batch output separates prompts with NULs). Han detection picks the
 * language of the web-search prompt. Cuts happen only between grapheme
 * clusters, so a shortened text never ends inside a character, an emoji
 * sequence or a letter with combining marks.
 */
#ifndef ERNIE_CHARS_H
#define ERNIE_CHARS_H

#include <stddef.h>

/* 0, or ERR_DATA "name: invalid UTF-8 at byte offset N" / "name: NUL byte at
 * byte offset N", with N = base + the offset in s (base: where s starts in
 * a larger input, so the message points into the file). */
int chars_check(const char *name, const char *s, size_t n, size_t base);

/* 1 if valid UTF-8 text s holds a Han character: a code point that utf8proc
 * classes as a letter (Lo) in the CJK Unified Ideographs blocks (U+4E00..9FFF,
 * extension A U+3400..4DBF, extensions B..H U+20000..323AF) or the CJK
 * Compatibility Ideographs (U+F900..FAFF, U+2F800..2FA1F). */
int chars_has_han(const char *s, size_t n);

/* The length in bytes of the longest prefix of valid UTF-8 text s that holds
 * at most max code points (max >= 1) and ends at a grapheme cluster
 * boundary; when the first grapheme cluster alone has more than max code
 * points, that cluster, whole. */
size_t chars_cut(const char *s, size_t n, size_t max);

#endif
