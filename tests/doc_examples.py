#!/usr/bin/python3
"""Every example command of README.md and the manual pages runs as written,
on the demo model (tests/t-readme.sh).

usage: doc_examples.py BIN SCRATCH FILE...     prints "ok NAME" / "FAIL NAME: why"

Commands are the ```sh blocks of README.md and the .EX/.EE and .nf/.fi
blocks of a manual page's EXAMPLES section (blocks of file contents, such as
a YAML file, are not commands). Lines ending with a backslash or a pipe, and
indented lines after them, are one command. Each runs in SCRATCH, the home
directory of a pretend user who has what the examples name: model
directories called ERNIE-4.5-0.3B-PT (here, ~/models and /srv) that are the
demo model, questions.txt, prompts/*.txt, the source tree at ~/ernie, and
so on. Paths under /var, /srv and /usr/local are taken inside SCRATCH, where
/usr/local/bin holds the programs as `make install` puts them.

README.md is read like a terminal session: ERNIE_MODEL is unset at first
and every `export` holds for the commands after it. A manual page's
examples run with ERNIE_MODEL set (each page's ENVIRONMENT says so), except
those that name a model with -m, which must then work without it; a block
of file contents after a line naming the file (".IR chat.yaml :") is that
file. A crontab line runs with cron's environment: only HOME, LOGNAME,
SHELL and PATH=/usr/bin:/bin, plus the VAR=value lines of its block. A
command passes when every program of its pipelines exits 0 (bash -o
pipefail). Each file's examples run in a home of their own. Some cannot
run here; each such is reported as a skip, with the reason.
"""
import os
import re
import subprocess
import sys

BIN, TOP = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SCRATCH = TOP
FILES = sys.argv[3:]
ROOT = os.getcwd()
DEMO = os.path.join(ROOT, "examples", "demo-model")
CRON = re.compile(r"^([0-9*,/-]+\s+){4}[0-9*,/a-zA-Z-]+\s+(.*)$")
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")

# (pattern, reason): commands that cannot run here
SKIPS = [
    (r"\bsudo\b|make install", "installs into the system"),
    (r"^(\S+=\S+\s+)*make\b", "the build itself: make check runs inside it"),
    (r"--server", "needs a serving engine on the network"),
    (r"21B|300B", "needs a real mixture-of-experts model"),
    (r"\|\s*mail\b", "sends mail"),
    (r"tee (loop|ids)\b", "a sampling loop through a FIFO: runs until interrupted"),
    (r"think\.sh|tools\.sh|--reasoning|--tool-calls",
     "needs a model with the Thinking template (tests/t-thinking.sh runs these on a tiny one)"),
]


def roff_text(line):
    for a, b in (("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\e", "\\"), ("\\&", "")):
        line = line.replace(a, b)
    return line


