#!/bin/sh
# score.sh: the perplexity of a text file under the model: exp of the mean
# negative log-probability of each token given those before it, which
# ernie-run --logprobs prints (one line of numbers per record).
#
#   usage: score.sh FILE
set -eu
[ $# -eq 1 ] || { echo "usage: $0 FILE" >&2; exit 2; }
: "${ERNIE_MODEL:?set ERNIE_MODEL to a model directory}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ernie-tok <"$1" >"$tmp/ids"                     # files, not a pipe: set -e sees
ernie-run --logprobs <"$tmp/ids" >"$tmp/lp"     # each stage's failure
awk '{ for (i = 1; i <= NF; i++) { nll -= $i; n++ } }
END {
	if (n == 0) { print "score.sh: need at least two tokens" > "/dev/stderr"; exit 1 }
	printf "tokens %d  mean nll %.4f  perplexity %.3f\n", n + 1, nll / n, exp(nll / n)
}' "$tmp/lp"
