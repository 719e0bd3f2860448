/* sample_opts.c: the sampling options shared by ernie-sample and ernie-run (sample_opts.h). */
#include "sample_opts.h"
#include "cli.h"
#include "base/err.h"
#include "model/gguf_vocab.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

enum { OPT_BIAS = SAMPLE_OPT_FIRST + 0x100 };
_Static_assert(sizeof(unsigned) * 8 >= SAMPLE_NPARAMS, "SampleOpts.set: a bit per parameter");

int sample_opts_longopts(struct option *opts)
{
	int n = 0;
	for (size_t i = 0; i < sample_nparams; i++) {
		int val = SAMPLE_OPT_FIRST + (int)i;
		opts[n++] = (struct option){ sample_param_specs[i].opt, required_argument, NULL, val };
		opts[n++] = (struct option){ sample_param_specs[i].name, required_argument, NULL, val };
	}
	opts[n++] = (struct option){ "seed", required_argument, NULL, 's' };
	opts[n++] = (struct option){ "logit-bias", required_argument, NULL, OPT_BIAS };
	return n;
}

/* A whole decimal or floating-point number ("-inf" too); -1 if not one. */
static int parse_double(const char *arg, double *v)
{
	char *end;
	if (!*arg || isspace((unsigned char)*arg))
		return -1;
	*v = strtod(arg, &end);
	return *end ? -1 : 0;
}

/* A seed: 0 .. 2^64-1, or -1 for a random one (llama.cpp's convention). */
static int parse_seed(SampleOpts *so, const char *arg)
{
	char *end;
	if (!strcmp(arg, "-1")) {
		so->seeded = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*arg))
		return -1;
	errno = 0;
	so->over.seed = strtoull(arg, &end, 10);
	if (*end || errno)
		return -1;
	so->seeded = 1;
	return 0;
}

static int parse_bias(SampleOpts *so, const char *arg)
{
	char *end;
	double bias;
	if (!isdigit((unsigned char)*arg))
		return cli_usage_error("--logit-bias: '%s' is not ID=BIAS", arg);
	errno = 0;
	long id = strtol(arg, &end, 10);
	if (*end != '=' || errno || id > INT32_MAX || parse_double(end + 1, &bias))
		return cli_usage_error("--logit-bias: '%s' is not ID=BIAS", arg);
	if (sample_params_bias(&so->over, (int32_t)id, bias))
		return cli_usage_error("--logit-bias: %s", err_msg());
	return 0;
}

int sample_opts_take(SampleOpts *so, int c, const char *name, const char *arg)
{
	if (c == 's') {
		so->given = 1;
		if (parse_seed(so, arg))
			return cli_usage_error("--seed: '%s' is not a number from 0 to 2^64-1, or -1", arg);
		return 0;
	}
	if (c == OPT_BIAS) {
		so->given = 1;
		return parse_bias(so, arg) ? ERR_USAGE : 0;
	}
	if (c < SAMPLE_OPT_FIRST || c >= SAMPLE_OPT_FIRST + (int)sample_nparams)
		return 1;
	const SampleParamSpec *s = &sample_param_specs[c - SAMPLE_OPT_FIRST];
	double v;
	if (parse_double(arg, &v))
		return cli_usage_error("--%s: '%s' is not a number", name, arg);
	if (sample_param_set(&so->over, s->name, v))
		return cli_usage_error("--%s: '%s' is not %s", name, arg, s->want);
	so->set |= 1u << (c - SAMPLE_OPT_FIRST);
	so->given = 1;
	return 0;
}

static uint64_t random_seed(void)
{
	uint64_t seed;
	struct timespec t;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == sizeof seed)
		return seed;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000007u ^ (uint64_t)t.tv_nsec ^ (uint64_t)getpid() << 32;
}

int sample_opts_settle(SampleOpts *so, const char *model, SampleParams *p)
{
	int rc;
	sample_params_default(p);
	/* a GGUF file has no generation_config: the model card's values */
	if (model && !gguf_is_file(model) && (rc = sample_params_load(p, model)))
		return rc;
	for (size_t i = 0; i < sample_nparams; i++) {
		const SampleParamSpec *s = &sample_param_specs[i];
		if (so->set & 1u << i)
			memcpy((char *)p + s->off, (char *)&so->over + s->off,
			       s->integer ? sizeof(int32_t) : sizeof(double));
	}
	p->bias = so->over.bias;        /* moved: p owns it now */
	p->nbias = so->over.nbias;
	so->over.bias = NULL;
	so->over.nbias = 0;
	p->seed = so->seeded ? so->over.seed : random_seed();
	return 0;
}

void sample_opts_usage(FILE *f)
{
	char left[64];
	for (size_t i = 0; i < sample_nparams; i++) {
		const SampleParamSpec *s = &sample_param_specs[i];
		snprintf(left, sizeof left, "--%s %s", s->opt, s->metavar);
		for (const char *h = s->help; *h;) {
			const char *nl = strchr(h, '\n');
			int len = nl ? (int)(nl - h) : (int)strlen(h);
			fprintf(f, "      %-24s%.*s\n", h == s->help ? left : "", len, h);
			h += len + (nl != NULL);
		}
	}
	fprintf(f, "      %-24s%s\n", "--logit-bias ID=BIAS", "add BIAS (a number or -inf) to id ID's logit (repeats)");
	fprintf(f, "  -s, %-24s%s\n", "--seed N", "seed of the random numbers (default: random)");
	int col = fprintf(f, "  Aliases:");
	for (size_t i = 0; i < sample_nparams; i++) {
		const char *name = sample_param_specs[i].name;
		if (col + (int)strlen(name) + 4 > 78)
			col = fprintf(f, "\n ");
		col += fprintf(f, " --%s%s", name, i + 1 < sample_nparams ? "," : ".\n");
	}
	fputs("  Order: penalties, bias, temperature, top-k, top-p, min-p, draw.\n", f);
}

void sample_opts_print(const SampleParams *p)
{
	fprintf(stderr, "%s: seed=%" PRIu64 " temperature=%g top_k=%d top_p=%g min_p=%g"
	        " repetition_penalty=%g repeat_last_n=%d presence_penalty=%g"
	        " frequency_penalty=%g logit_bias=%zu\n",
	        cli_prog(), p->seed, p->temperature, (int)p->top_k, p->top_p, p->min_p,
	        p->repeat_penalty, (int)p->repeat_last_n, p->presence_penalty,
	        p->frequency_penalty, p->nbias);
}

void sample_opts_free(SampleOpts *so)
{
	sample_params_free(&so->over);
}
