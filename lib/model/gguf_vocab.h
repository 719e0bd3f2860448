/* gguf_vocab.h: the tokenizer a GGUF file carries (tokenizer.ggml.*), and
 * the -m path of the text programs, which may be a model directory, a
 * SentencePiece .model file or a GGUF file.
 *
 * llama.cpp's "llama" vocabulary is SentencePiece's: tokens, scores,
 * token_type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
 * 6 byte), bos/eos ids, add_space_prefix (the dummy prefix, on unless
 * said), remove_extra_whitespaces, precompiled_charsmap. It is read as a
 * BPE model (ERNIE's tokenizers are), byte fallback when byte tokens are
 * there. The tokens split out of the text first, and decoded as specials
 * (verbatim in raw mode, else dropped), are those GGUF_SPLIT_KEY lists:
 * ernie-quantize writes the model directory's named and added tokens
 * there, so the file encodes and decodes as the directory does. A file
 * without the key gets llama.cpp's set: the control, unknown and
 * user-defined tokens. */
#ifndef ERNIE_GGUF_VOCAB_H
#define ERNIE_GGUF_VOCAB_H

#include "model/gguf.h"
#include "prompt/prompt.h"
#include "text/tokenizer.h"

/* i32 array: the ids of the tokens split out of the text before
 * SentencePiece runs (ernie's own key; llama.cpp ignores it). */
#define GGUF_SPLIT_KEY "ernie.tokenizer.split_token_ids"

/* 1 if path is a regular file that starts with the GGUF magic. */
int gguf_is_file(const char *path);

/* The tokenizer of an open GGUF file. ERR_DATA naming the file and the key
 * for a missing or inconsistent vocabulary, ERR_IO when out of memory. */
int gguf_vocab_tokenizer(Tokenizer **t, const Gguf *g);

/* path a GGUF file: its tokenizer; else tok_load(path). */
int tokenizer_open(Tokenizer **t, const char *path);

/* What the model at path tells the chat template: a GGUF file's
 * tokenizer.chat_template (and the default tokens), a directory's
 * tokenizer_config.json (prompt_model_load), or, for anything else (a
 * SentencePiece .model), the defaults. */
int prompt_model_open(PromptModel *pm, const char *path);

#endif
