#!/usr/bin/python3
"""quant.py: an independent numpy reference for ggml's quantised weight
types, and quantised test models (run with /usr/bin/python3; numpy).

  quant.py blocks DIR          for each type, DIR/TYPE.bin (random blocks)
                               and DIR/TYPE.f32 (their values, dequantised here)
  quant.py model KIND OUT REF  a random model (KIND dense or moe) whose
                               matrices are random quantised blocks of every
                               type, as GGUF OUT, and the same model with those
                               matrices dequantised here as F32 GGUF REF
  quant.py ids N SEED          N random token ids of the test models, one line
  quant.py compare A B TOL     two ernie-run outputs (ELOG frames): the same
                               frames, every logit within TOL

Block layouts, from ggml's format description (ggml-common.h), all
little-endian, scales IEEE half:
  Q8_0  32 elements: d, qs[32] int8             x = d q
  Q4_0  32 elements: d, qs[16]                  x[j] = d ((qs[j] & 15) - 8),
                                                x[j+16] = d ((qs[j] >> 4) - 8)
  Q4_K  256: d, dmin, scales[12], qs[128]       8 sub-blocks of 32, 6-bit scale
                                                sc and min m each:
                                                x = d sc q - dmin m
  Q5_K  256: d, dmin, scales[12], qh[32], qs[128]   the same, q with a 5th bit
  Q6_K  256: ql[128], qh[64], scales[16] int8, d    16 sub-blocks of 16:
                                                x = d sc (q - 32)
Written without looking at any C in this repository, from the description.
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import gguf  # noqa: E402  (the GGUF writer of the benchmark)

Q8_0, Q4_0, Q4_K, Q5_K, Q6_K = 8, 2, 12, 13, 14
NAMES = {Q8_0: "q8_0", Q4_0: "q4_0", Q4_K: "q4_K", Q5_K: "q5_K", Q6_K: "q6_K"}
F32 = np.float32


def halves(b):
    return b.view("<f2").astype(F32).ravel()


def deq_q8_0(raw):
    b = raw.reshape(-1, 34)
    d = halves(b[:, 0:2].copy())[:, None]
    q = b[:, 2:].view(np.int8).astype(F32)
    return (d * q).ravel()


def deq_q4_0(raw):
    b = raw.reshape(-1, 18)
    d = halves(b[:, 0:2].copy())[:, None]
    qs = b[:, 2:]
    lo = (qs & 15).astype(F32) - F32(8)
    hi = (qs >> 4).astype(F32) - F32(8)
    return (d * np.concatenate([lo, hi], axis=1)).ravel()


def scale_min_k4(sc):
    """The 8 six-bit scales and mins packed in 12 bytes (one row a block):
    sub-blocks 0-3 in the low six bits of bytes 0-3 (scales) and 4-7
    (mins); sub-blocks 4-7 take their low four bits from bytes 8-11 (scale
    in the low nibble, min in the high one) and their top two bits from the
    top bits of bytes 0-3 (scales) and 4-7 (mins)."""
    s = np.zeros((sc.shape[0], 8), np.int32)
    m = np.zeros((sc.shape[0], 8), np.int32)
    sc = sc.astype(np.int32)
    for j in range(4):
        s[:, j] = sc[:, j] & 63
        m[:, j] = sc[:, j + 4] & 63
        s[:, j + 4] = (sc[:, j + 8] & 15) | ((sc[:, j] >> 6) << 4)
        m[:, j + 4] = (sc[:, j + 8] >> 4) | ((sc[:, j + 4] >> 6) << 4)
    return s, m


def deq_k4(b, qs, qh):
    """Q4_K / Q5_K: sub-block pairs (2p, 2p+1) share 32 bytes of qs, low
    nibbles for 2p, high for 2p+1; the fifth bit of element l of sub-block
    s is bit s of qh[l]."""
    d = halves(b[:, 0:2].copy())[:, None]
    dmin = halves(b[:, 2:4].copy())[:, None]
    s, m = scale_min_k4(b[:, 4:16])
    out = np.zeros((b.shape[0], 256), F32)
    for sub in range(8):
        p = sub // 2
        q = qs[:, 32 * p:32 * p + 32].astype(np.int32)
        q = (q & 15) if sub % 2 == 0 else (q >> 4)
        if qh is not None:
            q = q | (((qh.astype(np.int32) >> sub) & 1) << 4)
        # ggml's order of operations: (d sc) q - (dmin m), each in f32
        scale = (d * s[:, sub:sub + 1].astype(F32)).astype(F32)
        off = (dmin * m[:, sub:sub + 1].astype(F32)).astype(F32)
        out[:, 32 * sub:32 * sub + 32] = scale * q.astype(F32) - off
    return out.ravel()


def deq_q4_k(raw):
    b = raw.reshape(-1, 144)
    return deq_k4(b, b[:, 16:144], None)


def deq_q5_k(raw):
    b = raw.reshape(-1, 176)
    return deq_k4(b, b[:, 48:176], b[:, 16:48])


def deq_q6_k(raw):
    """Two halves of 128 elements; in half h, element e = 32 g + l (g < 4,
    l < 32) has its low nibble in ql[64 h + l + 32 (g & 1)] (low nibble for
    g < 2, high for g >= 2), its top two bits at bit 2 g of qh[32 h + l],
    and its scale scales[8 h + 2 g + l // 16]."""
    b = raw.reshape(-1, 210)
    ql, qh = b[:, :128].astype(np.int32), b[:, 128:192].astype(np.int32)
    sc = b[:, 192:208].view(np.int8).astype(F32)
    d = halves(b[:, 208:210].copy())[:, None]
    out = np.zeros((b.shape[0], 256), F32)
    for h in range(2):
        for g in range(4):
            for l in range(32):
                lo = ql[:, 64 * h + l + 32 * (g & 1)]
                lo = (lo & 15) if g < 2 else (lo >> 4)
                q = lo | (((qh[:, 32 * h + l] >> (2 * g)) & 3) << 4)
                s = sc[:, 8 * h + 2 * g + l // 16]
                out[:, 128 * h + 32 * g + l] = (d[:, 0] * s).astype(F32) * (q - 32).astype(F32)
    return out.ravel()


DEQ = {Q8_0: deq_q8_0, Q4_0: deq_q4_0, Q4_K: deq_q4_k, Q5_K: deq_q5_k, Q6_K: deq_q6_k}


def f16_bytes(v):
    return np.asarray(v, "<f2").view(np.uint8).reshape(-1, 2)


def random_blocks(t, n, rng, std=1.0):
    """n random blocks of type t whose values have about the given std (the
    scales chosen so; any bytes are valid blocks, only the f16 scales are
    kept finite)."""
    block, size = gguf.BLOCK[t]
    raw = rng.integers(0, 256, (n, size), dtype=np.uint8)
    u = rng.uniform(0.5, 1.5, n)
    if t == Q8_0:
        raw[:, 0:2] = f16_bytes(u * std / 74)
    elif t == Q4_0:
        raw[:, 0:2] = f16_bytes(u * std / 4.6)
    elif t in (Q4_K, Q5_K):
        d = u * std / (208 if t == Q4_K else 430)
        raw[:, 0:2] = f16_bytes(d)     # dmin about the mean of d sc q: mean near 0
        raw[:, 2:4] = f16_bytes(d * (7.5 if t == Q4_K else 15.5) * rng.uniform(0.8, 1.2, n))
    else:
        raw[:, 208:210] = f16_bytes(u * std / 1369)
    return raw.ravel()


def blocks(out):
    """Random blocks of each type (some with extreme scales) and their
    values, for the C dequantisers' test."""
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(14)
    for t, name in NAMES.items():
        raw = random_blocks(t, 16, rng).reshape(16, -1)
        # a few blocks with any scale bytes at all (finite ones), negative too
        for i in range(4):
            h = rng.integers(0, 0x7c00, 2) | (rng.integers(0, 2, 2) << 15)
            pos = {Q6_K: [208], Q8_0: [0], Q4_0: [0]}.get(t, [0, 2])
            for k, p in enumerate(pos):
                raw[i, p:p + 2] = np.array([h[k] & 255, h[k] >> 8], np.uint8)
        raw = raw.ravel()
        raw.tofile(os.path.join(out, name + ".bin"))
        DEQ[t](raw).astype("<f4").tofile(os.path.join(out, name + ".f32"))


# ---- test models -------------------------------------------------------------

TYPES = [Q8_0, Q4_0, Q4_K, Q5_K, Q6_K]
H, I, NH, NKV, HD, V = 256, 512, 4, 2, 64, 512
E, K, EW, SW = 4, 2, 256, 256


def model(kind, out, ref):
    """A random ERNIE 4.5 of the test shape, every matrix of a quantised
    type (cycling through them by layer and role), norms and router F32."""
    rng = np.random.default_rng(7 if kind == "dense" else 8)
    moe = kind == "moe"
    L = 3 if moe else 2
    arch = "ernie4_5-moe" if moe else "ernie4_5"
    ws = [gguf.Writer(), gguf.Writer()]
    for w in ws:
        w.add("general.architecture", gguf.STR, arch)
        w.add("general.alignment", gguf.U32, gguf.ALIGN)
        for key, v in (("vocab_size", V), ("context_length", 4096), ("embedding_length", H),
                       ("block_count", L), ("feed_forward_length", I),
                       ("attention.head_count", NH), ("attention.head_count_kv", NKV),
                       ("attention.key_length", HD), ("attention.value_length", HD)):
            w.add(f"{arch}.{key}", gguf.U32, v)
        w.add(f"{arch}.rope.freq_base", gguf.F32V, 500000.0)
        w.add(f"{arch}.attention.layer_norm_rms_epsilon", gguf.F32V, 1e-5)
        if moe:
            for key, v in (("expert_count", E), ("expert_used_count", K),
                           ("expert_feed_forward_length", EW),
                           ("expert_shared_feed_forward_length", SW),
                           ("leading_dense_block_count", 1), ("interleave_moe_layer_step", 1)):
                w.add(f"{arch}.{key}", gguf.U32, v)
    count = [0]

    def mat(name, shape):
        t = TYPES[count[0] % len(TYPES)]
        count[0] += 1
        n = int(np.prod(shape))
        raw = random_blocks(t, n // gguf.BLOCK[t][0], rng, 1 / np.sqrt(shape[-1]))
        ws[0].tensor(name, t, shape, lambda raw=raw: raw.tobytes())
        ws[1].tensor(name, 0, shape, lambda raw=raw, t=t: DEQ[t](raw).astype("<f4"))

    def vec(name, shape, scale, mean):
        v = (mean + scale * rng.standard_normal(shape)).astype("<f4")
        for w in ws:
            w.tensor(name, 0, list(shape), lambda v=v: v)

    mat("token_embd.weight", [V, H])
    vec("output_norm.weight", (H,), 0.1, 1.0)
    for i in range(L):
        b = f"blk.{i}"
        vec(f"{b}.attn_norm.weight", (H,), 0.1, 1.0)
        mat(f"{b}.attn_q.weight", [NH * HD, H])
        mat(f"{b}.attn_k.weight", [NKV * HD, H])
        mat(f"{b}.attn_v.weight", [NKV * HD, H])
        mat(f"{b}.attn_output.weight", [H, NH * HD])
        vec(f"{b}.ffn_norm.weight", (H,), 0.1, 1.0)
        if not moe or i == 0:
            mat(f"{b}.ffn_gate.weight", [I, H])
            mat(f"{b}.ffn_up.weight", [I, H])
            mat(f"{b}.ffn_down.weight", [H, I])
            continue
        vec(f"{b}.ffn_gate_inp.weight", (E, H), 1 / 16, 0.0)
        vec(f"{b}.exp_probs_b.bias", (E,), 0.05, 0.0)
        mat(f"{b}.ffn_gate_exps.weight", [E, EW, H])
        mat(f"{b}.ffn_up_exps.weight", [E, EW, H])
        mat(f"{b}.ffn_down_exps.weight", [E, H, EW])
        mat(f"{b}.ffn_gate_shexp.weight", [SW, H])
        mat(f"{b}.ffn_up_shexp.weight", [SW, H])
        mat(f"{b}.ffn_down_shexp.weight", [H, SW])
    ws[0].write(out)
    ws[1].write(ref)


def elog(path):
    data, off, rows = open(path, "rb").read(), 0, []
    while off < len(data):
        magic, n = data[off:off + 4], struct.unpack_from("<I", data, off + 4)[0]
        if magic != b"ELOG":
            sys.exit(f"{path}: frame {len(rows)} is not ELOG")
        rows.append(np.frombuffer(data, "<f4", n, off + 8))
        off += 8 + 4 * n
    return rows


def compare(a, b, tol):
    x, y = elog(a), elog(b)
    if len(x) != len(y) or not x:
        sys.exit(f"{len(x)} frames against {len(y)}")
    worst = max(float(np.max(np.abs(p - q))) for p, q in zip(x, y))
    print(f"{len(x)} frames, max |diff| {worst:.3g}")
    if not worst <= float(tol):
        sys.exit(f"max |diff| {worst:.3g} > {tol}")


def main():
    a = sys.argv[1:]
    if a[:1] == ["blocks"] and len(a) == 2:
        blocks(a[1])
    elif a[:1] == ["model"] and len(a) == 4 and a[1] in ("dense", "moe"):
        model(a[1], a[2], a[3])
    elif a[:1] == ["ids"] and len(a) == 3:
        rng = np.random.default_rng(int(a[2]))
        print(*rng.integers(0, V, int(a[1])))
    elif a[:1] == ["compare"] and len(a) == 4:
        compare(a[1], a[2], a[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
