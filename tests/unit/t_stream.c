#include "test.h"
#include "base/err.h"
#include "stream/stream.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* A reader over the bytes of buf (in a temporary file f). */
static StreamReader *reader(const void *buf, size_t len, FILE **f)
{
	*f = tmpfile();
	if (!*f || fwrite(buf, 1, len, *f) != len || fflush(*f))
		abort();
	rewind(*f);
	return stream_reader_new(fileno(*f), "s", NULL);
}

/* A writer on a temporary file, and what was written to it (once closed). */
static FILE *writer(StreamWriter *w, int binary)
{
	FILE *f = tmpfile();
	if (!f)
		abort();
	stream_writer_init(w, fileno(f), "o", binary);
	return f;
}

static long written(StreamWriter *w, FILE *f, char *buf, size_t size)
{
	CHECK_EQ_INT(stream_writer_close(w), 0);
	ssize_t n = pread(fileno(f), buf, size, 0);
	fclose(f);
	return n;
}

static size_t frame(unsigned char *p, const char *magic, uint32_t n, const void *payload, size_t width)
{
	memcpy(p, magic, 4);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (unsigned char)(n >> (8 * i));
	memcpy(p + 8, payload, n * width);
	return 8 + n * width;
}

TEST(stream_text_round_trip_with_empty_records)
{
	char buf[256];
	StreamWriter w;
	int32_t a[] = { 1, 22, 333 }, b[] = { 2147483647 };
	FILE *out = writer(&w, 0);
	CHECK_EQ_INT(stream_write_tokens(&w, a, 3), 0);
	CHECK_EQ_INT(stream_write_end(&w, 0), 0);
	CHECK_EQ_INT(stream_write_end(&w, 0), 0);
	CHECK_EQ_INT(stream_write_tokens(&w, b, 1), 0);
	long len = written(&w, out, buf, sizeof buf);
	CHECK_EQ_INT(len, 22);
	CHECK(!memcmp(buf, "1 22 333\n\n\n2147483647\n", 22));

	FILE *f;
	StreamReader *r = reader(buf, (size_t)len, &f);
	Record rec;
	CHECK_EQ_INT(stream_read(r, &rec, 1), 0);
	CHECK(rec.kind == REC_TOKENS && rec.n == 3 && rec.ids[2] == 333);
	CHECK_EQ_INT(stream_read(r, &rec, 1), 0);
	CHECK(rec.kind == REC_TOKENS && rec.n == 0);
	CHECK_EQ_INT(stream_read(r, &rec, 1), 0);
	CHECK(rec.kind == REC_TOKENS && rec.n == 0);
	CHECK_EQ_INT(stream_read(r, &rec, 1), 0);
	CHECK(rec.n == 1 && rec.ids[0] == 2147483647);
	CHECK_EQ_INT(stream_read(r, &rec, 1), 0);
	CHECK(rec.kind == REC_EOF);
	stream_reader_free(r);
	fclose(f);
}

TEST(stream_binary_round_trip_all_frames)
{
	char buf[512];
	StreamWriter w;
	int32_t ids[] = { 5, 0, 103423 };
	float vals[] = { 1.5f, -INFINITY, 3.25f };
	FILE *out = writer(&w, 1);
	CHECK_EQ_INT(stream_write_tokens(&w, ids, 3), 0);
	CHECK_EQ_INT(stream_write_end(&w, 0), 0);
	CHECK_EQ_INT(stream_write_logits(&w, vals, 3), 0);
	CHECK_EQ_INT(stream_write_top(&w, ids, vals, 2), 0);
	CHECK_EQ_INT(stream_write_end(&w, 1), 0);
	long len = written(&w, out, buf, sizeof buf);
	CHECK_EQ_INT(len, 20 + 8 + 20 + 24 + 8);
	CHECK(!memcmp(buf, "ETOK\3\0\0\0\5\0\0\0", 12));

	FILE *f;
	StreamReader *r = reader(buf, (size_t)len, &f);
	Record rec;
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.kind == REC_TOKENS && rec.n == 3 && rec.ids[2] == 103423);
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.kind == REC_TOKENS && rec.n == 0);
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.kind == REC_LOGITS && rec.n == 3 && rec.vals[0] == 1.5f && isinf(rec.vals[1]));
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.kind == REC_TOP && rec.n == 2 && rec.ids[1] == 0 && rec.vals[1] < 0);
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.kind == REC_LOGITS && rec.n == 0);
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.kind == REC_EOF);
	stream_reader_free(r);
	fclose(f);
}

