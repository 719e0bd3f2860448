/* reasoning.h: the output of ERNIE-4.5-21B-A3B-Thinking split into its
 * reasoning, its answer and its tool calls, while it streams.
 *
 * The prompt ends with "<think>\n", so the text generated is
 *     reasoning \n</think> \n{1,3} <response>\n answer \n</response>\n
 * or, for a tool call, reasoning \n</think>\n\n<tool_call>\n{json}\n</tool_call>\n
 * (several calls may follow each other, after an answer too), or bare answer
 * text after </think> with no <response> tags, as vLLM's and FastDeploy's
 * ERNIE parsers accept; <|im_end|> ends the turn. What is read is the exact
 * inverse of the chat template's rendering: one newline is dropped before
 * </think> and </response> and after <response>, the newlines after
 * </think> or </response> are dropped; a <think> and newlines at the very
 * start are skipped. Without </think>, everything is reasoning.
 *
 * Text is fed in pieces of any size (a marker may be split across them);
 * answer and reasoning text come out as soon as it is known not to be part
 * of a marker or of newlines that may turn out to be the dropped ones. At
 * the end, an unterminated <response> or bare answer ends there (its
 * trailing newlines dropped); an unterminated tool call is counted as bad.
 */
#ifndef ERNIE_REASONING_H
#define ERNIE_REASONING_H

#include <stddef.h>

#include "base/bytebuf.h"

typedef enum {
	RS_THINK,       /* reasoning, before </think> */
	RS_BETWEEN,     /* after </think>, </response> or </tool_call>: newlines skipped */
	RS_OPEN,        /* right after <response>: one newline skipped */
	RS_ANSWER,      /* inside <response> */
	RS_BARE,        /* answer text without <response> */
	RS_CALL,        /* inside <tool_call> */
	RS_END          /* after <|im_end|>: the rest is ignored */
} ReasonState;

typedef struct {
	ReasonState state;
	char pend[16];          /* bytes that may start a marker ("<" ...) */
	size_t npend;
	size_t newlines;        /* newlines held back (THINK, ANSWER, BARE) */
	int started;            /* some text or marker has been read (a leading <think>
	                           and newlines are skipped) */
	ByteBuf call;           /* the tool call being read */
	/* output, appended to; the caller empties them */
	ByteBuf answer;
	ByteBuf reasoning;
	ByteBuf calls;          /* complete tool calls, each one line of JSON + "\n" */
	size_t bad_calls;       /* tool calls that were not a JSON object, skipped */
} Reasoning;

/* A fresh parser (also after reasoning_end, for the next sequence). */
void reasoning_init(Reasoning *r);
void reasoning_free(Reasoning *r);

/* Feed text[0..n). Returns 0 or ERR_IO (out of memory). */
int reasoning_put(Reasoning *r, const char *text, size_t n);

/* End of the text: flush what was held, then reset for the next sequence
 * (the outputs are kept). Returns 0 or ERR_IO. */
int reasoning_end(Reasoning *r);

/* 1 if text[0..n) is one of the markers above (<think>, </think>,
 * <response>, </response>, <tool_call>, </tool_call>, <|im_end|>). */
int reasoning_is_marker(const char *text, size_t n);

#endif
