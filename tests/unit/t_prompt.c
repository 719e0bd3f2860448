/* Unit tests for ernie-prompt's library parts: the embedded official texts,
 * UTF-8 checks and cuts, Beijing time, placeholder filling, special-token
 * neutralisation, the references layout and the files' shapes. */
#include "test.h"

#include "prompt/bjtime.h"
#include "base/chars.h"
#include "prompt/conversation.h"
#include "base/err.h"
#include "prompt/neutral.h"
#include "prompt/prompt.h"
#include "base/readall.h"
#include "prompt/references.h"

#include <stdlib.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static char *data_file(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/prompt/%s", test_data_dir, name);
	char *buf = NULL;
	if (readall_file(path, &buf, len))
		printf("  cannot read %s: %s\n", path, err_msg());
	return buf;
}

/* Write text to a fresh temporary file; the caller unlinks path. */
static void temp_file(char path[64], const char *text)
{
	snprintf(path, 64, "/tmp/t_prompt.XXXXXX");
	int fd = mkstemp(path);
	if (fd >= 0) {
		FILE *f = fdopen(fd, "w");
		fputs(text, f);
		fclose(f);
	}
}

static void check_text(const char *name, const char *embedded)
{
	size_t len;
	char *want = data_file(name, &len);
	CHECK(want != NULL);
	if (want) {
		CHECK_EQ_INT(strlen(embedded), len);
		CHECK(strlen(embedded) == len && !memcmp(embedded, want, len));
	}
	free(want);
}

/* ---- the official texts ------------------------------------------------- */

TEST(prompt_texts_equal_official_files)
{
	check_text("chat_template.jinja", prompt_chat_template);
	check_text("websearch_zh.txt", prompt_websearch_zh);
	check_text("websearch_en.txt", prompt_websearch_en);
	CHECK(prompt_websearch_en[0] == '\n');
}

TEST(prompt_model_official_config_is_known)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/prompt", test_data_dir);
	PromptModel m;
	CHECK_EQ_INT(prompt_model_load(&m, dir), 0);
	CHECK_EQ_INT(m.known, 1);       /* the embedded template is the config's */
	CHECK_EQ_STR(m.cls, "<|begin_of_sentence|>");
	CHECK_EQ_STR(m.sep, "<|end_of_sentence|>");
	prompt_model_free(&m);
	CHECK_EQ_INT(prompt_model_load(&m, "/nonexistent-ernie-dir"), 0);  /* no file: defaults */
	CHECK_EQ_INT(m.known, 1);
	prompt_model_free(&m);
}

TEST(prompt_model_other_template_is_unknown)
{
	char path[128], dir[64];
	snprintf(dir, sizeof dir, "/tmp/t_prompt_model.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"chat_template\": \"{{ messages }}\", \"cls_token\": \"<c>\"}", f);
	fclose(f);
	PromptModel m;
	CHECK_EQ_INT(prompt_model_load(&m, dir), 0);
	CHECK_EQ_INT(m.known, 0);
	CHECK_EQ_STR(m.cls, "<c>");
	CHECK_EQ_STR(m.sep, "<|end_of_sentence|>");
	prompt_model_free(&m);
	unlink(path);
	rmdir(dir);
}

/* ---- chars -------------------------------------------------------------- */

