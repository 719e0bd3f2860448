/* libFuzzer target: a references file (lib/prompt/references.c), laid out as the
 * web-search prompt does it (cut to 0 = no limit, then 7 characters) and
 * filled into the official template. */
#include "fuzzfile.h"
#include "prompt/prompt.h"
#include "prompt/references.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write("refs.yaml", data, size);
	References r;
	if (refs_load(&r, fuzz_path("refs.yaml")))
		return 0;
	for (size_t cut = 0; cut < 8; cut += 7) {
		ByteBuf b = { 0 }, out = { 0 };
		if (!refs_format(&r, cut, &b)) {
			const char *val[FILLS] = { "2025-07-01", b.s ? b.s : "", "why?" };
			size_t len[FILLS] = { 10, b.len, 4 };
			prompt_fill(prompt_websearch_en, strlen(prompt_websearch_en), val, len, &out);
		}
		bytebuf_free(&b);
		bytebuf_free(&out);
	}
	refs_free(&r);
	return 0;
}
