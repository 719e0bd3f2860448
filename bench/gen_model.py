#!/usr/bin/python3
"""gen_model.py: random-weight ERNIE 4.5 models for the benchmark, in the
exact Hugging Face layout (config.json + model.safetensors, bf16 matrices,
f32 router), of the real 0.3B shape and of a small MoE shape.

Written once into DIR/ernie-0.3b, DIR/ernie-moe and DIR/ernie-0.3b-32k (the
0.3B shape with the 32064-id vocabulary of examples/demo-model's tokenizer;
an existing model is kept; a half-written one never appears under its final
name).
`--stats MODEL_DIR` prints, from its config.json, the weight bytes one
decode token reads (selected experts only) and the matrix FLOPs of one
prefill token (logits excluded: prefill computes them for one position).
Usage: gen_model.py DIR | gen_model.py --stats MODEL_DIR"""
import json
import os
import struct
import sys

import numpy as np

DENSE = {
    "architectures": ["Ernie4_5ForCausalLM"], "model_type": "ernie4_5",
    "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
    "hidden_act": "silu", "hidden_size": 1024, "intermediate_size": 3072,
    "max_position_embeddings": 131072, "num_attention_heads": 16,
    "num_key_value_heads": 2, "head_dim": 128, "num_hidden_layers": 18,
    "rms_norm_eps": 1e-05, "use_cache": False, "vocab_size": 103424,
    "rope_theta": 500000.0, "use_bias": False, "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}

# 8 layers, layer 0 dense (as in the released MoE models), 1..7 MoE with
# 16 experts of width 512, top-4, and 2 shared experts (one MLP of 1024).
MOE = dict(DENSE, **{
    "architectures": ["Ernie4_5_MoeForCausalLM"], "model_type": "ernie4_5_moe",
    "num_hidden_layers": 8, "use_rmsnorm": True,
    "moe_num_experts": 16, "moe_num_shared_experts": 2, "moe_k": 4,
    "moe_layer_start_index": 1, "moe_layer_end_index": 7, "moe_layer_interval": 1,
    "moe_intermediate_size": 512, "moe_capacity": [16, 16, 16],
    "moe_gate": "topk", "moe_use_aux_free": True, "moe_norm_min": 1e-12,
})


def mlp(prefix, hidden, width):
    return [(f"{prefix}.gate_proj.weight", "BF16", [width, hidden]),
            (f"{prefix}.up_proj.weight", "BF16", [width, hidden]),
            (f"{prefix}.down_proj.weight", "BF16", [hidden, width])]


def tensors(c):
    """(name, dtype, shape) of every tensor the config implies."""
    h, d = c["hidden_size"], c["head_dim"]
    out = [("model.embed_tokens.weight", "BF16", [c["vocab_size"], h]),
           ("model.norm.weight", "BF16", [h])]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}"
        out += [(f"{p}.input_layernorm.weight", "BF16", [h]),
                (f"{p}.post_attention_layernorm.weight", "BF16", [h]),
                (f"{p}.self_attn.q_proj.weight", "BF16", [c["num_attention_heads"] * d, h]),
                (f"{p}.self_attn.k_proj.weight", "BF16", [c["num_key_value_heads"] * d, h]),
                (f"{p}.self_attn.v_proj.weight", "BF16", [c["num_key_value_heads"] * d, h]),
                (f"{p}.self_attn.o_proj.weight", "BF16", [h, c["num_attention_heads"] * d])]
        if "moe_num_experts" in c and c["moe_layer_start_index"] <= i <= c["moe_layer_end_index"]:
            e, w = c["moe_num_experts"], c["moe_intermediate_size"]
            out += [(f"{p}.mlp.gate.weight", "F32", [e, h]),
                    (f"{p}.mlp.moe_statics.e_score_correction_bias", "F32", [1, e])]
            for j in range(e):
                out += mlp(f"{p}.mlp.experts.{j}", h, w)
            out += mlp(f"{p}.mlp.shared_experts", h, w * c["moe_num_shared_experts"])
        else:
            out += mlp(f"{p}.mlp", h, c["intermediate_size"])
    return sorted(out)


def data(rng, name, dtype, shape):
    """Bytes of one tensor: norms 1, bias small, matrices N(0, 0.02)."""
    n = int(np.prod(shape))
    if name.endswith("layernorm.weight") or name == "model.norm.weight":
        v = np.ones(n, np.float32)
    elif name.endswith("correction_bias"):
        v = rng.standard_normal(n, np.float32) * 0.01
    else:
        v = rng.standard_normal(n, np.float32) * 0.02
    if dtype == "F32":
        return v.astype("<f4").tobytes()
    u = v.view(np.uint32)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16        # round to nearest even
    return u.astype("<u2").tobytes()


def write(path, config, seed):
    if os.path.exists(os.path.join(path, "model.safetensors")):
        return
    tmp = path + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    header, off, ts = {"__metadata__": {"format": "pt"}}, 0, tensors(config)
    for name, dtype, shape in ts:
        size = int(np.prod(shape)) * (4 if dtype == "F32" else 2)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + size]}
        off += size
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    rng = np.random.default_rng(seed)
    with open(os.path.join(tmp, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name, dtype, shape in ts:
            f.write(data(rng, name, dtype, shape))
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    os.rename(tmp, path)


def stats(path):
    with open(os.path.join(path, "config.json")) as f:
        c = json.load(f)
    e, k = c.get("moe_num_experts", 1), c.get("moe_k", 1)
    params = nbytes = mlp = 0
    for name, dtype, shape in tensors(c):
        if len(shape) != 2 or name.endswith("correction_bias"):
            continue
        size = shape[0] * shape[1] * (k / e if ".experts." in name else 1)
        nbytes += size * (4 if dtype == "F32" else 2)
        if name != "model.embed_tokens.weight":  # the tied lm_head: decode only
            params += size
        if name.endswith(("gate_proj.weight", "up_proj.weight", "down_proj.weight")):
            mlp += size                         # --precision bf16 rounds these
    print(f"decode_bytes {nbytes:.0f}\nprefill_flops {2 * params:.0f}\n"
          f"prefill_mlp_flops {2 * mlp:.0f}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--stats":
        return stats(sys.argv[2])
    if len(sys.argv) != 2:
        sys.exit("usage: gen_model.py DIR | gen_model.py --stats MODEL_DIR")
    write(os.path.join(sys.argv[1], "ernie-0.3b"), DENSE, 1)
    write(os.path.join(sys.argv[1], "ernie-moe"), MOE, 2)
    # the 0.3B shape with the demo tokenizer's vocabulary, for the pipelines
    # through ernie-prompt and ernie-tok (bench/kv.sh: chat.sh, batch.sh)
    write(os.path.join(sys.argv[1], "ernie-0.3b-32k"), dict(DENSE, vocab_size=32064), 3)


if __name__ == "__main__":
    main()
