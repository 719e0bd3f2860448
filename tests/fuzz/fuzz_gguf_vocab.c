/* libFuzzer target: a GGUF file's vocabulary (lib/model/gguf_vocab.c) read
 * through the GGUF reader into a tokenizer, which then encodes the same
 * bytes as text and decodes the ids. */
#include "model/gguf_vocab.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Gguf g;
	Tokenizer *t;
	if (gguf_parse(&g, "fuzz", data, size, NULL, 0))
		return 0;
	if (gguf_vocab_tokenizer(&t, &g) == 0) {
		TokList l = { 0 };
		if (tok_encode(t, (const char *)data, size < 4096 ? size : 4096, 1, &l) == 0) {
			Detok d;
			ByteBuf out = { 0 };
			detok_init(&d, t, 1);
			for (size_t i = 0; i < l.n; i++)
				detok_put(&d, l.ids[i], &out);
			detok_end(&d, &out);
			free(out.s);
		}
		toklist_free(&l);
		tok_free(t);
	}
	gguf_close(&g);
	return 0;
}
