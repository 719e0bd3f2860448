#!/bin/sh
# score.sh: the perplexity of a text file under the model, from the logits of
# every position (ernie-run --all): exp of the mean negative log-probability
# of each token given those before it.
#
#   usage: score.sh FILE
set -eu
[ $# -eq 1 ] || { echo "usage: $0 FILE" >&2; exit 2; }
: "${ERNIE_MODEL:?set ERNIE_MODEL to a model directory}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ernie-tok <"$1" >"$tmp/ids"
ernie-run --all <"$tmp/ids" >"$tmp/logits"
/usr/bin/env python3 - "$tmp/ids" "$tmp/logits" <<'PY'
import math, struct, sys
ids = [int(t) for t in open(sys.argv[1]).read().split()]
data = open(sys.argv[2], "rb").read()
nll, off, pos = 0.0, 0, 0
while off < len(data) and pos + 1 < len(ids):
    magic, n = data[off:off + 4], struct.unpack_from("<I", data, off + 4)[0]
    off += 8
    if magic != b"ELOG" or n == 0:
        off += 4 * n
        continue
    row = struct.unpack_from("<%df" % n, data, off)
    off += 4 * n
    m = max(row)
    lse = m + math.log(sum(math.exp(x - m) for x in row))
    nll += lse - row[ids[pos + 1]]
    pos += 1
if pos == 0:
    sys.exit("score.sh: need at least two tokens")
print("tokens %d  mean nll %.4f  perplexity %.3f" % (pos + 1, nll / pos, math.exp(nll / pos)))
PY
