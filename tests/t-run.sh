#!/bin/sh
# ernie-run against the golden logits of two tiny random-weight checkpoints
# (tests/data/golden: PyTorch fp32 and llama.cpp agree to 5e-5), through the
# command line: prefill, decode, uneven records, --top, greedy through pipes,
# a sharded copy, every instruction set (a skip where the CPU lacks one), 700
# positions across the batch sizes, and damaged copies that must fail cleanly.
. tests/lib.sh
RUN=$BIN/ernie-run
H="$PY tests/run_helper.py"
G=$DATA/golden

tokens() { $PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["tokens"])' "$G/$1/tokens.json"; }

for m in tiny-dense tiny-moe; do
	toks=$(tokens $m)
	gold=$G/$m/logits.f32

	echo "$toks" | $RUN -m "$G/$m" --all --precision f32 >"$TMP/all" 2>"$TMP/err"
	check "run_${m}_prefill_all" $H compare "$TMP/all" "$gold" 20
	check "run_${m}_prefill_llamacpp" $H compare "$TMP/all" "$G/$m/logits-llamacpp.f32" 20

	echo "$toks" | tr ' ' '\n' | $RUN -m "$G/$m" --precision f32 >"$TMP/dec" 2>"$TMP/err"
	check "run_${m}_decode_one_per_record" $H compare "$TMP/dec" "$gold" 20

	# records of 3, 1, 7, 2 and 7 tokens; without --all only each last row
	echo "$toks" | awk '{ print $1,$2,$3; print $4; print $5,$6,$7,$8,$9,$10,$11;
		print $12,$13; print $14,$15,$16,$17,$18,$19,$20 }' >"$TMP/chunks"
	$RUN -m "$G/$m" --all --precision f32 <"$TMP/chunks" >"$TMP/ch" 2>"$TMP/err"
	check "run_${m}_uneven_records_all" $H compare "$TMP/ch" "$gold" 20
	$RUN -m "$G/$m" --precision f32 <"$TMP/chunks" >"$TMP/ch" 2>"$TMP/err"
	check "run_${m}_uneven_records_last" $H compare "$TMP/ch" "$gold" 20 2,3,10,12,19

	# an empty record starts again from position 0
	printf '%s\n\n%s\n' "$(echo "$toks" | cut -d' ' -f1-4)" "$(echo "$toks" | cut -d' ' -f1-4)" |
		$RUN -m "$G/$m" --precision f32 >"$TMP/reset" 2>"$TMP/err"
	check_eq "run_${m}_empty_record_resets" "ELOG 1024
ELOG 0
ELOG 1024" "$($H frames "$TMP/reset")"
	head -c 4104 "$TMP/reset" >"$TMP/r1"; tail -c 4104 "$TMP/reset" >"$TMP/r2"
	check "run_${m}_after_reset_same_logits" cmp "$TMP/r1" "$TMP/r2"

	echo "$toks" | cut -d' ' -f1-7 | $RUN -m "$G/$m" --precision f32 --top 5 >"$TMP/top" 2>"$TMP/err"
	check "run_${m}_top_k" $H top "$TMP/top" "$gold" 20 5 6
	echo "$toks" | cut -d' ' -f1-3 | $RUN -m "$G/$m" --all --top 2 >"$TMP/top" 2>"$TMP/err"
	check_eq "run_${m}_top_k_all" "ETOP 2
