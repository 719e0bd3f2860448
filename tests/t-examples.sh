#!/bin/sh
# The scripts in examples/ run as their headers say, on the demo model.
. tests/lib.sh
PATH=$(pwd)/$BIN:$PATH
export ERNIE_MODEL=$(pwd)/examples/demo-model OPENBLAS_NUM_THREADS=1

# batch.sh: one .answer per .txt, written whole
mkdir -p "$TMP/prompts"
for i in 1 2 3 4 5; do echo "question $i" >"$TMP/prompts/q$i.txt"; done
check batch-runs sh examples/batch.sh "$TMP/prompts" 2
check_eq batch-answers 5 "$(ls "$TMP/prompts"/*.answer | wc -l)"
check_eq batch-no-leftovers 10 "$(ls -A "$TMP/prompts" | wc -l)"

# a prompt ernie-prompt refuses (not UTF-8): no answer for it, the others
# answered, the batch fails (xargs: 123), nothing else left
mkdir -p "$TMP/mixed"
echo "question" >"$TMP/mixed/good.txt"
printf 'bad \377\n' >"$TMP/mixed/bad.txt"
check_eq batch-fails-on-a-bad-prompt 123 "$(sh examples/batch.sh "$TMP/mixed" 2 2>/dev/null; echo $?)"
check_eq batch-answers-the-others "bad.txt good.answer good.txt" "$(ls -A "$TMP/mixed" | tr '\n' ' ' | sed 's/ $//')"
# the same seed and prompt give the same answer as a chain run alone
alone=$(ernie-prompt <"$TMP/prompts/q3.txt" | ernie-tok | ernie-run -t 1 -n 512 --seed 1 | ernie-detok)
check_eq batch-answer-is-the-chains "$alone" "$(cat "$TMP/prompts/q3.answer")"

# batch.sh with a system prompt prefilled once into a prompt cache, read by
# every chain: the answers of chains run alone with that system prompt
mkdir -p "$TMP/sys"
for i in 1 2 3; do echo "question $i" >"$TMP/sys/q$i.txt"; done
echo "You answer in one short sentence, and only about geography." >"$TMP/system.txt"
check batch-system-runs sh examples/batch.sh "$TMP/sys" 2 "$TMP/system.txt"
alone=$(ernie-prompt -s "$(cat "$TMP/system.txt")" <"$TMP/sys/q2.txt" | ernie-tok |
	ernie-run -t 1 -n 512 --seed 1 | ernie-detok)
check_eq batch-system-answer-is-the-chains "$alone" "$(cat "$TMP/sys/q2.answer")"
check_eq batch-system-no-leftovers 6 "$(ls -A "$TMP/sys" | wc -l)"

# websearch-cron.sh: a dated answer file, its path on stdout, nothing else left
mkdir -p "$TMP/answers"
out=$(sh examples/websearch-cron.sh examples/references.json "What is ERNIE 4.5?" "$TMP/answers" 2>"$TMP/err")
case "$out" in
"$TMP/answers/answer-"*.txt) [ -s "$out" ] && ok cron-answer-file || fail cron-answer-file "empty $out" ;;
*) fail cron-answer-file "printed [$out]: $(cat "$TMP/err")" ;;
esac
check_eq cron-one-file 1 "$(ls -A "$TMP/answers" | wc -l)"
# a missing results file: ernie-prompt's status (3, I/O) and one line
check_fails cron-bad-results 3 "ernie-prompt: .*nope" \
	sh examples/websearch-cron.sh "$TMP/nope" q "$TMP/answers"
printf '[{"title": 1}]' >"$TMP/bad.json"
check_fails cron-bad-references 1 "ernie-prompt: .*bad.json" \
	sh examples/websearch-cron.sh "$TMP/bad.json" q "$TMP/answers"
# a failure further down the chain fails the job too (sh has no pipefail):
# the first failed stage's status, here ernie-tok's (3: no tokenizer)
mkdir -p "$TMP/no-model"
check_eq cron-later-stage-fails 3 "$(ERNIE_MODEL=$TMP/no-model sh examples/websearch-cron.sh \
	examples/references.json q "$TMP/answers" 2>/dev/null; echo $?)"
check_eq cron-nothing-left-on-failure 1 "$(ls -A "$TMP/answers" | wc -l)"

# score.sh: a perplexity between 1 and the vocabulary size (random weights:
# near the vocabulary size), over every token of the file
printf 'The quick brown fox jumps over the lazy dog.\n' >"$TMP/text"
out=$(sh examples/score.sh "$TMP/text")
n=$(ernie-tok <"$TMP/text" | wc -w)
echo "$out" | awk -v n="$n" '$1 == "tokens" && $2 == n && $7 > 1 && $7 < 32064 { found = 1 } END { exit !found }' &&
	ok score-perplexity || fail score-perplexity "[$out] for $n tokens"

