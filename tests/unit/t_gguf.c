/* t_gguf.c: the GGUF reader's metadata lookups and tensor table, on the
 * small files of the fuzz corpus (tests/fuzz/corpus/gguf, written by
 * bench/gguf.py's Writer), and every truncation of one. */
#include "test.h"

#include <stdlib.h>

#include "base/err.h"
#include "model/gguf.h"

static const char *corpus(const char *name)
{
	static char p[256];
	snprintf(p, sizeof p, "tests/fuzz/corpus/gguf/%s", name);
	return p;
}

TEST(gguf_metadata_lookups)
{
	Gguf g;
	GgufStr s;
	uint32_t u;
	float f;
	int b;
	const GgufKv *a;
	if (gguf_open(&g, corpus("meta.gguf"), NULL)) {
		printf("  %s\n", err_msg());
		test_failed = 1;
		return;
	}
	CHECK(gguf_str(&g, "general.architecture", &s) == 0 && s.len == 8 &&
	      !memcmp(s.s, "ernie4_5", 8));
	CHECK(gguf_u32(&g, "a.u32", &u) == 0 && u == 7);
	CHECK_EQ_INT(gguf_u32(&g, "a.i32", &u), ERR_DATA);       /* -3 */
	CHECK(strstr(err_msg(), "key 'a.i32': -3 out of range") != NULL);
	CHECK_EQ_INT(gguf_u32(&g, "a.u64", &u), ERR_DATA);       /* 2^40 */
	CHECK(gguf_f32(&g, "a.f32", &f) == 0 && f == 0.5f);
	CHECK(gguf_bool(&g, "a.bool", &b) == 0 && b == 1);
	CHECK_EQ_INT(gguf_u32(&g, "a.f32", &u), ERR_DATA);
	CHECK(strstr(err_msg(), "key 'a.f32' is a f32, expected an integer") != NULL);
	CHECK_EQ_INT(gguf_str(&g, "nope", &s), ERR_DATA);
	CHECK(strstr(err_msg(), "meta.gguf: key 'nope' missing") != NULL);
	CHECK(gguf_array(&g, "tokenizer.ggml.tokens", GGUF_STRING, &a) == 0 && a->n == 3 &&
	      a->strs[2].len == 2 && !memcmp(a->strs[2].s, "bc", 2));
	CHECK(gguf_array(&g, "tokenizer.ggml.scores", GGUF_F32, &a) == 0 && a->n == 3 &&
	      gguf_arr_f32(a, 2) == -2.0f);
	CHECK(gguf_array(&g, "tokenizer.ggml.token_type", GGUF_I32, &a) == 0 &&
	      gguf_arr_i32(a, 0) == 2);
	CHECK_EQ_INT(gguf_array(&g, "tokenizer.ggml.scores", GGUF_I32, &a), ERR_DATA);
	CHECK_EQ_INT(g.alignment, 32);
	gguf_close(&g);
}

TEST(gguf_tensors_in_the_table)
{
	Tensors ts = { 0 };
	Gguf g;
	CHECK_EQ_INT(gguf_open(&g, corpus("tensors.gguf"), &ts), 0);
	CHECK_EQ_INT(ts.n, 4);
	const Tensor *v = tensors_find(&ts, "v.weight"), *k = tensors_find(&ts, "k.weight");
	const Tensor *s = tensors_find(&ts, "s.weight");
	CHECK(v && v->type == WT_F32 && v->ndim == 1 && v->shape[0] == 4 &&
	      ((const float *)v->data)[3] == 3.0f);
	CHECK(k && k->type == WT_Q4_K && k->ndim == 2 && k->shape[0] == 1 && k->shape[1] == 256 &&
	      k->bytes == 144);
	/* ggml's ne = [256, 1, 2] is [2, 1, 256] outermost first */
	CHECK(s && s->type == WT_Q6_K && s->ndim == 3 && s->shape[0] == 2 && s->shape[2] == 256 &&
	      s->bytes == 420);
	CHECK(v && (uintptr_t)((const char *)v->data - (const char *)ts.files[0].map) %
		   g.alignment == 0);
	gguf_close(&g);
	tensors_close(&ts);
}

/* Every prefix of a valid file that cuts its header or a tensor's data is
 * refused as bad data, never read past; those that cut only the padding
 * after the last tensor are whole files. */
TEST(gguf_truncated_at_every_byte)
{
	FILE *f = fopen(corpus("tensors.gguf"), "rb");
	uint8_t buf[4096];
	size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (f)
		fclose(f);
	CHECK(n > 1000);
	size_t end = 0;
	Gguf g;
	Tensors ts = { 0 };
	CHECK_EQ_INT(gguf_parse(&g, "whole", buf, n, &ts, 0), 0);
	for (size_t i = 0; i < ts.n; i++) {
		size_t e = (size_t)((const uint8_t *)ts.t[i].data - buf) + ts.t[i].bytes;
		end = e > end ? e : end;
	}
	gguf_close(&g);
	tensors_close(&ts);
	CHECK(end > 1000 && end < n);
	int bad = 0;
	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		int rc = gguf_parse(&g, "cut", copy, len, &ts, 0);
		bad += rc != (len < end ? ERR_DATA : 0);
		if (!rc)
			gguf_close(&g);
		tensors_close(&ts);
		free(copy);
	}
	CHECK_EQ_INT(bad, 0);
}
