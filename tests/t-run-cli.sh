#!/bin/sh
# ernie-run's command line beyond the forward pass: --logprobs against the
# logits of --all, -n -1 and the llama.cpp spellings, $OPENBLAS_NUM_THREADS,
# and a model file truncated while it is mapped.
. tests/lib.sh
G=$DATA/golden/tiny-dense
RUN="$BIN/ernie-run"

# --logprobs: log-softmax of the position before each token, from --all's
# frames; two records of one sequence (the second's first token follows the
# first's last), an empty record, then a second sequence.
printf '5 9 300 7\n12 1000\n\n4 4 8\n' >"$TMP/in"
"$RUN" -m $G --precision f32 --logprobs <"$TMP/in" >"$TMP/lp" 2>"$TMP/err" ||
	fail logprobs-run "$(cat "$TMP/err")"
"$RUN" -m $G --precision f32 --all <"$TMP/in" >"$TMP/all"
if $PY - "$TMP/in" "$TMP/all" "$TMP/lp" <<'PY'
import math, struct, sys
records = [l.split() for l in open(sys.argv[1]).read().split('\n')[:-1]]
data = open(sys.argv[2], 'rb').read()
frames, off = [], 0
while off < len(data):
    n = struct.unpack_from('<I', data, off + 4)[0]
    frames.append(struct.unpack_from('<%df' % n, data, off + 8))
    off += 8 + 4 * n
want, prev = [], None
for rec in records:
    if not rec:
        frames.pop(0)               # the empty frame of the empty record
        want.append('')
        prev = None
        continue
    vals = []
    for tok in map(int, rec):
        if prev is not None:
            m = max(prev)
            vals.append(prev[tok] - m - math.log(sum(math.exp(x - m) for x in prev)))
        prev = frames.pop(0)
    want.append(vals)
got = open(sys.argv[3]).read().split('\n')[:-1]
ok = len(got) == len(want) and all(
    (w == '' and g == '') or (w != '' and len(g.split()) == len(w) and
     all(abs(float(a) - b) < 2e-5 for a, b in zip(g.split(), w)))
    for g, w in zip(got, want))
sys.exit(0 if ok else print(got, want) or 1)
PY
then ok logprobs-match-all; else fail logprobs-match-all "$(cat "$TMP/lp")"; fi
check_eq logprobs-line-shape "3 2 0 2" "$(awk '{ printf "%s%d", (NR > 1 ? " " : ""), NF }' "$TMP/lp")"

# -n -1: until the context is full, and no warning then; with a limit that
# cuts, the warning. --n-predict and --ctx-size are -n and -c.
prompt="1 2 3 4 5"
got=$(echo "$prompt" | "$RUN" -m $G -c 12 -n -1 --temp 0 --ignore-eos 2>"$TMP/err" | head -n 1)
check_eq n-minus-one-fills-context 8 "$(echo $got | wc -w)"
check_eq n-minus-one-no-warning "" "$(cat "$TMP/err")"
alias=$(echo "$prompt" | "$RUN" -m $G --ctx-size 12 --n-predict 20 --temp 0 --ignore-eos 2>"$TMP/err" |
	sed -n 1p)
check_eq n-predict-ctx-size-aliases "$(echo $got)" "$(echo $alias)"
grep -q 'warning: the answer stopped at the context limit of 12 tokens' "$TMP/err" &&
	ok context-limit-warning || fail context-limit-warning "$(cat "$TMP/err")"
check_eq ctx-zero-is-the-maximum "$(echo "$prompt" | "$RUN" -m $G -n 4 --temp 0)" \
	"$(echo "$prompt" | "$RUN" -m $G -c 0 -n 4 --temp 0)"

# $OPENBLAS_NUM_THREADS within -t's limits sets the threads
got=$(echo 1 | OPENBLAS_NUM_THREADS=3 "$RUN" -m $G -v 2>&1 >/dev/null | grep '^compute:')
case "$got" in "compute: 3 threads"*) ok openblas-threads ;; *) fail openblas-threads "$got" ;; esac

# A model truncated while ernie-run has it mapped: one line, status 3, and
# the frames written before are whole.
cp -r $G "$TMP/m"
mkfifo "$TMP/in.fifo"
# (out made first: the background shell opens it only once the FIFO has a
# writer, and a wc of a missing file would end the wait below at once)
: >"$TMP/out"
"$RUN" -m "$TMP/m" <"$TMP/in.fifo" >"$TMP/out" 2>"$TMP/err" &
pid=$!
exec 4>"$TMP/in.fifo"
echo 1 2 3 >&4
i=0
# (up to a minute for the first frame: a loaded machine is slow to start)
while [ "$(wc -c <"$TMP/out")" -lt 4104 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
truncate -s 1000 "$TMP/m/model.safetensors"
echo 4 5 >&4
exec 4>&-
wait $pid
st=$?
if [ $st -eq 3 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
	grep -q "^ernie-run: $TMP/m: model file changed while in use$" "$TMP/err" &&
	[ "$(wc -c <"$TMP/out")" -eq 4104 ]; then ok sigbus-model-changed
else fail sigbus-model-changed "status $st, $(wc -c <"$TMP/out") bytes out: $(cat "$TMP/err")"; fi
