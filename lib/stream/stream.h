/* stream.h: the token and logit streams between the programs (ernie-streams(5)),
 * and the buffered reading and writing on file descriptors under them.
 *
 * A stream is a series of records. Text form: one record per line, decimal
 * ids separated by a space; an empty line is an empty record. Binary form:
 * frames of 4-byte magic ("ETOK" int32 ids, "ELOG" float32 logits, "ETOP"
 * int32 id + float32 logit pairs), a uint32 little-endian count, then the
 * payload. An empty record (count 0) ends a sequence. The reader tells the
 * forms apart by the first bytes of the stream.
 *
 * When output is written (the flush policy, here and nowhere else): a writer
 * alone writes each record out as it ends, so a reader downstream can act on
 * it at once. A writer given to an input (stream_input_init,
 * stream_reader_new) keeps its records until that input would wait for more
 * bytes, or its buffer is full: a program that answers each input record
 * makes one write() per burst of input, not one per record, and its answers
 * still go out before it waits for the next question.
 */
#ifndef ERNIE_STREAM_H
#define ERNIE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_MAX_COUNT (1u << 24)     /* values in one record, at most */

/* Bytes move with read(2) and write(2) on the stream's fd, or through
 * these when a program needs more than a plain descriptor (ernie-run's
 * outside sampler: writing a frame must also read replies, and both wait
 * no longer than a deadline). They return what read/write return. */
typedef struct {
	long (*read)(void *arg, void *p, size_t n);
	long (*write)(void *arg, const void *p, size_t n);
	void *arg;
} StreamIo;

/* ---- bytes out ----------------------------------------------------------- */

typedef struct {
	int fd;
	const StreamIo *io;     /* NULL: write(2) on fd */
	const char *name;       /* for messages ("<stdout>") */
	int binary;             /* token records as ETOK frames */
	int open;               /* a streamed record has ids and no end yet */
	int held;               /* given to an input: records wait for it to block */
	char *buf;              /* not yet written: buf[0..len) */
	size_t len, cap;
} StreamWriter;

/* A writer on fd (never closed by it). Text token records unless binary.
 * Whether binary may go to a terminal is the program's decision. */
void stream_writer_init(StreamWriter *w, int fd, const char *name, int binary);
/* Write out what is held, free the buffer; a write error is ERR_IO. */
int stream_writer_close(StreamWriter *w);

/* Bytes that are not token records (decoded text, pieces), then the end of
 * such a record: the point where a writer alone writes out. */
int stream_write_bytes(StreamWriter *w, const void *p, size_t n);
int stream_end_record(StreamWriter *w);
/* Write out everything held now. */
int stream_flush(StreamWriter *w);

/* Whole token and logit records. Write errors are ERR_IO. */
int stream_write_tokens(StreamWriter *w, const int32_t *ids, uint32_t n);
int stream_write_logits(StreamWriter *w, const float *vals, uint32_t n);
int stream_write_top(StreamWriter *w, const int32_t *ids, const float *vals, uint32_t n);
/* An empty record (end of sequence) in the writer's form: "\n" or a count-0
 * frame (ELOG when logits is set, else ETOK). */
int stream_write_end(StreamWriter *w, int logits);

/* A token record written one id at a time, each id a record end of its own
 * (a writer alone writes it out at once), so a reader can act on it. Text:
 * "id " per id, "\n" to close (readers accept the trailing space). Binary:
 * one ETOK frame of count 1 per id. */
int stream_put_id(StreamWriter *w, int32_t id);
int stream_close_record(StreamWriter *w);

/* ---- bytes in ------------------------------------------------------------ */

typedef struct {
	int fd;
	const StreamIo *io;     /* NULL: read(2) on fd */
	const char *name;       /* for messages ("<stdin>", a path) */
	StreamWriter *out;      /* written out before a read that would wait */
	char *buf;              /* unread: buf[pos..len) */
	size_t pos, len, cap;
	uint64_t base;          /* stream offset of buf[0] */
	int eof;
} StreamInput;

/* Read fd (never closed here); out, when not NULL, becomes held (above). */
void stream_input_init(StreamInput *in, int fd, const char *name, StreamWriter *out);
/* Go on with another fd (the next file): unread bytes are kept. */
void stream_input_next_fd(StreamInput *in, int fd, const char *name);
void stream_input_free(StreamInput *in);

/* Read more (at least one byte, or set eof). Read errors are ERR_IO. */
int stream_input_fill(StreamInput *in);
/* The next document up to delim (not included) in *p, *n, or with delim < 0
 * everything up to the end of the fd; the last document needs no delim.
 * *got is 0 at the end. *p is valid until the next call. */
int stream_input_until(StreamInput *in, int delim, const char **p, size_t *n, int *got);
/* Nothing is buffered and nothing has arrived: the next read would wait. */
int stream_input_idle(StreamInput *in);

/* ---- records in ---------------------------------------------------------- */

typedef enum {
	REC_EOF,        /* end of input (ends the sequence too) */
	REC_TOKENS,     /* ids[0..n) */
	REC_LOGITS,     /* vals[0..n), dense: n = vocabulary size */
	REC_TOP,        /* ids[0..n) with vals[0..n) */
} RecKind;

typedef struct {
	RecKind kind;
	uint32_t n;             /* values; 0 = empty record = end of sequence */
	int32_t *ids;           /* owned by the reader, valid until the next read */
	float *vals;            /* owned by the reader, valid until the next read */
} Record;

typedef struct StreamReader StreamReader;

/* A reader on fd (never closed by it), name for messages; out as for
 * stream_input_init. NULL when out of memory. */
StreamReader *stream_reader_new(int fd, const char *name, StreamWriter *out);
void stream_reader_free(StreamReader *r);

/* The whole next record. Errors (ERR_DATA) name the stream and the line
 * (text) or the byte offset of the frame (binary): bad magic, truncated
 * frame, count over STREAM_MAX_COUNT, a non-numeric or out-of-range id.
 * With finite set, NaN or infinite logits are an error too. */
int stream_read(StreamReader *r, Record *rec, int finite);

/* The same records one id at a time, for consumers that act on each id as
 * soon as it arrives (streaming detokenisation): *kind is REC_TOKENS with
 * *id, or REC_TOKENS with *end set at the end of a record (*empty tells if
 * it had no ids), or REC_EOF. A logit frame is an error. */
int stream_read_id(StreamReader *r, int32_t *id, int *end, int *empty, RecKind *kind);

/* The next read would wait (stream_input_idle). */
int stream_reader_idle(StreamReader *r);

/* Text form: the last record read ended at the end of the input, not at
 * its newline: its writer stopped in the middle of it (ernie-run failing
 * mid-answer), so it is not a finished record. */
int stream_reader_unclosed(const StreamReader *r);

/* Move the bytes through io (which must outlive w and r) instead of fd. */
void stream_writer_io(StreamWriter *w, const StreamIo *io);
void stream_reader_io(StreamReader *r, const StreamIo *io);

/* 1-based line (text) or byte offset (binary) of the last record read. */
const char *stream_where(StreamReader *r, char *buf, size_t size);

#endif
