/* sample.c: the sampler of sample.h: penalties, bias, temperature, top-k, top-p, min-p, seeded draw. */
#include "sample/sample.h"
#include "kernels/clones.h"
#include "base/doc.h"
#include "base/err.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- random numbers ---------------------------------------------------- */

uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* splitmix64 is a bijection on its counter, so the four words are distinct
 * and the xoshiro state is never all zero. */
void rng_seed(Rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(Rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(Rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- parameters -------------------------------------------------------- */

void sample_params_default(SampleParams *p)
{
	*p = (SampleParams){
		.temperature = 0.8,
		.top_p = 0.8,
		.repeat_penalty = 1.0,
		.repeat_last_n = 64,
	};
}

void sample_params_free(SampleParams *p)
{
	free(p->bias);
	p->bias = NULL;
	p->nbias = 0;
}

/* What each parameter is called and accepts (a closed range; DBL_TRUE_MIN
 * makes "> 0"), and where it lives: a double, or an int32_t when integer is
 * set. The order is the order of the programs' --help. */
static const SampleParamSpec specs[] = {
	{"temperature", "temp", offsetof(SampleParams, temperature), 0, 0, DBL_MAX, "a number >= 0",
	 "T", "temperature; 0 = greedy (default 0.8)"},
	{"top_k", "top-k", offsetof(SampleParams, top_k), 1, 0, INT32_MAX, "an integer >= 0",
	 "K", "keep the K most probable ids; 0 = off (default 0)"},
	{"top_p", "top-p", offsetof(SampleParams, top_p), 0, 0, 1, "in [0, 1]",
	 "P", "keep the smallest set of most probable ids whose\n"
	      "probability reaches P; 1 = off (default 0.8)"},
	{"min_p", "min-p", offsetof(SampleParams, min_p), 0, 0, 1, "in [0, 1]",
	 "P", "keep ids with p >= P * p_max; 0 = off (default 0)"},
	{"repetition_penalty", "repeat-penalty", offsetof(SampleParams, repeat_penalty), 0,
	 DBL_TRUE_MIN, DBL_MAX, "a number > 0",
	 "R", "ids among the last N chosen: l/R if l > 0, else l*R;\n1 = off (default 1)"},
	{"repeat_last_n", "repeat-last-n", offsetof(SampleParams, repeat_last_n), 1, -1, INT32_MAX,
	 "an integer >= -1",
	 "N", "the window of --repeat-penalty; -1 = whole sequence,\n0 = off (default 64)"},
	{"presence_penalty", "presence-penalty", offsetof(SampleParams, presence_penalty), 0,
	 -DBL_MAX, DBL_MAX, "a finite number", "A", "minus A for every id chosen before in the sequence"},
	{"frequency_penalty", "frequency-penalty", offsetof(SampleParams, frequency_penalty), 0,
	 -DBL_MAX, DBL_MAX, "a finite number", "A", "minus A times the number of times it was chosen"},
};
_Static_assert(sizeof specs / sizeof specs[0] == SAMPLE_NPARAMS, "SAMPLE_NPARAMS: the rows above");
const SampleParamSpec *const sample_param_specs = specs;
const size_t sample_nparams = SAMPLE_NPARAMS;

int sample_param_set(SampleParams *p, const char *name, double v)
{
	for (size_t i = 0; i < sample_nparams; i++) {
		const SampleParamSpec *s = &sample_param_specs[i];
		if (strcmp(name, s->name))
			continue;
		if (!(v >= s->lo && v <= s->hi) || (s->integer && v != floor(v)))
			return err(ERR_DATA, "%s must be %s, not %g", name, s->want, v);
		if (s->integer)
			*(int32_t *)((char *)p + s->off) = (int32_t)v;
		else
			*(double *)((char *)p + s->off) = v;
		return 0;
	}
	return err(ERR_DATA, "unknown sampling parameter '%s'", name);
}

int sample_params_bias(SampleParams *p, int32_t id, double bias)
{
	size_t i = 0;

	if (id < 0)
		return err(ERR_DATA, "logit bias: id %d is negative", (int)id);
	if (isnan(bias) || bias == INFINITY)
		return err(ERR_DATA, "logit bias for id %d must be finite or -inf, not %g", (int)id, bias);
	while (i < p->nbias && p->bias[i].id < id)
		i++;
	if (i < p->nbias && p->bias[i].id == id) {
		p->bias[i].bias = bias;
		return 0;
	}
	LogitBias *b = realloc(p->bias, (p->nbias + 1) * sizeof *b);
	if (!b)
		return err(ERR_IO, "logit bias: out of memory");
	memmove(b + i + 1, b + i, (p->nbias - i) * sizeof *b);
	b[i] = (LogitBias){id, bias};
	p->bias = b;
	p->nbias++;
	return 0;
}

static int load_keys(SampleParams *p, const Doc *d)
{
	const DocNode *root = d->root;
	int rc;

	if (!root)
		return 0;
	if (root->kind != DOC_MAP)
		return err(ERR_DATA, "%s:%d:%d: expected a JSON object", d->name, root->line, root->col);
	for (size_t i = 0; i < sample_nparams; i++) {
		DocNode *n = doc_get(root, sample_param_specs[i].name);
		double v;
		if (doc_is_null(n))
			continue;
		if ((rc = doc_double(d, n, sample_param_specs[i].name, &v)))
			return rc;
		if ((rc = sample_param_set(p, sample_param_specs[i].name, v)))
			return err_prefix(rc, "%s:%d:%d", d->name, n->line, n->col);
	}
	DocNode *n = doc_get(root, "do_sample");
	int on;
	if (!doc_is_null(n)) {
		if ((rc = doc_bool(d, n, "do_sample", &on)))
			return rc;
		if (!on)
			p->temperature = 0;
	}
	return 0;
}

int sample_params_load(SampleParams *p, const char *dir)
{
	struct stat st;
	char *path;
	Doc d;
	int rc;

	if (stat(dir, &st))
		return err_errno(ERR_IO, "%s", dir);
	if (!S_ISDIR(st.st_mode))
		return err(ERR_IO, "%s: not a directory", dir);
	if (!(path = malloc(strlen(dir) + sizeof "/generation_config.json")))
		return err(ERR_IO, "%s: out of memory", dir);
	strcpy(path, dir);
	strcat(path, "/generation_config.json");
	if (access(path, F_OK) && errno == ENOENT) {
		free(path);     /* optional in Hugging Face model directories */
		return 0;
	}
	rc = doc_load_file(&d, path);
	free(path);
	if (rc)
		return rc;
	/* parse into a copy so a bad file leaves p as it was */
	SampleParams q = *p;
	if (!(rc = load_keys(&q, &d)))
		*p = q;
	doc_free(&d);
	return rc;
}

/* ---- portable exp ------------------------------------------------------ */

typedef double v8d __attribute__((vector_size(64)));
typedef int64_t v8l __attribute__((vector_size(64)));

/* exp(x) of each lane, x <= 0, with + - * and integer conversions only:
 * all are exactly specified by IEEE 754 and C, so every machine (and every
 * clone) computes the same bits, which libm's exp does not promise. Each
 * product and sum is its own statement: no compiler may fuse them into an
 * FMA (one rounding, not two). Relative error about 1e-16; at or below
 * e^-708 (2^-1021), and for NaN, the result is 0. */
VINLINE void exp_neg(v8d *v)
{
	static const double inv_fact[] = {     /* 1/13! ... 1/2! (rounded to double) */
		1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
		1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0,
		1.0 / 24.0, 1.0 / 6.0, 1.0 / 2.0,
	};
	const double ln2_hi = 6.93147180369123816490e-01;  /* few bits: k * ln2_hi is exact */
	const double ln2_lo = 1.90821492927058770002e-10;
	const double log2e = 1.44269504088896338700e+00;
	const v8d zero = { 0 };

	v8l live = *v > -708.0;
	v8d x = (v8d)((live & (v8l)*v) | (~live & (v8l)(zero - 708.0)));
	v8d t = x * log2e;
	t = t + 0.5;
	v8l k = __builtin_convertvector(t, v8l);       /* truncates: floor for t < 0 */
	k += t < __builtin_convertvector(k, v8d);       /* true is -1 */
	v8d kd = __builtin_convertvector(k, v8d);
	t = kd * ln2_hi;
	v8d r = x - t;
	t = kd * ln2_lo;
	r = r - t;                                      /* |r| <= ln2 / 2 */
	v8d e = zero + inv_fact[0];
	for (size_t i = 1; i < sizeof inv_fact / sizeof inv_fact[0]; i++) {
		e = e * r;                              /* Taylor series, Horner form */
		e = e + inv_fact[i];
	}
	e = e * r;
	e = e + 1.0;
	e = e * r;
	e = e + 1.0;
	/* times 2^k (k >= -1021: a normal number, so exact) */
	v8l bits = (k + 1023) << 52;
	e = e * (v8d)bits;
	*v = (v8d)(live & (v8l)e);
}

/* ---- the sampler ------------------------------------------------------- */

typedef struct {
	double w;               /* logit, then weight exp((l - l_max) / T) */
	int32_t id;
} Cand;

/* c[i].w = exp((c[i].w - lmax) / T) for i < n, eight at a time: each
 * 16-byte Cand is two doubles' worth (w, then the id), so eight are two
 * vectors, whose even lanes are the weights. */
CLONES static void weigh(Cand *c, size_t n, double lmax, double T)
{
	_Static_assert(sizeof(Cand) == 2 * sizeof(double), "Cand: w and the id in 16 bytes");
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		v8d a, b;
		memcpy(&a, c + i, sizeof a);
		memcpy(&b, c + i + 4, sizeof b);
		v8d x = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
		x = (x - lmax) / T;
		exp_neg(&x);
		a = __builtin_shufflevector(x, a, 0, 9, 1, 11, 2, 13, 3, 15);
		b = __builtin_shufflevector(x, b, 4, 9, 5, 11, 6, 13, 7, 15);
		memcpy(c + i, &a, sizeof a);
		memcpy(c + i + 4, &b, sizeof b);
	}
	if (i < n) {
		v8d x = { 0 };
		for (size_t j = i; j < n; j++)
			x[j - i] = c[j].w;
		x = (x - lmax) / T;
		exp_neg(&x);
		for (size_t j = i; j < n; j++)
			c[j].w = x[j - i];
	}
}

typedef struct {
	int32_t id;
	uint32_t count;         /* times in the sequence so far */
	uint32_t recent;        /* times in the last repeat_last_n ids */
} Seen;

struct Sampler {
	SampleParams p;         /* bias owned (a copy) */
	Rng rng;
	Cand *c;                /* the frame's candidates: cap entries */
	Cand *top;              /* the ranked prefix: cap entries */
	size_t cap;
	int32_t *hist;          /* the sequence's ids, in order: nhist of caphist */
	size_t nhist, caphist;
	Seen *seen;             /* distinct ids of hist, ascending: nseen of capseen */
	size_t nseen, capseen;
};

int sampler_new(Sampler **out, const SampleParams *p)
{
	Sampler *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s)
		return err(ERR_IO, "sampler: out of memory");
	s->p = *p;
	s->p.bias = NULL;
	if (p->nbias && !(s->p.bias = malloc(p->nbias * sizeof *p->bias))) {
		free(s);
		return err(ERR_IO, "sampler: out of memory");
	}
	if (p->nbias)
		memcpy(s->p.bias, p->bias, p->nbias * sizeof *p->bias);
	rng_seed(&s->rng, p->seed);
	*out = s;
	return 0;
}

void sampler_free(Sampler *s)
{
	if (!s)
		return;
	free(s->p.bias);
	free(s->c);
	free(s->top);
	free(s->hist);
	free(s->seen);
	free(s);
}

void sampler_reset(Sampler *s)
{
	s->nhist = 0;
	s->nseen = 0;
}

/* Array p of *cap elements of size, grown to hold at least n: the new
 * pointer, or NULL (out of memory, message set; p is still valid). */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n <= *cap)
		return p;
	size_t c = *cap ? *cap : 64;
	while (c < n)
		c *= 2;
	if (!(p = realloc(p, c * size))) {
		err(ERR_IO, "sampler: out of memory");
		return NULL;
	}
	*cap = c;
	return p;
}

