/* main.c: the unit-test runner: runs the registered tests (test.h), one
 * result line each, and exits 1 if any failed. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

#define MAX_TESTS 1024

static struct {
	char name[80];
	TestFn fn;              /* a TEST */
	TestIsaFn isa_fn;       /* or a TEST_ISA, at isa */
	Isa isa;
} tests[MAX_TESTS];
static int ntests;
int test_failed;
const char *test_data_dir = "tests/data";
static char skip_why[256];      /* the running test's skip reason, or "" */

/* the suffixes of TEST_ISA's tests, in the order of Isa */
static const char *const isa_names[ISA_COUNT] = {
	[ISA_PORTABLE] = "portable", [ISA_AVX2] = "avx2", [ISA_AVX512] = "avx512",
	[ISA_AVX512BF16] = "avx512bf16",
};

static void add(const char *name, const char *suffix, TestFn fn, TestIsaFn isa_fn, Isa isa)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "test.h: more than %d tests\n", MAX_TESTS);
		abort();
	}
	snprintf(tests[ntests].name, sizeof tests[ntests].name, "%s%s%s", name,
		 suffix ? "_" : "", suffix ? suffix : "");
	tests[ntests].fn = fn;
	tests[ntests].isa_fn = isa_fn;
	tests[ntests].isa = isa;
	ntests++;
}

void test_register(const char *name, TestFn fn) { add(name, NULL, fn, NULL, ISA_AUTO); }

void test_register_isa(const char *name, TestIsaFn fn)
{
	for (Isa isa = ISA_PORTABLE; isa < ISA_COUNT; isa++)
		add(name, isa_names[isa], NULL, fn, isa);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;
	if (skip_why[0])
		return;         /* the first reason is the one that stopped it */
	va_start(ap, fmt);
	vsnprintf(skip_why, sizeof skip_why, fmt, ap);
	va_end(ap);
	if (!skip_why[0])
		snprintf(skip_why, sizeof skip_why, "(no reason given)");
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	const char *dir = getenv("TEST_DATA");
	int failures = 0;

	if (dir && *dir)
		test_data_dir = dir;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (only && !strstr(tests[i].name, only))
			continue;
		test_failed = 0;
		skip_why[0] = 0;
		if (tests[i].fn)
			tests[i].fn();
		else if (!isa_supported(tests[i].isa))
			test_skip("this CPU has no %s", isa_names[tests[i].isa]);
		else
			tests[i].isa_fn(tests[i].isa);
		if (test_failed)
			printf("FAIL %s\n", tests[i].name);
		else if (skip_why[0])
			printf("ok %s # skip: %s\n", tests[i].name, skip_why);
		else
			printf("ok %s\n", tests[i].name);
		failures += test_failed;
	}
	return failures != 0;
}
