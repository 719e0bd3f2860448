#!/bin/sh
# Four pipelines at once (xargs -P4) over 40 prompts with fixed seeds give
# exactly the outputs of the same 40 pipelines run one after the other.
# Each pipeline: ernie-prompt | ernie-tok | ernie-run -n 16 (which drives
# ernie-sample at temperature 1, so the seed matters) on the demo model
# (examples/demo-model: its tokenizer and weights go together).
. tests/lib.sh
M=examples/demo-model
if [ ! -f "$M/model.safetensors" ]; then
	echo "ok concurrency # skipped: no $M"
	exit 0
fi
cat >"$TMP/one.sh" <<'PIPE'
# one.sh I DIR: the ids generated for prompt I (seed I) into DIR/I
"$BIN/ernie-prompt" -u "Question $1: what is a mixture of experts, and why $(($1 * 7))?" |
	"$BIN/ernie-tok" -m "$M" | "$BIN/ernie-run" -m "$M" -t 1 -n 16 --temp 1 -s "$1" \
	>"$2/$1" 2>"$2/$1.err"
PIPE
export BIN M
mkdir "$TMP/serial" "$TMP/parallel"
for i in $(seq 40); do sh "$TMP/one.sh" "$i" "$TMP/serial"; done
seq 40 | xargs -P4 -I{} sh "$TMP/one.sh" {} "$TMP/parallel"

bad=0
for i in $(seq 40); do
	if [ -s "$TMP/serial/$i.err" ] || [ ! -s "$TMP/serial/$i" ]; then
		fail concurrency-serial "prompt $i: $(head -c 200 "$TMP/serial/$i.err")"; bad=1; break
	fi
	if ! cmp -s "$TMP/serial/$i" "$TMP/parallel/$i"; then
		fail concurrency "prompt $i: [$(head -c 80 "$TMP/parallel/$i")] in parallel," \
			"[$(head -c 80 "$TMP/serial/$i")] serially"; bad=1; break
	fi
done
[ "$bad" = 0 ] && ok concurrency
# the outputs depend on the prompt and the seed (else the test proves little)
distinct=$(for i in $(seq 40); do cksum <"$TMP/serial/$i"; done | sort -u | wc -l)
check_eq concurrency-distinct 40 "$(echo $distinct)"
