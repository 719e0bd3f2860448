/* gguf.h: GGUF v3 files (llama.cpp's format), read strictly.
 *
 * Layout, all little-endian: "GGUF", u32 version (3), u64 tensor count,
 * u64 key/value count; the key/values (key: u64 length + bytes; u32 value
 * type; value: a scalar, a string as u64 length + bytes, or an array as u32
 * element type, u64 count, elements); the tensor infos (name; u32 n_dims;
 * u64 ne[n_dims], ne[0] the contiguous dimension; u32 ggml type; u64 offset
 * into the data); padding to general.alignment (default 32); the data.
 *
 * gguf_open checks the whole header before handing out anything: every
 * count and length against the bytes left in the file (overflow-safe), key
 * and string lengths and array counts bounded, no duplicate key, the
 * alignment a power of two, every tensor of a supported type (else ERR_DATA
 * names the tensor, its type and the supported ones), whole blocks per
 * row, its range inside the data section, aligned, overlapping no other.
 * Tensor shapes are given to the table outermost first (ne reversed).
 *
 * Metadata values point into the map: valid while the file stays mapped.
 */
#ifndef ERNIE_GGUF_H
#define ERNIE_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "model/tensors.h"

/* GGUF metadata value types (their numbers in the file) */
typedef enum {
	GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
	GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
	GGUF_I64 = 11, GGUF_F64 = 12,
	GGUF_TYPE_COUNT
} GgufType;

#define GGUF_MAX_KEY 65536              /* bytes of a key */
#define GGUF_MAX_STRING (1u << 26)      /* bytes of a string value (chat templates) */
#define GGUF_MAX_ARRAY (1u << 26)       /* elements of an array */
#define GGUF_MAX_NAME 256               /* bytes of a tensor name */
#define GGUF_MAX_DIMS 4

typedef struct {
	const char *s;                  /* in the map, not NUL-terminated */
	uint64_t len;
} GgufStr;

typedef struct {
	char *key;                      /* owned, NUL-terminated */
	GgufType type;
	GgufType elem;                  /* arrays: the element type */
	uint64_t n;                     /* arrays: the count */
	const uint8_t *data;            /* the value (scalars, arrays of numbers: raw
					 * little-endian, unaligned) */
	GgufStr str;                    /* GGUF_STRING */
	GgufStr *strs;                  /* owned: arrays of strings, [n] */
} GgufKv;

typedef struct Gguf {
	char *path;                     /* owned, for messages */
	void *own_map;                  /* the map when no table was given */
	size_t own_size;
	uint32_t version;
	uint64_t alignment;
	uint64_t data_offset;           /* file offset of the data section */
	uint64_t n_tensors;
	GgufKv *kv;                     /* [nkv] */
	uint64_t nkv;
} Gguf;

/* 1 if the 4 bytes at p are the GGUF magic. */
int gguf_magic(const void *p, size_t size);

/* Map and check path. With ts, the file is mapped into the table (which
 * owns the map: close g before ts) and its tensors are added to it; with
 * ts NULL the tensors are checked only and g owns the map. ERR_IO if the
 * file cannot be read, ERR_DATA for anything malformed; on failure g is
 * freed. */
int gguf_open(Gguf *g, const char *path, Tensors *ts);

/* The same on a buffer (which must outlive g): name is for messages; with
 * ts, tensors are added as coming from file fi of ts. */
int gguf_parse(Gguf *g, const char *name, const void *buf, size_t size, Tensors *ts, int fi);

void gguf_close(Gguf *g);

/* The key/value called key, or NULL. */
const GgufKv *gguf_find(const Gguf *g, const char *key);

/* Typed lookups: 0, or ERR_DATA "FILE: key 'KEY' missing" / "... is a
 * TYPE, expected ..." / "... VALUE out of range". Integer lookups accept
 * any integer type whose value fits; gguf_f32 accepts f32 and f64. */
int gguf_str(const Gguf *g, const char *key, GgufStr *out);
int gguf_u32(const Gguf *g, const char *key, uint32_t *out);
int gguf_f32(const Gguf *g, const char *key, float *out);
int gguf_bool(const Gguf *g, const char *key, int *out);
/* An array whose elements are of type elem (ERR_DATA otherwise). */
int gguf_array(const Gguf *g, const char *key, GgufType elem, const GgufKv **out);

/* Element i of an array of f32 / i32 (unaligned little-endian reads). */
float gguf_arr_f32(const GgufKv *a, uint64_t i);
int32_t gguf_arr_i32(const GgufKv *a, uint64_t i);

/* "u32", "string", ... */
const char *gguf_type_name(GgufType t);

#endif
