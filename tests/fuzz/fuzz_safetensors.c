/* libFuzzer target: safetensors headers and model.safetensors.index.json
 * (lib/model/safetensors.c), through the public API on real files.
 *
 * An input starting with '{' is an index: it is written into a directory
 * that also holds two small valid shards (a.safetensors, b.safetensors) for
 * it to name. Anything else is one safetensors file. Either way every
 * tensor handed out must lie inside its file's map, and its bytes are read. */
#include "fuzzfile.h"
#include "model/safetensors.h"

/* A valid shard holding one F32 tensor called name with two elements. */
static void write_shard(const char *file, const char *name)
{
	char json[128];
	int n = snprintf(json, sizeof json,
			 "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", name);
	uint8_t buf[256] = { (uint8_t)n };
	memcpy(buf + 8, json, (size_t)n);
	fuzz_write(file, buf, 8 + (size_t)n + 8);
}

static void check(const Tensors *st)
{
	for (size_t i = 0; i < st->n; i++) {
		const Tensor *t = &st->t[i];
		const TensorFile *f = &st->files[t->file];
		const uint8_t *p = t->data, *m = f->map;
		uint64_t bytes = t->bytes;
		if (t->file < 0 || t->file >= st->nfiles || p < m || bytes > f->size ||
		    (uint64_t)(p - m) > f->size - bytes)
			abort();        /* a pointer outside the map */
		if (tensors_find(st, t->name) != t)
			abort();
		volatile uint8_t s = bytes ? p[0] ^ p[bytes - 1] : 0;
		(void)s;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int shards;
	if (!shards) {
		write_shard("a.safetensors", "model.embed_tokens.weight");
		write_shard("b.safetensors", "lm_head.weight");
		shards = 1;
	}
	Tensors st = { 0 };
	int rc;
	if (size && data[0] == '{') {
		fuzz_write("model.safetensors.index.json", data, size);
		rc = st_open_dir(&st, fuzz_dir());
		fuzz_write("model.safetensors.index.json", NULL, 0);
	} else {
		fuzz_write("fuzz.safetensors", data, size);
		rc = st_add_file(&st, fuzz_path("fuzz.safetensors"));
		/* mapped still, but gone from the directory an index could name */
		fuzz_write("fuzz.safetensors", NULL, 0);
	}
	if (!rc)
		check(&st);
	tensors_close(&st);
	return 0;
}
