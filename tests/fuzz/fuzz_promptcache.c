/* libFuzzer target: prompt cache files (lib/model/promptcache.c), through
 * pc_load on a real file, against the tiny dense golden model
 * (tests/data/golden/tiny-dense: run from the top of the tree, as make fuzz
 * does). The state takes the cache types the input's header names when
 * they are valid ones, so every layout is reached. A file that is accepted
 * is then used: its prefix reused and a few more tokens computed. */
#include "fuzzfile.h"
#include "kernels/kv.h"
#include "kernels/matmul.h"
#include "model/promptcache.h"

static Model *model;
static State *state;
static Compute *compute;
static uint64_t fp;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!model) {
		if (model_load(&model, "tests/data/golden/tiny-dense") ||
		    state_new(&state, model, 0) || compute_new(&compute, 1, PREC_F32, ISA_AUTO))
			abort();
		fp = pc_fingerprint(model);
	}
	WType kt = WT_F32, vt = WT_F32;
	if (size >= 32) {
		WType t;
		if (wtype_from_ggml(le32(data + 24), &t) == 0 && kv_type_ok(t) == 0)
			kt = t;
		if (wtype_from_ggml(le32(data + 28), &t) == 0 && kv_type_ok(t) == 0)
			vt = t;
	}
	if (state_set_cache_types(state, kt, vt))
		abort();
	fuzz_write("cache", data, size);
	PromptCache pc;
	if (pc_load(&pc, fuzz_path("cache"), state, fp) == 0 && pc.n > 0) {
		int n = pc.n < 60 ? pc.n : 60, reused;
		int32_t ids[64];
		memcpy(ids, pc.ids, (size_t)n * sizeof *ids);
		for (int i = 0; i < PC_MIN_SUFFIX; i++)
			ids[n + i] = i + 1;
		if (pc_reuse(&pc, state, ids, n + PC_MIN_SUFFIX, &reused) || reused != n ||
		    model_eval(model, state, compute, ids + reused, n + PC_MIN_SUFFIX - reused, NULL, 0))
			abort();
	}
	pc_free(&pc);
	state_reset(state);
	return 0;
}
