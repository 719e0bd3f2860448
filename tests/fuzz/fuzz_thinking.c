/* libFuzzer target: the Thinking template's inputs (lib/prompt/thinking.c):
 * the input as a conversation file (tool calls, thoughts, tool messages),
 * split and rendered as ernie-prompt does, and as a tools file. */
#include "prompt/conversation.h"
#include "fuzzfile.h"
#include "prompt/thinking.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write("in.yaml", data, size);
	Conversation c = { 0 };
	ByteBuf tools = { 0 }, out = { 0 };
	prompt_tools_load(fuzz_path("in.yaml"), &tools);
	if (!conv_load(&c, fuzz_path("in.yaml"))) {
		for (size_t i = 0; i < c.n; i++)
			if (prompt_thinking_split(&c.v[i]))
				abort();
		prompt_thinking(&c, tools.s, tools.len, &out);
	}
	bytebuf_free(&out);
	bytebuf_free(&tools);
	conv_free(&c);
	return 0;
}
