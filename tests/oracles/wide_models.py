#!/usr/bin/python3
"""wide_models.py DIR: two random-weight ERNIE 4.5 checkpoints whose rows are
whole 256-element blocks (the golden tiny models' 64 are not, so the K types
would fall back to other types there), for tests/t-quantize.sh: DIR/wide-dense
(8 layers, hidden 256) and DIR/wide-moe (8 layers, 4 experts of 256, top 2,
2 shared). Written by bench/gen_model.py's writer: bf16 matrices N(0, 0.02),
f32 router, unit norms."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import gen_model  # noqa: E402

SHAPE = dict(hidden_size=256, intermediate_size=512, num_attention_heads=4, num_key_value_heads=2,
             head_dim=64, num_hidden_layers=8, vocab_size=512)
gen_model.write(os.path.join(sys.argv[1], "wide-dense"), dict(gen_model.DENSE, **SHAPE), 3)
gen_model.write(os.path.join(sys.argv[1], "wide-moe"),
                dict(gen_model.MOE, **SHAPE, moe_num_experts=4, moe_k=2, moe_intermediate_size=256,
                     moe_capacity=[4, 4, 4]), 4)
