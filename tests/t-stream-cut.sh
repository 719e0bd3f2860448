#!/bin/sh
# A cut answer (ids after the last newline at the end of the input, as
# ernie-run leaves when it fails mid-answer): ernie-detok writes its text
# but no end of sequence, and says so; a closed record still gets its end.
. tests/lib.sh
M=examples/demo-model
DT="$BIN/ernie-detok -m $M"
full=$(printf '5 6 7\n' | $DT -0 | od -An -c | tr -s ' ')
cut=$(printf '5 6 7' | $DT -0 2>"$TMP/cut.err" | od -An -c | tr -s ' ')
check_eq cut-answer-closed-gets-nul " 2 3 4 \\0" "$full"
check_eq cut-answer-no-nul " 2 3 4" "$cut"
check cut-answer-warns grep -q 'ended inside a record (a cut answer)' "$TMP/cut.err"
# an answer then its empty record, as ernie-run -n writes: finished
check_eq cut-answer-finished " 2 3 4 \\0" "$(printf '5 6 7 \n\n' | $DT -0 | od -An -c | tr -s ' ')"
# the first of two sequences finished, the second cut
check_eq cut-answer-second " 2 3 \\0 4" "$(printf '5 6\n\n7' | $DT -0 2>/dev/null | od -An -c | tr -s ' ')"
