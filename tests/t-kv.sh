#!/bin/sh
# The KV cache: its types (-ctk/-ctv) against the golden logits of the two
# tiny checkpoints (tests/data/golden), and --info's bytes for them.
. tests/lib.sh
RUN=$BIN/ernie-run
H="$PY tests/run_helper.py"
G=$DATA/golden

tokens() { $PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["tokens"])' "$G/$1/tokens.json"; }

# Measured max |diff| from the f32 reference over the 20 positions (f32
# weights arithmetic, --precision f32): f16 0.015 (dense) and 0.033 (MoE),
# bf16 0.10 and 1.5, q8_0 0.31 (dense; the MoE's head size 16 has no q8_0).
# The random-weight models amplify rounding (logits up to 13): f16 keeps the
# greedy answers of both, bf16 too, q8_0 changes the dense one's third id.
for m in tiny-dense tiny-moe; do
	toks=$(tokens $m)
	gold=$G/$m/logits.f32
	prompt=$($PY -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompt"])))' "$G/$m/greedy.json")
	want=$($PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["greedy"])' "$G/$m/greedy.json")
	for t in f16:0.05 bf16:2 q8_0:0.5; do
		type=${t%:*} tol=${t#*:}
		[ $m = tiny-moe ] && [ $type = q8_0 ] && continue
		echo "$toks" | $RUN -m "$G/$m" --all --precision f32 -ctk $type -ctv $type >"$TMP/kv" 2>"$TMP/err"
		check "kv_${m}_${type}_within_$tol" env RUN_TOL=$tol RUN_ARGMAX=0 $H compare "$TMP/kv" "$gold" 20
	done
	for type in f32 f16 bf16; do
		check_eq "kv_${m}_${type}_greedy" "$want" \
			"$(RUN_FLAGS="--cache-type-k $type --cache-type-v $type" $H greedy "$RUN" "$G/$m" "$prompt" 16)"
	done
	# keys and values of different types, every ISA: the logits of the
	# portable kernels within 5e-3 (the unit tests check the kernels to f32
	# accuracy; here an f32 difference of the order of rounding may round a
	# key or value to the neighbouring f16 or bf16 value, which these
	# models amplify: measured up to 6.5e-4; a misread layout is off by
	# 0.1 or more)
	echo "$toks" | $RUN -m "$G/$m" --all --precision f32 --isa portable -ctk f16 -ctv bf16 >"$TMP/ref" 2>"$TMP/err"
	$H raw "$TMP/ref" "$TMP/ref.f32"
	for isa in avx2 avx512; do
		echo 1 | $RUN -m "$G/$m" --isa $isa >/dev/null 2>&1 || continue
		echo "$toks" | $RUN -m "$G/$m" --all --precision f32 --isa $isa -ctk f16 -ctv bf16 >"$TMP/kv" 2>"$TMP/err"
		check "kv_${m}_${isa}_as_portable" env RUN_TOL=5e-3 $H compare "$TMP/kv" "$TMP/ref.f32" 20
	done
done

check_fails "kv_q8_0_head_16_refused" 2 'q8_0: the head size 16 is not a multiple of 32' \
	$RUN -m "$G/tiny-moe" -ctk q8_0 </dev/null
check_fails "kv_unknown_type" 2 'cache-type-v: expected f32, f16, bf16, q8_0' \
	$RUN -m "$G/tiny-dense" --cache-type-v q4_0 </dev/null
check_fails "kv_ctk_needs_value" 2 "option '-ctk' needs a value" $RUN -m "$G/tiny-dense" -ctk

# 3 layers, 2 KV heads of 32: keys q8_0 3 x 2 x 34 bytes, values f16 3 x 64 x 2
$RUN -m "$G/tiny-dense" --info -c 100 -ctk q8_0 -ctv f16 >"$TMP/info" 2>&1
check "kv_info_types" grep -Eq '^KV cache types +keys q8_0, values f16$' "$TMP/info"
check "kv_info_per_token" grep -Eq '^KV cache per token .*\(588 bytes\)$' "$TMP/info"
# keys in whole panels of 48 positions: 3 layers x (144 x 68 + 100 x 128)
check "kv_info_at_ctx" grep -Eq '^KV cache at -c 100 .*\(67776 bytes\)$' "$TMP/info"
$RUN -m "$G/tiny-dense" --info -c 100 >"$TMP/info" 2>&1
check "kv_info_default_f32" grep -Eq '^KV cache per token .*\(1536 bytes\)$' "$TMP/info"

# ---- --prompt-cache ----
# A cache of the first 12 tokens, then prompts that reuse it: to the prefix
# boundary, diverging one token before its end (the 1-token suffix) and a
# long suffix (all 12 reused, 8 computed). At least PC_MIN_SUFFIX (4)
# tokens are computed, so the first two reuse 8. Under --precision f32 the
# logits equal a run without the cache within 1e-5, and for the dense model
# bit for bit (the f32 GEMM computes each row the same whatever the batch;
# a MoE expert may get fewer than 4 rows in one run and more in the other,
# and so another kernel). With a 1-token suffix (tried before
# PC_MIN_SUFFIX) the MoE model was 1.01e-5 off: the matrix-vector kernels
# sum in another order.
# last FILE: the last frame of an ELOG stream, as raw f32
last() { $H raw "$1" "$1.all" && tail -c "$(($2 * 4))" "$1.all" >"$1.f32"; }
for m in tiny-dense tiny-moe; do
	toks=$(tokens $m)
	V=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$G/$m/config.json")
	pc=$TMP/$m.pc
	rm -f "$pc"
	echo "$toks" | cut -d' ' -f1-12 | $RUN -m "$G/$m" --precision f32 --prompt-cache "$pc" >/dev/null 2>"$TMP/err"
	check "pc_${m}_written" test -s "$pc"
	x=$(echo "$toks" | cut -d' ' -f12); x=$((x + 1))
	for case in boundary:1-12:8 diverge:1-11:8 long:1-20:12; do
		kind=${case%%:*} span=${case#*:}; span=${span%:*} want=${case##*:}
		prompt=$(echo "$toks" | cut -d' ' -f"$span")
		[ $kind = diverge ] && prompt="$prompt $x"
		echo "$prompt" | $RUN -m "$G/$m" --precision f32 >"$TMP/nc" 2>"$TMP/err"
		echo "$prompt" | $RUN -m "$G/$m" --precision f32 --prompt-cache "$pc" --prompt-cache-ro -v \
			>"$TMP/pcout" 2>"$TMP/v"
		check "pc_${m}_${kind}_reused_$want" grep -q "^prompt cache: $want tokens reused (12 in " "$TMP/v"
		last "$TMP/nc" "$V"
		check "pc_${m}_${kind}_within_1e-5" env RUN_TOL=1e-5 $H compare "$TMP/pcout" "$TMP/nc.f32" 1
		[ $m = tiny-dense ] && check "pc_${m}_${kind}_bit_for_bit" cmp "$TMP/pcout" "$TMP/nc"
	done
	# the long prompt is the golden one: its reference logits still hold
	echo "$toks" | $RUN -m "$G/$m" --precision f32 --prompt-cache "$pc" --prompt-cache-ro >"$TMP/pcout" 2>"$TMP/err"
	check "pc_${m}_golden_last_row" $H compare "$TMP/pcout" "$G/$m/logits.f32" 20 19
	# greedy answers through the sampler, the first of the prompt's 5 ids
	# taken from the cache
	prompt=$($PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["prompt"])' "$G/$m/greedy.json")
	want=$($PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["greedy"])' "$G/$m/greedy.json")
	echo "$prompt" | $RUN -m "$G/$m" --precision f32 -n 16 --temp 0 --prompt-cache "$pc" \
		--prompt-cache-ro -v >"$TMP/gen" 2>"$TMP/v"
	check_eq "pc_${m}_greedy" "$want" "$(head -n 1 "$TMP/gen" | xargs)"
	check "pc_${m}_greedy_reused_1" grep -q "^prompt cache: 1 tokens reused" "$TMP/v"
done

pc=$TMP/tiny-dense.pc
toks=$(tokens tiny-dense)
# read-only: a run on another prompt leaves the file as it was; no file,
# none made
cp "$pc" "$TMP/pc.before"
echo "$toks" | cut -d' ' -f3-9 | $RUN -m "$G/tiny-dense" --prompt-cache "$pc" --prompt-cache-ro >/dev/null 2>&1
check "pc_ro_unchanged" cmp "$pc" "$TMP/pc.before"
echo 1 2 3 | $RUN -m "$G/tiny-dense" --prompt-cache "$TMP/none.pc" --prompt-cache-ro >/dev/null 2>&1
check "pc_ro_creates_nothing" test ! -e "$TMP/none.pc"
# writing: the file then holds the latest prompt, nothing else is left in
# the directory (the temporary file was renamed)
mkdir -p "$TMP/pcdir"
echo "$toks" | cut -d' ' -f1-9 | $RUN -m "$G/tiny-dense" --prompt-cache "$TMP/pcdir/c" >/dev/null 2>&1
echo "$toks" | cut -d' ' -f1-5 | $RUN -m "$G/tiny-dense" --prompt-cache "$TMP/pcdir/c" >/dev/null 2>&1
check_eq "pc_only_the_file" "c" "$(ls "$TMP/pcdir")"
echo "$toks" | cut -d' ' -f1-9 | $RUN -m "$G/tiny-dense" -v --prompt-cache "$TMP/pcdir/c" 2>&1 >/dev/null |
	grep '^prompt cache' >"$TMP/v"
check "pc_holds_latest_prompt" grep -q '^prompt cache: 5 tokens reused (5 in ' "$TMP/v"
# each sequence of one input reuses the cache; every record counts
printf '%s\n\n%s\n' "$(echo "$toks" | cut -d' ' -f1-12)" "$(echo "$toks" | cut -d' ' -f1-3)" |
	$RUN -m "$G/tiny-dense" -v --prompt-cache "$pc" --prompt-cache-ro 2>&1 >/dev/null | grep '^prompt' >"$TMP/v"
check "pc_every_sequence" grep -q '^prompt cache: 8 tokens reused' "$TMP/v"

# a fine-tune of the same shapes (one weight changed where the
# fingerprint samples it) is another model
mkdir -p "$TMP/tuned"
cp "$G/tiny-dense/config.json" "$TMP/tuned/"
$PY - "$G/tiny-dense/model.safetensors" "$TMP/tuned/model.safetensors" <<'PY'
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack_from("<Q", data)[0]
begin = json.loads(data[8:8 + n])["model.layers.1.mlp.down_proj.weight"]["data_offsets"][0]
data[8 + n + begin] ^= 1            # the lowest mantissa bit of its first bf16
open(sys.argv[2], "wb").write(data)
PY
check_fails "pc_fine_tune_refused" 1 'the prompt cache was made with another model' \
	sh -c "echo 1 2 3 | $RUN -m $TMP/tuned --prompt-cache $pc"

# concurrent readers (xargs -P): every one reuses, all answers equal
seq 8 | xargs -P 4 -I{} sh -c "echo '$toks' | $RUN -m $G/tiny-dense --prompt-cache $pc --prompt-cache-ro >$TMP/par.{} 2>&1"
same=1
for i in 2 3 4 5 6 7 8; do cmp -s "$TMP/par.1" "$TMP/par.$i" || same=0; done
check_eq "pc_concurrent_readers" "1 ELOG" "$same $($H frames "$TMP/par.1" | cut -d' ' -f1)"
