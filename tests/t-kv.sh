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
check "kv_info_at_ctx" grep -Eq '^KV cache at -c 100 .*\(58800 bytes\)$' "$TMP/info"
$RUN -m "$G/tiny-dense" --info -c 100 >"$TMP/info" 2>&1
check "kv_info_default_f32" grep -Eq '^KV cache per token .*\(1536 bytes\)$' "$TMP/info"
