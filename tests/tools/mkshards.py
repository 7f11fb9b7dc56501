#!/usr/bin/env python3
"""Write a CEP 16 sharded channel subdir from a repodata.json.

    mkshards.py REPODATA.JSON OUTDIR [--base-url URL]

OUTDIR/repodata_shards.msgpack.zst maps each package name to the sha256 of
its shard, OUTDIR/shards/<hex>.msgpack.zst (sha256 and md5 as raw bytes, as
CEP 16 says).  msgpack is written by the small encoder below (python3-msgpack
need not be installed); zstd by the zstd program.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys


def pack(o):
    if o is None:
        return b"\xc0"
    if o is True or o is False:
        return b"\xc3" if o else b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 128:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack("b", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(o, bytes):
        return b"\xc6" + struct.pack(">I", len(o)) + o
    if isinstance(o, list):
        return b"\xdd" + struct.pack(">I", len(o)) + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        head = bytes([0x80 | len(o)]) if len(o) < 16 else b"\xdf" + struct.pack(">I", len(o))
        return head + b"".join(pack(k) + pack(v) for k, v in o.items())
    raise TypeError(type(o))


def zst(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout


def main():
    src, out = sys.argv[1], sys.argv[2]
    base_url = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--base-url" else "./shards/"
    repodata = json.load(open(src))
    by_name = {}
    for section in ("packages", "packages.conda"):
        for fn, rec in repodata.get(section, {}).items():
            rec = dict(rec)
            for k in ("sha256", "md5"):
                if k in rec:
                    rec[k] = bytes.fromhex(rec[k])
            shard = by_name.setdefault(rec["name"], {"packages": {}, "packages.conda": {}, "removed": []})
            shard[section][fn] = rec
    os.makedirs(os.path.join(out, "shards"), exist_ok=True)
    index = {}
    for name, shard in sorted(by_name.items()):
        data = zst(pack(shard))
        digest = hashlib.sha256(data).digest()
        index[name] = digest
        with open(os.path.join(out, "shards", digest.hex() + ".msgpack.zst"), "wb") as f:
            f.write(data)
    doc = {"version": 1, "info": {"base_url": "./", "shards_base_url": base_url, "subdir": "noarch"},
           "shards": index}
    with open(os.path.join(out, "repodata_shards.msgpack.zst"), "wb") as f:
        f.write(zst(pack(doc)))


main()
