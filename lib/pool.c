/* pool.c: persistent worker threads, woken per job.
 *
 * A job is published by bumping `gen`. Workers spin on it for a short while
 * after each job (decode issues ~100 small jobs per token, a futex wake-up
 * per job would cost more than the work), then sleep on a condition
 * variable. `sleeping` tells the caller whether a broadcast is needed: both
 * sides use sequentially consistent atomics, so either the worker sees the
 * new generation or the caller sees the sleeper. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"

#define SPIN_NS 300000   /* how long an idle worker spins before sleeping */

struct Pool {
	int threads;                      /* including the caller */
	pthread_t *tids;                  /* [threads - 1] */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	atomic_uint gen;                  /* job generation */
	atomic_int sleeping;              /* workers in cond_wait */
	atomic_int next;                  /* next task index to hand out */
	atomic_int busy;                  /* workers still in the current job */
	atomic_int quit;
	void (*fn)(void *arg, int i);
	void *arg;
	int n;
};

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

static void run_tasks(Pool *p)
{
	int i;
	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		p->fn(p->arg, i);
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
	Pool *p = arg;
	unsigned seen = atomic_load(&p->gen);
	for (;;) {
		seen = wait_job(p, seen);
		if (atomic_load(&p->quit))
			return NULL;
		run_tasks(p);
		atomic_fetch_sub(&p->busy, 1);
	}
}

static void wake_all(Pool *p)
{
	if (atomic_load(&p->sleeping) == 0)
		return;
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
	p->threads = threads;
	p->tids = calloc(threads, sizeof *p->tids);
	if (!p->tids)
		return free(p), err(ERR_IO, "pool: out of memory");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	for (int i = 0; i < threads - 1; i++) {
		int e = pthread_create(&p->tids[i], NULL, worker, p);
		if (e) {
			p->threads = i + 1;
			pool_free(p);
			errno = e;
			return err_errno(ERR_IO, "pool: creating thread %d", i + 1);
		}
	}
	*out = p;
	return 0;
}

void pool_free(Pool *p)
{
	if (!p)
		return;
	atomic_store(&p->quit, 1);
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
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
	if (p->threads == 1 || n <= 1) {
		for (int i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	atomic_store(&p->next, 0);
	atomic_store(&p->busy, p->threads - 1);
	atomic_fetch_add(&p->gen, 1);
	wake_all(p);
	run_tasks(p);
	while (atomic_load(&p->busy) > 0)
		cpu_relax();
}
