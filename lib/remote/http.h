/* http.h: the bytes of ernie-run --server, through libcurl: whole GETs for
 * discovery, and streaming completion requests, several at once (curl's
 * multi interface), each decoded as it arrives (remote.h).
 *
 * Every failure is ERR_IO with one line naming the server and what
 * happened: it could not be reached, did not answer within the timeout,
 * answered an HTTP error (with the server's own message), sent something
 * that is not its dialect's JSON, or ended a stream before its end. The
 * one exception is vLLM's refusal of a prompt id past its vocabulary
 * (remote_oov_id): bad input, ERR_DATA.
 */
#ifndef ERNIE_REMOTE_HTTP_H
#define ERNIE_REMOTE_HTTP_H

#include "remote/remote.h"

typedef struct {
	const char *url;        /* "http://host:port" (a path prefix is kept; no trailing /) */
	const char *api_key;    /* sent as "Authorization: Bearer KEY"; NULL: none */
	double timeout;         /* seconds to connect, and at most between two bytes; 0: none */
	const char *cacert;     /* https: trust the CAs of this PEM file; NULL: the system's */
	const char *capath;     /* https: and those of this directory (c_rehash'd); NULL: none */
} RemoteServer;

/* Once per process, before anything else here. ERR_IO if curl cannot start. */
int remote_http_init(void);
void remote_http_cleanup(void);

/* GET server->url + path. The body goes to body (appended), the HTTP status
 * to *status. ERR_IO only when no HTTP answer came at all. */
int remote_get(const RemoteServer *server, const char *path, ByteBuf *body, long *status);

/* One streaming completion request. The caller sets api, on_chunk and ctx,
 * then remote_stream_start(); on_chunk sees each event's chunk in order (a
 * nonzero return ends the transfer with that code). */
typedef struct RemoteStream RemoteStream;
typedef int (*RemoteChunkFn)(void *ctx, const Chunk *c);

typedef struct RemoteMulti RemoteMulti;

int remote_multi_new(RemoteMulti **m);
void remote_multi_free(RemoteMulti *m);

/* Start POSTing body (JSON) to server->url + remote_path(api). The stream
 * is the multi's until remote_multi_next() hands it back. whole: the body
 * asked for one JSON object, not events (RemoteRequest.whole): on_chunk
 * sees it as one chunk once it has all come. */
int remote_stream_start(RemoteMulti *m, const RemoteServer *server, RemoteApi api,
			const char *body, int whole, RemoteChunkFn on_chunk, void *ctx,
			RemoteStream **s);

/* Move the transfers on until one ends; *done gets it and its result is
 * returned: 0 when the stream reached its end, else the failure (on_chunk's
 * code, or ERR_IO as above). *done is NULL when nothing is in flight. The
 * stream is freed by remote_stream_free(). */
int remote_multi_next(RemoteMulti *m, RemoteStream **done, void **ctx);
void remote_stream_free(RemoteMulti *m, RemoteStream *s);

#endif
