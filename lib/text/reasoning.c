/* reasoning.c: a streaming state machine splitting a Thinking model's output
 * into reasoning, answer and tool calls (reasoning.h). */
#include "text/reasoning.h"
#include "base/doc.h"
#include "base/err.h"
#include "base/json.h"

#include <string.h>

enum { M_THINK, M_THINK_END, M_RESPONSE, M_RESPONSE_END, M_CALL, M_CALL_END, M_IM_END, MARKERS };

static const char *const marker_text[MARKERS] = {
	"<think>", "</think>", "<response>", "</response>", "<tool_call>", "</tool_call>",
	"<|im_end|>",
};

/* The markers that mean something in state s (elsewhere they are text). */
static int active(const Reasoning *r, int m)
{
	switch (r->state) {
	case RS_THINK:
		return m == M_THINK_END || m == M_IM_END || (m == M_THINK && !r->started);
	case RS_BETWEEN:
		return m != M_THINK && m != M_CALL_END;
	case RS_OPEN:
	case RS_ANSWER:
		return m == M_RESPONSE_END || m == M_IM_END;
	case RS_BARE:
		return m == M_RESPONSE_END || m == M_CALL || m == M_IM_END;
	case RS_CALL:           /* JSON may quote any marker but its end */
		return m == M_CALL_END;
	case RS_END:
		return 0;
	}
	return 0;
}

int reasoning_is_marker(const char *text, size_t n)
{
	for (int m = 0; m < MARKERS; m++)
		if (strlen(marker_text[m]) == n && !memcmp(marker_text[m], text, n))
			return 1;
	return 0;
}

void reasoning_init(Reasoning *r)
{
	ByteBuf answer = r->answer, reasoning = r->reasoning, calls = r->calls, call = r->call;
	size_t bad = r->bad_calls;
	memset(r, 0, sizeof *r);
	call.len = 0;
	r->answer = answer;
	r->reasoning = reasoning;
	r->calls = calls;
	r->call = call;
	r->bad_calls = bad;
}

void reasoning_free(Reasoning *r)
{
	bytebuf_free(&r->answer);
	bytebuf_free(&r->reasoning);
	bytebuf_free(&r->calls);
	bytebuf_free(&r->call);
	memset(r, 0, sizeof *r);
}

/* n newlines to b. */
static int newlines(ByteBuf *b, size_t n)
{
	int rc = 0;
	for (; !rc && n; n--)
		rc = bytebuf_add(b, "\n", 1);
	return rc;
}

/* The text the current state writes to, with newlines held back. */
static ByteBuf *sink(Reasoning *r)
{
	return r->state == RS_THINK ? &r->reasoning : &r->answer;
}

/* A tool call's text: one line of JSON if it is a JSON object, else counted. */
static int finish_call(Reasoning *r)
{
	Doc d;
	int rc = 0;
	if (doc_load_buffer(&d, "tool call", r->call.s ? r->call.s : "", r->call.len) == 0) {
		if (d.root && d.root->kind == DOC_MAP) {
			size_t mark = r->calls.len;
			rc = json_write(d.root, &r->calls);
			if (rc == ERR_DATA) {           /* a key that is not a string */
				r->calls.s[r->calls.len = mark] = 0;
				r->bad_calls++;
				rc = 0;
			} else if (!rc) {
				rc = bytebuf_add(&r->calls, "\n", 1);
			}
		} else {
			r->bad_calls++;
		}
		doc_free(&d);
	} else {
		r->bad_calls++;
	}
	r->call.len = 0;
	return rc;
}

/* One byte that is text in the current state. */
static int text_byte(Reasoning *r, char c)
{
	if (r->state == RS_THINK && c == '\n' && !r->started)
		return 0;               /* the template strips the reasoning's newlines */
	r->started = 1;
	switch (r->state) {
	case RS_BETWEEN:
		if (c == '\n')
			return 0;
		r->state = RS_BARE;
		break;
	case RS_OPEN:
		r->state = RS_ANSWER;
		if (c == '\n')
			return 0;
		break;
	case RS_CALL:
		return bytebuf_add(&r->call, &c, 1);
	case RS_END:
		return 0;
	case RS_THINK:
	case RS_ANSWER:
	case RS_BARE:
		break;
	}
	if (c == '\n') {
		r->newlines++;
		return 0;
	}
	int rc = newlines(sink(r), r->newlines);
	r->newlines = 0;
	return rc ? rc : bytebuf_add(sink(r), &c, 1);
}

/* Marker m, active in the current state. */
static int marker(Reasoning *r, int m)
{
	int rc = 0;
	int held = r->state == RS_THINK || r->state == RS_ANSWER || r->state == RS_BARE;
	if (m == M_THINK)               /* a repeated opening: nothing */
		return 0;
	r->started = 1;
	switch (m) {
	case M_THINK_END:
	case M_RESPONSE_END:
		if (held && r->newlines)        /* the one newline before the tag is the template's */
			rc = newlines(sink(r), r->newlines - 1);
		r->state = RS_BETWEEN;
		break;
	case M_RESPONSE: r->state = RS_OPEN; break;
	case M_CALL: r->state = RS_CALL; break;
	case M_CALL_END:
		rc = finish_call(r);
		r->state = RS_BETWEEN;
		break;
	case M_IM_END:
		r->state = RS_END;
		break;
	}
	r->newlines = 0;
	return rc;
}

/* What r->pend holds: -1 no marker can start it, -2 a marker may (wait),
 * else the marker it is. */
static int match(const Reasoning *r)
{
	int prefix = 0;
	for (int m = 0; m < MARKERS; m++) {
		size_t k = strlen(marker_text[m]);
		if (!active(r, m) || r->npend > k || memcmp(marker_text[m], r->pend, r->npend))
			continue;
		if (r->npend == k)
			return m;
		prefix = 1;
	}
	return prefix ? -2 : -1;
}

/* Resolve r->pend as far as it can be. */
static int settle(Reasoning *r)
{
	int rc = 0;
	while (!rc && r->npend) {
		int m = r->pend[0] == '<' ? match(r) : -1;
		if (m == -2)
			return 0;
		if (m >= 0) {
			r->npend = 0;
			return marker(r, m);
		}
		rc = text_byte(r, r->pend[0]);
		memmove(r->pend, r->pend + 1, --r->npend);
	}
	return rc;
}

int reasoning_put(Reasoning *r, const char *text, size_t n)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (r->npend == 0 && text[i] != '<') {
			rc = text_byte(r, text[i]);
			continue;
		}
		r->pend[r->npend++] = text[i];
		rc = settle(r);
	}
	return rc;
}

int reasoning_end(Reasoning *r)
{
	int rc = 0;
	/* bytes held as a possible marker are text after all */
	while (!rc && r->npend) {
		rc = text_byte(r, r->pend[0]);
		memmove(r->pend, r->pend + 1, --r->npend);
	}
	if (r->state == RS_CALL)
		r->bad_calls++;
	reasoning_init(r);              /* trailing newlines held are dropped */
	return rc;
}
