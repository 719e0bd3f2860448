/* tensors.h: a model's tensors, whatever file format they came from.
 *
 * The readers (safetensors.h, gguf.h) map their files read-only into a
 * Tensors table, check every header completely, and add one entry per
 * tensor: name -> weight type, shape, data pointer into the map, source
 * file. The binder (model_load.c) looks tensors up by name here and never
 * sees a file format. Shapes are row-major, outermost dimension first (a
 * [rows, cols] matrix; GGUF's ggml order, ne[0] first, is reversed by its
 * reader).
 */
#ifndef ERNIE_TENSORS_H
#define ERNIE_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/wtype.h"

#define TENSOR_MAX_DIMS 8

typedef struct {
	char *name;                     /* owned */
	WType type;
	int ndim;
	int64_t shape[TENSOR_MAX_DIMS]; /* [ndim], outermost first */
	int64_t nelem;                  /* product of shape (1 for a scalar) */
	uint64_t bytes;                 /* the data's size: rows of wtype_row_bytes */
	const void *data;               /* bytes inside the file's map */
	int file;                       /* index into Tensors.files */
	int used;                       /* set by whoever binds it (model_load.c) */
} Tensor;

typedef struct {
	char *path;                     /* owned, for messages */
	void *map;                      /* read-only mapping of the whole file */
	size_t size;                    /* bytes */
} TensorFile;

typedef struct {
	TensorFile *files;              /* [nfiles] */
	int nfiles;
	Tensor *t;                      /* [n], capacity cap (grows) */
	size_t n, cap;
	size_t *slots;                  /* [nslots] hash of names: index + 1, 0 = empty */
	size_t nslots;
	size_t skipped;                 /* tensors a reader left out (mtp) */
	uint64_t bytes;                 /* data bytes of the tensors in the table */
	const char *source;             /* what tensors_get's expectations come from
					 * ("config.json"), for messages; may be NULL */
} Tensors;

/* Map path read-only and append it to the files (*fi its index). ERR_IO if
 * it cannot be opened or is not a regular file, ERR_DATA if it is shorter
 * than min bytes. */
int tensors_map(Tensors *ts, const char *path, size_t min, int *fi);

/* Append *t (its name then owned by the table, also on failure): ERR_DATA
 * for a duplicate name. */
int tensors_add(Tensors *ts, Tensor *t);

/* The tensor called name, or NULL. */
Tensor *tensors_find(const Tensors *ts, const char *name);

/* The tensor called fmt (printf-style, e.g. "blk.%d.attn_q.weight" and a
 * layer), checked: ERR_DATA "FILE: tensor 'NAME': shape [..], SOURCE says
 * [..]" (or "missing") unless its shape is shape[0..ndim) -- a 1-D
 * expectation [n] also accepts [1, n]. Marks it used. */
int tensors_get(const Tensors *ts, Tensor **out, int ndim, const int64_t *shape,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "[a, b, c]" into buf. */
void tensors_shape_str(char *buf, size_t size, const int64_t *shape, int ndim);

/* The path of the file t came from. */
const char *tensors_path(const Tensors *ts, const Tensor *t);

/* Bytes of all the mapped files. */
uint64_t tensors_file_bytes(const Tensors *ts);

/* Read and map every page of the files now (so the first tokens neither
 * wait on the disk nor fault page by page), on threads threads (setting up
 * the page tables of a 4 KiB-cached file is CPU work: ~1 ms per 16 MiB in
 * a VM), calling progress(arg, done, total) now and then from this thread,
 * and last with done == total. Worth it when the files fit in RAM: the
 * first forward pass reads every weight anyway. */
void tensors_prefetch(const Tensors *ts, int threads,
		      void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg);

void tensors_close(Tensors *ts);

#endif
