/* bytebuf.h: a growable byte string, for text built by appending. */
#ifndef ERNIE_BYTEBUF_H
#define ERNIE_BYTEBUF_H

#include <stddef.h>

typedef struct {
	char *s;                /* [len] bytes (NULL while nothing was added); bytebuf_add
	                           keeps a NUL after them, so s is also a C string */
	size_t len, cap;        /* bytes used, bytes allocated (cap > len once allocated) */
} ByteBuf;

/* Room for more bytes after len, plus a NUL. ERR_IO when out of memory. */
int bytebuf_reserve(ByteBuf *b, size_t more);
/* Append n bytes / a C string. ERR_IO when out of memory. */
int bytebuf_add(ByteBuf *b, const void *p, size_t n);
int bytebuf_adds(ByteBuf *b, const char *s);
/* Hand the bytes to the caller (NUL-terminated, never NULL) and empty b;
 * NULL only when out of memory. */
char *bytebuf_take(ByteBuf *b);
void bytebuf_free(ByteBuf *b);

#endif