/* ---- history ---- */

/* Index of id in s->seen, or where it would go. */
static size_t seen_pos(const Sampler *s, int32_t id)
{
	size_t lo = 0, hi = s->nseen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->seen[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int history_add(Sampler *s, int32_t id)
{
	size_t i = seen_pos(s, id);
	int32_t window = s->p.repeat_last_n;

	int32_t *hist = grow(s->hist, &s->caphist, s->nhist + 1, sizeof *hist);
	if (!hist)
		return ERR_IO;
	s->hist = hist;
	if (i == s->nseen || s->seen[i].id != id) {
		Seen *seen = grow(s->seen, &s->capseen, s->nseen + 1, sizeof *seen);
		if (!seen)
			return ERR_IO;
		s->seen = seen;
		memmove(s->seen + i + 1, s->seen + i, (s->nseen - i) * sizeof *s->seen);
		s->seen[i] = (Seen){id, 0, 0};
		s->nseen++;
	}
	s->seen[i].count++;
	s->seen[i].recent++;
	s->hist[s->nhist++] = id;
	if (window > 0 && s->nhist > (size_t)window)    /* one id leaves the window */
		s->seen[seen_pos(s, s->hist[s->nhist - 1 - window])].recent--;
	return 0;
}

/* ---- one frame ---- */

/* The candidate with this id in c[0..n) (ids ascending), or NULL. */
static Cand *find(Cand *c, size_t n, int32_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && c[lo].id == id ? c + lo : NULL;
}

/* s->c and s->top, both for n candidates. */
static int grow_frame(Sampler *s, size_t n)
{
	size_t cap = s->cap, cap_top = s->cap;
	Cand *c = grow(s->c, &cap, n, sizeof *c);

	if (!c)
		return ERR_IO;
	s->c = c;
	Cand *top = grow(s->top, &cap_top, n, sizeof *top);
	if (!top)
		return ERR_IO;
	s->top = top;
	s->cap = cap;           /* both arrays hold cap now */
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const Cand *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

/* Fill s->c with the frame's finite logits, ids ascending; *m gets how many. */
static int load_frame(Sampler *s, const int32_t *ids, const float *vals, uint32_t n, size_t *m)
{
	size_t k = 0;

	if (grow_frame(s, n))
		return ERR_IO;
	for (uint32_t i = 0; i < n; i++) {
		int32_t id = ids ? ids[i] : (int32_t)i;
		float v = vals[i];
		if (id < 0)
			return err(ERR_DATA, "negative id %d", (int)id);
		if (isnan(v) || v == INFINITY)
			return err(ERR_DATA, "id %d: logit is %s", (int)id, isnan(v) ? "NaN" : "+inf");
		if (v != -INFINITY)
			s->c[k++] = (Cand){v, id};
	}
	if (ids) {
		qsort(s->c, k, sizeof *s->c, by_id);
		for (size_t i = 1; i < k; i++)
			if (s->c[i].id == s->c[i - 1].id)
				return err(ERR_DATA, "id %d appears twice in the frame", (int)s->c[i].id);
	}
	*m = k;
	return 0;
}

/* Steps 1-3: penalties over the history, then the logit bias. Banned ids
 * (now -inf) leave c; *n shrinks. */
static int adjust(Sampler *s, Cand *c, size_t *n)
{
	const SampleParams *p = &s->p;
	int repeat = p->repeat_penalty != 1.0 && p->repeat_last_n != 0;
	size_t k = 0, nseen = s->nseen;

	if (!repeat && p->frequency_penalty == 0 && p->presence_penalty == 0)
		nseen = 0;      /* nothing to look up */
	for (size_t i = 0; i < nseen; i++) {
		const Seen *e = s->seen + i;
		Cand *x = find(c, *n, e->id);
		if (!x)
			continue;
		if (repeat && e->recent)
			x->w = x->w > 0 ? x->w / p->repeat_penalty : x->w * p->repeat_penalty;
		x->w -= e->count * p->frequency_penalty + p->presence_penalty;
	}
	for (size_t i = 0; i < p->nbias; i++) {
		Cand *x = find(c, *n, p->bias[i].id);
		if (x)
			x->w += p->bias[i].bias;
	}
	for (size_t i = 0; i < *n; i++) {
		if (isnan(c[i].w) || c[i].w == INFINITY)
			return err(ERR_DATA, "id %d: logit overflows after the penalties and bias", (int)c[i].id);
		if (c[i].w != -INFINITY)
			c[k++] = c[i];
	}
	*n = k;
	if (!k)
		return err(ERR_DATA, "no id has a finite logit");
	return 0;
}

/* ---- ranking: binary heaps on (weight, then lower id) ---- */

static int before(const Cand *a, const Cand *b)
{
	return a->w > b->w || (a->w == b->w && a->id < b->id);
}

/* Whether a goes above b in a heap with the best on top, or (worst) the
 * worst on top. */
static int above(const Cand *a, const Cand *b, int worst)
{
	return worst ? before(b, a) : before(a, b);
}

static void sift_down(Cand *h, size_t n, size_t i, int worst)
{
	for (;;) {
		size_t l = 2 * i + 1, top = i;
		if (l < n && above(h + l, h + top, worst))
			top = l;
		if (l + 1 < n && above(h + l + 1, h + top, worst))
			top = l + 1;
		if (top == i)
			return;
		Cand t = h[i];
		h[i] = h[top];
		h[top] = t;
		i = top;
	}
}

static void heapify(Cand *h, size_t n, int worst)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(h, n, i, worst);
}

static Cand heap_pop(Cand *h, size_t *n, int worst)
{
	Cand top = h[0];
	h[0] = h[--*n];
	sift_down(h, *n, 0, worst);
	return top;
}

/* The binary exponent field of a weight in [0, 1]: weights of class e are
 * in [2^(e-1023), 2^(e-1022)); class 0 holds the zeros. */
static unsigned weight_class(double w)
{
	uint64_t bits;
	memcpy(&bits, &w, sizeof bits);
	return (unsigned)(bits >> 52);
}

/* Keep in c[0..n) only the candidates that can matter to the cut: those of
 * weight >= t, for the largest power of two t such that they include the k
 * most probable (when top-k cuts), or else hold enough weight to reach
 * top-p (with a margin for the order of summation), or t <= min_p (min-p
 * drops the rest anyway). They are the first ids of the ranking, so the cut
 * is the same as over all n; the heap is just smaller. Returns the new n. */
static size_t prefilter(Cand *c, size_t n, const SampleParams *p, double z)
{
	size_t count[1024] = { 0 }, have = 0, k = 0;
	double sum[1024] = { 0 }, acc = 0;
	int kcut = p->top_k > 0 && (size_t)p->top_k < n;
	unsigned e;

	for (size_t i = 0; i < n; i++) {
		e = weight_class(c[i].w);
		count[e]++;
		sum[e] += c[i].w;
	}
	for (e = 1023; e > 0; e--) {
		have += count[e];
		acc += sum[e];
		if (kcut ? have >= (size_t)p->top_k
		         : acc >= p->top_p * z * (1 + 1e-9) || ldexp(1.0, (int)e - 1023) <= p->min_p)
			break;
	}
	for (size_t i = 0; i < n; i++)
		if (weight_class(c[i].w) >= e)
			c[k++] = c[i];
	return k;
}

/* Steps 5-6, when one of them cuts: the ranked prefix that top-k and top-p
 * keep, into s->top. Only as much of the order is computed as the cut needs.
 * z is the sum of all n weights. */
static size_t rank_cut(Sampler *s, size_t n, double z)
{
	const SampleParams *p = &s->p;
	Cand *h = s->c, *top = s->top;
	size_t m = 0, k = p->top_k > 0 && (size_t)p->top_k < n ? (size_t)p->top_k : 0;

	n = prefilter(h, n, p, z);
	size_t hn = n;
	heapify(h, n, 0);
	if (k) {
		z = 0;
		while (m < k) {
			top[m] = heap_pop(h, &hn, 0);
			z += top[m++].w;        /* renormalise over the k kept */
		}
	}
	if (p->top_p >= 1.0)
		return m;
	double target = p->top_p * z, cum = 0;
	size_t j = 0;
	while (j == 0 || cum < target) {
		if (j == m) {
			if (!hn)
				break;
			top[m++] = heap_pop(h, &hn, 0);
		}
		cum += top[j++].w;
	}
	return j;
}

/* The k best so far in a heap with the worst of them on top: each logit is
 * compared once with that, and only a better one goes in (a full heap of
 * all n took 4% of a decode step of a 100K vocabulary with --top 1). */
int sample_top(const float *x, uint32_t n, uint32_t k, int32_t *ids, float *vals)
{
	Cand *h;
	size_t hn = k;
	if (!k)
		return 0;
	if (!(h = malloc((size_t)k * sizeof *h)))
		return err(ERR_IO, "out of memory");
	for (uint32_t i = 0; i < k; i++)
		h[i] = (Cand){ x[i], (int32_t)i };
	heapify(h, k, 1);
	for (uint32_t i = k; i < n; i++) {
		Cand c = { x[i], (int32_t)i };
		if (before(&c, h)) {
			h[0] = c;
			sift_down(h, k, 0, 1);
		}
	}
	while (hn) {            /* the worst first: from the end */
		Cand c = heap_pop(h, &hn, 1);
		ids[hn] = c.id;
		vals[hn] = (float)c.w;
	}
	free(h);
	return 0;
}

double sample_logprob(const float *x, uint32_t n, int32_t id)
{
	double max = -INFINITY, sum = 0;
	for (uint32_t i = 0; i < n; i++)
		if (x[i] > max)
			max = x[i];
	for (uint32_t i = 0; i < n; i++)
		sum += exp(x[i] - max);
	return x[id] - max - log(sum);
}

/* Step 8: draw from c[0..n) (all weights > 0) in the given order. */
static int32_t draw(Rng *rng, const Cand *c, size_t n)
{
	double total = 0, cum = 0;

	for (size_t i = 0; i < n; i++)
		total += c[i].w;
	double u = rng_uniform(rng) * total;
	for (size_t i = 0; i < n; i++) {
		cum += c[i].w;
		if (u < cum)
			return c[i].id;
	}
	return c[n - 1].id;     /* u rounded up to total */
}

/* Steps 1-7: the ids the draw chooses from and their weights, in *kept[0..*m).
 * Greedy: the one best id. */
static int prepare(Sampler *s, const int32_t *ids, const float *vals, uint32_t n, Cand **kept, size_t *m)
{
	const SampleParams *p = &s->p;
	int rc;

	if (!ids && p->nbias && p->bias[p->nbias - 1].id >= (int64_t)n)
		return err(ERR_DATA, "logit bias for id %d, but the frame has %u logits",
		           (int)p->bias[p->nbias - 1].id, (unsigned)n);
	if ((rc = load_frame(s, ids, vals, n, m)) || (rc = adjust(s, s->c, m)))
		return rc;

	size_t best = 0;
	for (size_t i = 1; i < *m; i++)
		if (s->c[i].w > s->c[best].w)
			best = i;
	if (p->temperature == 0) {
		s->top[0] = (Cand){ 1.0, s->c[best].id };
		*kept = s->top;
		*m = 1;
		return 0;
	}

	double lmax = s->c[best].w, z = 0;
	weigh(s->c, *m, lmax, p->temperature);
	for (size_t i = 0; i < *m; i++)
		z += s->c[i].w;
	/* without top-k and top-p no order is needed: keep id order */
	*kept = s->c;
	if ((p->top_k > 0 && (size_t)p->top_k < *m) || p->top_p < 1.0) {
		*m = rank_cut(s, *m, z);
		*kept = s->top;
	}
	/* min-p, and weights that underflowed to 0 go; the most probable
	 * weight is exp(0) = 1 and always stays */
	size_t k = 0;
	for (size_t i = 0; i < *m; i++)
		if ((*kept)[i].w > 0 && (*kept)[i].w >= p->min_p)
			(*kept)[k++] = (*kept)[i];
	*m = k;
	return 0;
}

int sampler_next(Sampler *s, const int32_t *ids, const float *vals, uint32_t n, int32_t *out)
{
	Cand *kept;
	size_t m = 0;
	int rc;

	if ((rc = prepare(s, ids, vals, n, &kept, &m)))
		return rc;
	*out = s->p.temperature == 0 ? kept[0].id : draw(&s->rng, kept, m);
	return history_add(s, *out);
}

int sampler_probs(Sampler *s, const int32_t *ids, const float *vals, uint32_t n,
                  int32_t *out_ids, double *out_p, size_t *out_n)
{
	Cand *kept;
	size_t m = 0;
	double total = 0;
	int rc;

	if ((rc = prepare(s, ids, vals, n, &kept, &m)))
		return rc;
	for (size_t i = 0; i < m; i++)
		total += kept[i].w;
	for (size_t i = 0; i < m; i++) {
		out_ids[i] = kept[i].id;
		out_p[i] = kept[i].w / total;
	}
	*out_n = m;
	return 0;
}
