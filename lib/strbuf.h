/* strbuf.h: a growable byte string, for building prompts by appending. */
#ifndef ERNIE_STRBUF_H
#define ERNIE_STRBUF_H

#include <stddef.h>

typedef struct {
	char *p;        /* len bytes, then a NUL (p is NULL while empty) */
	size_t len;     /* bytes used, not counting the NUL */
	size_t cap;     /* bytes allocated */
} StrBuf;

/* Append n bytes / a C string. Return 0 or ERR_IO (out of memory). */
int strbuf_add(StrBuf *b, const char *s, size_t n);
int strbuf_adds(StrBuf *b, const char *s);
/* Hand the bytes to the caller (NUL-terminated, never NULL) and empty b. */
char *strbuf_take(StrBuf *b);
void strbuf_free(StrBuf *b);

#endif
