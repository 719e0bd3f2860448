#!/usr/bin/python3
"""Make a SentencePiece model of about 100k pieces from a smaller one, for the
tokenizer load-time benchmark: the pieces of ModelProto are a repeated field,
so appending more encoded pieces (field 1) to the file appends to the list.
The extra pieces are NORMAL with low scores, so encoding is unchanged.

usage: tok_bigmodel.py IN.model OUT.model [PIECES]
"""
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def piece(text, score):
    t = text.encode("utf-8")
    body = b"\x0a" + varint(len(t)) + t + b"\x15" + struct.pack("<f", score) + b"\x18\x01"
    return b"\x0a" + varint(len(body)) + body


def main():
    src, dst = sys.argv[1], sys.argv[2]
    extra = int(sys.argv[3]) if len(sys.argv) > 3 else 70000
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data)
        for i in range(extra):
            f.write(piece("\u2581zz%06d" % i, -1e6 - i))


main()
