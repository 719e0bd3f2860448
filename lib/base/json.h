/* json.h: a DocNode tree written as JSON, the way Python's json.dumps does
 * with ensure_ascii=False: ", " and ": " separators, keys in input order,
 * non-ASCII characters as they are, no HTML escaping. This is the tojson of
 * Hugging Face's chat templates (Jinja2's own tojson sorts keys and escapes
 * <, >, &, ' and is not what the models were trained on).
 *
 * Scalars: a quoted scalar is a string; a plain (unquoted) one is null
 * (null, ~, empty), true or false (as doc_bool reads them), a number when it
 * is a JSON number (integers are copied, "-0" as 0; other numbers are
 * written as Python's repr of the double: 1.5, 100000.0, 1e+16, Infinity),
 * and a string otherwise. Map keys are always strings.
 */
#ifndef ERNIE_JSON_H
#define ERNIE_JSON_H

#include <stddef.h>

#include "base/bytebuf.h"
#include "base/doc.h"

typedef enum { JSON_STRING, JSON_NULL, JSON_TRUE, JSON_FALSE, JSON_INT, JSON_FLOAT } JsonScalar;

/* What a scalar node stands for, by the rules above. */
JsonScalar json_scalar(const DocNode *n);

/* Append n as JSON to out. Returns 0, ERR_DATA (a map key that is a map or
 * a list: "line L:C: ...") or ERR_IO (out of memory). */
int json_write(const DocNode *n, ByteBuf *out);

/* Append s[0..len) as a JSON string (quotes included). Returns 0 or ERR_IO. */
int json_write_string(const char *s, size_t len, ByteBuf *out);

#endif
