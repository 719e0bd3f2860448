/* gguf.c: the strict GGUF reader of gguf.h: a cursor that checks every
 * read against the bytes left, the key/values, the tensor infos, and the
 * data section's ranges. */
#include "model/gguf.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
	const uint8_t *p;
	size_t size, off;
	const char *name;               /* for messages */
} Cursor;

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int need(Cursor *c, uint64_t n, const char *what)
{
	if (n > c->size - c->off)
		return err(ERR_DATA, "%s: %s at byte %zu: %llu bytes needed, %zu left", c->name, what,
			   c->off, (unsigned long long)n, c->size - c->off);
	return 0;
}

static int rd(Cursor *c, int n, uint64_t *v, const char *what)
{
	int rc = need(c, (uint64_t)n, what);
	if (!rc) {
		*v = le(c->p + c->off, n);
		c->off += (size_t)n;
	}
	return rc;
}

/* A string: u64 length (at most max) and its bytes. */
static int rd_str(Cursor *c, GgufStr *s, uint64_t max, const char *what)
{
	uint64_t n;
	int rc = rd(c, 8, &n, what);
	if (rc)
		return rc;
	if (n > max)
		return err(ERR_DATA, "%s: %s at byte %zu: length %llu, at most %llu", c->name, what,
			   c->off - 8, (unsigned long long)n, (unsigned long long)max);
	if ((rc = need(c, n, what)))
		return rc;
	s->s = (const char *)c->p + c->off;
	s->len = n;
	c->off += (size_t)n;
	return 0;
}

/* ---- value types ---------------------------------------------------------- */

static const struct { const char *name; int size; } vtypes[GGUF_TYPE_COUNT] = {
	[GGUF_U8] = { "u8", 1 }, [GGUF_I8] = { "i8", 1 }, [GGUF_U16] = { "u16", 2 },
	[GGUF_I16] = { "i16", 2 }, [GGUF_U32] = { "u32", 4 }, [GGUF_I32] = { "i32", 4 },
	[GGUF_F32] = { "f32", 4 }, [GGUF_BOOL] = { "bool", 1 }, [GGUF_STRING] = { "string", 0 },
	[GGUF_ARRAY] = { "array", 0 }, [GGUF_U64] = { "u64", 8 }, [GGUF_I64] = { "i64", 8 },
	[GGUF_F64] = { "f64", 8 },
};

const char *gguf_type_name(GgufType t)
{
	return t < GGUF_TYPE_COUNT ? vtypes[t].name : "?";
}

static int rd_type(Cursor *c, GgufType *t, const char *key)
{
	uint64_t v = 0;
	int rc = rd(c, 4, &v, "value type");
	if (!rc && v >= GGUF_TYPE_COUNT)
		rc = err(ERR_DATA, "%s: key '%s': unknown value type %llu", c->name, key,
			 (unsigned long long)v);
	*t = (GgufType)v;
	return rc;
}

/* The value of kv (type already read). Arrays hold scalars or strings;
 * their counts are checked against the bytes left before any allocation. */
static int rd_value(Cursor *c, GgufKv *kv)
{
	int rc;
	if (kv->type == GGUF_STRING)
		return rd_str(c, &kv->str, GGUF_MAX_STRING, kv->key);
	if (kv->type != GGUF_ARRAY) {
		if ((rc = need(c, (uint64_t)vtypes[kv->type].size, kv->key)))
			return rc;
		kv->data = c->p + c->off;
		c->off += (size_t)vtypes[kv->type].size;
		return 0;
	}
	if ((rc = rd_type(c, &kv->elem, kv->key)) || (rc = rd(c, 8, &kv->n, kv->key)))
		return rc;
	if (kv->elem == GGUF_ARRAY)
		return err(ERR_DATA, "%s: key '%s': arrays of arrays are not supported", c->name,
			   kv->key);
	if (kv->n > GGUF_MAX_ARRAY)
		return err(ERR_DATA, "%s: key '%s': %llu elements, at most %u", c->name, kv->key,
			   (unsigned long long)kv->n, GGUF_MAX_ARRAY);
	/* a string takes at least its 8-byte length */
	uint64_t least = kv->elem == GGUF_STRING ? 8 : (uint64_t)vtypes[kv->elem].size;
	if ((rc = need(c, kv->n * least, kv->key)))
		return rc;
	kv->data = c->p + c->off;
	if (kv->elem != GGUF_STRING) {
		c->off += (size_t)(kv->n * least);
		return 0;
	}
	if (!(kv->strs = malloc((size_t)(kv->n ? kv->n : 1) * sizeof *kv->strs)))
		return err(ERR_IO, "out of memory");
	for (uint64_t i = 0; i < kv->n; i++)
		if ((rc = rd_str(c, &kv->strs[i], GGUF_MAX_STRING, kv->key)))
			return rc;
	return 0;
}

