# lib.sh: helpers for the shell tests (sourced by tests/t-*.sh).
# Each check prints "ok NAME" or "FAIL NAME: why"; tests/run counts them.
BIN=${BIN:-build}
DATA=${TEST_DATA:-tests/data}
PY=/usr/bin/python3        # Debian's python3, where python3-sentencepiece etc. live
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; }

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
