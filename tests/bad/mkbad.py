#!/usr/bin/python3
"""Make the broken inputs of the bad-input table (tests/bad/*.tsv).

  mkbad.py st KIND DIR     a copy of the tiny-dense golden model in DIR with
                           its model.safetensors (or config.json) broken as KIND says
  mkbad.py spm KIND FILE   a broken copy of the ernie-like-a tokenizer.model

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


if __name__ == '__main__':
    {'st': st, 'spm': spm}[sys.argv[1]](sys.argv[2], sys.argv[3])