TEST(chars_check_names_the_offset)
{
	CHECK_EQ_INT(chars_check("x", "h\xc3\xa9llo \xe4\xbd\xa0", 10, 0), 0);
	CHECK_EQ_INT(chars_check("x", "ab\xff" "c", 4, 0), ERR_DATA);
	CHECK_EQ_STR(err_msg(), "x: invalid UTF-8 at byte offset 2");
	CHECK_EQ_INT(chars_check("f", "ab\xff" "c", 4, 10), ERR_DATA);
	CHECK_EQ_STR(err_msg(), "f: invalid UTF-8 at byte offset 12");
	CHECK_EQ_INT(chars_check("x", "\xc0\x80", 2, 0), ERR_DATA);       /* overlong */
	CHECK_EQ_STR(err_msg(), "x: invalid UTF-8 at byte offset 0");
	CHECK_EQ_INT(chars_check("x", "a\xed\xa0\x80", 4, 0), ERR_DATA);  /* surrogate */
	CHECK_EQ_STR(err_msg(), "x: invalid UTF-8 at byte offset 1");
	CHECK_EQ_INT(chars_check("x", "ab\xe4\xbd", 4, 0), ERR_DATA);     /* cut short */
	CHECK_EQ_STR(err_msg(), "x: invalid UTF-8 at byte offset 2");
	CHECK_EQ_INT(chars_check("x", "a\0b", 3, 0), ERR_DATA);
	CHECK_EQ_STR(err_msg(), "x: NUL byte at byte offset 1");
}

TEST(chars_has_han)
{
	CHECK_EQ_INT(chars_has_han("hello", 5), 0);
	CHECK_EQ_INT(chars_has_han("What is \xe4\xbd\xa0?", 12), 1);          /* 你 */
	CHECK_EQ_INT(chars_has_han("\xe3\x82\xab\xe3\x82\xbf", 6), 0);          /* カタ */
	CHECK_EQ_INT(chars_has_han("\xed\x95\x9c", 3), 0);                      /* 한 */
	CHECK_EQ_INT(chars_has_han("\xe3\x80\x87", 3), 0);                      /* 〇 is Nl */
	CHECK_EQ_INT(chars_has_han("\xf0\xa0\x80\x80", 4), 1);                  /* U+20000 */
	CHECK_EQ_INT(chars_has_han("\xef\xa4\x80", 3), 1);                      /* U+F900 */
	CHECK_EQ_INT(chars_has_han("\xe3\x90\x80", 3), 1);                      /* U+3400 */
	CHECK_EQ_INT(chars_has_han("\xef\xbc\x9f", 3), 0);                      /* ？ */
}

TEST(chars_cut_at_grapheme_boundaries)
{
	CHECK_EQ_INT(chars_cut("abc", 3, 3), 3);
	CHECK_EQ_INT(chars_cut("abc", 3, 2), 2);
	CHECK_EQ_INT(chars_cut("abc", 3, 1), 1);
	/* 你好世界: 3 bytes each */
	CHECK_EQ_INT(chars_cut("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c", 12, 2), 6);
	/* e + U+0301 COMBINING ACUTE, then x: the mark stays with its letter */
	const char *acute = "e\xcc\x81x";
	CHECK_EQ_INT(chars_cut(acute, 4, 1), 3);       /* the first cluster, whole */
	CHECK_EQ_INT(chars_cut(acute, 4, 2), 3);
	CHECK_EQ_INT(chars_cut(acute, 4, 3), 4);
	/* man ZWJ woman ZWJ girl (5 code points, 18 bytes), then a */
	const char *family = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
			     "\xf0\x9f\x91\xa7" "a";
	CHECK_EQ_INT(chars_cut(family, 19, 1), 18);
	CHECK_EQ_INT(chars_cut(family, 19, 4), 18);
	CHECK_EQ_INT(chars_cut(family, 18, 1), 18);
	CHECK_EQ_INT(chars_cut(family, 19, 5), 18);
	/* two flags: regional indicators pair up */
	const char *flags = "\xf0\x9f\x87\xa8\xf0\x9f\x87\xb3\xf0\x9f\x87\xba\xf0\x9f\x87\xb8";
	CHECK_EQ_INT(chars_cut(flags, 16, 1), 8);
	CHECK_EQ_INT(chars_cut(flags, 16, 3), 8);
	CHECK_EQ_INT(chars_cut("a\r\nb", 4, 2), 1);     /* CR LF is one cluster */
}

/* ---- Beijing time ------------------------------------------------------- */

