/* stream.c: token and logit streams, text and binary (ernie-streams(5)). */
#include "stream/stream.h"
#include "base/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536     /* values read per step: a lying count costs no memory */

struct StreamReader {
	FILE *f;
	const char *name;
	uint64_t offset;        /* bytes consumed */
	uint64_t line;          /* 1-based line of the text being read */
	uint64_t rec_offset;    /* where the current record started */
	uint64_t rec_line;
	int rec_binary;         /* the current record is a binary frame */
	int32_t *ids;           /* record buffers, cap values each */
	float *vals;
	size_t cap;
	/* incremental reading (stream_read_id) */
	int in_record;          /* inside a record: ids may follow */
	int seen_id;            /* the open record had an id */
	uint32_t frame_left;    /* ETOK ids still to read in this frame */
	int line_ended;         /* the text record's newline has been read */
};

StreamReader *stream_reader_new(FILE *f, const char *name)
{
	StreamReader *r = calloc(1, sizeof *r);
	if (r) {
		r->f = f;
		r->name = name;
		r->line = 1;
	}
	return r;
}

void stream_reader_free(StreamReader *r)
{
	if (!r)
		return;
	free(r->ids);
	free(r->vals);
	free(r);
}

const char *stream_where(StreamReader *r, char *buf, size_t size)
{
	if (r->rec_binary)
		snprintf(buf, size, "frame at byte %" PRIu64, r->rec_offset);
	else
		snprintf(buf, size, "line %" PRIu64, r->rec_line);
	return buf;
}

static int bad(StreamReader *r, const char *fmt, const char *detail)
{
	char where[64];
	char what[160];
	snprintf(what, sizeof what, fmt, detail);
	return err(ERR_DATA, "%s: %s: %s", r->name, stream_where(r, where, sizeof where), what);
}

static int reserve(StreamReader *r, size_t n)
{
	if (n <= r->cap)
		return 0;
	size_t cap = r->cap ? r->cap : 1024;
	while (cap < n)
		cap *= 2;
	int32_t *ids = realloc(r->ids, cap * sizeof *ids);
	if (ids)
		r->ids = ids;
	float *vals = realloc(r->vals, cap * sizeof *vals);
	if (vals)
		r->vals = vals;
	if (!ids || !vals)
		return err(ERR_IO, "%s: out of memory", r->name);
	r->cap = cap;
	return 0;
}

static int getbyte(StreamReader *r)
{
	int c = getc(r->f);
	if (c != EOF)
		r->offset++;
	return c;
}

static int read_error(StreamReader *r)
{
	return err_errno(ERR_IO, "%s: read error", r->name);
}

