/* libFuzzer target: the server-sent events parser and the chunk decoders of
 * every dialect (lib/remote), the input fed whole and cut where its first
 * byte says; also the model list and error-message readers, and the
 * recogniser of vLLM's out-of-vocabulary refusal. */
#include "remote/remote.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int on_event(void *ctx, const char *data, size_t len)
{
	Chunk *c = ctx;
	for (RemoteApi api = API_VLLM; api <= API_LLAMA; api++)
		remote_chunk(api, data, len, c);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1, cut = data[0] % (len + 1);
	Chunk c = { 0 };
	Sse s;
	sse_init(&s);
	sse_feed(&s, text, cut, on_event, &c);
	sse_feed(&s, text + cut, len - cut, on_event, &c);
	sse_finish(&s, on_event, &c);
	sse_free(&s);
	chunk_free(&c);

	RemoteInfo info;
	if (remote_models(text, len, &info) == 0)
		remote_info_free(&info);
	char msg[64];
	remote_error_text(text, len, msg, sizeof msg);
	char *z = malloc(len + 1);     /* a message is a C string */
	if (z) {
		long long id;
		memcpy(z, text, len);
		z[len] = 0;
		remote_oov_id(z, &id);
		free(z);
	}
	return 0;
}
