/* libFuzzer target: config.json and generation_config.json (lib/model/config.c).
 * The input is config.json, or config.json NUL generation_config.json. */
#include "model/config.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cfg;
	size_t n;
	int gen = fuzz_cut(&data, &size, &cfg, &n);
	fuzz_write("config.json", cfg, n);
	fuzz_write("generation_config.json", gen ? data : NULL, size);
	Config c;
	if (config_load(&c, fuzz_dir()) == 0) {
		if (c.vocab <= 0 || c.hidden <= 0 || c.layers <= 0 || c.heads <= 0 ||
		    c.kv_heads <= 0 || c.heads % c.kv_heads || c.head_dim <= 0 || c.head_dim % 2 ||
		    c.n_eos < 0 || c.n_eos > CONFIG_MAX_EOS || c.bos >= c.vocab)
			abort();        /* config.h promises these */
		for (int i = 0; i < c.layers && i < 4096; i++)
			config_is_moe_layer(&c, i);
	}
	return 0;
}
