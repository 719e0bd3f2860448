/* Unit tests for the Thinking template (lib/prompt/thinking.c), the JSON
 * writer behind its tojson (lib/base/json.c) and the conversation fields it
 * reads (thoughts, tool_calls, the tool role). tests/prompt_oracle.py
 * compares whole prompts with Jinja2. */
#include "test.h"

#include "base/doc.h"
#include "base/err.h"
#include "base/json.h"
#include "base/readall.h"
#include "prompt/conversation.h"
#include "prompt/prompt.h"
#include "prompt/thinking.h"

#include <stdlib.h>
#include <unistd.h>

static void temp_file(char path[64], const char *text)
{
	snprintf(path, 64, "/tmp/t_thinking.XXXXXX");
	int fd = mkstemp(path);
	if (fd >= 0) {
		FILE *f = fdopen(fd, "w");
		fputs(text, f);
		fclose(f);
	}
}

/* JSON text in, json_write out. */
static void check_json(const char *in, const char *want)
{
	Doc d;
	CHECK_EQ_INT(doc_load_buffer(&d, "t", in, strlen(in)), 0);
	ByteBuf b = { 0 };
	if (d.root) {
		CHECK_EQ_INT(json_write(d.root, &b), 0);
		CHECK_EQ_STR(b.s ? b.s : "", want);
	}
	bytebuf_free(&b);
	doc_free(&d);
}

TEST(thinking_template_equals_official_file)
{
	char path[512];
	snprintf(path, sizeof path, "%s/thinking/chat_template.jinja", test_data_dir);
	char *want = NULL;
	size_t len = 0;
	CHECK_EQ_INT(readall_file(path, &want, &len), 0);
	CHECK_EQ_INT(strlen(prompt_thinking_template), len);
	CHECK(want && !memcmp(want, prompt_thinking_template, len));
	free(want);
}

TEST(thinking_model_dir_is_recognised)
{
	char dir[] = "/tmp/t_thinking_model.XXXXXX", path[128];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
	FILE *f = fopen(path, "w");
	ByteBuf b = { 0 };
	CHECK_EQ_INT(json_write_string(prompt_thinking_template, strlen(prompt_thinking_template),
				       &b), 0);
	fprintf(f, "{\"chat_template\": %s}", b.s);
	fclose(f);
	PromptModel m;
	CHECK_EQ_INT(prompt_model_load(&m, dir), 0);
	CHECK_EQ_INT(m.thinking, 1);
	CHECK_EQ_INT(m.known, 1);
	prompt_model_free(&m);
	/* one byte more is another template */
	f = fopen(path, "w");
	b.s[b.len - 1] = 0;
	fprintf(f, "{\"chat_template\": %s \"}", b.s);
	fclose(f);
	CHECK_EQ_INT(prompt_model_load(&m, dir), 0);
	CHECK_EQ_INT(m.thinking, 0);
	CHECK_EQ_INT(m.known, 0);
	prompt_model_free(&m);
	bytebuf_free(&b);
	unlink(path);
	rmdir(dir);
}

TEST(json_write_as_python)
{
	check_json("{\"b\": 1, \"a\": [true, false, null, \"x\"]}",
		   "{\"b\": 1, \"a\": [true, false, null, \"x\"]}");
	check_json("[1.0, 1e5, 1E16, 1.5e-7, 0.0001, 0.00001, -0, -0.0, 100000000000000000000]",
		   "[1.0, 100000.0, 1e+16, 1.5e-07, 0.0001, 1e-05, 0, -0.0, 100000000000000000000]");
	check_json("[0.30000000000000004, 123456789.125, 1e300, 1e400, 2.5E+3]",
		   "[0.30000000000000004, 123456789.125, 1e+300, Infinity, 2500.0]");
	check_json("[\"<>&'\", \"\\u00e9\\u2028\", \"\\u0001\\b\\f\\n\\r\\t\\\"\\\\\", \"\x7f\"]",
		   "[\"<>&'\", \"\xc3\xa9\xe2\x80\xa8\", \"\\u0001\\b\\f\\n\\r\\t\\\"\\\\\", \"\x7f\"]");
	/* YAML: plain scalars that are not JSON values are strings */
	check_json("{a: yes, b: 0x1F, c: .5, d: ~, e: True, f: '1'}",
		   "{\"a\": \"yes\", \"b\": \"0x1F\", \"c\": \".5\", \"d\": null, \"e\": true, \"f\": \"1\"}");
	check_json("{}", "{}");
	check_json("[]", "[]");
}

