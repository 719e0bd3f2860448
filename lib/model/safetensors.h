/* safetensors.h: a model's weight files, mapped read-only and validated.
 *
 * A safetensors file is a u64 little-endian header length N, N bytes of JSON
 * ({name: {"dtype", "shape", "data_offsets": [begin, end]}}, offsets counted
 * from the end of the header) and the raw little-endian data. Every header is
 * checked completely (length inside the file, JSON well formed, known dtype,
 * shape x element size = byte range, range inside the data, aligned, no
 * overflow) before any pointer into the map is handed out. A directory holds
 * one file, or shards listed by model.safetensors.index.json.
 *
 * Tensors whose name contains "mtp" (the multi-token-prediction head) are
 * checked but left out of the table: inference never uses them. Names that
 * start with "ernie." (older exports) are stored as "model.".
 */
#ifndef ERNIE_SAFETENSORS_H
#define ERNIE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef struct {
	char *name;                     /* owned, after the "ernie." -> "model." mapping */
	const char *dtype;              /* "BF16", "F32", ... (static string) */
	int elsize;                     /* bytes per element */
	int ndim;
	int64_t shape[ST_MAX_DIMS];     /* [ndim] */
	int64_t nelem;                  /* product of shape (1 for a scalar) */
	const void *data;               /* nelem * elsize bytes inside the file's map */
	int file;                       /* index into Safetensors.files */
	int used;                       /* set by whoever binds it (model.c) */
} Tensor;

typedef struct {
	char *path;                     /* owned, for messages */
	void *map;                      /* read-only mapping of the whole file */
	size_t size;                    /* bytes */
} StFile;

typedef struct {
	StFile *files;                  /* [nfiles] */
	int nfiles;
	Tensor *t;                      /* [n], capacity cap (grows) */
	size_t n, cap;
	size_t *slots;                  /* [nslots] hash of names: index + 1, 0 = empty */
	size_t nslots;
	size_t skipped;                 /* mtp tensors left out */
	uint64_t bytes;                 /* data bytes of the tensors in the table */
} Safetensors;

/* Open a model directory: model.safetensors.index.json and its shards, or
 * model.safetensors, or else every *.safetensors in it. ERR_IO if nothing
 * can be opened, ERR_DATA for any malformed file. On failure *st is freed. */
int st_open_dir(Safetensors *st, const char *dir);

/* Add one file to the table (st zeroed first for a fresh table). */
int st_add_file(Safetensors *st, const char *path);

/* The tensor called name, or NULL. */
Tensor *st_find(const Safetensors *st, const char *name);

/* Read and map every page of the data now (so the first tokens neither
 * wait on the disk nor fault page by page), on threads threads (setting up
 * the page tables of a 4 KiB-cached file is CPU work: ~1 ms per 16 MiB in
 * a VM), calling progress(arg, done, total) now and then from this thread,
 * and last with done == total. Worth it when the files fit in RAM: the
 * first forward pass reads every weight anyway. */
void st_prefetch(const Safetensors *st, int threads,
		 void (*progress)(void *arg, uint64_t done, uint64_t total),
		 void *arg);

void st_close(Safetensors *st);

#endif
