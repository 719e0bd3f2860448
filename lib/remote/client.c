/* client.c: ernie-run --server (client.h): discovery, the vocabulary check,
 * and the request queue that keeps up to `parallel` answers in flight and
 * writes them in input order, the oldest as its ids arrive. */
#include "remote/client.h"
#include "base/doc.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void remote_client_free(RemoteClient *c)
{
	free(c->model_owned);
	c->model_owned = NULL;
}

/* ---- discovery ---------------------------------------------------------- */

/* llama-server answers GET /props with its settings; the others 404. */
static int is_llama_server(const RemoteServer *sv)
{
	ByteBuf b = { 0 };
	long status = 0;
	int yes = 0;
	if (!remote_get(sv, "/props", &b, &status) && status == 200 && b.len && b.s[0] == '{') {
		Doc d;
		if (!doc_load_buffer(&d, "/props", b.s, b.len)) {
			yes = d.root && d.root->kind == DOC_MAP &&
			      doc_get(d.root, "default_generation_settings");
			doc_free(&d);
		}
	}
	bytebuf_free(&b);
	return yes;
}

int remote_connect(RemoteClient *c)
{
	const RemoteServer *sv = &c->server;
	ByteBuf b = { 0 };
	long status = 0;
	RemoteInfo info = { 0 };
	int rc = remote_get(sv, "/v1/models", &b, &status);
	if (!rc && status == 200)
		rc = remote_models(b.s ? b.s : "", b.len, &info);
	else if (!rc && (status == 401 || status == 403 || (!c->model && c->api != API_LLAMA))) {
		char msg[256];
		remote_error_text(b.s ? b.s : "", b.len, msg, sizeof msg);
		rc = err(ERR_IO, "server %s: GET /v1/models: HTTP %ld%s%s", sv->url, status,
			 *msg ? ": " : "", msg);
	}
	bytebuf_free(&b);
	if (rc == ERR_DATA)
		rc = err_prefix(ERR_IO, "server %s", sv->url);
	if (rc)
		return rc;
	if (c->api == API_AUTO)
		c->api = info.api != API_AUTO ? info.api : is_llama_server(sv) ? API_LLAMA : API_AUTO;
	if (c->api == API_AUTO)
		rc = err(ERR_DATA, "server %s: neither /v1/models nor /props says which engine it "
			 "is: give --server-api", sv->url);
	else if (!c->model && info.nmodels > 1)
		rc = err(ERR_DATA, "server %s serves %d models (the first is '%s'): choose one "
			 "with --server-model", sv->url, info.nmodels, info.model ? info.model : "");
	else if (!c->model && info.model) {
		c->model = c->model_owned = info.model;
		info.model = NULL;
	}
	c->vocab = info.vocab;
	remote_info_free(&info);
	return rc;
}

/* ---- the request queue -------------------------------------------------- */

/* buf (*n elements of size bytes used, *cap allocated) with k more from src:
 * the array, or NULL out of memory (buf is then freed, *n and *cap 0). */
static void *append(void *buf, size_t *n, size_t *cap, const void *src, size_t k, size_t size)
{
	if (k == 0)             /* src may be NULL then */
		return buf;
	if (*n + k > *cap) {
		size_t c = *cap ? 2 * *cap : 256;
		while (c < *n + k)
			c *= 2;
		void *p = realloc(buf, c * size);
		if (!p) {
			free(buf);
			*n = *cap = 0;
			return NULL;
		}
		buf = p;
		*cap = c;
	}
	memcpy((char *)buf + *n * size, src, k * size);
	*n += k;
	return buf;
}

/* The growing array a (n used, cap allocated) with src[0..k): 0 or ERR_IO. */
#define APPEND(a, n, cap, src, k) \
	(((a) = append((a), &(n), &(cap), (src), (k), sizeof *(a))) || !(k) ? 0 : \
	 err(ERR_IO, "out of memory"))

typedef enum { JOB_ANSWER, JOB_SCORE, JOB_END } JobKind;

typedef struct Queue Queue;

