# lib.sh: helpers for the shell tests (sourced by tests/t-*.sh).
# Each check prints "ok NAME", "FAIL NAME: why" or, when it cannot run here,
# "ok NAME # skip: why"; tests/run counts them.
BIN=${BIN:-build}
DATA=${TEST_DATA:-tests/data}
PY=/usr/bin/python3        # Debian's python3, where python3-sentencepiece etc. live
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; }
# skip NAME WHY: NAME cannot run here (a missing instruction set, oracle or
# file): reported as such, never as a pass
skip() { echo "ok $1 # skip: $2"; }

# The instruction sets of ernie-run --isa, and cpu_has ISA: whether this CPU
# has one, by the flags the kernel reports (as lib/kernels/cpu.c decides:
# AVX2 with FMA and F16C; AVX-512 F, BW and VL). A program that refuses an
# ISA the CPU has fails its test; one the CPU lacks is a skip.
ISAS="portable avx2 avx512 avx512bf16"
cpu_has() {
	case $1 in
	portable) return 0 ;;
	avx2) need="avx2 fma f16c" ;;
	avx512) need="avx2 fma f16c avx512f avx512bw avx512vl" ;;
	avx512bf16) need="avx2 fma f16c avx512f avx512bw avx512vl avx512_bf16" ;;
	*) return 1 ;;
	esac
	flags=" $(grep -m 1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
	for f in $need; do
		case "$flags" in *" $f "*) ;; *) return 1 ;; esac
	done
}

# check NAME CMD...: the command succeeds
check() {
	name=$1; shift
	if "$@" >"$TMP/out" 2>"$TMP/err"; then ok "$name"
	else fail "$name" "status $?: $(head -c 300 "$TMP/err")"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"
	else fail "$1" "expected [$(printf %s "$2" | head -c 200)] got [$(printf %s "$3" | head -c 200)]"; fi
}

# check_fails NAME STATUS PATTERN CMD...: the command exits with STATUS, writes
# nothing to stdout, and its stderr is one line matching PATTERN (grep -E).
check_fails() {
	name=$1 want=$2 pat=$3; shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"
	st=$?
	if [ "$st" -ne "$want" ]; then fail "$name" "status $st, expected $want: $(head -c 300 "$TMP/err")"
	elif [ -s "$TMP/out" ]; then fail "$name" "wrote to stdout: $(head -c 100 "$TMP/out")"
	elif [ "$(wc -l <"$TMP/err")" -ne 1 ]; then fail "$name" "expected one line on stderr: $(head -c 300 "$TMP/err")"
	elif ! grep -Eq -- "$pat" "$TMP/err"; then fail "$name" "message [$(cat "$TMP/err")] lacks /$pat/"
	else ok "$name"; fi
}
