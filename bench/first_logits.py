"""Start-up cost of ernie-run: from exec to the first logits of a 1-token
prompt, minus the forward pass itself (ernie-run -v's "eval" time), best
of 5 runs, weights already in the page cache. Prints one bench/run row.

  python3 bench/first_logits.py BIN/ernie-run MODEL THREADS NAME
"""
import re
import subprocess
import sys
import time

BOUND_MS = 50.0


def once(run, model, threads):
    t0 = time.perf_counter()
    p = subprocess.Popen([run, "-m", model, "-t", threads, "-v", "--top", "1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdin.write(b"1000\n")
    p.stdin.flush()
    first = p.stdout.read(1)            # the first byte of the logits
    wall = (time.perf_counter() - t0) * 1e3
    p.stdin.close()
    p.stdout.read()
    err = p.stderr.read().decode()
    if p.wait() != 0 or not first:
        sys.exit(f"first_logits: {run} failed: {err.strip()}")
    m = re.search(r"^eval: 1 tokens, ([0-9.]+) ms", err, re.M)
    return wall - float(m.group(1))


def main():
    run, model, threads, name = sys.argv[1:5]
    best = min(once(run, model, threads) for _ in range(5))
    print(f"{name} start-up beyond compute (bound: {BOUND_MS:.0f} ms)\t{best:.1f}\tms\t"
          f"{BOUND_MS:.1f}\t{100 * best / BOUND_MS:.0f}%")


main()
