/* libFuzzer target: the special and added token files (lib/text/specials.c):
 * added_tokens.json NUL tokenizer_config.json NUL special_tokens_map.json
 * (fewer parts: the later files are absent). The tokens found are then
 * searched for in the input itself. */
#include "fuzzfile.h"
#include "text/specials.h"

static const char *names[] = { "added_tokens.json", "tokenizer_config.json",
			       "special_tokens_map.json" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *all = data;
	size_t allsize = size, n;
	const uint8_t *part;
	int more = 1;
	for (int i = 0; i < 3; i++) {
		if (more) {
			more = fuzz_cut(&data, &size, &part, &n);
			fuzz_write(names[i], part, n);
		} else {
			fuzz_write(names[i], NULL, 0);
		}
	}
	Specials s;
	if (specials_load(&s, fuzz_dir()))
		return 0;
	for (size_t i = 0; i < s.n; i++)
		if (!s.v[i].len || s.v[i].len != strlen(s.v[i].text) || s.v[i].len > s.maxlen)
			abort();        /* specials.h: NUL-terminated, len > 0 */
	const char *text = (const char *)all;
	size_t at, which, pos = 0;
	while (pos < allsize && specials_find(&s, text + pos, allsize - pos, &at, &which)) {
		const Special *sp = &s.v[which];
		if (which >= s.n || at > allsize - pos - sp->len ||
		    memcmp(text + pos + at, sp->text, sp->len) ||
		    specials_prefix(&s, text + pos + at, allsize - pos - at, &which) < sp->len)
			abort();        /* a match that is not there, or not the longest */
		pos += at + sp->len;
	}
	specials_free(&s);
	return 0;
}
