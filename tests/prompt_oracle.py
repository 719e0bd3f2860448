#!/usr/bin/python3
"""Compare ernie-prompt with outside oracles, on generated inputs.

Chat: Jinja2 renders the official chat_template.jinja (tests/data/prompt/, and
ERNIE-4.5-21B-A3B-Thinking's in tests/data/thinking/) the way Hugging Face's
apply_chat_template does, with its tojson filter. Web search: Python's str.format
fills the official websearch_*.txt files; the {references} layout is written
here from the issue's description. Special-token neutralisation is
re-implemented here (leftmost-longest match, first character made
full-width) from the token lists in tests/data/prompt/.

usage: /usr/bin/python3 tests/prompt_oracle.py BIN/ernie-prompt [SEED]
Prints "ok NAME" / "FAIL NAME: why" lines (tests/lib.sh conventions).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from jinja2.sandbox import ImmutableSandboxedEnvironment
import jinja2.ext

PROG = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 4504
DATA = os.path.join(os.environ.get("TEST_DATA", "tests/data"), "prompt")
TMP = tempfile.mkdtemp(prefix="prompt-oracle.")


def read(name):
    with open(os.path.join(DATA, name), encoding="utf-8", newline="") as f:
        return f.read()


# Hugging Face renders chat templates in this environment (transformers'
# chat_template_utils: trim_blocks, lstrip_blocks, loopcontrols).
ENV = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                    extensions=[jinja2.ext.loopcontrols])
TEMPLATE = ENV.from_string(read("chat_template.jinja"))
WEBSEARCH = {"zh": read("websearch_zh.txt"), "en": read("websearch_en.txt")}

config = json.loads(read("tokenizer_config.json"))
SPECIALS = set(json.loads(read("added_tokens.json")))
SPECIALS |= {v for k, v in config.items() if k.endswith("_token") and isinstance(v, str)}
assert all(t.startswith("<") for t in SPECIALS)
SPECIAL_LENS = sorted({len(t) for t in SPECIALS}, reverse=True)


def render(messages, gen):
    """What apply_chat_template gives: gen None leaves add_generation_prompt undefined."""
    kw = {} if gen is None else {"add_generation_prompt": gen}
    return TEMPLATE.render(messages=messages, **kw)


def neutralise(text, specials=SPECIALS):
    """Leftmost-longest special-token literals get '<' -> U+FF1C; returns (text, count)."""
    out, i, count = [], 0, 0
    lens = SPECIAL_LENS if specials is SPECIALS else sorted({len(t) for t in specials})
    while i < len(text):
        if any(text[i:i + n] in specials for n in lens):
            out.append("\uff1c")
            count += 1
        else:
            out.append(text[i])
        i += 1
    return "".join(out), count


# ---- random text ---------------------------------------------------------

PIECES = [
    "hello", "What is MoE?", "  ", " ", "\n", "\r\n", "\t", "\n\n", '"', "'", "\\",
    "{", "}", "{{", "}}", "{question}", "{date}", "{references}", "{% raw %}", "{{ x }}",
    "你好", "周杰伦是谁？", "参考文章", "：", "，", "日本語", "カタカナ", "한국어", "Ελληνικά",
    "e\u0301", "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F1E8\U0001F1F3",
    "\U0001F600", "\u00e9", "\U00020000", "<", ">", "<|", "|>", "<|end_of_sentence",
    "<mask:2>", "<|LOC_1001|>", "<<|begin_of_sentence|>>", "\x01", "\x1f",
]
SPECIAL_PIECES = sorted(SPECIALS)[:40] + ["<|end_of_sentence|>", "<|begin_of_sentence|>",
                                          "<s>", "</s>", "<unk>", "<mask:1>", "<|LOC_1000|>"]


def random_char(rng):
    while True:
        c = rng.choice([rng.randrange(0x20, 0x7F), rng.randrange(0xA0, 0xD800),
                        rng.randrange(0xE000, 0xFFFE), rng.randrange(0x10000, 0x110000)])
        # YAML (so libyaml, which reads our JSON) refuses or folds these raw:
        if c not in (0x2028, 0x2029, 0xFEFF) and not 0xFDD0 <= c <= 0xFDEF:
            return chr(c)


def random_text(rng, specials):
    parts = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8])):
        r = rng.random()
        if specials and r < 0.15:
            parts.append(rng.choice(SPECIAL_PIECES))
        elif r < 0.35:
            parts.append(random_char(rng))
        else:
            parts.append(rng.choice(PIECES))
    return "".join(parts)


def has_special(text):
    return neutralise(text)[1] > 0


# ---- running the program -------------------------------------------------

class Check:
    """Counts cases of one test; reports the first failure."""

    def __init__(self, name):
        self.name, self.cases, self.failure = name, 0, None

    def eq(self, what, want, got):
        self.cases += 1
        if want != got and self.failure is None:
            self.failure = "%s: expected %s got %s" % (what, repr(want)[:300], repr(got)[:300])

    def report(self):
        if self.failure:
            print("FAIL %s: %s" % (self.name, self.failure))
        elif self.cases == 0:
            print("FAIL %s: no cases ran" % self.name)
        else:
            print("ok %s (%d cases)" % (self.name, self.cases))


class Runner:
    """Queues runs of the program, then runs them on every core (a sanitizer
    build starts slowly) and checks the results in the order queued."""

    def __init__(self):
        self.calls = []

    def expect(self, check, what, args, want, stdin=b"", also=None):
        """The run must exit 0 with stdout == want; also(stderr) adds checks."""
        self.calls.append((check, what, args, want, stdin, also))

    def flush(self):
        def one(call):
            return subprocess.run([PROG] + call[2], input=call[4], capture_output=True)
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            results = list(pool.map(one, self.calls))
        for (check, what, args, want, _, also), p in zip(self.calls, results):
            err = p.stderr.decode("utf-8", "replace")
            check.eq("%s %r: exit status (stderr %r)" % (what, args[:6], err[:200]), 0,
                     p.returncode)
            check.eq(what, want, p.stdout.decode("utf-8", "replace"))
            if also:
                also(err)
        self.calls = []


RUN = Runner()
FILES = [0]


def write(name, text):
    """Write a scratch file (a fresh name each time: runs go in parallel)."""
    FILES[0] += 1
    path = os.path.join(TMP, "%d.%s" % (FILES[0], name))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def as_yaml(messages):
    # block YAML with double-quoted scalars (JSON string syntax is YAML's)
    return "".join("- role: %s\n  content: %s\n" % (m["role"], json.dumps(m["content"],
                   ensure_ascii=False)) for m in messages)


def conversation_args(rng, messages):
    """Command-line arguments that give messages: -c FILE (JSON or YAML), or -s/-u/-a.
    Without a user or assistant message, -c (stdin would be the question)."""
    form = rng.choice(["json", "json-ascii", "yaml", "openai", "args"])
    if form == "args" and any(m["role"] != "system" for m in messages):
        flag = {"system": "-s", "user": "-u", "assistant": "-a"}
        return [a for m in messages for a in (flag[m["role"]], m["content"])]
    if form == "yaml" and messages:
        return ["-c", write("conv.yaml", as_yaml(messages))]
    if form == "openai":
        body = {"model": "ernie", "messages": [dict(m, name="x") for m in messages]}
        return ["-c", write("conv.json", json.dumps(body, ensure_ascii=False))]
    return ["-c", write("conv.json", json.dumps(messages, ensure_ascii=form == "json-ascii"))]


def chat_tests(rng, n):
    verbatim, defused = Check("prompt-oracle-chat-jinja2"), Check("prompt-oracle-chat-neutralised")
    for i in range(n):
        specials = rng.random() < 0.4
        messages = [{"role": rng.choice(["system", "user", "assistant"]),
                     "content": random_text(rng, specials)} for _ in range(rng.randrange(0, 7))]
        gen = rng.choice([None, True, False])
        args = conversation_args(rng, messages)
        if gen is False:
            args.append("--no-generation-prompt")
        RUN.expect(verbatim, "case %d" % i, args + ["--allow-special"], render(messages, gen))
        count = sum(neutralise(m["content"])[1] for m in messages)
        if count == 0:
            continue
        safe = [dict(m, content=neutralise(m["content"])[0]) for m in messages]
        warning = " %d special-token literal" % count
        RUN.expect(defused, "case %d" % i, args, render(safe, gen),
                   also=lambda err, i=i, w=warning: defused.eq("case %d warning" % i, True,
                                                                w in err))
    RUN.flush()
    verbatim.report()
    defused.report()


def stdin_tests(rng, n):
    c = Check("prompt-oracle-stdin")
    for i in range(n):
        q = random_text(rng, False)
        for ending in ["", "\n", "\r\n"]:
            system = random_text(rng, False)
            text = q + ending
            # one line ending is dropped from the end of stdin
            content = text
            if content.endswith("\n"):
                content = content[:-2] if content.endswith("\r\n") else content[:-1]
            want = render([{"role": "system", "content": system},
                           {"role": "user", "content": content}], None)
            RUN.expect(c, "case %d" % i, ["-s", system, "--allow-special"], want, text.encode())
    RUN.flush()
    c.report()


def batch_tests(rng, n):
    c = Check("prompt-oracle-batch")
    for i in range(n):
        qs = [random_text(rng, False) for _ in range(rng.randrange(0, 6))]
        system = rng.choice([None, "Be brief."])
        pre = [] if system is None else [{"role": "system", "content": system}]
        args = [] if system is None else ["-s", system]
        # -l: one question a line, empty lines skipped, a final newline optional
        lines = [q.replace("\n", " ").replace("\r", " ") for q in qs]
        want = "".join(render(pre + [{"role": "user", "content": q}], None) + "\0"
                       for q in lines if q)
        text = "\n".join(lines) + rng.choice(["", "\n"])
        RUN.expect(c, "-l case %d" % i, args + ["-l", "--allow-special"], want, text.encode())
        # -0: NUL-terminated (or separated) questions, newlines kept
        want = "".join(render(pre + [{"role": "user", "content": q}], None) + "\0"
                       for q in qs if q)
        text = "\0".join(qs) + rng.choice(["", "\0"])
        RUN.expect(c, "-0 case %d" % i, args + ["-0", "--allow-special"], want, text.encode())
    RUN.flush()
    c.report()


# ---- web search ----------------------------------------------------------

FIELD_KEYS = {
    "title": ["title", "name"],
    "date": ["date", "datePublished", "published_date", "publishedDate", "publishedAt",
             "published"],
    "content": ["content", "text", "snippet", "description", "body"],
    "url": ["url", "link", "href"],
    "site": ["site", "siteName", "site_name", "source"],
}
LABELS = [("title", "标题："), ("date", "文章发布时间："), ("content", "内容："),
          ("url", "来源网站网址："), ("site", "来源网站的网站名：")]


def random_reference(rng, specials):
    ref, entry = {}, {"id": rng.randrange(100), "dateLastCrawled": "2025-01-01"}
    for field, keys in FIELD_KEYS.items():
        if field != "content" and rng.random() < 0.3:
            continue
        value = random_text(rng, specials)
        if field == "content" and not value:
            value = "x"
        entry[rng.choice(keys)] = value
        if value:
            ref[field] = value
    return ref, entry


def layout(refs):
    """The recommended {references} layout (references_example.txt)."""
    blocks = []
    for i, ref in enumerate(refs, 1):
        lines = ["##参考文章%d" % i] + [label + ref[f] for f, label in LABELS if f in ref]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def has_han(text):
    blocks = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x323AF), (0xF900, 0xFAFF),
              (0x2F800, 0x2FA1F)]
    return any(lo <= ord(ch) <= hi and unicodedata.category(ch) == "Lo"
               for ch in text for lo, hi in blocks)


def wrap(rng, entries):
    shape = rng.choice(["list", "list", "bing", "results", "references"])
    if shape == "bing":
        return {"_type": "SearchResponse", "webPages": {"value": entries}}
    return entries if shape == "list" else {shape: entries}


def search_tests(rng, n):
    raw, chat = Check("prompt-oracle-search-raw"), Check("prompt-oracle-search-chat")
    for i in range(n):
        specials = rng.random() < 0.3
        allow = not specials or rng.random() < 0.5
        pairs = [random_reference(rng, specials) for _ in range(rng.randrange(0, 5))]
        refs = [r for r, _ in pairs]
        path = write("refs.json", json.dumps(wrap(rng, [e for _, e in pairs]),
                                             ensure_ascii=rng.random() < 0.5))
        question = rng.choice(["周杰伦是谁？", "What is MoE?", random_text(rng, specials)]) or "?"
        date = rng.choice(["2025-07-01 09:30:00, Tuesday, Beijing/China", random_text(rng, False)
                           or "today"])
        lang = rng.choice(["zh", "en", "auto", None])
        args = ["-r", path, "--date", date, "-u", question] + (["--allow-special"] if allow else [])
        if lang:
            args += ["--lang", lang]
        lang = lang if lang in ("zh", "en") else ("zh" if has_han(question) else "en")
        if not allow:
            refs = [{k: neutralise(v)[0] for k, v in r.items()} for r in refs]
            question, date = neutralise(question)[0], neutralise(date)[0]
        filled = WEBSEARCH[lang].format(date=date, references=layout(refs), question=question)
        RUN.expect(raw, "case %d" % i, args + ["--raw"], filled)
        system = rng.choice([None, "You are ERNIE."])
        pre = [] if system is None else [{"role": "system", "content": system}]
        RUN.expect(chat, "case %d" % i, (["-s", system] if system else []) + args,
                   render(pre + [{"role": "user", "content": filled}], None))
    RUN.flush()
    raw.report()
    chat.report()


def model_dir_tests():
    """A model's own cls_token/sep_token reach the template, as in Hugging Face."""
    c = Check("prompt-oracle-model-tokens")
    d = os.path.join(TMP, "model")
    os.makedirs(d, exist_ok=True)
    cfg = dict(config, cls_token="<cls>", sep_token={"content": "<sep>", "lstrip": False})
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f)
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                {"role": "user", "content": "and?"}]
    want = TEMPLATE.render(messages=messages, add_generation_prompt=True, cls_token="<cls>",
                           sep_token="<sep>")
    RUN.expect(c, "model tokens", ["-m", d, "-u", "hi", "-a", "yo", "-u", "and?"], want,
               also=lambda err: c.eq("no warning for the known template", "", err))
    RUN.flush()
    c.report()


