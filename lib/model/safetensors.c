/* safetensors.c: safetensors files and shard indexes, mapped read-only, every header offset checked against the file (safetensors.h). */
#include "model/safetensors.h"
#include "base/doc.h"
#include "base/err.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- dtypes ------------------------------------------------------------- */

/* Every dtype the format defines, so any valid file can be checked; those
 * that are weight types (wtype >= 0) are the ones a model can use. */
static const struct { const char *name; int size; int wtype; } dtypes[] = {
	{ "F64", 8, -1 }, { "F32", 4, WT_F32 }, { "F16", 2, WT_F16 }, { "BF16", 2, WT_BF16 },
	{ "I64", 8, -1 }, { "I32", 4, -1 }, { "I16", 2, -1 }, { "I8", 1, -1 },
	{ "U64", 8, -1 }, { "U32", 4, -1 }, { "U16", 2, -1 }, { "U8", 1, -1 },
	{ "BOOL", 1, -1 }, { "F8_E4M3", 1, -1 }, { "F8_E5M2", 1, -1 },
};

static int find_dtype(const char *name)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
		if (!strcmp(dtypes[i].name, name))
			return (int)i;
	return -1;
}

/* ---- header ------------------------------------------------------------- */

/* One header entry: fill t (data pointer included) after checking that the
 * range lies inside the data section [base, base + datalen). */
static int parse_entry(const Doc *d, const char *name, const DocNode *v,
		       const uint8_t *base, uint64_t datalen, uint64_t hdrlen, Tensor *t)
{
	const char *path = d->name;
	if (!v || v->kind != DOC_MAP)
		return err(ERR_DATA, "%s: tensor '%s': entry is not an object", path, name);
	const char *dt;
	DocNode *shape = doc_get(v, "shape"), *offs = doc_get(v, "data_offsets");
	if (doc_string(d, doc_get(v, "dtype"), "dtype", &dt))
		return err_prefix(ERR_DATA, "tensor '%s'", name);
	int k = find_dtype(dt);
	if (k < 0)
		return err(ERR_DATA, "%s: tensor '%s': unknown dtype '%s'", path, name, dt);
	if (dtypes[k].wtype < 0)
		return err(ERR_DATA, "%s: tensor '%s': dtype %s, expected BF16, F16 or F32",
			   path, name, dt);
	t->type = (WType)dtypes[k].wtype;
	int elsize = dtypes[k].size;

	if (!shape || shape->kind != DOC_SEQ || shape->n > TENSOR_MAX_DIMS)
		return err(ERR_DATA, "%s: tensor '%s': shape is not a list of at most %d sizes",
			   path, name, TENSOR_MAX_DIMS);
	t->ndim = (int)shape->n;
	uint64_t nelem = 1;
	for (int i = 0; i < t->ndim; i++) {
		long long dim;
		if (doc_int(d, shape->kids[i], "shape", &dim))
			return err_prefix(ERR_DATA, "tensor '%s'", name);
		if (dim < 0 || __builtin_mul_overflow(nelem, (uint64_t)dim, &nelem) ||
		    nelem > INT64_MAX)
			return err(ERR_DATA, "%s: tensor '%s': bad shape", path, name);
		t->shape[i] = dim;
	}
	t->nelem = (int64_t)nelem;

	long long b, e;
	if (!offs || offs->kind != DOC_SEQ || offs->n != 2)
		return err(ERR_DATA, "%s: tensor '%s': data_offsets is not [begin, end]", path, name);
	if (doc_int(d, offs->kids[0], "data_offsets", &b) ||
	    doc_int(d, offs->kids[1], "data_offsets", &e))
		return err_prefix(ERR_DATA, "tensor '%s'", name);
	uint64_t bytes;
	if (b < 0 || e < b || (uint64_t)e > datalen)
		return err(ERR_DATA, "%s: tensor '%s': data_offsets [%lld, %lld] outside the "
			   "data (%llu bytes)", path, name, b, e, (unsigned long long)datalen);
	if (__builtin_mul_overflow(nelem, (uint64_t)elsize, &bytes) || bytes != (uint64_t)(e - b)) {
		char dims[TENSOR_MAX_DIMS * 22 + 3];
		tensors_shape_str(dims, sizeof dims, t->shape, t->ndim);
		return err(ERR_DATA, "%s: tensor '%s': data_offsets [%lld, %lld] hold %lld bytes, "
			   "shape %s of %s needs %llu", path, name, b, e, e - b, dims, dt,
			   (unsigned long long)nelem * (unsigned long long)elsize);
	}
	t->bytes = bytes;
	/* The map is page-aligned, so the file offset decides the alignment. */
	if ((8 + hdrlen + (uint64_t)b) % (uint64_t)elsize)
		return err(ERR_DATA, "%s: tensor '%s': data at file offset %llu not aligned to "
			   "%d bytes", path, name, (unsigned long long)(8 + hdrlen + b), elsize);
	t->data = base + b;
	return 0;
}

