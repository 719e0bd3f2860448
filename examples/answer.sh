#!/bin/sh
# answer.sh: one answer, written whole or not at all. The prompt that
# ernie-prompt makes of its options (and of standard input when they have no
# message) goes through ernie-tok | ernie-run | ernie-detok into OUT, by way
# of a private directory beside it: the answer is renamed into place when it
# is complete, with the mode the umask gives a new file. Any stage's failure
# fails the whole, with nothing left behind: sh has no pipefail, so each
# stage notes its failure, and the status is that of the first stage that
# failed by itself (not one killed by SIGPIPE, 141, because a later stage
# had stopped reading). On SIGINT or SIGTERM the stages are killed and
# nothing is left behind either (status 130 or 143).
# ANSWER_ECHO=1 also streams the answer to standard error as it is made.
#
#   usage: answer.sh OUT "ERNIE-RUN OPTIONS" [ERNIE-PROMPT OPTIONS...]
#   e.g.   answer.sh q1.answer "-n 512 --seed 1" -u "What is ERNIE 4.5?"
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT \"ERNIE-RUN OPTIONS\" [ERNIE-PROMPT OPTIONS...]" >&2; exit 2; }
out=$1 run=$2
shift 2
work=$(mktemp -d "$out.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Killed: the stages first, then the directory. Renaming it away first makes
# a stage that starts meanwhile unable to note its pid: it kills itself.
stop() {
	trap '' INT TERM
	if mv "$work" "$work.stop" 2>/dev/null; then
		# shellcheck disable=SC2046
		kill $(cat "$work.stop/pids" 2>/dev/null) 2>/dev/null || :
		rm -rf "$work.stop"
	fi
	exit "$1"
}
trap 'stop 130' INT
trap 'stop 143' TERM
# stage N CMD...: CMD in the background (so that a signal is not held until
# the pipeline ends), its pid noted for stop(), its failure noted.
stage() {
	n=$1
	shift
	exec 4<&0
	"$@" <&4 4<&- &
	echo $! 2>/dev/null >>"$work/pids" || kill $!
	{ wait $! 2>/dev/null; } || echo "$n $?" 2>/dev/null >>"$work/failed"
}
# fd 3: standard input, which a background pipeline would not get
exec 3<&0
if [ -n "${ANSWER_ECHO:-}" ]; then exec 5>&2; else exec 5>/dev/null; fi
# $run is split into words on purpose: it holds several options
# shellcheck disable=SC2086
stage 1 ernie-prompt "$@" <&3 | stage 2 ernie-tok | stage 3 ernie-run $run |
	stage 4 ernie-detok | stage 5 tee "$work/answer" >&5 &
wait
[ ! -s "$work/failed" ] ||
	exit "$(sort -n "$work/failed" | awk 'NR == 1 { s = $2 } $2 < 128 { s = $2; exit } END { print s }')"
mv "$work/answer" "$out"
