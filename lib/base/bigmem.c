/* bigmem.c: see bigmem.h. */
#define _GNU_SOURCE     /* MADV_HUGEPAGE */
#include "base/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

static size_t mapped_size(size_t size)
{
	return (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *big_alloc(size_t size)
{
	if (size < BIGMEM_MIN)
		return malloc(size ? size : 1);
	size_t len = mapped_size(size);
	/* map one huge page more, then trim to a 2 MiB-aligned range */
	char *p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + len + HUGE_PAGE)
		munmap(a + len, (size_t)(p + len + HUGE_PAGE - (a + len)));
#ifdef MADV_HUGEPAGE
	madvise(a, len, MADV_HUGEPAGE);
#endif
	return a;
}

void big_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size < BIGMEM_MIN)
		free(p);
	else
		munmap(p, mapped_size(size));
}
