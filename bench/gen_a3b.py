#!/usr/bin/python3
"""gen_a3b.py: a random-weight model of the ERNIE-4.5-21B-A3B shape written
directly as a Q4_K_M (about 13 GB) or Q8_0 (23 GB) GGUF, for the benchmark;
and the weight bytes one decode token reads from any GGUF.

  gen_a3b.py OUT.gguf [q4_k_m|q8_0]   write the model once (an existing OUT
                                      is kept); q4_k_m if no mix is named
  gen_a3b.py --stats FILE             print "decode_bytes N" and "file_bytes N"

The blocks are random bytes with sane f16 scales put in their places
(ggml's layouts: Q4_K d, dmin at bytes 0-3; Q6_K d at bytes 208-209), so
no 44 GB bf16 model is ever made and quantised. The values are in the range
of a real model's weights; the output is meaningless but finite, which is
all a speed measurement needs.

The types are the ones llama.cpp's mixes pick for this model
(llama_tensor_get_type). Q4_K_M: the tied token_embd Q6_K; attn_v and
every ffn_down (dense, experts, shared) Q6_K in the layers use_more_bits
picks (i < n/8, i >= 7n/8, (i - n/8) % 3 == 2, n = 28); the other matrices
Q4_K. Q8_0: every matrix Q8_0. Both: norms, the router and the selection
bias F32.

Shape (the published config): hidden 2560, 28 layers, 20 heads (4 KV) of
128, layer 0 dense with an MLP of 12288, layers 1-27 with 64 experts of
width 1536, top 6, and 2 shared experts (one MLP of 3072), vocabulary
103424, tied embeddings."""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf import BLOCK, BOOL, F32V, I32, STR, U32, Writer, vocab  # noqa: E402

H, L, NH, NKV, HD = 2560, 28, 20, 4, 128
DENSE_FF, E, K, W, SHARED = 12288, 64, 6, 1536, 2
V = 103424
Q8_0, Q4_K, Q6_K, F32 = 8, 12, 14, 0
FILE_TYPE = {"q4_k_m": 15, "q8_0": 7}     # general.file_type: MOSTLY_*
ARCH = "ernie4_5-moe"


def more_bits(i, n=L):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def blocks(rng, gtype, shape):
    """Random blocks of a quantised type for a tensor of shape (PyTorch
    order), with f16 scales that keep |w| below about 0.1."""
    n = int(np.prod(shape))
    block, size = BLOCK[gtype]
    nb = n // block
    b = np.frombuffer(rng.bytes(nb * size), np.uint8).reshape(nb, size).copy()

    def f16(lo, hi):
        return rng.uniform(lo, hi, nb).astype("<f2").view(np.uint8).reshape(nb, 2)
    if gtype == Q8_0:       # w = d * q, q int8
        b[:, 0:2] = f16(2e-4, 7e-4)
    elif gtype == Q4_K:     # w = d * sc * q - dmin * m, sc, m < 64, q < 16
        b[:, 0:2] = f16(6.2e-5, 1e-4)
        b[:, 2:4] = f16(2e-4, 4e-4)
    else:                   # Q6_K: w = d * sc * (q - 32), sc int8
        b[:, 208:210] = f16(6.2e-5, 1e-4)
        b[:, 192:208] &= 0x1f                   # scales 0..31
    return b


