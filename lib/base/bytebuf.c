/* bytebuf.c: the growable byte string of bytebuf.h (doubling growth, checked for overflow). */
#include "base/bytebuf.h"
#include "base/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int bytebuf_reserve(ByteBuf *b, size_t more)
{
	if (b->cap > b->len && b->cap - b->len > more)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len <= more) {
		if (cap > SIZE_MAX / 2)
			return err(ERR_IO, "out of memory");
		cap *= 2;
	}
	char *s = realloc(b->s, cap);
	if (!s)
		return err(ERR_IO, "out of memory");
	b->s = s;
	b->cap = cap;
	return 0;
}

int bytebuf_add(ByteBuf *b, const void *p, size_t n)
{
	int rc = bytebuf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

int bytebuf_adds(ByteBuf *b, const char *s)
{
	return bytebuf_add(b, s, strlen(s));
}

char *bytebuf_take(ByteBuf *b)
{
	char *s = b->s ? b->s : calloc(1, 1);
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void bytebuf_free(ByteBuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