# ---- ERNIE-4.5-21B-A3B-Thinking ------------------------------------------

def hf_tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    """transformers' tojson filter: json.dumps, keys in order, no HTML escaping."""
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


ENV.filters["tojson"] = hf_tojson
with open(os.path.join(DATA, "..", "thinking", "chat_template.jinja"), encoding="utf-8",
          newline="") as f:
    THINKING = ENV.from_string(f.read())
MARKERS = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<response>", "</response>",
           "<tool_call>", "</tool_call>", "<tool_output>", "</tool_output>"]
THINKING_SPECIALS = SPECIALS | set(MARKERS)
THINKING_PIECES = MARKERS + ["\n</think>\n\n", "<think>\n", "\n\n", "<tool_output>x</tool_output>"]


def random_value(rng, specials, depth=0):
    """A JSON value: strings, numbers of every shape json.dumps writes, nesting."""
    r = rng.random()
    if depth < 3 and r < 0.15:
        return [random_value(rng, specials, depth + 1) for _ in range(rng.randrange(0, 4))]
    if depth < 3 and r < 0.3:
        return random_object(rng, specials, depth + 1)
    if r < 0.4:
        return rng.choice([0, -1, 7, 10 ** 20, -(10 ** 30)])
    if r < 0.5:
        return rng.choice([0.5, -2.25, 1e5, 1e16, 1.5e-7, 123456789.125, 1e300, 0.1 + 0.2,
                           -0.0, 1.0, 3e-5, 1e-4])
    if r < 0.55:
        return rng.choice([True, False, None])
    return random_thinking_text(rng, specials)


