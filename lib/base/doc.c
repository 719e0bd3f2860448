/* doc.c: JSON (a small exact parser) and YAML (libyaml's event parser) into a DocNode tree. */
#include "base/doc.h"
#include "base/err.h"
#include "base/readall.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <yaml.h>

#define DOC_MAX_DEPTH 64
#define DOC_MAX_FILE (256u << 20)   /* bytes; larger files are refused */

static void node_free(DocNode *n)
{
	if (!n)
		return;
	size_t kids = n->kind == DOC_MAP ? 2 * n->n : n->n;
	for (size_t i = 0; i < kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

void doc_free(Doc *d)
{
	node_free(d->root);
	free(d->name);
	d->root = NULL;
	d->name = NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* The 16-bit value of "\uXXXX" at p (p[0] == '\\'), or -1. */
static long escape_u16(const char *p, const char *end)
{
	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	long v = 0;
	for (int i = 2; i < 6; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* The code point of the escape "\uXXXX" (or a surrogate pair of two) at
 * p[0] == '\\' before q; *used gets its length. -1 if not one. */
static long json_escape_u(const char *p, const char *q, size_t *used)
{
	long hi = escape_u16(p, q);
	*used = 6;
	if (hi < 0xD800 || hi > 0xDFFF)
		return hi;
	long lo = hi <= 0xDBFF ? escape_u16(p + 6, q) : -1;
	if (lo < 0xDC00 || lo > 0xDFFF)
		return -1;              /* a lone surrogate is no character */
	*used = 12;
	return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

/* Characters JSON allows raw in a string that YAML does not: DEL, the C1
 * controls (YAML folds a raw U+0085 into a space) and U+FFFE / U+FFFF.
 * Returns the length of the one at p, 0 if p is not one. */
static size_t yaml_unprintable(const unsigned char *p, const unsigned char *end)
{
	if (p[0] == 0x7F)
		return 1;
	if (p[0] == 0xC2 && end - p >= 2 && p[1] >= 0x80 && p[1] <= 0x9F)
		return 2;
	if (p[0] == 0xEF && end - p >= 3 && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
		return 3;
	return 0;
}

/* The code point of the UTF-8 sequence of n bytes at p (as found above). */
static unsigned decode_small(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0];
	if (n == 2)
		return (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
	return (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
}

/* Rewrite JSON-isms inside double-quoted strings so that libyaml reads what
 * a JSON parser would: escaped UTF-16 surrogate pairs ("\ud83d\ude00", which
 * JSON writers emit and libyaml refuses) become the raw UTF-8 character, and
 * raw characters YAML cannot hold become \uXXXX escapes. Lines stay where
 * they were. Returns a new buffer (NULL when out of memory). */
static char *json_to_yaml(const char *in, size_t len, size_t *outlen)
{
	const unsigned char *b = (const unsigned char *)in, *end = b + len;
	size_t grow = 0;
	for (const unsigned char *p = b; p < end; p++)
		grow += yaml_unprintable(p, end) ? 6 : 0;
	char *out = malloc(len + grow + 1);
	if (!out)
		return NULL;
	size_t r = 0, w = 0;
	int quoted = 0;
	while (r < len) {
		size_t un = quoted ? yaml_unprintable(b + r, end) : 0;
		if (un) {
			w += (size_t)sprintf(out + w, "\\u%04X", decode_small(b + r, un));
			r += un;
			continue;
		}
		if (quoted && in[r] == '\\') {
			size_t used;
			long cp = json_escape_u(in + r, in + len, &used);
			if (cp >= 0 && used == 12) {
				w += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp,
								  (utf8proc_uint8_t *)out + w);
				r += 12;
				continue;
			}
			out[w++] = in[r++];             /* keep the escape's next char too */
			if (r < len)
				out[w++] = in[r++];
			continue;
		}
		if (in[r] == '"')
			quoted = !quoted;
		out[w++] = in[r++];
	}
	out[w] = 0;
	*outlen = w;
	return out;
}

typedef struct {
	yaml_parser_t parser;
	const char *name;
	const char *buf;        /* the text parsed, for reader-error positions */
	int depth;
} Loader;

static int load_error(Loader *L)
{
	yaml_parser_t *p = &L->parser;
	if (p->error == YAML_MEMORY_ERROR)
		return err(ERR_IO, "%s: out of memory", L->name);
	if (p->error == YAML_READER_ERROR) {    /* has an offset, not a mark */
		size_t line = 1, col = 1;
		for (size_t i = 0; i < p->problem_offset && L->buf[i]; i++, col++)
			if (L->buf[i] == '\n')
				line++, col = 0;
		return err(ERR_DATA, "%s:%zu:%zu: %s", L->name, line, col, p->problem);
	}
	/* libyaml gives up on a key 1024 characters after its start */
	int long_key = p->context && !strcmp(p->context, "while scanning a simple key") &&
		       p->problem_mark.index - p->context_mark.index > 1024;
	return err(ERR_DATA, "%s:%zu:%zu: %s%s%s%s", L->name, p->problem_mark.line + 1,
		   p->problem_mark.column + 1, p->problem ? p->problem : "syntax error",
		   p->context ? " " : "", p->context ? p->context : "",
		   long_key ? " (a YAML key is at most 1024 characters on one line; JSON has "
		   "no such limit)" : "");
}

static DocNode *node_new(DocKind kind, const yaml_mark_t *m)
{
	DocNode *n = calloc(1, sizeof *n);
	if (n) {
		n->kind = kind;
		n->line = (int)m->line + 1;
		n->col = (int)m->column + 1;
	}
	return n;
}

/* Parse one node whose first event is ev (consumed); *out gets the node. */
static int load_node(Loader *L, yaml_event_t *ev, DocNode **out);

static int next_event(Loader *L, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&L->parser, ev))
		return load_error(L);
	return 0;
}

/* Append kid as child number count of n. */
static int push(DocNode *n, size_t count, size_t *cap, DocNode *kid)
{
	if (count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		DocNode **k = realloc(n->kids, ncap * sizeof *k);
		if (!k)
			return err(ERR_IO, "out of memory");
		n->kids = k;
		*cap = ncap;
	}
	n->kids[count] = kid;
	return 0;
}

static int load_collection(Loader *L, DocNode *n, yaml_event_type_t end)
{
	size_t cap = 0, kids = 0;
	if (++L->depth > DOC_MAX_DEPTH)
		return err(ERR_DATA, "%s:%d:%d: nested deeper than %d levels", L->name,
			   n->line, n->col, DOC_MAX_DEPTH);
	int rc = 0;
	for (;;) {
		yaml_event_t ev;
		if ((rc = next_event(L, &ev)) != 0)
			break;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			L->depth--;
			return 0;
		}
		DocNode *kid = NULL;
		rc = load_node(L, &ev, &kid);
		if (!rc && (rc = push(n, kids, &cap, kid)) != 0)
			node_free(kid);
		if (rc)
			break;
		kids++;
		n->n = n->kind == DOC_MAP ? kids / 2 : kids;
	}
	if (n->kind == DOC_MAP && kids % 2)     /* a key without its value */
		node_free(n->kids[kids - 1]);
	return rc;
}

static int load_node(Loader *L, yaml_event_t *ev, DocNode **out)
{
	int rc = 0;
	DocNode *n = NULL;
	switch ((int)ev->type) {        /* libyaml's enum: the other events are errors */
	case YAML_SCALAR_EVENT:
		n = node_new(DOC_SCALAR, &ev->start_mark);
		if (n) {
			n->len = ev->data.scalar.length;
			n->str = malloc(n->len + 1);
			n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			if (n->str) {
				memcpy(n->str, ev->data.scalar.value, n->len);
				n->str[n->len] = 0;
			}
		}
		if (!n || !n->str)
			rc = err(ERR_IO, "%s: out of memory", L->name);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? DOC_SEQ : DOC_MAP, &ev->start_mark);
		if (!n)
			rc = err(ERR_IO, "%s: out of memory", L->name);
		else
			rc = load_collection(L, n, ev->type == YAML_SEQUENCE_START_EVENT ?
					     YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT);
		break;
	case YAML_ALIAS_EVENT:
		rc = err(ERR_DATA, "%s:%zu:%zu: YAML aliases are not supported", L->name,
			 ev->start_mark.line + 1, ev->start_mark.column + 1);
		break;
	default:
		rc = err(ERR_DATA, "%s:%zu:%zu: unexpected YAML event", L->name,
			 ev->start_mark.line + 1, ev->start_mark.column + 1);
	}
	yaml_event_delete(ev);
	if (rc) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* Stream start, at most one document, stream end. */
static int load_stream(Loader *L, DocNode **root)
{
	yaml_event_t ev;
	int rc = next_event(L, &ev);
	if (rc)
		return rc;
	yaml_event_delete(&ev);                 /* STREAM_START */
	if ((rc = next_event(L, &ev)) != 0)
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) { /* empty file */
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev);                 /* DOCUMENT_START */
	if ((rc = next_event(L, &ev)) != 0 || (rc = load_node(L, &ev, root)) != 0)
		return rc;
	if ((rc = next_event(L, &ev)) != 0)     /* DOCUMENT_END */
		return rc;
	yaml_event_delete(&ev);
	if ((rc = next_event(L, &ev)) != 0)
		return rc;
	if (ev.type != YAML_STREAM_END_EVENT)
		rc = err(ERR_DATA, "%s:%zu:%zu: more than one YAML document", L->name,
			 ev.start_mark.line + 1, ev.start_mark.column + 1);
	yaml_event_delete(&ev);
	return rc;
}

/* ---- JSON, read exactly --------------------------------------------------
 * libyaml reads JSON as YAML flow style, which is not quite JSON: it refuses
 * a key longer than 1024 characters or a line break between a key and its
 * colon, and folds a raw U+2028, U+2029 or U+0085 in a string as a line
 * break. So a document that starts with { or [ is read by this parser
 * first; one that is not JSON (YAML flow style such as [a, b], or a syntax
 * error) is then read by libyaml, which says what is wrong. */

#define JSON_NOT (-1)           /* not JSON: read the text as YAML */

typedef struct {
	const char *p, *end;    /* the text still to read */
	const char *mark;       /* line and col are those of mark (mark <= p) */
	int line, col;
	int depth;
} Json;

static void json_ws(Json *J)
{
	while (J->p < J->end && (*J->p == ' ' || *J->p == '\t' || *J->p == '\n' || *J->p == '\r'))
		J->p++;
}

/* A node at J->p, with its line and column (in characters, as libyaml's). */
static DocNode *json_node(Json *J, DocKind kind)
{
	DocNode *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	for (; J->mark < J->p; J->mark++) {
		if (*J->mark == '\n') {
			J->line++;
			J->col = 1;
		} else if (((unsigned char)*J->mark & 0xC0) != 0x80) {
			J->col++;
		}
	}
	n->kind = kind;
	n->line = J->line;
	n->col = J->col;
	return n;
}

/* The string at J->p (an opening quote) into n->str. */
static int json_string(Json *J, DocNode *n)
{
	const char *p = ++J->p, *q = p;
	while (q < J->end && *q != '"')
		q += *q == '\\' && q + 1 < J->end ? 2 : 1;
	if (q >= J->end)
		return JSON_NOT;
	char *out = n->str = malloc((size_t)(q - p) + 1);   /* escapes only shrink */
	if (!out)
		return err(ERR_IO, "out of memory");
	size_t w = 0;
	while (p < q) {
		unsigned char c = (unsigned char)*p;
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = 1;
		if (c < 0x20)
			return JSON_NOT;
		if (c >= 0x80) {
			k = utf8proc_iterate((const utf8proc_uint8_t *)p, q - p > 4 ? 4 : q - p, &cp);
			if (k < 0)
				return JSON_NOT;
			memcpy(out + w, p, (size_t)k);
			w += (size_t)k;
		} else if (c != '\\') {
			out[w++] = (char)c;
		} else if (p[1] == 'u') {
			size_t used;
			long u = json_escape_u(p, q, &used);
			if (u < 0)
				return JSON_NOT;
			w += (size_t)utf8proc_encode_char((utf8proc_int32_t)u, (utf8proc_uint8_t *)out + w);
			k = (utf8proc_ssize_t)used;
		} else {
			switch (p[1]) {
			case '"': case '\\': case '/': out[w++] = p[1]; break;
			case 'b': out[w++] = '\b'; break;
			case 'f': out[w++] = '\f'; break;
			case 'n': out[w++] = '\n'; break;
			case 'r': out[w++] = '\r'; break;
			case 't': out[w++] = '\t'; break;
			default: return JSON_NOT;
			}
			k = 2;
		}
		p += k;
	}
	out[w] = 0;
	n->len = w;
	J->p = q + 1;
	return 0;
}

/* true, false, null or a number, as a plain scalar. */
static int json_literal(Json *J, DocNode *n)
{
	const char *p = J->p, *q = p;
	size_t left = (size_t)(J->end - p);
	static const char *const words[] = { "true", "false", "null" };
	for (int i = 0; i < 3 && q == p; i++)
		if (left >= strlen(words[i]) && !memcmp(p, words[i], strlen(words[i])))
			q = p + strlen(words[i]);
	if (q == p) {           /* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
		if (q < J->end && *q == '-')
			q++;
		const char *int_start = q;
		while (q < J->end && *q >= '0' && *q <= '9')
			q++;
		if (q == int_start || (*int_start == '0' && q - int_start > 1))
			return JSON_NOT;
		if (q < J->end && *q == '.') {
			const char *f = ++q;
			while (q < J->end && *q >= '0' && *q <= '9')
				q++;
			if (q == f)
				return JSON_NOT;
		}
		if (q < J->end && (*q == 'e' || *q == 'E')) {
			q += q + 1 < J->end && (q[1] == '+' || q[1] == '-') ? 2 : 1;
			const char *x = q;
			while (q < J->end && *q >= '0' && *q <= '9')
				q++;
			if (q == x)
				return JSON_NOT;
		}
	}
	n->plain = 1;
	n->len = (size_t)(q - p);
	if (!(n->str = malloc(n->len + 1)))
		return err(ERR_IO, "out of memory");
	memcpy(n->str, p, n->len);
	n->str[n->len] = 0;
	J->p = q;
	return 0;
}

static int json_value(Json *J, DocNode **out);

/* One value (a key: a string) appended to n. */
static int json_kid(Json *J, DocNode *n, size_t *kids, size_t *cap, int key)
{
	DocNode *kid = NULL;
	json_ws(J);
	if (key && (J->p >= J->end || *J->p != '"'))
		return JSON_NOT;
	int rc = json_value(J, &kid);
	if (!rc && (rc = push(n, *kids, cap, kid)) != 0)
		node_free(kid);
	if (!rc)
		++*kids;
	return rc;
}

/* White space, then c. */
static int json_expect(Json *J, char c)
{
	json_ws(J);
	if (J->p >= J->end || *J->p != c)
		return JSON_NOT;
	J->p++;
	return 0;
}

/* The object or array at J->p into n. */
static int json_collection(Json *J, DocNode *n)
{
	int map = n->kind == DOC_MAP, rc = 0;
	char close = map ? '}' : ']';
	size_t cap = 0, kids = 0;
	if (++J->depth > DOC_MAX_DEPTH)
		return JSON_NOT;        /* libyaml then says how deep is too deep */
	J->p++;
	json_ws(J);
	if (J->p < J->end && *J->p == close) {
		J->p++;
		J->depth--;
		return 0;
	}
	for (;;) {
		if (map && !(rc = json_kid(J, n, &kids, &cap, 1)))
			rc = json_expect(J, ':');
		if (!rc)
			rc = json_kid(J, n, &kids, &cap, 0);
		n->n = map ? kids / 2 : kids;
		json_ws(J);
		if (rc || J->p >= J->end || *J->p != ',')
			break;
		J->p++;
	}
	if (!rc)
		rc = json_expect(J, close);
	if (rc && map && kids % 2)      /* a key without its value */
		node_free(n->kids[kids - 1]);
	J->depth--;
	return rc;
}

static int json_value(Json *J, DocNode **out)
{
	json_ws(J);
	if (J->p >= J->end)
		return JSON_NOT;
	char c = *J->p;
	DocNode *n = json_node(J, c == '{' ? DOC_MAP : c == '[' ? DOC_SEQ : DOC_SCALAR);
	if (!n)
		return err(ERR_IO, "out of memory");
	int rc = c == '{' || c == '[' ? json_collection(J, n) :
		 c == '"' ? json_string(J, n) : json_literal(J, n);
	if (rc) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* 0 with *root set, ERR_IO, or JSON_NOT: the text is not a JSON object or
 * array (then *root is NULL). */
static int json_load(const char *buf, size_t len, DocNode **root)
{
	Json J = { buf, buf + len, buf, 1, 1, 0 };
	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))        /* a byte-order mark */
		J.p = J.mark = buf + 3;
	json_ws(&J);
	if (J.p >= J.end || (*J.p != '{' && *J.p != '['))
		return JSON_NOT;
	int rc = json_value(&J, root);
	json_ws(&J);
	if (!rc && J.p < J.end)
		rc = JSON_NOT;          /* more after the value */
	if (rc) {
		node_free(*root);
		*root = NULL;
	}
	return rc;
}

int doc_load_buffer(Doc *d, const char *name, const char *buf, size_t len)
{
	memset(d, 0, sizeof *d);
	d->name = strdup(name);
	int rc = d->name ? json_load(buf, len, &d->root) : ERR_IO;
	if (rc == ERR_IO)
		doc_free(d);
	if (rc != JSON_NOT)
		return rc == ERR_IO ? err(ERR_IO, "%s: out of memory", name) : rc;
	size_t clen = 0;
	char *copy = json_to_yaml(buf, len, &clen);
	if (!copy) {
		doc_free(d);
		return err(ERR_IO, "%s: out of memory", name);
	}

	Loader L = { .name = d->name, .buf = copy };
	if (!yaml_parser_initialize(&L.parser)) {
		free(copy);
		doc_free(d);
		return err(ERR_IO, "%s: out of memory", name);
	}
	yaml_parser_set_input_string(&L.parser, (const unsigned char *)copy, clen);
	rc = load_stream(&L, &d->root);
	yaml_parser_delete(&L.parser);
	free(copy);
	if (rc) {
		node_free(d->root);
		d->root = NULL;
		doc_free(d);
	}
	return rc;
}

int doc_load_file(Doc *d, const char *path)
{
	memset(d, 0, sizeof *d);
	FILE *f = readall_fopen(path);
	if (!f)
		return ERR_IO;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= DOC_MAX_FILE) {
				rc = err(ERR_DATA, "%s: larger than %u MiB", path, DOC_MAX_FILE >> 20);
				break;
			}
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				rc = err(ERR_IO, "%s: out of memory", path);
				break;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f))
				rc = err_errno(ERR_IO, "%s: read error", path);
			break;
		}
	}
	fclose(f);
	if (!rc)
		rc = doc_load_buffer(d, path, buf ? buf : "", len);
	free(buf);
	return rc;
}

