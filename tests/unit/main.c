#include "test.h"

#include <stdlib.h>

#define MAX_TESTS 1024

static struct { const char *name; TestFn fn; } tests[MAX_TESTS];
static int ntests;
int test_failed;
const char *test_data_dir = "tests/data";

void test_register(const char *name, TestFn fn)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "test.h: more than %d tests\n", MAX_TESTS);
		abort();
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
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
		tests[i].fn();
		printf("%s %s\n", test_failed ? "FAIL" : "ok", tests[i].name);
		failures += test_failed;
	}
	return failures != 0;
}
