#!/bin/sh
# tools.sh: a tool loop for ERNIE-4.5-21B-A3B-Thinking, in shell. The model
# is given two tools, each a shell command: "date" (date(1)) and "calc" (an
# arithmetic expression, evaluated by awk). Each round, the conversation so
# far is prompted (ernie-prompt --tools), answered (ernie-tok | ernie-run),
# and read (ernie-detok --tool-calls): each tool call is run and its result
# appended as a "tool" message, after the assistant message that asked for
# it (its reasoning kept as "thoughts", as the template wants within a tool
# loop); then the model is asked again. The first round without a tool call
# is the answer, written to standard output. Progress goes to stderr.
#
#   usage: tools.sh [-m DIR] [-n MAX_TOKENS] [-r MAX_ROUNDS] [-c CONV_FILE] QUESTION
#   e.g.   tools.sh "What is 12.5% of the day of the year today?"
#
# DIR (default $ERNIE_MODEL) is any model directory whose chat template is
# the Thinking one. MAX_TOKENS per round defaults to 16384, MAX_ROUNDS to 5
# (more rounds than that: exit 1, "no answer"). With -c, the conversation
# (a JSON list of messages, for ernie-prompt -c) is left in CONV_FILE.
# $ERNIE_RUN_OPTS adds options to ernie-run (say "--seed 1").
set -eu
usage() { echo "usage: $0 [-m DIR] [-n MAX_TOKENS] [-r MAX_ROUNDS] [-c CONV_FILE] QUESTION" >&2; exit 2; }
model=${ERNIE_MODEL:-} n=16384 rounds=5 keep=
while getopts m:n:r:c: opt; do
	case $opt in
	m) model=$OPTARG ;;
	n) n=$OPTARG ;;
	r) rounds=$OPTARG ;;
	c) keep=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
[ -n "$model" ] || { echo "$0: no model: give -m DIR or set ERNIE_MODEL" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/tools.json" <<'TOOLS'
[{"type": "function", "function": {"name": "date", "description": "The current date and time, as date(1) prints them.", "parameters": {"type": "object", "properties": {}}}},
 {"type": "function", "function": {"name": "calc", "description": "Evaluate an arithmetic expression: numbers, + - * / % ^ and parentheses.", "parameters": {"type": "object", "properties": {"expression": {"type": "string", "description": "the expression, e.g. (2+3)*4"}}, "required": ["expression"]}}}]
TOOLS

# Text on stdin as one JSON string (control characters but tab and newline
# dropped; the final newline is not part of it).
tab=$(printf '\t')
json_str() {
	tr -d '\000-\010\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$tab/\\\\t/g" |
		awk 'BEGIN { printf "\"" } { printf "%s%s", sep, $0; sep = "\\n" } END { printf "\"" }'
}

# The value of string field $1 of the JSON object on stdin (simple strings only).
field() { sed -n "s/.*\"$1\": \"\\([^\"\\\\]*\\)\".*/\\1/p" | head -n 1; }

# Run tool call $1 (one line of JSON); its result on stdout.
run_tool() {
	name=$(printf '%s\n' "$1" | sed -n 's/^{"name": "\([^"\\]*\)".*/\1/p')
	[ -n "$name" ] || name=$(printf '%s\n' "$1" | field name)
	case $name in
	date) date ;;
	calc)
		expr=$(printf '%s\n' "$1" | field expression)
		# only arithmetic reaches awk: no names, so no calls, no I/O
		case $expr in
		'' | *[!0-9.+*/%^\(\)\ -]*) echo "error: calc takes numbers, + - * / % ^ and parentheses" ;;
		*) awk "BEGIN { x = ($expr); print x }" 2>&1 || echo "error: cannot evaluate $expr" ;;
		esac ;;
	*) echo "error: no tool named '$name' (there are date and calc)" ;;
	esac
}

# The conversation: one JSON message a line; $work/conv.json is the list.
printf '{"role": "user", "content": %s}\n' "$(printf '%s' "$1" | json_str)" >"$work/conv"
conversation() { { printf '['; paste -sd, "$work/conv"; printf ']\n'; } >"$work/conv.json"; }

round=1
while :; do
	conversation
	ernie-prompt -m "$model" --tools "$work/tools.json" -c "$work/conv.json" >"$work/prompt"
	ernie-tok -m "$model" <"$work/prompt" >"$work/tokens"
	# shellcheck disable=SC2086  # ERNIE_RUN_OPTS holds several options
	ernie-run -m "$model" -n "$n" ${ERNIE_RUN_OPTS:-} <"$work/tokens" >"$work/ids"
	ernie-detok -m "$model" --tool-calls <"$work/ids" >"$work/calls"
	ernie-detok -m "$model" --reasoning-file "$work/thoughts" <"$work/ids" >"$work/answer"
	if [ ! -s "$work/calls" ]; then
		[ -z "$keep" ] || cp "$work/conv.json" "$keep"
		cat "$work/answer"
		exit 0
	fi
	if [ "$round" -ge "$rounds" ]; then
		[ -z "$keep" ] || cp "$work/conv.json" "$keep"
		echo "$0: no answer after $rounds rounds of tool calls" >&2
		exit 1
	fi
	printf '{"role": "assistant", "content": %s, "thoughts": %s, "tool_calls": [%s]}\n' \
		"$(json_str <"$work/answer")" "$(json_str <"$work/thoughts")" \
		"$(paste -sd, "$work/calls")" >>"$work/conv"
	while IFS= read -r call; do
		run_tool "$call" >"$work/result"
		echo "$0: round $round: $call -> $(head -c 200 "$work/result")" >&2
		printf '{"role": "tool", "content": %s}\n' "$(json_str <"$work/result")" >>"$work/conv"
	done <"$work/calls"
	round=$((round + 1))
done
