#!/usr/bin/python3
"""A scripted sampler for ernie-run --sampler (the protocol of
lib/model/sampler_proc.h): it ignores the logits and answers each ELOG or
ETOP frame with the next id of a script, and an empty frame with an empty
record. Each run takes the next line of SCRIPT (ids separated by spaces),
counting runs in STATE, so a loop of ernie-run calls plays one turn each;
after the last id of its line it repeats that id. A random model cannot be
made to call a tool; this plays the model's part in tests of the tool loop.

usage: script_sampler.py SCRIPT STATE"""
import os
import struct
import sys

script, state = sys.argv[1], sys.argv[2]
turn = int(open(state).read()) if os.path.exists(state) else 0
with open(state, "w") as f:
    f.write(str(turn + 1))
lines = open(script).read().split("\n")
ids = lines[turn].split() if turn < len(lines) else []
inp, out = sys.stdin.buffer, sys.stdout
step = 0
while True:
    head = inp.read(8)
    if len(head) < 8:
        break
    magic, count = head[:4], struct.unpack("<I", head[4:])[0]
    inp.read(count * (8 if magic == b"ETOP" else 4))
    if count == 0:
        out.write("\n")
    else:
        out.write((ids[min(step, len(ids) - 1)] if ids else "0") + "\n")
        step += 1
    out.flush()
