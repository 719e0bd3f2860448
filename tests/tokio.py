"""tokio.py: running ernie-tok from the tokenizer test scripts."""
import subprocess


def records(out, n):
    """-0 output: each document's record, then an empty record (an empty
    document is the empty record alone)."""
    lines, recs, i = out.split(b"\n"), [], 0
    while len(recs) < n:
        recs.append(lines[i])
        i += 2 if lines[i] else 1
    return recs


def run(argv, data):
    p = subprocess.run(argv, input=data, capture_output=True)
    if p.returncode:
        raise RuntimeError(f"{' '.join(argv)}: status {p.returncode}: {p.stderr.decode()[:300]}")
    return p.stdout
