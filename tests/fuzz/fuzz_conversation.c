/* libFuzzer target: a conversation file (lib/prompt/conversation.c), rendered by
 * the chat template after its special-token literals are neutralised, as
 * ernie-prompt does it. */
#include "prompt/conversation.h"
#include "fuzzfile.h"
#include "prompt/neutral.h"
#include "prompt/prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Specials sp;
	static PromptModel pm;
	if (!sp.n && (specials_builtin(&sp) || prompt_model_load(&pm, NULL)))
		abort();
	fuzz_write("conv.yaml", data, size);
	Conversation c = { 0 };
	if (!conv_load(&c, fuzz_path("conv.yaml"))) {
		Neutral nt = { 0 };
		for (size_t i = 0; i < c.n; i++) {
			if (strlen(c.v[i].text) != c.v[i].len)
				abort();        /* conversation.h: no NULs */
			neutral_string(&sp, &c.v[i].text, &c.v[i].len, &nt);
		}
		neutral_free(&nt);
		ByteBuf out = { 0 };
		prompt_chat(&pm, &c, 1, &out);
		bytebuf_free(&out);
	}
	conv_free(&c);
	return 0;
}