/* Exactly n bytes, or an error that says the frame was cut short. */
static int read_exact(StreamReader *r, void *buf, size_t n)
{
	size_t got = fread(buf, 1, n, r->f);
	r->offset += got;
	if (got == n)
		return 0;
	if (ferror(r->f))
		return read_error(r);
	return bad(r, "truncated frame%s", "");
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* After the 'E' that starts a frame: the rest of the magic and the count. */
static int read_frame_header(StreamReader *r, RecKind *kind, uint32_t *count)
{
	unsigned char h[7];
	int rc = read_exact(r, h, sizeof h);
	if (rc)
		return rc;
	char magic[8] = { 'E', (char)h[0], (char)h[1], (char)h[2], 0 };
	if (!memcmp(h, "TOK", 3))
		*kind = REC_TOKENS;
	else if (!memcmp(h, "LOG", 3))
		*kind = REC_LOGITS;
	else if (!memcmp(h, "TOP", 3))
		*kind = REC_TOP;
	else {
		for (int i = 1; i < 4; i++)
			if (magic[i] < 0x20 || magic[i] > 0x7e)
				magic[i] = '?';
		return bad(r, "bad magic '%s' (expected ETOK, ELOG or ETOP)", magic);
	}
	*count = le32(h + 3);
	if (*count > STREAM_MAX_COUNT) {
		char n[16];
		snprintf(n, sizeof n, "%" PRIu32, *count);
		return bad(r, "count %s is larger than the limit of 16777216", n);
	}
	return 0;
}

static int check_id(StreamReader *r, int32_t id)
{
	if (id < 0) {
		char s[16];
		snprintf(s, sizeof s, "%" PRId32, id);
		return bad(r, "negative token id %s", s);
	}
	return 0;
}

/* Payload of n values (ids and/or floats), read in chunks. */
static int read_payload(StreamReader *r, RecKind kind, uint32_t n, int finite)
{
	unsigned char buf[CHUNK * 8];
	size_t width = kind == REC_TOP ? 8 : 4;
	for (uint32_t done = 0; done < n;) {
		uint32_t k = n - done < CHUNK ? n - done : CHUNK;
		int rc = reserve(r, (size_t)done + k);
		if (!rc)
			rc = read_exact(r, buf, k * width);
		if (rc)
			return rc;
		for (uint32_t i = 0; i < k; i++) {
			const unsigned char *p = buf + i * width;
			uint32_t u = le32(p);
			if (kind == REC_TOKENS || kind == REC_TOP) {
				r->ids[done + i] = (int32_t)u;
				if ((rc = check_id(r, (int32_t)u)) != 0)
					return rc;
				p += 4;
				u = le32(p);
			}
			if (kind != REC_TOKENS) {
				float v;
				memcpy(&v, &u, 4);
				r->vals[done + i] = v;
				if (finite && !isfinite(v)) {
					char s[48];
					snprintf(s, sizeof s, "value %" PRIu32 " is %s", done + i,
						 isnan(v) ? "NaN" : "infinite");
					return bad(r, "%s", s);
				}
			}
		}
		done += k;
	}
	return 0;
}

/* One decimal id from text; c is its first character. On return *next is
 * the character after it (space, newline or EOF). */
static int read_text_id(StreamReader *r, int c, int32_t *id, int *next)
{
	char tok[32];
	size_t len = 0;
	while (c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
		if (len < sizeof tok - 1)
			tok[len++] = (char)c;
		c = getbyte(r);
	}
	tok[len] = 0;
	*next = c;
	if (c == '\r') {        /* CRLF line ends, from a Windows editor */
		*next = getbyte(r);
		if (*next != '\n')
			return bad(r, "stray carriage return after '%s'", tok);
	}
	int64_t v = 0;
	size_t i = tok[0] == '-' ? 1 : 0;
	if (i == len)
		return bad(r, "'%s' is not a token id", tok);
	for (; i < len; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return bad(r, "'%s' is not a token id", tok);
		if (v <= INT32_MAX)
			v = v * 10 + (tok[i] - '0');
	}
	if (tok[0] == '-')
		return bad(r, "negative token id %s", tok);
	if (v > INT32_MAX || len > 11)
		return bad(r, "token id %s is out of range", tok);
	*id = (int32_t)v;
	return 0;
}

/* Skip spaces and tabs; return the next other character (CRLF as '\n'). */
static int skip_blanks(StreamReader *r)
{
	int c;
	do
		c = getbyte(r);
	while (c == ' ' || c == '\t');
	if (c == '\r') {
		int next = getbyte(r);
		if (next == '\n')
			return next;
		if (next != EOF) {
			ungetc(next, r->f);
			r->offset--;
		}
	}
	return c;
}

static int read_text_record(StreamReader *r, int c, Record *rec)
{
	uint32_t n = 0;
	if (c == ' ' || c == '\t')
		c = skip_blanks(r);
	while (c != '\n' && c != EOF) {
		int32_t id;
		int rc = read_text_id(r, c, &id, &c);
		if (rc)
			return rc;
		if (n == STREAM_MAX_COUNT)
			return bad(r, "more than 16777216 ids in one record%s", "");
		if ((rc = reserve(r, (size_t)n + 1)) != 0)
			return rc;
		r->ids[n++] = id;
		if (c == ' ' || c == '\t')
			c = skip_blanks(r);
	}
	if (c == EOF && ferror(r->f))
		return read_error(r);
	r->line++;
	rec->kind = REC_TOKENS;
	rec->n = n;
	rec->ids = r->ids;
	rec->vals = NULL;
	return 0;
}

/* Start a record: the first byte, and where the record is. */
static int begin_record(StreamReader *r)
{
	r->rec_offset = r->offset;
	r->rec_line = r->line;
	int c = getbyte(r);
	if (c == EOF && ferror(r->f))
		return -2;
	r->rec_binary = c == 'E';
	return c;
}

int stream_read(StreamReader *r, Record *rec, int finite)
{
	memset(rec, 0, sizeof *rec);
	if (r->in_record)
		return err(ERR_DATA, "%s: stream_read inside a record read by id", r->name);
	int c = begin_record(r);
	if (c == -2)
		return read_error(r);
	if (c == EOF) {
		rec->kind = REC_EOF;
		return 0;
	}
	if (c != 'E')
		return read_text_record(r, c, rec);
	uint32_t n;
	int rc = read_frame_header(r, &rec->kind, &n);
	if (!rc)
		rc = read_payload(r, rec->kind, n, finite);
	if (rc)
		return rc;
	rec->n = n;
	rec->ids = rec->kind == REC_LOGITS ? NULL : r->ids;
	rec->vals = rec->kind == REC_TOKENS ? NULL : r->vals;
	return 0;
}

static int end_of_record(StreamReader *r, int *end, int *empty)
{
	*end = 1;
	*empty = !r->seen_id;
	r->in_record = 0;
	return 0;
}

int stream_read_id(StreamReader *r, int32_t *id, int *end, int *empty, RecKind *kind)
{
	*end = *empty = 0;
	*kind = REC_TOKENS;
	if (!r->in_record) {
		int c = begin_record(r);
		if (c == -2)
			return read_error(r);
		if (c == EOF) {
			*kind = REC_EOF;
			return 0;
		}
		r->in_record = 1;
		r->seen_id = 0;
		r->frame_left = 0;
		r->line_ended = 0;
		if (c == 'E') {
			RecKind k;
			int rc = read_frame_header(r, &k, &r->frame_left);
			if (rc)
				return rc;
			if (k != REC_TOKENS)
				return bad(r, "a logit frame where token ids were expected%s", "");
		} else {
			if (c == ' ' || c == '\t')
				c = skip_blanks(r);
			if (c == '\n' || c == EOF) {
				r->line++;
				return end_of_record(r, end, empty);
			}
			ungetc(c, r->f);
			r->offset--;
		}
	}
	if (r->rec_binary) {
		if (r->frame_left == 0)
			return end_of_record(r, end, empty);
		unsigned char b[4];
		int rc = read_exact(r, b, 4);
		if (!rc)
			rc = check_id(r, (int32_t)le32(b));
		if (rc)
			return rc;
		*id = (int32_t)le32(b);
		r->frame_left--;
		r->seen_id = 1;
		return 0;
	}
	if (r->line_ended) {
		r->line++;
		return end_of_record(r, end, empty);
	}
	/* Never look past an id's terminator: the next id may not exist yet. */
	int c = skip_blanks(r), next;
	if (c == '\n' || c == EOF) {
		if (c == EOF && ferror(r->f))
			return read_error(r);
		r->line++;
		return end_of_record(r, end, empty);
	}
	int rc = read_text_id(r, c, id, &next);
	if (rc)
		return rc;
	if (next == EOF && ferror(r->f))
		return read_error(r);
	r->line_ended = next == '\n' || next == EOF;
	r->seen_id = 1;
	return 0;
}

/* ---- writing ---------------------------------------------------------- */

int stream_writer_init(StreamWriter *w, FILE *f, const char *name, int binary, int force)
{
	memset(w, 0, sizeof *w);
	w->f = f;
	w->name = name;
	w->binary = binary;
	if (binary && !force && isatty(fileno(f)))
		return err(ERR_USAGE, "%s is a terminal: refusing to write binary frames (use -f to force)", name);
	return 0;
}

static int write_error(StreamWriter *w)
{
	return err_errno(ERR_IO, "%s: write error", w->name);
}

static int flush(StreamWriter *w)
{
	if (fflush(w->f) != 0 || ferror(w->f))
		return write_error(w);
	return 0;
}

static int write_header(StreamWriter *w, const char *magic, uint32_t n)
{
	unsigned char h[8];
	memcpy(h, magic, 4);
	put_le32(h + 4, n);
	return fwrite(h, 1, 8, w->f) == 8 ? 0 : write_error(w);
}

/* n values of 4 bytes each from a and (optionally) b, interleaved. */
static int write_values(StreamWriter *w, const void *a, const void *b, uint32_t n)
{
	unsigned char buf[4096 * 8];
	size_t width = b ? 8 : 4, k = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, (const char *)a + 4 * (size_t)i, 4);
		put_le32(buf + k, u);
		k += 4;
		if (b) {
			memcpy(&u, (const char *)b + 4 * (size_t)i, 4);
			put_le32(buf + k, u);
			k += 4;
		}
		if (k + width > sizeof buf || i + 1 == n) {
			if (fwrite(buf, 1, k, w->f) != k)
				return write_error(w);
			k = 0;
		}
	}
	return 0;
}

