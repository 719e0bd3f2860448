#!/usr/bin/python3
"""gguf.py: convert an ERNIE 4.5 model in Hugging Face layout (config.json +
model.safetensors, or every *.safetensors shard in the directory) into a GGUF
v3 file that llama.cpp loads, for the llama.cpp comparison of the benchmark.

Usage: gguf.py [--f32] MODEL_DIR OUT.gguf
  --f32   write every tensor as F32 (to check the conversion itself against
          fp32 reference logits, free of bf16 arithmetic in llama.cpp)

Written from the GGUF format description, not from llama.cpp's gguf-py:
  header   "GGUF", u32 version 3, u64 tensor count, u64 key/value count
  kv       string key (u64 length + UTF-8), u32 value type, value
           (arrays: u32 element type, u64 count, elements)
  infos    per tensor: string name, u32 n_dims, u64 ne[n_dims] (ne[0] the
           fastest-varying dimension, so a row-major [out, in] matrix is
           ne = [in, out]), u32 ggml type, u64 offset into the data section
  data     starts at the next multiple of general.alignment (32); every
           tensor's offset is a multiple of it too.

What llama.cpp's ERNIE 4.5 support ("ernie4_5", "ernie4_5-moe") expects:
  * tensor names token_embd, output_norm, output (absent when tied: llama.cpp
    then reuses token_embd), blk.N.{attn_norm, attn_q, attn_k, attn_v,
    attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}; MoE layers
    blk.N.{ffn_gate_inp, exp_probs_b (".bias"), ffn_{gate,up,down}_exps
    (experts stacked: ne = [in, out, n_expert]), ffn_{gate,up,down}_shexp}.
  * RoPE: llama.cpp runs ERNIE 4.5 with LLAMA_ROPE_TYPE_NORM, i.e. rotation
    of consecutive pairs (2i, 2i+1), which is the checkpoint's own
    (interleaved) convention: q/k weights are copied as they are, NOT
    permuted as llama.cpp's converter does for HF Llama checkpoints.
  * MoE placement: llama.cpp treats layer i as MoE when
    i >= leading_dense_block_count and (i + 1) % interleave_moe_layer_step
    == 0, with no end index, and its loader wants MoE tensors for every
    i >= leading_dense_block_count. A dense layer after
    moe_layer_end_index (the golden tiny-moe has one) is therefore written
    as an MoE layer that computes the same function: zero router, zero
    bias, zero routed experts (their output is exactly 0) and the dense MLP
    as its shared expert. The shared-expert width is one number for all
    layers, so narrower shared experts are zero-padded (adds exact zeros).
    moe_layer_interval > 1 is not supported (llama.cpp's loader cannot
    express it either).
  * the shared expert only runs when expert_shared_feed_forward_length > 0:
    it is written from the tensor shapes (llama.cpp's own converter derives
    it as intermediate_size // num_key_value_heads, right only for 21B).
Weights stay in their stored type (BF16 = GGML type 30); norms, the router
and the correction bias are written as F32. The vocabulary is a minimal
SentencePiece-style ("llama") one of vocab_size pieces: <unk>, <s>, </s>,
256 byte pieces, then placeholder pieces; the benchmark feeds token ids, so
no text is ever tokenized with it. Multi-token-prediction tensors (mtp_*)
are skipped."""
import json
import os
import struct
import sys

import numpy as np

ALIGN = 32
# GGUF metadata value types
U32, I32, F32V, BOOL, STR, ARR, U64 = 4, 5, 6, 7, 8, 9, 10
# GGML tensor types
GGML = {"F32": 0, "F16": 1, "BF16": 30}
# elements and bytes a block, by GGML type (the quantised ones as in ggml's
# format description: Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)
BLOCK = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 12: (256, 144),
         13: (256, 176), 14: (256, 210)}
NPTYPE = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8"}


