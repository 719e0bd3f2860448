/* Unit tests of the tokenizer pieces: the model reader, UTF-8 decoding as
 * sentencepiece does it, the normaliser, the special tokens, streaming
 * decode. The byte-exact comparisons with sentencepiece are in
 * tests/t-tokenizer.sh (golden files and the live library). */
#include "test.h"

#include "base/err.h"
#include "text/normalizer.h"
#include "text/specials.h"
#include "text/spm_model.h"
#include "text/tokenizer.h"

#include <stdlib.h>

static const char *path(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "%s/tokenizer/%s", test_data_dir, name);
	return buf;
}

static Tokenizer *load(const char *name)
{
	Tokenizer *t = NULL;
	int rc = tok_load(&t, path(name));
	if (rc)
		printf("  %s\n", err_msg());
	return t;
}

static int parse(const void *bytes, size_t n)
{
	unsigned char *buf = malloc(n ? n : 1);
	memcpy(buf, bytes, n);
	SpmModel m;
	int rc = spm_model_parse(&m, "m", buf, n);
	if (!rc)
		spm_model_free(&m);
	return rc;
}

/* ---- the model file ------------------------------------------------------ */

TEST(tok_model_fields)
{
	SpmModel m;
	CHECK_EQ_INT(spm_model_load(&m, path("ernie-like-a.model")), 0);
	CHECK_EQ_INT(m.n, 32023);
	CHECK_EQ_INT(m.model_type, SPM_BPE);
	CHECK(m.byte_fallback);
	CHECK(!m.add_dummy_prefix && !m.remove_extra_ws && m.escape_ws);
	CHECK_EQ_INT(m.pieces[0].type, PIECE_UNKNOWN);
	CHECK_EQ_INT(m.pieces[1].type, PIECE_CONTROL);
	CHECK_EQ_INT(m.pieces[3].type, PIECE_USER);
	CHECK(m.pieces[3].text.len == 1 && m.pieces[3].text.s[0] == '0');
	CHECK_EQ_INT(m.pieces[13].type, PIECE_BYTE);
	CHECK(m.pieces[13].text.len == 6 && !memcmp(m.pieces[13].text.s, "<0x00>", 6));
	CHECK_EQ_INT(m.pieces[32005].type, PIECE_CONTROL);      /* <pad> */
	spm_model_free(&m);
	CHECK_EQ_INT(spm_model_load(&m, path("nfkc-d.model")), 0);
	CHECK(m.add_dummy_prefix && m.remove_extra_ws && m.charsmap.len > 1000);
	spm_model_free(&m);
	CHECK_EQ_INT(spm_model_load(&m, path("unigram-c.model")), 0);
	CHECK_EQ_INT(m.model_type, SPM_UNIGRAM);
	spm_model_free(&m);
}

