/* spm_model.c: a small protobuf reader for SentencePiece's ModelProto.
 *
 * Wire format: each field is a varint key (field number << 3 | wire type)
 * followed by a varint (type 0), 8 bytes (1), a varint length and that many
 * bytes (2), or 4 bytes (5). Unknown fields are skipped; groups (3, 4) are
 * refused. Field numbers are those of sentencepiece_model.proto.
 */
#include "text/spm_model.h"

#include "base/bigmem.h"
#include "base/err.h"
#include "base/readall.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	const unsigned char *p, *end;   /* the message being read */
	const unsigned char *base;      /* start of the file, for offsets */
	const char *name;
	const char *why;                /* the last problem found, for parse() */
} Reader;

typedef struct {
	uint32_t num;           /* field number */
	int wire;               /* wire type */
	uint64_t v;             /* types 0, 1, 5: the value */
	const unsigned char *data; /* type 2: the bytes */
	uint32_t len;
	size_t at;              /* file offset of the key, for messages */
} Field;

static int bad(Reader *r, size_t at, const char *what)
{
	r->why = what;
	return err(ERR_DATA, "%s: byte %zu: %s", r->name, at, what);
}

static inline int varint(Reader *r, uint64_t *v)
{
	if (r->p < r->end && *r->p < 0x80) {   /* most are one byte */
		*v = *r->p++;
		return 0;
	}
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return bad(r, (size_t)(r->p - r->base), "truncated varint");
		unsigned char b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return bad(r, (size_t)(r->p - r->base), "varint longer than 10 bytes");
}

/* The next field of the message: 1 with f filled; 0 at the end or on an
 * error (then *rc is the error code). */
static inline int next_field(Reader *r, Field *f, int *rc)
{
	*rc = 0;
	if (r->p >= r->end)
		return 0;
	f->at = (size_t)(r->p - r->base);
	uint64_t key = 0;
	if ((*rc = varint(r, &key)))
		return 0;
	f->num = (uint32_t)(key >> 3);
	f->wire = (int)(key & 7);
	if (f->num == 0 || key >> 32) {
		*rc = bad(r, f->at, "invalid field number");
		return 0;
	}
	size_t left;
	switch (f->wire) {
	case 0:
		*rc = varint(r, &f->v);
		break;
	case 1:
	case 5: {
		size_t w = f->wire == 1 ? 8 : 4;
		if ((size_t)(r->end - r->p) < w) {
			*rc = bad(r, f->at, "truncated fixed-size field");
			break;
		}
		f->v = 0;
		for (size_t i = 0; i < w; i++)
			f->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += w;
		break;
	}
	case 2:
		if ((*rc = varint(r, &f->v)))
			break;
		left = (size_t)(r->end - r->p);
		if (f->v > left) {
			*rc = bad(r, f->at, "length past the end of the message");
			break;
		}
		f->data = r->p;
		f->len = (uint32_t)f->v;
		r->p += f->v;
		break;
	default:
		*rc = bad(r, f->at, "unsupported wire type");
	}
	return *rc == 0;
}

static Reader sub(const Reader *r, const Field *f)
{
	return (Reader){ f->data, f->data + f->len, r->base, r->name, NULL };
}

static int want(const Reader *r, const Field *f, int wire, const char *what)
{
	if (f->wire == wire)
		return 0;
	return err(ERR_DATA, "%s: byte %zu: %s: wrong wire type %d", r->name, f->at, what, f->wire);
}

static int get_bool(const Reader *r, const Field *f, const char *what, int *out)
{
	int rc = want(r, f, 0, what);
	if (!rc)
		*out = f->v != 0;
	return rc;
}

static int get_str(const Reader *r, const Field *f, const char *what, SpmStr *out)
{
	int rc = want(r, f, 2, what);
	if (!rc)
		*out = (SpmStr){ (const char *)f->data, f->len };
	return rc;
}

/* ---- messages ------------------------------------------------------------ */

static int read_piece(const Reader *r, SpmPiece *p, int32_t id)
{
	Reader m = *r;
	Field f;
	int rc;
	*p = (SpmPiece){ { "", 0 }, 0.0f, PIECE_NORMAL };
	while (next_field(&m, &f, &rc)) {
		if (f.num == 1) {
			rc = get_str(&m, &f, "piece text", &p->text);
		} else if (f.num == 2) {
			if (!(rc = want(&m, &f, 5, "piece score"))) {
				uint32_t bits = (uint32_t)f.v;
				memcpy(&p->score, &bits, sizeof bits);
			}
		} else if (f.num == 3) {
			if (!(rc = want(&m, &f, 0, "piece type")) && (f.v < PIECE_NORMAL || f.v > PIECE_BYTE))
				rc = err(ERR_DATA, "%s: byte %zu: piece %d: unknown type %llu",
				         m.name, f.at, (int)id, (unsigned long long)f.v);
			p->type = (int)f.v;
		}
		if (rc)
			return rc;
	}
	if (!rc && p->text.len == 0)
		rc = err(ERR_DATA, "%s: byte %zu: piece %d is empty", r->name,
		         (size_t)(r->p - r->base), (int)id);
	return rc;
}

