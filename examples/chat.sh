#!/bin/sh
# chat.sh: an interactive multi-turn chat. The conversation is kept as a
# YAML file (a list of {role, content}), so it can be read, edited and
# resumed; each turn renders the whole conversation with the official chat
# template and streams the answer to standard error.
#
# A turn is saved whole or not at all: the next conversation (with the
# question and the answer) is written beside the file and renamed over it
# when the answer is complete (by answer.sh, beside this script). When a
# stage fails, the file is left as it was and the chat ends with that
# stage's status; a file ernie-prompt cannot read is never written to.
#
#   usage: chat.sh [CONVERSATION.yaml]      (default: ./chat.yaml)
set -eu
conv=${1:-chat.yaml}
: "${ERNIE_MODEL:?set ERNIE_MODEL to a model directory}"
here=$(dirname "$0")
[ -s "$conv" ] || echo '[]' >"$conv"
ernie-prompt -c "$conv" >/dev/null      # a malformed file: its message, untouched
# A YAML double-quoted scalar: backslashes and quotes escaped, and every
# character YAML cannot hold raw (controls, DEL, C1, U+FFFE/U+FFFF) as \x or \u.
quote() {
	printf '%s' "$1" | perl -0777 -pe 's/\\/\\\\/g; s/"/\\"/g;
		s/([\x00-\x1f\x7f])/sprintf("\\x%02x", ord $1)/ge;
		s/\xc2([\x80-\x9f])/sprintf("\\x%02x", ord $1)/ge;
		s/\xef\xbf([\xbe\xbf])/sprintf("\\uff%02x", ord($1) + 0x40)/ge'
}
turn() {
	printf -- '- role: %s\n  content: "%s"\n' "$1" "$(quote "$2")"
}
next= answer=
trap 'rm -f "$next" "$answer"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
while printf 'you> ' >&2 && IFS= read -r line; do
	[ -n "$line" ] || continue
	next=$(mktemp "$conv.XXXXXX") answer=$next.answer
	chmod "$(printf '%o' $((0666 & ~$(umask))))" "$next"   # mktemp's 0600 otherwise
	[ "$(cat "$conv")" = '[]' ] || cat "$conv" >"$next"
	turn user "$line" >>"$next"
	ANSWER_ECHO=1 sh "$here/answer.sh" "$answer" "-n 512" -c "$next" </dev/null ||
		{ status=$?; echo >&2; exit "$status"; }
	turn assistant "$(cat "$answer")" >>"$next"
	rm "$answer"
	mv "$next" "$conv"
done
echo >&2
