/* t_err.c: the error channel (lib/base/err.c): long messages keep their reason. */
#include "test.h"
#include "base/err.h"

#include <errno.h>
#include <stdlib.h>

/* A path of n bytes: "/" then one of c repeated (c may be a UTF-8 sequence). */
static char *path_of(size_t n, const char *c)
{
	char *p = malloc(n + 8);
	size_t k = 0, cl = strlen(c);
	p[k++] = '/';
	while (k + cl <= n)
		k += (size_t)sprintf(p + k, "%s", c);
	p[k] = 0;
	return p;
}

static int ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), e = strlen(end);
	return n >= e && !strcmp(s + n - e, end);
}

TEST(err_short_message_unchanged)
{
	err(ERR_DATA, "%s: line %d: %s", "f.txt", 3, "bad");
	CHECK_EQ_STR(err_msg(), "f.txt: line 3: bad");
	err_prefix(ERR_DATA, "<stdin>");
	CHECK_EQ_STR(err_msg(), "<stdin>: f.txt: line 3: bad");
}

TEST(err_long_path_keeps_the_reason)
{
	char *p = path_of(3000, "dir/");
	errno = ENOENT;
	err_errno(ERR_IO, "%s/tokenizer.model", p);
	const char *m = err_msg();
	CHECK(strlen(m) <= 1023);
	CHECK(ends_with(m, "/tokenizer.model: No such file or directory"));
	CHECK(!strncmp(m, "/dir/dir/", 9));
	CHECK(strstr(m, "...") != NULL);
	/* a prefix with a long path too: both are shortened, the reason stays */
	err_prefix(ERR_IO, "%s: cannot load", p);
	m = err_msg();
	CHECK(strlen(m) <= 1023);
	CHECK(strstr(m, ": cannot load: ") != NULL);
	CHECK(ends_with(m, "No such file or directory"));
	free(p);
}

TEST(err_cut_keeps_utf8_whole)
{
	char *p = path_of(2000, "\xc3\xa9");        /* é */
	err(ERR_DATA, "%s: bad", p);
	const char *m = err_msg();
	CHECK(strlen(m) <= 1023 && ends_with(m, ": bad"));
	for (const unsigned char *s = (const unsigned char *)m; *s; s++)
		if (*s == 0xc3)
			CHECK(s[1] == 0xa9);
		else if (*s == 0xa9)
			CHECK(s[-1] == 0xc3);
	free(p);
}

TEST(err_no_long_word_cuts_the_middle)
{
	char *words = malloc(4000);
	size_t k = 0;
	while (k < 3000)
		k += (size_t)sprintf(words + k, "ab ");
	err(ERR_DATA, "start %s end", words);
	const char *m = err_msg();
	CHECK(strlen(m) <= 1023);
	CHECK(!strncmp(m, "start ", 6) && ends_with(m, " end"));
	free(words);
}