/* A NUL-free copy of s, or NULL (ERR_DATA/ERR_IO recorded). */
static char *dup_name(Cursor *c, const GgufStr *s, const char *what)
{
	if (memchr(s->s, 0, s->len)) {
		err(ERR_DATA, "%s: %s at byte %zu holds a NUL byte", c->name, what,
		    c->off - (size_t)s->len);
		return NULL;
	}
	char *d = malloc(s->len + 1);
	if (!d) {
		err(ERR_IO, "out of memory");
		return NULL;
	}
	memcpy(d, s->s, s->len);
	d[s->len] = 0;
	return d;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp((*(const GgufKv *const *)a)->key, (*(const GgufKv *const *)b)->key);
}

/* No key twice (sorted copies of the pointers: files may hold many). */
static int no_twice(const Gguf *g, const Cursor *c)
{
	const GgufKv **k = malloc((size_t)(g->nkv ? g->nkv : 1) * sizeof *k);
	int rc = k ? 0 : err(ERR_IO, "out of memory");
	for (uint64_t i = 0; k && i < g->nkv; i++)
		k[i] = &g->kv[i];
	if (k)
		qsort(k, (size_t)g->nkv, sizeof *k, cmp_key);
	for (uint64_t i = 1; !rc && i < g->nkv; i++)
		if (!strcmp(k[i]->key, k[i - 1]->key))
			rc = err(ERR_DATA, "%s: key '%s' twice", c->name, k[i]->key);
	free(k);
	return rc;
}

static int rd_kvs(Gguf *g, Cursor *c)
{
	/* a key/value takes at least 8 + 4 + 1 bytes */
	if (g->nkv > (c->size - c->off) / 13)
		return err(ERR_DATA, "%s: %llu key/values cannot fit in %zu bytes", c->name,
			   (unsigned long long)g->nkv, c->size - c->off);
	if (!(g->kv = calloc((size_t)(g->nkv ? g->nkv : 1), sizeof *g->kv)))
		return err(ERR_IO, "out of memory");
	for (uint64_t i = 0; i < g->nkv; i++) {
		GgufKv *kv = &g->kv[i];
		GgufStr k;
		int rc = rd_str(c, &k, GGUF_MAX_KEY, "key");
		if (rc)
			return rc;
		if (!(kv->key = dup_name(c, &k, "key")))
			return ERR_DATA;
		if ((rc = rd_type(c, &kv->type, kv->key)) || (rc = rd_value(c, kv)))
			return rc;
	}
	return no_twice(g, c);
}

/* ---- lookups ---------------------------------------------------------------- */

