#!/usr/bin/python3
"""GGUF files holding only a SentencePiece vocabulary (tokenizer.ggml.*),
good and broken, for the bad-input table (tests/bad/gguf_vocab.tsv) and the
seed corpus of tests/fuzz/fuzz_gguf_vocab.c.

  mkgguf_vocab.py KIND FILE
KIND: split (a good file with ernie.tokenizer.split_token_ids), llama-set
(a good one without: llama.cpp's split set), gpt2 (another tokenizer
model), no-tokens, bad-type (a token of type 9), short-scores (fewer
scores than tokens), bos-range (a bos id past the tokens), split-range (a
split id past the tokens)."""
import struct
import sys


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def kv(k, t, payload):
    return s(k) + struct.pack("<I", t) + payload


def arr(k, et, items, fmt=None):
    body = b"".join(s(i) for i in items) if et == 8 else b"".join(struct.pack(fmt, i) for i in items)
    return kv(k, 9, struct.pack("<IQ", et, len(items)) + body)


def make(kind):
    toks = ["<unk>", "<s>", "</s>", "<|LOC_0|>"] + [f"<0x{b:02X}>" for b in range(256)] + \
        ["\u2581", "h", "e", "l", "o", "\u2581h", "he", "ll", "hell", "hello", "\u2581hello",
         "w", "r", "d", "\u2581w", "wor", "world", "\u2581world"]
    types = [2, 3, 3, 3] + [6] * 256 + [1] * 18
    scores = [0.0] * 260 + [-float(i) for i in range(18)]
    if kind == "bad-type":
        types[270] = 9
    if kind == "short-scores":
        scores = scores[:-1]
    out = [kv("general.architecture", 8, s("ernie4_5")),
           kv("tokenizer.ggml.model", 8, s("gpt2" if kind == "gpt2" else "llama"))]
    if kind != "no-tokens":
        out.append(arr("tokenizer.ggml.tokens", 8, toks))
    out += [arr("tokenizer.ggml.scores", 6, scores, "<f"), arr("tokenizer.ggml.token_type", 5, types, "<i"),
            kv("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 9999 if kind == "bos-range" else 1)),
            kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 2))]
    if kind == "llama-set":
        out.append(kv("tokenizer.ggml.remove_extra_whitespaces", 7, b"\1"))
    else:
        out.append(kv("tokenizer.ggml.add_space_prefix", 7, b"\0"))
        out.append(arr("ernie.tokenizer.split_token_ids", 5, [0, 1, 2, 5000 if kind == "split-range" else 3], "<i"))
    b = b"GGUF" + struct.pack("<IQQ", 3, 0, len(out)) + b"".join(out)
    return b + b"\0" * (-len(b) % 32)        # the (empty) data section starts aligned


open(sys.argv[2], "wb").write(make(sys.argv[1]))
