/* libFuzzer target: GGUF files (lib/model/gguf.c), through the public API
 * on a real file: every tensor handed to the table must lie inside the
 * file's map (its bytes are read), and every key/value is looked up with
 * each typed getter, array elements read.
 *
 * Seed corpus (tests/fuzz/corpus/gguf), written with bench/gguf.py's
 * Writer: meta.gguf (key/values of each kind, arrays of strings, f32 and
 * i32, no tensors), tensors.gguf (f32, q8_0, q4_K and a 3-D q6_K tensor)
 * and align64.gguf (the same with general.alignment 64); regress-* are
 * inputs that once failed. t_gguf.c reads meta.gguf and tensors.gguf too. */
#include "fuzzfile.h"
#include "model/gguf.h"

static void check(const Gguf *g, const Tensors *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		const Tensor *t = &ts->t[i];
		const TensorFile *f = &ts->files[t->file];
		const uint8_t *p = t->data, *m = f->map;
		if (t->file < 0 || t->file >= ts->nfiles || p < m || t->bytes > f->size ||
		    (uint64_t)(p - m) > f->size - t->bytes)
			abort();        /* a pointer outside the map */
		if (tensors_find(ts, t->name) != t)
			abort();
		volatile uint8_t s = t->bytes ? p[0] ^ p[t->bytes - 1] : 0;
		(void)s;
	}
	for (uint64_t i = 0; i < g->nkv; i++) {
		const GgufKv *kv = &g->kv[i], *a;
		GgufStr str;
		uint32_t u;
		float f;
		int b;
		volatile float sink = 0;
		if (gguf_find(g, kv->key) != kv)
			abort();
		gguf_str(g, kv->key, &str);
		gguf_u32(g, kv->key, &u);
		gguf_f32(g, kv->key, &f);
		gguf_bool(g, kv->key, &b);
		if (!gguf_array(g, kv->key, GGUF_F32, &a) && a->n)
			sink += gguf_arr_f32(a, a->n - 1);
		if (!gguf_array(g, kv->key, GGUF_I32, &a) && a->n)
			sink += (float)gguf_arr_i32(a, a->n - 1);
		if (!gguf_array(g, kv->key, GGUF_STRING, &a) && a->n && a->strs[a->n - 1].len)
			sink += (float)a->strs[a->n - 1].s[a->strs[a->n - 1].len - 1];
		(void)sink;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Tensors ts = { 0 };
	Gguf g;
	fuzz_write("fuzz.gguf", data, size);
	if (!gguf_open(&g, fuzz_path("fuzz.gguf"), &ts)) {
		check(&g, &ts);
		gguf_close(&g);
	}
	tensors_close(&ts);
	/* without a table: the file is checked and its metadata kept */
	if (!gguf_open(&g, fuzz_path("fuzz.gguf"), NULL))
		gguf_close(&g);
	return 0;
}
