/* readall.h: whole files into memory, and YAML/JSON files checked for UTF-8.
 *
 * libyaml reports bad UTF-8 without a usable position; reading the bytes
 * first lets the message name the byte offset.
 */
#ifndef ERNIE_READALL_H
#define ERNIE_READALL_H

#include <stddef.h>
#include <stdio.h>

#include "base/doc.h"

/* Read f to its end into *buf (malloc'd, NUL-terminated, *len bytes).
 * name is used in messages. Returns 0 or ERR_IO. */
int readall_stream(FILE *f, const char *name, char **buf, size_t *len);
/* The same for the file at path ("-" is standard input). */
int readall_file(const char *path, char **buf, size_t *len);
/* Read the file at path, check that it is UTF-8 without NULs (ERR_DATA
 * naming the byte offset) and parse it as YAML or JSON. */
int readall_doc(Doc *d, const char *path);

#endif
