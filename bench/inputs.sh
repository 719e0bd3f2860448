# shellcheck shell=sh
# bench/inputs.sh: what bench/run, bench/llamacpp.sh and bench/quant.sh
# share (sourced): the same token ids for every program measured, reading
# their timings, and the table's rows.
PREFILL=512
DECODE=128

# ids N: one record of N pseudo-random token ids
ids() { awk -v n="$1" 'BEGIN { srand(7); for (i = 0; i < n; i++)
	printf "%d%s", 1000 + int(rand() * 90000), i + 1 < n ? " " : "\n" }'; }

# inputs DIR: DIR/prefill, one record of PREFILL ids; DIR/decode, 1 + DECODE
# records of one id each
inputs() {
	ids "$PREFILL" >"$1/prefill"
	{ ids 1; i=0; while [ $i -lt $DECODE ]; do ids 1; i=$((i + 1)); done; } >"$1/decode"
}

# tps FILE LABEL: tok/s from "LABEL: N tokens, X ms, Y tok/s"
tps() { sed -n "s/^$2: .* \([0-9.]*\) tok\/s.*/\1/p" "$1" | tail -n 1; }

# row NAME VALUE UNIT [BOUND]: one table row, tab-separated (measure, value,
# unit, bound, of bound), appended to $rows, else printed
row() {
	if [ -n "$4" ]; then
		awk -v n="$1" -v v="$2" -v u="$3" -v b="$4" 'BEGIN {
			printf "%s\t%.1f\t%s\t%.1f\t%.0f%%\n", n, v, u, b, 100 * v / b }'
	else
		printf '%s\t%s\t%s\t\t\n' "$1" "$2" "$3"
	fi >>"${rows:-/dev/stdout}"
}

# bw_rows FILE GB/s: the decode rows kept in FILE (name, tok/s, weight bytes
# a token; tab-separated) against the bandwidth bound, at the end of a run
# when its best bandwidth is known
bw_rows() {
	[ ! -s "$1" ] || while IFS='	' read -r name tg bytes; do
		row "$name (bound: best bandwidth of the run / bytes)" "$tg" tok/s \
			"$(awk -v b="$2" -v n="$bytes" 'BEGIN { print b * 1e9 / n }')"
	done <"$1"
}
