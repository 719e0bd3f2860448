/* matmul.c: the Compute context (pool, precision, scratch), the choice of
 * kernels by ISA, and how work is split across threads. The arithmetic is
 * in lib/matmul_<isa>.c.
 *
 * mat_vec streams each weight row once (bandwidth-bound, so exact f32
 * arithmetic: bf16 would read the same bytes; but the quantised types'
 * unpacking is compute-bound, so under PREC_Q8 their products are integer
 * ones on 8-bit activations, xq.h, in mat_vec and small batches). mat_mul
 * picks the first of: those integer products (up to MAT_XQ_MAX_ROWS rows;
 * XQ_MAX activation rows a weight block, rounded once per call), the bf16
 * GEMM (PREC_BF16, bf16 weights, AVX512-BF16: the activations are rounded
 * and packed once per call, mat_muls once for several matrices, and the
 * weights are read in place), our f32 GEMM
 * (AVX-512: twice what Debian's OpenBLAS reaches here, which runs its AVX2
 * kernels on Zen 5), OpenBLAS sgemm over weight panels converted to f32,
 * and below MV_MAX_N rows a loop of mat_vec. gemm_np / gemm_nn are the
 * same tiles on the KV cache in place, in its stored type, for the
 * attention.
 *
 * Threads: our pool does all the parallelism; OpenBLAS is set to one thread
 * and called by each pool thread on its own block of weight rows, so the
 * two never oversubscribe the cores. Tasks are rows blocks handed out from
 * a counter; per-thread scratch is indexed by pool_self(). */
#define _GNU_SOURCE
#include <cblas.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "kernels/matmul_kernels.h"
#include "kernels/pool.h"

#define PAR_MIN_ELEMS 32768  /* smaller matrix-vector products stay on one thread */
#define MV_MAX_N (MAT_BF16_MIN_ROWS - 1)  /* mat_mul on so few rows: matrix-vector products */
#define PANEL_ROWS 256       /* weight rows converted to f32 per sgemm call */
#define ROW_ALIGN 16         /* task row blocks start on a multiple of this */
#define TASKS_PER_THREAD 4   /* batch products: tasks a thread, so that one
				* without a core leaves little behind */
#define VEC_TASK_MIN (1 << 16)  /* the bytes a matrix-vector piece streams (see
				 * cut_pieces): the last ones of a job this small,
				 * the 0.3B Q4_K_M decoded 5% faster than with
				 * tasks of 256 KB to the end */
#define VEC_TASK_MAX (1 << 21)  /* at most: the output head of 87 MB as 8 tasks
				 * of 11 MB left the other thread waiting */
#define VEC_PIECES 512          /* pieces a job may be cut into */
#define XQ_TASK_BYTES (1 << 17)  /* weights a batch task of integer products takes
				  * (in L2 while every activation row passes) */
#define XQ_TILE_ROWS 16          /* weight rows kept in L1 across activation groups */

typedef struct {
	void *p;
	size_t cap;                 /* bytes */
} Buf;

struct Compute {
	Pool *pool;
	Isa isa;
	int prec;                   /* Precision flags */
	const Kernels *k;
	Buf xp;                     /* activations as bf16, packed by pack_bf16 */
	Buf xq, xqs;                /* activations as 8-bit integers (xq.h), their XQs */
	Buf *panel;                 /* [threads] f32 weight panels or GEMM packs */
};

static const char *isa_names[ISA_COUNT] = {
	"auto", "portable", "avx2", "avx512", "avx512bf16",
};

static const Kernels *isa_kernels(Isa isa)
{
	switch (isa) {
#if defined(__x86_64__)
	case ISA_AVX2:
		return &kernels_avx2;
	case ISA_AVX512:
		return &kernels_avx512;
	case ISA_AVX512BF16:
		return &kernels_avx512bf16;
#else
	case ISA_AVX2:
	case ISA_AVX512:
	case ISA_AVX512BF16:
#endif
	case ISA_AUTO:
	case ISA_PORTABLE:
	case ISA_COUNT:
		break;
	}
	return &kernels_portable;
}

