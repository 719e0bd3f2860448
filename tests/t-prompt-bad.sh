#!/bin/sh
# ernie-prompt on bad input: each case exits with the documented status
# (1 bad data, 2 usage, 3 I/O), writes nothing to stdout and one line to
# stderr naming the place (file:line:col, the entry and field, or the byte offset).
. tests/lib.sh
P=$BIN/ernie-prompt
unset ERNIE_MODEL              # the tests choose their model directory
T=$TMP
printf -- '- content: c\n' >"$T/refs.yaml"

# conversation files
printf '[{"role": "user", "content": "a"' >"$T/c1.json"
check_fails prompt-bad-json-syntax 1 "c1.json:[0-9]+:[0-9]+: did not find expected ',' or '}'" $P -c "$T/c1.json"
printf -- '- role: user\n  content: "a\n' >"$T/c2.yaml"
check_fails prompt-bad-yaml-syntax 1 'c2.yaml:3:1: found unexpected end of stream' $P -c "$T/c2.yaml"
printf '{"role": "user", "content": "a"}' >"$T/c3.json"
check_fails prompt-bad-conv-not-list 1 'c3.json:1:1: expected a list of messages' $P -c "$T/c3.json"
printf '[{"role": "user", "content": "a"},\n {"role": "function", "content": "b"}]' >"$T/c4.json"
check_fails prompt-bad-conv-role 1 "c4.json:2:11: message 2: role 'function' is not system, developer, user, assistant or tool" $P -c "$T/c4.json"
printf '[{"role": "user", "content": "a"},\n {"role": "tool", "content": "b"}]' >"$T/c4.json"
check_fails prompt-bad-conv-tool-pt 1 "message 2: a tool message, which the ERNIE 4.5 PT template has no role for" $P -c "$T/c4.json"
printf -- '- role: user\n- role: assistant\n  content: x\n' >"$T/c5.yaml"
check_fails prompt-bad-conv-no-content 1 'c5.yaml:1:3: message 1: no content' $P -c "$T/c5.yaml"
printf -- '- role: user\n  content: [a, b]\n' >"$T/c6.yaml"
check_fails prompt-bad-conv-content-list 1 'c6.yaml:2:13: message 1: content part 1: expected a map with type: text and text' $P -c "$T/c6.yaml"
printf '[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "u"}}]}]' >"$T/c9.json"
check_fails prompt-bad-conv-content-image 1 "c9.json:1:71: message 1: content part 2: type 'image_url' is not text" $P -c "$T/c9.json"
printf -- '- role: user\n  content: {a: b}\n' >"$T/c10.yaml"
check_fails prompt-bad-conv-content-map 1 'c10.yaml:2:12: message 1: content: expected a string or a list of text parts' $P -c "$T/c10.yaml"
printf -- '- role: user\n  content: caf\351\n' >"$T/c7.yaml"
check_fails prompt-bad-conv-utf8 1 'c7.yaml: invalid UTF-8 at byte offset 27$' $P -c "$T/c7.yaml"
printf -- '- role: user\n  content: "a\\0b"\n' >"$T/c8.yaml"
check_fails prompt-bad-conv-nul 1 'c8.yaml:2:12: message 1: content: NUL byte at byte offset 1' $P -c "$T/c8.yaml"
# YAML (not JSON) keeps libyaml's limit on keys, and says what it is
printf -- '- role: user\n  x%01100d: 1\n  content: c\n' 0 >"$T/c11.yaml"
check_fails prompt-bad-yaml-long-key 1 'c11.yaml:2:1104: .*a YAML key is at most 1024 characters' $P -c "$T/c11.yaml"
check_fails prompt-bad-conv-missing 3 'nonexistent.json: No such file or directory' $P -c "$T/nonexistent.json"

# references files
printf -- '- title: a\n  content: b\n- title: c\n' >"$T/r1.yaml"
check_fails prompt-bad-refs-no-content 1 'r1.yaml:3:3: reference 2: no content' $P -r "$T/r1.yaml" -u q
printf '{"webPages": {"value": 3}}' >"$T/r2.json"
check_fails prompt-bad-refs-not-list 1 'r2.json:1:24: expected a list of references' $P -r "$T/r2.json" -u q
printf -- '- content: b\n  url: {a: 1}\n' >"$T/r3.yaml"
check_fails prompt-bad-refs-field 1 'r3.yaml:2:8: reference 1: url: expected a string' $P -r "$T/r3.yaml" -u q
printf '[{"content": "\377"}]' >"$T/r4.json"
check_fails prompt-bad-refs-utf8 1 'r4.json: invalid UTF-8 at byte offset 14$' $P -r "$T/r4.json" -u q
printf -- '- &a {content: x}\n- *a\n' >"$T/r5.yaml"
check_fails prompt-bad-refs-alias 1 'r5.yaml:2:3: YAML aliases are not supported' $P -r "$T/r5.yaml" -u q
printf '{question' >"$T/t1.txt"
check_fails prompt-bad-template 1 't1.txt: no \{question\} placeholder' $P -r "$T/refs.yaml" --template "$T/t1.txt" -u q

# text on stdin and on the command line
check_fails prompt-bad-stdin-utf8 1 'stdin: invalid UTF-8 at byte offset 3$' sh -c "printf 'abc\\300\\200' | $P"
check_fails prompt-bad-stdin-nul 1 'stdin: NUL byte at byte offset 1$' sh -c "printf 'a\\0b' | $P"
check_fails prompt-bad-batch-utf8 1 'stdin: invalid UTF-8 at byte offset 2$' sh -c "printf 'ab\\377\\nc\\n' | $P -l"
check_fails prompt-bad-arg-utf8 1 'message 2 \(-u\): invalid UTF-8 at byte offset 1$' $P -s s -u "$(printf 'a\377')"
check_fails prompt-bad-date-utf8 1 '--date: invalid UTF-8 at byte offset 0$' $P -r "$T/refs.yaml" -u q --date "$(printf '\377')"

# usage
check_fails prompt-bad-option 2 "unknown option '--frobnicate'" $P --frobnicate
check_fails prompt-bad-short-option 2 "unknown option '-z'" $P -z
check_fails prompt-bad-missing-argument 2 "option '-u' needs an argument" $P -u
check_fails prompt-bad-argument 2 "unexpected argument 'x'" $P -u q x
check_fails prompt-bad-search-no-refs 2 '--search needs -r FILE' $P --search -u q
check_fails prompt-bad-raw-no-refs 2 '--raw needs -r FILE' $P --raw -u q
check_fails prompt-bad-lang 2 "--lang: 'fr' is not zh, en or auto" $P -r "$T/refs.yaml" --lang fr -u q
check_fails prompt-bad-max-ref-chars 2 "--max-ref-chars: '0' is not a positive integer" $P -r "$T/refs.yaml" --max-ref-chars 0 -u q
check_fails prompt-bad-max-ref-chars-sign 2 "--max-ref-chars: '-3'" $P -r "$T/refs.yaml" --max-ref-chars -3 -u q
check_fails prompt-bad-search-last-assistant 2 'the last message must be a user message' $P -r "$T/refs.yaml" -u q -a a
check_fails prompt-bad-model-dir 3 'nonexistent-model: No such file or directory' $P -m "$T/nonexistent-model" -u q
check_fails prompt-bad-stdin-twice 2 'standard input can be read once only' $P -c - -l
check_fails prompt-bad-stdin-twice-refs 2 'standard input can be read once only' $P -r - -c -
