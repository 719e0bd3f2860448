#!/bin/sh
# ernie-run on GGUF files: the golden tiny models converted by bench/gguf.py
# (f32 and bf16) give the logits of their safetensors directories bit for
# bit; random models of every quantised type (tests/quant.py) give the
# logits of their F32 twins, dequantised by numpy, within 5e-4 (every
# instruction set the CPU has: decode and prefill); a 600-token
# quantised run gives the same logits in one prefill, one token a record
# and uneven records.
. tests/lib.sh
RUN=$BIN/ernie-run
G=$DATA/golden
Q="$PY tests/quant.py"

tokens() { $PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["tokens"])' "$G/$1/tokens.json"; }

for m in tiny-dense tiny-moe; do
	toks=$(tokens $m)
	echo "$toks" | $RUN -m "$G/$m" --all --precision f32 >"$TMP/st" 2>"$TMP/err"
	for t in f32 bf16; do
		flag=; [ $t = f32 ] && flag=--f32
		$PY bench/gguf.py $flag "$G/$m" "$TMP/$m-$t.gguf"
		echo "$toks" | $RUN -m "$TMP/$m-$t.gguf" --all --precision f32 >"$TMP/gg" 2>"$TMP/err"
		check "gguf_${m}_${t}_same_logits_as_safetensors" cmp "$TMP/gg" "$TMP/st"
	done
	check "gguf_${m}_f32_golden" $PY tests/run_helper.py compare "$TMP/gg" "$G/$m/logits.f32" 20
done

ids=$($Q ids 48 1)
for kind in dense moe; do
	$Q model $kind "$TMP/q-$kind.gguf" "$TMP/q-$kind-f32.gguf"
	echo "$ids" | $RUN -m "$TMP/q-$kind.gguf" --all --precision f32 >"$TMP/q" 2>"$TMP/err"
	echo "$ids" | $RUN -m "$TMP/q-$kind-f32.gguf" --all --precision f32 >"$TMP/f" 2>"$TMP/err"
	check "gguf_quantised_${kind}_equals_f32_reference" $Q compare "$TMP/q" "$TMP/f" 5e-4
	# decode: one token a record (the matrix-vector kernels)
	echo "$ids" | tr ' ' '\n' | $RUN -m "$TMP/q-$kind.gguf" --precision f32 >"$TMP/d" 2>"$TMP/err"
	check "gguf_quantised_${kind}_decode_equals_f32_reference" $Q compare "$TMP/d" "$TMP/f" 5e-4
	# every instruction set's kernels, decode and prefill
	for isa in portable avx2 avx512; do
		if ! cpu_has $isa; then
			skip "gguf_quantised_${kind}_$isa" "this CPU has no $isa"
			continue
		fi
		echo "$ids" | tr ' ' '\n' |
			$RUN -m "$TMP/q-$kind.gguf" --isa $isa --precision f32 >"$TMP/i" 2>"$TMP/err"
		echo "$ids" | $RUN -m "$TMP/q-$kind.gguf" --isa $isa --all --precision f32 >>"$TMP/i" \
			2>"$TMP/err"
		cat "$TMP/f" "$TMP/f" >"$TMP/ff"
		check "gguf_quantised_${kind}_${isa}_equals_f32_reference" $Q compare "$TMP/i" "$TMP/ff" 5e-4
	done
	# --precision q8: the activations rounded to 8 bits (measured 0.20
	# dense, 0.30 MoE from the f32 logits); decode and prefill the same
	# bit for bit; every instruction set within 0.1 of plain C (their f32
	# sums differ in the last bits, enough to move an activation across a
	# step of the 8-bit grid now and then: measured 0 dense, 0.033 MoE)
	echo "$ids" | $RUN -m "$TMP/q-$kind.gguf" --all --precision q8 >"$TMP/q8" 2>"$TMP/err"
	check "gguf_q8_${kind}_near_f32" $Q compare "$TMP/q8" "$TMP/f" 0.5
	echo "$ids" | tr ' ' '\n' | $RUN -m "$TMP/q-$kind.gguf" --precision q8 >"$TMP/q8d" 2>"$TMP/err"
	check "gguf_q8_${kind}_decode_is_prefill" cmp "$TMP/q8d" "$TMP/q8"
	for isa in portable avx2 avx512; do
		if ! cpu_has $isa; then
			skip "gguf_q8_${kind}_$isa" "this CPU has no $isa"
			continue
		fi
		echo "$ids" | $RUN -m "$TMP/q-$kind.gguf" --all --precision q8 --isa $isa >"$TMP/i" 2>"$TMP/err"
		check "gguf_q8_${kind}_$isa" $Q compare "$TMP/i" "$TMP/q8" 0.1
	done
done

# 600 tokens: one prefill (batches of 512 + 88), one token a record, and
# records of 1, 2, 3, ... tokens, every position written
$Q ids 600 2 >"$TMP/ids"
$RUN -m "$TMP/q-dense.gguf" --all <"$TMP/ids" >"$TMP/pre" 2>"$TMP/err"
tr ' ' '\n' <"$TMP/ids" | $RUN -m "$TMP/q-dense.gguf" >"$TMP/one" 2>"$TMP/err"
check "gguf_quantised_600_decode_equals_prefill" $Q compare "$TMP/one" "$TMP/pre" 5e-4
tr ' ' '\n' <"$TMP/ids" | awk '{ line = line (n ? " " : "") $1; n++ }
	n == k + 1 { print line; line = ""; n = 0; k++ } END { if (n) print line }' >"$TMP/uneven"
$RUN -m "$TMP/q-dense.gguf" --all <"$TMP/uneven" >"$TMP/unev" 2>"$TMP/err"
check "gguf_quantised_600_uneven_records_equal_prefill" $Q compare "$TMP/unev" "$TMP/pre" 5e-4

# --info on a GGUF: its weight types and what a run of -c costs
$RUN -m "$TMP/q-moe.gguf" -c 4096 --info >"$TMP/info" 2>&1
check "gguf_info_weight_types" grep -Eq '^weight types +f32 11 .*q4_K 6 .*q6_K 5 ' "$TMP/info"
check "gguf_info_memory" grep -Eq '^memory at -c 4096 ' "$TMP/info"
