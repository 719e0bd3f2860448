/* err.c: the library's last-error message and its helpers (err.h). */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP 12         /* bytes kept at each end of a shortened word */

static _Thread_local char msg[1024];

/* Replace s[from, to) with "...", widened to whole UTF-8 characters. */
static void cut(char *s, size_t *len, size_t from, size_t to)
{
	while (from > 0 && ((unsigned char)s[from] & 0xc0) == 0x80)
		from--;
	while (to < *len && ((unsigned char)s[to] & 0xc0) == 0x80)
		to++;
	memcpy(s + from, "...", 3);
	memmove(s + from + 3, s + to, *len - to + 1);
	*len -= to - from - 3;
}

/* s (len bytes, NUL-terminated, writable) as the message. A message too long
 * for it loses the middle of its longest word (a path, as a rule: "/srv/a/
 * .../tokenizer.model"), then of the next, so the reason at the end stays. */
static void set(char *s, size_t len)
{
	while (len >= sizeof msg) {
		size_t excess = len - (sizeof msg - 1), best = 0, best_len = 0;
		for (size_t i = 0, j; i < len; i = j + 1) {
			for (j = i; j < len && s[j] != ' '; j++)
				;
			if (j - i > best_len) {
				best = i;
				best_len = j - i;
			}
		}
		size_t drop = excess + 3;
		if (best_len > 2 * KEEP + 3) {
			if (drop > best_len - 2 * KEEP)
				drop = best_len - 2 * KEEP;
			cut(s, &len, best + (best_len - drop) / 2, best + (best_len - drop) / 2 + drop);
		} else {        /* no long word: the middle of the whole */
			cut(s, &len, (len - drop) / 2, (len - drop) / 2 + drop);
		}
	}
	memcpy(msg, s, len + 1);
}

/* The message fmt, ap, then tail; shortened by set(). */
static void format(const char *tail, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	size_t tl = strlen(tail);
	char *s = n < 0 ? NULL : malloc((size_t)n + tl + 1);
	if (!s) {               /* cut at the end: better than nothing */
		vsnprintf(msg, sizeof msg, fmt, ap);
		return;
	}
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	memcpy(s + n, tail, tl + 1);
	set(s, (size_t)n + tl);
	free(s);
}

int err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	format("", fmt, ap);
	va_end(ap);
	return code;
}

int err_errno(int code, const char *fmt, ...)
{
	char tail[256];
	snprintf(tail, sizeof tail, ": %s", strerror(errno));
	va_list ap;
	va_start(ap, fmt);
	format(tail, fmt, ap);
	va_end(ap);
	return code;
}

int err_prefix(int code, const char *fmt, ...)
{
	char tail[sizeof msg + 2] = ": ";
	memcpy(tail + 2, msg, sizeof msg);
	va_list ap;
	va_start(ap, fmt);
	format(tail, fmt, ap);
	va_end(ap);
	return code;
}

const char *err_msg(void)
{
	return msg;
}
