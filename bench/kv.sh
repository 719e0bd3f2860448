#!/bin/sh
# bench/kv.sh: the KV cache rows of bench/run (issue 16), on random-weight
# models of the 0.3B shape (bench/gen_model.py, in $CACHE):
#   - decode tok/s at 4096 tokens of context for each cache type (-ctk/-ctv),
#     the types alternating, the median of ROUNDS rounds (the prompt taken
#     from a prompt cache made once per type);
#   - a 10-turn examples/chat.sh conversation: the prompt tokens computed and
#     the wall time, with its prompt cache and without; the target: at most
#     1.2 times the tokens of one pass over the final prompt;
#   - 20 prompts through examples/batch.sh sharing a 1,500-token system
#     prompt, with the system prompt prefilled once (--prompt-cache, then
#     read-only) and without; the target: total prefill 5 times smaller.
# The answers are cut to ANSWER ids (random weights never stop), through an
# ernie-run wrapper that also adds -v and collects its timing lines.
# Rows on stdout as bench/run's row(): NAME <TAB> VALUE <TAB> UNIT <TAB> <TAB>.
#   BIN=build THREADS=2 CACHE=DIR sh bench/kv.sh [decode|chat|batch]...
set -eu
BIN=${BIN:-build}
THREADS=${THREADS:-$(nproc)}
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ernie-bench}
ROUNDS=${ROUNDS:-3}
ANSWER=${ANSWER:-24}
PY=/usr/bin/python3
. bench/inputs.sh
# the programs by absolute path: the wrapper below runs from elsewhere
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
parts=${*:-decode chat batch}

$PY bench/gen_model.py "$CACHE" >&2

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

decode() {
	# the 4096-token prompt is prefilled once per type into a prompt cache:
	# each measured run then computes 4 of its tokens, then decodes 64
	ids 4096 >"$tmp/p4k"
	{ cat "$tmp/p4k"; i=0; while [ $i -lt 64 ]; do ids 1; i=$((i + 1)); done; } >"$tmp/dec"
	for t in f32 f16 bf16 q8_0; do
		echo "bench: 4096-token prompt into a prompt cache, $t" >&2
		"$BIN/ernie-run" -m "$CACHE/ernie-0.3b" -t "$THREADS" --top 1 -ctk $t -ctv $t \
			--prompt-cache "$tmp/p4k.$t" <"$tmp/p4k" >/dev/null
	done
	for r in $(seq "$ROUNDS"); do
		for t in f32 f16 bf16 q8_0; do
			echo "bench: decode at 4K context, $t, round $r" >&2
			"$BIN/ernie-run" -m "$CACHE/ernie-0.3b" -t "$THREADS" -v --top 1 -ctk $t -ctv $t \
				--prompt-cache "$tmp/p4k.$t" --prompt-cache-ro <"$tmp/dec" >/dev/null 2>"$tmp/err"
			tps "$tmp/err" eval >>"$tmp/dec.$t"
		done
	done
	for t in f32 f16 bf16 q8_0; do
		printf 'ernie-0.3b decode at 4K context, cache %s, median of %s\t%s\ttok/s\t\t\n' \
			$t "$ROUNDS" "$(median <"$tmp/dec.$t")"
	done
	rm -f "$tmp/p4k".*
}

# A model directory of the 0.3B shape that ernie-prompt and ernie-tok can
# use: the weights of ernie-0.3b-32k, the demo model's tokenizer.
model=$tmp/model
mkdir -p "$model"
ln -s "$CACHE/ernie-0.3b-32k/config.json" "$CACHE/ernie-0.3b-32k/model.safetensors" "$model/"
for f in tokenizer.model tokenizer_config.json special_tokens_map.json added_tokens.json \
	generation_config.json; do
	cp "examples/demo-model/$f" "$model/"
done
# ernie-run as the examples call it, plus -v (timing lines to $tmp/log, one
# "gen"/"fill" line before each run's) and -n $ANSWER; with $NOCACHE the
# --prompt-cache options are dropped and batch.sh's prefill of the system
# prompt alone (a run without -n) does nothing
mkdir -p "$tmp/wrap"
cat >"$tmp/wrap/ernie-run" <<EOF
#!/bin/sh
gen=fill
n=\$#
while [ \$n -gt 0 ]; do
	a=\$1; shift; n=\$((n - 1))
	case \$a in -n) gen=gen ;; esac
	if [ -n "\${NOCACHE:-}" ]; then
		case \$a in
		--prompt-cache) shift; n=\$((n - 1)); continue ;;
		--prompt-cache-ro) continue ;;
		esac
	fi
	set -- "\$@" "\$a"
