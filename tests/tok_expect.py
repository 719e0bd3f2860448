#!/usr/bin/python3
"""The official ERNIE 4.5 tokenizer's expected ids (tokenizer_expectations.json,
from the Hugging Face transformers tests) against ernie-tok / ernie-detok with
a real model directory.

usage: tok_expect.py BIN MODEL_DIR EXPECTATIONS.json   prints ok/FAIL lines
"""
import json
import os
import subprocess
import sys

BIN, DIR, EXPECT = sys.argv[1:4]
with open(EXPECT, encoding="utf-8") as f:
    exp = json.load(f)


def run(prog, args, data):
    p = subprocess.run([os.path.join(BIN, prog), "-m", DIR] + args, input=data, capture_output=True)
    return p.returncode, p.stdout, p.stderr.decode()[:200]


for i, c in enumerate(exp["encode"]):
    st, out, errs = run("ernie-tok", [], c["text"].encode())
    got = [int(x) for x in out.split()] if st == 0 else errs
    name = f"tok_expectations_encode_{i}"
    print(f"ok {name}" if got == c["ids"] else f"FAIL {name}: {c['text']!r}: want {c['ids']}, got {got}")
for i, c in enumerate(exp["decode"]):
    st, out, errs = run("ernie-detok", ["--raw"], (" ".join(map(str, c["ids"])) + "\n").encode())
    got = out.decode("utf-8", "replace")[:-1] if st == 0 else errs
    name = f"tok_expectations_decode_{i}"
    print(f"ok {name}" if got == c["text"] else f"FAIL {name}: {c['ids']}: want {c['text']!r}, got {got!r}")
