#!/bin/sh
# batch.sh: answer every prompt file in a directory, PARALLEL chains at a
# time with xargs -P, one DIR/NAME.answer per DIR/NAME.txt.
#
#   usage: batch.sh DIR [PARALLEL [SYSTEM_FILE]]
#
# With SYSTEM_FILE, every prompt starts with that system message. Its state
# is prefilled once into a prompt cache (ernie-run --prompt-cache) that
# every chain then only reads (--prompt-cache-ro): each computes just its
# own question.
#
# Each chain gets cores/PARALLEL threads (-t), and OpenBLAS one thread, so
# the chains share the cores instead of fighting over them. The weights are
# mapped, not copied: PARALLEL processes share one copy in the page cache.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DIR [PARALLEL]" >&2; exit 2; }
dir=$1 jobs=${2:-2} system=${3:-}
: "${ERNIE_MODEL:?set ERNIE_MODEL to a model directory}"
threads=$(( $(nproc) / jobs )); [ "$threads" -ge 1 ] || threads=1
export OPENBLAS_NUM_THREADS=1 threads
here=$(dirname "$0")
export here system
cache=
if [ -n "$system" ]; then
	cachedir=$(mktemp -d)
	trap 'rm -rf "$cachedir"' EXIT
	cache=$cachedir/system.cache
	# the prompts' common start: the system message and an empty user turn
	ernie-prompt -s "$(cat "$system")" -u "" --no-generation-prompt | ernie-tok |
		ernie-run --prompt-cache "$cache" >/dev/null
fi
export cache
# each answer whole or not at all (answer.sh); xargs fails if one did
find "$dir" -name '*.txt' -print0 | xargs -0 -r -P "$jobs" -I{} sh -c '
	f=$1
	set --
	[ -z "$system" ] || set -- -s "$(cat "$system")"
	sh "$here/answer.sh" "${f%.txt}.answer" \
		"-t $threads -n 512 --seed 1${cache:+ --prompt-cache $cache --prompt-cache-ro}" "$@" <"$f"
' sh {}
