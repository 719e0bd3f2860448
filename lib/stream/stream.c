/* stream.c: buffered reading and writing on file descriptors, and the token
 * and logit streams on top of them, text and binary (ernie-streams(5)). */
#include "stream/stream.h"
#include "base/err.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IO_CHUNK 65536          /* bytes per read(), and a writer's buffer */

/* ---- bytes out ----------------------------------------------------------- */

void stream_writer_init(StreamWriter *w, int fd, const char *name, int binary)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->name = name;
	w->binary = binary;
}

static int write_error(StreamWriter *w)
{
	return err_errno(ERR_IO, "%s: write error", w->name);
}

static int write_all(StreamWriter *w, const char *p, size_t n)
{
	while (n) {
		ssize_t k = w->io ? w->io->write(w->io->arg, p, n) : write(w->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return write_error(w);
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int stream_flush(StreamWriter *w)
{
	int rc = write_all(w, w->buf, w->len);
	w->len = 0;
	return rc;
}

int stream_writer_close(StreamWriter *w)
{
	int rc = stream_flush(w);
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
	return rc;
}

/* Room for n more bytes in the buffer (n <= IO_CHUNK), writing out if full. */
static int room(StreamWriter *w, size_t n)
{
	if (!w->buf) {
		if (!(w->buf = malloc(IO_CHUNK)))
			return err(ERR_IO, "%s: out of memory", w->name);
		w->cap = IO_CHUNK;
	}
	return w->len + n > w->cap ? stream_flush(w) : 0;
}

int stream_write_bytes(StreamWriter *w, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		int rc = room(w, 1);
		if (rc)
			return rc;
		size_t k = w->cap - w->len < n ? w->cap - w->len : n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
	return 0;
}

int stream_end_record(StreamWriter *w)
{
	return w->held ? 0 : stream_flush(w);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static int write_header(StreamWriter *w, const char *magic, uint32_t n)
{
	int rc = room(w, 8);
	if (rc)
		return rc;
	unsigned char *h = (unsigned char *)w->buf + w->len;
	memcpy(h, magic, 4);
	put_le32(h + 4, n);
	w->len += 8;
	return 0;
}

/* n values of 4 bytes each from a and (optionally) b, interleaved, then the
 * end of the record. */
static int write_values(StreamWriter *w, const void *a, const void *b, uint32_t n)
{
	size_t width = b ? 8 : 4;
	for (uint32_t i = 0; i < n; i++) {
		int rc = room(w, width);
		if (rc)
			return rc;
		unsigned char *p = (unsigned char *)w->buf + w->len;
		uint32_t u;
		memcpy(&u, (const char *)a + 4 * (size_t)i, 4);
		put_le32(p, u);
		if (b) {
			memcpy(&u, (const char *)b + 4 * (size_t)i, 4);
			put_le32(p + 4, u);
		}
		w->len += width;
	}
	return stream_end_record(w);
}

/* id in decimal, then sep (if not 0). */
static int put_decimal(StreamWriter *w, int32_t id, char sep)
{
	char s[16];
	size_t k = sizeof s;
	uint32_t v = id < 0 ? 0u - (uint32_t)id : (uint32_t)id;
	if (sep)
		s[--k] = sep;
	do
		s[--k] = (char)('0' + v % 10);
	while (v /= 10);
	if (id < 0)
		s[--k] = '-';
	int rc = room(w, sizeof s - k);
	if (!rc) {
		memcpy(w->buf + w->len, s + k, sizeof s - k);
		w->len += sizeof s - k;
	}
	return rc;
}

int stream_write_tokens(StreamWriter *w, const int32_t *ids, uint32_t n)
{
	if (w->binary) {
		int rc = write_header(w, "ETOK", n);
		return rc ? rc : write_values(w, ids, NULL, n);
	}
	for (uint32_t i = 0; i < n; i++) {
		int rc = put_decimal(w, ids[i], i + 1 < n ? ' ' : '\n');
		if (rc)
			return rc;
	}
	int rc = n ? 0 : stream_write_bytes(w, "\n", 1);
	return rc ? rc : stream_end_record(w);
}

int stream_write_logits(StreamWriter *w, const float *vals, uint32_t n)
{
	int rc = write_header(w, "ELOG", n);
	return rc ? rc : write_values(w, vals, NULL, n);
}

int stream_write_top(StreamWriter *w, const int32_t *ids, const float *vals, uint32_t n)
{
	int rc = write_header(w, "ETOP", n);
	return rc ? rc : write_values(w, ids, vals, n);
}

int stream_write_end(StreamWriter *w, int logits)
{
	if (logits || w->binary) {
		int rc = write_header(w, logits ? "ELOG" : "ETOK", 0);
		return rc ? rc : stream_end_record(w);
	}
	return stream_write_tokens(w, NULL, 0);
}

int stream_put_id(StreamWriter *w, int32_t id)
{
	w->open = 1;
	if (w->binary)
		return stream_write_tokens(w, &id, 1);
	int rc = put_decimal(w, id, ' ');
	return rc ? rc : stream_end_record(w);
}

int stream_close_record(StreamWriter *w)
{
	int was_open = w->open;
	w->open = 0;
	if (w->binary || !was_open)
		return 0;
	int rc = stream_write_bytes(w, "\n", 1);
	return rc ? rc : stream_end_record(w);
}

/* ---- bytes in ------------------------------------------------------------ */

void stream_input_init(StreamInput *in, int fd, const char *name, StreamWriter *out)
{
	memset(in, 0, sizeof *in);
	in->fd = fd;
	in->name = name;
	in->out = out;
	if (out)
		out->held = 1;
}

void stream_input_next_fd(StreamInput *in, int fd, const char *name)
{
	in->fd = fd;
	in->name = name;
	in->eof = 0;
}

void stream_input_free(StreamInput *in)
{
	free(in->buf);
	in->buf = NULL;
	in->pos = in->len = in->cap = 0;
}

int stream_input_idle(StreamInput *in)
{
	if (in->pos < in->len || in->eof)
		return 0;
	struct pollfd p = { .fd = in->fd, .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}

int stream_input_fill(StreamInput *in)
{
	/* the flush policy: what is held goes out before we wait */
	if (in->out && in->out->len && stream_input_idle(in)) {
		int rc = stream_flush(in->out);
		if (rc)
			return rc;
	}
	if (in->pos) {          /* keep only the unread bytes */
		memmove(in->buf, in->buf + in->pos, in->len - in->pos);
		in->len -= in->pos;
		in->base += in->pos;
		in->pos = 0;
	}
	if (in->cap - in->len < IO_CHUNK) {
		size_t cap = in->cap ? in->cap : IO_CHUNK;
		while (cap - in->len < IO_CHUNK)
			cap *= 2;
		char *buf = realloc(in->buf, cap);
		if (!buf)
			return err(ERR_IO, "%s: out of memory", in->name);
		in->buf = buf;
		in->cap = cap;
	}
	ssize_t k;
	do
		k = in->io ? in->io->read(in->io->arg, in->buf + in->len, in->cap - in->len)
			   : read(in->fd, in->buf + in->len, in->cap - in->len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return err_errno(ERR_IO, "%s: read error", in->name);
	in->len += (size_t)k;
	in->eof = k == 0;
	return 0;
}

int stream_input_until(StreamInput *in, int delim, const char **p, size_t *n, int *got)
{
	size_t scanned = 0;
	for (;;) {
		size_t avail = in->len - in->pos;
		const char *start = avail ? in->buf + in->pos : NULL, *end = NULL;
		if (delim >= 0 && avail > scanned)
			end = memchr(start + scanned, delim, avail - scanned);
		if (end || (in->eof && avail)) {
			*p = start;
			*n = end ? (size_t)(end - start) : avail;
			in->pos += *n + (end != NULL);
			*got = 1;
			return 0;
		}
		if (in->eof) {
			*got = 0;
			return 0;
		}
		scanned = avail;
		int rc = stream_input_fill(in);
		if (rc)
			return rc;
	}
}

/* ---- records in ---------------------------------------------------------- */

struct StreamReader {
	StreamInput in;
	int ioerr;              /* a read failed: EOF from getbyte means that */
	uint64_t line;          /* 1-based line of the text being read */
	uint64_t rec_offset;    /* where the current record started */
	uint64_t rec_line;
	int rec_binary;         /* the current record is a binary frame */
	int32_t *ids;           /* record buffers, cap values each */
	float *vals;
	size_t cap;
	/* the record being read */
	int open;               /* begun and not ended */
	RecKind kind;
	uint32_t left;          /* binary: values still to read */
	int text_end;           /* text: the newline after the last id was read */
	int text_term;          /* text: what ended the last id ('\n' or EOF) */
	int unclosed;           /* text: the last record ended at the end of
				 * input, without its newline */
	uint32_t n;             /* values read so far */
};

StreamReader *stream_reader_new(int fd, const char *name, StreamWriter *out)
{
	StreamReader *r = calloc(1, sizeof *r);
	if (r) {
		stream_input_init(&r->in, fd, name, out);
		r->line = 1;
	}
	return r;
}

void stream_reader_free(StreamReader *r)
{
	if (!r)
		return;
	stream_input_free(&r->in);
	free(r->ids);
	free(r->vals);
	free(r);
}

int stream_reader_unclosed(const StreamReader *r)
{
	return r->unclosed;
}

void stream_writer_io(StreamWriter *w, const StreamIo *io)
{
	w->io = io;
}

void stream_reader_io(StreamReader *r, const StreamIo *io)
{
	r->in.io = io;
}

int stream_reader_idle(StreamReader *r)
{
	return stream_input_idle(&r->in);
}

const char *stream_where(StreamReader *r, char *buf, size_t size)
{
	if (r->rec_binary)
		snprintf(buf, size, "frame at byte %" PRIu64, r->rec_offset);
	else
		snprintf(buf, size, "line %" PRIu64, r->rec_line);
	return buf;
}

static int bad(StreamReader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(StreamReader *r, const char *fmt, ...)
{
	char where[64], what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return err(ERR_DATA, "%s: %s: %s", r->in.name, stream_where(r, where, sizeof where), what);
}

static int getbyte(StreamReader *r)
{
	StreamInput *in = &r->in;
	if (in->pos == in->len) {
		if (in->eof)
			return EOF;
		int rc = stream_input_fill(in);
		if (rc) {
			r->ioerr = rc;
			return EOF;
		}
		if (in->eof)
			return EOF;
	}
	return (unsigned char)in->buf[in->pos++];
}

/* Put back the byte getbyte just returned (it is still in the buffer). */
static void ungetbyte(StreamReader *r)
{
	r->in.pos--;
}

static uint64_t offset(StreamReader *r)
{
	return r->in.base + r->in.pos;
}

/* Exactly n bytes, or an error that says the frame was cut short. */
static int take(StreamReader *r, unsigned char *p, size_t n)
{
	StreamInput *in = &r->in;
	if (in->len - in->pos >= n) {   /* the common case: all there */
		memcpy(p, in->buf + in->pos, n);
		in->pos += n;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		int c = getbyte(r);
		if (c == EOF)
			return r->ioerr ? r->ioerr : bad(r, "truncated frame");
		p[i] = (unsigned char)c;
	}
	return 0;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
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
		return err(ERR_IO, "%s: out of memory", r->in.name);
	r->cap = cap;
	return 0;
}

/* After the 'E' that starts a frame: the rest of the magic and the count. */
static int read_frame_header(StreamReader *r)
{
	unsigned char h[7];
	int rc = take(r, h, sizeof h);
	if (rc)
		return rc;
	if (!memcmp(h, "TOK", 3))
		r->kind = REC_TOKENS;
	else if (!memcmp(h, "LOG", 3))
		r->kind = REC_LOGITS;
	else if (!memcmp(h, "TOP", 3))
		r->kind = REC_TOP;
	else {
		char magic[5] = { 'E', (char)h[0], (char)h[1], (char)h[2], 0 };
		for (int i = 1; i < 4; i++)
			if (magic[i] < 0x20 || magic[i] > 0x7e)
				magic[i] = '?';
		return bad(r, "bad magic '%s' (expected ETOK, ELOG or ETOP)", magic);
	}
	r->left = le32(h + 3);
	if (r->left > STREAM_MAX_COUNT)
		return bad(r, "count %" PRIu32 " is larger than the limit of %u", r->left,
		           STREAM_MAX_COUNT);
	return 0;
}

/* A token as the user wrote it, in quotes, control bytes escaped ("5\\f6"),
 * "..." after it when it was cut, for messages. */
static const char *quote(char *out, size_t size, const char *s, size_t len, int cut)
{
	size_t k = 0;
	out[k++] = '\'';
	for (size_t i = 0; i < len && k + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		switch (c) {
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\v': esc = "\\v"; break;
		case '\\': esc = "\\\\"; break;
		}
		if (esc)
			k += (size_t)snprintf(out + k, size - k, "%s", esc);
		else if (c < 0x20 || c == 0x7f)
			k += (size_t)snprintf(out + k, size - k, "\\x%02x", c);
		else
			out[k++] = (char)c;
	}
	snprintf(out + k, size - k, "%s'", cut ? "..." : "");
	return out;
}

#define ID_ECHO 40      /* bytes of a bad id echoed in a message */

/* One decimal id from text; c is its first byte. Any number of leading
 * zeros; the value must fit an int32 (ernie-streams(5)). On return *next is
 * the byte after it: a blank, '\n' (also for CRLF) or EOF. */
static int read_text_id(StreamReader *r, int c, int32_t *id, int *next)
{
	char tok[ID_ECHO], q[ID_ECHO * 4 + 8];
	size_t len = 0, total = 0;
	int digits = 0, other = 0, neg = c == '-';
	uint64_t v = 0;
	for (; c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r'; c = getbyte(r), total++) {
		if (len < sizeof tok)
			tok[len++] = (char)c;
		if (c >= '0' && c <= '9') {
			digits = 1;
			if (v <= INT32_MAX)
				v = v * 10 + (uint64_t)(c - '0');
		} else if (total || !neg) {
			other = 1;
		}
	}
	if (c == EOF && r->ioerr)
		return r->ioerr;
	int stray = 0;          /* a '\r' not before '\n' */
	if (c == '\r' && (c = getbyte(r)) != '\n') {
		if (r->ioerr)
			return r->ioerr;
		stray = 1;
	}
	const char *why = stray ? "stray carriage return after %s"
	                : other || !digits ? "%s is not a token id"
	                : neg ? "negative token id %s"
	                : v > INT32_MAX ? "token id %s is out of range (at most 2147483647)"
	                : NULL;
	if (why)        /* quoted only now: it costs */
		return bad(r, why, quote(q, sizeof q, tok, len, total > len));
	*next = c;
	*id = (int32_t)v;
	return 0;
}

/* Skip spaces and tabs; return the next other byte (CRLF as '\n'). */
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
		if (next != EOF)
			ungetbyte(r);   /* read_text_id says what is wrong */
	}
	return c;
}

enum { GOT_VALUE, GOT_END, GOT_EOF };

/* Begin a record: its first byte tells the form. */
static int begin(StreamReader *r, int *got)
{
	r->rec_offset = offset(r);
	r->rec_line = r->line;
	int c = getbyte(r);
	if (c == EOF) {
		*got = GOT_EOF;
		return r->ioerr ? r->ioerr : 0;
	}
	r->open = 1;
	r->n = 0;
	r->text_end = 0;
	r->rec_binary = c == 'E';
	if (r->rec_binary)
		return read_frame_header(r);
	r->kind = REC_TOKENS;
	ungetbyte(r);
	return 0;
}

static void end(StreamReader *r, int *got)
{
	if (!r->rec_binary)
		r->line++;
	r->open = 0;
	*got = GOT_END;
}

/* The parser: the next value of the record being read (beginning one if
 * need be) into ids[slot], vals[slot]; or its end; or the end of input.
 * Never looks past an id's terminator: the next id may not exist yet. */
static int next_value(StreamReader *r, int finite, size_t slot, int *got)
{
	int rc;
	*got = GOT_VALUE;
	if (!r->open && ((rc = begin(r, got)) || *got == GOT_EOF))
		return rc;
	if ((rc = reserve(r, slot + 1)))
		return rc;
	if (r->rec_binary) {
		if (!r->left) {
			end(r, got);
			return 0;
		}
		unsigned char b[8];
		if ((rc = take(r, b, r->kind == REC_TOP ? 8 : 4)))
			return rc;
		const unsigned char *p = b;
		if (r->kind != REC_LOGITS) {
			r->ids[slot] = (int32_t)le32(p);
			if (r->ids[slot] < 0)
				return bad(r, "negative token id %" PRId32, r->ids[slot]);
			p += 4;
		}
		if (r->kind != REC_TOKENS) {
			uint32_t u = le32(p);
			memcpy(&r->vals[slot], &u, 4);
			if (finite && !isfinite(r->vals[slot]))
				return bad(r, "value %" PRIu32 " is %s", r->n,
				           isnan(r->vals[slot]) ? "NaN" : "infinite");
		}
		r->left--;
		r->n++;
		return 0;
	}
	int c = r->text_end ? r->text_term : skip_blanks(r);
	if (c == '\n' || c == EOF) {
		if (c == EOF && r->ioerr)
			return r->ioerr;
		r->unclosed = c == EOF && r->n > 0;
		end(r, got);
		return 0;
	}
	if (r->n == STREAM_MAX_COUNT)
		return bad(r, "more than %u ids in one record", STREAM_MAX_COUNT);
	if ((rc = read_text_id(r, c, &r->ids[slot], &c)))
		return rc;
	r->text_end = c == '\n' || c == EOF;
	r->text_term = c;
	r->n++;
	return 0;
}

int stream_read(StreamReader *r, Record *rec, int finite)
{
	memset(rec, 0, sizeof *rec);
	if (r->open)
		return err(ERR_DATA, "%s: stream_read inside a record read by id", r->in.name);
	int got, rc;
	uint32_t n = 0;
	while (!(rc = next_value(r, finite, n, &got)) && got == GOT_VALUE)
		n++;
	if (rc || got == GOT_EOF)
		return rc;
	rec->kind = r->kind;
	rec->n = n;
	rec->ids = r->kind == REC_LOGITS ? NULL : r->ids;
	rec->vals = r->kind == REC_TOKENS ? NULL : r->vals;
	return 0;
}

int stream_read_id(StreamReader *r, int32_t *id, int *end_, int *empty, RecKind *kind)
{
	int got, rc = next_value(r, 0, 0, &got);
	*end_ = got == GOT_END;
	*empty = *end_ && r->n == 0;
	*kind = got == GOT_EOF ? REC_EOF : REC_TOKENS;
	if (!rc && r->kind != REC_TOKENS && got != GOT_EOF)
		rc = bad(r, "a logit frame where token ids were expected");
	if (!rc && got == GOT_VALUE)
		*id = r->ids[0];
	return rc;
}