DocNode *doc_get(const DocNode *map, const char *key)
{
	DocNode *found = NULL;
	if (!map || map->kind != DOC_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		const DocNode *k = map->kids[2 * i];
		if (k->kind == DOC_SCALAR && k->len == klen && !memcmp(k->str, key, klen))
			found = map->kids[2 * i + 1];
	}
	return found;
}

int doc_is_null(const DocNode *n)
{
	if (!n)
		return 1;
	if (n->kind != DOC_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || !strcmp(n->str, "null") || !strcmp(n->str, "~") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

static int want(const Doc *d, const DocNode *n, const char *what, const char *kind)
{
	if (!n)
		return err(ERR_DATA, "%s: missing %s", d->name, what);
	return err(ERR_DATA, "%s:%d:%d: %s: expected %s", d->name, n->line, n->col, what, kind);
}

int doc_int(const Doc *d, const DocNode *n, const char *what, long long *out)
{
	if (!n || n->kind != DOC_SCALAR || !n->plain || n->len == 0)
		return want(d, n, what, "an integer");
	char *end;
	errno = 0;
	long long v = strtoll(n->str, &end, 10);
	if (*end == '.') {         /* JSON writers may say 64.0 */
		double x = strtod(n->str, &end);
		if (*end || !(fabs(x) <= 9e15) || x != floor(x))
			return want(d, n, what, "an integer");
		v = (long long)x;
	}
	if (errno || *end)
		return want(d, n, what, "an integer");
	*out = v;
	return 0;
}

int doc_double(const Doc *d, const DocNode *n, const char *what, double *out)
{
	if (!n || n->kind != DOC_SCALAR || !n->plain || n->len == 0)
		return want(d, n, what, "a number");
	char *end;
	errno = 0;
	double v = strtod(n->str, &end);
	if (errno || *end || !isfinite(v))
		return want(d, n, what, "a finite number");
	*out = v;
	return 0;
}

int doc_bool(const Doc *d, const DocNode *n, const char *what, int *out)
{
	if (n && n->kind == DOC_SCALAR && n->plain) {
		if (!strcmp(n->str, "true") || !strcmp(n->str, "True")) {
			*out = 1;
			return 0;
		}
		if (!strcmp(n->str, "false") || !strcmp(n->str, "False")) {
			*out = 0;
			return 0;
		}
	}
	return want(d, n, what, "true or false");
}

int doc_string(const Doc *d, const DocNode *n, const char *what, const char **out)
{
	if (!n || n->kind != DOC_SCALAR)
		return want(d, n, what, "a string");
	*out = n->str;
	return 0;
}
