"""Helpers for tests/t-run.sh (run with /usr/bin/python3; numpy).

  compare OUT GOLDEN T [ROWS]  OUT holds ELOG frames; frame i must match row
                               ROWS[i] (default i) of GOLDEN ([T][V] float32)
                               within 5e-4 with the same argmax ($RUN_TOL,
                               $RUN_ARGMAX=0 for bf16 arithmetic)
  top OUT GOLDEN T K ROW       OUT is one ETOP frame: the K largest of row ROW
  greedy BIN DIR PROMPT N      drive `BIN -m DIR` through pipes: the prompt,
                               then N argmax tokens fed back one at a time
                               (--precision $RUN_PRECISION, default f32;
                               more options in $RUN_FLAGS)
  shard SRC DST N              split SRC/model.safetensors into N shards + index
  corrupt SRC DST KIND         a copy of SRC with one defect (see CORRUPTIONS)
  frames OUT                   print the magic and count of every frame
  pcfix FILE                   rewrite a prompt cache file's checksum (after
                               a deliberate change, to test what comes after it)
  raw OUT DST                  the ELOG frames of OUT as one [T][V] float32 file
"""
import json
import os
import shutil
import struct
import subprocess
import sys

TOL = float(os.environ.get("RUN_TOL", "5e-4"))
ARGMAX = os.environ.get("RUN_ARGMAX", "1") == "1"


def frames(data):
    out, off = [], 0
    while off < len(data):
        magic, n = data[off:off + 4].decode(), struct.unpack_from("<I", data, off + 4)[0]
        size = n * (8 if magic == "ETOP" else 4)
        out.append((magic, data[off + 8:off + 8 + size]))
        off += 8 + size
    return out


def compare(out, golden, t, rows=None):
    import numpy as np  # only here: it is slow to import
    g = np.fromfile(golden, dtype="<f4").reshape(int(t), -1)
    fr = frames(open(out, "rb").read())
    rows = [int(r) for r in rows.split(",")] if rows else list(range(len(g)))
    if len(fr) != len(rows):
        sys.exit(f"{len(fr)} frames, expected {len(rows)}")
    worst = 0.0
    for i, (magic, payload) in enumerate(fr):
        x = np.frombuffer(payload, dtype="<f4")
        if magic != "ELOG" or x.shape != g[rows[i]].shape:
            sys.exit(f"frame {i}: {magic} of {x.size} values")
        d = float(np.max(np.abs(x - g[rows[i]])))
        worst = max(worst, d)
        if not d <= TOL or (ARGMAX and int(np.argmax(x)) != int(np.argmax(g[rows[i]]))):
            sys.exit(f"frame {i} (row {rows[i]}): max |diff| {d:.3g}, argmax "
                     f"{np.argmax(x)} vs {np.argmax(g[rows[i]])}")
    print(f"max |diff| {worst:.3g}")


def top(out, golden, t, k, row):
    import numpy as np
    g = np.fromfile(golden, dtype="<f4").reshape(int(t), -1)[int(row)]
    fr = frames(open(out, "rb").read())
    k = int(k)
    if len(fr) != 1 or fr[0][0] != "ETOP" or len(fr[0][1]) != 8 * k:
        sys.exit(f"expected one ETOP frame of {k}")
    pairs = np.frombuffer(fr[0][1], dtype=[("id", "<i4"), ("v", "<f4")])
    want = np.argsort(-g, kind="stable")[:k]
    if list(pairs["id"]) != list(want):
        sys.exit(f"ids {list(pairs['id'])}, expected {list(want)}")
    if not np.max(np.abs(pairs["v"] - g[want])) <= TOL:
        sys.exit("values differ")


def raw(out, dst):
    with open(dst, "wb") as f:
        for magic, payload in frames(open(out, "rb").read()):
            f.write(payload)


def pc_hash(h, data):
    """lib/model/promptcache.c's hash: FNV-1a, 8 bytes a step"""
    m = (1 << 64) - 1
    n8 = len(data) // 8 * 8
    for (w,) in struct.iter_unpack("<Q", data[:n8]):
        h = ((h ^ w) * 0x100000001b3) & m
        h ^= h >> 32
    for b in data[n8:]:
        h = ((h ^ b) * 0x100000001b3) & m
    return h


def pcfix(path):
    data = bytearray(open(path, "rb").read())
    h = pc_hash(pc_hash(0xcbf29ce484222325, bytes(data[:56])), bytes(data[64:]))
    data[56:64] = struct.pack("<Q", h)
    open(path, "wb").write(data)