const GgufKv *gguf_find(const Gguf *g, const char *key)
{
	for (uint64_t i = 0; i < g->nkv; i++)
		if (!strcmp(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

static int lookup(const Gguf *g, const char *key, const GgufKv **kv)
{
	if (!(*kv = gguf_find(g, key)))
		return err(ERR_DATA, "%s: key '%s' missing", g->path, key);
	return 0;
}

static int wrong(const Gguf *g, const GgufKv *kv, const char *want)
{
	return err(ERR_DATA, "%s: key '%s' is a%s %s, expected %s", g->path, kv->key,
		   kv->type == GGUF_ARRAY || kv->type == GGUF_I8 ? "n" : "",
		   gguf_type_name(kv->type), want);
}

int gguf_str(const Gguf *g, const char *key, GgufStr *out)
{
	const GgufKv *kv;
	int rc = lookup(g, key, &kv);
	if (rc)
		return rc;
	if (kv->type != GGUF_STRING)
		return wrong(g, kv, "a string");
	*out = kv->str;
	return 0;
}

int gguf_u32(const Gguf *g, const char *key, uint32_t *out)
{
	const GgufKv *kv;
	int rc = lookup(g, key, &kv);
	if (rc)
		return rc;
	int64_t v = -1;
	switch (kv->type) {
	case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64:
		v = le(kv->data, vtypes[kv->type].size) > INT64_MAX ? -1
			: (int64_t)le(kv->data, vtypes[kv->type].size);
		break;
	case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: {
		int n = vtypes[kv->type].size;
		uint64_t u = le(kv->data, n);
		if (n < 8 && u >> (8 * n - 1))
			u |= ~(uint64_t)0 << (8 * n);   /* sign-extend */
		v = (int64_t)u;
		break;
	}
	case GGUF_F32: case GGUF_BOOL: case GGUF_STRING: case GGUF_ARRAY: case GGUF_F64:
	case GGUF_TYPE_COUNT:
		return wrong(g, kv, "an integer");
	}
	if (v < 0 || v > UINT32_MAX)
		return err(ERR_DATA, "%s: key '%s': %lld out of range", g->path, key, (long long)v);
	*out = (uint32_t)v;
	return 0;
}

int gguf_f32(const Gguf *g, const char *key, float *out)
{
	const GgufKv *kv;
	int rc = lookup(g, key, &kv);
	if (rc)
		return rc;
	if (kv->type == GGUF_F32) {
		uint32_t u = (uint32_t)le(kv->data, 4);
		memcpy(out, &u, 4);
	} else if (kv->type == GGUF_F64) {
		uint64_t u = le(kv->data, 8);
		double d;
		memcpy(&d, &u, 8);
		*out = (float)d;
	} else
		return wrong(g, kv, "f32");
	return 0;
}

int gguf_bool(const Gguf *g, const char *key, int *out)
{
	const GgufKv *kv;
	int rc = lookup(g, key, &kv);
	if (rc)
		return rc;
	if (kv->type != GGUF_BOOL)
		return wrong(g, kv, "bool");
	if (kv->data[0] > 1)
		return err(ERR_DATA, "%s: key '%s': bool %d", g->path, key, kv->data[0]);
	*out = kv->data[0];
	return 0;
}

int gguf_array(const Gguf *g, const char *key, GgufType elem, const GgufKv **out)
{
	int rc = lookup(g, key, out);
	if (rc)
		return rc;
	if ((*out)->type != GGUF_ARRAY || (*out)->elem != elem)
		return err(ERR_DATA, "%s: key '%s' is not an array of %s", g->path, key,
			   gguf_type_name(elem));
	return 0;
}

float gguf_arr_f32(const GgufKv *a, uint64_t i)
{
	uint32_t u = (uint32_t)le(a->data + 4 * i, 4);
	float f;
	memcpy(&f, &u, 4);
	return f;
}

int32_t gguf_arr_i32(const GgufKv *a, uint64_t i)
{
	uint32_t u = (uint32_t)le(a->data + 4 * i, 4);
	int32_t v;
	memcpy(&v, &u, 4);
	return v;
}

/* ---- tensor infos ------------------------------------------------------------ */

/* ggml's names of its type numbers, for the message refusing one. */
static const char *ggml_name(uint64_t t)
{
	static const char *names[] = {
		"f32", "f16", "q4_0", "q4_1", "q4_2", "q4_3", "q5_0", "q5_1", "q8_0", "q8_1",
		"q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs",
		"iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64",
		"iq1_m", "bf16", "q4_0_4_4", "q4_0_4_8", "q4_0_8_8", "tq1_0", "tq2_0",
	};
	return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

typedef struct {
	uint64_t b, e;                  /* range in the data section */
	const char *name;
} Range;

static int cmp_range(const void *x, const void *y)
{
	const Range *a = x, *b = y;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* One tensor info: checked except for its range, which needs the data
 * section's start (after all the infos). */
static int rd_info(Cursor *c, Tensor *t, uint64_t *offset)
{
	GgufStr s;
	uint64_t nd, ne[GGUF_MAX_DIMS], type;
	int rc = rd_str(c, &s, GGUF_MAX_NAME, "tensor name");
	if (rc)
		return rc;
	if (!(t->name = dup_name(c, &s, "tensor name")))
		return ERR_DATA;
	if ((rc = rd(c, 4, &nd, t->name)))
		return rc;
	if (nd < 1 || nd > GGUF_MAX_DIMS)
		return err(ERR_DATA, "%s: tensor '%s': %llu dimensions, expected 1 to %d", c->name,
			   t->name, (unsigned long long)nd, GGUF_MAX_DIMS);
	uint64_t nelem = 1;
	for (uint64_t i = 0; i < nd; i++) {
		if ((rc = rd(c, 8, &ne[i], t->name)))
			return rc;
		if (ne[i] < 1 || __builtin_mul_overflow(nelem, ne[i], &nelem) || nelem > INT64_MAX)
			return err(ERR_DATA, "%s: tensor '%s': bad dimension %llu", c->name, t->name,
				   (unsigned long long)ne[i]);
	}
	if ((rc = rd(c, 4, &type, t->name)) || (rc = rd(c, 8, offset, t->name)))
		return rc;
	if (type > UINT32_MAX || wtype_from_ggml((uint32_t)type, &t->type))
		return err(ERR_DATA, "%s: tensor '%s': type %llu (%s) not supported; supported: %s",
			   c->name, t->name, (unsigned long long)type, ggml_name(type), wtype_names());
	t->ndim = (int)nd;
	for (int i = 0; i < t->ndim; i++)
		t->shape[i] = (int64_t)ne[nd - 1 - i];
	t->nelem = (int64_t)nelem;
	int64_t row = wtype_row_bytes(t->type, (int64_t)ne[0]);
	if (row < 0)
		return err(ERR_DATA, "%s: tensor '%s': rows of %llu elements are not whole %s blocks "
			   "of %d (or too long)", c->name, t->name, (unsigned long long)ne[0],
			   wtype_info[t->type].name, wtype_info[t->type].block);
	if (__builtin_mul_overflow((uint64_t)row, nelem / ne[0], &t->bytes))
		return err(ERR_DATA, "%s: tensor '%s': too large", c->name, t->name);
	return 0;
}

/* The infos, then the data section: each range inside it, aligned, no two
 * overlapping. With ts the tensors go to the table, else they are freed. */
static int rd_tensors(Gguf *g, Cursor *c, Tensors *ts, int fi)
{
	/* an info takes at least 8 + 1 (name) + 4 + 8 + 4 + 8 bytes */
	if (g->n_tensors > (c->size - c->off) / 33)
		return err(ERR_DATA, "%s: %llu tensors cannot fit in %zu bytes", c->name,
			   (unsigned long long)g->n_tensors, c->size - c->off);
	size_t n = (size_t)g->n_tensors;
	Tensor *t = calloc(n ? n : 1, sizeof *t);
	Range *r = calloc(n ? n : 1, sizeof *r);
	int rc = t && r ? 0 : err(ERR_IO, "out of memory");
	for (size_t i = 0; !rc && i < n; i++) {
		t[i].file = fi;
		rc = rd_info(c, &t[i], &r[i].b);
		r[i].name = t[i].name;
	}
	uint64_t start = ((uint64_t)c->off + g->alignment - 1) / g->alignment * g->alignment;
	if (!rc && start > c->size)
		rc = err(ERR_DATA, "%s: data section at byte %llu, past the end (%zu bytes)", c->name,
			 (unsigned long long)start, c->size);
	uint64_t datalen = rc ? 0 : c->size - start;
	for (size_t i = 0; !rc && i < n; i++) {
		if (r[i].b % g->alignment)
			rc = err(ERR_DATA, "%s: tensor '%s': offset %llu not a multiple of the alignment "
				 "%llu", c->name, t[i].name, (unsigned long long)r[i].b,
				 (unsigned long long)g->alignment);
		else if (r[i].b > datalen || t[i].bytes > datalen - r[i].b)
			rc = err(ERR_DATA, "%s: tensor '%s': %llu bytes at offset %llu, outside the data "
				 "section (%llu bytes)", c->name, t[i].name,
				 (unsigned long long)t[i].bytes, (unsigned long long)r[i].b,
				 (unsigned long long)datalen);
		else {
			r[i].e = r[i].b + t[i].bytes;
			t[i].data = c->p + start + r[i].b;
		}
	}
	if (!rc && n) {
		qsort(r, n, sizeof *r, cmp_range);
		for (size_t i = 1; !rc && i < n; i++)
			if (r[i].b < r[i - 1].e)
				rc = err(ERR_DATA, "%s: tensor '%s' [%llu, %llu) overlaps tensor '%s' "
					 "[%llu, %llu)", c->name, r[i].name, (unsigned long long)r[i].b,
					 (unsigned long long)r[i].e, r[i - 1].name,
					 (unsigned long long)r[i - 1].b, (unsigned long long)r[i - 1].e);
	}
	g->data_offset = start;
	size_t added = 0;
	for (; !rc && ts && added < n; added++)
		rc = tensors_add(ts, &t[added]);        /* takes the name, also on failure */
	for (size_t i = ts ? added : 0; i < n && t; i++)
		free(t[i].name);
	free(t);
	free(r);
	return rc;
}

/* ---- files ---------------------------------------------------------------------- */

int gguf_magic(const void *p, size_t size)
{
	return size >= 4 && !memcmp(p, "GGUF", 4);
}

int gguf_parse(Gguf *g, const char *name, const void *buf, size_t size, Tensors *ts, int fi)
{
	Cursor c = { .p = buf, .size = size, .name = name };
	uint64_t v = 0;
	int rc;
	memset(g, 0, sizeof *g);
	if (!(g->path = strdup(name)))
		return err(ERR_IO, "out of memory");
	if (!gguf_magic(buf, size)) {
		rc = err(ERR_DATA, "%s: not a GGUF file (no \"GGUF\" magic)", name);
		goto fail;
	}
	c.off = 4;
	if ((rc = rd(&c, 4, &v, "version")))
		goto fail;
	if (v != 2 && v != 3) {
		rc = err(ERR_DATA, "%s: GGUF version %llu; versions 2 and 3 (little-endian) are "
			 "supported", name, (unsigned long long)v);
		goto fail;
	}
	g->version = (uint32_t)v;
	if ((rc = rd(&c, 8, &g->n_tensors, "tensor count")) ||
	    (rc = rd(&c, 8, &g->nkv, "key/value count")))
		goto fail;
	if ((rc = rd_kvs(g, &c)))
		goto fail;
	uint32_t a = 32;
	if (gguf_find(g, "general.alignment") && (rc = gguf_u32(g, "general.alignment", &a)))
		goto fail;
	if (a == 0 || (a & (a - 1))) {
		rc = err(ERR_DATA, "%s: general.alignment %u is not a power of two", name, a);
		goto fail;
	}
	g->alignment = a;
	if ((rc = rd_tensors(g, &c, ts, fi)))
		goto fail;
	return 0;
fail:
	gguf_close(g);
	return rc;
}

int gguf_open(Gguf *g, const char *path, Tensors *ts)
{
	Tensors own = { 0 };
	Tensors *map = ts ? ts : &own;
	int fi, rc = tensors_map(map, path, 4, &fi);
	if (rc) {
		if (!ts)
			tensors_close(&own);
		memset(g, 0, sizeof *g);
		return rc;
	}
	const TensorFile *f = &map->files[fi];
	if ((rc = gguf_parse(g, path, f->map, f->size, ts, fi))) {
		if (!ts)
			tensors_close(&own);
		return rc;
	}
	if (!ts) {                      /* keep the map, drop the empty table */
		g->own_map = own.files[0].map;
		g->own_size = own.files[0].size;
		own.files[0].map = NULL;
		tensors_close(&own);
	}
	return 0;
}

void gguf_close(Gguf *g)
{
	for (uint64_t i = 0; g->kv && i < g->nkv; i++) {
		free(g->kv[i].key);
		free(g->kv[i].strs);
	}
	free(g->kv);
	free(g->path);
	if (g->own_map)
		munmap(g->own_map, g->own_size);
	memset(g, 0, sizeof *g);
}
