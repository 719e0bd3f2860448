/* fuzzfile.h: what the fuzz targets share. The parsers under test read
 * files and directories, so each target writes its input into a scratch
 * directory made once per process (under $TMPDIR) and removed at exit. */
#ifndef ERNIE_FUZZFILE_H
#define ERNIE_FUZZFILE_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir_path[256];

static inline void fuzz_dir_remove(void)
{
	DIR *d = opendir(fuzz_dir_path);
	if (!d)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof p, "%s/%s", fuzz_dir_path, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(fuzz_dir_path);
}

/* The scratch directory (made on the first call). */
static inline const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/ernie-fuzz-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(fuzz_dir_path))
			abort();
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

/* Path of name inside the scratch directory (a static buffer per call site
 * is not needed: callers use it at once). */
static inline const char *fuzz_path(const char *name)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/%s", fuzz_dir(), name);
	return p;
}

/* Write data[0..n) to the scratch file name; data NULL removes it (an
 * absent optional file). */
static inline void fuzz_write(const char *name, const uint8_t *data, size_t n)
{
	const char *p = fuzz_path(name);
	if (!data) {
		unlink(p);
		return;
	}
	FILE *f = fopen(p, "wb");
	if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f))
		abort();
}

/* Cut data at its first NUL: *part gets the bytes before it, and data/size
 * move past it. Returns 0 when there was no NUL (then *part is all of it). */
static inline int fuzz_cut(const uint8_t **data, size_t *size, const uint8_t **part, size_t *n)
{
	const uint8_t *z = memchr(*data, 0, *size);
	*part = *data;
	*n = z ? (size_t)(z - *data) : *size;
	*data += z ? *n + 1 : *size;
	*size -= z ? *n + 1 : *size;
	return z != NULL;
}

#endif
