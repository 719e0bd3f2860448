#include "strbuf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int strbuf_add(StrBuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return err(ERR_IO, "out of memory");
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

int strbuf_adds(StrBuf *b, const char *s)
{
	return strbuf_add(b, s, strlen(s));
}

char *strbuf_take(StrBuf *b)
{
	char *p = b->p ? b->p : calloc(1, 1);
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void strbuf_free(StrBuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
