/* tokenizer.h: SentencePiece encoding and decoding plus the ERNIE wrapper.
 *
 * tok_load() takes a model directory (tokenizer.model and the optional JSON
 * files of specials.h) or a .model file. Encoding splits the special and
 * added tokens out of the text first (leftmost, longest), then runs each
 * segment through sentencepiece: normalise (normalizer.h), then BPE
 * (bpe.c) or unigram Viterbi (unigram.c), then byte fallback. The results
 * are those of sentencepiece 0.1.97, id for id.
 *
 * The split set: with a directory, its named special and added tokens; a
 * bare .model file has none, so it encodes as spm_encode does (sentencepiece
 * itself matches only its user-defined pieces inside text: literal "<s>",
 * "</s>" and "<unk>" are ordinary text).
 *
 * Words: when a BPE model has no piece with U+2581 right after another
 * character (true of every model trained with split_by_whitespace), no
 * token can span the start of a word, so the normalised text is encoded in
 * chunks of about TOK_CHUNK bytes cut before a word, and word by word
 * through a cache (wordcache.h): the same ids, faster. The BPE working set
 * (about 40 bytes per byte) is then bounded by the chunk, or by the longest
 * run without a space, whatever the line length; besides it, memory is the
 * document, its normalised form (up to 3x for spaces) and the ids. Unigram
 * models are encoded whole: their path scores are float sums, so a cut
 * could change a tie (lattice: 12 bytes per byte of text).
 */
#ifndef ERNIE_TOKENIZER_H
#define ERNIE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "text/normalizer.h"
#include "text/specials.h"
#include "text/spm_model.h"

#define TOK_CHUNK 4096          /* bytes of normalised text encoded at a time */

/* One token of a model's raw output: its id and its surface, the bytes
 * text[start..start+len) of the normalised text. */
typedef struct {
	int32_t id;
	uint32_t start, len;
} SpmTok;

typedef struct {
	SpmTok *v;
	size_t n, cap;
} SpmToks;

/* Encoded output: ids, and with want_pieces the piece strings
 * (piece i is pieces.s[ends[i-1]..ends[i]), ends[-1] = 0). */
typedef struct {
	int32_t *ids;
	size_t n, cap;
	int want_pieces;
	ByteBuf pieces;
	size_t *ends;
} TokList;

/* String -> id, open addressing over a power-of-two table. */
typedef struct {
	uint32_t hash;          /* of the piece text, to skip most compares */
	int32_t id;             /* -1 = empty */
} PieceSlot;

typedef struct {
	PieceSlot *slot;        /* [mask + 1] */
	uint32_t mask;
} PieceMap;

typedef struct BpeScratch BpeScratch;

typedef struct {
	SpmModel m;
	Normalizer nz;
	Specials user;          /* USER_DEFINED pieces: never split, never merged */
	Specials split;         /* tokens split out of the text before sentencepiece */
	PieceMap normal;        /* NORMAL, USER_DEFINED, UNUSED pieces */
	PieceMap reserved;      /* CONTROL, UNKNOWN, BYTE pieces (looked up first) */
	int shadowed;           /* a text is in both maps: lookups must go reserved first */
	int32_t unk_id;
	int32_t byte_id[256];   /* <0xNN> pieces, -1 if absent */
	int32_t nids;           /* all ids: pieces, then added tokens */
	char **added;           /* [nids - m.n] text of added ids (NULL: no token) */
	unsigned char *special; /* [nids] 1 for ids of the split set */
	float min_score, max_score; /* over NORMAL pieces (unigram) */
	uint32_t max_len;       /* longest NORMAL/USER/UNUSED piece, bytes */
	int ws_cut;             /* may cut before U+2581 (see above) */
	/* scratch for encoding; a Tokenizer serves one thread */
	ByteBuf norm;
	SpmToks raw;
	BpeScratch *bpe;
	struct WordCache *cache; /* words already encoded (when ws_cut) */
	void *lattice;
	size_t lattice_cap;
} Tokenizer;

/* path: a model directory or a .model file. ERR_IO / ERR_DATA naming the file. */
int tok_load(Tokenizer **t, const char *path);
/* From a parsed model (taken over, freed on error too): split NULL, as a
 * bare .model file; else (a GGUF vocabulary) the split set is the pieces
 * split[0..nsplit), and they decode as a directory's specials do. */
int tok_load_model(Tokenizer **t, SpmModel *m, const int32_t *split, size_t nsplit);
void tok_free(Tokenizer *t);

/* Encode text[0..len) and append to out. parse_special: split the special
 * tokens out first (else they are plain text). ERR_IO when out of memory. */
int tok_encode(Tokenizer *t, const char *text, size_t len, int parse_special, TokList *out);
void toklist_clear(TokList *l);
/* Append one token (and its piece text when want_pieces). ERR_IO if out of memory. */
int toklist_push(TokList *l, int32_t id, const char *piece, size_t len);
void toklist_free(TokList *l);

/* sentencepiece's PieceToId (control/unknown/byte, then the others), then the
 * added tokens; the unknown id if none. */
int32_t tok_piece_id(const Tokenizer *t, const char *text, size_t len);
/* The text of an id (piece, or added token string); NULL if out of range. */
const char *tok_id_text(const Tokenizer *t, int32_t id, size_t *len);
/* The id of the model's bos/eos piece, -1 if it has none. */
int32_t tok_bos(const Tokenizer *t);
int32_t tok_eos(const Tokenizer *t);

/* Incremental decoding: ids in, text out as soon as it is whole UTF-8.
 * Ordinary ids decode as sentencepiece decodes a run of them; a special or
 * added token ends the run and is written verbatim (raw) or dropped. */
typedef struct {
	const Tokenizer *t;
	int raw;                /* specials verbatim (1) or skipped (0) */
	unsigned char pend[4];  /* byte pieces of an unfinished character */
	int npend;
	int started;            /* the run has produced text (no dummy-prefix strip) */
} Detok;

void detok_init(Detok *d, const Tokenizer *t, int raw);
/* ERR_DATA "id N out of range (vocabulary V)" for a bad id. */
int detok_put(Detok *d, int32_t id, ByteBuf *out);
/* A piece string instead of an id (spm_decode --input_format=piece). */
int detok_put_piece(Detok *d, const char *piece, size_t len, ByteBuf *out);
/* End of a run / sequence: pending bytes become U+FFFD; the next id starts afresh. */
int detok_end(Detok *d, ByteBuf *out);

/* ---- inside the library: the models ------------------------------------ */

int32_t piecemap_get(const PieceMap *pm, const SpmPiece *pieces, const char *s, size_t len);
int bpe_encode(Tokenizer *t, const char *text, size_t len, SpmToks *out);
void bpe_scratch_free(BpeScratch *b);
int unigram_encode(Tokenizer *t, const char *text, size_t len, SpmToks *out);
int spmtoks_add(SpmToks *o, int32_t id, size_t start, size_t len);

#endif
