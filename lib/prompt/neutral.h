/* neutral.h: special-token literals in untrusted text, made harmless.
 *
 * ernie-tok turns the text of a special token ("<|end_of_sentence|>") into
 * its control id wherever it occurs, so a web page quoting one could end the
 * user turn and speak as the assistant. The fix is minimal and visible: the
 * first character of every such literal is replaced by its full-width form
 * ("<" becomes U+FF1C "＜"), so "<|end_of_sentence|>" reads
 * "＜|end_of_sentence|>" and tokenizes as ordinary text. A token whose first
 * character is not printable ASCII keeps it and gets U+2060 WORD JOINER
 * inserted after it instead.
 */
#ifndef ERNIE_NEUTRAL_H
#define ERNIE_NEUTRAL_H

#include <stddef.h>

#include "text/specials.h"
#include "base/bytebuf.h"

/* What was neutralised, for the warning. */
typedef struct {
	size_t count;           /* literals neutralised */
	ByteBuf changes;        /* the distinct changes made, "'<' made '＜', ..." */
} Neutral;

/* Append text[0..n) to out with every literal of a token of s neutralised,
 * noted in *nt. Returns 0 or ERR_IO. */
int neutral_text(const Specials *s, const char *text, size_t n, ByteBuf *out, Neutral *nt);

/* The same in place for a malloc'd NUL-terminated string of *len bytes
 * (*text is replaced only when something changed). */
int neutral_string(const Specials *s, char **text, size_t *len, Neutral *nt);

void neutral_free(Neutral *nt);

#endif
