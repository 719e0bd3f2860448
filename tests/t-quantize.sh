#!/bin/sh
# ernie-quantize: its usage and failures, and its files against llama.cpp's
# llama-quantize (the oracle tests/oracles/llama.sh builds; skipped when it
# is not built): on the same f32 input, Q8_0 and Q4_0 tensors byte for byte
# on the golden tiny models; on checkpoints with 256-wide rows
# (tests/oracles/wide_models.py), the K mixes' tensor types equal and each
# tensor's RMS error, both files dequantised by llama.cpp, no worse; and
# llama.cpp loads our files and generates from them.
. tests/lib.sh
Q=$BIN/ernie-quantize
G=$DATA/golden
T="$PY tests/oracles/gguf_tensors.py"

check help "$Q" --help
check_fails usage:none 2 'expected IN OUT TYPE' "$Q"
check_fails usage:threads 2 "-t: expected a number of threads 1..4096, not '0'" "$Q" -t 0 "$G/tiny-dense" "$TMP/x.gguf" q8_0
check_fails usage:type 2 "TYPE 'q3_k' is not one of" "$Q" "$G/tiny-dense" "$TMP/x.gguf" q3_k
check_fails missing-in 3 'nope' "$Q" "$TMP/nope" "$TMP/x.gguf" q8_0
check_fails in-not-gguf 1 'config.json' "$Q" "$G/tiny-dense/config.json" "$TMP/x.gguf" q8_0
# a checkpoint without one tensor: exit 1, and neither OUT nor OUT.tmp
mkdir "$TMP/broken"
cp "$G/tiny-dense/config.json" "$TMP/broken/"
$PY - "$G/tiny-dense/model.safetensors" "$TMP/broken/model.safetensors" <<'PYEOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
del h["model.layers.1.self_attn.v_proj.weight"]
j = json.dumps(h).encode()
j += b" " * (-len(j) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + b[8 + n:])
PYEOF
check_fails missing-tensor 1 "tensor 'model.layers.1.self_attn.v_proj.weight' missing" \
	"$Q" "$TMP/broken" "$TMP/broken.gguf" q4_0
if [ -e "$TMP/broken.gguf" ] || [ -e "$TMP/broken.gguf.tmp" ]; then fail no-partial-file "left $(ls "$TMP"/broken.gguf*)"
else ok no-partial-file; fi
for m in tiny-dense tiny-moe; do
	for t in q8_0 q4_0 q4_k_m q5_k_m q6_k bf16 f16 f32; do
		"$Q" "$G/$m" "$TMP/$m-$t.gguf" "$t" 2>"$TMP/err" || fail "quantize:$m:$t" "$(cat "$TMP/err")"
	done
	ok "quantize:$m"
	# from a GGUF: the same tensors as from the directory
	"$Q" "$TMP/$m-f32.gguf" "$TMP/$m-q4_k_m-2.gguf" q4_k_m 2>"$TMP/err" &&
		$T same "$TMP/$m-q4_k_m.gguf" "$TMP/$m-q4_k_m-2.gguf" >"$TMP/diff" 2>&1
	check_eq "from-gguf:$m" "" "$(cat "$TMP/err" "$TMP/diff")"
done

