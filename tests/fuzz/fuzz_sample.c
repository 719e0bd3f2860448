/* libFuzzer target: the sampler (lib/sample/sample.c) on logit frames read by the
 * stream reader (lib/stream/stream.c), as ernie-sample runs it. The first 8 bytes
 * choose the parameters; the rest is the stream. Reading does not reject
 * NaN or inf (finite = 0), so the sampler's own checks are exercised. */
#include "fuzzfile.h"
#include "sample/sample.h"
#include "stream/stream.h"

#include <fcntl.h>
#include <math.h>

static void params(SampleParams *p, const uint8_t *b)
{
	sample_params_default(p);
	p->seed = b[0];
	sample_param_set(p, "temperature", b[0] % 4 ? b[0] / 64.0 : 0);
	sample_param_set(p, "top_k", b[1] < 200 ? b[1] % 8 : b[1] * 1000.0);
	sample_param_set(p, "top_p", b[2] / 255.0);
	sample_param_set(p, "min_p", b[3] & 1 ? b[3] / 255.0 : 0);
	sample_param_set(p, "repetition_penalty", 0.25 + b[4] / 64.0);
	sample_param_set(p, "repeat_last_n", (int)(b[5] % 70) - 1);
	sample_param_set(p, "presence_penalty", (b[6] - 128) / 32.0);
	sample_param_set(p, "frequency_penalty", (b[7] - 128) / 32.0);
	if (b[7] & 1)
		sample_params_bias(p, b[6] % 16, b[7] & 2 ? -INFINITY : (b[5] - 128) * 1e36);
}

/* The chosen id must be one the frame offers. */
static void check(const Record *rec, int32_t id)
{
	if (!rec->ids) {
		if (id < 0 || (uint32_t)id >= rec->n)
			abort();
		return;
	}
	for (uint32_t i = 0; i < rec->n; i++)
		if (rec->ids[i] == id)
			return;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	SampleParams p;
	params(&p, data);
	Sampler *s;
	if (sampler_new(&s, &p)) {
		sample_params_free(&p);
		return 0;
	}
	fuzz_write("frames", data + 8, size - 8);
	int fd = open(fuzz_path("frames"), O_RDONLY);
	StreamReader *r = fd >= 0 ? stream_reader_new(fd, "fuzz", NULL) : NULL;
	int32_t *ids = NULL;
	double *prob = NULL;
	for (int i = 0; r && size > 8 && i < 1000; i++) {
		Record rec;
		if (stream_read(r, &rec, 0) || rec.kind == REC_EOF)
			break;
		if (rec.n == 0) {
			sampler_reset(s);
			continue;
		}
		if (rec.kind == REC_TOKENS)
			continue;       /* ernie-sample refuses these */
		const int32_t *fid = rec.kind == REC_TOP ? rec.ids : NULL;
		rec.ids = (int32_t *)fid;
		free(ids);
		free(prob);
		ids = malloc(rec.n * sizeof *ids);
		prob = malloc(rec.n * sizeof *prob);
		size_t m;
		int32_t id;
		if (!ids || !prob)
			break;
		if (!sampler_probs(s, fid, rec.vals, rec.n, ids, prob, &m)) {
			double sum = 0;
			for (size_t k = 0; k < m; k++)
				sum += prob[k];
			if (m == 0 || m > rec.n || !(fabs(sum - 1) < 1e-6))
				abort();        /* not a distribution */
		}
		if (!sampler_next(s, fid, rec.vals, rec.n, &id))
			check(&rec, id);
	}
	free(ids);
	free(prob);
	if (r)
		stream_reader_free(r);
	if (fd >= 0)
		close(fd);
	sampler_free(s);
	sample_params_free(&p);
	return 0;
}