class Checkpoint:
    """Tensors of a safetensors checkpoint, one file or several."""

    def __init__(self, path):
        files = [f for f in sorted(os.listdir(path)) if f.endswith(".safetensors")]
        if not files:
            sys.exit(f"gguf.py: no .safetensors file in {path}")
        self.t = {}
        for f in files:
            fn = os.path.join(path, f)
            with open(fn, "rb") as fh:
                n = struct.unpack("<Q", fh.read(8))[0]
                hdr = json.loads(fh.read(n))
            for name, v in hdr.items():
                if name == "__metadata__":
                    continue
                if name.startswith("ernie."):
                    name = "model." + name[len("ernie."):]
                b, e = v["data_offsets"]
                self.t[name] = (fn, 8 + n + b, v["dtype"], list(v["shape"]))

    def __contains__(self, name):
        return name in self.t

    def dtype(self, name):
        return self.t[name][2]

    def shape(self, name):
        return self.t[name][3]

    def array(self, name):
        """The tensor as a numpy array (memory-mapped) of its stored type;
        BF16 comes back as uint16 bit patterns."""
        fn, off, dt, shape = self.t[name]
        if dt not in NPTYPE:
            sys.exit(f"gguf.py: {name}: unsupported dtype {dt}")
        return np.memmap(fn, NPTYPE[dt], "r", off, tuple(shape) or (1,))


def as_f32(ck, name):
    a = np.asarray(ck.array(name))
    if ck.dtype(name) == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32)


def pad_rows(a, rows):
    """a [r, ...] zero-padded to [rows, ...]."""
    if a.shape[0] == rows:
        return a
    out = np.zeros((rows,) + a.shape[1:], a.dtype)
    out[:a.shape[0]] = a
    return out


def pad_cols(a, cols):
    if a.shape[1] == cols:
        return a
    out = np.zeros((a.shape[0], cols), a.dtype)
    out[:, :a.shape[1]] = a
    return out


