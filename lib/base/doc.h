/* doc.h: YAML and JSON files as a small tree.
 *
 * A text that starts with { or [ and is JSON is read exactly as JSON (keys
 * of any length, line breaks anywhere between tokens, every character of a
 * string as it is). Anything else is YAML, read by libyaml; escaped UTF-16
 * surrogate pairs, which JSON writers emit and libyaml refuses, are joined
 * first. Every node keeps the line and column where it starts, so callers
 * can say exactly where a wrong shape is. Aliases are refused (no billion-laughs expansion) and
 * nesting is bounded, so memory is a small multiple of the input size.
 */
#ifndef ERNIE_DOC_H
#define ERNIE_DOC_H

#include <stddef.h>

typedef enum { DOC_SCALAR, DOC_SEQ, DOC_MAP } DocKind;

typedef struct DocNode DocNode;
struct DocNode {
	DocKind kind;
	int line, col;      /* 1-based position of the node in the file */
	char *str;          /* DOC_SCALAR: NUL-terminated text (may hold NULs: use len) */
	size_t len;         /* DOC_SCALAR: bytes in str */
	int plain;          /* DOC_SCALAR: unquoted (so `null`/`true`/numbers mean what they say) */
	size_t n;           /* DOC_SEQ: items; DOC_MAP: key/value pairs */
	DocNode **kids;     /* DOC_SEQ: n items; DOC_MAP: 2n nodes, key0 val0 key1 val1 ... */
};

typedef struct {
	DocNode *root;      /* NULL for an empty document */
	char *name;         /* file name used in messages */
} Doc;

/* Parse a file (a regular file only: a model's files are never pipes, and a
 * FIFO is refused rather than waited on) / a buffer. On error: ERR_IO
 * (cannot read) or ERR_DATA with "name:line:col: problem". */
int doc_load_file(Doc *d, const char *path);
int doc_load_buffer(Doc *d, const char *name, const char *buf, size_t len);
void doc_free(Doc *d);

/* Map lookup (last one wins on duplicate keys, as in JSON parsers); NULL if
 * absent or if map is not a DOC_MAP. */
DocNode *doc_get(const DocNode *map, const char *key);

/* Scalar conversions. Each returns 0, or ERR_DATA with a message naming
 * d->name, the node's line:col and what (a key name, say) was expected. */
int doc_is_null(const DocNode *n);     /* absent, `null`, `~` or empty plain scalar */
int doc_int(const Doc *d, const DocNode *n, const char *what, long long *out);
int doc_double(const Doc *d, const DocNode *n, const char *what, double *out);
int doc_bool(const Doc *d, const DocNode *n, const char *what, int *out);
int doc_string(const Doc *d, const DocNode *n, const char *what, const char **out);

#endif