TEST(bjtime_format_is_utc_plus_8)
{
	/* expected strings from Python's datetime with timezone(timedelta(hours=8)) */
	char s[BJTIME_SIZE];
	bjtime_format(0, s);
	CHECK_EQ_STR(s, "1970-01-01 08:00:00, Thursday, Beijing/China");
	bjtime_format(1751333400, s);
	CHECK_EQ_STR(s, "2025-07-01 09:30:00, Tuesday, Beijing/China");
	bjtime_format(1751299199, s);
	CHECK_EQ_STR(s, "2025-06-30 23:59:59, Monday, Beijing/China");
	bjtime_format(1751299200, s);
	CHECK_EQ_STR(s, "2025-07-01 00:00:00, Tuesday, Beijing/China");
}

/* ---- filling and the chat template ------------------------------------- */

static void check_fill(const char *tmpl, const char *date, const char *refs, const char *q,
		       const char *want)
{
	const char *val[FILLS] = { date, refs, q };
	const size_t len[FILLS] = { strlen(date), strlen(refs), strlen(q) };
	ByteBuf out = { 0 };
	CHECK_EQ_INT(prompt_fill(tmpl, strlen(tmpl), val, len, &out), 0);
	CHECK_EQ_STR(out.s ? out.s : "", want);
	bytebuf_free(&out);
}

TEST(prompt_fill_one_pass)
{
	check_fill("{date}|{references}|{question}", "D", "R", "Q", "D|R|Q");
	/* inserted text is not searched again, like str.format */
	check_fill("{date} {question}", "{question}", "", "q", "{question} q");
	check_fill("{x} {date {question}} {question", "d", "r", "q", "{x} {date q} {question");
	check_fill("{question}{question}", "", "", "ab", "abab");
	check_fill("", "d", "r", "q", "");
	CHECK_EQ_INT(prompt_has("a {question} b", 14, FILL_QUESTION), 1);
	CHECK_EQ_INT(prompt_has("a {question b", 13, FILL_QUESTION), 0);
	CHECK_EQ_INT(prompt_has("{date}", 6, FILL_QUESTION), 0);
}

TEST(prompt_chat_layout)
{
	PromptModel m;
	CHECK_EQ_INT(prompt_model_load(&m, NULL), 0);
	Conversation c = { 0 };
	conv_add(&c, ROLE_SYSTEM, "S", 1);
	conv_add(&c, ROLE_USER, "U", 1);
	conv_add(&c, ROLE_ASSISTANT, "A", 1);
	conv_add(&c, ROLE_USER, "", 0);
	ByteBuf out = { 0 };
	CHECK_EQ_INT(prompt_chat(&m, &c, 1, &out), 0);
	CHECK_EQ_STR(out.s, "<|begin_of_sentence|>S\nUser: U\nAssistant: A<|end_of_sentence|>"
		     "User: \nAssistant: ");
	bytebuf_free(&out);
	CHECK_EQ_INT(prompt_chat(&m, &(Conversation){ 0 }, 0, &out), 0);
	CHECK_EQ_STR(out.s, "<|begin_of_sentence|>");
	bytebuf_free(&out);
	conv_free(&c);
	prompt_model_free(&m);
}

/* ---- neutralisation ----------------------------------------------------- */

static void check_neutral(const Specials *s, const char *in, const char *want, size_t count,
			  const char *changes)
{
	ByteBuf out = { 0 };
	Neutral nt = { 0 };
	CHECK_EQ_INT(neutral_text(s, in, strlen(in), &out, &nt), 0);
	CHECK_EQ_STR(out.s ? out.s : "", want);
	CHECK_EQ_INT(nt.count, count);
	CHECK_EQ_STR(nt.changes.s ? nt.changes.s : "", changes);
	neutral_free(&nt);
	bytebuf_free(&out);
}

#define LT_MADE "'<' made '\xef\xbc\x9c'"

