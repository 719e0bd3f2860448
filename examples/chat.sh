#!/bin/sh
# chat.sh: an interactive multi-turn chat. The conversation is kept as a
# YAML file (a list of {role, content}), so it can be read, edited and
# resumed; each turn renders the whole conversation with the official chat
# template and streams the answer.
#
#   usage: chat.sh [CONVERSATION.yaml]      (default: ./chat.yaml)
set -eu
conv=${1:-chat.yaml}
: "${ERNIE_MODEL:?set ERNIE_MODEL to a model directory}"
[ -s "$conv" ] || echo '[]' >"$conv"
# YAML double-quoted scalar: escape backslashes, quotes and control characters.
quote() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk 'BEGIN{ORS=""} NR>1{print "\\n"} {print}'; }
append() {
	[ "$(cat "$conv")" = '[]' ] && : >"$conv"
	printf -- '- role: %s\n  content: "%s"\n' "$1" "$(quote "$2")" >>"$conv"
}
while printf 'you> ' >&2 && IFS= read -r line; do
	[ -n "$line" ] || continue
	append user "$line"
	answer=$(ernie-prompt -c "$conv" | ernie-tok | ernie-run -n 512 | ernie-detok | tee /dev/stderr)
	append assistant "$answer"
done
echo >&2
