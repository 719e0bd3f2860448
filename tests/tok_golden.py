#!/usr/bin/python3
"""Golden tests of ernie-tok / ernie-detok against files made with the real
sentencepiece 0.1.97 (tests/data/tokenizer/README.txt says how).

usage: tok_golden.py BIN DATA      prints "ok NAME" / "FAIL NAME: why" lines
       tok_golden.py BIN DATA GGUF the model directory's cases (and the plain
                                   sentencepiece encodings of its .model) with
                                   a GGUF made from ernie-like-a.modeldir

Every case is fed in one run of the program (NUL-separated documents), so the
whole suite takes a few seconds; on a mismatch the first differing case is
found and printed.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokio import records, run  # noqa: E402

BIN, DATA = sys.argv[1], sys.argv[2]
TOK = os.path.join(BIN, "ernie-tok")
DETOK = os.path.join(BIN, "ernie-detok")


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def report(name, bad, total, first):
    if bad:
        print(f"FAIL {name}: {bad} of {total} cases differ; first: {first}")
    else:
        print(f"ok {name}")




def encode_all(model_args, texts, extra):
    data = b"".join(t.encode("utf-8") + b"\0" for t in texts)
    return records(run([TOK] + model_args + ["-0"] + extra, data), len(texts))


def check_encode(name, model_args, cases, extra=(), want_key="ids"):
    texts = [c["text"] for c in cases]
    try:
        ids = encode_all(model_args, texts, list(extra))
        pieces = encode_all(model_args, texts, list(extra) + ["--pieces"])
    except RuntimeError as e:
        print(f"FAIL {name}: {e}")
        return
    bad, first = 0, ""
    for c, i, p in zip(cases, ids, pieces):
        got = [int(x) for x in i.split()]
        got_p = p.decode("utf-8").split(" ") if p else []
        if got != c[want_key] or (want_key == "ids" and "pieces" in c and got_p != c["pieces"]):
            bad += 1
            if not first:
                first = f"text {c['text'][:80]!r}: want {c[want_key][:12]} {c.get('pieces', [])[:6]}, got {got[:12]} {got_p[:6]}"
    report(name, bad, len(cases), first)


def decode_run(args, id_lists):
    # one record per case and an empty record after it (an empty case is one empty record)
    data = "".join((" ".join(map(str, ids)) + "\n" if ids else "") + "\n" for ids in id_lists)
    return run([DETOK] + args + ["-0"], data.encode())


def check_decode(name, args, cases, key, post=lambda s: s):
    good = [c for c in cases if c.get(key) is not None]
    want = [post(c[key]).encode("utf-8", "surrogatepass") + b"\0" for c in good]
    try:
        got = decode_run(args, [c["ids"] for c in good])
        bad, first = 0, ""
        if got != b"".join(want):   # find the cases that differ
            for c, w in zip(good, want):
                g = decode_run(args, [c["ids"]])
                if g != w:
                    bad += 1
                    first = first or f"ids {c['ids'][:12]}: want {w[:60]!r}, got {g[:60]!r}"
    except RuntimeError as e:
        print(f"FAIL {name}: {e}")
        return
    report(name, bad, len(good), first)


def check_decode_errors(name, args, cases):
    bad, first, n = 0, "", 0
    for c in cases:
        if c.get("text", "") is not None:
            continue
        n += 1
        p = subprocess.run([DETOK] + args, input=(" ".join(map(str, c["ids"])) + "\n").encode(),
                           capture_output=True)
        lines = p.stderr.decode().splitlines()
        if p.returncode != 1 or p.stdout or len(lines) != 1:
            bad += 1
            first = first or f"ids {c['ids']}: status {p.returncode}, stdout {p.stdout[:40]!r}, stderr {lines}"
    if n == 0:
        print(f"FAIL {name}: no error cases found")
    else:
        report(name, bad, n, first)


def main():
    for m in ("ernie-like-a", "nfkc-d", "unigram-c"):
        margs = ["--model", os.path.join(DATA, m + ".model")]
        check_encode(f"tok_golden_{m}_encode", margs, load(m + ".encode.jsonl"), ["--no-parse-special"])
        check_encode(f"tok_golden_{m}_encode_long", margs, load(m + ".encode_long.jsonl"), ["--no-parse-special"])
        dec = load(m + ".decode.jsonl")
        check_decode(f"tok_golden_{m}_decode", margs + ["--raw"], dec, "text")
        check_decode_errors(f"tok_golden_{m}_decode_errors", margs, dec)
        # a bare .model is spm_encode: special-token text such as "<s>" is text
        check_encode(f"tok_golden_{m}_encode_bare_is_spm_encode", margs, load(m + ".encode.jsonl"))
    a = ["--model", os.path.join(DATA, "ernie-like-a.model")]
    wrapper = load("ernie-like-a.wrapper.jsonl")
    check_encode("tok_golden_wrapper_bare_is_spm_encode", a, wrapper, want_key="raw_ids")
    check_encode("tok_golden_wrapper_raw_ids", a, wrapper, ["--no-parse-special"], want_key="raw_ids")
    # the wrapper semantics belong to model directories: one whose
    # added_tokens.json lists the wrapper's split set gives the wrapper's ids
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(os.path.abspath(os.path.join(DATA, "ernie-like-a.model")),
                   os.path.join(tmp, "tokenizer.model"))
        with open(os.path.join(DATA, "ernie-like-a.wrapper_specials.json"), encoding="utf-8") as f:
            specials = f.read()
        with open(os.path.join(tmp, "added_tokens.json"), "w", encoding="utf-8") as f:
            f.write(specials)
        check_encode("tok_golden_wrapper_modeldir", ["-m", tmp], wrapper)
    modeldir("modeldir", ["-m", os.path.join(DATA, "ernie-like-a.modeldir")])


def modeldir(name, d):
    """The model directory's cases, with -m the directory or a GGUF made from it."""
    cases = load("ernie-like-a.modeldir.cases.jsonl")
    check_encode(f"tok_golden_{name}_encode", d, cases)
    check_decode(f"tok_golden_{name}_decode_raw", d + ["--raw"], cases, "text_decoded")
    check_decode(f"tok_golden_{name}_decode_skip_special", d + ["--raw", "--skip-special"], cases,
                 "text_decoded_skip_special")
    check_decode(f"tok_golden_{name}_decode_default", d, cases, "text_decoded_skip_special",
                 lambda s: s.strip("\n"))


if len(sys.argv) > 3:   # tok_golden.py BIN DATA FILE.gguf: the GGUF of the model directory
    modeldir("gguf", ["-m", sys.argv[3]])
    m = ["--model", sys.argv[3]]
    check_encode("tok_golden_gguf_sentencepiece", m, load("ernie-like-a.encode.jsonl"), ["--no-parse-special"])
else:
    main()
