/* http.c: libcurl under ernie-run --server (http.h): discovery GETs and
 * streaming completion requests on one multi handle, each response fed to
 * the SSE parser and the dialect's chunk decoder as its bytes arrive. */
#include "remote/http.h"
#include "base/err.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ERROR_BODY (64u << 10)      /* bytes of an HTTP error body kept */
#define MAX_ANSWER (64u << 20)          /* bytes of a whole (not streamed) answer */

int remote_http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return err(ERR_IO, "libcurl cannot start");
	return 0;
}

void remote_http_cleanup(void)
{
	curl_global_cleanup();
}

/* The options every request shares; *hdrs gets the header list (owned). */
static int setup(CURL *h, const RemoteServer *sv, const char *path, char *errbuf,
		 struct curl_slist **hdrs)
{
	size_t n = strlen(sv->url) + strlen(path) + 1;
	char *url = malloc(n);
	if (!url)
		return err(ERR_IO, "out of memory");
	snprintf(url, n, "%s%s", sv->url, path);
	int bad = curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	free(url);                              /* curl keeps its own copy */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ernie-run/" VERSION);
	if (sv->timeout > 0) {
		long ms = (long)(sv->timeout * 1000);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1);
		/* no byte for that long is a timeout; a long answer is not */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, ms / 1000 > 0 ? ms / 1000 : 1L);
	}
	if (sv->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, sv->cacert);
	if (sv->capath)
		curl_easy_setopt(h, CURLOPT_CAPATH, sv->capath);
	*hdrs = NULL;
	if (sv->api_key) {
		size_t k = strlen(sv->api_key) + 32;
		char *auth = malloc(k);
		if (!auth)
			return err(ERR_IO, "out of memory");
		snprintf(auth, k, "Authorization: Bearer %s", sv->api_key);
		*hdrs = curl_slist_append(*hdrs, auth);
		free(auth);
	}
	if (bad)
		return err(ERR_IO, "%s: not a URL libcurl can use", sv->url);
	return 0;
}

/* "server http://x: could not connect: ..." from curl's result. */
static int transfer_error(const RemoteServer *sv, CURLcode rc, const char *errbuf)
{
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return err(ERR_IO, "server %s: no answer within %g s (--timeout)", sv->url, sv->timeout);
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return err(ERR_IO, "server %s: %s (a private CA: --cacert FILE)", sv->url,
			   *errbuf ? errbuf : curl_easy_strerror(rc));
	return err(ERR_IO, "server %s: %s", sv->url, *errbuf ? errbuf : curl_easy_strerror(rc));
}

static size_t to_buf(char *p, size_t size, size_t n, void *ctx)
{
	ByteBuf *b = ctx;
	if (b->len + size * n > MAX_ERROR_BODY * 64 || bytebuf_add(b, p, size * n))
		return 0;
	return size * n;
}

