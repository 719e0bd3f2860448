/* json.c: DocNode trees written as Python's json.dumps(ensure_ascii=False) writes them (json.h). */
#include "base/json.h"
#include "base/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?;
 * *integer says whether it has neither fraction nor exponent. */
static int is_number(const char *s, size_t n, int *integer)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i == n || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i++] != '0')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	*integer = i == n;
	if (i < n && s[i] == '.') {
		if (++i == n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

JsonScalar json_scalar(const DocNode *n)
{
	if (!n->plain)
		return JSON_STRING;
	if (doc_is_null(n))
		return JSON_NULL;
	if (!strcmp(n->str, "true") || !strcmp(n->str, "True"))
		return JSON_TRUE;
	if (!strcmp(n->str, "false") || !strcmp(n->str, "False"))
		return JSON_FALSE;
	int integer;
	if (is_number(n->str, n->len, &integer))
		return integer ? JSON_INT : JSON_FLOAT;
	return JSON_STRING;
}

/* Python's repr of a finite double: the shortest digits that read back the
 * same, fixed notation for decimal exponents -4..15 (with ".0" when whole),
 * else d.ddde+XX. */
static int write_float(double x, ByteBuf *out)
{
	if (isinf(x))
		return bytebuf_adds(out, x < 0 ? "-Infinity" : "Infinity");
	char e[40];
	for (int p = 0; p < 17; p++) {
		snprintf(e, sizeof e, "%.*e", p, x);
		if (strtod(e, NULL) == x)
			break;
	}
	/* e is [-]d[.ddd]e[+-]XX: gather the digits and the exponent */
	char digits[24], buf[64];
	int nd = 0, neg = e[0] == '-';
	const char *p = e + neg;
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	int exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	size_t w = 0;
	if (neg)
		buf[w++] = '-';
	if (exp >= -4 && exp < 16) {
		if (exp < 0) {
			buf[w++] = '0';
			buf[w++] = '.';
			for (int i = -1; i > exp; i--)
				buf[w++] = '0';
			memcpy(buf + w, digits, (size_t)nd);
			w += (size_t)nd;
		} else {
			for (int i = 0; i <= exp; i++)
				buf[w++] = i < nd ? digits[i] : '0';
			buf[w++] = '.';
			if (nd > exp + 1) {
				memcpy(buf + w, digits + exp + 1, (size_t)(nd - exp - 1));
				w += (size_t)(nd - exp - 1);
			} else {
				buf[w++] = '0';
			}
		}
	} else {
		buf[w++] = digits[0];
		if (nd > 1) {
			buf[w++] = '.';
			memcpy(buf + w, digits + 1, (size_t)(nd - 1));
			w += (size_t)(nd - 1);
		}
		w += (size_t)snprintf(buf + w, sizeof buf - w, "e%c%02d", exp < 0 ? '-' : '+',
				      exp < 0 ? -exp : exp);
	}
	return bytebuf_add(out, buf, w);
}

int json_write_string(const char *s, size_t len, ByteBuf *out)
{
	int rc = bytebuf_add(out, "\"", 1);
	size_t done = 0;
	for (size_t i = 0; !rc && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		char esc[8];
		switch (c) {
		case '"': strcpy(esc, "\\\""); break;
		case '\\': strcpy(esc, "\\\\"); break;
		case '\n': strcpy(esc, "\\n"); break;
		case '\r': strcpy(esc, "\\r"); break;
		case '\t': strcpy(esc, "\\t"); break;
		case '\b': strcpy(esc, "\\b"); break;
		case '\f': strcpy(esc, "\\f"); break;
		default: snprintf(esc, sizeof esc, "\\u%04x", c);
		}
		if (!(rc = bytebuf_add(out, s + done, i - done)))
			rc = bytebuf_adds(out, esc);
		done = i + 1;
	}
	if (!rc)
		rc = bytebuf_add(out, s + done, len - done);
	return rc ? rc : bytebuf_add(out, "\"", 1);
}

static int write_scalar(const DocNode *n, ByteBuf *out)
{
	switch (json_scalar(n)) {
	case JSON_NULL: return bytebuf_adds(out, "null");
	case JSON_TRUE: return bytebuf_adds(out, "true");
	case JSON_FALSE: return bytebuf_adds(out, "false");
	case JSON_INT:
		if (!strcmp(n->str, "-0"))
			return bytebuf_adds(out, "0");
		return bytebuf_add(out, n->str, n->len);
	case JSON_FLOAT: return write_float(strtod(n->str, NULL), out);
	case JSON_STRING: break;
	}
	return json_write_string(n->str, n->len, out);
}

int json_write(const DocNode *n, ByteBuf *out)
{
	if (n->kind == DOC_SCALAR)
		return write_scalar(n, out);
	int map = n->kind == DOC_MAP;
	int rc = bytebuf_adds(out, map ? "{" : "[");
	for (size_t i = 0; !rc && i < n->n; i++) {
		if (i)
			rc = bytebuf_adds(out, ", ");
		if (!rc && map) {
			const DocNode *k = n->kids[2 * i];
			/* a key that is a map or a list: Python would refuse it */
			rc = k->kind == DOC_SCALAR ? json_write_string(k->str, k->len, out) :
			     err(ERR_DATA, "line %d:%d: a map key that is not a string", k->line, k->col);
			if (!rc)
				rc = bytebuf_adds(out, ": ");
		}
		if (!rc)
			rc = json_write(map ? n->kids[2 * i + 1] : n->kids[i], out);
	}
	return rc ? rc : bytebuf_adds(out, map ? "}" : "]");
}
