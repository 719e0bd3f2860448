/* libFuzzer target: the SentencePiece model reader (lib/text/spm_model.c), and,
 * when the bytes parse, the tokenizer built on them (tables, charsmap),
 * encoding the same bytes as text and decoding the ids. */
#include "text/spm_model.h"
#include "text/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	SpmModel m;
	Tokenizer *t;
	if (spm_model_parse(&m, "fuzz", buf, size) || tok_load_model(&t, &m, NULL, 0))
		return 0;
	TokList l = { .want_pieces = 1 };
	size_t n = size < 4096 ? size : 4096;
	if (tok_encode(t, (const char *)data, n, 1, &l) == 0) {
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
	return 0;
}
