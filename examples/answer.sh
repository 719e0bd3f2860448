#!/bin/sh
# answer.sh: one answer, written whole or not at all. The prompt that
# ernie-prompt makes of its options (and of standard input when they have no
# message) goes through ernie-tok | ernie-run | ernie-detok into OUT, by way
# of a temporary file beside it renamed when the answer is complete. Any
# stage's failure fails the whole, with nothing left behind: sh has no
# pipefail, so each stage notes its failure, and the status is that of the
# first stage that failed by itself (not one killed by SIGPIPE, 141, because
# a later stage had stopped reading).
#
#   usage: answer.sh OUT "ERNIE-RUN OPTIONS" [ERNIE-PROMPT OPTIONS...]
#   e.g.   answer.sh q1.answer "-n 512 --seed 1" -u "What is ERNIE 4.5?"
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT \"ERNIE-RUN OPTIONS\" [ERNIE-PROMPT OPTIONS...]" >&2; exit 2; }
out=$1 run=$2
shift 2
tmp=$(mktemp "$out.XXXXXX")
failed=$(mktemp "$out.failed.XXXXXX")
trap 'rm -f "$tmp" "$failed"' EXIT
# $run is split into words on purpose: it holds several options
# shellcheck disable=SC2086
{ ernie-prompt "$@" || echo "1 $?" >>"$failed"; } |
	{ ernie-tok || echo "2 $?" >>"$failed"; } |
	{ ernie-run $run || echo "3 $?" >>"$failed"; } |
	{ ernie-detok >"$tmp" || echo "4 $?" >>"$failed"; }
[ ! -s "$failed" ] ||
	exit "$(sort -n "$failed" | awk 'NR == 1 { s = $2 } $2 < 128 { s = $2; exit } END { print s }')"
mv "$tmp" "$out"