# the tokenizer travels: a GGUF made from ernie-like-a.modeldir (with the
# tiny-dense weights, embeddings widened to its 32037 ids) encodes and
# decodes the directory's golden cases
L=$TMP/likea
mkdir "$L"
cp "$DATA/tokenizer/ernie-like-a.modeldir/"*.json "$L/"
cp "$DATA/tokenizer/ernie-like-a.model" "$L/tokenizer.model"
$PY - "$G/tiny-dense" "$L" <<'PYEOF'
import json, struct, sys
c = json.load(open(sys.argv[1] + "/config.json"))
c["vocab_size"] = 32037
json.dump(c, open(sys.argv[2] + "/config.json", "w"))
b = open(sys.argv[1] + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h, out, data = json.loads(b[8:8 + n]), {}, b""
for k, v in h.items():
    if k == "__metadata__":
        continue
    d = b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
    if k == "model.embed_tokens.weight":
        v["shape"], d = [32037, 64], (d * 40)[:32037 * 64 * 2]
    out[k] = {"dtype": v["dtype"], "shape": v["shape"], "data_offsets": [len(data), len(data) + len(d)]}
    data += d
j = json.dumps(out).encode()
j += b" " * (-len(j) % 8)
open(sys.argv[2] + "/model.safetensors", "wb").write(struct.pack("<Q", len(j)) + j + data)
PYEOF
if "$Q" "$L" "$TMP/likea.gguf" q8_0 2>"$TMP/err"; then
	$PY tests/tok_golden.py "$BIN" "$DATA/tokenizer" "$TMP/likea.gguf"
else fail gguf-tokenizer "$(cat "$TMP/err")"; fi
# ernie-prompt: the file's chat template and special tokens as the directory's
prompt() { "$BIN/ernie-prompt" -m "$1" -s "Be brief." -u "hi <|LOC_0|> <mask:1>" 2>&1 | od -c; }
check_eq gguf-prompt "$(prompt "$L")" "$(prompt "$TMP/likea.gguf")"
# ernie-sample: no generation_config in a GGUF, so the model card's values
echo "1 5 9" | "$BIN/ernie-run" -m "$G/tiny-dense" >"$TMP/logits"
check_eq gguf-sample "$("$BIN/ernie-sample" -s 7 <"$TMP/logits")" \
	"$("$BIN/ernie-sample" -m "$TMP/tiny-dense-f32.gguf" -s 7 <"$TMP/logits")"

$PY tests/oracles/wide_models.py "$TMP" || fail wide-models "wide_models.py failed"
# interrupted: neither OUT nor OUT.tmp stays behind
"$Q" "$TMP/wide-moe" "$TMP/int.gguf" q4_k_m 2>/dev/null &
pid=$!
sleep 0.3
kill -INT "$pid" 2>/dev/null
wait "$pid"
st=$?
if [ "$st" -eq 0 ]; then echo "skip interrupted: finished in under 0.3 s"
elif [ -e "$TMP/int.gguf" ] || [ -e "$TMP/int.gguf.tmp" ]; then fail interrupted "left $(ls "$TMP"/int.gguf*)"
else ok interrupted; fi
# the threads change nothing
"$Q" -t 1 "$TMP/wide-moe" "$TMP/t1.gguf" q4_k_m 2>/dev/null
"$Q" -t 3 "$TMP/wide-moe" "$TMP/t3.gguf" q4_k_m 2>/dev/null
if cmp -s "$TMP/t1.gguf" "$TMP/t3.gguf"; then ok threads; else fail threads "-t 1 and -t 3 differ"; fi

LLAMA=$(sh tests/oracles/llama.sh --check) || {
	skip llama-quantize "the llama.cpp oracle is not built (sh tests/oracles/llama.sh)"
	exit 0
}
# llama-quantize IN OUT TYPE, quietly; dequant IN OUT: any file to F32
lq() { "$LLAMA/llama-quantize" "$@" >"$TMP/lq.log" 2>&1 || { tail -n 3 "$TMP/lq.log"; return 1; }; }

for m in tiny-dense tiny-moe; do
	for t in q8_0 q4_0; do
		if lq "$TMP/$m-f32.gguf" "$TMP/$m-$t-llama.gguf" "$t" &&
			$T same "$TMP/$m-$t.gguf" "$TMP/$m-$t-llama.gguf" >"$TMP/diff" 2>&1; then
			ok "same-bytes:$m:$t"
		else fail "same-bytes:$m:$t" "$(head -c 300 "$TMP/diff")"; fi
	done
done

for m in wide-dense wide-moe; do
	"$Q" "$TMP/$m" "$TMP/$m-f32.gguf" f32 2>/dev/null
	for t in q4_k_m q5_k_m q6_k; do
		"$Q" "$TMP/$m" "$TMP/$m-$t.gguf" "$t" 2>/dev/null
		if lq "$TMP/$m-f32.gguf" "$TMP/$m-$t-llama.gguf" "$t" &&
			$T types "$TMP/$m-$t.gguf" "$TMP/$m-$t-llama.gguf" >"$TMP/diff" 2>&1; then
			ok "types:$m:$t"
		else fail "types:$m:$t" "$(head -c 300 "$TMP/diff")"; fi
		if lq --allow-requantize "$TMP/$m-$t.gguf" "$TMP/ours.gguf" f32 &&
			lq --allow-requantize "$TMP/$m-$t-llama.gguf" "$TMP/theirs.gguf" f32 &&
			$T rms "$TMP/$m-f32.gguf" "$TMP/ours.gguf" "$TMP/theirs.gguf" >"$TMP/diff" 2>&1; then
			ok "rms:$m:$t"
		else fail "rms:$m:$t" "$(head -c 300 "$TMP/diff")"; fi
	done
done

# llama.cpp runs our files: the same text as from its own file of the same
# bytes, and some text from the K mixes
gen() { "$LLAMA/llama-simple" -m "$1" -n 8 "hello" 2>"$TMP/simple.log"; }
for m in tiny-dense tiny-moe; do
	if ours=$(gen "$TMP/$m-q8_0.gguf") && theirs=$(gen "$TMP/$m-q8_0-llama.gguf") &&
		[ -n "$ours" ] && [ "$ours" = "$theirs" ]; then ok "llama-generates:$m:q8_0"
	else fail "llama-generates:$m:q8_0" "[$ours] vs [$theirs]: $(tail -n 2 "$TMP/simple.log")"; fi
done
for f in tiny-moe-q4_k_m wide-moe-q4_k_m wide-dense-q6_k; do
	if out=$(gen "$TMP/$f.gguf") && [ -n "$out" ]; then ok "llama-generates:$f"
	else fail "llama-generates:$f" "$(tail -n 2 "$TMP/simple.log")"; fi
done
