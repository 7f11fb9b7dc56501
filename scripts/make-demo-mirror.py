#!/usr/bin/env python3
"""Write the offline demo mirror: three tiny artifacts, byte-identical everywhere.

usage: scripts/make-demo-mirror.py OUT

OUT gets the mirror layout of SPEC.md section 4:
    OUT/sha256/<hex>     each artifact, named by the sha256 of its bytes
    OUT/index.yaml       sha256, size, filename, recipe, version, urls
    OUT/recipes/         the demo recipe set (share/mambaboot/demo/recipes)
    OUT/patches/         (empty: the demo needs none)
and prints "<sha256>  <size>  <filename>" for each artifact, which must match
share/mambaboot/demo/recipes/mbdemo-*.yaml (tests/integration/demo_mirror.sh
checks it).

The artifacts:
    mbdemo-data-1.0-0.tar.bz2           noarch conda package; a text file holding
                                        the prefix placeholder (text mode)
    mbdemo_hello-1.0-py3-none-any.whl   pure-Python wheel, console script
                                        `mbdemo-hello`, a correct RECORD
    mbdemo-tool-1.0.tar.gz              C source + Makefile installing
                                        $PREFIX/bin/mbdemo-tool

Determinism (same bytes on any machine and Python >= 3.6): every archive
member has a fixed mtime, uid/gid 0, empty owner names, fixed modes and a
fixed order; tars are USTAR (no PAX headers), written by this script
because tarfile's headers changed between Python versions; zip members are ZIP_STORED with
a fixed date_time and create_system.  bz2 comes from the bz2 module
(libbzip2's output has not changed in decades).  The .tar.gz is written as a
gzip member with mtime 0 whose deflate stream uses *stored* blocks, built
here: zlib's compressed output differs between zlib and zlib-ng (which some
distributions ship as libz), so compressed deflate would not be
byte-identical everywhere.  Python 3 standard library only.
"""
import bz2
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import zipfile
import zlib
import base64

MTIME = 1704067200  # 2024-01-01T00:00:00Z, for every archive member
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
URL_BASE = "https://demo.mambaboot.invalid/"
PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def _octal(value, width):
    return ("%0*o" % (width - 1, value)).encode() + b"\0"


def _ustar_header(path, mode, size, typeflag):
    name = path.encode()
    if len(name) > 100:
        raise ValueError("name too long for this writer: " + path)
    head = (name.ljust(100, b"\0") + _octal(mode, 8) + _octal(0, 8) + _octal(0, 8)
            + _octal(size, 12) + _octal(MTIME, 12) + b" " * 8 + typeflag
            + b"\0" * 100 + b"ustar\0" + b"00" + b"\0" * 32 + b"\0" * 32
            + _octal(0, 8) + _octal(0, 8) + b"\0" * 155 + b"\0" * 12)
    chksum = ("%06o" % sum(head)).encode() + b"\0 "
    return head[:148] + chksum + head[156:]


def tar_bytes(members):
    """members: list of (path, mode, bytes) in archive order; dirs end in '/'.

    A USTAR writer of its own: tarfile's headers differ between Python
    versions (devmajor/devminor are "0000000" before 3.9, NULs after)."""
    out = bytearray()
    for path, mode, data in members:
        if path.endswith("/"):
            out += _ustar_header(path, mode, 0, b"5")
            continue
        out += _ustar_header(path, mode, len(data), b"0")
        out += data + b"\0" * (-len(data) % 512)
    out += b"\0" * 1024
    out += b"\0" * (-len(out) % 10240)  # a whole record, as tar(1) writes
    return bytes(out)


