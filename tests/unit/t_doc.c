#include "test.h"
#include "base/doc.h"
#include "base/err.h"

static int load(Doc *d, const char *text)
{
	return doc_load_buffer(d, "t.json", text, strlen(text));
}

TEST(doc_json_object)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "{\"a\": 1, \"b\": [true, null, \"x\"], \"c\": 2.5e3}"), 0);
	long long a;
	double c;
	int t;
	CHECK_EQ_INT(doc_int(&d, doc_get(d.root, "a"), "a", &a), 0);
	CHECK_EQ_INT(a, 1);
	CHECK_EQ_INT(doc_double(&d, doc_get(d.root, "c"), "c", &c), 0);
	CHECK_NEAR(c, 2500, 0);
	DocNode *b = doc_get(d.root, "b");
	CHECK(b && b->kind == DOC_SEQ && b->n == 3);
	CHECK_EQ_INT(doc_bool(&d, b->kids[0], "b[0]", &t), 0);
	CHECK_EQ_INT(t, 1);
	CHECK(doc_is_null(b->kids[1]));
	CHECK(!doc_is_null(b->kids[2]));
	CHECK(doc_get(d.root, "missing") == NULL);
	doc_free(&d);
}

TEST(doc_quoted_null_is_a_string)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "[\"null\", null, '']"), 0);
	CHECK(!doc_is_null(d.root->kids[0]));
	CHECK(doc_is_null(d.root->kids[1]));
	CHECK(!doc_is_null(d.root->kids[2]));
	doc_free(&d);
}

TEST(doc_surrogate_pairs_joined)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "{\"e\": \"a\\ud83d\\ude00b\\\\ud83d\", \"f\": \"\\u00e9\"}"), 0);
	CHECK_EQ_STR(doc_get(d.root, "e")->str, "a\xF0\x9F\x98\x80" "b\\ud83d");
	CHECK_EQ_STR(doc_get(d.root, "f")->str, "\xC3\xA9");
	doc_free(&d);
}

TEST(doc_yaml_block)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "- role: user\n  content: |\n    two\n    lines\n"), 0);
	CHECK(d.root && d.root->kind == DOC_SEQ && d.root->n == 1);
	CHECK_EQ_STR(doc_get(d.root->kids[0], "content")->str, "two\nlines\n");
	CHECK_EQ_INT(doc_get(d.root->kids[0], "content")->line, 2);
	doc_free(&d);
}

TEST(doc_errors_name_line_and_column)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "{\"a\": 1,\n \"b\": [1, 2}\n"), ERR_DATA);
	CHECK(strstr(err_msg(), "t.json:2:") != NULL);
	CHECK_EQ_INT(load(&d, "a: &x [1]\nb: *x\n"), ERR_DATA);
	CHECK(strstr(err_msg(), "alias") != NULL);
	CHECK_EQ_INT(load(&d, "a: 1\n---\nb: 2\n"), ERR_DATA);
	CHECK_EQ_INT(load(&d, "{\"n\": \"x\"}"), 0);
	long long v;
	CHECK_EQ_INT(doc_int(&d, doc_get(d.root, "n"), "n", &v), ERR_DATA);
	CHECK(strstr(err_msg(), "t.json:1:7: n: expected an integer") != NULL);
	CHECK_EQ_INT(doc_int(&d, doc_get(d.root, "m"), "m", &v), ERR_DATA);
	CHECK(strstr(err_msg(), "missing m") != NULL);
	doc_free(&d);
}

TEST(doc_depth_bounded)
{
	char buf[400];
	memset(buf, '[', 200);
	memset(buf + 200, ']', 199);
	buf[399] = 0;
	Doc d;
	CHECK_EQ_INT(load(&d, buf), ERR_DATA);
	CHECK(strstr(err_msg(), "nested deeper") != NULL);
}

TEST(doc_empty)
{
	Doc d;
	CHECK_EQ_INT(load(&d, ""), 0);
	CHECK(d.root == NULL);
	doc_free(&d);
}