def read_frame(f):
    import numpy as np
    head = f.read(8)
    n = struct.unpack("<I", head[4:])[0]
    return np.frombuffer(f.read(4 * n), dtype="<f4")


def greedy(binary, model, prompt, n):
    import numpy as np
    p = subprocess.Popen([binary, "-m", model, "--precision",
                          os.environ.get("RUN_PRECISION", "f32")] +
                         os.environ.get("RUN_FLAGS", "").split(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write((prompt.replace(",", " ") + "\n").encode())
    p.stdin.flush()
    got = []
    for _ in range(int(n)):
        tok = int(np.argmax(read_frame(p.stdout)))
        got.append(tok)
        p.stdin.write(f"{tok}\n".encode())
        p.stdin.flush()
    p.stdin.close()
    p.wait()
    print(" ".join(map(str, got)))


def read_st(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def write_st(path, header, body):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + body)


def copy_dir(src, dst):
    os.makedirs(dst, exist_ok=True)
    for f in ("config.json",):
        shutil.copy(os.path.join(src, f), dst)


def shard(src, dst, n):
    header, body = read_st(os.path.join(src, "model.safetensors"))
    copy_dir(src, dst)
    names = [k for k in header if k != "__metadata__"]
    n = int(n)
    weight_map = {}
    for s in range(n):
        fname = f"model-{s + 1:05d}-of-{n:05d}.safetensors"
        part, hdr, off = names[s::n], {}, 0
        chunks = []
        for k in part:
            b, e = header[k]["data_offsets"]
            hdr[k] = dict(header[k], data_offsets=[off, off + e - b])
            chunks.append(body[b:e])
            off += e - b
            weight_map[k] = fname
        write_st(os.path.join(dst, fname), hdr, b"".join(chunks))
    json.dump({"metadata": {"total_size": len(body)}, "weight_map": weight_map},
              open(os.path.join(dst, "model.safetensors.index.json"), "w"), indent=2)


def first(header, suffix):
    return next(k for k in sorted(header) if k.endswith(suffix))


def corrupt(src, dst, kind):
    header, body = read_st(os.path.join(src, "model.safetensors"))
    copy_dir(src, dst)
    cfg = json.load(open(os.path.join(src, "config.json")))
    q = first(header, "layers.0.self_attn.q_proj.weight")
    if kind == "offsets-past-end":
        header[q]["data_offsets"][1] = len(body) + 2
    elif kind == "offsets-reversed":
        b, e = header[q]["data_offsets"]
        header[q]["data_offsets"] = [e, b]
    elif kind == "offsets-short":
        header[q]["data_offsets"][1] -= 2
    elif kind == "dtype-wrong":
        header[q]["dtype"] = "F32"
    elif kind == "dtype-unknown":
        header[q]["dtype"] = "Q4_K"
    elif kind == "dtype-int":
        header[q]["dtype"] = "I16"
    elif kind == "missing-tensor":
        del header["model.norm.weight"]
    elif kind == "shape-mismatch":
        r, c = header[q]["shape"]
        header[q]["shape"] = [r // 2, c * 2]
    elif kind == "bad-json":
        open(os.path.join(dst, "model.safetensors"), "wb").write(
            struct.pack("<Q", 8) + b'{"a": [1' + body)
        return
    elif kind == "config-layers":
        cfg["num_hidden_layers"] -= 1
    elif kind == "config-hidden":
        cfg["hidden_size"] *= 2
    elif kind == "config-moe-end":
        cfg["moe_layer_end_index"] = 2
    elif kind == "config-vl":
        cfg["moe_num_experts"] = [cfg.get("moe_num_experts", 8), 8]
    elif kind == "config-rope-scaling":
        cfg["rope_scaling"] = {"type": "yarn", "factor": 4.0}
    elif kind == "config-untied":
        cfg["tie_word_embeddings"] = False
    else:
        sys.exit(f"unknown corruption {kind}")
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"))
    write_st(os.path.join(dst, "model.safetensors"), header, body)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "frames":
        for magic, payload in frames(open(args[0], "rb").read()):
            print(magic, len(payload) // (8 if magic == "ETOP" else 4))
        return
    {"compare": compare, "top": top, "greedy": greedy, "raw": raw, "pcfix": pcfix, "shard": shard,
     "corrupt": corrupt}[cmd](*args)


if __name__ == "__main__":
    main()