def gzip_stored(data):
    """A gzip member (RFC 1952, mtime 0, no name) holding stored deflate blocks."""
    out = bytearray(b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff")
    if not data:
        out += b"\x01\x00\x00\xff\xff"
    for off in range(0, len(data), 65535):
        chunk = data[off:off + 65535]
        final = 1 if off + 65535 >= len(data) else 0
        out += bytes([final]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF)
        out += chunk
    out += struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return bytes(out)


# ---- the conda package ----

def conda_data():
    name, version, build = "mbdemo-data", "1.0", "0"
    text_path = "share/mbdemo/where.txt"
    text = ("mbdemo-data is installed in %s\n"
            "(conda rewrites the placeholder above to the prefix)\n" % PLACEHOLDER).encode()
    index = {
        "arch": None,
        "build": build,
        "build_number": 0,
        "depends": [],
        "license": "CC0-1.0",
        "name": name,
        "noarch": "generic",
        "platform": None,
        "subdir": "noarch",
        "timestamp": MTIME * 1000,
        "version": version,
    }
    paths = {
        "paths": [{
            "_path": text_path,
            "file_mode": "text",
            "path_type": "hardlink",
            "prefix_placeholder": PLACEHOLDER,
            "sha256": sha256(text),
            "size_in_bytes": len(text),
        }],
        "paths_version": 1,
    }

    def js(obj):
        return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()

    members = [
        ("info/", 0o755, None),
        ("info/files", 0o644, (text_path + "\n").encode()),
        ("info/has_prefix", 0o644, ("%s text %s\n" % (PLACEHOLDER, text_path)).encode()),
        ("info/index.json", 0o644, js(index)),
        ("info/paths.json", 0o644, js(paths)),
        ("share/", 0o755, None),
        ("share/mbdemo/", 0o755, None),
        (text_path, 0o644, text),
    ]
    data = bz2.compress(tar_bytes(members), 9)
    return "%s-%s-%s.tar.bz2" % (name, version, build), name, version, data


# ---- the wheel ----

def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def wheel_hello():
    dist, version = "mbdemo_hello", "1.0"
    info = "%s-%s.dist-info" % (dist, version)
    files = [
        ("mbdemo_hello/__init__.py",
         b'"""mbdemo-hello: the demo wheel of mambaboot."""\n\n\n'
         b"def main():\n"
         b'    print("hello from mbdemo-hello 1.0")\n'
         b"    return 0\n"),
        (info + "/METADATA",
         b"Metadata-Version: 2.1\nName: mbdemo-hello\nVersion: 1.0\n"
         b"Summary: mambaboot demo wheel (prints a greeting)\nLicense: CC0-1.0\n"
         b"Requires-Python: >=3.8\n"),
        (info + "/WHEEL",
         b"Wheel-Version: 1.0\nGenerator: make-demo-mirror.py\n"
         b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (info + "/entry_points.txt",
         b"[console_scripts]\nmbdemo-hello = mbdemo_hello:main\n"),
        (info + "/top_level.txt", b"mbdemo_hello\n"),
    ]
    record = "".join("%s,%s,%d\n" % (p, record_hash(d), len(d)) for p, d in files)
    record += info + "/RECORD,,\n"
    files.append((info + "/RECORD", record.encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for path, data in files:
            zi = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_STORED
            zi.create_system = 3  # Unix, so external_attr carries the mode
            zi.external_attr = (0o100644 << 16)
            zf.writestr(zi, data)
    return "%s-%s-py3-none-any.whl" % (dist, version), "mbdemo-hello", version, buf.getvalue()


# ---- the source tarball ----

def source_tool():
    top = "mbdemo-tool-1.0/"
    c_src = (b"/* mbdemo-tool: the demo source build of mambaboot. */\n"
             b"#include <stdio.h>\n\n"
             b"int main(void)\n{\n"
             b'\tputs("mbdemo-tool 1.0: built from source by mambaboot");\n'
             b"\treturn 0;\n}\n")
    makefile = (b"# Builds and installs $(PREFIX)/bin/mbdemo-tool.\n"
                b"PREFIX ?= /usr/local\n"
                b"CC ?= cc\n"
                b"CFLAGS ?= -O2\n\n"
                b"all: mbdemo-tool\n\n"
                b"mbdemo-tool: mbdemo-tool.c\n"
                b"\t$(CC) $(CFLAGS) -o mbdemo-tool mbdemo-tool.c\n\n"
                b"install: mbdemo-tool\n"
                b"\tmkdir -p $(DESTDIR)$(PREFIX)/bin\n"
                b"\tcp mbdemo-tool $(DESTDIR)$(PREFIX)/bin/mbdemo-tool\n"
                b"\tchmod 755 $(DESTDIR)$(PREFIX)/bin/mbdemo-tool\n\n"
                b".PHONY: all install\n")
    readme = b"mbdemo-tool 1.0: `make && make install PREFIX=...`\n"
    members = [
        (top, 0o755, None),
        (top + "Makefile", 0o644, makefile),
        (top + "README", 0o644, readme),
        (top + "mbdemo-tool.c", 0o644, c_src),
    ]
    return "mbdemo-tool-1.0.tar.gz", "mbdemo-tool", "1.0", gzip_stored(tar_bytes(members))


# ---- the mirror ----

def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: make-demo-mirror.py OUT\n")
        return 2
    out = argv[1]
    artifacts = [conda_data(), wheel_hello(), source_tool()]
    os.makedirs(os.path.join(out, "sha256"), exist_ok=True)
    os.makedirs(os.path.join(out, "patches"), exist_ok=True)
    index = ["# mambaboot mirror index (SPEC.md section 4), written by",
             "# scripts/make-demo-mirror.py", "artifacts:"]
    for filename, recipe, version, data in artifacts:
        hexd = sha256(data)
        write_bytes(os.path.join(out, "sha256", hexd), data)
        index += ["  - sha256: " + hexd,
                  "    size: %d" % len(data),
                  "    filename: " + filename,
                  "    recipe: " + recipe,
                  '    version: "%s"' % version,
                  "    urls: [%s%s]" % (URL_BASE, filename)]
        print("%s  %d  %s" % (hexd, len(data), filename))
    write_bytes(os.path.join(out, "index.yaml"), ("\n".join(index) + "\n").encode())
    here = os.path.dirname(os.path.abspath(__file__))
    recipes = os.path.join(here, "..", "share", "mambaboot", "demo", "recipes")
    if os.path.isdir(recipes):
        dest = os.path.join(out, "recipes")
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        shutil.copytree(recipes, dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
