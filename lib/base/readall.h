/* readall.h: whole files into memory, and YAML/JSON files checked for UTF-8.
 *
 * libyaml reports bad UTF-8 without a usable position; reading the bytes
 * first lets the message name the byte offset.
 */
#ifndef ERNIE_READALL_H
#define ERNIE_READALL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/doc.h"

/* Open path read-only if it is a regular file: opened with O_NONBLOCK, so a
 * FIFO put in place of a model file cannot block open() until a writer
 * comes, checked with fstat, then made blocking again. Returns the file
 * descriptor (close-on-exec; *st filled when st is not NULL), or -1 after
 * recording ERR_IO "path: not a regular file" or "path: strerror". */
int readall_open(const char *path, struct stat *st);
/* The same as a stdio stream ("rb"); NULL after recording ERR_IO. */
FILE *readall_fopen(const char *path);

/* Read f to its end into *buf (malloc'd, NUL-terminated, *len bytes).
 * name is used in messages. Returns 0 or ERR_IO. */
int readall_stream(FILE *f, const char *name, char **buf, size_t *len);
/* The same for the file at path ("-" is standard input; a pipe or FIFO is
 * read too, so `-c <(command)` works). */
int readall_file(const char *path, char **buf, size_t *len);
/* Read the file at path, check that it is UTF-8 without NULs (ERR_DATA
 * naming the byte offset) and parse it as YAML or JSON. */
int readall_doc(Doc *d, const char *path);

#endif
