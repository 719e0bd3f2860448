#!/usr/bin/python3
"""gguf_tensors.py: compare the tensors of GGUF files, for tests/t-quantize.sh.
Reads only the tensor table and the data (metadata values are skipped), from
the GGUF v3 format description: header "GGUF", u32 version, u64 tensor
count, u64 key/value count; key/values; per tensor name, u32 n_dims,
u64 ne[n_dims], u32 ggml type, u64 offset; data aligned to
general.alignment (32 unless set).

  gguf_tensors.py same A B
      every tensor of A is in B with the same type, shape and bytes, and
      B has no other: prints one line per difference, exit 1 if any.
  gguf_tensors.py types A B
      the same types and shapes tensor by tensor (bytes may differ).
  gguf_tensors.py rms REF OURS THEIRS
      REF, OURS, THEIRS all F32 (quantised files dequantised by llama.cpp):
      per tensor, the RMS error of OURS against REF must not exceed that of
      THEIRS by more than a relative 1e-3 (float rounding inside equal
      algorithms); prints the worst ratio, exit 1 on a failure.
  gguf_tensors.py list A
      name, type number and shape of each tensor."""
import struct
import sys

import numpy as np

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
# ggml types: (block elements, block bytes)
BLOCK = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
         8: (32, 34), 12: (256, 144), 13: (256, 176), 14: (256, 210)}


class Reader:
    def __init__(self, path):
        self.b = open(path, "rb").read()
        self.p = 0

    def u(self, fmt):
        v = struct.unpack_from("<" + fmt, self.b, self.p)[0]
        self.p += struct.calcsize("<" + fmt)
        return v

    def s(self):
        n = self.u("Q")
        v = self.b[self.p:self.p + n].decode("utf-8", "replace")
        self.p += n
        return v

    def value(self, t):
        if t == 8:
            return self.s()
        if t == 9:
            et, n = self.u("I"), self.u("Q")
            return [self.value(et) for _ in range(n)]
        v = self.b[self.p:self.p + SCALAR[t]]
        self.p += SCALAR[t]
        return v


def tensors(path):
    """{name: (ggml type, ne tuple, bytes)}"""
    r = Reader(path)
    if r.b[:4] != b"GGUF":
        sys.exit(f"{path}: not a GGUF file")
    r.p = 4
    _, nt, nkv = r.u("I"), r.u("Q"), r.u("Q")
    align = 32
    for _ in range(nkv):
        k, t = r.s(), r.u("I")
        v = r.value(t)
        if k == "general.alignment":
            align = struct.unpack("<I", v)[0]
    info = []
    for _ in range(nt):
        name, nd = r.s(), r.u("I")
        ne = tuple(r.u("Q") for _ in range(nd))
        info.append((name, ne, r.u("I"), r.u("Q")))
    base = (r.p + align - 1) // align * align
    out = {}
    for name, ne, t, off in info:
        be, bb = BLOCK[t]
        size = int(np.prod(ne)) // be * bb
        out[name] = (t, ne, r.b[base + off:base + off + size])
    return out


def main():
    a = sys.argv[1:]
    bad = 0
    if len(a) == 3 and a[0] in ("same", "types"):
        x, y = tensors(a[1]), tensors(a[2])
        for name in sorted(set(x) | set(y)):
            if name not in x or name not in y:
                print(f"{name}: only in {a[1] if name in x else a[2]}")
                bad += 1
            elif x[name][:2] != y[name][:2]:
                print(f"{name}: type/shape {x[name][:2]} vs {y[name][:2]}")
                bad += 1
            elif a[0] == "same" and x[name][2] != y[name][2]:
                d = np.frombuffer(x[name][2], np.uint8) != np.frombuffer(y[name][2], np.uint8)
                print(f"{name}: {int(d.sum())} of {d.size} bytes differ")
                bad += 1
    elif len(a) == 4 and a[0] == "rms":
        ref, ours, theirs = tensors(a[1]), tensors(a[2]), tensors(a[3])
        worst = (0.0, "")
        for name, (t, ne, data) in ref.items():
            if t != 0 or any(v[name][0] != 0 for v in (ours, theirs)):
                sys.exit(f"{name}: every file must be F32")
            x = np.frombuffer(data, "<f4").astype(np.float64)
            e_o = np.sqrt(np.mean((np.frombuffer(ours[name][2], "<f4") - x) ** 2))
            e_t = np.sqrt(np.mean((np.frombuffer(theirs[name][2], "<f4") - x) ** 2))
            if e_t == 0 and e_o == 0:
                continue
            ratio = e_o / e_t if e_t else float("inf")
            worst = max(worst, (ratio, name))
            if ratio > 1 + 1e-3:
                print(f"{name}: RMS error {e_o:.6g}, llama-quantize's {e_t:.6g}")
                bad += 1
        print(f"worst ratio {worst[0]:.6f} ({worst[1]})")
    elif len(a) == 2 and a[0] == "list":
        for name, (t, ne, _) in tensors(a[1]).items():
            print(name, t, *ne)
    else:
        sys.exit(__doc__)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