TEST(stream_streamed_record_reads_id_by_id)
{
	const char *text = "7 8 \n\n9\n";   /* as stream_put_id writes it */
	FILE *f;
	StreamReader *r = reader(text, strlen(text), &f);
	int32_t id = -1;
	int end, empty;
	RecKind k;
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
	CHECK(k == REC_TOKENS && !end && id == 7);
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
	CHECK(!end && id == 8);
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
	CHECK(end && !empty);
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
	CHECK(end && empty);
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
	CHECK(!end && id == 9);
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
	CHECK(end && !empty);
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
	CHECK(k == REC_EOF);
	stream_reader_free(r);
	fclose(f);
}

TEST(stream_put_id_binary_and_text)
{
	char buf[128];
	StreamWriter w;
	FILE *out = writer(&w, 0);
	CHECK_EQ_INT(stream_put_id(&w, 4), 0);
	CHECK_EQ_INT(stream_put_id(&w, 5), 0);
	CHECK_EQ_INT(stream_close_record(&w), 0);
	CHECK_EQ_INT(stream_write_end(&w, 0), 0);
	long len = written(&w, out, buf, sizeof buf);
	CHECK_EQ_INT(len, 6);
	CHECK(!memcmp(buf, "4 5 \n\n", 6));
}

TEST(stream_mixed_binary_and_text_ids)
{
	unsigned char buf[64];
	int32_t ids[] = { 3, 4 };
	size_t n = frame(buf, "ETOK", 2, ids, 4);
	memcpy(buf + n, "10\n", 3);
	FILE *f;
	StreamReader *r = reader(buf, n + 3, &f);
	int32_t id;
	int end, empty;
	RecKind k;
	int got[4], ng = 0;
	for (int i = 0; i < 8; i++) {
		CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), 0);
		if (k == REC_EOF)
			break;
		if (!end && ng < 4)
			got[ng++] = id;
	}
	CHECK_EQ_INT(ng, 3);
	CHECK(got[0] == 3 && got[1] == 4 && got[2] == 10);
	stream_reader_free(r);
	fclose(f);
}

/* The first read of buf fails with ERR_DATA and a message containing want. */
static void expect_bad(const void *buf, size_t len, int finite, const char *want)
{
	FILE *f;
	StreamReader *r = reader(buf, len, &f);
	Record rec;
	int rc = 0;
	for (int i = 0; i < 4 && !rc; i++) {
		rc = stream_read(r, &rec, finite);
		if (!rc && rec.kind == REC_EOF)
			break;
	}
	CHECK_EQ_INT(rc, ERR_DATA);
	if (!strstr(err_msg(), want)) {
		printf("  message [%s] lacks [%s]\n", err_msg(), want);
		test_failed = 1;
	}
	stream_reader_free(r);
	fclose(f);
}

TEST(stream_rejects_malformed_input)
{
	expect_bad("1 2\n3 x4\n", 9, 0, "s: line 2: 'x4' is not a token id");
	expect_bad("1 -2\n", 5, 0, "s: line 1: negative token id '-2'");
	expect_bad("99999999999\n", 12, 0, "line 1: token id '99999999999' is out of range");
	expect_bad("0000000000000000000000000002147483648\n", 38, 0,
	           "'0000000000000000000000000002147483648' is out of range");
	expect_bad("1 5\f6\n", 7, 0, "line 1: '5\\f6' is not a token id");
	expect_bad("1 5\0016\x7f\n", 7, 0, "'5\\x016\\x7f' is not a token id");
	expect_bad("1 0123456789012345678901234567890123456789x\n", 44, 0,
	           "'0123456789012345678901234567890123456789...' is not a token id");
	expect_bad("2147483648\n", 11, 0, "out of range");
	expect_bad("1\r2\n", 4, 0, "stray carriage return");
	expect_bad("EXYZ\0\0\0\0", 8, 0, "s: frame at byte 0: bad magic 'EXYZ'");
	expect_bad("ETOK\1\0\0\0\1\0", 10, 0, "frame at byte 0: truncated frame");
	expect_bad("ETO", 3, 0, "truncated frame");
	expect_bad("ETOK\0\0\0\0ELOG\0\0\0\2", 16, 0, "frame at byte 8: count 33554432 is larger");
	expect_bad("ETOK\1\0\0\0\xff\xff\xff\xff", 12, 0, "negative token id -1");

	unsigned char buf[64];
	float v[2] = { 1, NAN };
	size_t n = frame(buf, "ELOG", 2, v, 4);
	expect_bad(buf, n, 1, "frame at byte 0: value 1 is NaN");
	v[1] = INFINITY;
	n = frame(buf, "ELOG", 2, v, 4);
	expect_bad(buf, n, 1, "value 1 is infinite");
	FILE *f;
	StreamReader *r = reader(buf, n, &f);
	Record rec;
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);        /* infinities allowed unless asked */
	stream_reader_free(r);
	fclose(f);
}

