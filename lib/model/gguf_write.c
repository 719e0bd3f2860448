/* gguf_write.c: the streamed GGUF v3 writer of gguf_write.h, from the
 * format description there. */
#include "model/gguf_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"


void gguf_w_init(GgufWriter *w)
{
	memset(w, 0, sizeof *w);
}

static int put(ByteBuf *b, const void *p, size_t n)
{
	return bytebuf_add(b, p, n) ? err(ERR_IO, "out of memory") : 0;
}

/* Integers little-endian whatever the host. */
static int put_u(ByteBuf *b, uint64_t v, int bytes)
{
	unsigned char le[8];
	for (int i = 0; i < bytes; i++)
		le[i] = (unsigned char)(v >> 8 * i);
	return put(b, le, (size_t)bytes);
}

static int put_str(ByteBuf *b, const char *s, uint64_t len)
{
	return put_u(b, len, 8) || put(b, s, len) ? ERR_IO : 0;
}

static int put_f32(ByteBuf *b, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return put_u(b, u, 4);
}

static int key(GgufWriter *w, const char *k, uint32_t type)
{
	w->n_kv++;
	return put_str(&w->kv, k, strlen(k)) || put_u(&w->kv, type, 4) ? ERR_IO : 0;
}

int gguf_w_str(GgufWriter *w, const char *k, const char *val)
{
	return key(w, k, GGUF_STRING) || put_str(&w->kv, val, strlen(val)) ? ERR_IO : 0;
}

int gguf_w_u32(GgufWriter *w, const char *k, uint32_t val)
{
	return key(w, k, GGUF_U32) || put_u(&w->kv, val, 4) ? ERR_IO : 0;
}

int gguf_w_i32(GgufWriter *w, const char *k, int32_t val)
{
	return key(w, k, GGUF_I32) || put_u(&w->kv, (uint32_t)val, 4) ? ERR_IO : 0;
}

int gguf_w_f32(GgufWriter *w, const char *k, float val)
{
	return key(w, k, GGUF_F32) || put_f32(&w->kv, val) ? ERR_IO : 0;
}

int gguf_w_bool(GgufWriter *w, const char *k, int val)
{
	return key(w, k, GGUF_BOOL) || put_u(&w->kv, val != 0, 1) ? ERR_IO : 0;
}

static int arr(GgufWriter *w, const char *k, uint32_t etype, uint64_t n)
{
	return key(w, k, GGUF_ARRAY) || put_u(&w->kv, etype, 4) || put_u(&w->kv, n, 8) ? ERR_IO : 0;
}

int gguf_w_arr_str(GgufWriter *w, const char *k, const char *const *s, const uint32_t *len, uint64_t n)
{
	if (arr(w, k, GGUF_STRING, n))
		return ERR_IO;
	for (uint64_t i = 0; i < n; i++)
		if (put_str(&w->kv, s[i], len[i]))
			return ERR_IO;
	return 0;
}

int gguf_w_arr_f32(GgufWriter *w, const char *k, const float *v, uint64_t n)
{
	if (arr(w, k, GGUF_F32, n))
		return ERR_IO;
	for (uint64_t i = 0; i < n; i++)
		if (put_f32(&w->kv, v[i]))
			return ERR_IO;
	return 0;
}

int gguf_w_arr_i32(GgufWriter *w, const char *k, const int32_t *v, uint64_t n)
{
	if (arr(w, k, GGUF_I32, n))
		return ERR_IO;
	for (uint64_t i = 0; i < n; i++)
		if (put_u(&w->kv, (uint32_t)v[i], 4))
			return ERR_IO;
	return 0;
}

/* Bytes of a number of GGUF type t (0 for strings and arrays). */
static int number_size(GgufType t)
{
	switch (t) {
	case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
	case GGUF_U16: case GGUF_I16: return 2;
	case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
	case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
	case GGUF_STRING: case GGUF_ARRAY: case GGUF_TYPE_COUNT: return 0;
	}
	return 0;
}

int gguf_w_kv(GgufWriter *w, const GgufKv *kv)
{
	if (key(w, kv->key, kv->type))
		return ERR_IO;
	if (kv->type == GGUF_STRING)
		return put_str(&w->kv, kv->str.s, kv->str.len);
	if (kv->type != GGUF_ARRAY)
		return put(&w->kv, kv->data, (size_t)number_size(kv->type));
	if (put_u(&w->kv, kv->elem, 4) || put_u(&w->kv, kv->n, 8))
		return ERR_IO;
	if (kv->elem != GGUF_STRING)
		return put(&w->kv, kv->data, (size_t)(kv->n * (uint64_t)number_size(kv->elem)));
	for (uint64_t i = 0; i < kv->n; i++)
		if (put_str(&w->kv, kv->strs[i].s, kv->strs[i].len))
			return ERR_IO;
	return 0;
}

static uint64_t padded(uint64_t n)
{
	return (n + GGUF_W_ALIGN - 1) / GGUF_W_ALIGN * GGUF_W_ALIGN;
}

