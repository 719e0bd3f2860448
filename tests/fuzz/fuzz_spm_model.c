/* libFuzzer target: the SentencePiece model reader (lib/text/spm_model.c), and,
 * when the bytes parse, the tokenizer built on them (tables, charsmap),
 * encoding the same bytes as text and decoding the ids. */
#include "fuzztok.h"
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
	fuzz_round_trip(t, data, size, 1);
	tok_free(t);
	return 0;
}
