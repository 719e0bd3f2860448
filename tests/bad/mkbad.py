#!/usr/bin/python3
"""Make the broken inputs of the bad-input table (tests/bad/*.tsv).

  mkbad.py st KIND DIR     a copy of the tiny-dense golden model in DIR with
                           its model.safetensors (or config.json) broken as KIND says
  mkbad.py spm KIND FILE   a broken copy of the ernie-like-a tokenizer.model
  mkbad.py gguf KIND FILE  the tiny-dense golden model as GGUF (bench/gguf.py),
                           truncated or lying as KIND says

Writes nothing on stdout: the table checks the programs' output alone.
"""
import json
import os
import shutil
import struct
import sys

DATA = os.environ.get('DATA', 'tests/data')
GOLD = DATA + '/golden/tiny-dense'


def header(blob):
    n = struct.unpack('<Q', blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def pack(hdr, data):
    h = json.dumps(hdr).encode()
    h += b' ' * (-len(h) % 8)          # keep the data 8-byte aligned
    return struct.pack('<Q', len(h)) + h + data


def st(kind, d):
    os.makedirs(d, exist_ok=True)
    cfg = json.load(open(GOLD + '/config.json'))
    blob = open(GOLD + '/model.safetensors', 'rb').read()
    hdr, data = header(blob)
    n = struct.unpack('<Q', blob[:8])[0]
    emb, norm = 'model.embed_tokens.weight', 'model.norm.weight'
    if kind == 'trunc-len':             # inside the 8-byte header length
        blob = blob[:5]
    elif kind == 'trunc-json':          # inside the JSON header
        blob = blob[:8 + n // 2]
    elif kind == 'trunc-data':          # inside the data
        blob = blob[:len(blob) - 1000]
    elif kind == 'len-2e63':
        blob = struct.pack('<Q', 1 << 63) + blob[8:]
    elif kind == 'overlap':             # norm's range overlaps the embeddings
        hdr[norm]['data_offsets'] = [64, 192]
    elif kind == 'backwards':
        b, e = hdr[norm]['data_offsets']
        hdr[norm]['data_offsets'] = [e, b]
    elif kind == 'past-end':
        b, e = hdr[norm]['data_offsets']
        hdr[norm]['data_offsets'] = [b + 1000, e + 1000]
    elif kind == 'dtype':
        hdr[norm]['dtype'] = 'Q4_K'
    elif kind == 'size':                # the shape needs 2 bytes fewer than the range
        hdr[norm]['shape'] = [hdr[norm]['shape'][0] - 1]
    elif kind == 'shape':               # config.json says otherwise
        cfg['intermediate_size'] = 128
    elif kind == 'missing':
        hdr['model.norm.bias'] = hdr.pop(norm)
    elif kind == 'cfg-negative':
        cfg['vocab_size'] = -1024
    elif kind == 'cfg-zero':
        cfg['num_attention_heads'] = 0
    elif kind == 'cfg-syntax':
        open(d + '/config.json', 'w').write(json.dumps(cfg)[:-10])
    elif kind == 'index-missing-shard':
        json.dump({'weight_map': {emb: 'model-00001-of-00002.safetensors'}},
                  open(d + '/model.safetensors.index.json', 'w'))
    elif kind == 'ids':
        pass                            # a valid copy
    else:
        sys.exit('mkbad.py: unknown kind ' + kind)
    if kind not in ('trunc-len', 'trunc-json', 'trunc-data', 'len-2e63'):
        blob = pack(hdr, data)
    if kind != 'index-missing-shard':
        open(d + '/model.safetensors', 'wb').write(blob)
    if kind != 'cfg-syntax':
        json.dump(cfg, open(d + '/config.json', 'w'))


def varint(b, i):
    v = s = 0
    while True:
        v |= (b[i] & 0x7f) << s
        s += 7
        i += 1
        if not b[i - 1] & 0x80:
            return v, i


def spm(kind, path):
    blob = open(DATA + '/tokenizer/ernie-like-a.model', 'rb').read()
    if kind == 'short':
        blob = blob[:len(blob) // 3]
    elif kind == 'piece-len':           # the first piece's text runs past the end
        # field 1 (pieces, length-delimited) at byte 0 holds a submessage
        # whose field 1 (the piece text) has a length; make that one huge,
        # and the outer length match the longer varint
        outer, i = varint(blob, 1)
        assert blob[0] == 0x0a and blob[i] == 0x0a and outer < 124 and i == 2
        _, j = varint(blob, i + 1)
        grow = 4 - (j - i - 1)
        blob = bytes([0x0a, outer + grow, 0x0a, 0xff, 0xff, 0xff, 0x7f]) + blob[j:]
    else:
        sys.exit('mkbad.py: unknown kind ' + kind)
    open(path, 'wb').write(blob)


def gguf_layout(b):
    """Byte offsets in a GGUF file: {key: (offset of its value type, of its
    value)}, [(name, offset of n_dims, offset of the type)] per tensor, and
    the end of the infos."""
    def string(i):
        n = struct.unpack_from('<Q', b, i)[0]
        return b[i + 8:i + 8 + n].decode(), i + 8 + n
    size = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    nt, nkv = struct.unpack_from('<QQ', b, 8)
    i, kvs, infos = 24, {}, []
    for _ in range(nkv):
        key, i = string(i)
        t = struct.unpack_from('<I', b, i)[0]
        kvs[key] = (i, i + 4)
        i += 4
        if t == 8:
            i = string(i)[1]
        elif t == 9:
            et, n = struct.unpack_from('<IQ', b, i)
            i += 12
            for _ in range(n):
                i = string(i)[1] if et == 8 else i + size[et]
        else:
            i += size[t]
    for _ in range(nt):
        name, i = string(i)
        nd = struct.unpack_from('<I', b, i)[0]
        infos.append((name, i, i + 4 + 8 * nd))
        i += 4 + 8 * nd + 12
    return kvs, infos, i


def gguf(kind, path):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                    'bench'))
    import gguf as writer
    writer.convert(GOLD, path, True)
    b = bytearray(open(path, 'rb').read())
    kvs, infos, end = gguf_layout(b)
    info = dict((n, (d, t)) for n, d, t in infos)

    def put(fmt, off, *v):
        struct.pack_into(fmt, b, off, *v)
    if kind == 'trunc-kv':              # inside the key/values
        b = b[:kvs['tokenizer.ggml.tokens'][1] + 100]
    elif kind == 'trunc-data':          # inside the last tensor's data
        b = b[:len(b) - 1000]
    elif kind == 'magic':
        b[0:4] = b'GGML'
    elif kind == 'version':
        put('<I', 4, 1)
    elif kind == 'kv-count':            # 2^63 key/values
        put('<Q', 16, 1 << 63)
    elif kind == 'tensor-count':
        put('<Q', 8, 1 << 62)
    elif kind == 'string-len':          # the architecture's length past the end
        put('<Q', kvs['general.architecture'][1], 1 << 40)
    elif kind == 'array-count':         # 2^60 tokens
        put('<Q', kvs['tokenizer.ggml.tokens'][1] + 4, 1 << 60)
    elif kind == 'value-type':
        put('<I', kvs['general.name'][0], 99)
    elif kind == 'alignment':
        put('<I', kvs['general.alignment'][1], 24)
    elif kind == 'type':                # q4_1, which ernie does not read
        put('<I', info['output_norm.weight'][1], 3)
    elif kind == 'dims':
        put('<I', info['output_norm.weight'][0], 5)
    elif kind == 'misaligned':
        d, t = info['output_norm.weight']
        put('<Q', t + 4, struct.unpack_from('<Q', b, t + 4)[0] + 4)
    elif kind == 'overlap':             # output_norm at token_embd's offset
        put('<Q', info['output_norm.weight'][1] + 4,
            struct.unpack_from('<Q', b, info['token_embd.weight'][1] + 4)[0])
    elif kind == 'past-end':
        put('<Q', info['output_norm.weight'][1] + 4, len(b))
    elif kind == 'twice':               # general.file_type renamed general.alignment
        i = kvs['general.file_type'][0] - 17
        b[i:i + 17] = b'general.alignment'
    elif kind == 'arch':
        i = kvs['general.architecture'][1]
        b[i + 8:i + 16] = b'llama4_5'
    elif kind == 'shape':               # the metadata says otherwise
        put('<I', kvs['ernie4_5.feed_forward_length'][1], 128)
    else:
        sys.exit('mkbad.py: unknown kind ' + kind)
    open(path, 'wb').write(b)


if __name__ == '__main__':
    {'st': st, 'spm': spm, 'gguf': gguf}[sys.argv[1]](sys.argv[2], sys.argv[3])
