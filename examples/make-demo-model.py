#!/usr/bin/python3
"""make-demo-model.py: (re)make examples/demo-model, the embedded default
model of `make demo` and of the pipeline tests.

A random-weight ERNIE 4.5 in the exact Hugging Face "-PT" layout: the dense
0.3B structure scaled down (hidden 64, 2 layers, 4 query heads sharing 2 KV
heads of head_dim 32, tied embeddings), vocabulary 32064 to cover the
tokenizer, written by bench/gen_model.py's writer. The tokenizer files are
the ERNIE-style SentencePiece model of tests/data/tokenizer/ernie-like-a.modeldir
(trained here with ERNIE's settings, laid out like the official files), and
generation_config.json is the official one. Its answers are noise.

Usage: examples/make-demo-model.py [DIR]   (default examples/demo-model)"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import gen_model  # noqa: E402

DEMO = dict(gen_model.DENSE, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=32, vocab_size=32064)


def main():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "examples", "demo-model")
    gen_model.write(out, DEMO, 4)
    tok = os.path.join(top, "tests", "data", "tokenizer", "ernie-like-a.modeldir")
    for f in os.listdir(tok):
        shutil.copy(os.path.join(tok, f), out)
    shutil.copy(os.path.join(top, "tests", "data", "sample", "generation_config.json"), out)


if __name__ == "__main__":
    main()
