#!/bin/sh
# chat.sh: an interactive multi-turn chat. The conversation is kept as a
# YAML file (a list of {role, content}), so it can be read, edited and
# resumed; each turn renders the whole conversation with the official chat
# template and streams the answer. A prompt cache beside it
# (CONVERSATION.cache: ernie-run --prompt-cache) holds the last prompt's
# state, so each turn computes only what is new since: the last answer and
# the new message. Delete it after changing the model or the cache types.
#
#   usage: chat.sh [CONVERSATION.yaml]      (default: ./chat.yaml)
set -eu
conv=${1:-chat.yaml}
cache=${conv%.yaml}.cache
: "${ERNIE_MODEL:?set ERNIE_MODEL to a model directory}"
[ -s "$conv" ] || echo '[]' >"$conv"
# A YAML double-quoted scalar: backslashes and quotes escaped, and every
# character YAML cannot hold raw (controls, DEL, C1, U+FFFE/U+FFFF) as \x or \u.
quote() {
	printf '%s' "$1" | perl -0777 -pe 's/\\/\\\\/g; s/"/\\"/g;
		s/([\x00-\x1f\x7f])/sprintf("\\x%02x", ord $1)/ge;
		s/\xc2([\x80-\x9f])/sprintf("\\x%02x", ord $1)/ge;
		s/\xef\xbf([\xbe\xbf])/sprintf("\\uff%02x", ord($1) + 0x40)/ge'
}
append() {
	[ "$(cat "$conv")" = '[]' ] && : >"$conv"
	printf -- '- role: %s\n  content: "%s"\n' "$1" "$(quote "$2")" >>"$conv"
}
while printf 'you> ' >&2 && IFS= read -r line; do
	[ -n "$line" ] || continue
	append user "$line"
	answer=$(ernie-prompt -c "$conv" | ernie-tok | ernie-run -n 512 --prompt-cache "$cache" | ernie-detok | tee /dev/stderr)
	append assistant "$answer"
done
echo >&2
