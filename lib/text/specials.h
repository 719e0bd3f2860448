/* specials.h: the special and added tokens of an ERNIE model directory.
 *
 * Baidu's tokenizer splits these strings out of the text before SentencePiece
 * sees it (leftmost, longest match), and each becomes one id. They come from
 * the model directory's tokenizer_config.json and special_tokens_map.json
 * (the named tokens: bos_token, cls_token, ..., additional_special_tokens)
 * and added_tokens.json (string -> id for ids after the SentencePiece
 * vocabulary). Every file is optional; a directory with none has no specials.
 *
 * Without a directory, specials_builtin() gives the official ERNIE 4.5 set
 * (the files of ERNIE-4.5-0.3B-Base-PT): <s> </s> <unk> <|begin_of_sentence|>
 * <|end_of_sentence|> <mask:1> <mask:4>..<mask:7>, and the 1009 added tokens
 * <|IMAGE_PLACEHOLDER|> (100295) ... <|IMAGE_SEP|> (101303).
 */
#ifndef ERNIE_SPECIALS_H
#define ERNIE_SPECIALS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	char *text;     /* NUL-terminated token string, e.g. "<|LOC_0|>" */
	size_t len;     /* bytes in text (> 0) */
	int32_t id;     /* id from added_tokens.json (or the built-in table);
	                   -1 = not given: look text up in the SentencePiece vocabulary */
	int added;      /* 1: an added / additional special token; 0: a named one (bos_token...) */
} Special;

typedef struct {
	Special *v;     /* n tokens, no two with the same text, in file order */
	size_t n;
	/* search index, kept up to date by specials_add */
	size_t *sorted;         /* n indices into v, ordered by text (memcmp, then length) */
	unsigned char *haslen;  /* [maxlen + 1]: 1 where some token has that length */
	size_t maxlen;          /* longest token, bytes */
	unsigned char first[32]; /* bitmap of the tokens' first bytes */
	size_t cap;             /* allocated entries of v and sorted */
} Specials;

/* Read the JSON files of model directory dir (or the built-in set when dir is
 * NULL). Returns 0, ERR_DATA naming the file, line and key for a malformed
 * one, or ERR_IO. On error *s is empty. */
int specials_load(Specials *s, const char *dir);
/* The official ERNIE 4.5 set described above (ERR_IO only if out of memory). */
int specials_builtin(Specials *s);
void specials_free(Specials *s);

/* Add one token (copied); a text already present is left as it is.
 * Returns 0 or ERR_IO (out of memory). */
int specials_add(Specials *s, const char *text, size_t len, int32_t id, int added);

/* Leftmost-longest search: the first position in text[0..len) where a token
 * starts (the longest one there). Returns 1 and sets *at (byte offset) and
 * *which (index into s->v), or 0 if no token occurs. */
int specials_find(const Specials *s, const char *text, size_t len, size_t *at, size_t *which);

/* The longest token that text[0..len) starts with: its length, and *which
 * its index into s->v; 0 if none. */
size_t specials_prefix(const Specials *s, const char *text, size_t len, size_t *which);

#endif
