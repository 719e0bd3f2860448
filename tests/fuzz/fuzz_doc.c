/* libFuzzer target: YAML/JSON documents (lib/base/doc.c) and the scalar readers. */
#include "base/doc.h"

#include <stddef.h>
#include <stdint.h>

static void walk(const Doc *d, const DocNode *n)
{
	if (!n)
		return;
	long long i;
	double x;
	int b;
	const char *s;
	if (n->kind == DOC_SCALAR) {
		doc_int(d, n, "v", &i);
		doc_double(d, n, "v", &x);
		doc_bool(d, n, "v", &b);
		doc_string(d, n, "v", &s);
		doc_is_null(n);
		return;
	}
	size_t kids = n->kind == DOC_MAP ? 2 * n->n : n->n;
	for (size_t k = 0; k < kids; k++)
		walk(d, n->kids[k]);
	doc_get(n, "content");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Doc d;
	if (doc_load_buffer(&d, "fuzz", (const char *)data, size) == 0) {
		walk(&d, d.root);
		doc_free(&d);
	}
	return 0;
}
