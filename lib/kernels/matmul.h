/* matmul.h: the weight kernels, behind one small interface so they can be
 * made fast without touching the model.
 *
 * Weights are row-major [rows, cols] matrices of any weight type (wtype.h)
 * used in place (pointers into the mapped model files). Decode multiplies
 * one vector (mat_vec, bandwidth-bound: each row read once and dequantised
 * in registers, rows split across the pool); prefill multiplies a batch
 * (mat_mul, FLOP-bound: our f32 GEMM, sgemm over exactly dequantised
 * panels, or a bf16 GEMM). The Compute context owns the thread pool, the precision and the
 * scratch space; one per process, used from one thread at a time.
 */
#ifndef ERNIE_MATMUL_H
#define ERNIE_MATMUL_H

#include <stdint.h>

#include "kernels/wtype.h"

typedef struct {
	WType type;
	const void *data;       /* rows rows of wtype_row_bytes(type, cols) bytes,
				 * not owned */
	int64_t rows, cols;
	int approx;             /* PREC_BF16 may round its activations: the model
				 * marks the matrices whose rounding errors pass on
				 * linearly (the MLPs), not those feeding attention */
} Mat;

/* Row r of W. */
static inline const void *mat_row(const Mat *W, int64_t r)
{
	return (const char *)W->data + r * wtype_row_bytes(W->type, W->cols);
}

/* Precision: the set of approximations the products may make. "bf16
 * products": in mat_mul of MAT_BF16_MIN_ROWS rows or more by bf16 weights,
 * activations rounded to bf16 (nearest even), exact products, f32 sums
 * (AVX512-BF16); mat_vec and smaller batches stay exact (bandwidth-bound:
 * bf16 would read the same bytes). "q8": products by quantised weights in
 * mat_vec and mat_mul of up to MAT_XQ_MAX_ROWS rows take the activations
 * rounded to 8-bit integers by blocks (xq.h) and sum integer products
 * exactly; the weights stay exact (unpacking them to floats is what costs
 * there; larger batches amortise it over more rows, and the f32 GEMM on
 * exactly dequantised panels is then faster). Everything else is f32
 * arithmetic on exactly converted weights. */
typedef enum {
	PREC_F32 = 0,           /* no approximation */
	PREC_BF16 = 1,          /* bf16 products for the bf16 matrices marked approx */
	PREC_BF16_ALL = 2,      /* bf16 products for every bf16 matrix */
	PREC_Q8 = 4,            /* 8-bit activations for every quantised matrix */
	PREC_AUTO = 8,          /* PREC_BF16 where the kernels have bf16 products,
				 * and PREC_Q8 where they have SIMD integer ones */
} Precision;

#define MAT_BF16_MIN_ROWS 4
/* measured with AVX-512 on one thread, Q4_K and Q6_K: integer products
 * 3.8x the f32 GEMM's speed at 8 rows, 1.2x at 64, 0.95x at 128 */
#define MAT_XQ_MAX_ROWS 95

typedef enum {
	ISA_AUTO,       /* the best the CPU has */
	ISA_PORTABLE,   /* plain C */
	ISA_AVX2,       /* AVX2 + FMA + F16C */
	ISA_AVX512,     /* AVX-512 F/BW/VL */
	ISA_AVX512BF16, /* AVX-512 + BF16 (vdpbf16ps) */
	ISA_COUNT
} Isa;

typedef struct Compute Compute;

/* threads <= 0: $OPENBLAS_NUM_THREADS if set, else the CPUs this process
 * may run on. prec is a set of Precision flags. Fails (ERR_DATA) if isa is
 * not supported by this CPU, or bf16 products are asked where they cannot
 * be done (PREC_BF16 and PREC_BF16_ALL need ISA_AVX512BF16); PREC_AUTO is
 * settled here. Sets OpenBLAS to one
 * thread: the pool does the parallelism, so direct cblas calls run on the
 * calling thread only. */
int compute_new(Compute **c, int threads, int prec, Isa isa);
void compute_free(Compute *c);
int compute_threads(const Compute *c);
/* The threads compute_new takes for threads <= 0: $OPENBLAS_NUM_THREADS if
 * set, else the CPUs this process may run on. */
int compute_default_threads(void);
int compute_precision(const Compute *c);   /* Precision flags, never PREC_AUTO */
const char *compute_isa_name(const Compute *c);  /* "avx512bf16", "portable", ... */
int isa_supported(Isa isa);

/* y[W->rows] = W · x[W->cols] */
void mat_vec(Compute *c, float *y, const Mat *W, const float *x);

/* y[m] = W[m] · x[m] for m < k <= MAT_VECS_MAX: one pool job for all
 * (decode's q/k/v, gate/up, and the selected experts of a MoE layer), so
 * the threads meet once instead of k times. */
#define MAT_VECS_MAX 40
void mat_vecs(Compute *c, int k, float *const y[], const Mat *const W[],
	      const float *const x[]);

/* Y[n][W->rows] = X[n][W->cols] · Wᵀ */
void mat_mul(Compute *c, float *Y, const Mat *W, const float *X, int n);

/* Y[m] = X · W[m]ᵀ for m < k <= MAT_VECS_MAX, all W[m] with the same cols
 * (prefill's q/k/v and gate/up): with the bf16 GEMM, X is rounded and
 * packed once and the products are one pool job. */
void mat_muls(Compute *c, int k, float *const Y[], const Mat *const W[], const float *X, int n);

/* The attention's products on the calling thread (callable inside
 * compute_parallel), f32 arithmetic, for m < M, j < N, k < K, rows of A
 * and Y lda and ldy floats apart, B read in its stored type (the KV cache:
 * kernels/kv.h), converted in registers:
 *   gemm_np: Y[m][j] = Σ_k A[m][k] · B(k, j), B in panels of GEMM_PANEL
 *            columns, panel q at B + q * pstride bytes holding
 *            B(k, q GEMM_PANEL + i) in row k, column i (the keys, kept so
 *            in the cache: nothing to transpose or pack)
 *   gemm_nn: Y[m][j] = Σ_k A[m][k] · B[k][j], B rows ldb bytes apart
 *            (the values)
 * f32: our AVX-512 kernels where the CPU has them, else OpenBLAS sgemm;
 * the other types: our AVX-512 or AVX2 kernels, else plain C. */
#define GEMM_PANEL 48
typedef enum { KV_F32, KV_F16, KV_BF16, KV_Q8_PANEL, KV_Q8_ROWS } KvLayout;
void gemm_np(Compute *c, float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
	     KvLayout bl, int64_t pstride, int M, int N, int K);
void gemm_nn(Compute *c, float *Y, int64_t ldy, const float *A, int64_t lda, const void *B,
	     KvLayout bl, int64_t ldb, int M, int N, int K);

/* Run fn(arg, i) for every i in [0, n) on the pool's threads; returns when
 * all are done. Inside fn, compute_parallel runs serially and mat_vec /
 * mat_mul must not be called (they share the context's scratch). */
void compute_parallel(Compute *c, void (*fn)(void *arg, int i), void *arg, int n);
/* Inside fn: the thread running it, in [0, compute_threads()), to pick
 * per-thread scratch. */
int compute_self(void);


#endif
