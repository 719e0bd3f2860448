#!/bin/sh
# The bad-input table: every line of tests/bad/*.tsv is one case,
#   NAME <TAB> STATUS <TAB> PATTERN <TAB> SHELL COMMAND
# The command runs with $BIN (the binaries), $DATA (tests/data) and $T (a
# scratch directory) set. It must exit with STATUS, write nothing to stdout
# and exactly one line to stderr that matches PATTERN (grep -E).
# STATUS "pipe" means: the command's stdout is a pipe closed early
# (`| head -c 1`); the program must end with no message at all.
. tests/lib.sh
export BIN DATA
T=$TMP/scratch
mkdir -p "$T"
export T
tab=$(printf '\t')
for table in tests/bad/*.tsv; do
	while IFS="$tab" read -r name status pattern cmd; do
		case "$name" in ''|'#'*) continue ;; esac
		if [ "$status" = pipe ]; then
			( sh -c "$cmd" 2>"$TMP/err" | head -c 1 >/dev/null )
			if [ -s "$TMP/err" ]; then fail "bad:$name" "message on a closed pipe: $(head -c 200 "$TMP/err")"
			else ok "bad:$name"; fi
		else
			check_fails "bad:$name" "$status" "$pattern" sh -c "$cmd"
		fi
	done <"$table"
done
