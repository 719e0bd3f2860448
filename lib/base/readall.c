/* readall.c: whole regular files into memory, and YAML/JSON files checked for UTF-8 (readall.h). */
#include "base/readall.h"
#include "base/chars.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int readall_open(const char *path, struct stat *st)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err_errno(ERR_IO, "%s", path);
		return -1;
	}
	int flags = fcntl(fd, F_GETFL);
	if (fstat(fd, &sb) < 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		err_errno(ERR_IO, "%s", path);
	else if (!S_ISREG(sb.st_mode))
		err(ERR_IO, "%s: not a regular file", path);
	else {
		if (st)
			*st = sb;
		return fd;
	}
	close(fd);
	return -1;
}

FILE *readall_fopen(const char *path)
{
	int fd = readall_open(path, NULL);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		err_errno(ERR_IO, "%s", path);
		close(fd);
	}
	return f;
}

int readall_stream(FILE *f, const char *name, char **buf, size_t *len)
{
	size_t n = 0, cap = 4096;
	char *p = malloc(cap);
	for (;;) {
		if (!p)
			return err(ERR_IO, "%s: out of memory", name);
		size_t got = fread(p + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
		if (cap - n - 1 == 0) {
			char *q = realloc(p, cap *= 2);
			if (!q)
				free(p);
			p = q;
		}
	}
	if (ferror(f)) {
		free(p);
		return err_errno(ERR_IO, "%s: read error", name);
	}
	p[n] = 0;
	*buf = p;
	*len = n;
	return 0;
}

int readall_file(const char *path, char **buf, size_t *len)
{
	if (path[0] == '-' && !path[1])
		return readall_stream(stdin, "stdin", buf, len);
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_errno(ERR_IO, "%s", path);
	int rc = readall_stream(f, path, buf, len);
	fclose(f);
	return rc;
}

int readall_doc(Doc *d, const char *path)
{
	char *buf;
	size_t len;
	int rc = readall_file(path, &buf, &len);
	if (rc)
		return rc;
	const char *name = path[0] == '-' && !path[1] ? "stdin" : path;
	rc = chars_check(name, buf, len, 0);
	if (!rc)
		rc = doc_load_buffer(d, name, buf, len);
	free(buf);
	return rc;
}
