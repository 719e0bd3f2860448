/* bigmem.h: large arrays in transparent huge pages.
 *
 * Touching fresh memory costs a page fault per 4 KiB page, a microsecond or
 * so on bare metal and tens of microseconds in some VMs; the tables of a
 * 100k-piece vocabulary span several MiB, so those faults were most of the
 * tokenizer's load time. Arrays of BIGMEM_MIN bytes or more are mapped
 * 2 MiB-aligned with MADV_HUGEPAGE (where the kernel allows it, a fault then
 * brings in 2 MiB); smaller ones come from malloc. Memory is not zeroed.
 */
#ifndef ERNIE_BIGMEM_H
#define ERNIE_BIGMEM_H

#include <stddef.h>

#define BIGMEM_MIN (256u << 10)

/* NULL if out of memory (no message: callers say what it was for). */
void *big_alloc(size_t size);
/* size must be the size given to big_alloc. */
void big_free(void *p, size_t size);

#endif
