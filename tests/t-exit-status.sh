#!/bin/sh
# The five programs share their exit statuses (0 ok, 1 bad input, 2 usage,
# 3 I/O): each man page's EXIT STATUS section lists exactly those, and each
# program answers an unknown option with 2 and one line on stderr.
. tests/lib.sh
for p in ernie-prompt ernie-tok ernie-run ernie-sample ernie-detok; do
	codes=$(awk '/^\.SH EXIT STATUS/ { p = 1; next } /^\.SH/ { p = 0 }
		p && prev == ".TP" { printf "%s ", $0 } { prev = $0 }' "man/$p.1")
	check_eq "exit-status-man-$p" "0 1 2 3 " "$codes"
	check_fails "exit-status-usage-$p" 2 "^$p: " "$BIN/$p" --no-such-option
done
