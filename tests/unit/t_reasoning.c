/* Unit tests for the Thinking model's output parser (lib/text/reasoning.c):
 * each case fed whole, byte by byte and in random pieces gives the same
 * reasoning, answer and tool calls. */
#include "test.h"

#include "text/reasoning.h"

#include <stdlib.h>

/* Feed text in pieces of at most step bytes (0: random sizes). */
static void run(Reasoning *r, const char *text, size_t step, unsigned seed)
{
	size_t n = strlen(text);
	srand(seed);
	for (size_t i = 0; i < n;) {
		size_t k = step ? step : 1 + (size_t)rand() % 7;
		if (k > n - i)
			k = n - i;
		CHECK_EQ_INT(reasoning_put(r, text + i, k), 0);
		i += k;
	}
	CHECK_EQ_INT(reasoning_end(r), 0);
}

static void check(const char *text, const char *reasoning, const char *answer,
		  const char *calls, size_t bad)
{
	size_t steps[] = { 1000000, 1, 2, 3, 0, 0, 0 };
	for (unsigned i = 0; i < sizeof steps / sizeof *steps; i++) {
		Reasoning r = { 0 };
		reasoning_init(&r);
		run(&r, text, steps[i], i);
		CHECK_EQ_STR(r.reasoning.s ? r.reasoning.s : "", reasoning);
		CHECK_EQ_STR(r.answer.s ? r.answer.s : "", answer);
		CHECK_EQ_STR(r.calls.s ? r.calls.s : "", calls);
		CHECK_EQ_INT(r.bad_calls, bad);
		reasoning_free(&r);
		if (test_failed) {
			printf("  case %s (step %zu)\n", text, steps[i]);
			return;
		}
	}
}

TEST(reasoning_answer)
{
	check("r1\n\nr2\n</think>\n\n<response>\nans\n\nwer\n</response>\n", "r1\n\nr2",
	      "ans\n\nwer", "", 0);
	/* 1 to 3 newlines after </think>; the answer's own newlines at its ends */
	check("r\n</think>\n<response>\n\na\n\n</response>\n", "r", "\na\n", "", 0);
	check("r\n</think>\n\n\n<response>\na\n</response>", "r", "a", "", 0);
	/* a repeated <think> and leading newlines */
	check("<think>\n\nr\n</think>\n\n<response>\na\n</response>\n", "r", "a", "", 0);
}

TEST(reasoning_bare_answer)
{
	check("r\n</think>\n\nhello <b> world\n", "r", "hello <b> world", "", 0);
	check("r\n</think>hi</response>\n", "r", "hi", "", 0);
	/* no </think>: it was all reasoning */
	check("just <response> thinking\n\n", "just <response> thinking", "", "", 0);
}

TEST(reasoning_tool_calls)
{
	check("r\n</think>\n\n<tool_call>\n{\"name\": \"date\",\n \"arguments\": {}}\n</tool_call>\n"
	      "<tool_call>\n{\"name\": \"calc\", \"arguments\": {\"expr\": \"1+2\", \"n\": 1.0}}\n"
	      "</tool_call>\n", "r", "",
	      "{\"name\": \"date\", \"arguments\": {}}\n"
	      "{\"name\": \"calc\", \"arguments\": {\"expr\": \"1+2\", \"n\": 1.0}}\n", 0);
	/* an answer, then a call */
	check("r\n</think>\n\n<response>\nI will look.\n</response>\n\n\n<tool_call>\n"
	      "{\"name\": \"f\", \"arguments\": {\"q\": \"<|im_end|>\"}}\n</tool_call>\n<|im_end|>",
	      "r", "I will look.", "{\"name\": \"f\", \"arguments\": {\"q\": \"<|im_end|>\"}}\n", 0);
	/* bare text, then a call */
	check("r</think>ok\n<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", "r", "ok",
	      "{\"name\": \"f\", \"arguments\": {}}\n", 0);
	/* not JSON objects: counted, skipped */
	check("</think><tool_call>\n[1, 2]\n</tool_call><tool_call>{\"a\": </tool_call>"
	      "<tool_call>{\"a\": 1}", "", "", "", 3);
	check("</think><tool_call>{\"a\": 1}<|im_end|>", "", "", "", 1);
}

TEST(reasoning_ends)
{
	/* an unterminated <response>: its text, trailing newlines dropped */
	check("r\n</think>\n\n<response>\npartial\n\n", "r", "partial", "", 0);
	/* <|im_end|> ends the turn; a marker cut at the end is text */
	check("r\n</think>\n<response>\na\n</response>\n<|im_end|>more", "r", "a", "", 0);
	check("r\n</think>\n<response>\na </resp", "r", "a </resp", "", 0);
	check("r <|im_end|>x", "r ", "", "", 0);
	check("", "", "", "", 0);
}

TEST(reasoning_markers)
{
	CHECK(reasoning_is_marker("</think>", 8));
	CHECK(reasoning_is_marker("<|im_end|>", 10));
	CHECK(!reasoning_is_marker("</think", 7));
	CHECK(!reasoning_is_marker("<|end_of_sentence|>", 19));
}

TEST(reasoning_sequences_reset)
{
	Reasoning r = { 0 };
	reasoning_init(&r);
	run(&r, "a\n</think>\n<response>\nb", 1, 0);
	run(&r, "c\n</think>\n<response>\nd\n</response>\n", 2, 0);
	CHECK_EQ_STR(r.reasoning.s, "ac");
	CHECK_EQ_STR(r.answer.s, "bd");
	reasoning_free(&r);
}

/* Random reasoning and answers written as the template writes a turn read
 * back exactly (the reasoning not starting with a newline, as it is stripped). */
TEST(reasoning_round_trip)
{
	static const char alphabet[] = "ab <>/|\n";
	char reasoning[40], answer[40], text[160];
	srand(15);
	for (int i = 0; i < 2000 && !test_failed; i++) {
		size_t nr = (size_t)rand() % 30, na = (size_t)rand() % 30;
		for (size_t k = 0; k < nr; k++)
			reasoning[k] = alphabet[rand() % (k ? 8 : 7)];
		for (size_t k = 0; k < na; k++)
			answer[k] = alphabet[rand() % 8];
		reasoning[nr] = answer[na] = 0;
		snprintf(text, sizeof text, "%s\n</think>\n%s<response>\n%s\n</response>\n", reasoning,
			 i % 2 ? "\n" : "", answer);
		check(text, reasoning, answer, "", 0);
	}
}
