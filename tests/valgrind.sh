#!/bin/sh
# The end-to-end pipeline under valgrind (CI runs it: .ci/run): every
# program must end with zero memory errors and zero leaks of any kind, on
# good input and on bad input (error paths free what they took too), and
# give the same output as without valgrind.
#   BIN=build sh tests/valgrind.sh      (exit status 1 on any FAIL)
. tests/lib.sh
M=examples/demo-model
[ -f "$M/model.safetensors" ] || M=tests/data/golden/tiny-dense
TOK=tests/data/tokenizer/ernie-like-a.modeldir
export DATA
unset ERNIE_MODEL
if ! command -v valgrind >/dev/null; then
	echo "ok valgrind # skipped: no valgrind"
	exit 0
fi

# vg NAME CMD...: CMD under valgrind, its report in $TMP/vg/NAME.PID
mkdir "$TMP/vg"
vg() {
	name=$1; shift
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all --log-file="$TMP/vg/$name.%p" "$@"
}

# clean NAME: no valgrind report for the commands named NAME*
clean() {
	reports=$(find "$TMP/vg" -name "$1*" -size +0 | head -1)
	if [ -n "$reports" ]; then fail "$1" "$(head -c 600 "$reports")"
	else ok "$1"; fi
	rm -f "$TMP/vg/$1"*
}

# vg_case NAME STATUS CMD...: CMD under valgrind exits with STATUS, no report
vg_case() {
	name=$1 want=$2; shift 2
	vg "$name" "$@" >/dev/null 2>"$TMP/err"
	st=$?
	if [ "$st" -ne "$want" ]; then fail "$name" "status $st, expected $want: $(head -c 300 "$TMP/err")"
	else clean "$name"; fi
}

main() {
	P=$BIN/ernie-prompt K=$BIN/ernie-tok R=$BIN/ernie-run S=$BIN/ernie-sample D=$BIN/ernie-detok
	if [ "$M" = examples/demo-model ]; then
		# the whole pipeline through pipes, greedy, and the same without valgrind
		pipeline() { # WRAP: each program under $1 (vg or plain)
			$1 vg-prompt "$P" -u "What is a mixture of experts?" |
				$1 vg-tok "$K" -m "$M" | $1 vg-run "$R" -m "$M" -t 2 --all |
				$1 vg-sample "$S" --temp 0 | $1 vg-detok "$D" -m "$M" --raw
		}
		plain() { shift; "$@"; }
		pipeline vg >"$TMP/vg.out" 2>"$TMP/err"
		pipeline plain >"$TMP/plain.out" 2>>"$TMP/err"
		for n in prompt tok run sample detok; do clean "vg-$n"; done
		check_eq vg-pipeline-output "$(cat "$TMP/plain.out")" "$(cat "$TMP/vg.out")"
		check_eq vg-pipeline-stderr "" "$(cat "$TMP/err")"
		printf 'a b\0c d\0' | vg_case vg-tok-null 0 "$K" -m "$M" -0 -b
		printf '1 2 3\n\n4 5\n' | vg_case vg-run-top 0 "$R" -m "$M" -t 2 --top 5
		# quantised copies: the integer products on 8-bit activations
		# (valgrind shows the CPU without AVX-512: the AVX2 kernels; the
		# K types need rows of 256, which the demo model has not)
		for t in q8_0 q4_0; do
			if "$BIN/ernie-quantize" "$M" "$TMP/$t.gguf" $t 2>"$TMP/err"; then
				printf '1 2 3\n4 5\n' | vg_case vg-run-q8-$t 0 "$R" -m "$TMP/$t.gguf" \
					-t 2 --all --precision q8
			else
				fail vg-run-q8-$t "ernie-quantize: $(cat "$TMP/err")"
			fi
		done
		if "$R" --help | grep -q -- '-n, '; then
			echo "User: hi" | "$K" -m "$M" >"$TMP/hi.tok"
			vg_case vg-run-generate 0 "$R" -m "$M" -t 2 -n 8 <"$TMP/hi.tok"
		fi
	fi
	printf -- '- title: T\n  content: some text\n  url: http://x\n' >"$TMP/refs.yaml"
	vg_case vg-prompt-search 0 "$P" -r "$TMP/refs.yaml" -u "why?" --date d --max-ref-chars 4
	printf 'ELOG\003\000\000\000\000\000\200\077\000\000\000\100\000\000\100\100' >"$TMP/one.elog"
	vg_case vg-sample-top-p 0 "$S" -s 1 --top-k 2 --top-p 0.9 --repeat-penalty 1.1 <"$TMP/one.elog"
	echo '1 2 3 300 301' | vg_case vg-detok-ids 0 "$D" -m "$TOK"

	# error paths: the message and the exit status, and nothing leaked
	/usr/bin/python3 tests/bad/mkbad.py st dtype "$TMP/bad-dtype" 2>/dev/null &&
		echo 1 | vg_case vg-run-bad-model 1 "$R" -m "$TMP/bad-dtype"
	printf '1 2 99999\n' | vg_case vg-run-bad-id 1 "$R" -m "$M"
	printf '1 2 -5\n' | vg_case vg-detok-bad-id 1 "$D" -m "$TOK"
	printf 'ELOG\001\000\000\000\000\000\300\177' | vg_case vg-sample-nan 1 "$S" -s 1
	printf -- '- role: user\n  content: [a\n' >"$TMP/c.yaml"
	vg_case vg-prompt-bad-yaml 1 "$P" -c "$TMP/c.yaml"
	head -c 1000 "$TOK/tokenizer.model" >"$TMP/short.model"
	echo hi | vg_case vg-tok-bad-model 1 "$K" -m "$TMP/short.model"
}
# ok/FAIL lines like tests/run's, and a failing status for CI
main | tee "$TMP/log"
! grep -q '^FAIL' "$TMP/log"