TEST(neutral_builtin_tokens)
{
	Specials s;
	CHECK_EQ_INT(specials_builtin(&s), 0);
	check_neutral(&s, "plain text", "plain text", 0, "");
	check_neutral(&s, "a<|end_of_sentence|>b", "a\xef\xbc\x9c|end_of_sentence|>b", 1, LT_MADE);
	check_neutral(&s, "<<s>>", "<\xef\xbc\x9cs>>", 1, LT_MADE);
	check_neutral(&s, "<mask:2> <mask:1>", "<mask:2> \xef\xbc\x9cmask:1>", 1, LT_MADE);
	check_neutral(&s, "<|LOC_1000|><|LOC_1001|>", "\xef\xbc\x9c|LOC_1000|><|LOC_1001|>", 1,
		      LT_MADE);
	check_neutral(&s, "</s><unk><|IMAGE_SEP|>",
		      "\xef\xbc\x9c/s>\xef\xbc\x9cunk>\xef\xbc\x9c|IMAGE_SEP|>", 3, LT_MADE);
	check_neutral(&s, "", "", 0, "");
	specials_free(&s);
}

/* The warning names each character changed, once. */
TEST(neutral_other_first_characters)
{
	Specials s = { 0 };
	CHECK_EQ_INT(specials_add(&s, "[X]", 3, -1, 1), 0);
	CHECK_EQ_INT(specials_add(&s, "\xc2\xabq", 3, -1, 1), 0);     /* «q */
	CHECK_EQ_INT(specials_add(&s, "<s>", 3, -1, 0), 0);
	check_neutral(&s, "a[X]b", "a\xef\xbc\xbbX]b", 1, "'[' made '\xef\xbc\xbb'");   /* ［X] */
	check_neutral(&s, "\xc2\xabq", "\xc2\xab\xe2\x81\xa0q", 1,   /* «, WORD JOINER, q */
		      "'\xc2\xab' given U+2060 after it");
	check_neutral(&s, "[X]<s>[X]", "\xef\xbc\xbbX]\xef\xbc\x9cs>\xef\xbc\xbbX]", 3,
		      "'[' made '\xef\xbc\xbb', " LT_MADE);
	specials_free(&s);
}

/* ---- references --------------------------------------------------------- */

static char *load_and_format(const char *text, size_t max, int *rc)
{
	char path[64];
	temp_file(path, text);
	References r;
	*rc = refs_load(&r, path);
	unlink(path);
	if (*rc)
		return NULL;
	ByteBuf out = { 0 };
	CHECK_EQ_INT(refs_format(&r, max, &out), 0);
	refs_free(&r);
	return bytebuf_take(&out);
}

