#!/bin/sh
# The bad-input table: every line of tests/bad/*.tsv is one case,
#   NAME <TAB> STATUS <TAB> PATTERN <TAB> SHELL COMMAND
# The command runs with $BIN (the binaries), $DATA (tests/data) and $T (a
# scratch directory) set. It must exit with STATUS, write nothing to stdout
# and exactly one line to stderr that matches PATTERN (grep -E).
# STATUS "pipe" means: the command's stdout is a pipe closed early
# (`| head -c 1`); the program must end with no message at all.
# STATUS 0 means: an input that is not an error (an empty one, say) ends
# cleanly: exit 0, nothing on stderr, and stdout is empty when PATTERN is
# "-", else has a line matching it.
. tests/lib.sh
export BIN DATA
unset ERNIE_MODEL             # each case names its model
T=$TMP/scratch
mkdir -p "$T"
export T
tab=$(printf '\t')
exec </dev/null                # a case reads only what it gives itself
for table in tests/bad/*.tsv; do
	while IFS="$tab" read -r name status pattern cmd <&3; do
		case "$name" in ''|'#'*) continue ;; esac
		if [ "$status" = pipe ]; then
			( sh -c "$cmd" 2>"$TMP/err" | head -c 1 >/dev/null )
			if [ -s "$TMP/err" ]; then fail "bad:$name" "message on a closed pipe: $(head -c 200 "$TMP/err")"
			else ok "bad:$name"; fi
		elif [ "$status" = 0 ]; then
			sh -c "$cmd" >"$TMP/out" 2>"$TMP/err"
			st=$?
			if [ "$st" -ne 0 ] || [ -s "$TMP/err" ]; then
				fail "bad:$name" "status $st: $(head -c 300 "$TMP/err")"
			elif [ "$pattern" = - ] && [ -s "$TMP/out" ]; then
				fail "bad:$name" "wrote to stdout: $(head -c 100 "$TMP/out")"
			elif [ "$pattern" != - ] && ! grep -Eq -- "$pattern" "$TMP/out"; then
				fail "bad:$name" "output [$(head -c 100 "$TMP/out")] lacks /$pattern/"
			else ok "bad:$name"; fi
		else
			check_fails "bad:$name" "$status" "$pattern" sh -c "$cmd"
		fi
	done 3<"$table"
done