TEST(tok_model_rejects_malformed)
{
	/* field 1 (piece), length 5, one byte there */
	CHECK_EQ_INT(parse("\x0a\x05\x0a", 3), ERR_DATA);
	CHECK(strstr(err_msg(), "m: not a SentencePiece model (byte 0: length past the end"));
	CHECK_EQ_INT(parse("\x0a", 1), ERR_DATA);                       /* truncated varint */
	CHECK(strstr(err_msg(), "truncated varint"));
	CHECK_EQ_INT(parse("\x0b\x00", 2), ERR_DATA);                   /* group wire type */
	CHECK(strstr(err_msg(), "m: not a SentencePiece model (byte 0: unsupported wire type)"));
	CHECK_EQ_INT(parse("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12), ERR_DATA);
	CHECK_EQ_INT(parse("\x0a\x05\x0a\x01" "a\x18\x09", 7), ERR_DATA); /* piece type 9 */
	CHECK(strstr(err_msg(), "piece 0: unknown type 9"));
	CHECK_EQ_INT(parse("\x0a\x02\x18\x01", 4), ERR_DATA);            /* empty piece */
	CHECK_EQ_INT(parse("\x12\x00", 2), ERR_DATA);                    /* no pieces */
	CHECK(strstr(err_msg(), "no pieces"));
	CHECK_EQ_INT(parse("\x0a\x03\x0a\x01" "a" "\x0a\x02\x12\x00", 9), ERR_DATA);  /* score: wire type 2 */
	CHECK_EQ_INT(parse("", 0), ERR_DATA);
	/* a minimal good one: one unknown piece */
	CHECK_EQ_INT(parse("\x0a\x05\x0a\x01" "a\x18\x02", 7), 0);
}

/* ---- UTF-8 and the normaliser ------------------------------------------- */

TEST(tok_utf8_like_sentencepiece)
{
	size_t n;
	CHECK_EQ_INT(spm_decode_utf8("\xe4\xbd\xa0", 3, &n), 0x4f60);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(spm_decode_utf8("\xf0\x9f\x98\x80", 4, &n), 0x1f600);
	CHECK_EQ_INT(n, 4);
	const char *bad[] = { "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xbd", "\x80", "\xf8\x88\x80\x80" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK_EQ_INT(spm_decode_utf8(bad[i], strlen(bad[i]), &n), 0xfffd);
		CHECK_EQ_INT(n, 1);
	}
	CHECK_EQ_INT(spm_decode_utf8("\xef\xbf\xbd", 3, &n), 0xfffd);  /* a real U+FFFD */
	CHECK_EQ_INT(n, 3);
}

static int normalized(Tokenizer *t, const char *in, const char *want)
{
	ByteBuf out = { 0 };
	int rc = normalize(&t->nz, in, strlen(in), &out);
	int ok = !rc && out.len == strlen(want) && (!out.len || !memcmp(out.s, want, out.len));
	if (!ok)
		printf("  normalize(\"%s\") = \"%.*s\", expected \"%s\"\n", in, (int)out.len, out.s ? out.s : "", want);
	free(out.s);
	return ok;
}

TEST(tok_normalize)
{
	Tokenizer *t = load("nfkc-d.model");
	CHECK(t);
	if (!t)
		return;
	/* NFKC + case folding from the charsmap, dummy prefix, spaces collapsed */
	CHECK(normalized(t, "  \xef\xbc\xa8\xef\xbd\x85llo\xe3\x80\x80\xe3\x80\x80World  ",
	                 "\xe2\x96\x81hello\xe2\x96\x81world"));
	CHECK(normalized(t, "   ", ""));
	/* malformed bytes: U+FFFD each; user-defined symbols untouched */
	CHECK(normalized(t, "a\xff<br>", "\xe2\x96\x81" "a\xef\xbf\xbd<br>"));
	tok_free(t);
	t = load("ernie-like-a.model");
	CHECK(normalized(t, " a  b ", "\xe2\x96\x81" "a\xe2\x96\x81\xe2\x96\x81" "b\xe2\x96\x81"));
	tok_free(t);
}

/* ---- special tokens ------------------------------------------------------ */

TEST(tok_specials_builtin)
{
	Specials s;
	CHECK_EQ_INT(specials_builtin(&s), 0);
	CHECK_EQ_INT(s.n, 10 + 1009);
	size_t at, which;
	const char *text = "ab<|LOC_1<|LOC_10|>x";
	CHECK(specials_find(&s, text, strlen(text), &at, &which));
	CHECK_EQ_INT(at, 9);
	CHECK_EQ_STR(s.v[which].text, "<|LOC_10|>");
	CHECK_EQ_INT(s.v[which].id, 100297 + 10);
	CHECK(specials_find(&s, "<|IMAGE_SEP|>", 13, &at, &which) && s.v[which].id == 101303);
	CHECK(specials_find(&s, "x<|end_of_sentence|>", 20, &at, &which) && s.v[which].id == 100272);
	CHECK(!specials_find(&s, "<|LOC_0", 7, &at, &which));
	specials_free(&s);
}

TEST(tok_specials_model_dir)
{
	Specials s;
	CHECK_EQ_INT(specials_load(&s, path("ernie-like-a.modeldir")), 0);
	size_t which;
	CHECK_EQ_INT(specials_prefix(&s, "<|LOC_END|>", 11, &which), 11);
	CHECK_EQ_INT(s.v[which].id, 32036);
	CHECK_EQ_INT(specials_prefix(&s, "<mask:1>", 8, &which), 8);
	CHECK_EQ_INT(s.v[which].id, -1);        /* a named token: id from the vocabulary */
	CHECK_EQ_INT(specials_prefix(&s, "<|im_start|>", 12, &which), 0);
	specials_free(&s);
	/* a directory without the files has none */
	CHECK_EQ_INT(specials_load(&s, test_data_dir), 0);
	CHECK_EQ_INT(s.n, 0);
	specials_free(&s);
}

/* ---- encoding and decoding ----------------------------------------------- */

static size_t encode(Tokenizer *t, const char *text, size_t len, TokList *l)
{
	toklist_clear(l);
	CHECK_EQ_INT(tok_encode(t, text, len, 1, l), 0);
	return l->n;
}

TEST(tok_encode_lookups)
{
	Tokenizer *t = load("ernie-like-a.modeldir");
	CHECK(t);
	if (!t)
		return;
	TokList l = { 0 };
	CHECK_EQ_INT(encode(t, "hello world", 11, &l), 2);
	CHECK(l.ids[0] == 23454 && l.ids[1] == 6583);   /* from sentencepiece (README) */
	CHECK_EQ_INT(encode(t, "<mask:1><|LOC_0|>", 17, &l), 2);
	CHECK(l.ids[0] == 32009 && l.ids[1] == 32025);
	CHECK_EQ_INT(tok_piece_id(t, "<s>", 3), 1);
	CHECK_EQ_INT(tok_piece_id(t, "no such piece", 13), 0);
	CHECK_EQ_INT(tok_piece_id(t, "", 0), 0);      /* the empty piece: unknown, not a special */
	size_t n;
	CHECK_EQ_STR(tok_id_text(t, 32036, &n), "<|LOC_END|>");
	CHECK(tok_id_text(t, 32037, &n) == NULL && tok_id_text(t, -1, &n) == NULL);
	CHECK_EQ_INT(tok_bos(t), 1);
	CHECK_EQ_INT(tok_eos(t), 2);
	toklist_free(&l);
	tok_free(t);
}

/* A long line is cut at word starts and encoded word by word: the ids must be
 * those of its words, whatever the chunking and the word cache do. */
TEST(tok_encode_huge_line)
{
	Tokenizer *t = load("ernie-like-a.model");
	CHECK(t);
	if (!t)
		return;
	TokList first = { 0 }, rest = { 0 }, all = { 0 };
	const char *w0 = "hello world,", *w = " hello world,";
	size_t reps = 300000, wl = strlen(w);
	encode(t, w0, strlen(w0), &first);
	encode(t, w, wl, &rest);
	char *text = malloc(strlen(w0) + reps * wl);
	memcpy(text, w0, strlen(w0));
	for (size_t i = 0; i < reps; i++)
		memcpy(text + strlen(w0) + i * wl, w, wl);
	encode(t, text, strlen(w0) + reps * wl, &all);
	CHECK_EQ_INT(all.n, first.n + reps * rest.n);
	int same = all.n == first.n + reps * rest.n && !memcmp(all.ids, first.ids, first.n * 4);
	for (size_t i = 0; same && i < reps; i++)
		same = !memcmp(all.ids + first.n + i * rest.n, rest.ids, rest.n * 4);
	CHECK(same);
	free(text);
	toklist_free(&first);
	toklist_free(&rest);
	toklist_free(&all);
	tok_free(t);
}

static int put(Detok *d, int32_t id, const char *want)
{
	ByteBuf out = { 0 };
	int rc = detok_put(d, id, &out);
	int ok = !rc && out.len == strlen(want) && (!out.len || !memcmp(out.s, want, out.len));
	if (!ok)
		printf("  id %d gave \"%.*s\", expected \"%s\"\n", (int)id, (int)out.len, out.s ? out.s : "", want);
	free(out.s);
	return ok;
}

TEST(tok_detok_streams)
{
	Tokenizer *t = load("ernie-like-a.modeldir");
	CHECK(t);
	if (!t)
		return;
	Detok d;
	detok_init(&d, t, 1);
	/* 你 = E4 BD A0 as byte pieces <0xNN> = 13 + NN: out only when whole */
	CHECK(put(&d, 13 + 0xe4, ""));
	CHECK(put(&d, 13 + 0xbd, ""));
	CHECK(put(&d, 13 + 0xa0, "\xe4\xbd\xa0"));
	/* a cut-short sequence: U+FFFD per byte once a normal piece comes */
	CHECK(put(&d, 13 + 0xe4, ""));
	CHECK(put(&d, 27489, "\xef\xbf\xbd" "a"));
	/* a byte that cannot start a character goes at once */
	CHECK(put(&d, 13 + 0x80, "\xef\xbf\xbd"));
	CHECK(put(&d, 6583, " world"));
	CHECK(put(&d, 1, "<s>"));               /* special, verbatim */
	CHECK(put(&d, 32035, "<|LOC_BEGIN|>"));
	CHECK(put(&d, 0, "<unk>"));
	ByteBuf out = { 0 };
	CHECK_EQ_INT(detok_put(&d, 32037, &out), ERR_DATA);
	CHECK(strstr(err_msg(), "id 32037 out of range"));
	detok_init(&d, t, 0);                   /* skipped */
	CHECK(put(&d, 1, ""));
	CHECK(put(&d, 32035, ""));
	CHECK(put(&d, 32006, ""));              /* <cls>: a control piece, not named: "" */
	free(out.s);
	tok_free(t);
	/* a bare .model decodes as sentencepiece: <unk> is " ⁇ ", <s> nothing */
	t = load("ernie-like-a.model");
	detok_init(&d, t, 1);
	CHECK(put(&d, 0, " \xe2\x81\x87 "));
	CHECK(put(&d, 1, ""));
	tok_free(t);
}

TEST(tok_load_errors)
{
	Tokenizer *t = NULL;
	CHECK_EQ_INT(tok_load(&t, path("no-such.model")), ERR_IO);
	CHECK(strstr(err_msg(), "no-such.model"));
	CHECK_EQ_INT(tok_load(&t, path("ernie-like-a.encode.jsonl")), ERR_DATA);
	CHECK(t == NULL);
}