TEST(doc_json_characters_yaml_refuses)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "[\"a\x7f" "b\", \"\xc2\x85\", \"\xef\xbf\xbf\"]"), 0);
	CHECK_EQ_STR(d.root->kids[0]->str, "a\x7f" "b");
	CHECK_EQ_STR(d.root->kids[1]->str, "\xc2\x85");
	CHECK_EQ_STR(d.root->kids[2]->str, "\xef\xbf\xbf");
	doc_free(&d);
	CHECK_EQ_INT(load(&d, "a: 1\nb: \x01\n"), ERR_DATA);
	CHECK(strstr(err_msg(), "t.json:2:4:") != NULL);
}

/* JSON is read as JSON, not as YAML flow style: libyaml's 1024-character
 * limit on keys, its refusal of a line break before the colon, and its
 * folding of U+2028/U+2029/U+0085 as line breaks do not apply. */
TEST(doc_json_read_exactly)
{
	Doc d;
	char buf[3000];
	memset(buf, 0, sizeof buf);
	strcpy(buf, "{\"");
	memset(buf + 2, 'k', 2000);
	strcpy(buf + 2002, "\": 1}");
	CHECK_EQ_INT(load(&d, buf), 0);
	CHECK(d.root && d.root->n == 1 && d.root->kids[0]->len == 2000);
	doc_free(&d);
	CHECK_EQ_INT(load(&d, "{\"a\"\n  : \"b\",\n \"c\"\n:\n[1, 2.5e3, -0, true, null]}"), 0);
	CHECK_EQ_STR(doc_get(d.root, "a")->str, "b");
	CHECK_EQ_INT((int)doc_get(d.root, "c")->n, 5);
	CHECK_EQ_INT(doc_get(d.root, "c")->line, 5);
	CHECK(doc_is_null(doc_get(d.root, "c")->kids[4]));
	doc_free(&d);
	CHECK_EQ_INT(load(&d, "[\"a \xe2\x80\xa8 b\", \"c \xe2\x80\xa9 d\", \"e \xc2\x85 f\"]"), 0);
	CHECK_EQ_STR(d.root->kids[0]->str, "a \xe2\x80\xa8 b");
	CHECK_EQ_STR(d.root->kids[1]->str, "c \xe2\x80\xa9 d");
	CHECK_EQ_STR(d.root->kids[2]->str, "e \xc2\x85 f");
	doc_free(&d);
	/* escapes, \u0000 included (the length says where the string ends) */
	CHECK_EQ_INT(load(&d, "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u0000x\"]"), 0);
	CHECK_EQ_INT((int)d.root->kids[0]->len, 12);
	CHECK(!memcmp(d.root->kids[0]->str, "\"\\/\b\f\n\r\t\xc3\xa9\0x", 12));
	doc_free(&d);
	/* positions are in characters, as libyaml's */
	CHECK_EQ_INT(load(&d, "{\"\xc3\xa9\": \"x\", \"n\": \"y\"}"), 0);
	CHECK_EQ_INT(doc_get(d.root, "n")->col, 17);
	doc_free(&d);
}

/* What is not JSON is read as YAML, with libyaml's messages. */
TEST(doc_not_json_is_yaml)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "[a, b]"), 0);
	CHECK_EQ_STR(d.root->kids[1]->str, "b");
	CHECK(d.root->kids[1]->plain);
	doc_free(&d);
	CHECK_EQ_INT(load(&d, "{role: user, content: 'x',}"), 0);
	CHECK_EQ_STR(doc_get(d.root, "content")->str, "x");
	doc_free(&d);
	CHECK_EQ_INT(load(&d, "[\"\\ud800\"]"), ERR_DATA);      /* a lone surrogate */
	CHECK_EQ_INT(load(&d, "[01]"), 0);                     /* YAML's plain 01 */
	doc_free(&d);
}

/* Not JSON after some items: what was read is freed once (found by fuzz_doc) */
TEST(doc_json_partial_freed)
{
	Doc d;
	CHECK_EQ_INT(load(&d, "[1, 2, 3 x"), ERR_DATA);
	CHECK_EQ_INT(load(&d, "{\"a\": [1] x"), ERR_DATA);
	CHECK_EQ_INT(load(&d, "{\"a\" x"), ERR_DATA);
}
