/* stream.h: the token and logit streams between the programs (ernie-streams(5)).
 *
 * A stream is a series of records. Text form: one record per line, decimal
 * ids separated by a space; an empty line is an empty record. Binary form:
 * frames of 4-byte magic ("ETOK" int32 ids, "ELOG" float32 logits, "ETOP"
 * int32 id + float32 logit pairs), a uint32 little-endian count, then the
 * payload. An empty record (count 0) ends a sequence. The reader tells the
 * forms apart by the first bytes of the stream.
 */
#ifndef ERNIE_STREAM_H
#define ERNIE_STREAM_H

#include <stdint.h>
#include <stdio.h>

#define STREAM_MAX_COUNT (1u << 24)     /* values in one record, at most */

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

/* name is used in messages ("<stdin>", a path). The reader never closes f. */
StreamReader *stream_reader_new(FILE *f, const char *name);
void stream_reader_free(StreamReader *r);

/* The whole next record. Errors (ERR_DATA) name the stream and the line
 * (text) or the byte offset of the frame (binary): bad magic, truncated
 * frame, count over STREAM_MAX_COUNT, a non-numeric or out-of-range id.
 * With finite set, NaN or infinite logits are an error too. */
int stream_read(StreamReader *r, Record *rec, int finite);

/* Incremental token reading, for consumers that act on each id as soon as it
 * arrives (streaming detokenisation). *id gets the next id and *kind is
 * REC_TOKENS; at the end of a record *kind is REC_TOKENS with *end set
 * (*empty tells if the record had no ids); at end of input *kind is REC_EOF.
 * Logit frames in a token stream are an error. */
int stream_read_id(StreamReader *r, int32_t *id, int *end, int *empty, RecKind *kind);

/* 1-based line (text) or byte offset (binary) of the last record read. */
const char *stream_where(StreamReader *r, char *buf, size_t size);

typedef struct {
	FILE *f;
	const char *name;       /* for messages ("<stdout>") */
	int binary;             /* token records as ETOK frames */
	int open;               /* a streamed record has ids and no end yet */
} StreamWriter;

/* Refuses (ERR_USAGE) binary output to a terminal unless force is set. */
int stream_writer_init(StreamWriter *w, FILE *f, const char *name, int binary, int force);

/* Whole records, flushed at the end of each. Write errors are ERR_IO. */
int stream_write_tokens(StreamWriter *w, const int32_t *ids, uint32_t n);
int stream_write_logits(StreamWriter *w, const float *vals, uint32_t n);
int stream_write_top(StreamWriter *w, const int32_t *ids, const float *vals, uint32_t n);
/* An empty record (end of sequence) in the writer's form: "\n" or a count-0
 * frame (ELOG when logits is set, else ETOK). */
int stream_write_end(StreamWriter *w, int logits);

/* A token record written one id at a time and flushed after each, so a
 * reader can act on it at once. Text: "id " per id, "\n" to close (readers
 * accept the trailing space). Binary: one ETOK frame of count 1 per id. */
int stream_put_id(StreamWriter *w, int32_t id);
int stream_close_record(StreamWriter *w);

#endif
