/* libFuzzer target: the token and logit stream reader (lib/stream/stream.c), both
 * whole records and id-by-id reading, on the same bytes. */
#include "stream/stream.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	for (int mode = 0; mode < 2; mode++) {
		FILE *f = fmemopen((void *)data, size, "rb");
		if (!f)
			return 0;
		StreamReader *r = stream_reader_new(f, "fuzz");
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
		fclose(f);
	}
	return 0;
}
