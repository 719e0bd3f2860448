#!/usr/bin/python3
"""Write logit frames (ernie-streams(5)) to stdout, for the sampler tests.

Each argument is one frame:
  "1.5 -2 nan"        ELOG: dense logits of ids 0, 1, 2
  "5:1.5 9:-inf"      ETOP: sparse (id:logit) pairs
  ""                  an empty ELOG frame (end of sequence)
-r N repeats the whole list N times.
"""
import struct
import sys

args = sys.argv[1:]
times = 1
if args[:1] == ["-r"]:
    times, args = int(args[1]), args[2:]

frames = []
for a in args:
    words = a.split()
    if words and ":" in words[0]:
        pairs = [w.split(":") for w in words]
        payload = b"".join(struct.pack("<if", int(i), float(v)) for i, v in pairs)
        frames.append(b"ETOP" + struct.pack("<I", len(pairs)) + payload)
    else:
        payload = struct.pack("<%df" % len(words), *map(float, words))
        frames.append(b"ELOG" + struct.pack("<I", len(words)) + payload)
out = b"".join(frames)
for _ in range(times):
    sys.stdout.buffer.write(out)
