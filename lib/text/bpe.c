/* bpe.c: SentencePiece BPE encoding (bpe_model.cc of sentencepiece 0.1.97).
 *
 * The text is cut into characters (a user-defined symbol is one frozen
 * symbol). Every adjacent pair whose concatenation is a piece goes into a
 * priority queue by score (highest first, then leftmost); the best pair is
 * merged and the pairs with its new neighbours are queued. Stale entries are
 * recognised by their size and skipped. O(n log n) in the text length.
 * A merged piece of type UNUSED is split back into the pieces it came from.
 */
#include "text/tokenizer.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	int32_t prev, next;     /* neighbours, -1 at the ends */
	uint32_t start, len;    /* text[start..start+len); len 0 once merged away */
	int32_t id;             /* piece id when known from a merge, else -1 */
	int freeze;             /* a user-defined symbol: never merged */
} Symbol;

typedef struct {
	float score;
	int32_t left, right;    /* symbol indices */
	uint32_t size;          /* bytes of the merged piece when queued */
	int32_t id;             /* the merged piece */
} Pair;

struct BpeScratch {
	Symbol *sym;
	size_t nsym, symcap;
	Pair *heap;
	size_t nheap, heapcap;
	uint32_t *split;        /* [pieces] UNUSED piece id -> bytes of its left half (0: none) */
	int32_t *touched;       /* ids whose split is set, to clear afterwards */
	size_t ntouched;
};

void bpe_scratch_free(BpeScratch *b)
{
	if (!b)
		return;
	free(b->sym);
	free(b->heap);
	free(b->split);
	free(b->touched);
	free(b);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return err(ERR_IO, "out of memory");
	*p = q;
	*cap = c;
	return 0;
}

/* ---- the queue: a binary max-heap ------------------------------------- */

static int before(const Pair *a, const Pair *b)
{
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(BpeScratch *b, Pair p)
{
	size_t i = b->nheap++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!before(&p, &b->heap[up]))
			break;
		b->heap[i] = b->heap[up];
		i = up;
	}
	b->heap[i] = p;
}

static Pair heap_pop(BpeScratch *b)
{
	Pair top = b->heap[0], last = b->heap[--b->nheap];
	size_t i = 0, n = b->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(&b->heap[c + 1], &b->heap[c]))
			c++;
		if (!before(&b->heap[c], &last))
			break;
		b->heap[i] = b->heap[c];
		i = c;
	}
	if (n)
		b->heap[i] = last;
	return top;
}

/* ---- merging ----------------------------------------------------------- */

static void add_pair(Tokenizer *t, BpeScratch *b, const char *text, int32_t l, int32_t r)
{
	if (l < 0 || r < 0 || b->sym[l].freeze || b->sym[r].freeze)
		return;
	const Symbol *L = &b->sym[l], *R = &b->sym[r];
	uint32_t size = L->len + R->len;
	if (size > t->max_len)
		return;         /* no piece is that long */
	int32_t id = piecemap_get(&t->normal, t->m.pieces, text + L->start, size);
	if (id < 0)
		return;
	heap_push(b, (Pair){ t->m.pieces[id].score, l, r, size, id });
	if (t->m.pieces[id].type == PIECE_UNUSED) {
		if (!b->split[id])
			b->touched[b->ntouched++] = id;
		b->split[id] = L->len;
	}
}

/* Cut text into symbols: a user-defined symbol, or one UTF-8 character. */
static int split_symbols(Tokenizer *t, BpeScratch *b, const char *text, size_t len)
{
	int rc = grow((void **)&b->sym, &b->symcap, len, sizeof *b->sym);
	if (rc)
		return rc;
	b->nsym = 0;
	for (size_t i = 0; i < len;) {
		size_t which, n = specials_prefix(&t->user, text + i, len - i, &which);
		int freeze = n > 0;
		if (!n) {
			n = "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[(unsigned char)text[i] >> 4];
			if (n > len - i)
				n = len - i;
		}
		int32_t k = (int32_t)b->nsym++;
		b->sym[k] = (Symbol){ k - 1, i + n < len ? k + 1 : -1, (uint32_t)i, (uint32_t)n, -1, freeze };
		i += n;
	}
	return 0;
}

/* sentencepiece's PieceToId for a final symbol. */
static int32_t symbol_id(const Tokenizer *t, const char *s, size_t len)
{
	int32_t id = piecemap_get(&t->reserved, t->m.pieces, s, len);
	if (id < 0)
		id = piecemap_get(&t->normal, t->m.pieces, s, len);
	return id < 0 ? t->unk_id : id;
}

/* Output a symbol (id: its piece if a merge made it, else -1), splitting
 * UNUSED pieces back into their halves. */
static int resegment(const Tokenizer *t, const BpeScratch *b, const char *text,
                     size_t start, size_t len, int32_t id, SpmToks *out)
{
	if (id < 0 || t->shadowed)
		id = symbol_id(t, text + start, len);
	if (t->m.pieces[id].type != PIECE_UNUSED || !b->split[id])
		return spmtoks_add(out, id, start, len);
	uint32_t l = b->split[id];
	int rc = resegment(t, b, text, start, l, -1, out);
	return rc ? rc : resegment(t, b, text, start + l, len - l, -1, out);
}

int bpe_encode(Tokenizer *t, const char *text, size_t len, SpmToks *out)
{
	if (!t->bpe && !(t->bpe = calloc(1, sizeof *t->bpe)))
		return err(ERR_IO, "out of memory");
	BpeScratch *b = t->bpe;
	if (!b->split) {
		b->split = calloc((size_t)t->m.n, sizeof *b->split);
		b->touched = malloc((size_t)t->m.n * sizeof *b->touched);
		if (!b->split || !b->touched)
			return err(ERR_IO, "out of memory");
	}
	int rc = split_symbols(t, b, text, len);
	if (!rc)
		rc = grow((void **)&b->heap, &b->heapcap, 3 * b->nsym + 1, sizeof *b->heap);
	if (rc || b->nsym == 0)
		return rc;
	b->nheap = 0;
	for (int32_t i = 1; i < (int32_t)b->nsym; i++)
		add_pair(t, b, text, i - 1, i);
	while (b->nheap) {
		Pair p = heap_pop(b);
		Symbol *L = &b->sym[p.left], *R = &b->sym[p.right];
		if (L->len == 0 || R->len == 0 || L->len + R->len != p.size)
			continue;       /* stale */
		L->len += R->len;
		L->id = p.id;
		L->next = R->next;
		if (R->next >= 0)
			b->sym[R->next].prev = p.left;
		R->len = 0;
		add_pair(t, b, text, L->prev, p.left);
		add_pair(t, b, text, p.left, L->next);
	}
	for (int32_t i = 0; !rc && i >= 0; i = b->sym[i].next)
		rc = resegment(t, b, text, b->sym[i].start, b->sym[i].len, b->sym[i].id, out);
	while (b->ntouched)
		b->split[b->touched[--b->ntouched]] = 0;
	return rc;
}