def random_object(rng, specials, depth=0):
    return {random_thinking_text(rng, specials) or "k": random_value(rng, specials, depth)
            for _ in range(rng.randrange(0, 4))}


def random_thinking_text(rng, specials):
    text = random_text(rng, specials)
    if specials and rng.random() < 0.3:
        text += rng.choice(THINKING_PIECES) + random_text(rng, False)
    return text


def random_tool(rng, specials):
    fn = {"name": random_thinking_text(rng, specials) or "f"}
    if rng.random() < 0.8:
        fn["description"] = random_thinking_text(rng, specials)
    if rng.random() < 0.8:
        fn["parameters"] = {"type": "object", "properties": random_object(rng, specials),
                            "required": [random_thinking_text(rng, specials)]}
    return {"type": "function", "function": fn} if rng.random() < 0.8 else {"function": fn}


def random_call(rng, specials):
    args = random_object(rng, specials)
    if rng.random() < 0.3:
        args = rng.choice([json.dumps(args, ensure_ascii=False), random_thinking_text(rng, specials)])
    call = {"name": random_thinking_text(rng, specials) or "f", "arguments": args}
    return {"type": "function", "id": "c1", "function": call} if rng.random() < 0.7 else call


def random_thinking_message(rng, specials, first):
    role = rng.choice(["system"] * (4 if first else 1) + ["user"] * 3 + ["assistant"] * 3 +
                      ["tool"] * 3)
    m = {"role": role, "content": random_thinking_text(rng, specials)}
    if role == "user" and rng.random() < 0.2:
        m["content"] = "<tool_output>" + m["content"] + "</tool_output>"
    if role == "assistant":
        if rng.random() < 0.4:
            m["content"] = (random_thinking_text(rng, specials) + rng.choice(["", "\n", "<think>\n"]) +
                            random_thinking_text(rng, specials) + "\n</think>" +
                            rng.choice(["", "\n", "\n\n\n"]) + m["content"])
        if rng.random() < 0.3:
            m["thoughts"] = random_thinking_text(rng, specials) + rng.choice(["", "\n"])
        if rng.random() < 0.4:
            m["tool_calls"] = [random_call(rng, specials) for _ in range(rng.randrange(1, 4))]
            if rng.random() < 0.15:
                m["content"] = None
            elif rng.random() < 0.15:
                del m["content"]
    return m