def blocks(path):
    """(line number, [lines], the file name said just before) of each example
    block of the file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, cur, start = [], None, 0
    if path.endswith(".md"):
        for i, l in enumerate(lines, 1):
            if cur is None and l.strip() == "```sh":
                cur, start = [], i + 1
            elif cur is not None and l.strip() == "```":
                out.append((start, cur, None))
                cur = None
            elif cur is not None:
                cur.append(l)
        return out
    section, named = False, None
    for i, l in enumerate(lines, 1):
        m = re.match(r"^\.IR? (\S+\.(yaml|json|txt))\b", l)
        if l.startswith(".SH"):
            section = l.split(None, 1)[1:] == ["EXAMPLES"]
        elif m:
            named = m.group(1)
        elif section and cur is None and l in (".EX", ".nf"):
            cur, start = [], i + 1
        elif section and cur is not None and l in (".EE", ".fi"):
            out.append((start, cur, named))
            cur, named = None, None
        elif cur is not None:
            cur.append(roff_text(l))
    return out


def strip_comment(line):
    """The line without a shell comment (a # outside quotes after a blank)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line


def commands(lines):
    """(offset, command) of the logical lines of a block."""
    out, cur, first = [], "", 0
    for i, raw in enumerate(lines):
        l = strip_comment(raw)
        if cur and (cur.endswith("\\") or cur.endswith("|") or raw[:1] in (" ", "\t")):
            cur = (cur[:-1] if cur.endswith("\\") else cur) + " " + l.strip()
        else:
            if cur:
                out.append((first, cur))
            cur, first = l.strip(), i
    if cur:
        out.append((first, cur))
    return [(i, c) for i, c in out if c]


def is_command(cmd):
    word = cmd.split()[0]
    if CRON.match(cmd) or ASSIGN.match(word) or word in ("(", "export"):
        return True
    word = word.lstrip("(")
    return subprocess.run(["sh", "-c", 'command -v "$1"', "sh", word],
                          env={"PATH": BIN + ":/usr/bin:/bin"}, capture_output=True).returncode == 0


def inside(cmd):
    """Absolute paths under /var, /srv and /usr/local taken inside SCRATCH."""
    return re.sub(r"(^|[\s=:'\"])/(var|srv|usr/local)/", r"\1" + SCRATCH + r"/\2/", cmd)


def setup():
    s = SCRATCH
    for d in ("models", "srv", "var/news", "var/log", "usr/local/bin", "prompts", "corpus",
              "out", "answers"):
        os.makedirs(os.path.join(s, d), exist_ok=True)
    links = {"ERNIE-4.5-0.3B-PT": DEMO, "models/ERNIE-4.5-0.3B-PT": DEMO,
             "srv/ERNIE-4.5-0.3B-PT": DEMO, "srv/ernie": DEMO, "ernie": ROOT,
             "tokenizer.model": os.path.join(DEMO, "tokenizer.model")}
    for p in ("ernie-prompt", "ernie-tok", "ernie-run", "ernie-sample", "ernie-detok"):
        links["usr/local/bin/" + p] = os.path.join(BIN, p)
    for name, target in links.items():
        if not os.path.lexists(os.path.join(s, name)):
            os.symlink(target, os.path.join(s, name))
    texts = {"questions.txt": "What is ERNIE 4.5?\nWhat is a token?\n",
             "notes.txt": "Notes\n\nsome text\n", "prompt.txt": "Once upon a time",
             "corpus.txt": "one line\nanother line\n", "corpus/a.txt": "a corpus file\n",
             "corpus/b.txt": "another one\n", "prompts/a.txt": "What is MoE?\n",
             "prompts/b.txt": "What is RoPE?\n", "srv/bench.txt": "a benchmark text\n",
             "var/log/app.log": "a log line\n"}
    for name, text in texts.items():
        with open(os.path.join(s, name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(ROOT, "examples", "references.json"), encoding="utf-8") as f:
        refs = f.read()
    for name in ("news.json", "var/news/today.json"):
        with open(os.path.join(s, name), "w", encoding="utf-8") as f:
            f.write(refs)
    env = {"PATH": BIN + ":/usr/bin:/bin", "ERNIE_MODEL": DEMO}
    run = lambda c: subprocess.run(["sh", "-c", c], cwd=s, env=env, check=True)
    run("ernie-tok -b notes.txt > out/a.etok && ernie-tok prompt.txt | ernie-run > logits")


def run(name, cmd, exports, model, cron_env):
    cmd = inside(cmd)
    if cron_env is not None:
        env = {"HOME": SCRATCH, "LOGNAME": "ernie", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
        env.update({k: inside(v) for k, v in cron_env.items()})
        argv = ["bash", "-o", "pipefail", "-c", cmd]
    else:
        env = {"HOME": SCRATCH, "PATH": BIN + ":/usr/bin:/bin", "LANG": "C.UTF-8"}
        if model:
            env["ERNIE_MODEL"] = DEMO
        argv = ["bash", "-o", "pipefail", "-c", "".join(e + "\n" for e in exports) + cmd]
    try:
        p = subprocess.run(argv, cwd=SCRATCH, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        print(f"FAIL {name}: no end in 120 s: {cmd}")
        return
    if p.returncode:
        err = p.stderr.decode(errors="replace").strip().replace("\n", " | ")[:300]
        print(f"FAIL {name}: status {p.returncode}: {cmd[:160]}: {err}")
    else:
        print(f"ok {name}")


def main():
    global SCRATCH
    for path in FILES:
        SCRATCH = os.path.join(TOP, os.path.basename(path))
        setup()
        readme = path.endswith(".md")
        exports = []
        for start, lines, named in blocks(path):
            cron_env = {}
            cmds = commands(lines)
            if named and cmds and not is_command(cmds[0][1]):
                with open(os.path.join(SCRATCH, named), "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
                continue
            for off, cmd in cmds:
                name = f"example:{os.path.basename(path)}:{start + off}"
                if not is_command(cmd):
                    continue
                if ASSIGN.match(cmd):               # a crontab's VAR=value line
                    k, v = cmd.split("=", 1)
                    cron_env[k] = v
                    continue
                reason = next((r for pat, r in SKIPS if re.search(pat, cmd)), None)
                if reason:
                    print(f"ok {name} # skipped: {reason}: {cmd[:80]}")
                    continue
                if cmd.startswith("export "):
                    exports.append(inside(cmd))
                    if not readme:
                        run(name, cmd, [], True, None)
                        continue
                m = CRON.match(cmd)
                if m:
                    run(name, m.group(2), [], False, cron_env)
                elif readme:
                    run(name, cmd, exports, False, None)
                else:
                    names_model = re.search(r"(^|\s)(-m|--model)\s", cmd) is not None
                    run(name, cmd, exports, not names_model, None)


main()