typedef struct {
	Queue *q;
	JobKind kind;
	int32_t *prompt;        /* [nprompt] (owned) */
	size_t nprompt, cap;
	int32_t *ids;           /* the answer so far (owned) */
	size_t n, ids_cap, written;
	size_t base;            /* ids that came before the current request */
	int whole;              /* the current request asks for WHOLE_IDS as one object */
	int limit;              /* the server stopped it at its n_predict */
	size_t first;           /* JOB_SCORE with --all: the record's first position */
	int32_t *top_ids;       /* JOB_SCORE: the pairs of each position, in order */
	float *top_lp;
	size_t ntop, ntop_lp, top_cap, lp_cap;
	int32_t *top_n;         /* [npos] pairs per position */
	size_t npos, pos_cap;
	int finished;
	RemoteStream *s;
} Job;

struct Queue {
	RemoteClient *c;
	RemoteMulti *m;
	StreamWriter *w;
	Job *jobs;              /* a ring of c->parallel + 1, the oldest at head */
	int head, count, inflight;
};

static int is_head(Queue *q, Job *j)
{
	return j == &q->jobs[q->head];
}

/* The oldest job's ids not yet written go out now. */
static int write_ids(Queue *q, Job *j)
{
	int rc = 0;
	for (; j->written < j->n && !rc; j->written++)
		rc = stream_put_id(q->w, j->ids[j->written]);
	return rc;
}

/* on_chunk's code for a stream that lost ids: it ends, and the answer
 * goes on from the ids that came (resume) */
enum { LOST_IDS = -1 };

/* The ids asked for as one object after a stream lost some: enough to end
 * the character that was split, few enough to stream again soon. */
#define WHOLE_IDS 16

/* A chunk of j's answer: kept, and written at once when j is the oldest.
 * llama-server streams no event for a token that leaves its text inside a
 * UTF-8 character (a byte token's), so that id never comes: its count of
 * ids generated then runs ahead of the ids sent. */
static int on_chunk(void *ctx, const Chunk *ch)
{
	Job *j = ctx;
	if (j->kind == JOB_SCORE) {
		int rc = APPEND(j->top_ids, j->ntop, j->top_cap, ch->top_ids, ch->ntop);
		if (!rc)
			rc = APPEND(j->top_lp, j->ntop_lp, j->lp_cap, ch->top_lp, ch->ntop);
		return rc ? rc : APPEND(j->top_n, j->npos, j->pos_cap, ch->top_n, ch->npos);
	}
	long long got = (long long)(j->n - j->base + ch->n);
	if (ch->decoded > got && j->whole)
		return err(ERR_IO, "server %s: its answer has %lld ids of the %lld it generated",
			   j->q->c->server.url, got, ch->decoded);
	if (ch->decoded > got)
		return LOST_IDS;
	j->limit = ch->limit;
	int rc = APPEND(j->ids, j->n, j->ids_cap, ch->ids, ch->n);
	return rc || !is_head(j->q, j) ? rc : write_ids(j->q, j);
}

static int start(Queue *q, Job *j)
{
	RemoteClient *c = q->c;
	RemoteRequest rq = c->rq;
	rq.prompt = j->prompt;
	rq.nprompt = j->nprompt;
	rq.model = c->model;
	rq.whole = j->whole;
	if (rq.max_tokens > 0)
		rq.max_tokens -= (long)j->n;
	if (j->whole && (rq.max_tokens < 0 || rq.max_tokens > WHOLE_IDS))
		rq.max_tokens = WHOLE_IDS;
	/* scoring: the one token the server picks is greedy, so the answer is
	 * the same every time (llama-server sends no log-probabilities when a
	 * sampled token ends inside a UTF-8 character) */
	if (j->kind == JOB_SCORE) {
		rq.max_tokens = 1;
		rq.set = REQ_TOP | REQ_TEMP | (c->all ? REQ_ALL : 0);
		rq.temperature = 0;
		rq.top = c->top;
	}
	ByteBuf body = { 0 };
	int rc = remote_request(c->api, &rq, &body);
	if (!rc)
		rc = remote_stream_start(q->m, &c->server, c->api, body.s, j->whole, on_chunk, j,
					 &j->s);
	bytebuf_free(&body);
	if (!rc)
		q->inflight++;
	return rc;
}

