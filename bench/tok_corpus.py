#!/usr/bin/python3
"""Write a mixed-language text of at least SIZE bytes to PATH, for the
tokenizer benchmark (bench/tok.sh). Sources on any Debian system: the
translated strings of the gettext catalogs under /usr/share/locale (dozens of
languages and scripts), Python sources (code), and man page sources. Lines
of the three are interleaved (seeded shuffle), so the text is deterministic
for a given system.

usage: tok_corpus.py PATH [SIZE]
"""
import glob
import gzip
import random
import struct
import sys


def mo_strings(path):
    """The translations in a GNU .mo catalog, one line each."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 28:
        return
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    n, _, trans = struct.unpack(order + "3I", data[8:20])
    for i in range(n):
        length, off = struct.unpack(order + "2I", data[trans + 8 * i: trans + 8 * i + 8])
        s = data[off: off + length].replace(b"\0", b"\n").decode("utf-8", "replace")
        for line in s.splitlines():
            if line.strip() and not line.startswith(("Content-", "Project-Id", "POT-", "PO-", "Plural-", "MIME-", "Language", "Last-Translator", "Report-Msgid")):
                yield line


def text_lines(paths, opener=open):
    for p in paths:
        try:
            with opener(p, "rt", encoding="utf-8", errors="replace") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if line.strip():
                        yield line
        except OSError:
            pass


def main():
    path = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 50 * 1024 * 1024
    rng = random.Random(42)
    mo = sorted(glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo"))
    py = sorted(glob.glob("/usr/lib/python3*/**/*.py", recursive=True))
    man = sorted(glob.glob("/usr/share/man/**/*.gz", recursive=True))
    for lst in (mo, py, man):
        rng.shuffle(lst)
    sources = [
        (0.6, (s for p in mo for s in mo_strings(p))),
        (0.25, text_lines(py)),
        (0.15, text_lines(man, gzip.open)),
    ]
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < size and sources:
            r, acc = rng.random(), 0.0
            for i, (w, it) in enumerate(sources):
                acc += w
                if r < acc or i == len(sources) - 1:
                    break
            try:
                line = next(it) + "\n"
            except StopIteration:
                sources.pop(i)
                continue
            out.write(line)
            written += len(line.encode("utf-8"))
    if written < size:
        sys.exit(f"tok_corpus.py: only {written} bytes of text found")


main()
