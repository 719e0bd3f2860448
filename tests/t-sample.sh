#!/bin/sh
# ernie-sample from the command line: one id record per frame, empty frames
# reset the history, same seed -> same ids (ELOG or the equivalent ETOP),
# model defaults, options and their aliases, bad input and bad options, and
# ernie-sample as ernie-run's sampler process (--sampler).
# (The statistics and exact sets are in tests/unit/t_sample.c.)
. tests/lib.sh
S=$BIN/ernie-sample
frames() { "$PY" tests/logits.py "$@"; }

# ---- greedy, records, history --------------------------------------------
check_eq greedy "1" "$(frames "1 5 2" | $S --temp 0)"
check_eq greedy-sparse "9" "$(frames "3:1 9:5 4:2" | $S --temp 0)"
check_eq greedy-alias "1" "$(frames "1 5 2" | $S --temperature 0)"

# 0 is chosen, then repeated it loses to 1 (5/2 < 4.9); the empty frame
# passes on as an empty record and the next sequence starts afresh
out=$(frames "5 4.9" "5 4.9" "" "5 4.9" | $S --temp 0 --repeat-penalty 2 | tr '\n' '|')
check_eq empty-frame-resets-history "0|1||0|" "$out"
out=$(frames "5 4.9" "5 4.9" | $S --temp 0 --repetition_penalty 2 --repeat-last-n 0 | tr '\n' '|')
check_eq repeat-last-n-0-is-off "0|0|" "$out"
out=$(frames "5 4.5" "5 4.5" "5 4.5" | $S --temp 0 --presence-penalty 0.3 --frequency-penalty 0.2 | tr '\n' '|')
check_eq presence-frequency "0|0|1|" "$out"
check_eq logit-bias "2" "$(frames "1 5 2" | $S --temp 0 --logit-bias 2=3.5 --logit-bias 0=1)"
check_eq logit-bias-ban "2" "$(frames "1 5 2" | $S --temp 0 --logit-bias 1=-inf)"

# ---- same seed, same ids --------------------------------------------------
frames -r 200 "0.3 1.2 -0.5 2.0 1.9 0.0 -inf 1.1" "" >"$TMP/dense"
frames -r 200 "7:1.1 3:2.0 1:1.2 0:0.3 4:1.9 2:-0.5 5:0.0" "" >"$TMP/sparse"
opts="--top-k 6 --top-p 0.9 --min-p 0.05 --repeat-penalty 1.1 -s 12345"
$S $opts <"$TMP/dense" >"$TMP/a"
$S $opts <"$TMP/dense" >"$TMP/b"
$S $opts <"$TMP/sparse" >"$TMP/c"
check_eq records-per-frame 400 "$(wc -l <"$TMP/a" | tr -d ' ')"
check same-seed-same-ids cmp -s "$TMP/a" "$TMP/b"
check elog-etop-same-ids cmp -s "$TMP/a" "$TMP/c"
check_eq never-masked-id "" "$(grep -x 6 "$TMP/a")"
# T 0.8: weights 1 .88 .37 .32 .12 .08 (top-6), 0.9 of them takes four ids
check_eq top-p-ids-drawn 4 "$(grep -v '^$' "$TMP/a" | sort -u | wc -l | tr -d ' ')"
$S --top-k 6 --top-p 0.9 -s 12346 <"$TMP/dense" >"$TMP/d"
check other-seed-other-ids sh -c "! cmp -s '$TMP/a' '$TMP/d'"

# the seed printed with -v reproduces the run
$S -v <"$TMP/dense" >"$TMP/e" 2>"$TMP/v"
seed=$(sed -n 's/.*seed=\([0-9]*\).*/\1/p' "$TMP/v")
$S -s "$seed" <"$TMP/dense" >"$TMP/f"
check seed-printed-reproduces sh -c "[ -n '$seed' ] && cmp -s '$TMP/e' '$TMP/f'"
check stats-line grep -q '^sample: 200 tokens' "$TMP/v"

# binary output: one ETOK frame of one id, an empty ETOK frame
frames "1 5 2" "" | $S --temp 0 -b >"$TMP/bin"
check_eq binary-etok "ETOK 1 1 ETOK 0" "$("$PY" -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
print(d[:4].decode(), *struct.unpack("<Ii", d[4:12]), d[12:16].decode(), *struct.unpack("<I", d[16:20]))
' "$TMP/bin")"

# ---- model defaults -------------------------------------------------------
mkdir -p "$TMP/m"
printf '{"do_sample": false}\n' >"$TMP/m/generation_config.json"
check_eq model-do-sample-false "1" "$(frames "1 5 2" | $S -m "$TMP/m" -s 1)"
check_eq model-from-env "1" "$(frames "1 5 2" | ERNIE_MODEL="$TMP/m" $S -s 1)"
check_eq option-over-model "temperature=0.5" "$(frames | $S -m "$TMP/m" --temp 0.5 -v 2>&1 | grep -o 'temperature=[0-9.]*')"
check_eq official-defaults "temperature=0.8 top_k=0 top_p=0.8 min_p=0 repetition_penalty=1" \
	"$(frames | $S -m "$DATA/sample" -v 2>&1 | grep -o 'temperature=.*repetition_penalty=[0-9.]*')"
check_eq builtin-defaults "temperature=0.8 top_k=0 top_p=0.8 min_p=0 repetition_penalty=1" \
	"$(frames | env -u ERNIE_MODEL $S -v 2>&1 | grep -o 'temperature=.*repetition_penalty=[0-9.]*')"
