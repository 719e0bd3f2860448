/* gguf_write.h: writing a GGUF v3 file, streamed.
 *
 * The metadata and every tensor's name, type and shape are declared first;
 * gguf_w_begin then writes the header, the key/value pairs and the tensor
 * table (every size is known by then), and the data follows tensor by
 * tensor in declaration order with gguf_w_data, so a many-GB file never
 * sits in memory. It is written to PATH.tmp and renamed to PATH only by
 * gguf_w_finish: an interrupted or failed write leaves no PATH behind
 * (gguf_w_free removes the temporary file).
 *
 * Layout (GGUF v3, little-endian): "GGUF", u32 version, u64 tensor count,
 * u64 key/value count; each pair a string key (u64 length + bytes), a u32
 * value type and the value (arrays: u32 element type, u64 count,
 * elements); each tensor a string name, u32 dimension count, u64 ne[] (ne0
 * the contiguous row), u32 ggml type, u64 offset in the data section; the
 * data section starts at a multiple of the alignment (general.alignment,
 * 32 here, which this writer also records) and so does every tensor.
 */
#ifndef ERNIE_GGUF_WRITE_H
#define ERNIE_GGUF_WRITE_H

#include <stdint.h>
#include <stdio.h>

#include "base/bytebuf.h"
#include "kernels/wtype.h"
#include "model/gguf.h"

#define GGUF_W_ALIGN 32
#define GGUF_W_MAX_DIMS 4

typedef struct {
	char *name;
	WType type;
	int ndim;
	int64_t ne[GGUF_W_MAX_DIMS];    /* ne[0] the contiguous row */
	uint64_t offset, bytes;         /* in the data section */
} GgufWTensor;

typedef struct {
	ByteBuf kv;                     /* the encoded key/value pairs */
	uint64_t n_kv;
	GgufWTensor *t;                 /* [n] declared tensors, capacity cap */
	size_t n, cap;
	uint64_t data_bytes;            /* the data section so far (declared) */
	/* while writing */
	FILE *f;
	char *path, *tmp;
	int renamed;                    /* tmp is path now */
	size_t cur;                     /* tensor being written */
	uint64_t cur_done;              /* its bytes written */
} GgufWriter;

void gguf_w_init(GgufWriter *w);

/* Metadata, in the order added. ERR_IO only when out of memory. */
int gguf_w_str(GgufWriter *w, const char *key, const char *val);
int gguf_w_u32(GgufWriter *w, const char *key, uint32_t val);
int gguf_w_i32(GgufWriter *w, const char *key, int32_t val);
int gguf_w_f32(GgufWriter *w, const char *key, float val);
int gguf_w_bool(GgufWriter *w, const char *key, int val);
/* Arrays; a string array takes n strings of lengths len[i] (need not be
 * NUL-terminated). */
int gguf_w_arr_str(GgufWriter *w, const char *key, const char *const *s, const uint32_t *len, uint64_t n);
int gguf_w_arr_f32(GgufWriter *w, const char *key, const float *v, uint64_t n);
int gguf_w_arr_i32(GgufWriter *w, const char *key, const int32_t *v, uint64_t n);

/* A key/value of a file read by gguf.h, as it is. */
int gguf_w_kv(GgufWriter *w, const GgufKv *kv);

/* Declare a tensor of type t and shape ne[0..ndim) (ggml order). ERR_DATA
 * when ne[0] is not a whole number of the type's blocks. */
int gguf_w_tensor(GgufWriter *w, const char *name, WType t, int ndim, const int64_t *ne);

/* Create PATH.tmp and write everything but the data. ERR_IO on failure. */
int gguf_w_begin(GgufWriter *w, const char *path);
/* Append n bytes of the current tensor's data (a tensor may come in
 * pieces; the padding after it is added when it is complete). ERR_DATA
 * when more bytes come than the declared tensors hold. */
int gguf_w_data(GgufWriter *w, const void *p, uint64_t n);
/* Check every tensor is complete, flush, close and rename to PATH. */
int gguf_w_finish(GgufWriter *w);
/* Free everything; removes PATH.tmp unless gguf_w_finish succeeded. */
void gguf_w_free(GgufWriter *w);

#endif
