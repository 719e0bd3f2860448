#!/usr/bin/python3
"""Property test: ernie-tok / ernie-detok against the live sentencepiece
library (Debian's python3-sentencepiece) on random strings.

usage: tok_property.py BIN DATA [SEED] [N]

For each model (the shared test models and one trained here with spm_train,
with options none of those have: no byte fallback, so unknown pieces merge),
N random strings (mixed scripts, whitespace runs, digits, emoji, malformed
UTF-8, special-token text) are encoded by both and the ids and pieces
compared; the ids are decoded by both and compared; and N random id lists
over the whole vocabulary are decoded by both. Prints "ok NAME" or
"FAIL NAME: seed S: first differing case", and the seed always.
"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokio import records, run  # noqa: E402
import tempfile

try:
    import sentencepiece as spm
except ImportError:
    spm = None

BIN, DATA = sys.argv[1], sys.argv[2]
SEED = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else random.SystemRandom().randrange(1 << 31)
N = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
TOK, DETOK = os.path.join(BIN, "ernie-tok"), os.path.join(BIN, "ernie-detok")

ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "あいうえおかきくけこアイウエオカキクケコ", "абвгдежзийклмнопрстуфхцчшщыэюя",
    "αβγδεζηθικλμνξοπρστυφχψω", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي", "กขฃคฅฆงจฉชซฌญฎฏ",
    "한국어로된문장입니다", "éèêëàâäôöûüçñß", ".,;:!?()[]{}<>\"'-_/\\|@#$%^&*+=~`",
    "😀😂🤗😈👩🏾‍🦽🇨🇳❤️✨", "ｈｅｌｌｏ１２３！？", "\u0301\u0308\u200d\ufeff\u00a0\u3000\u2581",
]
SPACES = [" ", "  ", "    ", "\t", "\n", "\r\n", "\u3000", " \t "]
SPECIALS = ["<s>", "</s>", "<unk>", "<pad>", "<|begin_of_sentence|>", "<|end_of_sentence|>",
            "<mask:1>", "<|im_start|>", "<|LOC_0|>", "<ctl>", "<|sep|>", "<br>", "<0x41>"]
BAD_BYTES = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe4\xb8", b"\x80",
             b"\xf8\x88\x80\x80\x80", b"\xef\xbf\xbd", b"\xc3"]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(0, 12)):
        r = rng.random()
        if r < 0.55:
            a = rng.choice(ALPHABETS)
            parts.append("".join(rng.choice(a) for _ in range(rng.randint(1, 10))).encode())
        elif r < 0.75:
            parts.append(rng.choice(SPACES).encode())
        elif r < 0.85:
            parts.append(rng.choice(SPECIALS).encode())
        elif r < 0.92:
            parts.append(rng.choice(BAD_BYTES))
        else:
            parts.append(chr(rng.choice([rng.randint(1, 0x7f), rng.randint(0x80, 0xd7ff),
                                         rng.randint(0xe000, 0x10ffff)])).encode())
    return b"".join(parts).replace(b"\0", b"")







def check_model(name, model, rng):
    sp = spm.SentencePieceProcessor(model_file=model)
    margs = ["--model", model]
    texts = [random_text(rng) for _ in range(N)]
    data = b"".join(t + b"\0" for t in texts)
    ids = records(run([TOK] + margs + ["-0", "--no-parse-special"], data), N)
    pieces = records(run([TOK] + margs + ["-0", "--no-parse-special", "--pieces"], data), N)
    want_ids = [sp.encode(t) for t in texts]
    for t, i, p, w in zip(texts, ids, pieces, want_ids):
        got = [int(x) for x in i.split()]
        wp = [x if isinstance(x, bytes) else x.encode() for x in sp.encode(t, out_type=str)]
        gp = p.split(b" ") if p else []
        if got != w or gp != wp:
            return f"encode {t!r}: sentencepiece {w} {wp}, ernie-tok {got} {gp}"
    # decode: the round-trip ids, then random ids over the vocabulary
    vocab = sp.get_piece_size()
    lists = want_ids + [[rng.randrange(vocab) for _ in range(rng.randint(0, 12))] for _ in range(N)]
    lists = [ids for ids in lists if ids]     # an empty list is the end-of-sequence record itself
    want = [sp.decode(ids).encode("utf-8", "surrogatepass") + b"\0" for ids in lists]

    def decode(lists):
        feed = "".join(" ".join(map(str, ids)) + "\n\n" for ids in lists).encode()
        return run([DETOK] + margs + ["--raw", "-0"], feed)
    if decode(lists) != b"".join(want):     # texts may hold NULs: find the case one by one
        for ids, w in zip(lists, want):
            g = decode([ids])
            if g != w:
                return f"decode {ids}: sentencepiece {w!r}, ernie-detok {g!r}"
    return None


def train_model(tmp):
    """A small BPE model with options the shared ones lack."""
    corpus = os.path.join(tmp, "corpus.txt")
    rng = random.Random(7)
    with open(corpus, "wb") as f:     # English-like lines plus the random mix
        with open(os.path.join(DATA, "nfkc-d.encode.jsonl"), encoding="utf-8") as g:
            for line in g:
                t = json.loads(line)["text"].replace("\n", " ")
                if t.isascii():
                    f.write(t.encode() + b"\n")
        for _ in range(3000):
            t = random_text(rng).decode("utf-8", "ignore")
            f.write(" ".join(t.split()).encode() + b"\n")
    prefix = os.path.join(tmp, "trained")
    subprocess.run(["spm_train", f"--input={corpus}", f"--model_prefix={prefix}", "--model_type=bpe",
                    "--vocab_size=1000", "--character_coverage=0.98", "--byte_fallback=false",
                    "--normalization_rule_name=nmt_nfkc", "--add_dummy_prefix=true",
                    "--remove_extra_whitespaces=true", "--user_defined_symbols=<|sep|>,<br>,@@",
                    "--control_symbols=<ctl>", "--unk_id=3", "--bos_id=0", "--eos_id=1", "--pad_id=2",
                    "--split_digits=false", "--num_threads=1", "--minloglevel=2"],
                   check=True, capture_output=True)
    return prefix + ".model"


def main():
    print(f"# tok_property seed {SEED}, {N} strings per model", file=sys.stderr)
    names = ["ernie-like-a", "nfkc-d", "unigram-c", "trained"]
    if spm is None:
        for n in names:
            print(f"ok tok_property_{n} # skipped: python3-sentencepiece is not installed")
        return
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            if n == "trained":
                try:
                    model = train_model(tmp)
                except OSError as e:
                    print(f"ok tok_property_{n} # skipped: no spm_train: {e}")
                    continue
                except subprocess.CalledProcessError as e:
                    print(f"FAIL tok_property_{n}: spm_train: {e.stderr.decode()[-300:]}")
                    continue
            else:
                model = os.path.join(DATA, n + ".model")
            try:
                why = check_model(n, model, rng)
            except RuntimeError as e:
                why = str(e)
            print(f"FAIL tok_property_{n}: seed {SEED}: {why}" if why else f"ok tok_property_{n}")


main()