typedef struct {
	uint64_t b, e;          /* data_offsets */
	const char *name;       /* in the header's Doc */
} Range;

static int cmp_range(const void *x, const void *y)
{
	const Range *a = x, *b = y;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* No two tensors may share bytes (a writer's bug, or a crafted file). */
static int check_overlap(const char *path, Range *r, size_t n)
{
	qsort(r, n, sizeof *r, cmp_range);
	for (size_t i = 1; i < n; i++)
		if (r[i].b < r[i - 1].e && r[i].b < r[i].e)
			return err(ERR_DATA, "%s: tensor '%s': data_offsets [%llu, %llu] overlap "
				   "tensor '%s' [%llu, %llu]", path, r[i].name,
				   (unsigned long long)r[i].b, (unsigned long long)r[i].e, r[i - 1].name,
				   (unsigned long long)r[i - 1].b, (unsigned long long)r[i - 1].e);
	return 0;
}

static void map_name(char *name)
{
	/* "ernie.layers..." (older exports) -> "model.layers..." */
	if (!strncmp(name, "ernie.", 6))
		memcpy(name, "model", 5);
}

/* Parse and check the header of file number fi (buf[0..size) is the whole
 * file) and add its tensors to the table. */
static int parse_file(Tensors *st, int fi, const uint8_t *buf, size_t size)
{
	const char *path = st->files[fi].path;
	if (size < 8)
		return err(ERR_DATA, "%s: %zu bytes, too short for a safetensors header", path, size);
	uint64_t hdrlen = 0;
	for (int i = 7; i >= 0; i--)
		hdrlen = hdrlen << 8 | buf[i];
	if (hdrlen > size - 8)
		return err(ERR_DATA, "%s: header length %llu past the end of the file (%zu bytes)",
			   path, (unsigned long long)hdrlen, size);
	const uint8_t *base = buf + 8 + hdrlen;
	uint64_t datalen = size - 8 - hdrlen;

	Doc d;
	int rc = doc_load_buffer(&d, path, (const char *)buf + 8, hdrlen);
	if (rc)
		return rc;
	if (!d.root || d.root->kind != DOC_MAP) {
		rc = err(ERR_DATA, "%s: header is not a JSON object", path);
		goto out;
	}
	size_t nr = 0;
	Range *ranges = malloc((d.root->n + 1) * sizeof *ranges);
	if (!ranges)
		rc = err(ERR_IO, "out of memory");
	for (size_t i = 0; i < d.root->n && !rc; i++) {
		const DocNode *k = d.root->kids[2 * i], *v = d.root->kids[2 * i + 1];
		if (k->kind != DOC_SCALAR || strlen(k->str) != k->len) {
			rc = err(ERR_DATA, "%s:%d:%d: tensor name is not a string", path, k->line, k->col);
			break;
		}
		if (!strcmp(k->str, "__metadata__"))
			continue;
		Tensor t = { .file = fi };
		if ((rc = parse_entry(&d, k->str, v, base, datalen, hdrlen, &t)))
			break;
		uint64_t b = (uint64_t)((const uint8_t *)t.data - base);
		ranges[nr++] = (Range){ b, b + t.bytes, k->str };
		if (strstr(k->str, "mtp")) {
			st->skipped++;
			continue;
		}
		if (!(t.name = strdup(k->str))) {
			rc = err(ERR_IO, "out of memory");
			break;
		}
		map_name(t.name);
		rc = tensors_add(st, &t);
	}
	if (!rc)
		rc = check_overlap(path, ranges, nr);
	free(ranges);
out:
	doc_free(&d);
	return rc;
}

/* ---- files -------------------------------------------------------------- */

int st_add_file(Tensors *st, const char *path)
{
	int fi, rc = tensors_map(st, path, 8, &fi);
	if (rc)
		return rc;
	return parse_file(st, fi, st->files[fi].map, st->files[fi].size);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int add_in_dir(Tensors *st, const char *dir, const char *name)
{
	char *path = join(dir, name);
	if (!path)
		return err(ERR_IO, "out of memory");
	int rc = st_add_file(st, path);
	free(path);
	return rc;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* A shard name from the index must name a file in the directory itself. */
static int plain_file_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* Every tensor the index places in a shard must be in that shard. */
static int check_index(const Tensors *st, const Doc *d, const DocNode *wm, const char *dir)
{
	for (size_t i = 0; i < wm->n; i++) {
		const DocNode *k = wm->kids[2 * i], *v = wm->kids[2 * i + 1];
		if (k->kind != DOC_SCALAR || strstr(k->str, "mtp"))
			continue;
		char *name = strdup(k->str);
		if (!name)
			return err(ERR_IO, "out of memory");
		map_name(name);
		const Tensor *t = tensors_find(st, name);
		free(name);
		if (!t || strcmp(base_name(st->files[t->file].path), v->str))
			return err(ERR_DATA, "%s:%d:%d: tensor '%s' is not in %s/%s", d->name, k->line,
				   k->col, k->str, dir, v->str);
	}
	return 0;
}

/* The index's weight_map: open each shard once, in order of first mention. */
static int load_index(Tensors *st, const char *dir, const Doc *d)
{
	const DocNode *wm = doc_get(d->root, "weight_map");
	if (!wm || wm->kind != DOC_MAP || wm->n == 0)
		return err(ERR_DATA, "%s: no \"weight_map\" object", d->name);
	for (size_t i = 0; i < wm->n; i++) {
		const DocNode *v = wm->kids[2 * i + 1];
		if (v->kind != DOC_SCALAR || strlen(v->str) != v->len || !plain_file_name(v->str))
			return err(ERR_DATA, "%s:%d:%d: expected a file name in the model directory",
				   d->name, v->line, v->col);
		int seen = 0;           /* shards are few, tensors many: look among the files */
		for (int f = 0; f < st->nfiles && !seen; f++)
			seen = !strcmp(base_name(st->files[f].path), v->str);
		int rc = seen ? 0 : add_in_dir(st, dir, v->str);
		if (rc)
			return rc;
	}
	return check_index(st, d, wm, dir);
}

static int open_index(Tensors *st, const char *dir, const char *index)
{
	Doc d;
	int rc = doc_load_file(&d, index);
	if (rc)
		return rc;
	rc = load_index(st, dir, &d);
	doc_free(&d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* No index and no model.safetensors: every *.safetensors, in name order. */
static int open_all(Tensors *st, const char *dir)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return err_errno(ERR_IO, "%s", dir);
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(dp))) {
		size_t len = strlen(de->d_name);
		if (len <= 12 || strcmp(de->d_name + len - 12, ".safetensors"))
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *nn);
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			rc = err(ERR_IO, "out of memory");
			break;
		}
		names = nn;
		n++;
	}
	closedir(dp);
	if (!rc && n == 0)
		rc = err(ERR_IO, "%s: no model.safetensors.index.json and no *.safetensors file", dir);
	if (!rc)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = add_in_dir(st, dir, names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

int st_open_dir(Tensors *st, const char *dir)
{
	memset(st, 0, sizeof *st);
	char *index = join(dir, "model.safetensors.index.json");
	char *single = join(dir, "model.safetensors");
	int rc;
	if (!index || !single)
		rc = err(ERR_IO, "out of memory");
	else if (access(index, F_OK) == 0)
		rc = open_index(st, dir, index);
	else if (access(single, F_OK) == 0)
		rc = st_add_file(st, single);
	else
		rc = open_all(st, dir);
	free(index);
	free(single);
	if (rc)
		tensors_close(st);
	return rc;
}