# chat.sh: two turns kept as a YAML conversation that ernie-prompt reads back
printf 'hello "there"\nand\\then\n' | (cd "$TMP" && sh "$OLDPWD/examples/chat.sh" conv.yaml) >/dev/null 2>&1
roles=$(grep -c '^- role:' "$TMP/conv.yaml")
check_eq chat-four-messages 4 "$roles"
check chat-conversation-reads-back ernie-prompt -c "$TMP/conv.yaml"
grep -q 'User: hello "there"' "$TMP/out" && grep -q 'User: and\\then' "$TMP/out" &&
	ok chat-quoting || fail chat-quoting "$(head -c 300 "$TMP/out")"
check chat-prompt-cache-beside test -s "$TMP/conv.cache"

# chat.sh writes the answer to stderr without reopening it: a 2>> log keeps
# what it held
echo "earlier line" >"$TMP/chat.log"
printf 'hi\n' | (cd "$TMP" && sh "$OLDPWD/examples/chat.sh" conv2.yaml) >/dev/null 2>>"$TMP/chat.log"
check_eq chat-log-appended "earlier line" "$(head -n 1 "$TMP/chat.log")"
# a failed stage: the conversation file untouched, the stage's status
cp "$TMP/conv2.yaml" "$TMP/conv2.saved"
mkdir -p "$TMP/no-model"
check_eq chat-failed-turn-status 3 "$(printf 'again\n' | (cd "$TMP" && ERNIE_MODEL=$TMP/no-model \
	sh "$OLDPWD/examples/chat.sh" conv2.yaml) >/dev/null 2>&1; echo $?)"
check chat-failed-turn-untouched cmp "$TMP/conv2.yaml" "$TMP/conv2.saved"
# a malformed conversation file is never written to (conv2.cache is the
# prompt cache of the turns that succeeded)
printf -- '- role: user\n  content: [oops\n' >"$TMP/malformed.yaml"
cp "$TMP/malformed.yaml" "$TMP/malformed.saved"
check_eq chat-malformed-status 1 "$(printf 'q\n' | (cd "$TMP" && sh "$OLDPWD/examples/chat.sh" malformed.yaml) >/dev/null 2>&1; echo $?)"
check chat-malformed-untouched cmp "$TMP/malformed.yaml" "$TMP/malformed.saved"
check_eq chat-nothing-left "conv2.cache conv2.saved conv2.yaml malformed.saved malformed.yaml" \
	"$(cd "$TMP" && ls -A conv2.* malformed.* | tr '\n' ' ' | sed 's/ $//')"

# answer.sh: the answer's mode follows the umask (not mktemp's 0600)
mkdir -p "$TMP/mode"
(umask 027 && sh examples/answer.sh "$TMP/mode/a" "-n 4 --seed 1" -u hi)
check_eq answer-mode-umask 640 "$(stat -c %a "$TMP/mode/a")"

# answer.sh killed by SIGTERM or SIGINT (under sh: dash here): the stages are
# killed and nothing is left behind. ernie-prompt waits on a standard input
# that never ends, so the stages are running when the signal comes.
for sig in TERM INT; do
	mkdir -p "$TMP/sig$sig"
	"$PY" - "$TMP/sig$sig" "$sig" <<'PYEOF'
import os, signal, subprocess, sys, time
d, name = sys.argv[1], sys.argv[2]
opts = "-n 7 --seed 4%d" % os.getpid()       # names this run's ernie-run
def stages():
    return subprocess.run(["pgrep", "-f", "ernie-run " + opts], capture_output=True).stdout
# SIGINT at its default: a shell started with it ignored (make check run in
# the background, as an asynchronous list) cannot trap it
p = subprocess.Popen(["sh", "examples/answer.sh", d + "/a.out", opts], stdin=subprocess.PIPE,
                     stderr=subprocess.DEVNULL,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
for _ in range(100):
    if stages():
        break
    time.sleep(0.1)
p.send_signal(getattr(signal, "SIG" + name))
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:       # the signal was held: kill it all
    rc = "none in 30 s"
    subprocess.run(["pkill", "-P", str(p.pid)])
    p.kill()
for _ in range(50):
    if not stages():
        break
    time.sleep(0.1)
p.stdin.close()
want = 128 + getattr(signal, "SIG" + name)
left = os.listdir(d)
if rc != want or stages() or left:
    print(f"FAIL answer-killed-{name}: status {rc} (want {want}), stages {stages()!r}, left {left}")
else:
    print(f"ok answer-killed-{name}")
PYEOF
done
