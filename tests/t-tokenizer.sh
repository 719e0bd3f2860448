#!/bin/sh
# ernie-tok and ernie-detok: golden files from the real sentencepiece, a
# property test against the live library, the command line, bad input.
. tests/lib.sh
TOK=$BIN/ernie-tok
DETOK=$BIN/ernie-detok
D=$DATA/tokenizer
A=$D/ernie-like-a.model
DIR=$D/ernie-like-a.modeldir
REAL_MODEL=${ERNIE_MODEL:-}     # for the expectations test only
unset ERNIE_MODEL

# ---- golden files and the live library (Python oracles) -------------------
if [ -x "$PY" ]; then
	"$PY" tests/tok_golden.py "$BIN" "$D"
	"$PY" tests/tok_property.py "$BIN" "$D" "${TOK_SEED:-}" 2000
else
	echo "ok tok_golden # skipped: no $PY"
	echo "ok tok_property # skipped: no $PY"
fi

# ---- the official tokenizer, when a real ERNIE 4.5 directory is given -----
if [ -n "$REAL_MODEL" ] && [ -f "$REAL_MODEL/tokenizer.model" ] && [ -x "$PY" ]; then
	"$PY" tests/tok_expect.py "$BIN" "$REAL_MODEL" "$D/tokenizer_expectations.json"
else
	echo "ok tok_expectations # skipped: ERNIE_MODEL is not an ERNIE 4.5 model directory"
fi

# ---- command line ------------------------------------------------------------
check tok-help $TOK --help
check_eq tok-help-stdout "usage:" "$($TOK --help | head -c 6)"
check_eq tok-version "ernie-tok " "$($TOK --version | cut -c1-10)"
check_eq detok-version "ernie-detok " "$($DETOK --version | cut -c1-12)"
check_fails tok-unknown-option 2 'ernie-tok: .*--help' $TOK --frobnicate
check_fails tok-no-model 2 'no model' $TOK
check_fails tok-bad-format 2 "output_format: 'xml'" $TOK --model "$A" --output_format=xml
check_fails detok-no-model 2 'no model' $DETOK
check_fails detok-argument 2 'unexpected argument' $DETOK --model "$A" file

check_eq tok-ids "23454 6583" "$(printf 'hello world' | $TOK --model "$A")"
check_eq tok-env "23454 6583" "$(printf 'hello world' | ERNIE_MODEL=$A $TOK)"
check_eq tok-pieces "hello ▁world" "$(printf 'hello world' | $TOK --model "$A" --output_format=piece)"
check_eq tok-bos-eos "1 23454 6583 2" "$(printf 'hello world' | $TOK --model "$A" --add-bos --add-eos)"
# the whole input is one document: the newline is a token (<0x0A> = 23)
check_eq tok-document "23454 6583 23" "$(echo 'hello world' | $TOK --model "$A")"
check_eq tok-lines "23454
6583" "$(printf 'hello\n world\n' | $TOK --model "$A" -l)"
printf 'hello\0 world\0' >"$TMP/nul.txt"
check_eq tok-null "23454||6583||" "$($TOK --model "$A" -0 "$TMP/nul.txt" | tr '\n' '|')"
check_eq tok-files "23454 23454" "$(printf hello >"$TMP/h"; $TOK --model "$A" "$TMP/h" "$TMP/h" | tr -d '\n'; echo)"
check_eq tok-binary "45 54 4f 4b 02 00 00 00 9e 5b 00 00 b7 19 00 00" \
	"$(printf 'hello world' | $TOK --model "$A" -b | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')"
# a bare .model is spm_encode: user-defined pieces are matched, "</s>" is text
check_eq tok-bare-model-is-spm "32001 23454 5953 27493 27579" "$(printf '<|begin_of_sentence|>hello</s>' | $TOK --model "$A")"
# a model directory splits its special tokens out first, as Baidu's tokenizer
check_eq tok-special "32001 23454 2" "$(printf '<|begin_of_sentence|>hello</s>' | $TOK -m "$DIR")"
check_eq tok-no-parse-special "5953 27493 27579" "$(printf '</s>' | $TOK -m "$DIR" --no-parse-special)"
check_eq tok-modeldir-added "32025 23454" "$(printf '<|LOC_0|>hello' | $TOK -m "$DIR")"

# decoding
check_eq detok-basic "hello world" "$(echo '23454 6583' | $DETOK --model "$A")"
check_eq detok-binary "hello world" "$(printf 'hello world' | $TOK --model "$A" -b | $DETOK --model "$A")"
check_eq detok-pieces "hello world" "$(echo 'hello ▁world' | $DETOK --model "$A" --input_format=piece)"
# model card: specials skipped, the answer's leading/trailing newlines dropped
check_eq detok-default "x
y" "$(printf '\n\nx\ny\n\n<|end_of_sentence|>' | $TOK -m "$DIR" | $DETOK -m "$DIR")"
# --raw adds no newline: ernie-tok FILE | ernie-detok --raw | cmp - FILE holds,
# with and without a final newline (ernie-detok(1))
printf '\n\nx\ny\n\n<|end_of_sentence|>' >"$TMP/rt1.txt"
printf 'no final newline' >"$TMP/rt2.txt"
printf 'one line\n' >"$TMP/rt3.txt"
: >"$TMP/rt4.txt"
cp README.md "$TMP/rt5.txt"
for f in rt1 rt2 rt3 rt4 rt5; do
	$TOK -m "$DIR" "$TMP/$f.txt" | $DETOK -m "$DIR" --raw >"$TMP/$f.out"
	check tok-detok-raw-roundtrip-$f cmp "$TMP/$f.txt" "$TMP/$f.out"