def thinking_split(m):
    """prompt_thinking_split: an assistant's reasoning moved into "thoughts"."""
    content = m.get("content") or ""
    if m["role"] != "assistant" or isinstance(m.get("thoughts"), str) or "</think>" not in content:
        return m
    reasoning = content.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
    return dict(m, thoughts=reasoning, content=content.split("</think>")[-1].lstrip("\n"))


def neutralise_all(x):
    """Every string of a JSON value neutralised (keys too), Thinking markers included."""
    if isinstance(x, str):
        return neutralise(x, THINKING_SPECIALS)[0]
    if isinstance(x, list):
        return [neutralise_all(v) for v in x]
    if isinstance(x, dict):
        return {neutralise_all(k): neutralise_all(v) for k, v in x.items()}
    return x


def as_flow_yaml(messages):
    """Block YAML at the top, JSON (YAML flow) values."""
    return "".join("- " + "\n  ".join("%s: %s" % (k, json.dumps(v, ensure_ascii=False))
                                      for k, v in m.items()) + "\n" for m in messages)


def thinking_tests(rng, n):
    verbatim, defused = Check("prompt-oracle-thinking-jinja2"), Check("prompt-oracle-thinking-neutralised")
    for i in range(n):
        specials = rng.random() < 0.4
        messages = [random_thinking_message(rng, specials, k == 0)
                    for k in range(rng.randrange(1, 8))]
        tools = [random_tool(rng, specials) for _ in range(rng.randrange(0, 4))] \
            if rng.random() < 0.5 else None
        form = rng.choice(["json", "json-ascii", "yaml", "openai", "args"])
        flag = {"system": "-s", "user": "-u", "assistant": "-a"}
        if form == "args" and any(m["role"] != "system" for m in messages) and \
                all(set(m) == {"role", "content"} and m["role"] in flag for m in messages):
            args = [a for m in messages for a in (flag[m["role"]], m["content"])]
        elif form == "yaml":
            args = ["-c", write("conv.yaml", as_flow_yaml(messages))]
        elif form == "openai":
            args = ["-c", write("conv.json", json.dumps({"model": "ernie", "messages": messages}))]
        else:
            args = ["-c", write("conv.json", json.dumps(messages, ensure_ascii=form == "json-ascii"))]
        args = ["--template-name", "thinking"] + args
        if tools is not None:
            body = tools if rng.random() < 0.5 else {"model": "ernie", "tools": tools}
            if rng.random() < 0.6:
                tools_path = write("tools.json", json.dumps(body, ensure_ascii=rng.random() < 0.5))
            elif isinstance(body, list):
                tools_path = write("tools.yaml", "".join("- %s\n" % json.dumps(t) for t in body)
                                   or "[]\n")
            else:
                tools_path = write("tools.yaml", as_flow_yaml([body])[2:].replace("\n  ", "\n"))
            args += ["--tools", tools_path]
        RUN.expect(verbatim, "case %d" % i, args + ["--allow-special"],
                   THINKING.render(messages=messages, tools=tools))
        split = [thinking_split(m) for m in messages]
        safe, safe_tools = neutralise_all(split), neutralise_all(tools)
        if safe == split and safe_tools == tools:
            continue
        RUN.expect(defused, "case %d" % i, args, THINKING.render(messages=safe, tools=safe_tools),
                   also=lambda err, i=i: defused.eq("case %d warning" % i, True,
                                                    "special-token literal" in err))
    RUN.flush()
    verbatim.report()
    defused.report()