int compute_default_threads(void)
{
	const char *env = getenv("OPENBLAS_NUM_THREADS");
	cpu_set_t set;

	if (env && atoi(env) > 0)
		return atoi(env);
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int compute_new(Compute **out, int threads, int prec, Isa isa)
{
	Compute *c;
	int rc;

	*out = NULL;
	if (isa == ISA_AUTO)
		for (isa = ISA_COUNT - 1; !isa_supported(isa); isa--)
			;
	if (isa <= ISA_AUTO || isa >= ISA_COUNT || !isa_supported(isa))
		return err(ERR_DATA, "instruction set '%s' not supported by this CPU",
			   isa > ISA_AUTO && isa < ISA_COUNT ? isa_names[isa] : "?");
	if (prec & PREC_AUTO)
		prec = (isa_kernels(isa)->gemm_bf16 ? PREC_BF16 : PREC_F32) |
		       (isa != ISA_PORTABLE ? PREC_Q8 : PREC_F32);
	if (prec & (PREC_BF16 | PREC_BF16_ALL) && !isa_kernels(isa)->gemm_bf16)
		return err(ERR_DATA, "bf16 products need AVX512-BF16 (instruction set: %s)",
			   isa_names[isa]);
	if (threads <= 0)
		threads = compute_default_threads();
	c = calloc(1, sizeof *c);
	if (!c || !(c->panel = calloc(threads, sizeof *c->panel)))
		return free(c), err(ERR_IO, "compute: out of memory");
	if ((rc = pool_new(&c->pool, threads))) {
		free(c->panel);
		free(c);
		return rc;
	}
	c->isa = isa;
	c->prec = prec;
	c->k = isa_kernels(isa);
	openblas_set_num_threads(1);
	*out = c;
	return 0;
}

void compute_free(Compute *c)
{
	if (!c)
		return;
	for (int i = 0; i < pool_threads(c->pool); i++)
		free(c->panel[i].p);
	free(c->panel);
	free(c->xp.p);
	free(c->xq.p);
	free(c->xqs.p);
	pool_free(c->pool);
	free(c);
}

int compute_threads(const Compute *c) { return pool_threads(c->pool); }
int compute_precision(const Compute *c) { return c->prec; }
const char *compute_isa_name(const Compute *c) { return isa_names[c->isa]; }

void compute_parallel(Compute *c, void (*fn)(void *arg, int i), void *arg, int n)
{
	pool_run(c->pool, fn, arg, n);
}

int compute_self(void) { return pool_self(); }

/* Make b hold at least size bytes (64-byte aligned); 0 or -1. */
static int reserve(Buf *b, size_t size)
{
	void *p;
	if (b->cap >= size)
		return 0;
	size = (size + 63) & ~(size_t)63;
	if (!(p = aligned_alloc(64, size)))
		return -1;
	free(b->p);
	b->p = p;
	b->cap = size;
	return 0;
}

static int use_bf16(const Compute *c, const Mat *W)
{
	return W->type == WT_BF16 &&
	       (c->prec & PREC_BF16_ALL || (c->prec & PREC_BF16 && W->approx));
}

static int use_xq(const Compute *c, const Mat *W)
{
	return c->prec & PREC_Q8 && c->k->vec_xq[W->type];
}

/* ---- rows split across the threads ---- */

typedef struct {
	Compute *c;
	float *y;                   /* mat_vec: [rows]; mat_mul: [n][rows] */
	const Mat *W;
	const float *x;             /* [n][cols] */
	const uint32_t *xp;         /* X packed for gemm_bf16 */
	const XQ *xq;               /* [n] X as 8-bit integers, or NULL */
	int64_t kp;                 /* cols rounded up to even */
	int n;
	int64_t per;                /* rows per task */
} Job;

/* Tasks of about rows / (TASKS_PER_THREAD * threads) rows but at least
 * min, a multiple of align (and at most max rows): small enough that a
 * thread that gets no core leaves little behind, large enough to stream.
 * Returns the count. */
static int split(Job *j, int64_t rows, int threads, int64_t align, int64_t min, int64_t max)
{
	j->per = (rows + TASKS_PER_THREAD * threads - 1) / (TASKS_PER_THREAD * threads);
	if (j->per < min)
		j->per = min;
	j->per = (j->per + align - 1) / align * align;
	if (j->per > max)
		j->per = max;
	return (int)((rows + j->per - 1) / j->per);
}

static int64_t row_bytes(const Mat *W)
{
	return wtype_row_bytes(W->type, W->cols);
}

static void range(const Job *j, int i, int64_t *r0, int64_t *r1)
{
	*r0 = i * j->per;
	*r1 = *r0 + j->per < j->W->rows ? *r0 + j->per : j->W->rows;
}

/* Several products as one pool job: tasks [first[m], first[m + 1]) are
 * those of matrix m. */
typedef struct {
	Job job[MAT_VECS_MAX];
	int first[MAT_VECS_MAX + 1];
} Jobs;

/* The job of task *i, which becomes the task's index within it. */
static Job *job_of(Jobs *v, int *i)
{
	int m = 0;
	while (*i >= v->first[m + 1])
		m++;
	*i -= v->first[m];
	return &v->job[m];
}

/* xq[m] = x[m] as 8-bit integers for the W[m] that take them (NULL for
 * the others; one x shared by several W rounded once), on this thread: a
 * vector is cheap to round. Without memory for it, all NULL. */
static void round_vecs(Compute *c, int k, const XQ *xq[], const Mat *const W[],
		       const float *const x[])
{
	int64_t size = 0;
	int first[MAT_VECS_MAX];        /* the m that rounds x[m] for W[m] */
	XQ *q;

	for (int m = 0; m < k; m++) {
		xq[m] = NULL;
		first[m] = m;
		for (int i = 0; i < m; i++)
			if (x[i] == x[m] && W[i]->cols == W[m]->cols &&
			    xq_block(W[i]->type) == xq_block(W[m]->type) && first[i] == i)
				first[m] = i;
		if (use_xq(c, W[m]) && first[m] == m)
			size += xq_row_bytes(W[m]->cols);
	}
	if (!size || reserve(&c->xq, (size_t)size) ||
	    reserve(&c->xqs, MAT_VECS_MAX * sizeof(XQ)))
		return;
	q = c->xqs.p;
	size = 0;
	for (int m = 0; m < k; m++)
		if (use_xq(c, W[m]) && first[m] == m) {
			xq_quantize((char *)c->xq.p + size, &q[m], x[m], W[m]->cols,
				    xq_block(W[m]->type), 0, 1);
			size += xq_row_bytes(W[m]->cols);
		}
	for (int m = 0; m < k; m++)
		if (use_xq(c, W[m]))
			xq[m] = &q[first[m]];
}

/* A matrix-vector job's tasks: piece i is rows [r0, r1) of matrix m. */
typedef struct {
	int m;
	int64_t r0, r1;
} Piece;

typedef struct {
	Job job[MAT_VECS_MAX];
	Piece piece[VEC_PIECES];
} VecJobs;

static void vec_rows(const Job *j, int64_t r0, int64_t r1)
{
	if (j->xq)
		j->c->k->vec_xq[j->W->type](j->y, 0, j->W, j->xq, 1, r0, r1);
	else
		j->c->k->vec[j->W->type](j->y, j->W, j->x, r0, r1);
}

static void vec_piece(void *arg, int i)
{
	const VecJobs *v = arg;
	const Piece *p = &v->piece[i];
	vec_rows(&v->job[p->m], p->r0, p->r1);
}

/* Cut the k matrices into pieces, guided: each piece is 1 / threads of
 * the job's bytes still left, within [VEC_TASK_MIN, VEC_TASK_MAX] bytes,
 * and ends where its matrix does. Few pieces, since each starts a new
 * stream that the prefetchers pick up only after its first misses (14
 * expert matrices of 2.2 MB cut 8 ways each streamed at 25 GB/s, 2 ways
 * at 28); small ones last, since the last piece is what the other
 * threads wait for. Returns the count. */
static int cut_pieces(VecJobs *v, int k, int threads)
{
	int64_t left = 0;
	int n = 0;
	for (int m = 0; m < k; m++)
		left += v->job[m].W->rows * row_bytes(v->job[m].W);
	for (int m = 0; m < k; m++) {
		int64_t rows = v->job[m].W->rows, rb = row_bytes(v->job[m].W);
		for (int64_t r = 0; r < rows; n++) {
			int64_t bytes = left / threads;
			bytes = bytes < VEC_TASK_MIN ? VEC_TASK_MIN : bytes > VEC_TASK_MAX ? VEC_TASK_MAX : bytes;
			int64_t per = ((bytes + rb - 1) / rb + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
			int64_t r1 = rows - r - per < VEC_TASK_MIN / rb || n >= VEC_PIECES - (k - m)
					     ? rows : r + per;
			v->piece[n] = (Piece){ .m = m, .r0 = r, .r1 = r1 };
			left -= (r1 - r) * rb;
			r = r1;
		}
	}
	return n;
}

void mat_vecs(Compute *c, int k, float *const y[], const Mat *const W[],
	      const float *const x[])
{
	VecJobs v;
	const XQ *xq[MAT_VECS_MAX];
	int64_t elems = 0;

	round_vecs(c, k, xq, W, x);

	for (int m = 0; m < k; m++) {
		elems += W[m]->rows * W[m]->cols;
		v.job[m] = (Job){.c = c, .y = y[m], .W = W[m], .x = x[m], .n = 1, .xq = xq[m]};
	}
	if (elems < PAR_MIN_ELEMS || pool_threads(c->pool) == 1)
		for (int m = 0; m < k; m++)
			vec_rows(&v.job[m], 0, W[m]->rows);
	else
		pool_run(c->pool, vec_piece, &v, cut_pieces(&v, k, pool_threads(c->pool)));
}

void mat_vec(Compute *c, float *y, const Mat *W, const float *x)
{
	mat_vecs(c, 1, &y, &W, &x);
}

/* ---- batches: the GEMMs, or sgemm over converted panels ---- */

/* One panel of weight rows: converted to f32 (unless it is), then sgemm. */
static void sgemm_task(void *arg, int i)
{
	Job *j = arg;
	const Mat *W = j->W;
	int64_t r0, r1;
	const float *w;

	range(j, i, &r0, &r1);
	w = (const float *)W->data + r0 * W->cols;
	if (W->type != WT_F32) {
		w = j->c->panel[pool_self()].p;
		j->c->k->to_f32[W->type]((float *)w, W, r0, r1);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, (int)(r1 - r0),
		    (int)W->cols, 1.0f, j->x, (int)W->cols, w, (int)W->cols,
		    0.0f, j->y + r0, (int)W->rows);
}

static void gemm_f32_task(void *arg, int i)
{
	Job *j = arg;
	int64_t r0, r1;
	range(j, i, &r0, &r1);
	j->c->k->gemm_f32[j->W->type](j->y, j->W->rows, j->W, j->x, j->n, r0, r1,
				      j->c->panel[pool_self()].p);
}

/* Group i of 16 rows of X, rounded to bf16 and packed for gemm_bf16. */
static void pack_task(void *arg, int i)
{
	Job *j = arg;
	int rows = j->n - 16 * i < 16 ? j->n - 16 * i : 16;
	j->c->k->pack_bf16((uint32_t *)j->xp + (int64_t)i * 8 * j->kp,
			   j->x + (int64_t)i * 16 * j->W->cols, j->W->cols, rows, j->kp);
}

static void gemm_bf16_task(void *arg, int i)
{
	Job *j = job_of(arg, &i);
	int64_t r0, r1;
	range(j, i, &r0, &r1);
	j->c->k->gemm_bf16(j->y, j->W->rows, j->W, j->xp, j->kp, j->n, r0, r1);
}

/* Y[m] = X · W[m]ᵀ by the bf16 GEMM, X rounded and packed once, all the
 * products one pool job; -1 (nothing done) where it does not apply. */
static int muls_bf16(Compute *c, int k, float *const Y[], const Mat *const W[], const float *X,
		     int n)
{
	int64_t kp = (W[0]->cols + 1) & ~(int64_t)1;
	int groups = (n + 15) / 16, threads = pool_threads(c->pool);
	Jobs v;

	if (n <= MV_MAX_N || !c->k->gemm_bf16)
		return -1;
	for (int m = 0; m < k; m++)
		if (!use_bf16(c, W[m]))
			return -1;
	if (reserve(&c->xp, (size_t)groups * 16 * kp * sizeof(uint16_t)))
		return -1;
	v.first[0] = 0;
	for (int m = 0; m < k; m++) {
		v.job[m] = (Job){.c = c, .y = Y[m], .W = W[m], .x = X, .n = n, .kp = kp,
				 .xp = c->xp.p};
		v.first[m + 1] = v.first[m] + split(&v.job[m], W[m]->rows, threads,
						    GEMM_BF16_ROWS, 1, INT64_MAX);
	}
	pool_run(c->pool, pack_task, &v.job[0], groups);
	pool_run(c->pool, gemm_bf16_task, &v, v.first[k]);
	return 0;
}

/* Rows of X, 16 a task, as 8-bit integers in blocks of job->kp */
static void round_task(void *arg, int i)
{
	Job *j = arg;
	int m1 = 16 * i + 16 < j->n ? 16 * i + 16 : j->n;
	xq_quantize(j->c->xq.p, j->c->xqs.p, j->x, j->W->cols, (int)j->kp, 16 * i, m1);
}

/* XQ_TILE_ROWS weight rows at a time against every group of XQ_MAX
 * activation rows: the tile's weights and a group's activations both stay
 * in L1 (row by row, all the activations streamed from L2 for each weight
 * row, and that was the bound). */
static void xq_task(void *arg, int i)
{
	Job *j = job_of(arg, &i);
	int64_t r0, r1;
	range(j, i, &r0, &r1);
	for (int64_t t0 = r0; t0 < r1; t0 += XQ_TILE_ROWS)
		for (int m = 0; m < j->n; m += XQ_MAX)
			j->c->k->vec_xq[j->W->type](j->y + m * j->W->rows, j->W->rows, j->W,
						    j->xq + m, j->n - m < XQ_MAX ? j->n - m : XQ_MAX,
						    t0, t0 + XQ_TILE_ROWS < r1 ? t0 + XQ_TILE_ROWS : r1);
}

/* Y[m] = X · W[m]ᵀ by integer products, X rounded once (in parallel), all
 * the products one pool job; -1 (nothing done) where it does not apply. */
static int muls_xq(Compute *c, int k, float *const Y[], const Mat *const W[], const float *X,
		   int n)
{
	int block = xq_block(W[0]->type), threads = pool_threads(c->pool);
	Jobs v;

	if (n > MAT_XQ_MAX_ROWS)
		return -1;
	for (int m = 0; m < k; m++)
		if (!use_xq(c, W[m]) || xq_block(W[m]->type) != block)
			return -1;
	if (reserve(&c->xq, (size_t)n * xq_row_bytes(W[0]->cols)) ||
	    reserve(&c->xqs, (size_t)n * sizeof(XQ)))
		return -1;
	v.first[0] = 0;
	for (int m = 0; m < k; m++) {
		int64_t min = XQ_TASK_BYTES / row_bytes(W[m]);
		v.job[m] = (Job){.c = c, .y = Y[m], .W = W[m], .x = X, .n = n, .kp = block,
				 .xq = c->xqs.p};
		v.first[m + 1] = v.first[m] + split(&v.job[m], W[m]->rows, threads, ROW_ALIGN,
						    1, min > ROW_ALIGN ? min : ROW_ALIGN);
	}
	pool_run(c->pool, round_task, &v.job[0], (n + 15) / 16);
	pool_run(c->pool, xq_task, &v, v.first[k]);
	return 0;
}

void mat_muls(Compute *c, int k, float *const Y[], const Mat *const W[], const float *X, int n)
{
	if (muls_bf16(c, k, Y, W, X, n) && muls_xq(c, k, Y, W, X, n))
		for (int m = 0; m < k; m++)
			mat_mul(c, Y[m], W[m], X, n);
}

/* Scratch for every thread; 0 or -1. */
static int reserve_panels(Compute *c, size_t size)
{
	for (int i = 0; i < pool_threads(c->pool); i++)
		if (reserve(&c->panel[i], size))
			return -1;
	return 0;
}

void mat_mul(Compute *c, float *Y, const Mat *W, const float *X, int n)
{
	Job j = {.c = c, .y = Y, .W = W, .x = X, .n = n};
	int threads = pool_threads(c->pool), tasks;

	if (muls_bf16(c, 1, &Y, &W, X, n) == 0 || muls_xq(c, 1, &Y, &W, X, n) == 0)
		return;
	size_t halves = wtype_info[W->type].block > 1 ? 2 : 1;    /* quantised: + rows */
	if (n > MV_MAX_N && !use_bf16(c, W) && c->k->gemm_f32[W->type] &&
	    reserve_panels(c, halves * GEMM_PACK_ROWS * W->cols * sizeof(float)) == 0) {
		tasks = split(&j, W->rows, threads, GEMM_PACK_ROWS, 1, INT64_MAX);
		pool_run(c->pool, gemm_f32_task, &j, tasks);
		return;
	}
	if (n > MV_MAX_N && !use_bf16(c, W) &&
	    reserve_panels(c, (size_t)PANEL_ROWS * W->cols * sizeof(float)) == 0) {
		tasks = split(&j, W->rows, threads, ROW_ALIGN, 1, PANEL_ROWS);
		pool_run(c->pool, sgemm_task, &j, tasks);
		return;
	}
	/* few rows, or no memory for scratch */
	for (int m = 0; m < n; m++)
		mat_vec(c, Y + (int64_t)m * W->rows, W, X + (int64_t)m * W->cols);
}

/* ---- attention's products: one thread, operands in place ---- */

/* f32 keys and values: OpenBLAS's sgemm where we have no f32 tiles of our
 * own; every other type by the ISA's kernels (kv.h's types, in registers) */
void gemm_np(Compute *c, float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
	     KvLayout bl, int64_t pstride, int M, int N, int K)
{
	if (bl != KV_F32 || c->k->gemm_f32[WT_F32]) {
		c->k->gemm_np(Y, ldy, A, lda, B, bl, pstride, M, N, K);
		return;
	}
	for (int j0 = 0; j0 < N; j0 += GEMM_PANEL)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M,
			    N - j0 < GEMM_PANEL ? N - j0 : GEMM_PANEL, K, 1.0f, A, (int)lda,
			    (const float *)((const char *)B + j0 / GEMM_PANEL * pstride),
			    GEMM_PANEL, 0.0f, Y + j0, (int)ldy);
}

void gemm_nn(Compute *c, float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
	     KvLayout bl, int64_t ldb, int M, int N, int K)
{
	if (bl != KV_F32 || c->k->gemm_f32[WT_F32])
		c->k->gemm_nn(Y, ldy, A, lda, B, bl, ldb, M, N, K);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, (int)lda,
			    B, (int)(ldb / (int64_t)sizeof(float)), 0.0f, Y, (int)ldy);
}
