#!/bin/sh
# bench/quant.sh: ernie-run on GGUF files against native llama-bench on the
# same files, same threads, same run; bench/run calls it and adds its rows
# (tab-separated: measure, value, unit, bound, of bound) to the table.
#   * the 0.3B shape (bench/gen_model.py's random bf16 model) made into
#     bf16, Q8_0 and Q4_K_M GGUFs by ernie-quantize;
#   * the ERNIE-4.5-21B-A3B shape at Q4_K_M and Q8_0, written directly as
#     random quantised blocks (bench/gen_a3b.py, 13 and 23 GB, made once).
# Each file is dropped from the page cache before its rows (see bench()).
# Per file: decode (DECODE tokens) against the bandwidth bound (weight bytes
# a token reads, bench/gen_a3b.py --stats, over the best GB/s of the whole
# run: these rows come last) and
# against llama-bench's tg; prefill of PREFILL tokens against its pp; for
# the 21B-A3B also the peak RSS at -c 4096 against the file size + 1 GB.
# Rounds alternate ernie-run and llama-bench so that the host's load moves
# both alike; each keeps its best. llama-bench runs at its best: with
# OMP_WAIT_POLICY=passive and with the default (spinning) policy, at 1 and
# at $THREADS threads (one thread has nothing to wait for: passive only);
# each llama-bench is cut after $LLAMA_TIMEOUT seconds (150, 400 for the
# 21B-A3B): on a busy host the spinning threads collapse. llama.cpp comes from tests/oracles/llama.sh
# (built once in ~/.cache/ernie-oracles); without it, only ernie-run's rows.
#   BIN=build THREADS=2 BW=GB/s sh bench/quant.sh [0.3b|a3b ...]
# BW: the best bandwidth seen before (bench/run's); BW_FILE: a file that
# gets the best at the end (for bench/run's own rows against it).
# Needs $BIN/bench/membw (bench/run builds it). QUANT_ROUNDS (1) rounds of
# llama-bench for each file, ernie-run before and after each. ISA=avx2: an
# AVX2-only host on this one: ernie-run --isa avx2 against llama-bench
# built for AVX2 + FMA + F16C (tests/oracles/llama.sh's LLAMA_VARIANT=avx2).
set -e
BIN=${BIN:-build}
THREADS=${THREADS:-${OPENBLAS_NUM_THREADS:-$(nproc)}}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ernie-bench
PY=/usr/bin/python3
ROUNDS=${QUANT_ROUNDS:-1}
bw=${BW:-0}
case ${ISA:-} in
'') variant=native targets='' isa='' tag='' ;;
avx2) variant=avx2 targets=llama-bench isa='--isa avx2' tag=' (AVX2 only)' ;;
*) echo "bench/quant.sh: ISA is avx2 or unset, not $ISA" >&2; exit 2 ;;
esac
. bench/inputs.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
inputs "$tmp"

# (no targets: llama.sh's own list)
lbin=$(LLAMA_VARIANT=$variant LLAMA_TARGETS=$targets sh tests/oracles/llama.sh 2>"$tmp/llama") || lbin=
if [ -z "$lbin" ] || [ ! -x "$lbin/llama-bench" ]; then
	echo "bench/quant.sh: no llama-bench ($(tail -n 1 "$tmp/llama")): llama.cpp rows skipped" >&2
	lbin=
fi

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 > a + 0 ? b : a) }'; }

# llama SECONDS: llama-bench's best pp ($lpp) and tg ($ltg) on $file over
# the wait policies and thread counts, one repetition each, each cut after
# SECONDS
llama() {
	secs=$1 lpp=0 ltg=0 lppc='' ltgc=''
	for pol in passive spin; do
		for t in $(printf '%s\n' 1 "$THREADS" | sort -u); do
			# one thread never waits for another: no policy to compare
			[ $pol = passive ] || [ "$t" != 1 ] || continue
			if [ $pol = passive ]; then
				set -- env OMP_WAIT_POLICY=passive
			else
				set -- env -u OMP_WAIT_POLICY
			fi
			"$@" timeout "$secs" "$lbin/llama-bench" -m "$file" -t "$t" -p "$PREFILL" \
				-n "$ntg" -r 1 -o csv >"$tmp/lb" 2>"$tmp/lberr" ||
				echo "bench/quant.sh: llama-bench $pol -t $t on $file: cut or failed" >&2
			# columns from the end: n_prompt, n_gen, n_depth, test_time,
			# avg_ns, stddev_ns, avg_ts, stddev_ts
			v=$(awk -F'"?,"?' -v p="$PREFILL" 'NR > 1 && $(NF - 7) == p { print $(NF - 1) }' "$tmp/lb")
			[ -z "$v" ] || { lpp=$(max "$lpp" "$v"); [ "$lpp" != "$v" ] || lppc="$pol, $t"; }
			v=$(awk -F'"?,"?' 'NR > 1 && $(NF - 6) > 0 { print $(NF - 1) }' "$tmp/lb")
			[ -z "$v" ] || { ltg=$(max "$ltg" "$v"); [ "$ltg" != "$v" ] || ltgc="$pol, $t"; }
		done
	done
}

