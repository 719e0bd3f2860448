/* libFuzzer target: tokenizer encode and decode on arbitrary bytes
 * (lib/text/tokenizer.c, normalizer.c, bpe.c, unigram.c, wordcache.c).
 *
 * The first byte picks one of the test models (loaded once, from the repo
 * root, where the fuzzer runs) and what to do with the rest:
 *   0 encode with special-token parsing, then decode the ids
 *   1 encode the text as plain text, then decode the ids
 *   2 decode: each 2 bytes an id, some negative or past the vocabulary
 *   3 decode pieces: the text cut at spaces (empty pieces skipped, as
 *     ernie-detok --input_format=piece does)
 * and bit 4 of it sets raw decoding (specials kept).
 * For ernie-like-a.model (identity normaliser, no dummy prefix, byte
 * fallback), decode(encode(text)) must give the text back when it is valid
 * UTF-8 without U+2581, as sentencepiece does. */
#define _GNU_SOURCE     /* memmem */
#include "fuzzfile.h"
#include "text/tokenizer.h"

#include <utf8proc.h>

static const char *models[] = {
	"tests/data/tokenizer/ernie-like-a.modeldir",
	"tests/data/tokenizer/ernie-like-a.model",
	"tests/data/tokenizer/nfkc-d.model",
	"tests/data/tokenizer/unigram-c.model",
};
#define NMODELS 4
#define ROUND_TRIP 1    /* models[] index with the round-trip property */

static int valid_utf8(const uint8_t *s, size_t n)
{
	utf8proc_int32_t c;
	for (size_t i = 0; i < n;) {
		utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
		if (k <= 0)
			return 0;
		i += (size_t)k;
	}
	return !memmem(s, n, "\xe2\x96\x81", 3);
}

static void encode(Tokenizer *t, int which, int special, const uint8_t *s, size_t n)
{
	TokList l = { 0 };
	ByteBuf out = { 0 };
	if (tok_encode(t, (const char *)s, n, special, &l))
		abort();        /* only out of memory may fail */
	Detok d;
	detok_init(&d, t, 1);
	for (size_t i = 0; i < l.n; i++)
		if (l.ids[i] < 0 || l.ids[i] >= t->nids || detok_put(&d, l.ids[i], &out))
			abort();        /* encode gave an id decode refuses */
	detok_end(&d, &out);
	if (which == ROUND_TRIP && !special && valid_utf8(s, n) &&
	    (out.len != n || (n && memcmp(out.s, s, n))))
		abort();        /* sentencepiece round-trips such text */
	free(out.s);
	toklist_free(&l);
}

static void decode_ids(Tokenizer *t, const uint8_t *s, size_t n, int raw)
{
	ByteBuf out = { 0 };
	Detok d;
	detok_init(&d, t, raw);
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned v = s[i] | (unsigned)s[i + 1] << 8;
		int32_t id = v == 0xffff ? INT32_MAX : v == 0xfffe ? INT32_MIN :
			     (int32_t)(v % (unsigned)(t->nids + 64)) - 32;
		int rc = detok_put(&d, id, &out);
		if ((rc != 0) != (id < 0 || id >= t->nids))
			abort();        /* only ids out of range are refused */
		if (v % 7 == 0)
			detok_end(&d, &out);
	}
	detok_end(&d, &out);
	free(out.s);
}

static void decode_pieces(Tokenizer *t, const uint8_t *s, size_t n)
{
	ByteBuf out = { 0 };
	Detok d;
	detok_init(&d, t, 1);
	for (size_t i = 0; i < n;) {
		const uint8_t *sp = memchr(s + i, ' ', n - i);
		size_t len = sp ? (size_t)(sp - s) - i : n - i;
		if (len)
			detok_put_piece(&d, (const char *)s + i, len, &out);
		i += len + 1;
	}
	detok_end(&d, &out);
	free(out.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Tokenizer *tok[NMODELS];
	if (!tok[0])
		for (int i = 0; i < NMODELS; i++)
			if (tok_load(&tok[i], models[i]))
				abort();        /* run from the repo root */
	if (size == 0)
		return 0;
	int which = data[0] % NMODELS, mode = data[0] / NMODELS % 4, raw = data[0] >> 4 & 1;
	Tokenizer *t = tok[which];
	data++, size--;
	if (mode < 2)
		encode(t, which, mode == 0, data, size);
	else if (mode == 2)
		decode_ids(t, data, size, raw);
	else
		decode_pieces(t, data, size);
	return 0;
}