def thinking_search_tests(rng, n):
    """Web search with the Thinking template: the filled prompt is the user turn."""
    c = Check("prompt-oracle-thinking-search")
    for i in range(n):
        pairs = [random_reference(rng, True) for _ in range(rng.randrange(0, 4))]
        path = write("refs.json", json.dumps([e for _, e in pairs]))
        question = rng.choice(["周杰伦是谁？", "What is MoE?", random_text(rng, True)]) or "?"
        # the Thinking markers are neutralised in references too
        refs = [neutralise_all(r) for r, _ in pairs]
        safe_q = neutralise_all(question)
        lang = "zh" if has_han(safe_q) else "en"
        filled = WEBSEARCH[lang].format(date="d", references=layout(refs), question=safe_q)
        RUN.expect(c, "case %d" % i, ["--template-name", "thinking", "-r", path, "--date", "d",
                                      "-u", question],
                   THINKING.render(messages=[{"role": "user", "content": filled}]))
    RUN.flush()
    c.report()


def main():
    rng = random.Random(SEED)
    try:
        chat_tests(rng, 300)
        stdin_tests(rng, 10)
        batch_tests(rng, 15)
        search_tests(rng, 100)
        model_dir_tests()
        thinking_tests(rng, 400)
        thinking_search_tests(rng, 40)
    finally:
        shutil.rmtree(TMP)


main()
