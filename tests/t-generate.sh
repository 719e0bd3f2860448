#!/bin/sh
# Generation (ernie-run -n, sampling in-process or through --sampler) and the
# FIFO loop, on the golden tiny models and on the demo model (examples/demo-model).
. tests/lib.sh
M=examples/demo-model
ids() { $PY -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))[sys.argv[2]])))" "$@"; }

for model in tiny-dense tiny-moe; do
	dir=$DATA/golden/$model
	prompt=$(ids "$dir/greedy.json" prompt)
	want=$(ids "$dir/greedy.json" greedy)

	# -n: ernie-run samples in-process, greedy
	got=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" --precision f32 -n 16 --temp 0 | head -n 1)
	check_eq "generate-greedy-$model" "$want" "$(echo $got)"

	# the FIFO form: ernie-run in filter mode reads the ids fed back
	rm -f "$TMP/fifo"
	mkfifo "$TMP/fifo"
	got=$( (echo "$prompt"; cat "$TMP/fifo") | "$BIN/ernie-run" -m "$dir" --precision f32 |
		"$BIN/ernie-sample" --temp 0 | tee "$TMP/fifo" | head -n 16 | tr '\n' ' ')
	check_eq "fifo-greedy-$model" "$want" "$(echo $got)"
done

dir=$DATA/golden/tiny-dense
prompt=$(ids "$dir/greedy.json" prompt)
# the answer is one record, then an empty record; ids stop at -n
out=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 3 --temp 0 | od -c | head -3)
got=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 3 --temp 0 | awk '{ print NF }' | tr '\n' ,)
check_eq "generate-record-then-empty" "3,0," "$got"
# a stop id ends the answer before it; the greedy 2nd id is 878
got=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 16 --temp 0 --stop-id 878 | head -n 1)
check_eq "generate-stop-id" "500" "$(echo $got)"
# sequences: two prompts separated by an empty record give two answers
got=$(printf '%s\n\n%s\n' "$prompt" "$prompt" | "$BIN/ernie-run" -m "$dir" -n 2 --temp 0 | tr '\n' '|')
check_eq "generate-two-sequences" "500 878 ||500 878 ||" "$got"
check_eq "generate-empty-input" "" "$(printf '' | "$BIN/ernie-run" -m "$dir" -n 2 --temp 0)"
# same seed, same answer; another seed, (almost surely) another
a=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 12 -s 7)
b=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 12 -s 7)
c=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 12 -s 8)
check_eq "generate-seeded" "$a" "$b"
[ "$a" != "$c" ] && ok generate-seed-matters || fail generate-seed-matters "seeds 7 and 8 gave $a"
check_fails generate-bad-sampler 3 "sampler 'exit 3'.*status 3" \
	sh -c "echo '$prompt' | '$BIN/ernie-run' -m '$dir' -n 2 --sampler 'exit 3'"
check_fails generate-all-conflict 2 "-n generates ids: --all is for logits" "$BIN/ernie-run" -m "$dir" -n 2 --all
check_fails generate-options-need-n 2 "need -n" "$BIN/ernie-run" -m "$dir" --temp 0
check_fails generate-bad-temp 2 "ernie-run: --temp: '-1' is not a number >= 0" \
	"$BIN/ernie-run" -m "$dir" -n 2 --temp -1
check_fails generate-top-p-own-text 2 "ernie-run: --top_p: '1.0000001' is not in \[0, 1\]" \
	"$BIN/ernie-run" -m "$dir" -n 2 --top_p 1.0000001
check_fails generate-sampler-and-options 2 "go to the --sampler command" \
	"$BIN/ernie-run" -m "$dir" -n 2 --sampler cat --temp 0

# The same seed gives the same ids three ways: sampling in-process, through
# --sampler ernie-sample, and around the FIFO loop of ernie-sample(1) (each
# with penalties, so the history counts too). The golden model has no
# tokenizer: no ids are masked, so the filter's frames equal -n's.
opts="-s 11 --temp 1.5 --top-k 40 --top-p 0.9 --repeat-penalty 1.3 --presence-penalty 0.2"
inproc=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 24 --ignore-eos $opts | head -n 1)
outside=$(echo "$prompt" | "$BIN/ernie-run" -m "$dir" -n 24 --ignore-eos \
	--sampler "'$BIN/ernie-sample' -m '$dir' -b $opts" | head -n 1)