def write(path, mix):
    if os.path.exists(path):
        return
    rng = np.random.default_rng(3)
    w = Writer()
    w.add("general.architecture", STR, ARCH)
    w.add("general.name", STR, "ernie-a3b (random weights)")
    w.add("general.alignment", U32, 32)
    w.add("general.file_type", U32, FILE_TYPE[mix])
    w.add("general.quantization_version", U32, 2)
    for key, vt, v in (("vocab_size", U32, V), ("context_length", U32, 131072),
                       ("embedding_length", U32, H), ("block_count", U32, L),
                       ("feed_forward_length", U32, DENSE_FF),
                       ("attention.head_count", U32, NH), ("attention.head_count_kv", U32, NKV),
                       ("attention.key_length", U32, HD), ("attention.value_length", U32, HD),
                       ("rope.dimension_count", U32, HD), ("rope.freq_base", F32V, 500000.0),
                       ("attention.layer_norm_rms_epsilon", F32V, 1e-5),
                       ("expert_count", U32, E), ("expert_used_count", U32, K),
                       ("expert_feed_forward_length", U32, W),
                       ("expert_shared_count", U32, SHARED),
                       ("expert_shared_feed_forward_length", U32, W * SHARED),
                       ("leading_dense_block_count", U32, 1),
                       ("interleave_moe_layer_step", U32, 1),
                       ("expert_weights_scale", F32V, 1.0)):
        w.add(f"{ARCH}.{key}", vt, v)
    toks, scores, types = vocab(V, 1, 2, 0)
    w.add("tokenizer.ggml.model", STR, "llama")
    w.add_array("tokenizer.ggml.tokens", STR, toks)
    w.add_array("tokenizer.ggml.scores", F32V, scores)
    w.add_array("tokenizer.ggml.token_type", I32, types)
    for key, v in (("bos", 1), ("eos", 2), ("unknown", 0), ("padding", 0)):
        w.add(f"tokenizer.ggml.{key}_token_id", U32, v)
    w.add("tokenizer.ggml.add_bos_token", BOOL, False)
    w.add("tokenizer.ggml.add_eos_token", BOOL, False)

    def q(name, gtype, shape):
        gtype = Q8_0 if mix == "q8_0" else gtype
        w.tensor(name, gtype, shape, lambda: blocks(rng, gtype, shape))

    def ones(name, n):
        w.tensor(name, F32, [n], lambda: np.ones(n, np.float32))

    def mlp(b, suffix, width, down, experts=()):
        q(f"{b}.ffn_gate{suffix}.weight", Q4_K, list(experts) + [width, H])
        q(f"{b}.ffn_up{suffix}.weight", Q4_K, list(experts) + [width, H])
        q(f"{b}.ffn_down{suffix}.weight", down, list(experts) + [H, width])

    q("token_embd.weight", Q6_K, [V, H])
    ones("output_norm.weight", H)
    for i in range(L):
        b = f"blk.{i}"
        hi = Q6_K if more_bits(i) else Q4_K
        ones(f"{b}.attn_norm.weight", H)
        q(f"{b}.attn_q.weight", Q4_K, [NH * HD, H])
        q(f"{b}.attn_k.weight", Q4_K, [NKV * HD, H])
        q(f"{b}.attn_v.weight", hi, [NKV * HD, H])
        q(f"{b}.attn_output.weight", Q4_K, [H, NH * HD])
        ones(f"{b}.ffn_norm.weight", H)
        if i == 0:
            mlp(b, "", DENSE_FF, hi)
            continue
        w.tensor(f"{b}.ffn_gate_inp.weight", F32, [E, H],
                 lambda: (rng.standard_normal((E, H), np.float32) * 0.02))
        w.tensor(f"{b}.exp_probs_b.bias", F32, [E],
                 lambda: (rng.standard_normal(E, np.float32) * 0.01))
        mlp(b, "_exps", W, hi, [E])
        mlp(b, "_shexp", W * SHARED, hi)
    w.write(path)


def read_str(f):
    n = struct.unpack("<Q", f.read(8))[0]
    return f.read(n)


def skip_value(f, vt):
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    if vt == 8:
        read_str(f)
    elif vt == 9:
        et, n = struct.unpack("<IQ", f.read(12))
        if et == 8:
            for _ in range(n):
                read_str(f)
        else:
            f.seek(sizes[et] * n, 1)
    else:
        f.seek(sizes[vt], 1)


def stats(path):
    """Weight bytes a decode token reads: every matrix once, routed experts
    at top-k/E of their bytes, the tied embedding in full (it is the output
    head); the embedding row and the 1-D tensors are left out."""
    with open(path, "rb") as f:
        magic, _, nt, nkv = struct.unpack("<4sIQQ", f.read(24))
        if magic != b"GGUF":
            sys.exit(f"gen_a3b.py: {path}: not a GGUF file")
        meta = {}
        for _ in range(nkv):
            key = read_str(f).decode()
            vt = struct.unpack("<I", f.read(4))[0]
            if key.endswith((".expert_count", ".expert_used_count")) and vt == 4:
                meta[key.rsplit(".", 1)[1]] = struct.unpack("<I", f.read(4))[0]
            else:
                skip_value(f, vt)
        ts = []
        for _ in range(nt):
            name = read_str(f).decode()
            nd = struct.unpack("<I", f.read(4))[0]
            ne = struct.unpack(f"<{nd}Q", f.read(8 * nd))
            gtype, _ = struct.unpack("<IQ", f.read(12))
            ts.append((name, gtype, ne))
    tied = not any(n == "output.weight" for n, _, _ in ts)
    frac = meta.get("expert_used_count", 1) / meta.get("expert_count", 1)
    total = 0
    for name, gtype, ne in ts:
        if len(ne) < 2 or (name == "token_embd.weight" and not tied):
            continue
        block, size = BLOCK[gtype]
        nbytes = int(np.prod(ne)) // block * size
        total += nbytes * (frac if "_exps." in name else 1)
    print(f"decode_bytes {total:.0f}\nfile_bytes {os.path.getsize(path)}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--stats":
        return stats(sys.argv[2])
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["q4_k_m"], ["q8_0"]):
        sys.exit("usage: gen_a3b.py OUT.gguf [q4_k_m|q8_0] | gen_a3b.py --stats FILE.gguf")
    write(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "q4_k_m")


if __name__ == "__main__":
    main()
