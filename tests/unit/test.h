/* test.h: the unit-test harness. Each tests/unit/t_*.c defines TEST(name)
 * functions; they register themselves and build/tests/unit runs them all
 * (or those whose name contains argv[1]), printing one line per test:
 *   ok NAME
 *   ok NAME # skip: why          (it could not run here: see SKIP)
 *   FAIL NAME                    (after "  file:line: what" lines)
 * tests/run counts the lines. */
#ifndef ERNIE_TEST_H
#define ERNIE_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/matmul.h"

typedef void (*TestFn)(void);
void test_register(const char *name, TestFn fn);
extern int test_failed;              /* set by CHECK in the running test */
extern const char *test_data_dir;    /* tests/data (or $TEST_DATA) */

#define TEST(name)                                                   \
	static void test_##name(void);                               \
	__attribute__((constructor)) static void reg_##name(void)    \
	{ test_register(#name, test_##name); }                       \
	static void test_##name(void)

/* TEST_ISA(name) { ... isa ... }: one test per instruction set, named
 * name_portable, name_avx2, name_avx512 and name_avx512bf16; each one this
 * CPU cannot run is a skip ("this CPU has no avx512"), never a pass. */
typedef void (*TestIsaFn)(Isa isa);
void test_register_isa(const char *name, TestIsaFn fn);

#define TEST_ISA(name)                                               \
	static void test_##name(Isa isa);                            \
	__attribute__((constructor)) static void reg_##name(void)    \
	{ test_register_isa(#name, test_##name); }                   \
	static void test_##name(Isa isa)

/* The running test could not run here (a missing instruction set, oracle
 * or file): it reports "ok NAME # skip: why" instead of a pass. Checks
 * that failed before or after still make it a FAIL. SKIP also returns from
 * the calling function. */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define SKIP(...) do { test_skip(__VA_ARGS__); return; } while (0)

#define CHECK(cond) do { if (!(cond)) {                                   \
	printf("  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond);        \
	test_failed = 1; } } while (0)

#define CHECK_EQ_INT(a, b) do { long long a_ = (a), b_ = (b); if (a_ != b_) { \
	printf("  %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
	test_failed = 1; } } while (0)

#define CHECK_EQ_STR(a, b) do { const char *a_ = (a), *b_ = (b);          \
	if (!a_ || !b_ || strcmp(a_, b_)) {                                \
	printf("  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
	       #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                \
	test_failed = 1; } } while (0)

#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b);             \
	if (!(fabs(a_ - b_) <= (tol))) {                                   \
	printf("  %s:%d: %s == %g, expected %g +- %g\n", __FILE__, __LINE__, \
	       #a, a_, b_, (double)(tol));                                 \
	test_failed = 1; } } while (0)

#endif
