/* libFuzzer target: the token and logit stream reader (lib/stream/stream.c), both
 * whole records and id-by-id reading, on the same bytes. */
#include "stream/stream.h"
#include "fuzzfile.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	fuzz_write("stream", data, size);
	for (int mode = 0; mode < 2; mode++) {
		int fd = open(fuzz_path("stream"), O_RDONLY);
		if (fd < 0)
			abort();
		StreamReader *r = stream_reader_new(fd, "fuzz", NULL);
		for (int i = 0; i < 100000; i++) {
			Record rec;
			int32_t id;
			int end, empty;
			RecKind kind;
			int rc = mode ? stream_read(r, &rec, 1)
				      : stream_read_id(r, &id, &end, &empty, &kind);
			if (rc || (mode ? rec.kind : kind) == REC_EOF)
				break;
		}
		stream_reader_free(r);
		close(fd);
	}
	return 0;
}