TEST(refs_official_layout)
{
	int rc;
	char *s = load_and_format("- title: T\n  date: 2025-04-20\n  content: C\n"
				  "  url: u.com\n  site: S\n- content: D\n", 0, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(s, "##参考文章1\n标题：T\n文章发布时间：2025-04-20\n内容：C\n"
		     "来源网站网址：u.com\n来源网站的网站名：S\n\n##参考文章2\n内容：D");
	free(s);
	s = load_and_format("[]", 0, &rc);
	CHECK_EQ_STR(s, "");
	free(s);
}

TEST(refs_search_api_shapes)
{
	int rc;
	const char *want = "##参考文章1\n标题：N\n文章发布时间：2025\n内容：S\n"
			   "来源网站网址：http://x\n来源网站的网站名：B";
	char *s = load_and_format("{\"webPages\": {\"value\": [{\"name\": \"N\", \"snippet\": \"S\", "
				  "\"datePublished\": \"2025\", \"url\": \"http://x\", "
				  "\"siteName\": \"B\", \"id\": 3}]}}", 0, &rc);
	CHECK_EQ_STR(s, want);
	free(s);
	s = load_and_format("{\"results\": [{\"title\": \"N\", \"content\": \"S\", \"raw_content\": "
				  "null, \"published_date\": \"2025\", \"link\": \"http://x\", "
				  "\"source\": \"B\"}]}", 0, &rc);
	CHECK_EQ_STR(s, want);
	free(s);
	/* null and empty optional fields are left out; the preferred key wins */
	s = load_and_format("[{title: null, date: '', content: A, snippet: B}]", 0, &rc);
	CHECK_EQ_STR(s, "##参考文章1\n内容：A");
	free(s);
}

TEST(refs_max_chars)
{
	int rc;
	char *s = load_and_format("- content: \"\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c\"\n"
				  "  title: \xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c\n", 2, &rc);
	CHECK_EQ_STR(s, "##参考文章1\n标题：你好世界\n内容：你好");  /* content only */
	free(s);
}

static void check_bad_file(int (*load)(const char *, void *), const char *text,
			   const char *want)
{
	char path[64];
	temp_file(path, text);
	union { References r; Conversation c; } u = { 0 };
	int rc = load(path, &u);
	CHECK_EQ_INT(rc, ERR_DATA);
	const char *msg = err_msg();
	CHECK(!strncmp(msg, path, strlen(path)));
	if (!strstr(msg + strlen(path), want))
		printf("  message \"%s\" lacks \"%s\"\n", msg, want);
	CHECK(strstr(msg + strlen(path), want) != NULL);
	unlink(path);
}

static int refs_loader(const char *path, void *r)
{
	return refs_load(r, path);
}

static int conv_loader(const char *path, void *c)
{
	int rc = conv_load(c, path);
	conv_free(c);
	return rc;
}

TEST(refs_bad_shapes)
{
	check_bad_file(refs_loader, "a: 1\n", ":1:1: expected a list of references");
	check_bad_file(refs_loader, "- content: x\n- title: t\n", ":2:3: reference 2: no content");
	check_bad_file(refs_loader, "- content: ''\n", ":1:3: reference 1: empty content");
	check_bad_file(refs_loader, "- content: x\n  title: [a]\n",
		       ":2:10: reference 1: title: expected a string");
	check_bad_file(refs_loader, "- 3\n", ":1:3: reference 1: expected a map");
	check_bad_file(refs_loader, "- content: \"a\\0b\"\n", ":1:12: reference 1: content: NUL byte");
	check_bad_file(refs_loader, "[{\"content\": \"x\"", ":1:");
	check_bad_file(refs_loader, "- content: a\xff\n", ": invalid UTF-8 at byte offset 12");
}

TEST(conv_bad_shapes)
{
	check_bad_file(conv_loader, "", ":1:1: expected a list of messages");
	check_bad_file(conv_loader, "[{\"role\": \"user\", \"content\": \"a\"}, 7]",
		       ":1:36: message 2: expected a map");
	check_bad_file(conv_loader, "- role: user\n  content: a\n- role: function\n  content: b\n",
		       ":3:9: message 2: role 'function' is not system, developer, user, "
		       "assistant or tool");
	check_bad_file(conv_loader, "- role: user\n", ":1:3: message 1: no content");
	check_bad_file(conv_loader, "- content: x\n", ":1:3: message 1: no role");
	check_bad_file(conv_loader, "- {role: user, content: [{type: text, text: hi}, "
		       "{type: image_url}]}\n", ":1:57: message 1: content part 2: type 'image_url' "
		       "is not text");
	check_bad_file(conv_loader, "- {role: user, content: [{type: text}]}\n",
		       ":1:26: message 1: content part 1: no text");
	check_bad_file(conv_loader, "- {role: user, content: null}\n",
		       "message 1: content: expected a string");
}

TEST(conv_load_openai_body)
{
	char path[64];
	temp_file(path, "{\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"s\"},"
		  " {\"role\": \"user\", \"content\": \"\\ud83d\\ude00 \\u4f60\", \"name\": \"n\"}]}");
	Conversation c = { 0 };
	CHECK_EQ_INT(conv_load(&c, path), 0);
	CHECK_EQ_INT(c.n, 2);
	if (c.n == 2) {
		CHECK_EQ_INT(c.v[0].role, ROLE_SYSTEM);
		CHECK_EQ_INT(c.v[1].role, ROLE_USER);
		CHECK_EQ_STR(c.v[1].text, "\xf0\x9f\x98\x80 \xe4\xbd\xa0");
	}
	conv_free(&c);
	unlink(path);
}
