/* tensors.c: the format-free tensor table of tensors.h: mapped files, a
 * growable array with a hash on names, checked lookups, and the prefetch
 * of the maps. */
#include "model/tensors.h"
#include "base/err.h"
#include "base/readall.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files -------------------------------------------------------------- */

int tensors_map(Tensors *ts, const char *path, size_t min, int *fi)
{
	TensorFile *nf = realloc(ts->files, (size_t)(ts->nfiles + 1) * sizeof *nf);
	if (!nf)
		return err(ERR_IO, "out of memory");
	ts->files = nf;
	TensorFile *f = &ts->files[ts->nfiles];
	memset(f, 0, sizeof *f);
	if (!(f->path = strdup(path)))
		return err(ERR_IO, "out of memory");
	*fi = ts->nfiles++;

	struct stat sb;
	int fd = readall_open(path, &sb);  /* a FIFO is refused, never waited on */
	if (fd < 0)
		return ERR_IO;
	f->size = (size_t)sb.st_size;
	if (f->size < min || f->size == 0) {
		close(fd);
		return err(ERR_DATA, "%s: %zu bytes, too short for a header", path, f->size);
	}
	void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return err_errno(ERR_IO, "%s: mmap", path);
#ifdef MADV_HUGEPAGE
	/* a hint, no error if refused: pages this mapping reads from the disk
	 * are cached as 2 MiB folios where the file system can, and then every
	 * process maps them 2 MiB at a time (far fewer faults and TLB misses;
	 * first touch of 4 KiB-cached weights costs ~0.5 s per GB in some VMs) */
	madvise(m, f->size, MADV_HUGEPAGE);
#endif
	f->map = m;
	return 0;
}

const char *tensors_path(const Tensors *ts, const Tensor *t)
{
	return t->file >= 0 && t->file < ts->nfiles ? ts->files[t->file].path : "?";
}

uint64_t tensors_file_bytes(const Tensors *ts)
{
	uint64_t n = 0;
	for (int i = 0; i < ts->nfiles; i++)
		n += ts->files[i].size;
	return n;
}

/* ---- the table: growable array + open-addressing hash on names ---------- */

static size_t hash_name(const char *s)
{
	size_t h = 1469598103934665603u;        /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static size_t *slot_for(const Tensors *ts, const char *name)
{
	size_t mask = ts->nslots - 1;
	for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
		size_t *s = &ts->slots[i];
		if (*s == 0 || !strcmp(ts->t[*s - 1].name, name))
			return s;
	}
}

Tensor *tensors_find(const Tensors *ts, const char *name)
{
	if (!ts->nslots)
		return NULL;
	size_t *s = slot_for(ts, name);
	return *s ? &ts->t[*s - 1] : NULL;
}

/* Keep the hash at most half full: rebuild at twice the size. */
static int grow_slots(Tensors *ts)
{
	size_t n = ts->nslots ? ts->nslots * 2 : 1024;
	size_t *old = ts->slots, oldn = ts->nslots;
	ts->slots = calloc(n, sizeof *ts->slots);
	if (!ts->slots) {
		ts->slots = old;
		return err(ERR_IO, "out of memory");
	}
	ts->nslots = n;
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			*slot_for(ts, ts->t[old[i] - 1].name) = old[i];
	free(old);
	return 0;
}

int tensors_add(Tensors *ts, Tensor *t)
{
	int rc = 0;
	if ((ts->n + 1) * 2 > ts->nslots && grow_slots(ts))
		rc = ERR_IO;
	size_t *s = rc ? NULL : slot_for(ts, t->name);
	if (s && *s)
		rc = err(ERR_DATA, "%s: tensor '%s' also in %s", tensors_path(ts, t), t->name,
			 tensors_path(ts, &ts->t[*s - 1]));
	if (!rc && ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 256;
		Tensor *nt = realloc(ts->t, cap * sizeof *nt);
		if (!nt)
			rc = err(ERR_IO, "out of memory");
		else {
			ts->t = nt;
			ts->cap = cap;
		}
	}
	if (rc) {
		free(t->name);
		t->name = NULL;
		return rc;
	}
	ts->t[ts->n++] = *t;
	*s = ts->n;
	ts->bytes += t->bytes;
	return 0;
}