printf '{\n "top_p": 2\n}\n' >"$TMP/m/generation_config.json"
check_fails model-bad-value 1 'generation_config.json:2:.*top_p' sh -c "$S -m '$TMP/m' </dev/null"
check_fails model-missing-dir 3 'nonexistent' sh -c "$S -m '$TMP/nonexistent' </dev/null"

# ---- bad input --------------------------------------------------------------
# fails_after NAME PATTERN CMD: exit status 1 and one stderr line matching
# PATTERN, after the records before the bad frame (checked separately)
fails_after() {
	name=$1 pat=$2; shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	st=$?
	if [ "$st" -ne 1 ]; then fail "$name" "status $st, expected 1"
	elif [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -Eq -- "$pat" "$TMP/err"; then
		fail "$name" "message [$(cat "$TMP/err")] lacks /$pat/"
	else ok "$name"; fi
}
frames "1 2 9" "1 nan 3" >"$TMP/nan"
fails_after nan-names-frame 'frame 2 .*id 1: logit is NaN' sh -c "$S --temp 0 <'$TMP/nan'"
check_eq nan-records-before-written "2" "$(cat "$TMP/out")"
frames "1 2" "" "inf 1" >"$TMP/inf"
fails_after inf-names-frame 'frame 3 .*id 0: logit is \+inf' sh -c "$S <'$TMP/inf'"
check_fails all-masked 1 'frame 1 .*no id has a finite logit' sh -c "'$PY' tests/logits.py '-inf -inf' | $S"
check_fails tokens-not-logits 1 'frame 1 .*token ids where logits' sh -c "echo 1 2 3 | $S"
check_fails bias-past-vocab 1 'frame 1 .*logit bias for id 5' sh -c "'$PY' tests/logits.py '1 2' | $S --logit-bias 5=1"
check_fails truncated-frame 1 '.' sh -c "printf 'ELOG\003\000\000\000ab' | $S"

# a closed pipe ends it quietly
frames -r 20000 "1 2 3" >"$TMP/many"
( $S <"$TMP/many" 2>"$TMP/pipe-err" | head -c 1 >/dev/null )
check_eq sigpipe-quiet "" "$(cat "$TMP/pipe-err")"

# ---- options ------------------------------------------------------------------
for bad in "--temp -1" "--temp x" "--temp nan" "--top-p 1.5" "--top_p -0.1" \
	"--top-k 1.5" "--top-k -1" "--min-p 2" "--repeat-penalty 0" \
	"--repeat-last-n -2" "--presence-penalty inf" "--logit-bias 3" \
	"--logit-bias x=1" "--logit-bias 3=inf" "--logit-bias -3=1" "-s abc" \
	"-s 18446744073709551616" "--bogus" "--temp" "extra-arg"; do
	check_fails "usage:$bad" 2 'ernie-sample: ' sh -c "$S $bad </dev/null"
done
check help sh -c "$S --help | grep -q -- --top-p"
check_eq version "ernie-sample $(sed -n 's/^VERSION = //p' config.mk)" "$($S --version)"
check aliases sh -c "'$PY' tests/logits.py '1 2' | $S --top_k 5 --top_p 0.5 --min_p 0.1 --presence_penalty 0.1 --frequency_penalty 0.1 --repetition_penalty 1.1 -s 0 >/dev/null"
check seed-minus-one-random sh -c "'$PY' tests/logits.py '1 2' | $S -s -1 >/dev/null"

# ---- as ernie-run's sampler process (--sampler: frames out, ids back) -------
g=$DATA/golden/tiny-dense
prompt=$($PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["prompt"])' "$g/greedy.json")
want=$($PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["greedy"])' "$g/greedy.json")
gen() { echo $(echo "$prompt" | $BIN/ernie-run -m "$g" --precision f32 -n 16 --sampler "$1" | head -n 1); }
check_eq sampler-process-text "$want" "$(gen "$S --temp 0")"
check_eq sampler-process-binary "$want" "$(gen "$S --temp 0 -b")"
# the demo model's frames (32064 logits) are more than a pipe holds
M=examples/demo-model
if [ -f "$M/model.safetensors" ]; then
	ids=$(echo 1 2 3 | $BIN/ernie-run -m "$M" -n 4 --ignore-eos --temp 0 | head -n 1)
	got=$(echo 1 2 3 | $BIN/ernie-run -m "$M" -n 4 --ignore-eos --sampler "$S --temp 0 -b" | head -n 1)
	check_eq sampler-process-frames-past-pipe-size "4 ids: $(echo $ids)" "$(echo $got | wc -w) ids: $(echo $got)"
else
	skip sampler-process-frames-past-pipe-size "no $M/model.safetensors"
fi
# ernie-sample refusing its options: its own message comes through, then
# ernie-run's line naming the sampler, and ernie-run fails as for any outside
# sampler that fails (3)
err=$(echo "$prompt" | $BIN/ernie-run -m "$g" -n 2 --sampler "$S --top-p 7" 2>&1 >/dev/null)
st=$?
if [ $st -eq 3 ] && printf '%s\n' "$err" | grep -q "^ernie-sample: --top-p: '7' is not in \[0, 1\]" &&
	printf '%s\n' "$err" | grep -q "^ernie-run: sampler '.*': exited with status 2$"; then
	ok sampler-process-refuses
else
	fail sampler-process-refuses "status $st: $err"
fi