int stream_write_tokens(StreamWriter *w, const int32_t *ids, uint32_t n)
{
	if (w->binary) {
		int rc = write_header(w, "ETOK", n);
		if (!rc)
			rc = write_values(w, ids, NULL, n);
		return rc ? rc : flush(w);
	}
	for (uint32_t i = 0; i < n; i++)
		if (fprintf(w->f, i ? " %" PRId32 : "%" PRId32, ids[i]) < 0)
			return write_error(w);
	if (putc('\n', w->f) == EOF)
		return write_error(w);
	return flush(w);
}

int stream_write_logits(StreamWriter *w, const float *vals, uint32_t n)
{
	int rc = write_header(w, "ELOG", n);
	if (!rc)
		rc = write_values(w, vals, NULL, n);
	return rc ? rc : flush(w);
}

int stream_write_top(StreamWriter *w, const int32_t *ids, const float *vals, uint32_t n)
{
	int rc = write_header(w, "ETOP", n);
	if (!rc)
		rc = write_values(w, ids, vals, n);
	return rc ? rc : flush(w);
}

int stream_write_end(StreamWriter *w, int logits)
{
	int rc;
	if (logits || w->binary)
		rc = write_header(w, logits ? "ELOG" : "ETOK", 0);
	else
		rc = putc('\n', w->f) == EOF ? write_error(w) : 0;
	return rc ? rc : flush(w);
}

int stream_put_id(StreamWriter *w, int32_t id)
{
	w->open = 1;
	if (w->binary)
		return stream_write_tokens(w, &id, 1);
	if (fprintf(w->f, "%" PRId32 " ", id) < 0)
		return write_error(w);
	return flush(w);
}

int stream_close_record(StreamWriter *w)
{
	int was_open = w->open;
	w->open = 0;
	if (w->binary || !was_open)
		return 0;
	if (putc('\n', w->f) == EOF)
		return write_error(w);
	return flush(w);
}
