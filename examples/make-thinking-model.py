#!/usr/bin/python3
"""make-thinking-model.py: a tiny random model that carries the chat template
of ERNIE-4.5-21B-A3B-Thinking, for trying examples/think.sh and
examples/tools.sh (and for their tests) without the 21B download.

It is examples/demo-model (random weights, the ERNIE-style test tokenizer)
with the Thinking model's files where they matter: tokenizer_config.json
holds the official Thinking chat_template, generation_config.json is the
Thinking one (temperature 0.6, top_p 0.95), and the format's markers
(<|im_start|>, <|im_end|>, <think>, </think>, <response>, </response>,
<tool_call>, </tool_call>, <tool_output>, </tool_output>) are added tokens
after the tokenizer's own, inside the model's vocabulary. Its answers are
noise: it rarely closes </think>, and never calls a tool on purpose.

Usage: examples/make-thinking-model.py DIR"""
import json
import os
import shutil
import sys

MARKERS = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<response>", "</response>",
           "<tool_call>", "</tool_call>", "<tool_output>", "</tool_output>"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[-1])
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = sys.argv[1]
    shutil.copytree(os.path.join(top, "examples", "demo-model"), out, dirs_exist_ok=True)
    data = os.path.join(top, "tests", "data", "thinking")
    shutil.copy(os.path.join(data, "generation_config.json"), out)
    with open(os.path.join(data, "chat_template.jinja"), encoding="utf-8", newline="") as f:
        template = f.read()
    path = os.path.join(out, "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    config["chat_template"] = template
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    path = os.path.join(out, "added_tokens.json")
    with open(path, encoding="utf-8") as f:
        added = json.load(f)
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        vocab = json.load(f)["vocab_size"]
    for text in MARKERS:
        if text not in added:
            added[text] = max(added.values()) + 1
    assert max(added.values()) < vocab, "the markers must be ids the model can emit"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(added, f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