void tensors_shape_str(char *buf, size_t size, const int64_t *shape, int ndim)
{
	size_t k = (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < ndim && k < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
	if (k < size)
		snprintf(buf + k, size - k, "]");
}

int tensors_get(const Tensors *ts, Tensor **out, int ndim, const int64_t *shape,
		const char *fmt, ...)
{
	char name[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	Tensor *t = tensors_find(ts, name);
	if (!t)
		return err(ERR_DATA, "%s: tensor '%s' missing",
			   ts->nfiles ? ts->files[0].path : "model", name);
	int ok = t->ndim == ndim;
	for (int i = 0; ok && i < ndim; i++)
		ok = t->shape[i] == shape[i];
	if (ndim == 1 && t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == shape[0])
		ok = 1;
	if (!ok) {
		char got[160], exp[160];
		tensors_shape_str(got, sizeof got, t->shape, t->ndim);
		tensors_shape_str(exp, sizeof exp, shape, ndim);
		return err(ERR_DATA, "%s: tensor '%s': shape %s, %s %s", tensors_path(ts, t), name,
			   got, ts->source ? ts->source : "expected", exp);
	}
	t->used = 1;
	*out = t;
	return 0;
}

/* ---- prefetch ----------------------------------------------------------- */

/* Map (reading from the disk if need be) pages [p, p + size): by the
 * kernel in one call where it can (Linux 5.14+: no fault per page), else
 * by touching one byte a page. */
static void populate(const uint8_t *p, size_t size, size_t page)
{
#ifdef MADV_POPULATE_READ
	if (madvise((void *)p, size, MADV_POPULATE_READ) == 0)
		return;
#endif
	volatile uint8_t sink = 0;
	for (size_t q = 0; q < size; q += page)
		sink ^= p[q];
	(void)sink;
}

#define PREFETCH_CHUNK ((size_t)1 << 24)     /* 16 MiB a claim */
#define PREFETCH_THREADS 64

typedef struct {
	const Tensors *ts;
	size_t page;
	atomic_size_t next;             /* the next chunk to claim, over all files */
	atomic_uint_fast64_t done;      /* bytes mapped */
} Prefetch;

/* Claim and map chunks until none is left; 1 if one was mapped. */
static int prefetch_some(Prefetch *pf)
{
	size_t c = atomic_fetch_add(&pf->next, 1);
	for (int i = 0; i < pf->ts->nfiles; i++) {
		size_t size = pf->ts->files[i].size, n = (size + PREFETCH_CHUNK - 1) / PREFETCH_CHUNK;
		if (c >= n) {
			c -= n;
			continue;
		}
		size_t off = c * PREFETCH_CHUNK, len = size - off < PREFETCH_CHUNK ? size - off
										: PREFETCH_CHUNK;
		populate((const uint8_t *)pf->ts->files[i].map + off, len, pf->page);
		atomic_fetch_add(&pf->done, len);
		return 1;
	}
	return 0;
}

static void *prefetch_thread(void *arg)
{
	while (prefetch_some(arg))
		;
	return NULL;
}

void tensors_prefetch(const Tensors *ts, int threads,
		      void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg)
{
	Prefetch pf = { .ts = ts, .page = (size_t)sysconf(_SC_PAGESIZE) };
	pthread_t tid[PREFETCH_THREADS];
	int started = 0;
	uint64_t total = tensors_file_bytes(ts);
	for (int i = 0; i < ts->nfiles; i++)
		madvise(ts->files[i].map, ts->files[i].size, MADV_WILLNEED);
	atomic_init(&pf.next, 0);
	atomic_init(&pf.done, 0);
	for (int i = 1; i < threads && i < PREFETCH_THREADS; i++)
		started += pthread_create(&tid[started], NULL, prefetch_thread, &pf) == 0;
	while (prefetch_some(&pf))
		if (progress)
			progress(arg, atomic_load(&pf.done), total);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (progress)
		progress(arg, total, total);
}

void tensors_close(Tensors *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->t[i].name);
	for (int i = 0; i < ts->nfiles; i++) {
		if (ts->files[i].map)
			munmap(ts->files[i].map, ts->files[i].size);
		free(ts->files[i].path);
	}
	free(ts->files);
	free(ts->t);
	free(ts->slots);
	memset(ts, 0, sizeof *ts);
}
