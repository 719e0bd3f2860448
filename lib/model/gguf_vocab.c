/* gguf_vocab.c: a GGUF file's SentencePiece vocabulary as a Tokenizer
 * (gguf_vocab.h): the tokenizer.ggml.* keys become the SpmModel a
 * tokenizer.model file would give. */
#include "model/gguf_vocab.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bigmem.h"
#include "base/err.h"

int gguf_is_file(const char *path)
{
	struct stat st;
	char magic[4];
	int fd, yes = 0;
	if (stat(path, &st) || !S_ISREG(st.st_mode) || (fd = open(path, O_RDONLY)) < 0)
		return 0;
	yes = read(fd, magic, 4) == 4 && gguf_magic(magic, 4);
	close(fd);
	return yes;
}

/* The array key of elements elem, or NULL when absent; ERR_DATA when it is
 * there with another type or not n long (n 0: any length). */
static int optional_array(const Gguf *g, const char *key, GgufType elem, uint64_t n, const GgufKv **out)
{
	*out = NULL;
	if (!gguf_find(g, key))
		return 0;
	int rc = gguf_array(g, key, elem, out);
	if (!rc && n && (*out)->n != n)
		rc = err(ERR_DATA, "%s: key '%s': %llu elements, tokenizer.ggml.tokens has %llu", g->path, key,
			 (unsigned long long)(*out)->n, (unsigned long long)n);
	return rc;
}

static int optional_bool(const Gguf *g, const char *key, int dflt, int *out)
{
	*out = dflt;
	return gguf_find(g, key) ? gguf_bool(g, key, out) : 0;
}

/* The piece text of the token id the key names, or dflt. */
static int named_piece(const Gguf *g, const SpmModel *m, const char *key, SpmStr dflt, SpmStr *out)
{
	uint32_t id;
	*out = dflt;
	if (!gguf_find(g, key))
		return 0;
	int rc = gguf_u32(g, key, &id);
	if (!rc && id >= (uint32_t)m->n)
		rc = err(ERR_DATA, "%s: key '%s': token %u out of range (%d tokens)", g->path, key, id, m->n);
	if (!rc)
		*out = m->pieces[id].text;
	return rc;
}

/* Fill m from g (m owns copies of every string: g may be closed after). */
static int build(SpmModel *m, const Gguf *g)
{
	const GgufKv *toks, *scores, *types, *cmap;
	GgufStr model;
	int rc = gguf_str(g, "tokenizer.ggml.model", &model);
	if (rc)
		return rc;
	if (model.len != 5 || memcmp(model.s, "llama", 5))
		return err(ERR_DATA, "%s: tokenizer.ggml.model '%.*s': only \"llama\" (SentencePiece) is supported",
			   g->path, (int)(model.len > 64 ? 64 : model.len), model.s);
	if ((rc = gguf_array(g, "tokenizer.ggml.tokens", GGUF_STRING, &toks)))
		return rc;
	if (toks->n == 0 || toks->n > INT32_MAX)
		return err(ERR_DATA, "%s: tokenizer.ggml.tokens: %llu tokens", g->path, (unsigned long long)toks->n);
	if ((rc = optional_array(g, "tokenizer.ggml.scores", GGUF_F32, toks->n, &scores)) ||
	    (rc = optional_array(g, "tokenizer.ggml.token_type", GGUF_I32, toks->n, &types)) ||
	    (rc = optional_array(g, "tokenizer.ggml.precompiled_charsmap", GGUF_U8, 0, &cmap)))
		return rc;
	/* every string is bounded by the reader and lies in the file: the sum
	 * is below the file size */
	size_t total = cmap ? (size_t)cmap->n : 0;
	for (uint64_t i = 0; i < toks->n; i++)
		total += (size_t)toks->strs[i].len;
	m->n = (int32_t)toks->n;
	m->pieces_bytes = (size_t)m->n * sizeof *m->pieces;
	if (!(m->path = strdup(g->path)) || !(m->buf = malloc(total + 1)) ||
	    !(m->pieces = big_alloc(m->pieces_bytes)))
		return err(ERR_IO, "out of memory");
	m->size = total;
	char *p = (char *)m->buf;
	for (int32_t i = 0; i < m->n; i++) {
		SpmPiece *pc = &m->pieces[i];
		memcpy(p, toks->strs[i].s, (size_t)toks->strs[i].len);
		pc->text = (SpmStr){ p, (uint32_t)toks->strs[i].len };
		p += toks->strs[i].len;
		pc->score = scores ? gguf_arr_f32(scores, (uint64_t)i) : 0;
		pc->type = types ? gguf_arr_i32(types, (uint64_t)i) : PIECE_NORMAL;
		if (pc->type < PIECE_NORMAL || pc->type > PIECE_BYTE)
			return err(ERR_DATA, "%s: tokenizer.ggml.token_type: token %d has type %d (1 to 6)", g->path,
				   (int)i, pc->type);
		m->byte_fallback |= pc->type == PIECE_BYTE;
	}
	if (cmap) {
		memcpy(p, cmap->data, (size_t)cmap->n);
		m->charsmap = (SpmStr){ p, (uint32_t)cmap->n };
	}
	m->model_type = SPM_BPE;
	m->split_by_ws = 1;
	m->escape_ws = 1;
	m->unk_surface = (SpmStr){ " \xe2\x81\x87 ", 5 };
	if ((rc = named_piece(g, m, "tokenizer.ggml.bos_token_id", (SpmStr){ "<s>", 3 }, &m->bos_piece)) ||
	    (rc = named_piece(g, m, "tokenizer.ggml.eos_token_id", (SpmStr){ "</s>", 4 }, &m->eos_piece)) ||
	    (rc = optional_bool(g, "tokenizer.ggml.add_space_prefix", 1, &m->add_dummy_prefix)))
		return rc;
	return optional_bool(g, "tokenizer.ggml.remove_extra_whitespaces", 0, &m->remove_extra_ws);
}

