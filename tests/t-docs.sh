#!/bin/sh
# The documentation stays true: every man page lints clean, and every long
# option a program's --help lists is in its man page and its bash, zsh and
# fish completions.
. tests/lib.sh
for page in man/*.[157]; do
	if mandoc -Tlint -Wwarning "$page" >"$TMP/lint" 2>&1; then ok "lint:$page"
	else fail "lint:$page" "$(head -c 300 "$TMP/lint")"; fi
done
for prog in ernie-prompt ernie-tok ernie-detok ernie-run ernie-sample ernie-quantize; do
	"$BIN/$prog" --help | grep -o -- '--[a-z][a-z0-9_-]*' | sort -u >"$TMP/opts"
	mandoc -Tascii "man/$prog.1" | col -b >"$TMP/page"
	missing=
	for opt in $(cat "$TMP/opts"); do
		grep -q -- "$opt" "$TMP/page" || missing="$missing man:$opt"
		grep -q -- "$opt" "completions/bash/$prog" || missing="$missing bash:$opt"
		grep -q -- "${opt#--}" "completions/zsh/_$prog" || missing="$missing zsh:$opt"
		grep -q -- "-l ${opt#--}" "completions/fish/$prog.fish" || missing="$missing fish:$opt"
	done
	if [ -z "$missing" ] && [ -s "$TMP/opts" ]; then ok "documented:$prog"
	else fail "documented:$prog" "not documented:$missing"; fi
done