ETOP 2
ETOP 2" "$($H frames "$TMP/top")"

	prompt=$($PY -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompt"])))' "$G/$m/greedy.json")
	want=$($PY -c 'import json,sys; print(*json.load(open(sys.argv[1]))["greedy"])' "$G/$m/greedy.json")
	check_eq "run_${m}_greedy_through_pipes" "$want" "$($H greedy "$RUN" "$G/$m" "$prompt" 16)"

	# --precision bf16 (the default where the CPU has AVX512-BF16): the
	# MLPs' products in bf16 stay within 0.1 of the reference and give its
	# greedy answer (margins down to 0.024); bf16-all (every product) is 2-3
	# times further off, so only a loose bound (a wrong RoPE or routing is
	# off by 0.7 to 13)
	if cpu_has avx512bf16; then
		echo "$toks" | $RUN -m "$G/$m" --all --precision bf16 >"$TMP/bf" 2>"$TMP/err"
		check "run_${m}_bf16_within_0.1" env RUN_TOL=0.1 RUN_ARGMAX=0 $H compare "$TMP/bf" "$gold" 20
		check_eq "run_${m}_bf16_greedy" "$want" \
			"$(RUN_PRECISION=bf16 $H greedy "$RUN" "$G/$m" "$prompt" 16)"
		echo "$toks" | $RUN -m "$G/$m" --all --precision bf16-all >"$TMP/bf" 2>"$TMP/err"
		check "run_${m}_bf16_all_within_0.5" env RUN_TOL=0.5 RUN_ARGMAX=0 $H compare "$TMP/bf" "$gold" 20
	else
		for t in bf16_within_0.1 bf16_greedy bf16_all_within_0.5; do
			skip "run_${m}_$t" "this CPU has no avx512bf16"
		done
	fi

	$H shard "$G/$m" "$TMP/shard-$m" 3
	echo "$toks" | $RUN -m "$TMP/shard-$m" --all --precision f32 >"$TMP/sh" 2>"$TMP/err"
	check "run_${m}_sharded_same_logits" cmp "$TMP/all" "$TMP/sh"
done

# every precision and instruction set this CPU has: same answers
toks=$(tokens tiny-moe)
for isa in $ISAS; do
	if ! cpu_has $isa; then
		skip "run_isa_${isa}_f32" "this CPU has no $isa"
		skip "run_isa_${isa}_default" "this CPU has no $isa"
		continue
	fi
	echo "$toks" | $RUN -m "$G/tiny-moe" --all --precision f32 --isa $isa >"$TMP/isa" 2>"$TMP/err"
	check "run_isa_${isa}_f32" $H compare "$TMP/isa" "$G/tiny-moe/logits.f32" 20
	# the default: bf16 where this instruction set can, f32 (exact) where not
	echo "$toks" | $RUN -m "$G/tiny-moe" --all --isa $isa >"$TMP/isa" 2>"$TMP/err"
	tol=5e-4 argmax=1
	[ $isa = avx512bf16 ] && tol=0.1 argmax=0
	check "run_isa_${isa}_default" env RUN_TOL=$tol RUN_ARGMAX=$argmax $H compare "$TMP/isa" "$G/tiny-moe/logits.f32" 20
done

# ---- 700 positions, past --all's batches of 64 rows and a prefill's of 512
# (the library's own boundaries, at every ISA, are in tests/unit/t_model.c):
# one record with --all, uneven records with and without --all, against one
# token a record (the reference: decode, no batches at all)
# records SIZE...: the ids of the line on stdin as records of these sizes (cycled)
records() {
	awk -v s="$*" 'BEGIN { n = split(s, size, " ") }
		{ k = 0; for (i = 1; i <= NF; ) { len = size[k++ % n + 1]; r = $(i++)
			for (j = 1; j < len && i <= NF; j++) r = r " " $(i++); print r } }'
}
# raw FILE: the payloads of FILE's frames ([T][V] float32, as logits.f32)
raw() {
	$PY -c 'import struct, sys
d, o = open(sys.argv[1], "rb").read(), 0
while o < len(d):
    n = struct.unpack_from("<I", d, o + 4)[0]
    sys.stdout.buffer.write(d[o + 8:o + 8 + 4 * n])
    o += 8 + 4 * n' "$1"
}
for m in tiny-dense tiny-moe; do
	long="$(tokens $m) $($PY -c 'import random; r = random.Random(7); print(*(r.randrange(1024) for _ in range(680)))')"
	echo "$long" | tr ' ' '\n' | $RUN -m "$G/$m" --precision f32 >"$TMP/dec" 2>"$TMP/err"
	raw "$TMP/dec" >"$TMP/ref"
	check_eq "run_${m}_700_decode_frames" 700 "$(($(wc -c <"$TMP/ref") / 4096))"
	echo "$long" | $RUN -m "$G/$m" --all --precision f32 >"$TMP/long" 2>"$TMP/err"
	check "run_${m}_700_one_record_all" $H compare "$TMP/long" "$TMP/ref" 700
	echo "$long" | records 1 47 48 49 63 64 65 | $RUN -m "$G/$m" --all --precision f32 >"$TMP/long" 2>"$TMP/err"
	check "run_${m}_700_uneven_records_all" $H compare "$TMP/long" "$TMP/ref" 700
	# without --all, the last row of records of 511, 1, 65, 123 and of 513, 187
	echo "$long" | records 511 1 65 123 | $RUN -m "$G/$m" --precision f32 >"$TMP/long" 2>"$TMP/err"
	check "run_${m}_700_records_511_1_65_last" $H compare "$TMP/long" "$TMP/ref" 700 510,511,576,699
	echo "$long" | records 513 187 | $RUN -m "$G/$m" --precision f32 >"$TMP/long" 2>"$TMP/err"
	check "run_${m}_700_records_513_last" $H compare "$TMP/long" "$TMP/ref" 700 512,699
done

echo "$toks" | $RUN -m "$G/tiny-moe" -v --precision f32 >/dev/null 2>"$TMP/v"
echo 5 | $RUN -m "$G/tiny-moe" -v >/dev/null 2>>"$TMP/v"
check "run_verbose_stats_lines" grep -Eq '^prompt eval: 20 tokens, [0-9]+\.[0-9]+ ms, [0-9]+\.[0-9]+ tok/s$' "$TMP/v"
check "run_verbose_eval_line" grep -Eq '^eval: 1 tokens, [0-9]+\.[0-9]+ ms, [0-9]+\.[0-9]+ tok/s$' "$TMP/v"
check "run_verbose_compute_line" grep -Eq '^compute: [0-9]+ threads, [a-z0-9]+ kernels, (f32|bf16) precision$' "$TMP/v"
check "run_env_model" sh -c "echo 1 2 | ERNIE_MODEL=$G/tiny-dense $RUN | head -c 4 | grep -q ELOG"
$RUN -m "$G/tiny-moe" --info >"$TMP/info" 2>&1
check "run_info_moe_layers" grep -Eq '^MoE layers +1-3$' "$TMP/info"
check "run_info_memory" grep -Eq '^memory at -c 131072 ' "$TMP/info"

# ---- bad input: one line, exit 1, nothing on stdout
D=$G/tiny-dense M=$G/tiny-moe
# a bad second record: the first one's frame is out, nothing after it
check_fails run_id_past_vocab 1 'record 2 \(line 2\): token 3: id 1024 outside the vocabulary \[0, 1024\)' \
	sh -c "printf '1 2\n3 4 1024\n' | $RUN -m $D --precision f32 >$TMP/part"
check_eq run_id_past_vocab_first_frame_only "ELOG 1024" "$($H frames "$TMP/part")"
check_fails run_id_past_vocab_no_output 1 'outside the vocabulary' sh -c "printf '1 2 1024\n' | $RUN -m $D"
check_fails run_id_negative 1 'frame at byte 0: negative token id -7' \
	sh -c "$PY -c 'import struct,sys; sys.stdout.buffer.write(b\"ETOK\"+struct.pack(\"<Iii\",2,1,-7))' | $RUN -m $D"
check_fails run_context_limit 1 'record 2 .*would reach 11 tokens, past the context limit of 10 \(raise it with -c N\)' \
	sh -c "printf '1 2 3 4 5 6\n7 8 9 10 11\n' | $RUN -m $D -c 10 >$TMP/part"
check_eq run_context_limit_first_frame_only "ELOG 1024" "$($H frames "$TMP/part")"
check_fails run_logits_as_input 1 'logits where token ids were expected' \
	sh -c "printf 'ELOG\0\0\0\0' | $RUN -m $D"
check_fails run_no_model_dir 3 'nonexistent' sh -c "echo 1 | $RUN -m $TMP/nonexistent"
check_fails run_no_model 2 'no model' sh -c "echo 1 | ERNIE_MODEL= $RUN"
check_fails run_bad_precision 2 'precision' $RUN -m $D --precision f64
check_fails run_ctx_past_max 2 'maximum context is 131072' $RUN -m $D -c 200000
check_fails run_top_past_vocab 2 'vocabulary has only 1024' $RUN -m $D --top 2000
check_fails run_bad_option 2 "unknown option '--frobnicate'" $RUN --frobnicate
check_fails run_missing_value 2 "option '--top' needs a value" $RUN --top

corrupt() { # NAME MODEL KIND PATTERN
	$H corrupt "$G/$2" "$TMP/c-$3" "$3"
	check_fails "run_corrupt_$1" 1 "$4" sh -c "echo 1 2 3 | $RUN -m $TMP/c-$3"
}
corrupt offsets_past_end tiny-dense offsets-past-end "q_proj.weight': data_offsets .* outside the data"
corrupt offsets_reversed tiny-dense offsets-reversed "q_proj.weight': data_offsets .* outside the data"
corrupt offsets_short tiny-dense offsets-short "q_proj.weight': data_offsets .* hold 16382 bytes, shape \[128, 64\] of BF16 needs 16384"
corrupt dtype_wrong tiny-dense dtype-wrong "q_proj.weight': .*shape \[128, 64\] of F32 needs 32768"
corrupt dtype_unknown tiny-dense dtype-unknown "unknown dtype 'Q4_K'"
corrupt dtype_int tiny-dense dtype-int "q_proj.weight': dtype I16, expected BF16, F16 or F32"
corrupt missing_tensor tiny-dense missing-tensor "tensor 'model.norm.weight' missing"
corrupt shape_mismatch tiny-dense shape-mismatch "q_proj.weight': shape \[64, 128\], config.json says \[128, 64\]"
corrupt bad_json tiny-dense bad-json "model.safetensors"
corrupt config_layers tiny-dense config-layers "is for layer 2, but config.json has 2 layers"
corrupt config_hidden tiny-dense config-hidden "embed_tokens.weight': shape \[1024, 64\], config.json says \[1024, 128\]"
corrupt config_untied tiny-dense config-untied "lm_head.weight' missing"
corrupt config_moe_end tiny-moe config-moe-end "makes layer 3 dense, but it has a router"
corrupt config_vl tiny-moe config-vl "vision-language"
corrupt config_rope_scaling tiny-moe config-rope-scaling "rope scaling \"yarn\" is not supported"

# truncated anywhere in the header (every 151st byte and the edges; the unit
# test t_safetensors tries every byte)
mkdir -p "$TMP/trunc"; cp "$D/config.json" "$TMP/trunc/"
n=$(($($PY -c 'import struct,sys; print(struct.unpack("<Q", open(sys.argv[1],"rb").read(8))[0])' "$D/model.safetensors") + 8))
bad=0
for k in 0 1 7 8 9 $(seq 10 151 $n) $((n - 1)) $n $((n + 1000)); do
	head -c $k "$D/model.safetensors" >"$TMP/trunc/model.safetensors"
	echo 1 | $RUN -m "$TMP/trunc" >"$TMP/out" 2>"$TMP/err"
	st=$?
	if [ $st -ne 1 ] || [ -s "$TMP/out" ] || [ "$(wc -l <"$TMP/err")" -ne 1 ]; then
		bad=1; echo "  truncated at $k: status $st: $(cat "$TMP/err")"; break
	fi
done
check_eq run_truncated_header 0 $bad
