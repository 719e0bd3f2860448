#!/bin/sh
# bench/tok.sh: the tokenizer's encode throughput against spm_encode on the
# same model and the same >= 50 MB of mixed-language text (one thread each,
# one document per line, same ids checked), and its load time for a model of
# about 100k pieces. Called by bench/run; prints its tab-separated rows
# (measure, value, unit, bound, of bound). The text and the big model are
# made once in $XDG_CACHE_HOME/ernie-bench (~/.cache/ernie-bench).
#   BIN=build sh bench/tok.sh      (TOK_BENCH_MODEL=FILE.model to use another model)
set -e
BIN=${BIN:-build}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ernie-bench
PY=/usr/bin/python3
BASE=tests/data/tokenizer/ernie-like-a.model
MODEL=${TOK_BENCH_MODEL:-$BASE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$CACHE"
text=$CACHE/tok-mixed-50M.txt
big=$CACHE/tok-100k.model
[ -s "$text" ] || { echo "bench/tok.sh: making $text" >&2; $PY bench/tok_corpus.py "$text"; }
[ -s "$big" ] || $PY bench/tok_bigmodel.py "$BASE" "$big" 70000
bytes=$(wc -c <"$text")

# wall NAME CMD...: seconds CMD takes, its output in $tmp/NAME
wall() {
	name=$1; shift
	s=$(date +%s.%N)
	"$@" <"$text" >"$tmp/$name"
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
mbs() { awk -v b="$bytes" -v t="$1" 'BEGIN { printf "%.2f", b / t / 1e6 }'; }

echo "bench/tok.sh: ernie-tok on $bytes bytes" >&2
t_ours=$(wall ours "$BIN/ernie-tok" -m "$MODEL" -l --no-parse-special)
echo "bench/tok.sh: spm_encode on the same text (slow)" >&2
if command -v spm_encode >/dev/null; then
	t_spm=$(wall spm spm_encode --model="$MODEL" --output_format=id)
	same=no
	cmp -s "$tmp/ours" "$tmp/spm" && same=yes
	spm=$(mbs "$t_spm")
	printf 'tokenizer encode, spm_encode --output_format=id\t%s\tMB/s\t\t\n' "$spm"
	awk -v o="$(mbs "$t_ours")" -v s="$spm" 'BEGIN {
		printf "tokenizer encode, ernie-tok -l (bound: 3x spm_encode)\t%.2f\tMB/s\t%.2f\t%.0f%%\n",
			o, 3 * s, 100 * o / (3 * s)
		printf "tokenizer encode, ernie-tok / spm_encode\t%.2f\tx\t\t\n", o / s }'
	printf 'tokenizer ids identical to spm_encode\t%s\t\t\t\n' "$same"
else
	printf 'tokenizer encode, ernie-tok -l (no spm_encode to compare)\t%s\tMB/s\t\t\n' "$(mbs "$t_ours")"
fi

# load: the best of 5 runs, as ernie-tok -v reports it (CPU time: wall
# time is at the mercy of other processes on a busy machine)
for i in 1 2 3 4 5; do
	"$BIN/ernie-tok" -v -m "$big" </dev/null 2>&1 >/dev/null | sed -n 's/^load: .*, \([0-9.]*\) ms CPU$/\1/p'
done | sort -n | head -n 1 >"$tmp/load"
pieces=$("$BIN/ernie-tok" -v -m "$big" </dev/null 2>&1 >/dev/null | sed -n 's/^load: \([0-9]*\) pieces.*/\1/p')
awk -v l="$(cat "$tmp/load")" -v p="$pieces" 'BEGIN {
	printf "tokenizer load, %d pieces, CPU (bound: 10 ms)\t%.2f\tms\t10.0\t%.0f%%\n", p, l, 10 * l }'
