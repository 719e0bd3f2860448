#!/bin/sh
# demo.sh: the web-search pipeline end to end, on the demo model in
# examples/demo-model (random weights, so its answer is noise) or on the
# model in $ERNIE_MODEL. Run by `make demo`.
#
#   references.json + question -> ernie-prompt --search -> ernie-tok
#       -> ernie-run -n (driving ernie-sample) -> ernie-detok
set -eu
cd "$(dirname "$0")/.."
PATH=$(pwd)/${BIN:-build}:$PATH
model=${ERNIE_MODEL:-examples/demo-model}
question="Which ERNIE 4.5 models were released, and under what licence?"

echo "== model: $model" >&2
echo "== prompt (ernie-prompt -r examples/references.json --date ... -u QUESTION):" >&2
ernie-prompt -m "$model" -r examples/references.json \
	--date "2025-07-01 09:30:00, Tuesday, Beijing/China" -u "$question" >"${TMPDIR:-/tmp}/ernie-demo.$$"
cat "${TMPDIR:-/tmp}/ernie-demo.$$" >&2
printf '\n== tokens: %s\n' "$(ernie-tok -m "$model" <"${TMPDIR:-/tmp}/ernie-demo.$$" | wc -w)" >&2
echo "== answer (ernie-tok | ernie-run -n 64 -v | ernie-detok), streamed:" >&2
ernie-tok -m "$model" <"${TMPDIR:-/tmp}/ernie-demo.$$" |
	ernie-run -m "$model" -n 64 -v --seed 42 | ernie-detok -m "$model"
rm -f "${TMPDIR:-/tmp}/ernie-demo.$$"
if [ "$model" = examples/demo-model ]; then
	cat >&2 <<'MSG'
== The demo model has random weights: the answer above is noise, but every
   step that produced it is the real one. For real answers, download
   ERNIE-4.5-0.3B-PT (config.json, model.safetensors, tokenizer.model, ...)
   and run:   ERNIE_MODEL=/path/to/ERNIE-4.5-0.3B-PT make demo
MSG
fi