/* The split set: GGUF_SPLIT_KEY when the file has it, else llama.cpp's
 * (the control, unknown and user-defined tokens). */
static int split_ids(const Gguf *g, const SpmModel *m, int32_t **ids, size_t *n)
{
	const GgufKv *a;
	int rc = optional_array(g, GGUF_SPLIT_KEY, GGUF_I32, 0, &a);
	size_t cap = a ? (size_t)a->n : (size_t)m->n;
	*n = 0;
	if (rc || !(*ids = malloc((cap ? cap : 1) * sizeof **ids)))
		return rc ? rc : err(ERR_IO, "out of memory");
	for (size_t i = 0; i < cap; i++) {
		int type = a ? 0 : m->pieces[i].type;
		if (a)
			(*ids)[(*n)++] = gguf_arr_i32(a, i);
		else if (type == PIECE_CONTROL || type == PIECE_UNKNOWN || type == PIECE_USER)
			(*ids)[(*n)++] = (int32_t)i;
	}
	return 0;
}

int gguf_vocab_tokenizer(Tokenizer **t, const Gguf *g)
{
	SpmModel m = { 0 };
	int32_t *ids = NULL;
	size_t n;
	int rc = build(&m, g);
	*t = NULL;
	if (!rc)
		rc = split_ids(g, &m, &ids, &n);
	if (rc) {
		spm_model_free(&m);
		free(ids);
		return rc;
	}
	rc = tok_load_model(t, &m, ids, n);
	free(ids);
	return rc;
}

int tokenizer_open(Tokenizer **t, const char *path)
{
	Gguf g;
	if (!gguf_is_file(path))
		return tok_load(t, path);
	int rc = gguf_open(&g, path, NULL);
	if (rc)
		return rc;
	rc = gguf_vocab_tokenizer(t, &g);
	gguf_close(&g);
	return rc;
}

int prompt_model_open(PromptModel *pm, const char *path)
{
	struct stat st;
	if (!gguf_is_file(path))
		return prompt_model_load(pm, path && !stat(path, &st) && S_ISDIR(st.st_mode) ? path : NULL);
	Gguf g;
	GgufStr tmpl;
	int rc = gguf_open(&g, path, NULL);
	if (!rc)
		rc = prompt_model_load(pm, NULL);
	if (!rc && gguf_find(&g, "tokenizer.chat_template") &&
	    !(rc = gguf_str(&g, "tokenizer.chat_template", &tmpl)))
		prompt_model_template(pm, tmpl.s, tmpl.len);
	gguf_close(&g);
	return rc;
}
