/* libFuzzer target: a GGUF file's vocabulary (lib/model/gguf_vocab.c) read
 * through the GGUF reader into a tokenizer, which then encodes the same
 * bytes as text and decodes the ids. */
#include "fuzztok.h"
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
		fuzz_round_trip(t, data, size, 0);
		tok_free(t);
	}
	gguf_close(&g);
	return 0;
}