done
check_eq detok-raw-null "a|b|" "$(printf 'a\0b\0' | $TOK --model "$A" -0 | $DETOK --model "$A" --raw -0 | tr '\0' '|')"
# empty sequences write no text (no fwrite(NULL, 0) under UBSan either)
check_eq detok-raw-empty "" "$(printf '\n' | $DETOK -m "$DIR" --raw | od -An -c)"
check_eq detok-null-empty " \\0" "$(printf '\n' | $DETOK -m "$DIR" -0 | od -An -c | tr -s ' ')"
check_eq detok-skip-empty " \\n" "$(printf '\n' | $DETOK -m "$DIR" --skip-special | od -An -c | tr -s ' ')"
check_eq detok-piece-empty " \\n" "$(printf '\n' | $DETOK -m "$DIR" --input_format=piece | od -An -c | tr -s ' ')"
# a NUL without -0 is encoded, with a warning; -0 with a NUL in the text too
$TOK -m "$A" "$TMP/nul.txt" >"$TMP/nul.ids" 2>"$TMP/nul.err"
check_eq tok-nul-warning "1 ernie-tok: warning: $TMP/nul.txt: NUL bytes encoded as text (give -0 if they separate documents)" \
	"$(wc -l <"$TMP/nul.err") $(cat "$TMP/nul.err")"
check_eq tok-nul-warning-stdout 1 "$(wc -l <"$TMP/nul.ids")"
check_eq tok-no-nul-no-warning "" "$(printf 'a\nb' | $TOK -m "$A" -l 2>&1 >/dev/null)"
$DETOK -m "$A" -0 <"$TMP/nul.ids" >/dev/null 2>"$TMP/detok-nul.err"
check_eq detok-null-nul-warning "ernie-detok: warning: the decoded text holds NUL bytes, which -0 writes at the end of a sequence too" \
	"$(cat "$TMP/detok-nul.err")"
check_eq detok-nul-no-warning "" "$($DETOK -m "$A" <"$TMP/nul.ids" 2>&1 >/dev/null)"
check_fails tok-lines-and-null 2 'ernie-tok: -l and -0' $TOK -m "$A" -l -0
check_fails tok-null-and-lines 2 'ernie-tok: -l and -0' $TOK -m "$A" -0 --lines
check_eq detok-null "a|b|" "$(printf 'a\0b\0' | $TOK --model "$A" -0 | $DETOK --model "$A" -0 | tr '\0' '|')"
# record boundaries are not text boundaries: 你 = E4 BD A0 as three byte pieces
check_eq detok-bytes-across-records "你" "$(printf '241\n202\n173\n' | $DETOK --model "$A")"
# E4 BD cut short by a normal piece: U+FFFD for each byte, as sentencepiece does
check_eq detok-invalid-bytes "$(printf '\357\277\275\357\277\275a')" "$(printf '241 202 27489\n' | $DETOK --model "$A")"

# every golden text that sentencepiece round-trips (not those with U+2581)
# round-trips through --raw with the model directory (specials verbatim)
if [ -x "$PY" ]; then
	"$PY" -c 'import json,sys
for l in open(sys.argv[1], encoding="utf-8"):
    c = json.loads(l)
    if c["detok"] == c["text"]:
        sys.stdout.buffer.write(c["text"].encode() + b"\0")' "$D/ernie-like-a.encode.jsonl" >"$TMP/all.txt"
	$TOK -m "$DIR" -0 "$TMP/all.txt" | $DETOK -m "$DIR" --raw -0 >"$TMP/all.out"
	check tok-detok-roundtrip-all cmp "$TMP/all.txt" "$TMP/all.out"
fi

# ---- bad input -------------------------------------------------------------
check_fails tok-model-missing 3 'nonexistent.model: No such file or directory' \
	$TOK --model "$TMP/nonexistent.model"
mkdir -p "$TMP/empty"
check_fails tok-dir-without-model 3 'empty/tokenizer.model: No such file or directory' \
	sh -c "printf x | $TOK -m $TMP/empty"
head -c 1000 "$A" >"$TMP/trunc.model"
check_fails tok-model-truncated 1 'trunc.model: byte [0-9]+: length past the end' \
	sh -c "printf x | $TOK --model $TMP/trunc.model"
printf 'not a model at all' >"$TMP/junk.model"
check_fails tok-model-junk 1 'junk.model: not a SentencePiece model' sh -c "printf x | $TOK --model $TMP/junk.model"
check_fails tok-model-json 1 'config.json: not a SentencePiece model' sh -c "printf x | $TOK --model examples/demo-model/config.json"
check_fails detok-out-of-range 1 '<stdin>: line 2: id 32023 out of range' \
	sh -c "printf '23454\n3 32023 4\n' | $DETOK --model $A"
check_fails detok-out-of-range-modeldir 1 'id 32037 out of range \(vocabulary 32037\)' \
	sh -c "echo 32037 | $DETOK -m $DIR"
check_fails detok-not-a-number 1 '<stdin>: line 1' sh -c "echo 'hello' | $DETOK --model $A"
mkdir -p "$TMP/badjson"
cp "$A" "$TMP/badjson/tokenizer.model"
printf '{"<|x|>": "seven"}' >"$TMP/badjson/added_tokens.json"
check_fails tok-bad-added-tokens 1 'added_tokens.json:1:11: <\|x\|>: expected an integer' sh -c "printf x | $TOK -m $TMP/badjson"
