/* client.h: ernie-run --server's modes over a token stream (ernie-run(1)):
 * which engine and model the server runs, then each input sequence sent as
 * a prompt and its answer's ids streamed back as local generation writes
 * them (-n), or each record's next-token top-K log-probabilities as ETOP
 * frames (--top K; with --all, every position's); up to `parallel`
 * requests in flight, answers written in input order.
 */
#ifndef ERNIE_REMOTE_CLIENT_H
#define ERNIE_REMOTE_CLIENT_H

#include "remote/http.h"
#include "stream/stream.h"

typedef struct {
	RemoteServer server;
	RemoteApi api;          /* API_AUTO: asked of the server */
	const char *model;      /* the model to ask for; NULL: the server's only one */
	RemoteRequest rq;       /* the options (set, values); prompt and model per request */
	int parallel;           /* requests in flight, >= 1 */
	int top;                /* > 0 without generation: ETOP frames of this many */
	int all;                /* with top: a frame for every position (vLLM only) */
	long long vocab;        /* after remote_connect: the server's vocabulary, 0 unknown */
	char *model_owned;      /* the model remote_connect found (c->model points to it) */
} RemoteClient;

/* Ask the server which engine it is (unless c->api is set) and which model
 * it serves (unless c->model is set), and its vocabulary size where it says.
 * ERR_IO when it cannot be asked; ERR_DATA when its answers do not say. */
int remote_connect(RemoteClient *c);

/* The mode: read rd to its end, write w. ERR_DATA for bad input (an id past
 * the server's vocabulary included), ERR_IO for the server's failures: the
 * answer in progress then stays unclosed (no empty record follows it). */
int remote_run(RemoteClient *c, StreamReader *rd, StreamWriter *w);

void remote_client_free(RemoteClient *c);

#endif
