/* spm_model.h: a SentencePiece model file (tokenizer.model) read into memory.
 *
 * The file is a protobuf ModelProto. Only the fields the encoder and decoder
 * need are kept; every tag, varint and length is checked against the buffer,
 * so a truncated or corrupt file is an ERR_DATA naming the byte offset.
 * Strings point into the file buffer (not NUL-terminated: use the lengths).
 */
#ifndef ERNIE_SPM_MODEL_H
#define ERNIE_SPM_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ModelProto.SentencePiece.Type */
enum { PIECE_NORMAL = 1, PIECE_UNKNOWN = 2, PIECE_CONTROL = 3,
       PIECE_USER = 4, PIECE_UNUSED = 5, PIECE_BYTE = 6 };
/* TrainerSpec.ModelType */
enum { SPM_UNIGRAM = 1, SPM_BPE = 2, SPM_WORD = 3, SPM_CHAR = 4 };

typedef struct {
	const char *s;          /* bytes in the file buffer */
	uint32_t len;
} SpmStr;

typedef struct {
	SpmStr text;            /* the piece, "▁the", "<0x0A>", "<s>" */
	float score;
	int type;               /* PIECE_* */
} SpmPiece;

typedef struct {
	char *path;             /* for messages */
	unsigned char *buf;     /* [size] the whole file */
	size_t size;
	int mapped;             /* buf is mmap'd (else malloc'd) */

	SpmPiece *pieces;       /* [n] indexed by id (bigmem.h) */
	int32_t n;
	size_t pieces_bytes;    /* allocated for pieces */

	/* trainer_spec */
	int model_type;         /* SPM_* */
	int byte_fallback;
	int treat_ws_suffix;    /* treat_whitespace_as_suffix */
	int split_by_ws;        /* split_by_whitespace */
	SpmStr unk_surface;     /* " ⁇ " unless set */
	SpmStr bos_piece, eos_piece; /* "<s>", "</s>" unless set */

	/* normalizer_spec */
	SpmStr norm_name;
	SpmStr charsmap;        /* precompiled_charsmap; len 0 if none */
	int add_dummy_prefix;
	int remove_extra_ws;    /* remove_extra_whitespaces */
	int escape_ws;          /* escape_whitespaces */
} SpmModel;

/* Read and check path. ERR_IO if unreadable, ERR_DATA if malformed
 * ("PATH: byte N: problem"). */
int spm_model_load(SpmModel *m, const char *path);
/* Same from a malloc'd buffer the model takes over (freed by
 * spm_model_free, or at once on error). */
int spm_model_parse(SpmModel *m, const char *name, unsigned char *buf, size_t size);
void spm_model_free(SpmModel *m);

#endif