int remote_get(const RemoteServer *sv, const char *path, ByteBuf *body, long *status)
{
	CURL *h = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	if (!h)
		return err(ERR_IO, "libcurl: out of memory");
	int rc = setup(h, sv, path, errbuf, &hdrs);
	if (!rc) {
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
		CURLcode c = curl_easy_perform(h);
		if (c != CURLE_OK)
			rc = transfer_error(sv, c, errbuf);
		else
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

/* ---- streams ------------------------------------------------------------ */

struct RemoteStream {
	CURL *h;
	const RemoteServer *sv;
	RemoteApi api;
	RemoteChunkFn on_chunk;
	void *ctx;
	char *body;                     /* the request (curl does not copy POSTFIELDS) */
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	Sse sse;
	Chunk chunk;
	ByteBuf error_body;             /* an HTTP error's body, for its message */
	long status;                    /* HTTP status, once the headers are in */
	char *ctype;                    /* its Content-Type when not the one asked for (owned) */
	int whole;                      /* one JSON object, not events (RemoteRequest.whole) */
	ByteBuf answer;                 /* that object, decoded once it has all come */
	int done;                       /* the stream's end was seen */
	int rc;                         /* a decoding or on_chunk failure */
};

struct RemoteMulti {
	CURLM *m;
	int running;
};

int remote_multi_new(RemoteMulti **m)
{
	if (!(*m = calloc(1, sizeof **m)) || !((*m)->m = curl_multi_init())) {
		free(*m);
		*m = NULL;
		return err(ERR_IO, "libcurl: out of memory");
	}
	return 0;
}

void remote_multi_free(RemoteMulti *m)
{
	if (m) {
		curl_multi_cleanup(m->m);
		free(m);
	}
}

static int on_event(void *ctx, const char *data, size_t len)
{
	RemoteStream *s = ctx;
	if (s->done)                    /* llama-server's stop, then anything: ignored */
		return 0;
	int rc = remote_chunk(s->api, data, len, &s->chunk);
	if (rc)
		return err_prefix(rc == ERR_DATA ? ERR_IO : rc, "server %s", s->sv->url);
	s->done = s->chunk.done;
	return s->chunk.n || s->chunk.npos || s->chunk.finished ? s->on_chunk(s->ctx, &s->chunk) : 0;
}

static const char *content_type(const RemoteStream *s)
{
	return s->whole ? "application/json" : "text/event-stream";
}

static size_t on_bytes(char *p, size_t size, size_t n, void *ctx)
{
	RemoteStream *s = ctx;
	if (!s->status) {
		char *ct = NULL;
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
		curl_easy_getinfo(s->h, CURLINFO_CONTENT_TYPE, &ct);
		if (!ct || strncasecmp(ct, content_type(s), strlen(content_type(s))))
			if (!(s->ctype = strdup(ct ? ct : "without a Content-Type")))
				return 0;
	}
	if (s->status >= 300 || s->ctype) {     /* an error's body: its message */
		size_t keep = s->error_body.len < MAX_ERROR_BODY ? size * n : 0;
		return bytebuf_add(&s->error_body, p, keep) ? 0 : size * n;
	}
	if (s->whole) {
		if (s->answer.len + size * n > MAX_ANSWER)
			s->rc = err(ERR_IO, "server %s: an answer of over %u MB", s->sv->url,
				    MAX_ANSWER >> 20);
		else
			s->rc = bytebuf_add(&s->answer, p, size * n);
		return s->rc ? 0 : size * n;
	}
	if ((s->rc = sse_feed(&s->sse, p, size * n, on_event, s)))
		return 0;                       /* ends the transfer */
	return size * n;
}

int remote_stream_start(RemoteMulti *m, const RemoteServer *sv, RemoteApi api, const char *body,
			int whole, RemoteChunkFn on_chunk, void *ctx, RemoteStream **out)
{
	RemoteStream *s = calloc(1, sizeof *s);
	if (!s || !(s->body = strdup(body)) || !(s->h = curl_easy_init())) {
		if (s)
			free(s->body);
		free(s);
		return err(ERR_IO, "out of memory");
	}
	s->sv = sv;
	s->api = api;
	s->whole = whole;
	s->on_chunk = on_chunk;
	s->ctx = ctx;
	sse_init(&s->sse);
	int rc = setup(s->h, sv, remote_path(api), s->errbuf, &s->hdrs);
	s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/json");
	s->hdrs = curl_slist_append(s->hdrs, whole ? "Accept: application/json" :
				    "Accept: text/event-stream");
	if (!rc && !s->hdrs)
		rc = err(ERR_IO, "out of memory");
	if (!rc) {
		curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
		curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_bytes);
		curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
		if (curl_multi_add_handle(m->m, s->h) != CURLM_OK)
			rc = err(ERR_IO, "libcurl: cannot add a transfer");
	}
	if (rc) {
		remote_stream_free(NULL, s);
		return rc;
	}
	m->running++;
	*out = s;
	return 0;
}

void remote_stream_free(RemoteMulti *m, RemoteStream *s)
{
	if (!s)
		return;
	if (m)
		curl_multi_remove_handle(m->m, s->h);
	curl_easy_cleanup(s->h);
	curl_slist_free_all(s->hdrs);
	sse_free(&s->sse);
	chunk_free(&s->chunk);
	bytebuf_free(&s->error_body);
	bytebuf_free(&s->answer);
	free(s->ctype);
	free(s->body);
	free(s);
}

/* How a finished transfer went. */
static int outcome(RemoteStream *s, CURLcode c)
{
	if (s->rc)                              /* our decoding or on_chunk said no */
		return s->rc;
	if (c != CURLE_OK)
		return transfer_error(s->sv, c, s->errbuf);
	if (!s->status)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	char msg[512];
	remote_error_text(s->error_body.s ? s->error_body.s : "", s->error_body.len, msg, sizeof msg);
	long long id;
	if (s->status == 400 && !remote_oov_id(msg, &id))       /* bad data, not the server's fault */
		return err(ERR_DATA, "server %s: token id %lld is past the vocabulary of the model "
			   "it serves (HTTP 400: %s): not that model's tokenizer?", s->sv->url, id, msg);
	if (s->status >= 300)
		return err(ERR_IO, "server %s: HTTP %ld%s%s", s->sv->url, s->status,
			   *msg ? ": " : "", msg);
	if (s->ctype)
		return err(ERR_IO, "server %s: the answer is %s, not %s: %s", s->sv->url, s->ctype,
			   s->whole ? "JSON" : "an event stream", msg);
	int rc = s->whole ? on_event(s, s->answer.len ? s->answer.s : "", s->answer.len)
			  : s->done ? 0 : sse_finish(&s->sse, on_event, s);
	if (rc)
		return rc;
	if (!s->done)
		return err(ERR_IO, "server %s: the stream ended before %s", s->sv->url,
			   s->api == API_LLAMA ? "its final chunk (\"stop\": true)" : "data: [DONE]");
	return 0;
}

int remote_multi_next(RemoteMulti *m, RemoteStream **done, void **ctx)
{
	*done = NULL;
	while (m->running > 0) {
		int still, left;
		if (curl_multi_perform(m->m, &still) != CURLM_OK)
			return err(ERR_IO, "libcurl: the transfers failed");
		CURLMsg *msg = curl_multi_info_read(m->m, &left);
		for (; msg && msg->msg != CURLMSG_DONE; msg = curl_multi_info_read(m->m, &left))
			;
		if (msg) {
			RemoteStream *s;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			m->running--;
			*done = s;
			*ctx = s->ctx;
			return outcome(s, msg->data.result);
		}
		if (curl_multi_poll(m->m, NULL, 0, 1000, NULL) != CURLM_OK)
			return err(ERR_IO, "libcurl: poll failed");
	}
	return 0;
}
