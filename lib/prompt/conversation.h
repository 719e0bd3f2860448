/* conversation.h: the messages a chat prompt is made of.
 *
 * Only the three roles the ERNIE 4.5 chat template renders exist here. A file
 * may hold another role (tool, function...): loading it is an error naming
 * the entry, because the official template would silently drop the message.
 */
#ifndef ERNIE_CONVERSATION_H
#define ERNIE_CONVERSATION_H

#include <stddef.h>

typedef enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT } Role;

typedef struct {
	Role role;
	char *text;     /* NUL-terminated content, valid UTF-8, no NULs */
	size_t len;     /* bytes in text */
} Message;

typedef struct {
	Message *v;     /* n messages in order */
	size_t n, cap;
} Conversation;

const char *role_name(Role r);

/* Append a copy of text[0..len). Returns 0 or ERR_IO. Does not check text. */
int conv_add(Conversation *c, Role role, const char *text, size_t len);

/* Append the messages of a YAML or JSON file ("-" is stdin): a list of maps
 * with string keys "role" (system, user or assistant; OpenAI's "developer"
 * is system) and "content" (a string, or a list of OpenAI-style text parts
 * {"type": "text", "text": ...} joined with newlines), other keys ignored;
 * or a map whose "messages" key holds such a list (a request body). Returns 0, ERR_IO, or ERR_DATA with
 * "file:line:col: message N: ..." (N counts from 1). */
int conv_load(Conversation *c, const char *path);

void conv_free(Conversation *c);

#endif