/* One position's pairs as an ETOP frame, as local --top writes it: the K
 * largest, largest first, the lower id first on a tie (vLLM adds the
 * prompt's own id to its top K, and in no set order). */
static int write_top(Queue *q, int32_t *ids, float *lp, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && (lp[k] > lp[k - 1] ||
					     (lp[k] == lp[k - 1] && ids[k] < ids[k - 1])); k--) {
			int32_t id = ids[k];
			float v = lp[k];
			ids[k] = ids[k - 1], lp[k] = lp[k - 1];
			ids[k - 1] = id, lp[k - 1] = v;
		}
	size_t k = (size_t)q->c->top;
	return stream_write_top(q->w, ids, lp, (uint32_t)(n < k ? n : k));
}

/* A scoring job's frames: the next id's top K after the sequence; with
 * --all, one for each of the record's positions. The server gave npos
 * positions: its answer's first only, or (--all) the prompt's, the first
 * one null, then the answer's. */
static int write_scores(Queue *q, Job *j)
{
	const char *url = q->c->server.url;
	size_t from = q->c->all ? j->first + 1 : 0, to = q->c->all ? j->nprompt : 0, at = 0;
	if (j->npos <= to)
		return err(ERR_IO, "server %s: top log-probabilities for %zu positions, not %zu%s",
			   url, j->npos, to + 1, q->c->all ? " (the prompt's and the next id's: did "
			   "it ignore echo?)" : j->npos ? "" : " (llama-server sends none when its "
			   "greedy token ends inside a UTF-8 character)");
	int rc = 0;
	for (size_t p = 0; p < from; p++)
		at += (size_t)j->top_n[p];
	for (size_t p = from; p <= to && !rc; p++) {
		if (!j->top_n[p])
			return err(ERR_IO, "server %s: no top log-probabilities at position %zu", url, p);
		rc = write_top(q, j->top_ids + at, j->top_lp + at, (size_t)j->top_n[p]);
		at += (size_t)j->top_n[p];
	}
	return rc;
}

static void job_free(Job *j)
{
	free(j->prompt);
	free(j->ids);
	free(j->top_ids);
	free(j->top_lp);
	free(j->top_n);
	memset(j, 0, sizeof *j);
}

/* Write out the finished jobs at the head, in order; the next head's ids
 * so far go out at once. */
static int retire(Queue *q)
{
	int rc = 0;
	while (q->count && !rc) {
		Job *j = &q->jobs[q->head];
		if (!j->finished)
			return write_ids(q, j);
		if (j->kind == JOB_ANSWER) {
			if (!(rc = write_ids(q, j)))
				rc = stream_close_record(q->w);
			if (!rc)
				rc = stream_write_end(q->w, 0);
		} else if (j->kind == JOB_SCORE)
			rc = write_scores(q, j);
		else
			rc = stream_write_end(q->w, 1);
		job_free(j);
		q->head = (q->head + 1) % (q->c->parallel + 1);
		q->count--;
	}
	return rc;
}

/* The answer goes on in a new request after the ids that came (they stay
 * written): as one object of WHOLE_IDS ids, which has every id, after a
 * stream that lost some; then as a stream again. A seeded answer is still
 * the same each time. */
static int resume(Queue *q, Job *j, int whole)
{
	int rc = APPEND(j->prompt, j->nprompt, j->cap, j->ids + j->base, j->n - j->base);
	j->base = j->n;
	j->whole = whole;
	return rc ? rc : start(q, j);
}

/* A whole object ended at its n_predict (with ids), short of the answer's. */
static int goes_on(const Queue *q, const Job *j)
{
	long max = q->c->rq.max_tokens;
	return j->whole && j->limit && j->n > j->base && (max < 0 || j->n < (size_t)max);
}

/* Wait for one request to end. */
static int wait_one(Queue *q)
{
	RemoteStream *s;
	void *ctx;
	int rc = remote_multi_next(q->m, &s, &ctx);
	if (s) {
		Job *j = ctx;
		remote_stream_free(q->m, s);
		j->s = NULL;
		q->inflight--;
		if (rc == LOST_IDS || (!rc && goes_on(q, j)))
			return resume(q, j, rc == LOST_IDS);
		j->finished = 1;
	}
	return rc ? rc : retire(q);
}