static int read_trainer(const Reader *r, SpmModel *m)
{
	Reader t = *r;
	Field f;
	int rc;
	while (next_field(&t, &f, &rc)) {
		switch (f.num) {
		case 3:
			if (!(rc = want(&t, &f, 0, "model_type")) && (f.v < SPM_UNIGRAM || f.v > SPM_CHAR))
				rc = bad(&t, f.at, "unknown model_type");
			m->model_type = (int)f.v;
			break;
		case 22: rc = get_bool(&t, &f, "split_by_whitespace", &m->split_by_ws); break;
		case 24: rc = get_bool(&t, &f, "treat_whitespace_as_suffix", &m->treat_ws_suffix); break;
		case 35: rc = get_bool(&t, &f, "byte_fallback", &m->byte_fallback); break;
		case 44: rc = get_str(&t, &f, "unk_surface", &m->unk_surface); break;
		case 46: rc = get_str(&t, &f, "bos_piece", &m->bos_piece); break;
		case 47: rc = get_str(&t, &f, "eos_piece", &m->eos_piece); break;
		}
		if (rc)
			return rc;
	}
	return rc;
}

static int read_normalizer(const Reader *r, SpmModel *m)
{
	Reader t = *r;
	Field f;
	int rc;
	while (next_field(&t, &f, &rc)) {
		switch (f.num) {
		case 1: rc = get_str(&t, &f, "normalizer name", &m->norm_name); break;
		case 2: rc = get_str(&t, &f, "precompiled_charsmap", &m->charsmap); break;
		case 3: rc = get_bool(&t, &f, "add_dummy_prefix", &m->add_dummy_prefix); break;
		case 4: rc = get_bool(&t, &f, "remove_extra_whitespaces", &m->remove_extra_ws); break;
		case 5: rc = get_bool(&t, &f, "escape_whitespaces", &m->escape_ws); break;
		}
		if (rc)
			return rc;
	}
	return rc;
}

static void defaults(SpmModel *m)
{
	m->model_type = SPM_UNIGRAM;
	m->split_by_ws = 1;
	m->unk_surface = (SpmStr){ " \xe2\x81\x87 ", 5 };
	m->bos_piece = (SpmStr){ "<s>", 3 };
	m->eos_piece = (SpmStr){ "</s>", 4 };
	m->add_dummy_prefix = 1;
	m->remove_extra_ws = 1;
	m->escape_ws = 1;
}

static int parse(SpmModel *m, const char *name)
{
	unsigned char *buf = m->buf;
	size_t size = m->size;
	if (!m->path)
		return err(ERR_IO, "%s: out of memory", name);
	defaults(m);
	Reader r = { buf, buf + size, buf, m->path, NULL }, scan = r;
	Field f;
	int rc;
	size_t count = 0;
	while (next_field(&scan, &f, &rc))
		count += f.num == 1;
	/* no piece before the first unreadable byte: another kind of file (a
	 * model, even a truncated one, starts with its pieces) */
	if (rc && count == 0)
		return err(ERR_DATA, "%s: not a SentencePiece model (byte %zu: %s)", name, f.at,
			   scan.why);
	if (rc)
		return rc;
	if (count == 0 || count > INT32_MAX)
		return err(ERR_DATA, "%s: no pieces: not a SentencePiece model", name);
	m->pieces_bytes = count * sizeof *m->pieces;
	m->pieces = big_alloc(m->pieces_bytes);
	if (!m->pieces)
		return err(ERR_IO, "%s: out of memory", name);
	while (next_field(&r, &f, &rc)) {
		Reader s = sub(&r, &f);
		if (f.num == 1) {
			if (!(rc = want(&r, &f, 2, "piece")))
				rc = read_piece(&s, &m->pieces[m->n], m->n);
			m->n++;
		} else if (f.num == 2) {
			if (!(rc = want(&r, &f, 2, "trainer_spec")))
				rc = read_trainer(&s, m);
		} else if (f.num == 3) {
			if (!(rc = want(&r, &f, 2, "normalizer_spec")))
				rc = read_normalizer(&s, m);
		}
		if (rc)
			return rc;
	}
	return rc;
}

/* Take over buf (mapped or malloc'd) and parse it; on error all is freed. */
static int take(SpmModel *m, const char *name, unsigned char *buf, size_t size, int mapped)
{
	memset(m, 0, sizeof *m);
	m->buf = buf;
	m->size = size;
	m->mapped = mapped;
	m->path = strdup(name);
	int rc = parse(m, name);
	if (rc)
		spm_model_free(m);
	return rc;
}

int spm_model_parse(SpmModel *m, const char *name, unsigned char *buf, size_t size)
{
	return take(m, name, buf, size, 0);
}

/* The file is mapped, not read: no copy, and MAP_POPULATE maps its pages in
 * one go rather than one fault each. */
int spm_model_load(SpmModel *m, const char *path)
{
	memset(m, 0, sizeof *m);
	struct stat st;
	int fd = readall_open(path, &st);
	if (fd < 0)
		return ERR_IO;
	size_t size = (size_t)st.st_size;
	void *buf = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : NULL;
	close(fd);
	if (buf == MAP_FAILED)
		return err_errno(ERR_IO, "%s: cannot map", path);
	return take(m, path, buf, size, size > 0);
}

void spm_model_free(SpmModel *m)
{
	if (m->mapped)
		munmap(m->buf, m->size);
	else
		free(m->buf);
	big_free(m->pieces, m->pieces_bytes);
	free(m->path);
	memset(m, 0, sizeof *m);
}
