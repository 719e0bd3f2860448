/* tokenizer.c: loading, the encode pipeline around the models, and decoding
 * (see tokenizer.h). The steps follow sentencepiece 0.1.97's
 * SentencePieceProcessor: Normalize, model Encode, then byte fallback and
 * merging of adjacent unknown pieces; Decode maps pieces back to text. */
#include "text/tokenizer.h"

#include "base/bigmem.h"
#include "base/err.h"
#include "text/wordcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SPACE_SYMBOL "\xe2\x96\x81"

/* ---- piece maps ---------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15u ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
		s += 8;
		len -= 8;
	}
	uint64_t w = 0;         /* the last 0..7 bytes, without a byte loop */
	if (len >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + len - 4, 4);
		w = (uint64_t)a << 32 | b;
	} else if (len) {
		w = (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[len / 2] << 8 |
		    (unsigned char)s[len - 1];
	}
	h ^= w;
	/* murmur3's finaliser: every input bit reaches the low bits the table uses */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	return (uint32_t)h;
}

int32_t piecemap_get(const PieceMap *pm, const SpmPiece *pieces, const char *s, size_t len)
{
	if (!pm->slot)
		return -1;
	uint32_t h = hash_bytes(s, len);
	for (uint32_t i = h & pm->mask;; i = (i + 1) & pm->mask) {
		int32_t id = pm->slot[i].id;
		if (id < 0)
			return -1;
		if (pm->slot[i].hash == h && pieces[id].text.len == len && !memcmp(pieces[id].text.s, s, len))
			return id;
	}
}

/* Insert id with hash h; returns the id already there under the same text, or -1. */
static int32_t piecemap_put(PieceMap *pm, const SpmPiece *pieces, int32_t id, uint32_t h)
{
	const SpmStr *t = &pieces[id].text;
	uint32_t i = h & pm->mask;
	for (; pm->slot[i].id >= 0; i = (i + 1) & pm->mask) {
		const SpmStr *o = &pieces[pm->slot[i].id].text;
		if (pm->slot[i].hash == h && o->len == t->len && !memcmp(o->s, t->s, t->len))
			return pm->slot[i].id;
	}
	pm->slot[i] = (PieceSlot){ h, id };
	return -1;
}

static int piecemap_init(PieceMap *pm, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	pm->slot = big_alloc(cap * sizeof *pm->slot);
	if (!pm->slot)
		return err(ERR_IO, "out of memory");
	memset(pm->slot, 0xff, cap * sizeof *pm->slot);
	pm->mask = (uint32_t)(cap - 1);
	return 0;
}

/* Fill pm with the pieces ids[0..n), in the order of their home slots (a
 * radix sort), so the table is written front to back: in random order each
 * insert is a cache miss, which dominates loading a big vocabulary. Sets
 * *dup to the later id of two pieces with the same text, or -1. */
