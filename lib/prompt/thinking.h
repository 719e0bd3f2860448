/* thinking.h: the chat template of ERNIE-4.5-21B-A3B-Thinking, rendered natively.
 *
 * Its turns are ChatML-style (<|im_start|>role ... <|im_end|>), the system
 * turn holds <system_setting> and <global_setting>think_mode=True, and an
 * OpenAI tools list goes into <tool_list>; earlier answers are kept in
 * <response>, their reasoning only after the last user query; tool calls
 * are <tool_call> blocks and tool results <tool_output> blocks of a "tool"
 * turn. The prompt always ends with "<|im_start|>assistant\n<think>\n".
 * prompt_thinking() renders what Jinja2 renders from the official template
 * (embedded below; tests/prompt_oracle.py compares them) with Hugging
 * Face's tojson (base/json.h).
 */
#ifndef ERNIE_THINKING_H
#define ERNIE_THINKING_H

#include <stddef.h>

#include "base/bytebuf.h"
#include "prompt/conversation.h"
#include "text/specials.h"
#include "prompt/prompt.h"
#include "text/tokenizer.h"

#include <stdint.h>

/* The chat_template of ERNIE-4.5-21B-A3B-Thinking's tokenizer_config.json. */
extern const char prompt_thinking_template[];

/* Add the markers of the format (<|im_start|>, <|im_end|>, <think>,
 * </think>, <response>, </response>, <tool_call>, </tool_call>,
 * <tool_output>, </tool_output>) to s, so that text quoting one cannot end
 * a turn. Returns 0 or ERR_IO. */
int prompt_thinking_specials(Specials *s);

/* The ids that end an assistant turn for the template of pm, looked up by
 * their text in t (never assumed): <|end_of_sentence|> (the PT template's
 * end), and for the Thinking template also </s> and <|im_end|>; each as a
 * SentencePiece piece and as an added token, where t has them. ids gets
 * at most PROMPT_MAX_END_IDS; returns the count. */
#define PROMPT_MAX_END_IDS 6
int prompt_end_ids(const PromptModel *pm, const Tokenizer *t, int32_t *ids);

/* Read an OpenAI "tools" list (YAML or JSON; "-" is stdin): a list of
 * {"type": "function", "function": {...}}, or a map whose "tools" key holds
 * one (a request body). out gets what the template writes between
 * "<tool_list>\n" and "\n</tool_list>" (nothing for an empty list). Returns
 * 0, ERR_IO, or ERR_DATA "file:line:col: tool N: ...". */
int prompt_tools_load(const char *path, ByteBuf *out);

/* Move the reasoning of assistant message m into its thoughts, as the
 * template reads it from text holding "</think>" (the same prompt results),
 * so that neutralising special-token literals afterwards keeps the split.
 * Other messages are left as they are. Returns 0 or ERR_IO. */
int prompt_thinking_split(Message *m);

/* Append the prompt for c (at least one message), with tools[0..tools_len)
 * from prompt_tools_load (tools_len 0: no <tool_list>). Returns 0, ERR_IO,
 * or ERR_DATA when c is empty. */
int prompt_thinking(const Conversation *c, const char *tools, size_t tools_len, ByteBuf *out);

#endif
