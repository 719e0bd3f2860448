/* pool.c: persistent worker threads, woken per job.
 *
 * A job is published by bumping `gen`. Workers spin on it for a short while
 * after each job (decode issues ~100 small jobs per token; a futex wake-up
 * per job would cost more than the work), then sleep on a condition
 * variable. `sleeping` tells the caller whether a broadcast is needed: both
 * sides use sequentially consistent atomics, so either the worker sees the
 * new generation or the caller sees the sleeper.
 *
 * Tasks are claimed from `ticket` = generation << 32 | next index, by
 * compare-and-swap, so a worker that wakes late (after its job is over and
 * the next one is being set up) can claim nothing from the wrong job; the
 * caller waits only for the tasks in flight (`done`), never for a worker
 * to show up. */
#include "kernels/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "base/err.h"

#define SPIN_NS 300000   /* how long an idle worker spins before sleeping */

typedef void (*TaskFn)(void *arg, int i);

struct Pool {
	int threads;                      /* including the caller */
	pthread_t *tids;                  /* [threads - 1] */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	atomic_uint gen;                  /* job generation */
	atomic_int sleeping;              /* workers in cond_wait */
	atomic_int quit;
	_Atomic uint64_t ticket;          /* gen << 32 | next task index */
	atomic_int done;                  /* tasks finished in this job */
	_Atomic uint64_t job;             /* gen << 32 | task count: stored first */
	_Atomic(TaskFn) fn;               /* the job: atomics because a late */
	_Atomic(void *) arg;              /* worker may read them while the
					   * next job is set up (see run_tasks) */
};

typedef struct {
	Pool *pool;
	int self;
} Worker;

static _Thread_local int self_index;
static _Thread_local int in_task;      /* inside fn: a nested job runs serially */

int pool_self(void)
{
	return self_index;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Claim and run the tasks of job generation g until none are left. A
 * worker may get here late, when job g is over and the caller is already
 * storing the next one: job (generation and count) is stored before fn and
 * arg, so if it still says g after they are read, they are job g's (else
 * fn of the next job would run with a stale index, and count as done in
 * it: a result read before it was written). */
static void run_tasks(Pool *p, unsigned g)
{
	uint64_t job = atomic_load(&p->job);
	TaskFn fn = atomic_load(&p->fn);
	void *arg = atomic_load(&p->arg);
	if (job >> 32 != g || atomic_load(&p->job) != job)
		return;
	uint64_t n = job & 0xffffffffu;
	uint64_t t = atomic_load(&p->ticket);

	for (;;) {
		if (t >> 32 != g || (t & 0xffffffffu) >= n)
			return;
		if (atomic_compare_exchange_weak(&p->ticket, &t, t + 1)) {
			in_task = 1;
			fn(arg, (int)(t & 0xffffffffu));
			in_task = 0;
			atomic_fetch_add(&p->done, 1);
			t = atomic_load(&p->ticket);
		}
	}
}

/* Wait until gen differs from seen: spin first, then sleep. */
static unsigned wait_job(Pool *p, unsigned seen)
{
	long long start = now_ns();
	for (unsigned k = 1;; k++) {
		unsigned g = atomic_load(&p->gen);
		if (g != seen || atomic_load(&p->quit))
			return g;
		if (k % 256 == 0 && now_ns() - start > SPIN_NS)
			break;
		cpu_relax();
	}
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add(&p->sleeping, 1);
	while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
		pthread_cond_wait(&p->wake, &p->mu);
	atomic_fetch_sub(&p->sleeping, 1);
	pthread_mutex_unlock(&p->mu);
	return atomic_load(&p->gen);
}

static void *worker(void *arg)
{
	Worker *w = arg;
	Pool *p = w->pool;
	unsigned seen = 0;      /* not gen: a job may be published before we start */

	self_index = w->self;
	free(w);
	for (;;) {
		seen = wait_job(p, seen);
		if (atomic_load(&p->quit))
			return NULL;
		run_tasks(p, seen);
	}
}

static void wake_all(Pool *p)
{
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
}

int pool_new(Pool **out, int threads)
{
	Pool *p = calloc(1, sizeof *p);
	*out = NULL;
	if (!p || threads < 1)
		return free(p), err(ERR_IO, "pool: out of memory");
	p->tids = calloc(threads, sizeof *p->tids);
	if (!p->tids)
		return free(p), err(ERR_IO, "pool: out of memory");
	p->threads = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	for (int i = 1; i < threads; i++) {
		Worker *w = malloc(sizeof *w);
		int e = w ? 0 : ENOMEM;
		if (w) {
			*w = (Worker){p, i};
			e = pthread_create(&p->tids[i - 1], NULL, worker, w);
		}
		if (e) {
			free(w);
			pool_free(p);
			errno = e;
			return err_errno(ERR_IO, "pool: creating thread %d", i);
		}
		p->threads++;
	}
	*out = p;
	return 0;
}

void pool_free(Pool *p)
{
	if (!p)
		return;
	atomic_store(&p->quit, 1);
	wake_all(p);
	for (int i = 0; i < p->threads - 1; i++)
		pthread_join(p->tids[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	free(p->tids);
	free(p);
}

int pool_threads(const Pool *p)
{
	return p->threads;
}

void pool_run(Pool *p, void (*fn)(void *arg, int i), void *arg, int n)
{
	unsigned g;

	if (p->threads == 1 || n <= 1 || in_task) {
		for (int i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	g = atomic_load(&p->gen) + 1;
	atomic_store(&p->job, (uint64_t)g << 32 | (uint32_t)n);
	atomic_store(&p->fn, fn);
	atomic_store(&p->arg, arg);
	atomic_store(&p->done, 0);
	atomic_store(&p->ticket, (uint64_t)g << 32);
	atomic_store(&p->gen, g);
	if (atomic_load(&p->sleeping) > 0)
		wake_all(p);
	run_tasks(p, g);
	/* yield once spinning has not helped: a task may be waiting for a
	 * core (more threads than cores) */
	for (unsigned k = 0; atomic_load(&p->done) < n; k++)
		if (k < 4096)
			cpu_relax();
		else
			sched_yield();
}
