/* prompt.h: ERNIE 4.5's chat template and web-search prompts, rendered natively.
 *
 * The official texts are embedded byte for byte (prompt_texts.c); a test
 * compares them with copies of the published files. The chat template is
 * not interpreted: prompt_chat() does what it does, and prompt_model_load()
 * says whether a model directory's template is that one.
 */
#ifndef ERNIE_PROMPT_H
#define ERNIE_PROMPT_H

#include <stddef.h>

#include "prompt/conversation.h"
#include "base/bytebuf.h"

/* The chat_template of ERNIE-4.5-*-PT tokenizer_config.json. */
extern const char prompt_chat_template[];
/* The web-search prompts of the ERNIE 4.5 model card, with the placeholders
 * {date}, {references} and {question}. The English one begins with "\n". */
extern const char prompt_websearch_zh[];
extern const char prompt_websearch_en[];

/* What a model directory tells the chat template. */
typedef struct {
	char *cls;      /* cls_token, "<|begin_of_sentence|>" by default */
	char *sep;      /* sep_token, "<|end_of_sentence|>" by default */
	int known;      /* 1: no chat_template, or exactly prompt_chat_template or
	                   prompt_thinking_template (thinking.h); 0: another one */
	int thinking;   /* 1: the chat_template is exactly prompt_thinking_template */
} PromptModel;

/* Read dir/tokenizer_config.json (dir NULL, or no such file: the defaults).
 * Hugging Face passes cls_token and sep_token to the template, so the
 * model's own ones are used. Returns 0, ERR_IO or ERR_DATA. */
int prompt_model_load(PromptModel *m, const char *dir);
/* Set known and thinking from a chat template's text s[0..len). */
void prompt_model_template(PromptModel *m, const char *s, size_t len);
void prompt_model_free(PromptModel *m);

/* Append what the chat template renders for c: cls, then per message
 * system "content\n", user "User: content\n", assistant
 * "Assistant: content" + sep, then "Assistant: " when gen is set.
 * Returns 0, ERR_IO, or ERR_DATA for a tool message (this template has no
 * tool role: the Thinking one has). */
int prompt_chat(const PromptModel *m, const Conversation *c, int gen, ByteBuf *out);

enum { FILL_DATE, FILL_REFERENCES, FILL_QUESTION, FILLS };

/* Append tmpl[0..n) with each "{date}", "{references}" and "{question}"
 * replaced by val[FILL_*] (len[FILL_*] bytes), in one pass as Python's
 * str.format does (inserted text is not searched again); everything else is
 * copied as it is. Returns 0 or ERR_IO. */
int prompt_fill(const char *tmpl, size_t n, const char *const val[FILLS],
		const size_t len[FILLS], ByteBuf *out);

/* 1 if tmpl[0..n) holds the placeholder of FILL_* which. */
int prompt_has(const char *tmpl, size_t n, int which);

#endif