TEST(thinking_split_as_template)
{
	Conversation c = { 0 };
	const char *text = "a<think>\nr1\n\n</think>b</think>\n\nanswer";
	CHECK_EQ_INT(conv_add(&c, ROLE_ASSISTANT, text, strlen(text)), 0);
	CHECK_EQ_INT(prompt_thinking_split(&c.v[0]), 0);
	CHECK_EQ_STR(c.v[0].thoughts, "r1");
	CHECK_EQ_STR(c.v[0].text, "answer");
	CHECK_EQ_INT(conv_add(&c, ROLE_USER, text, strlen(text)), 0);
	CHECK_EQ_INT(prompt_thinking_split(&c.v[1]), 0);      /* users are left alone */
	CHECK(c.v[1].thoughts == NULL);
	conv_free(&c);
}

TEST(thinking_render_tool_loop)
{
	char path[64];
	temp_file(path, "- {role: system, content: S}\n"
		  "- {role: user, content: Q}\n"
		  "- role: assistant\n"
		  "  content: null\n"
		  "  thoughts: \"\\nhmm\\n\"\n"
		  "  tool_calls: [{type: function, function: {name: date, arguments: {}}}]\n"
		  "- {role: tool, content: \"Fri\\n\"}\n"
		  "- {role: tool, content: x}\n");
	Conversation c = { 0 };
	CHECK_EQ_INT(conv_load(&c, path), 0);
	ByteBuf out = { 0 };
	CHECK_EQ_INT(prompt_thinking(&c, "[T]", 3, &out), 0);
	CHECK_EQ_STR(out.s,
		     "<|im_start|>system\n<system_setting>\nS\n</system_setting>\n\n"
		     "<global_setting>\nthink_mode=True\n</global_setting>\n\n<tool_list>\n[T]\n"
		     "</tool_list><|im_end|>\n\n<|im_start|>user\nQ<|im_end|>\n\n"
		     "<|im_start|>assistant\n<think>\nhmm\n</think>\n\n<tool_call>\n"
		     "{\"name\": \"date\", \"arguments\": {}}\n</tool_call>\n<|im_end|>\n\n"
		     "<|im_start|>tool\n<tool_output>\"Fri\\n\"</tool_output>\n"
		     "<tool_output>\"x\"</tool_output><|im_end|>\n\n<|im_start|>assistant\n<think>\n");
	bytebuf_free(&out);
	/* the PT template has no tool role */
	PromptModel pm;
	CHECK_EQ_INT(prompt_model_load(&pm, NULL), 0);
	CHECK_EQ_INT(prompt_chat(&pm, &c, 1, &out), ERR_DATA);
	CHECK(strstr(err_msg(), "message 4: a tool message") != NULL);
	prompt_model_free(&pm);
	bytebuf_free(&out);
	conv_free(&c);
	CHECK_EQ_INT(prompt_thinking(&c, NULL, 0, &out), ERR_DATA);     /* no messages */
	bytebuf_free(&out);
	unlink(path);
}

static void check_bad(int (*load)(const char *), const char *text, const char *want)
{
	char path[64];
	temp_file(path, text);
	CHECK_EQ_INT(load(path), ERR_DATA);
	if (!strstr(err_msg(), want))
		printf("  message [%s] lacks [%s]\n", err_msg(), want), test_failed = 1;
	unlink(path);
}

static int conv_loader(const char *path)
{
	Conversation c = { 0 };
	int rc = conv_load(&c, path);
	conv_free(&c);
	return rc;
}

static int tools_loader(const char *path)
{
	ByteBuf b = { 0 };
	int rc = prompt_tools_load(path, &b);
	bytebuf_free(&b);
	return rc;
}

TEST(thinking_bad_shapes)
{
	check_bad(conv_loader, "- {role: assistant, content: a, tool_calls: {name: f}}\n",
		  ":1:45: message 1: tool_calls: expected a list");
	check_bad(conv_loader, "- {role: assistant, content: a, tool_calls: [{name: f}]}\n",
		  ":1:46: message 1: tool call 1: expected a map with name and arguments");
	check_bad(conv_loader, "- {role: assistant, content: a, tool_calls: [{name: [f], arguments: x}]}\n",
		  ":1:53: message 1: tool call 1: name: expected a string");
	check_bad(conv_loader, "- {role: assistant, content: a, thoughts: \"\\0\"}\n",
		  ":1:43: message 1: thoughts: NUL byte");
	check_bad(conv_loader, "- {role: assistant, content: null}\n",
		  "message 1: content: expected a string");
	check_bad(tools_loader, "{name: f}\n", ":1:1: expected a list of tools");
	check_bad(tools_loader, "- {type: function}\n", ":1:3: tool 1: expected a map with a \"function\"");
	check_bad(tools_loader, "- function: {[a]: b}\n", "tool 1: line 1:14: a map key that is not a string");
}