TEST(stream_huge_count_costs_no_memory)
{
	/* A frame that claims 2^24 logits but holds 8 bytes: fails as truncated
	 * after reading what is there, without reserving 64 MiB up front. */
	unsigned char buf[16] = { 'E', 'L', 'O', 'G', 0, 0, 0, 1 };
	expect_bad(buf, sizeof buf, 0, "truncated frame");
}

TEST(stream_text_crlf_and_trailing_space)
{
	const char *text = "1 2 \r\n3\n";
	FILE *f;
	StreamReader *r = reader(text, strlen(text), &f);
	Record rec;
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.n == 2 && rec.ids[1] == 2);
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.n == 1 && rec.ids[0] == 3);
	stream_reader_free(r);
	fclose(f);
}

TEST(stream_logit_frame_in_token_stream)
{
	unsigned char buf[32];
	float v[1] = { 1 };
	size_t n = frame(buf, "ELOG", 1, v, 4);
	FILE *f;
	StreamReader *r = reader(buf, n, &f);
	int32_t id;
	int end, empty;
	RecKind k;
	CHECK_EQ_INT(stream_read_id(r, &id, &end, &empty, &k), ERR_DATA);
	CHECK(strstr(err_msg(), "logit frame where token ids were expected") != NULL);
	stream_reader_free(r);
	fclose(f);
}

TEST(stream_ids_with_leading_zeros)
{
	/* any number of leading zeros; the value decides (ernie-streams(5)) */
	const char *text = "05 0 000 0000000000000000000000000002147483647\n";
	FILE *f;
	StreamReader *r = reader(text, strlen(text), &f);
	Record rec;
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
	CHECK(rec.n == 4 && rec.ids[0] == 5 && rec.ids[1] == 0 && rec.ids[2] == 0 &&
	      rec.ids[3] == 2147483647);
	stream_reader_free(r);
	fclose(f);
}

/* Bytes waiting on fd now (0 when none). */
static int waiting(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

TEST(stream_writer_alone_writes_each_record)
{
	int out[2];
	CHECK_EQ_INT(pipe(out), 0);
	StreamWriter w;
	stream_writer_init(&w, out[1], "o", 0);
	int32_t id = 7;
	CHECK_EQ_INT(stream_write_tokens(&w, &id, 1), 0);
	CHECK(waiting(out[0]));
	CHECK_EQ_INT(stream_writer_close(&w), 0);
	close(out[0]);
	close(out[1]);
}

/* A writer given to an input holds its records while input is waiting, and
 * writes them out before a read that would block: a peer that answers
 * only after seeing our answer does not deadlock. */
TEST(stream_held_writer_flushes_before_waiting)
{
	int in[2], out[2];
	CHECK_EQ_INT(pipe(in), 0);
	CHECK_EQ_INT(pipe(out), 0);
	CHECK_EQ_INT(write(in[1], "1\n2\n3", 5), 5);
	pid_t pid = fork();
	if (pid == 0) {         /* the peer: reads our answers, then ends line 3 */
		char got[16];
		size_t n = 0;
		ssize_t k;
		while (n < 4 && (k = read(out[0], got + n, sizeof got - n)) > 0)
			n += (size_t)k;
		_exit(n == 4 && !memcmp(got, "1\n2\n", 4) && write(in[1], "\n", 1) == 1 ? 0 : 1);
	}
	StreamWriter w;
	stream_writer_init(&w, out[1], "o", 0);
	StreamReader *r = stream_reader_new(in[0], "s", &w);
	Record rec;
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(stream_read(r, &rec, 0), 0);
		CHECK_EQ_INT(stream_write_tokens(&w, rec.ids, rec.n), 0);
		CHECK(!waiting(out[0]));        /* held: "3" is already waiting */
	}
	CHECK_EQ_INT(stream_read(r, &rec, 0), 0);       /* waits for the peer */
	CHECK(rec.n == 1 && rec.ids[0] == 3);
	int status;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	stream_reader_free(r);
	CHECK_EQ_INT(stream_writer_close(&w), 0);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}
