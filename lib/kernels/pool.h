/* pool.h: a persistent thread pool. Threads are created once; each call
 * wakes them (they spin briefly after a job, then sleep) and they take task
 * indices from a shared counter until none are left. The calling thread
 * works too, so a pool of N threads starts N - 1, and a job never waits for
 * a worker that is not running: the others take its share. */
#ifndef ERNIE_POOL_H
#define ERNIE_POOL_H

typedef struct Pool Pool;

/* threads >= 1. Fails (ERR_IO) if a thread cannot be created. */
int pool_new(Pool **p, int threads);
void pool_free(Pool *p);
int pool_threads(const Pool *p);
/* Run fn(arg, i) for every i in [0, n); one job at a time per pool (a
 * call from inside fn runs its tasks serially on that thread). */
void pool_run(Pool *p, void (*fn)(void *arg, int i), void *arg, int n);
/* Inside fn: which thread runs it, in [0, threads) (0: the caller), for
 * per-thread scratch. */
int pool_self(void);

#endif