# ernie NAME FILE CTX: one ernie-run prefill and one decode (after a
# bandwidth pass), each kept if the best so far; rss, the decode's peak
ernie() {
	bw=$(max "$bw" "$("$BIN/bench/membw" -b "$THREADS" | cut -f 2)")
	# shellcheck disable=SC2086
	if "$BIN/ernie-run" -m "$2" -t "$THREADS" $isa -v --top 1 <"$tmp/prefill" \
		>/dev/null 2>"$tmp/err"; then
		pp=$(max "$pp" "$(tps "$tmp/err" "prompt eval")")
	else
		echo "bench/quant.sh: $1 prefill: $(tail -n 1 "$tmp/err")" >&2
	fi
	# shellcheck disable=SC2086
	if /usr/bin/time -f '%M' -o "$tmp/rss" "$BIN/ernie-run" -m "$2" -t "$THREADS" $isa \
		-c "$3" -v --top 1 <"$tmp/decode" >/dev/null 2>"$tmp/err"; then
		tg=$(max "$tg" "$(tps "$tmp/err" eval)")
		rss=$(max "$rss" "$(cat "$tmp/rss")")
	else
		echo "bench/quant.sh: $1 decode: $(tail -n 1 "$tmp/err")" >&2
	fi
}

# bench NAME FILE ROUNDS CTX SECONDS: the rows of one GGUF; ernie-run runs before
# and after each round of llama-bench (ROUNDS + 1 times)
bench() {
	name=$1$tag file=$2
	$PY bench/gen_a3b.py --stats "$file" >"$tmp/stats"
	bytes=$(awk '$1 == "decode_bytes" { print $2 }' "$tmp/stats")
	size=$(awk '$1 == "file_bytes" { print $2 }' "$tmp/stats")
	echo "bench/quant.sh: $name ($file)" >&2
	# out of the page cache, as after a reboot: both programs then read it
	# from the disk, and it is cached in 2 MiB pages where the file system
	# can; a file just written stays in 4 KiB pages, which decode up to 20%
	# slower (ernie-run(1), MEMORY)
	dd if="$file" iflag=nocache count=0 2>/dev/null || :
	pp=0 tg=0 rss=0 bpp=0 btg=0 bppc='' btgc=''
	ernie "$name" "$file" "$4"
	r=0
	while [ $r -lt "$3" ]; do
		r=$((r + 1))
		if [ -n "$lbin" ]; then
			llama "$5"
			bpp=$(max "$bpp" "$lpp") btg=$(max "$btg" "$ltg")
			[ "$bpp" != "$lpp" ] || bppc=$lppc
			[ "$btg" != "$ltg" ] || btgc=$ltgc
		fi
		ernie "$name" "$file" "$4"
	done
	runs=$(($3 + 1))
	# against the bandwidth: at the end, when the run's best is known
	printf '%s\t%s\t%s\n' "$name decode, best of $runs" "$tg" "$bytes" >>"$tmp/bwrows"
	row "$name weight bytes per decode token" "$(awk -v n="$bytes" 'BEGIN { printf "%.1f", n / 1e6 }')" MB
	if [ -n "$lbin" ] && [ "$btg" != 0 ]; then
		row "$name decode (bound: llama-bench tg$ntg, $btgc)" "$tg" tok/s "$btg"
	fi
	row "$name prefill $PREFILL, default precision" \
		"$(awk -v v="$pp" 'BEGIN { printf "%.1f", v }')" tok/s
	if [ -n "$lbin" ] && [ "$bpp" != 0 ]; then
		row "$name prefill $PREFILL (bound: llama-bench pp$PREFILL, $bppc)" "$pp" tok/s "$bpp"
	fi
	if [ "$4" != 0 ]; then
		row "$name peak RSS at -c $4 (bound: file + 1 GB)" \
			"$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }')" MB \
			"$(awk -v s="$size" 'BEGIN { print (s + 2^30) / 2^20 }')"
	fi
}

# room BYTES FILE: whether this machine's page cache can hold a model of
# BYTES with 1 GB to spare, and, if FILE is still to be written, its disk
room() {
	awk -v b="$1" '/^MemTotal:/ { exit !($2 * 1024 >= b + 2^30) }' /proc/meminfo || return 1
	[ -s "$2" ] || [ "$(df -Pk "$(dirname "$2")" | awk 'NR == 2 { print $4 }')" -gt $(($1 / 1024)) ]
}

[ $# -gt 0 ] || set -- 0.3b a3b
for m in "$@"; do
	case $m in
	0.3b)
		$PY bench/gen_model.py "$CACHE"
		ntg=$DECODE
		for t in bf16 q8_0 q4_k_m; do
			f=$CACHE/ernie-0.3b-$t.gguf
			if [ ! -s "$f" ] || [ -n "$(find "$CACHE/ernie-0.3b/model.safetensors" -newer "$f")" ]; then
				echo "bench/quant.sh: ernie-quantize ernie-0.3b $t" >&2
				"$BIN/ernie-quantize" "$CACHE/ernie-0.3b" "$f" "$t" 2>/dev/null
			fi
			bench "ernie-0.3b $t" "$f" "$ROUNDS" 0 "${LLAMA_TIMEOUT:-150}"
		done
		;;
	a3b)
		ntg=$((DECODE / 2))
		# mix:bytes, the sizes of the files gen_a3b.py writes
		for t in q4_k_m:13246033888 q8_0:23205560288; do
			need=${t#*:} t=${t%:*} f=$CACHE/ernie-a3b-$t.gguf
			if ! room "$need" "$f"; then
				echo "bench/quant.sh: ernie-21b-a3b $t skipped: its $need bytes need as much memory + 1 GB, and as much disk" >&2
				continue
			fi
			[ -s "$f" ] || echo "bench/quant.sh: writing $f ($need bytes, once)" >&2
			$PY bench/gen_a3b.py "$f" $t
			bench "ernie-21b-a3b $t" "$f" "$ROUNDS" 4096 "${LLAMA_TIMEOUT:-400}"
		done
		;;
	*) echo "bench/quant.sh: unknown model $m (0.3b, a3b)" >&2; exit 2 ;;
	esac
done
bw_rows "$tmp/bwrows" "$bw"
[ -z "${BW_FILE:-}" ] || echo "$bw" >"$BW_FILE"
