/* libFuzzer target: the Thinking output parser (lib/text/reasoning.c). The
 * input is fed whole and then in pieces of the size its first byte gives
 * (a marker split across them): both must give the same reasoning, answer
 * and tool calls. */
#include "text/reasoning.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void feed(Reasoning *r, const char *s, size_t n, size_t step)
{
	reasoning_init(r);
	for (size_t i = 0; i < n; i += step)
		if (reasoning_put(r, s + i, n - i < step ? n - i : step))
			abort();
	if (reasoning_end(r))
		abort();
}

static int same(const ByteBuf *a, const ByteBuf *b)
{
	return a->len == b->len && (!a->len || !memcmp(a->s, b->s, a->len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + data[0] % 16;
	const char *s = (const char *)data + 1;
	Reasoning a = { 0 }, b = { 0 };
	feed(&a, s, size - 1, size);
	feed(&b, s, size - 1, step);
	if (!same(&a.answer, &b.answer) || !same(&a.reasoning, &b.reasoning) ||
	    !same(&a.calls, &b.calls) || a.bad_calls != b.bad_calls)
		abort();
	/* a tool call is one line */
	for (size_t i = 0; i + 1 < a.calls.len; i++)
		if (a.calls.s[i] == '\n' && a.calls.s[i + 1] == '\n')
			abort();
	reasoning_free(&a);
	reasoning_free(&b);
	return 0;
}