class Writer:
    def __init__(self):
        self.kv = []        # encoded key/value pairs
        self.tensors = []   # (name, ggml type, ne, nbytes, producer)

    @staticmethod
    def _str(s):
        b = s.encode()
        return struct.pack("<Q", len(b)) + b

    def _val(self, vtype, v):
        if vtype == STR:
            return self._str(v)
        return struct.pack({U32: "<I", I32: "<i", F32V: "<f", BOOL: "<?", U64: "<Q"}[vtype], v)

    def add(self, key, vtype, v):
        self.kv.append(self._str(key) + struct.pack("<I", vtype) + self._val(vtype, v))

    def add_array(self, key, etype, values):
        if etype == STR:
            body = b"".join(self._str(s) for s in values)
        else:
            body = np.asarray(values, {I32: "<i4", F32V: "<f4", U32: "<u4"}[etype]).tobytes()
        self.kv.append(self._str(key) + struct.pack("<IIQ", ARR, etype, len(values)) + body)

    def tensor(self, name, gtype, shape, producer):
        """shape in PyTorch order ([out, in]); producer() returns an array
        (or bytes) of that shape in the ggml type's byte layout."""
        n = int(np.prod(shape))
        block, size = BLOCK[gtype]
        self.tensors.append((name, gtype, list(reversed(shape)), n // block * size, producer))

    def write(self, path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv)))
            for kv in self.kv:
                f.write(kv)
            off = 0
            for name, gtype, ne, nbytes, _ in self.tensors:
                f.write(self._str(name) + struct.pack("<I", len(ne)))
                f.write(struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", gtype, off))
                off += nbytes + (-nbytes % ALIGN)
            f.write(b"\0" * (-f.tell() % ALIGN))
            for name, gtype, ne, nbytes, produce in self.tensors:
                data = produce()
                data = data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
                if len(data) != nbytes:
                    sys.exit(f"gguf.py: {name}: {len(data)} bytes, expected {nbytes}")
                f.write(data + b"\0" * (-nbytes % ALIGN))
        os.replace(tmp, path)


def vocab(n, bos, eos, unk):
    """A minimal SPM vocabulary of n pieces (ids fed directly)."""
    toks, types = [], []
    special = {unk: ("<unk>", 2), bos: ("<s>", 3), eos: ("</s>", 3)}
    byte = 0
    for i in range(n):
        if i in special:
            t, ty = special[i]
        elif byte < 256:
            t, ty = f"<0x{byte:02X}>", 6
            byte += 1
        else:
            t, ty = f"\u2581t{i}", 1
        toks.append(t)
        types.append(ty)
    scores = [0.0 if ty != 1 else -float(i) for i, ty in enumerate(types)]
    return toks, scores, types


def convert(src, dst, all_f32=False):
    with open(os.path.join(src, "config.json")) as f:
        c = json.load(f)
    ck = Checkpoint(src)
    moe = c.get("model_type") == "ernie4_5_moe" or "moe_num_experts" in c
    arch = "ernie4_5-moe" if moe else "ernie4_5"
    H, L = c["hidden_size"], c["num_hidden_layers"]
    nh = c["num_attention_heads"]
    nkv = c.get("num_key_value_heads") or nh
    hd = c.get("head_dim") or H // nh
    V = c["vocab_size"]
    rope = c.get("rope_theta", (c.get("rope_parameters") or {}).get("rope_theta", 500000.0))

    def ptype(name):
        dt = "F32" if all_f32 else ck.dtype(name)
        if dt not in GGML:
            sys.exit(f"gguf.py: {name}: unsupported dtype {dt}")
        return GGML[dt]

    w = Writer()
    w.add("general.architecture", STR, arch)
    w.add("general.name", STR, os.path.basename(os.path.normpath(src)))
    w.add("general.alignment", U32, ALIGN)
    w.add("general.file_type", U32, 0 if all_f32 else 32)   # ALL_F32 / MOSTLY_BF16
    w.add(f"{arch}.vocab_size", U32, V)
    w.add(f"{arch}.context_length", U32, c.get("max_position_embeddings", 131072))
    w.add(f"{arch}.embedding_length", U32, H)
    w.add(f"{arch}.block_count", U32, L)
    w.add(f"{arch}.feed_forward_length", U32, c["intermediate_size"])
    w.add(f"{arch}.attention.head_count", U32, nh)
    w.add(f"{arch}.attention.head_count_kv", U32, nkv)
    w.add(f"{arch}.attention.key_length", U32, hd)
    w.add(f"{arch}.attention.value_length", U32, hd)
    w.add(f"{arch}.rope.dimension_count", U32, hd)
    w.add(f"{arch}.rope.freq_base", F32V, float(rope))
    w.add(f"{arch}.attention.layer_norm_rms_epsilon", F32V, float(c.get("rms_norm_eps", 1e-5)))

    bos, eos = c.get("bos_token_id", 1), c.get("eos_token_id", 2)
    unk = 0 if 0 not in (bos, eos) else 3
    toks, scores, types = vocab(V, bos, eos, unk)
    w.add("tokenizer.ggml.model", STR, "llama")
    w.add_array("tokenizer.ggml.tokens", STR, toks)
    w.add_array("tokenizer.ggml.scores", F32V, scores)
    w.add_array("tokenizer.ggml.token_type", I32, types)
    w.add("tokenizer.ggml.bos_token_id", U32, bos)
    w.add("tokenizer.ggml.eos_token_id", U32, eos)
    w.add("tokenizer.ggml.unknown_token_id", U32, unk)
    w.add("tokenizer.ggml.padding_token_id", U32, c.get("pad_token_id", 0))
    w.add("tokenizer.ggml.add_bos_token", BOOL, False)
    w.add("tokenizer.ggml.add_eos_token", BOOL, False)

    def raw(name):
        return (lambda: as_f32(ck, name)) if all_f32 else (lambda: ck.array(name))

    def f32(name):
        return lambda: as_f32(ck, name)

    def mat(gname, name):
        w.tensor(gname, ptype(name), ck.shape(name), raw(name))

    def vec(gname, name):
        w.tensor(gname, 0, [int(np.prod(ck.shape(name)))], f32(name))

    def shexp(b, prefix):
        """prefix's gate/up/down MLP as block b's shared expert, zero-padded
        to the shared width sw"""
        for g, pad, shape in (("gate", pad_rows, [sw, H]), ("up", pad_rows, [sw, H]),
                              ("down", pad_cols, [H, sw])):
            name = f"{prefix}.{g}_proj.weight"
            w.tensor(f"{b}.ffn_{g}_shexp.weight", ptype(name), shape,
                     lambda name=name, pad=pad: pad(np.asarray(raw(name)()), sw))

    mat("token_embd.weight", "model.embed_tokens.weight")
    vec("output_norm.weight", "model.norm.weight")
    if not c.get("tie_word_embeddings", True) and "lm_head.weight" in ck:
        mat("output.weight", "lm_head.weight")

    if moe:
        E, k = c["moe_num_experts"], c["moe_k"]
        if isinstance(E, list):
            E = E[0]
        start = c.get("moe_layer_start_index", 1)
        end = c.get("moe_layer_end_index", L - 1)
        end = L - 1 if end is None or end < 0 else end
        step = c.get("moe_layer_interval", 1)
        if step != 1:
            sys.exit("gguf.py: moe_layer_interval != 1 is not supported by llama.cpp's loader")
        hf_moe = [start <= i <= end and (i + 1) % step == 0 for i in range(L)]
        lc_moe = [i >= start for i in range(L)]
        W = c["moe_intermediate_size"]
        # shared-expert width: the widest of the real shared experts and of
        # dense MLPs that must be emulated as shared experts
        sw = 0
        for i in range(L):
            p = f"model.layers.{i}.mlp"
            if lc_moe[i] and hf_moe[i] and f"{p}.shared_experts.gate_proj.weight" in ck:
                sw = max(sw, ck.shape(f"{p}.shared_experts.gate_proj.weight")[0])
            elif lc_moe[i] and not hf_moe[i]:
                sw = max(sw, ck.shape(f"{p}.gate_proj.weight")[0])
        w.add(f"{arch}.expert_count", U32, E)
        w.add(f"{arch}.expert_used_count", U32, k)
        w.add(f"{arch}.expert_feed_forward_length", U32, W)
        w.add(f"{arch}.expert_shared_count", U32, c.get("moe_num_shared_experts", 0) if sw else 0)
        if sw:
            w.add(f"{arch}.expert_shared_feed_forward_length", U32, sw)
        w.add(f"{arch}.leading_dense_block_count", U32, start)
        w.add(f"{arch}.interleave_moe_layer_step", U32, step)
        w.add(f"{arch}.expert_weights_scale", F32V, 1.0)

    for i in range(L):
        p, b = f"model.layers.{i}", f"blk.{i}"
        vec(f"{b}.attn_norm.weight", f"{p}.input_layernorm.weight")
        mat(f"{b}.attn_q.weight", f"{p}.self_attn.q_proj.weight")
        mat(f"{b}.attn_k.weight", f"{p}.self_attn.k_proj.weight")
        mat(f"{b}.attn_v.weight", f"{p}.self_attn.v_proj.weight")
        mat(f"{b}.attn_output.weight", f"{p}.self_attn.o_proj.weight")
        vec(f"{b}.ffn_norm.weight", f"{p}.post_attention_layernorm.weight")
        m = f"{p}.mlp"
        if not moe or not lc_moe[i]:
            for g, h in (("gate", "gate_proj"), ("up", "up_proj"), ("down", "down_proj")):
                mat(f"{b}.ffn_{g}.weight", f"{m}.{h}.weight")
            continue
        et = ptype(f"{m}.gate_proj.weight" if not hf_moe[i] else f"{m}.experts.0.gate_proj.weight")
        zero_dt = {0: np.float32, 1: np.float16, 30: np.uint16}[et]
        if hf_moe[i]:
            w.tensor(f"{b}.ffn_gate_inp.weight", 0, [E, H], f32(f"{m}.gate.weight"))
            bias = f"{m}.moe_statics.e_score_correction_bias"
            if bias in ck:
                w.tensor(f"{b}.exp_probs_b.bias", 0, [E], f32(bias))
            for g, h in (("gate", "gate_proj"), ("up", "up_proj"), ("down", "down_proj")):
                names = [f"{m}.experts.{e}.{h}.weight" for e in range(E)]
                shp = ck.shape(names[0])
                w.tensor(f"{b}.ffn_{g}_exps.weight", ptype(names[0]), [E] + shp,
                         lambda names=names: b"".join(raw(n)().tobytes() for n in names))
            sh = f"{m}.shared_experts"
            if sw:
                if f"{sh}.gate_proj.weight" in ck:
                    shexp(b, sh)
                else:
                    for g, shp in (("gate", [sw, H]), ("up", [sw, H]), ("down", [H, sw])):
                        w.tensor(f"{b}.ffn_{g}_shexp.weight", et, shp,
                                 lambda shp=shp: np.zeros(shp, zero_dt))
        else:
            # dense layer after the MoE range: zero router and experts, the
            # dense MLP as the shared expert
            w.tensor(f"{b}.ffn_gate_inp.weight", 0, [E, H], lambda: np.zeros((E, H), np.float32))
            w.tensor(f"{b}.exp_probs_b.bias", 0, [E], lambda: np.zeros(E, np.float32))
            for g, shp in (("gate", [E, W, H]), ("up", [E, W, H]), ("down", [E, H, W])):
                w.tensor(f"{b}.ffn_{g}_exps.weight", et, shp, lambda shp=shp: np.zeros(shp, zero_dt))
            shexp(b, m)
    w.write(dst)


def main():
    a = sys.argv[1:]
    f32 = bool(a) and a[0] == "--f32"
    a = a[1:] if f32 else a
    if len(a) != 2:
        sys.exit("usage: gguf.py [--f32] MODEL_DIR OUT.gguf")
    convert(a[0], a[1], f32)


if __name__ == "__main__":
    main()
