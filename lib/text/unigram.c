/* unigram.c: SentencePiece unigram encoding, the Viterbi search of
 * sentencepiece 0.1.97's EncodeOptimized.
 *
 * best[e] is the best path over text[0..e): at each character start s, every
 * piece text[s..e) extends best[s]; a position no one-character piece covers
 * gets the unknown piece at min_score - 10. Scores are added in double and
 * kept in float, and ties keep the first candidate, as sentencepiece does;
 * a user-defined piece scores len * max_score - 0.1 so it always wins.
 */
#include "text/tokenizer.h"

#include "base/err.h"

#include <stdlib.h>

typedef struct {
	float score;            /* best path score ending here */
	int32_t from;           /* start of its last piece, -1 = unreached */
	int32_t id;             /* its last piece */
} Node;

static size_t char_len(const char *s, size_t left)
{
	size_t n = "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[(unsigned char)s[0] >> 4];
	return n < left ? n : left;
}

int unigram_encode(Tokenizer *t, const char *text, size_t len, SpmToks *out)
{
	if (len == 0)
		return 0;
	if (len + 1 > t->lattice_cap) {
		Node *v = realloc(t->lattice, (len + 1) * sizeof *v);
		if (!v)
			return err(ERR_IO, "out of memory");
		t->lattice = v;
		t->lattice_cap = len + 1;
	}
	Node *best = t->lattice;
	for (size_t i = 0; i <= len; i++)
		best[i] = (Node){ 0, -1, -1 };
	const float unk_score = t->min_score - 10.0f;
	const SpmPiece *pieces = t->m.pieces;
	for (size_t s = 0; s < len;) {
		float here = best[s].score;
		size_t first = char_len(text + s, len - s);
		int single = 0;
		for (size_t e = s + first; e <= len && e - s <= t->max_len; e += char_len(text + e, len - e)) {
			int32_t id = piecemap_get(&t->normal, pieces, text + s, e - s);
			if (id >= 0 && pieces[id].type != PIECE_UNUSED) {
				double score = pieces[id].type == PIECE_USER
				             ? (double)((float)(e - s) * t->max_score) - 0.1
				             : (double)pieces[id].score;
				double cand = score + (double)here;
				if (best[e].from < 0 || cand > (double)best[e].score)
					best[e] = (Node){ (float)cand, (int32_t)s, id };
				single |= e - s == first;
			}
			if (e == len)
				break;
		}
		if (!single) {
			float cand = unk_score + here;
			if (best[s + first].from < 0 || cand > best[s + first].score)
				best[s + first] = (Node){ cand, (int32_t)s, t->unk_id };
		}
		s += first;
	}
	/* backtrack, then reverse the pieces into order */
	size_t first_out = out->n;
	for (size_t e = len; e > 0; e = (size_t)best[e].from) {
		int rc = spmtoks_add(out, best[e].id, (size_t)best[e].from, e - (size_t)best[e].from);
		if (rc)
			return rc;
	}
	for (size_t i = first_out, j = out->n - 1; i < j; i++, j--) {
		SpmTok tmp = out->v[i];
		out->v[i] = out->v[j];
		out->v[j] = tmp;
	}
	return 0;
}
