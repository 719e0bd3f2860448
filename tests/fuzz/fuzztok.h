/* fuzztok.h: what the tokenizer fuzz targets do with a tokenizer they
 * built: encode (the first 4 KiB of) the input as text, decode the ids. */
#ifndef FUZZTOK_H
#define FUZZTOK_H

#include <stdlib.h>

#include "text/tokenizer.h"

static void fuzz_round_trip(Tokenizer *t, const uint8_t *data, size_t size,
			    int want_pieces)
{
	TokList l = { .want_pieces = want_pieces };
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
}

#endif
