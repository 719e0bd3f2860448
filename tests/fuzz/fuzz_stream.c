/* libFuzzer target: the token and logit stream reader (lib/stream/stream.c).
 * Whole records and id-by-id reading run on the same bytes and must agree:
 * they are one parser. The input splitter must give the bytes back. */
#include "stream/stream.h"
#include "fuzzfile.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>

#define CAP 65536
#define END (-1)        /* marks the end of a record in the id lists */

static int open_input(void)
{
	int fd = open(fuzz_path("stream"), O_RDONLY);
	if (fd < 0)
		abort();
	return fd;
}

/* The ids stream_read gives, END after each record, up to an error (*failed)
 * or a logit frame (*logits). */
static size_t by_record(int32_t *out, int *failed, int *logits)
{
	int fd = open_input();
	StreamReader *r = stream_reader_new(fd, "fuzz", NULL);
	size_t n = 0;
	*failed = *logits = 0;
	for (;;) {
		Record rec;
		if (stream_read(r, &rec, 1)) {
			*failed = 1;
			break;
		}
		if (rec.kind == REC_EOF)
			break;
		if (rec.kind != REC_TOKENS) {
			*logits = 1;
			break;
		}
		for (uint32_t i = 0; i < rec.n && n < CAP; i++)
			out[n++] = rec.ids[i];
		if (n < CAP)
			out[n++] = END;
	}
	stream_reader_free(r);
	close(fd);
	return n;
}

/* The same from stream_read_id. */
static size_t by_id(int32_t *out, int *failed)
{
	int fd = open_input();
	StreamReader *r = stream_reader_new(fd, "fuzz", NULL);
	size_t n = 0;
	*failed = 0;
	for (;;) {
		int32_t id;
		int end, empty;
		RecKind kind;
		if (stream_read_id(r, &id, &end, &empty, &kind)) {
			*failed = 1;
			break;
		}
		if (kind == REC_EOF)
			break;
		if (n < CAP)
			out[n++] = end ? END : id;
	}
	stream_reader_free(r);
	close(fd);
	return n;
}

/* Documents cut at data[0] put back together are the data. */
static void split(const uint8_t *data, size_t size)
{
	int fd = open_input(), got = 1;
	StreamInput in;
	stream_input_init(&in, fd, "fuzz", NULL);
	size_t at = 0;
	const char *p;
	size_t n;
	while (!stream_input_until(&in, data[0], &p, &n, &got) && got) {
		if (at + n > size || memcmp(p, data + at, n))
			abort();
		at += n;
		if (at < size && data[at] == data[0])
			at++;
	}
	if (at != size)
		abort();
	stream_input_free(&in);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int32_t a[CAP], b[CAP];
	if (size == 0)
		return 0;
	fuzz_write("stream", data, size);
	int failed_a, logits, failed_b;
	size_t na = by_record(a, &failed_a, &logits);
	size_t nb = by_id(b, &failed_b);
	/* what stream_read returned, stream_read_id returned first; an error in
	 * one is an error in the other (a logit frame is one for stream_read_id) */
	if (na > nb || memcmp(a, b, na * sizeof *a))
		abort();
	if (na < CAP && nb < CAP && failed_b != (failed_a || logits))
		abort();
	if (!failed_a && !logits && na < CAP && na != nb)
		abort();
	split(data, size);
	return 0;
}