int gguf_w_tensor(GgufWriter *w, const char *name, WType t, int ndim, const int64_t *ne)
{
	if (ndim < 1 || ndim > GGUF_W_MAX_DIMS)
		return err(ERR_DATA, "tensor '%s': %d dimensions", name, ndim);
	int64_t row = wtype_row_bytes(t, ne[0]);
	if (row < 0)
		return err(ERR_DATA, "tensor '%s': rows of %lld are not whole %s blocks of %d", name,
			   (long long)ne[0], wtype_info[t].name, wtype_info[t].block);
	uint64_t bytes = (uint64_t)row;
	for (int i = 1; i < ndim; i++) {
		if (ne[i] < 1 || bytes > UINT64_MAX / 2 / (uint64_t)ne[i])
			return err(ERR_DATA, "tensor '%s': bad dimension %d", name, i);
		bytes *= (uint64_t)ne[i];
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		GgufWTensor *nt = realloc(w->t, cap * sizeof *nt);
		if (!nt)
			return err(ERR_IO, "out of memory");
		w->t = nt;
		w->cap = cap;
	}
	GgufWTensor *g = &w->t[w->n];
	memset(g, 0, sizeof *g);
	if (!(g->name = strdup(name)))
		return err(ERR_IO, "out of memory");
	w->n++;
	g->type = t;
	g->ndim = ndim;
	memcpy(g->ne, ne, (size_t)ndim * sizeof *ne);
	g->offset = w->data_bytes;
	g->bytes = bytes;
	w->data_bytes += padded(bytes);
	return 0;
}

static int write_all(GgufWriter *w, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, w->f) != n)
		return err_errno(ERR_IO, "%s: write error", w->tmp);
	return 0;
}

static const unsigned char zeros[GGUF_W_ALIGN];

int gguf_w_begin(GgufWriter *w, const char *path)
{
	ByteBuf h = { 0 };
	int rc;

	if (!(w->path = strdup(path)) || !(w->tmp = malloc(strlen(path) + 5)))
		return err(ERR_IO, "out of memory");
	strcpy(w->tmp, path);
	strcat(w->tmp, ".tmp");
	if (!(w->f = fopen(w->tmp, "wb")))
		return err_errno(ERR_IO, "%s", w->tmp);
	rc = gguf_w_u32(w, "general.alignment", GGUF_W_ALIGN);
	if (!rc)
		rc = put(&h, "GGUF", 4) || put_u(&h, 3, 4) || put_u(&h, w->n, 8) || put_u(&h, w->n_kv, 8) ||
			put(&h, w->kv.s, w->kv.len) ? ERR_IO : 0;
	for (size_t i = 0; i < w->n && !rc; i++) {
		const GgufWTensor *g = &w->t[i];
		rc = put_str(&h, g->name, strlen(g->name)) || put_u(&h, (uint32_t)g->ndim, 4);
		for (int d = 0; d < g->ndim && !rc; d++)
			rc = put_u(&h, (uint64_t)g->ne[d], 8);
		rc = rc || put_u(&h, (uint32_t)wtype_info[g->type].ggml, 4) || put_u(&h, g->offset, 8) ? ERR_IO : 0;
	}
	if (!rc)
		rc = put(&h, zeros, padded(h.len) - h.len);
	if (!rc)
		rc = write_all(w, h.s, h.len);
	bytebuf_free(&h);
	return rc;
}

int gguf_w_data(GgufWriter *w, const void *p, uint64_t n)
{
	const unsigned char *b = p;
	while (n) {
		if (w->cur == w->n)
			return err(ERR_DATA, "%s: more data than the declared tensors hold", w->tmp);
		const GgufWTensor *g = &w->t[w->cur];
		uint64_t k = g->bytes - w->cur_done < n ? g->bytes - w->cur_done : n;
		if (write_all(w, b, k))
			return ERR_IO;
		b += k;
		n -= k;
		w->cur_done += k;
		if (w->cur_done == g->bytes) {
			if (write_all(w, zeros, padded(g->bytes) - g->bytes))
				return ERR_IO;
			w->cur++;
			w->cur_done = 0;
		}
	}
	return 0;
}

int gguf_w_finish(GgufWriter *w)
{
	/* tensors of 0 bytes are complete without a call */
	while (w->cur < w->n && w->t[w->cur].bytes == 0)
		w->cur++;
	if (w->cur < w->n)
		return err(ERR_DATA, "%s: tensor '%s' has no data", w->tmp, w->t[w->cur].name);
	FILE *f = w->f;
	w->f = NULL;
	if (fflush(f) || fsync(fileno(f))) {
		int e = errno;
		fclose(f);
		errno = e;
		return err_errno(ERR_IO, "%s: write error", w->tmp);
	}
	if (fclose(f))
		return err_errno(ERR_IO, "%s: write error", w->tmp);
	if (rename(w->tmp, w->path))
		return err_errno(ERR_IO, "%s: cannot rename to %s", w->tmp, w->path);
	w->renamed = 1;
	return 0;
}

void gguf_w_free(GgufWriter *w)
{
	if (w->f)
		fclose(w->f);
	if (w->tmp && !w->renamed)
		unlink(w->tmp);
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	free(w->t);
	free(w->path);
	free(w->tmp);
	bytebuf_free(&w->kv);
	memset(w, 0, sizeof *w);
}