done
if [ -n "\${NOCACHE:-}" ] && [ \$gen = fill ]; then cat >/dev/null; exit 0; fi
[ \$gen = gen ] && set -- "\$@" -n $ANSWER
echo \$gen >>"$tmp/log"
exec "$BIN/ernie-run" -v "\$@" 2>>"$tmp/log"
EOF
chmod +x "$tmp/wrap/ernie-run"
export ERNIE_MODEL="$model"
PATH=$tmp/wrap:$BIN:$PATH
export PATH

# prefilled: prompt tokens computed over the runs logged ("prompt eval"
# lines; a 1-token prompt record counts as "eval", never the case here)
prefilled() { awk '/^prompt eval:/ { n += $3 } END { print n + 0 }' "$tmp/log"; }
now() { date +%s.%N; }

chat() {
	for mode in cache none; do
		echo "bench: chat.sh, 10 turns, prompt cache: $mode" >&2
		rm -f "$tmp/log" "$tmp/chat.yaml" "$tmp/chat.cache"
		t0=$(now)
		awk 'BEGIN { for (i = 1; i <= 10; i++) printf "Turn %d: tell me more about the " \
			"history of the river and the towns along its banks, briefly please.\n", i }' |
			if [ $mode = none ]; then NOCACHE=1 sh examples/chat.sh "$tmp/chat.yaml"
			else sh examples/chat.sh "$tmp/chat.yaml"; fi >/dev/null 2>&1
		t1=$(now)
		eval "tokens_$mode=$(prefilled) time_$mode=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
	done
	# one pass over the final prompt: the conversation before its last answer
	head -n -2 "$tmp/chat.yaml" >"$tmp/final.yaml"
	final=$(ernie-prompt -c "$tmp/final.yaml" | ernie-tok | wc -w)
	printf 'chat.sh 10 turns, prompt tokens computed, prompt cache\t%s\ttokens\t\t\n' "$tokens_cache"
	printf 'chat.sh 10 turns, prompt tokens computed, no cache\t%s\ttokens\t\t\n' "$tokens_none"
	printf 'chat.sh 10 turns, one pass over the final prompt\t%s\ttokens\t\t\n' "$final"
	awk -v a="$tokens_cache" -v f="$final" 'BEGIN {
		printf "chat.sh 10 turns, computed / final prompt, prompt cache (target <= 1.2)\t%.2f\tx\t\t\n", a / f }'
	printf 'chat.sh 10 turns, wall time, prompt cache\t%.1f\ts\t\t\n' "$time_cache"
	printf 'chat.sh 10 turns, wall time, no cache\t%.1f\ts\t\t\n' "$time_none"
}

batch() {
	mkdir -p "$tmp/batch"
	# a system prompt of about 1,500 tokens (counted with the tokenizer)
	awk 'BEGIN { for (i = 1; i <= 60; i++) printf "Rule %d: answer in plain words, cite the " \
		"reference you used, and say so when you do not know. ", i }' >"$tmp/system"
	system_tokens=$(ernie-tok <"$tmp/system" | wc -w)
	i=1
	while [ $i -le 20 ]; do
		echo "Question $i: what is the capital of country number $i, and why?" >"$tmp/batch/q$i.txt"
		i=$((i + 1))
	done
	for mode in cache none; do
		echo "bench: batch.sh, 20 prompts, ${system_tokens}-token system prompt, cache: $mode" >&2
		rm -f "$tmp/log" "$tmp/batch/"*.answer
		t0=$(now)
		if [ $mode = none ]; then NOCACHE=1 sh examples/batch.sh "$tmp/batch" 2 "$tmp/system"
		else sh examples/batch.sh "$tmp/batch" 2 "$tmp/system"; fi >/dev/null 2>&1
		t1=$(now)
		[ "$(ls "$tmp/batch/"*.answer | wc -l)" -eq 20 ] || { echo "bench: batch.sh failed" >&2; return 1; }
		eval "tokens_$mode=$(prefilled) time_$mode=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
	done
	printf 'batch.sh 20 prompts, %s-token system prompt, prefill, prompt cache\t%s\ttokens\t\t\n' \
		"$system_tokens" "$tokens_cache"
	printf 'batch.sh 20 prompts, %s-token system prompt, prefill, no cache\t%s\ttokens\t\t\n' \
		"$system_tokens" "$tokens_none"
	awk -v a="$tokens_none" -v b="$tokens_cache" 'BEGIN {
		printf "batch.sh 20 prompts, prefill without / with the cache (target >= 5)\t%.1f\tx\t\t\n", a / b }'
	printf 'batch.sh 20 prompts, wall time, prompt cache\t%.1f\ts\t\t\n' "$time_cache"
	printf 'batch.sh 20 prompts, wall time, no cache\t%.1f\ts\t\t\n' "$time_none"
}

for p in $parts; do
	case $p in
	decode|chat|batch) $p ;;
	*) echo "bench/kv.sh: unknown part '$p'" >&2; exit 2 ;;
	esac
done