/* The ids of rec against the server's vocabulary. */
static int check_ids(RemoteClient *c, StreamReader *rd, unsigned long recno, const Record *rec)
{
	for (uint32_t i = 0; i < rec->n && c->vocab; i++)
		if (rec->ids[i] >= c->vocab) {
			char where[64];
			return err(ERR_DATA, "<stdin>: record %lu (%s): token id %d is past the "
				   "vocabulary of the model on server %s (%lld ids): not that model's "
				   "tokenizer?", recno, stream_where(rd, where, sizeof where),
				   rec->ids[i], c->server.url, c->vocab);
		}
	return 0;
}

/* A new job at the tail (room for it is made by the caller). */
static Job *push(Queue *q, JobKind kind)
{
	Job *j = &q->jobs[(q->head + q->count) % (q->c->parallel + 1)];
	memset(j, 0, sizeof *j);
	j->q = q;
	j->kind = kind;
	q->count++;
	return j;
}

/* Scoring: the sequence so far, as each record (from position first) ends it. */
static int score_job(Queue *q, const int32_t *seq, size_t n, size_t first)
{
	Job *j = push(q, JOB_SCORE);
	j->first = first;
	int rc = APPEND(j->prompt, j->nprompt, j->cap, seq, n);
	return rc ? rc : start(q, j);
}

static int feed(Queue *q, StreamReader *rd)
{
	RemoteClient *c = q->c;
	int rc = 0, generate = !c->top;
	Job *open = NULL;               /* generation: the prompt being read */
	int32_t *seq = NULL;            /* scoring: the sequence so far */
	size_t nseq = 0, seq_cap = 0;
	for (unsigned long recno = 1; !rc; recno++) {
		/* at most `parallel` requests started and not yet written out
		 * (the prompt being read is not one): wait for the oldest */
		while (!rc && q->inflight && q->count - (open != NULL) >= c->parallel)
			rc = wait_one(q);
		if (rc)
			break;
		Record rec;
		if ((rc = stream_read(rd, &rec, 0)))
			break;
		if (rec.kind == REC_EOF) {
			if (open)
				rc = start(q, open);
			break;
		}
		if (rec.kind != REC_TOKENS) {
			char where[64];
			rc = err(ERR_DATA, "<stdin>: record %lu (%s): logits where token ids were "
				 "expected", recno, stream_where(rd, where, sizeof where));
			break;
		}
		if ((rc = check_ids(c, rd, recno, &rec)))
			break;
		if (generate && rec.n == 0) {   /* the prompt is complete */
			if (!open)
				push(q, JOB_ANSWER)->finished = 1;      /* empty: an empty answer */
			else
				rc = start(q, open);
			open = NULL;
		} else if (generate) {
			if (!open)
				open = push(q, JOB_ANSWER);
			rc = APPEND(open->prompt, open->nprompt, open->cap, rec.ids, rec.n);
		} else if (rec.n == 0) {
			push(q, JOB_END)->finished = 1;
			nseq = 0;
		} else if (!(rc = APPEND(seq, nseq, seq_cap, rec.ids, rec.n)))
			rc = score_job(q, seq, nseq, nseq - rec.n);
		if (!rc)
			rc = retire(q);
	}
	free(seq);
	while (!rc && q->count)
		rc = q->inflight ? wait_one(q) : retire(q);
	return rc;
}

int remote_run(RemoteClient *c, StreamReader *rd, StreamWriter *w)
{
	Queue q = { .c = c, .w = w };
	if (!(q.jobs = calloc((size_t)c->parallel + 1, sizeof *q.jobs)))
		return err(ERR_IO, "out of memory");
	int rc = remote_multi_new(&q.m);
	if (!rc)
		rc = feed(&q, rd);
	for (int i = 0; i <= c->parallel; i++) {
		remote_stream_free(q.m, q.jobs[i].s);
		job_free(&q.jobs[i]);
	}
	remote_multi_free(q.m);
	free(q.jobs);
	return rc;
}
