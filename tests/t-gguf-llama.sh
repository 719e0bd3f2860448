#!/bin/sh
# ernie-run on GGUF files quantised by llama.cpp's own llama-quantize (the
# oracle tests/oracles/llama.sh builds; $LLAMA_BIN names its directory
# directly; skipped when neither is there): each file's logits, under
# --precision f32, equal those of the same file requantised by llama.cpp
# to F32 (llama-quantize --allow-requantize Q OUT F32, i.e. dequantised by
# ggml) within the golden tolerance (measured: 0 for the K mixes, whose
# prefill then runs the same f32 GEMM on the same weights; 2e-6 for Q4_0):
# our dequantisers are ggml's. Q8_0 and Q4_0 on the golden tiny models
# (rows of 64); the K mixes (Q4_K, Q5_K, Q6_K tensors) on tests/quant.py's
# 256-wide models.
. tests/lib.sh
RUN=$BIN/ernie-run
G=$DATA/golden
Q="$PY tests/quant.py"

LLAMA=${LLAMA_BIN:-}
[ -z "$LLAMA" ] && [ -f tests/oracles/llama.sh ] && LLAMA=$(sh tests/oracles/llama.sh --check 2>/dev/null)
if [ -z "$LLAMA" ] || [ ! -x "$LLAMA/llama-quantize" ]; then
	skip gguf_llama_quantize "the llama.cpp oracle is not built (sh tests/oracles/llama.sh)"
	exit 0
fi
lq() { "$LLAMA/llama-quantize" "$@" >"$TMP/lq.log" 2>&1 || { tail -n 3 "$TMP/lq.log" >&2; return 1; }; }

# NAME F32-GGUF TYPE IDS: quantise, requantise to F32, compare the logits
same() {
	name=$1 src=$2 type=$3 ids=$4
	if ! lq "$src" "$TMP/$name.gguf" "$type" || ! lq --allow-requantize "$TMP/$name.gguf" \
		"$TMP/$name-f32.gguf" F32; then
		fail "gguf_llama_$name" "llama-quantize failed: $(tail -n 2 "$TMP/lq.log")"
		return
	fi
	echo "$ids" | $RUN -m "$TMP/$name.gguf" --all --precision f32 >"$TMP/q" 2>"$TMP/err"
	echo "$ids" | $RUN -m "$TMP/$name-f32.gguf" --all --precision f32 >"$TMP/f" 2>"$TMP/err"
	check "gguf_llama_$name" $Q compare "$TMP/q" "$TMP/f" 5e-4
}

for m in tiny-dense tiny-moe; do
	$PY bench/gguf.py --f32 "$G/$m" "$TMP/$m.gguf"
	toks=$($PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["tokens"])' "$G/$m/tokens.json")
	for t in Q8_0 Q4_0; do
		same "$m-$t" "$TMP/$m.gguf" $t "$toks"
	done
done
ids=$($Q ids 48 3)
for kind in dense moe; do
	$Q model $kind "$TMP/w-$kind-q.gguf" "$TMP/w-$kind.gguf"
	for t in Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K; do
		same "wide-$kind-$t" "$TMP/w-$kind.gguf" $t "$ids"
	done
done