static int piecemap_build(PieceMap *pm, const SpmPiece *pieces, const int32_t *ids, size_t n, int32_t *dup)
{
	*dup = -1;
	int rc = piecemap_init(pm, n);
	size_t bytes = n * (2 * sizeof(uint64_t) + sizeof(uint32_t));
	uint64_t *key = big_alloc(bytes), *tmp = key + n, *base = key;
	uint32_t *hash = (uint32_t *)(key + 2 * n);
	if (rc || !key) {
		big_free(key, bytes);
		return rc ? rc : err(ERR_IO, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t h = hash_bytes(pieces[ids[i]].text.s, pieces[ids[i]].text.len);
		key[i] = (uint64_t)(h & pm->mask) << 32 | (uint32_t)i;
		hash[i] = h;
	}
	/* LSD radix sort on the slot, 11 bits a pass (stable: ids stay in order) */
	for (int shift = 32; shift < 64 && (pm->mask >> (shift - 32)); shift += 11) {
		size_t count[2049] = { 0 };
		for (size_t i = 0; i < n; i++)
			count[(key[i] >> shift & 2047) + 1]++;
		for (int b = 0; b < 2048; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			tmp[count[key[i] >> shift & 2047]++] = key[i];
		uint64_t *t = key;
		key = tmp;
		tmp = t;
	}
	for (size_t i = 0; i < n && *dup < 0; i++) {
		uint32_t k = (uint32_t)key[i];
		if (piecemap_put(pm, pieces, ids[k], hash[k]) >= 0)
			*dup = ids[k];
	}
	big_free(base, bytes);
	return 0;
}

/* ---- loading --------------------------------------------------------------- */

static int is_normal_kind(int type)
{
	return type == PIECE_NORMAL || type == PIECE_USER || type == PIECE_UNUSED;
}

/* "<0xNN>" -> NN, or -1. */
static int byte_piece_value(const SpmStr *t)
{
	static const char hex[] = "0123456789ABCDEF";
	if (t->len != 6 || memcmp(t->s, "<0x", 3) || t->s[5] != '>')
		return -1;
	const char *a = memchr(hex, t->s[3], 16), *b = memchr(hex, t->s[4], 16);
	if (!a || !b || !t->s[3] || !t->s[4])
		return -1;
	return (int)((a - hex) * 16 + (b - hex));
}

/* A piece with U+2581 right after another character would let a token span
 * a cut before a word: then chunking is off. */
static int piece_blocks_cut(const SpmStr *t)
{
	for (size_t i = 1; i + 3 <= t->len; i++)
		if (!memcmp(t->s + i, SPACE_SYMBOL, 3) && (i < 3 || memcmp(t->s + i - 3, SPACE_SYMBOL, 3)))
			return 1;
	return 0;
}

/* sentencepiece's two maps: control, unknown and byte pieces apart. */
static int build_maps(Tokenizer *t)
{
	const SpmModel *m = &t->m;
	size_t bytes = (size_t)m->n * sizeof(int32_t);
	int32_t *ids = big_alloc(bytes), dup = -1;
	if (!ids)
		return err(ERR_IO, "out of memory");
	int rc = 0;
	for (int normal = 1; normal >= 0 && !rc && dup < 0; normal--) {
		size_t n = 0;
		for (int32_t i = 0; i < m->n; i++)
			if (is_normal_kind(m->pieces[i].type) == normal)
				ids[n++] = i;
		rc = piecemap_build(normal ? &t->normal : &t->reserved, m->pieces, ids, n, &dup);
	}
	big_free(ids, bytes);
	for (int32_t i = 0; !rc && i < m->n; i++)
		if (!is_normal_kind(m->pieces[i].type) &&
		    piecemap_get(&t->normal, m->pieces, m->pieces[i].text.s, m->pieces[i].text.len) >= 0)
			t->shadowed = 1;
	if (!rc && dup >= 0)
		rc = err(ERR_DATA, "%s: piece %d '%.*s' is already defined", m->path, (int)dup,
		         (int)m->pieces[dup].text.len, m->pieces[dup].text.s);
	return rc;
}

/* sentencepiece's ModelInterface::InitializePieces checks, and our tables. */
static int index_pieces(Tokenizer *t)
{
	SpmModel *m = &t->m;
	int rc;
	t->unk_id = -1;
	/* not for unigram: its float path scores depend on what came before */
	t->ws_cut = m->model_type == SPM_BPE && m->escape_ws && !m->treat_ws_suffix;
	t->min_score = 3.402823466e+38f;
	t->max_score = 1.175494351e-38f;  /* FLT_MIN, as sentencepiece starts it */
	memset(t->byte_id, 0xff, sizeof t->byte_id);
	int nbytes = 0;
	for (int32_t i = 0; i < m->n; i++) {
		const SpmPiece *p = &m->pieces[i];
		int normal = is_normal_kind(p->type);
		if (normal && t->ws_cut && piece_blocks_cut(&p->text))
			t->ws_cut = 0;
		if (normal && p->text.len > t->max_len)
			t->max_len = p->text.len;
		if (p->type == PIECE_USER && (rc = specials_add(&t->user, p->text.s, p->text.len, i, 0)))
			return rc;
		if (p->type == PIECE_NORMAL) {
			if (p->score < t->min_score)
				t->min_score = p->score;
			if (p->score > t->max_score)
				t->max_score = p->score;
		}
		if (p->type == PIECE_UNKNOWN) {
			if (t->unk_id >= 0)
				return err(ERR_DATA, "%s: piece %d: a second unknown piece", m->path, (int)i);
			t->unk_id = i;
		}
		if (p->type == PIECE_BYTE) {
			int b = byte_piece_value(&p->text);
			if (!m->byte_fallback || b < 0)
				return err(ERR_DATA, "%s: piece %d '%.*s': byte piece %s", m->path, (int)i,
				           (int)p->text.len, p->text.s,
				           b < 0 ? "not of the form <0xNN>" : "although byte_fallback is off");
			t->byte_id[b] = i;
			nbytes++;
		}
	}
	if (t->min_score == 3.402823466e+38f)
		t->min_score = 0;
	if (t->max_score == 1.175494351e-38f)
		t->max_score = 0;
	if (t->unk_id < 0)
		return err(ERR_DATA, "%s: no unknown piece", m->path);
	if (m->byte_fallback && nbytes != 256)
		return err(ERR_DATA, "%s: byte_fallback needs 256 byte pieces, found %d", m->path, nbytes);
	if (m->model_type != SPM_BPE && m->model_type != SPM_UNIGRAM)
		return err(ERR_DATA, "%s: model type %d not supported (only BPE and unigram)", m->path,
		           m->model_type);
	return build_maps(t);
}

/* A GGUF vocabulary: the pieces split[0..n). */
static int split_from_ids(Tokenizer *t, const int32_t *split, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (split[i] < 0 || split[i] >= t->m.n)
			return err(ERR_DATA, "%s: split token %d out of range (%d pieces)", t->m.path,
				   (int)split[i], (int)t->m.n);
		const SpmPiece *p = &t->m.pieces[split[i]];
		int rc = specials_add(&t->split, p->text.s, p->text.len, split[i], 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* Give every split token an id and build the id tables. */
static int index_split(Tokenizer *t, const char *dir)
{
	int32_t n = t->m.n, nids = n;
	for (size_t i = 0; i < t->split.n; i++) {
		Special *s = &t->split.v[i];
		if (s->id < 0) {
			s->id = piecemap_get(&t->reserved, t->m.pieces, s->text, s->len);
			if (s->id < 0)
				s->id = piecemap_get(&t->normal, t->m.pieces, s->text, s->len);
			if (s->id < 0)
				s->id = t->unk_id;
		}
		if (s->id >= nids)
			nids = s->id + 1;
	}
	if (nids - n > 10000000)
		return err(ERR_DATA, "%s: added token id %d is implausibly large", dir ? dir : t->m.path,
			   (int)nids - 1);
	t->nids = nids;
	t->special = calloc((size_t)nids, 1);
	t->added = calloc((size_t)(nids - n) + 1, sizeof *t->added);
	if (!t->special || !t->added)
		return err(ERR_IO, "out of memory");
	for (size_t i = 0; i < t->split.n; i++) {
		const Special *s = &t->split.v[i];
		t->special[s->id] = 1;
		if (s->id >= n && !t->added[s->id - n])
			t->added[s->id - n] = s->text;
	}
	return 0;
}

/* Index t->m and set up the split set: from dir's JSON files, or the
 * pieces split[0..nsplit) (a GGUF vocabulary). A bare .model (neither) has
 * none: encoding and decoding are sentencepiece's own, which matches only
 * the user-defined pieces inside text (t->user). */
static int init(Tokenizer *t, const char *dir, const int32_t *split, size_t nsplit)
{
	int rc = index_pieces(t);
	if (!rc && dir)
		rc = specials_load(&t->split, dir);
	else if (!rc && split)
		rc = split_from_ids(t, split, nsplit);
	if (!rc)
		rc = index_split(t, dir);
	if (!rc)
		rc = normalizer_init(&t->nz, &t->m, &t->user);
	return rc;
}

int tok_load(Tokenizer **out, const char *path)
{
	*out = NULL;
	struct stat st;
	if (stat(path, &st) < 0)
		return err_errno(ERR_IO, "%s", path);
	Tokenizer *t = calloc(1, sizeof *t);
	if (!t)
		return err(ERR_IO, "out of memory");
	int dir = S_ISDIR(st.st_mode), rc;
	char model[4096];
	if (!dir)
		rc = spm_model_load(&t->m, path);
	else if (snprintf(model, sizeof model, "%s/tokenizer.model", path) >= (int)sizeof model)
		rc = err(ERR_IO, "%s: path too long", path);
	else
		rc = spm_model_load(&t->m, model);
	if (!rc)
		rc = init(t, dir ? path : NULL, NULL, 0);
	if (rc) {
		tok_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int tok_load_model(Tokenizer **out, SpmModel *m, const int32_t *split, size_t nsplit)
{
	*out = NULL;
	Tokenizer *t = calloc(1, sizeof *t);
	if (!t) {
		spm_model_free(m);
		return err(ERR_IO, "out of memory");
	}
	t->m = *m;
	memset(m, 0, sizeof *m);
	int rc = init(t, NULL, split, nsplit);
	if (rc) {
		tok_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void tok_free(Tokenizer *t)
{
	if (!t)
		return;
	normalizer_free(&t->nz);
	specials_free(&t->user);
	specials_free(&t->split);
	if (t->normal.slot)
		big_free(t->normal.slot, ((size_t)t->normal.mask + 1) * sizeof *t->normal.slot);
	if (t->reserved.slot)
		big_free(t->reserved.slot, ((size_t)t->reserved.mask + 1) * sizeof *t->reserved.slot);
	free(t->added);
	free(t->special);
	free(t->norm.s);
	free(t->raw.v);
	bpe_scratch_free(t->bpe);
	if (t->cache)
		wordcache_free(t->cache);
	free(t->cache);
	free(t->lattice);
	spm_model_free(&t->m);
	free(t);
}

/* ---- lookups ------------------------------------------------------------- */

int32_t tok_piece_id(const Tokenizer *t, const char *text, size_t len)
{
	int32_t id = piecemap_get(&t->reserved, t->m.pieces, text, len);
	if (id < 0)
		id = piecemap_get(&t->normal, t->m.pieces, text, len);
	size_t which;
	if (id < 0 && len && specials_prefix(&t->split, text, len, &which) == len)
		id = t->split.v[which].id;
	return id < 0 ? t->unk_id : id;
}

const char *tok_id_text(const Tokenizer *t, int32_t id, size_t *len)
{
	if (id < 0 || id >= t->nids)
		return NULL;
	if (id < t->m.n) {
		*len = t->m.pieces[id].text.len;
		return t->m.pieces[id].text.s;
	}
	const char *s = t->added[id - t->m.n];
	if (s)
		*len = strlen(s);
	return s;
}

static int32_t named_piece(const Tokenizer *t, const SpmStr *s)
{
	int32_t id = piecemap_get(&t->reserved, t->m.pieces, s->s, s->len);
	return id >= 0 && t->m.pieces[id].type == PIECE_CONTROL ? id : -1;
}

int32_t tok_bos(const Tokenizer *t) { return named_piece(t, &t->m.bos_piece); }
int32_t tok_eos(const Tokenizer *t) { return named_piece(t, &t->m.eos_piece); }

/* ---- encoding ---------------------------------------------------------------- */

int spmtoks_add(SpmToks *o, int32_t id, size_t start, size_t len)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 256;
		SpmTok *v = realloc(o->v, cap * sizeof *v);
		if (!v)
			return err(ERR_IO, "out of memory");
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = (SpmTok){ id, (uint32_t)start, (uint32_t)len };
	return 0;
}

static int toklist_grow(TokList *l)
{
	if (l->n < l->cap)
		return 0;
	size_t cap = l->cap ? 2 * l->cap : 256;
	int32_t *ids = realloc(l->ids, cap * sizeof *ids);
	if (!ids)
		return err(ERR_IO, "out of memory");
	l->ids = ids;
	if (l->want_pieces) {
		size_t *ends = realloc(l->ends, cap * sizeof *ends);
		if (!ends)
			return err(ERR_IO, "out of memory");
		l->ends = ends;
	}
	l->cap = cap;
	return 0;
}

int toklist_push(TokList *l, int32_t id, const char *piece, size_t len)
{
	int rc = toklist_grow(l);
	if (rc)
		return rc;
	l->ids[l->n] = id;
	if (l->want_pieces) {
		if ((rc = bytebuf_add(&l->pieces, piece, len)))
			return rc;
		l->ends[l->n] = l->pieces.len;
	}
	l->n++;
	return 0;
}

void toklist_clear(TokList *l)
{
	l->n = 0;
	l->pieces.len = 0;
}

void toklist_free(TokList *l)
{
	free(l->ids);
	free(l->ends);
	free(l->pieces.s);
	memset(l, 0, sizeof *l);
}

/* The model's output to ids: unknown pieces become byte pieces (byte
 * fallback) or merge with an unknown neighbour. *prev_unk carries over
 * from one chunk to the next. */
static int finish(Tokenizer *t, const char *text, const SpmToks *raw, TokList *out, int *prev_unk)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < raw->n; i++) {
		const SpmTok *r = &raw->v[i];
		const char *w = text + r->start;
		int type = t->m.pieces[r->id].type;
		if (type == PIECE_CONTROL) {
			rc = toklist_push(out, r->id, w, r->len);
			continue;
		}
		int unk = type == PIECE_UNKNOWN;
		if (unk && t->m.byte_fallback) {
			for (size_t k = 0; !rc && k < r->len; k++) {
				int32_t b = t->byte_id[(unsigned char)w[k]];
				rc = toklist_push(out, b, t->m.pieces[b].text.s, t->m.pieces[b].text.len);
			}
		} else if (unk && *prev_unk) {
			if (out->want_pieces && (rc = bytebuf_add(&out->pieces, w, r->len)) == 0)
				out->ends[out->n - 1] = out->pieces.len;
		} else {
			rc = toklist_push(out, r->id, w, r->len);
		}
		*prev_unk = unk;
	}
	return rc;
}

/* The first word start after from (U+2581 after another character), or len. */
static size_t next_word(const char *s, size_t from, size_t len)
{
	for (size_t i = from + 1; i + 3 <= len; i++) {
		const char *p = memchr(s + i, 0xe2, len - i);
		if (!p)
			return len;
		i = (size_t)(p - s);
		if (i + 3 <= len && !memcmp(s + i, SPACE_SYMBOL, 3) && (i < from + 3 || memcmp(s + i - 3, SPACE_SYMBOL, 3)))
			return i;
	}
	return len;
}

static int run_model(Tokenizer *t, const char *text, size_t len, SpmToks *out)
{
	return t->m.model_type == SPM_BPE ? bpe_encode(t, text, len, out) : unigram_encode(t, text, len, out);
}

/* Encode text[0..len) word by word through the cache: same tokens, since no
 * piece spans a word start (ws_cut). */
static int encode_words(Tokenizer *t, const char *text, size_t len, SpmToks *out)
{
	if (!t->cache && !(t->cache = calloc(1, sizeof *t->cache)))
		return err(ERR_IO, "out of memory");
	int rc = 0;
	for (size_t w = 0, end; !rc && w < len; w = end) {
		end = next_word(text, w, len);
		size_t n, first = out->n;
		const SpmTok *hit = wordcache_get(t->cache, text + w, end - w, &n);
		if (hit) {
			for (size_t i = 0; !rc && i < n; i++)
				rc = spmtoks_add(out, hit[i].id, hit[i].start + w, hit[i].len);
			continue;
		}
		rc = run_model(t, text + w, end - w, out);
		if (!rc)
			rc = wordcache_put(t->cache, text + w, end - w, out->v + first, out->n - first);
		for (size_t i = first; i < out->n; i++)
			out->v[i].start += (uint32_t)w;
	}
	return rc;
}

/* One segment of plain text (no split tokens in it) through sentencepiece,
 * in chunks of about TOK_CHUNK bytes cut at word starts when ws_cut. */
static int encode_plain(Tokenizer *t, const char *text, size_t len, TokList *out)
{
	t->norm.len = 0;
	int rc = normalize(&t->nz, text, len, &t->norm);
	int prev_unk = 0;
	const char *s = t->norm.s;
	for (size_t from = 0, end; !rc && from < t->norm.len; from = end) {
		end = t->ws_cut && t->norm.len - from > TOK_CHUNK
		    ? next_word(s, from + TOK_CHUNK - 1, t->norm.len) : t->norm.len;
		if (end - from > UINT32_MAX)
			return err(ERR_DATA, "text of %zu bytes without a word break is too long", end - from);
		t->raw.n = 0;
		rc = t->ws_cut ? encode_words(t, s + from, end - from, &t->raw)
		               : run_model(t, s + from, end - from, &t->raw);
		if (!rc)
			rc = finish(t, s + from, &t->raw, out, &prev_unk);
	}
	return rc;
}

int tok_encode(Tokenizer *t, const char *text, size_t len, int parse_special, TokList *out)
{
	size_t at, which;
	while (parse_special && specials_find(&t->split, text, len, &at, &which)) {
		const Special *s = &t->split.v[which];
		int rc = encode_plain(t, text, at, out);
		if (!rc)
			rc = toklist_push(out, s->id, s->text, s->len);
		if (rc)
			return rc;
		text += at + s->len;
		len -= at + s->len;
	}
	return encode_plain(t, text, len, out);
}

/* ---- decoding ----------------------------------------------------------- */

void detok_init(Detok *d, const Tokenizer *t, int raw)
{
	memset(d, 0, sizeof *d);
	d->t = t;
	d->raw = raw;
}

/* Bytes a UTF-8 sequence starting with c should have (1 if c cannot start one). */
static int utf8_need(unsigned char c)
{
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;
}

/* Write the pending byte-piece bytes that are decided: whole characters,
 * and U+FFFD for each byte that cannot start one. With final, the run is
 * over and everything goes. */
static int flush_bytes(Detok *d, ByteBuf *out, int final)
{
	while (d->npend) {
		int need = utf8_need(d->pend[0]), broken = 0;
		for (int i = 1; i < d->npend && i < need; i++)
			broken |= (d->pend[i] & 0xc0) != 0x80;
		if (!final && !broken && d->npend < need)
			return 0;       /* more bytes may complete it */
		size_t n;
		uint32_t c = spm_decode_utf8((const char *)d->pend, (size_t)d->npend, &n);
		int rc = c != 0xfffd || n == 3 ? bytebuf_add(out, d->pend, n)
		                               : bytebuf_add(out, "\xef\xbf\xbd", 3);
		if (rc)
			return rc;
		d->npend -= (int)n;
		memmove(d->pend, d->pend + n, (size_t)d->npend);
	}
	return 0;
}

int detok_end(Detok *d, ByteBuf *out)
{
	int rc = flush_bytes(d, out, 1);
	d->started = 0;
	return rc;
}

/* A normal, user-defined or unused piece: U+2581 -> ' ', and the first
 * piece of a run loses one leading U+2581 when the model adds a dummy
 * prefix or removes extra whitespace. */
static int put_text_piece(Detok *d, const char *s, size_t len, ByteBuf *out)
{
	const SpmModel *m = &d->t->m;
	if (!d->started && (m->add_dummy_prefix || m->remove_extra_ws) && len >= 3 &&
	    !memcmp(s, SPACE_SYMBOL, 3))
		s += 3, len -= 3;
	size_t before = out->len;
	int rc = bytebuf_reserve(out, len);
	if (rc)
		return rc;
	for (size_t i = 0; i < len; i++) {
		if (i + 3 <= len && !memcmp(s + i, SPACE_SYMBOL, 3)) {
			out->s[out->len++] = ' ';
			i += 2;
		} else {
			out->s[out->len++] = s[i];
		}
	}
	if (out->len > before)
		d->started = 1;
	return 0;
}

static int put_piece_id(Detok *d, int32_t id, const char *piece, size_t len, ByteBuf *out)
{
	const Tokenizer *t = d->t;
	int type = t->m.pieces[id].type;
	if (type == PIECE_BYTE) {
		d->pend[d->npend++] = (unsigned char)byte_piece_value(&t->m.pieces[id].text);
		d->started = 1;
		return flush_bytes(d, out, 0);
	}
	int rc = flush_bytes(d, out, 1);
	if (rc || type == PIECE_CONTROL)
		return rc;
	if (type == PIECE_UNKNOWN) {
		const SpmStr *u = &t->m.pieces[id].text;
		if (u->len == len && !memcmp(u->s, piece, len))
			piece = t->m.unk_surface.s, len = t->m.unk_surface.len;
		if (len)
			d->started = 1;
		return bytebuf_add(out, piece, len);
	}
	return put_text_piece(d, piece, len, out);
}

/* A special token ends a run of byte pieces, as a control piece does; written
 * verbatim it also starts a new sentencepiece run. */
static int put_special(Detok *d, const char *text, size_t len, ByteBuf *out)
{
	if (!d->raw)
		return flush_bytes(d, out, 1);
	int rc = detok_end(d, out);
	return rc ? rc : bytebuf_add(out, text, len);
}

int detok_put(Detok *d, int32_t id, ByteBuf *out)
{
	const Tokenizer *t = d->t;
	size_t len;
	const char *text = tok_id_text(t, id, &len);
	if (!text)
		return err(ERR_DATA, "id %ld out of range (vocabulary %ld)", (long)id, (long)t->nids);
	if (t->special[id])
		return put_special(d, text, len, out);
	/* sentencepiece decodes ids via their piece text */
	return put_piece_id(d, tok_piece_id(t, text, len), text, len, out);
}

int detok_put_piece(Detok *d, const char *piece, size_t len, ByteBuf *out)
{
	int32_t id = tok_piece_id(d->t, piece, len);
	size_t tl;
	const char *tt = tok_id_text(d->t, id, &tl);
	if (d->t->special[id] && tl == len && !memcmp(tt, piece, len))
		return put_special(d, piece, len, out);
	return put_piece_id(d, id, piece, len, out);
}