rm -f "$TMP/fifo"
mkfifo "$TMP/fifo"
fifo=$( (echo "$prompt"; cat "$TMP/fifo") | "$BIN/ernie-run" -m "$dir" |
	"$BIN/ernie-sample" -m "$dir" $opts | tee "$TMP/fifo" | head -n 24 | tr '\n' ' ')
[ "$(echo $inproc | wc -w)" -eq 24 ] && ok generate-seed-24-ids || fail generate-seed-24-ids "[$inproc]"
check_eq generate-seed-in-process-vs-sampler "$(echo $inproc)" "$(echo $outside)"
check_eq generate-seed-in-process-vs-fifo "$(echo $inproc)" "$(echo $fifo)"

# The batch chain: 20 questions, 20 answers, in order, each equal to the
# answer the question gets alone (greedy, so answers depend on the prompt only).
seq 1 20 | sed 's/^/question number /' >"$TMP/q"
"$BIN/ernie-prompt" -l <"$TMP/q" | "$BIN/ernie-tok" -m $M -0 |
	"$BIN/ernie-run" -m $M -n 8 --temp 0 | "$BIN/ernie-detok" -m $M -0 >"$TMP/batch"
n=$(tr -cd '\0' <"$TMP/batch" | wc -c)
check_eq batch-20-answers 20 "$n"
i=0 same=0
while IFS= read -r q; do
	i=$((i + 1))
	alone=$("$BIN/ernie-prompt" -u "$q" | "$BIN/ernie-tok" -m $M | "$BIN/ernie-run" -m $M -n 8 --temp 0 |
		"$BIN/ernie-detok" -m $M -0 | tr -d '\0' | od -An -tx1)
	inbatch=$(tr '\0' '\n' <"$TMP/batch" | sed -n "${i}p" | tr -d '\n' | od -An -tx1)
	[ "$alone" = "$inbatch" ] && same=$((same + 1))
done <"$TMP/q"
check_eq batch-answers-in-order 20 "$same"

# --stop: the answer ends before the stop string, which is not part of it
full=$("$BIN/ernie-prompt" -u hi | "$BIN/ernie-tok" -m $M | "$BIN/ernie-run" -m $M -n 40 -s 3 --ignore-eos |
	"$BIN/ernie-detok" -m $M --raw)
stop=$(printf %s "$full" | $PY -c "import sys; t=sys.stdin.read(); print(t[len(t)//2:len(t)//2+2], end='')")
cut=$("$BIN/ernie-prompt" -u hi | "$BIN/ernie-tok" -m $M | "$BIN/ernie-run" -m $M -n 40 -s 3 --ignore-eos --stop "$stop" |
	"$BIN/ernie-detok" -m $M --raw)
if $PY - "$full" "$cut" "$stop" <<'PY'
import sys
full, cut, stop = sys.argv[1:4]
at = full.find(stop)
ok = full.startswith(cut) and stop not in cut and 0 <= at - len(cut) < 32
sys.exit(0 if ok else 1)
PY
then ok generate-stop-string; else fail generate-stop-string "stop [$stop] full [$full] cut [$cut]"; fi

# --stop matches the text as ernie-detok shows it: an answer that begins with
# a newline (id 23, forced by a bias; the presence penalty keeps it from
# coming back) is not cut before it starts by --stop '\n'
p=$("$BIN/ernie-prompt" -u hi | "$BIN/ernie-tok" -m $M)
bias="-n 8 -s 1 --logit-bias 23=100 --presence-penalty 1000"
want=$(echo "$p" | "$BIN/ernie-run" -m $M $bias | head -n 1)
nl=$(printf '\n_')
got=$(echo "$p" | "$BIN/ernie-run" -m $M $bias --stop "${nl%_}" | head -n 1)
case "$want" in
"23 "*) check_eq generate-stop-leading-newline "$(echo $want)" "$(echo $got)" ;;
*) fail generate-stop-leading-newline "the bias gave no leading newline: [$want]" ;;
esac
