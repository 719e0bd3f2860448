#!/bin/sh
# think.sh: ask ERNIE-4.5-21B-A3B-Thinking a question. The answer streams to
# standard output as it is generated; the model's reasoning goes to a file.
#
#   usage: think.sh [-m DIR] [-n MAX_TOKENS] [-o REASONING_FILE] QUESTION
#   e.g.   think.sh -o why.txt "Why is the sky blue?"
#
# DIR (default $ERNIE_MODEL) is a model directory whose chat template is the
# Thinking one (examples/make-thinking-model.py makes a tiny random one).
# MAX_TOKENS defaults to 16384: the model reasons at length, and ernie-run
# and ernie-detok say so on standard error when the limit cut it short.
# The reasoning file defaults to reasoning.txt. $ERNIE_RUN_OPTS adds
# options to ernie-run (say "--seed 1 -t 8"). The status is that of the
# first stage that failed (sh has no pipefail), as in examples/answer.sh.
set -eu
usage() { echo "usage: $0 [-m DIR] [-n MAX_TOKENS] [-o REASONING_FILE] QUESTION" >&2; exit 2; }
model=${ERNIE_MODEL:-} n=16384 thoughts=reasoning.txt
while getopts m:n:o: opt; do
	case $opt in
	m) model=$OPTARG ;;
	n) n=$OPTARG ;;
	o) thoughts=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
[ -n "$model" ] || { echo "$0: no model: give -m DIR or set ERNIE_MODEL" >&2; exit 2; }
case $(ernie-prompt -m "$model" -u q) in
*"<|im_start|>assistant"*) ;;
*) echo "$0: $model: its chat template is not ERNIE-4.5-21B-A3B-Thinking's" >&2; exit 1 ;;
esac
failed=$(mktemp)
trap 'rm -f "$failed"' EXIT
# shellcheck disable=SC2086  # ERNIE_RUN_OPTS holds several options
{ ernie-prompt -m "$model" -u "$1" || echo "1 $?" >>"$failed"; } |
	{ ernie-tok -m "$model" || echo "2 $?" >>"$failed"; } |
	{ ernie-run -m "$model" -n "$n" ${ERNIE_RUN_OPTS:-} || echo "3 $?" >>"$failed"; } |
	{ ernie-detok -m "$model" --reasoning-file "$thoughts" || echo "4 $?" >>"$failed"; }
[ ! -s "$failed" ] ||
	exit "$(sort -n "$failed" | awk 'NR == 1 { s = $2 } $2 < 128 { s = $2; exit } END { print s }')"
echo "$0: the reasoning is in $thoughts" >&2
