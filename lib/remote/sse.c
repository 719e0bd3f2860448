/* sse.c: the server-sent events parser (WHATWG HTML, "event stream
 * interpretation"): lines end with \n, \r\n or \r; "data:" lines add to the
 * event's data; a blank line ends the event. Fed in arbitrary pieces. */
#include "remote/remote.h"
#include "base/err.h"

#include <string.h>

void sse_init(Sse *s)
{
	memset(s, 0, sizeof *s);
}

void sse_free(Sse *s)
{
	bytebuf_free(&s->line);
	bytebuf_free(&s->data);
}

static int dispatch(Sse *s, SseEventFn fn, void *ctx)
{
	if (!s->has_data)
		return 0;
	s->has_data = 0;
	int rc = fn(ctx, s->data.len ? s->data.s : "", s->data.len);
	s->data.len = 0;
	return rc;
}

/* One complete line (without its end). */
static int line(Sse *s, SseEventFn fn, void *ctx)
{
	const char *l = s->line.len ? s->line.s : "";
	size_t n = s->line.len;
	s->line.len = 0;
	if (n == 0)
		return dispatch(s, fn, ctx);
	const char *colon = memchr(l, ':', n);
	size_t name = colon ? (size_t)(colon - l) : n;
	if (name != 4 || memcmp(l, "data", 4))
		return 0;                       /* a comment, event:, id:, retry: */
	const char *v = colon ? colon + 1 : l + n;
	if (v < l + n && *v == ' ')
		v++;
	int rc = 0;
	if (s->has_data)
		rc = bytebuf_add(&s->data, "\n", 1);
	s->has_data = 1;
	return rc ? rc : bytebuf_add(&s->data, v, (size_t)(l + n - v));
}

int sse_feed(Sse *s, const char *buf, size_t n, SseEventFn fn, void *ctx)
{
	for (size_t i = 0; i < n; ) {
		if (s->cr && buf[i] == '\n') {  /* the \n of a \r\n */
			s->cr = 0;
			i++;
			continue;
		}
		s->cr = 0;
		size_t j = i;
		while (j < n && buf[j] != '\n' && buf[j] != '\r')
			j++;
		int rc = bytebuf_add(&s->line, buf + i, j - i);
		if (rc)
			return rc;
		if (j == n)
			break;
		s->cr = buf[j] == '\r';
		if ((rc = line(s, fn, ctx)))
			return rc;
		i = j + 1;
	}
	return 0;
}

int sse_finish(Sse *s, SseEventFn fn, void *ctx)
{
	int rc = s->line.len ? line(s, fn, ctx) : 0;
	return rc ? rc : dispatch(s, fn, ctx);
}
