/* conversation.h: the messages a chat prompt is made of.
 *
 * Only the roles the ERNIE 4.5 chat templates render exist here: system,
 * user, assistant, and tool (the Thinking template's tool results; the PT
 * template refuses them). A file may hold another role (function...):
 * loading it is an error naming the entry, because the official templates
 * would silently drop the message.
 */
#ifndef ERNIE_CONVERSATION_H
#define ERNIE_CONVERSATION_H

#include <stddef.h>

typedef enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL } Role;

/* A tool call of an assistant message ({"function": {"name", "arguments"}}
 * or {"name", "arguments"}), as the Thinking template writes it. */
typedef struct {
	char *name;     /* the function's name, NUL-terminated, valid UTF-8 */
	size_t name_len;
	char *args;     /* its arguments: a string as it is, anything else as JSON */
	size_t args_len;
} ToolCall;

typedef struct {
	Role role;
	char *text;     /* NUL-terminated content, valid UTF-8, no NULs */
	size_t len;     /* bytes in text */
	char *thoughts; /* assistant: the "thoughts" string (its reasoning), or NULL */
	size_t thoughts_len;
	ToolCall *calls;        /* assistant: ncalls "tool_calls" */
	size_t ncalls;
} Message;

typedef struct {
	Message *v;     /* n messages in order */
	size_t n, cap;
} Conversation;

const char *role_name(Role r);

/* Append a copy of text[0..len). Returns 0 or ERR_IO. Does not check text. */
int conv_add(Conversation *c, Role role, const char *text, size_t len);

/* Append the messages of a YAML or JSON file ("-" is stdin): a list of maps
 * with string keys "role" (system, user, assistant or tool; OpenAI's
 * "developer" is system) and "content" (a string, or a list of OpenAI-style
 * text parts {"type": "text", "text": ...} joined with newlines; null or
 * absent for an assistant message with tool calls), an assistant's optional
 * "thoughts" (a string) and "tool_calls" (a list), other keys ignored; or a
 * map whose "messages" key holds such a list (a request body). Returns 0,
 * ERR_IO, or ERR_DATA with
 * "file:line:col: message N: ..." (N counts from 1). */
int conv_load(Conversation *c, const char *path);

void conv_free(Conversation *c);

#endif
