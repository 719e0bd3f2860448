#!/bin/sh
# Every example command of README.md and the manual pages runs as written on
# the demo model (tests/doc_examples.py says how); those that cannot run
# here (make install, a network server, a real MoE model, mail) are skips
# that name the reason.
. tests/lib.sh
if [ -x "$PY" ]; then
	"$PY" tests/doc_examples.py "$BIN" "$TMP" README.md man/*.1 man/ernie.7
else
	echo "ok doc_examples # skipped: no $PY"
fi
