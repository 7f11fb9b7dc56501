#!/usr/bin/env python3
"""Build small conda packages for tests, hostile ones included.

  mkconda.py OUT.tar.bz2|OUT.conda NAME SPEC...

Each SPEC adds one tar member to the payload:
  file:PATH=TEXT          a regular file (mode 0644)
  exe:PATH=TEXT           a regular file (mode 0755)
  suid:PATH=TEXT          a regular file with mode 04755
  link:PATH=TARGET        a symlink
  hard:PATH=TARGET        a hard link
  fifo:PATH               a fifo
  chr:PATH                a character device
  raw:PATH=FILE           a regular file with FILE's bytes
  placeholder:PATH=MODE=PH   the previous member's paths.json entry gets
                          prefix_placeholder PH and file_mode MODE
  nolink:PATH             the previous member's paths.json entry gets
                          "no_link": true
  info:PATH=TEXT          a file in info/ that paths.json does not list
Member names are written exactly as given (absolute paths and .. too).
A .conda is a zip holding info-NAME.tar.zst and pkg-NAME.tar.zst (zstd CLI).
"""
import hashlib, io, json, os, re, subprocess, sys, tarfile, zipfile

def main():
    out, name, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    pkg = io.BytesIO()
    paths, extra_info = [], []
    with tarfile.open(fileobj=pkg, mode="w", format=tarfile.GNU_FORMAT) as t:
        for spec in specs:
            kind, _, rest = spec.partition(":")
            path, _, value = rest.partition("=")
            if kind == "info":
                extra_info.append(("info/" + path, value.encode()))
                continue
            if kind == "nolink":
                paths[-1]["no_link"] = True
                continue
            if kind == "placeholder":
                mode, _, ph = value.partition("=")
                paths[-1].update(file_mode=mode, prefix_placeholder=ph)
                continue
            ti = tarfile.TarInfo(path)
            ti.mtime = 0
            data = b""
            if kind in ("file", "exe", "suid", "raw"):
                data = open(value, "rb").read() if kind == "raw" else value.encode()
                ti.size = len(data)
                ti.mode = {"file": 0o644, "exe": 0o755, "suid": 0o4755, "raw": 0o755}[kind]
            elif kind == "link":
                ti.type, ti.linkname = tarfile.SYMTYPE, value
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, value
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "chr":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            t.addfile(ti, io.BytesIO(data) if data or ti.isreg() else None)
            entry = {"_path": re.sub(r"^(\./)+", "", path), "path_type": "softlink" if kind == "link" else "hardlink",
                     "size_in_bytes": len(data)}
            if kind in ("file", "exe", "suid", "raw"):
                entry["sha256"] = hashlib.sha256(data).hexdigest()
            paths.append(entry)
    info = io.BytesIO()
    with tarfile.open(fileobj=info, mode="w") as t:
        for fname, obj in (("info/index.json", {"name": name, "version": "1.0", "build": "0",
                                                 "build_number": 0, "depends": [], "subdir": "linux-64"}),
                           ("info/paths.json", {"paths_version": 1, "paths": paths})):
            data = json.dumps(obj).encode()
            ti = tarfile.TarInfo(fname); ti.size = len(data); ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
        for fname, data in extra_info:
            ti = tarfile.TarInfo(fname); ti.size = len(data); ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    if out.endswith(".tar.bz2"):
        # one tar: the payload members, then info/
        both = io.BytesIO()
        with tarfile.open(fileobj=both, mode="w:bz2", format=tarfile.GNU_FORMAT) as t:
            for src in (pkg, info):
                src.seek(0)
                with tarfile.open(fileobj=src) as s:
                    for m in s.getmembers():
                        t.addfile(m, s.extractfile(m) if m.isreg() else None)
        open(out, "wb").write(both.getvalue())
        return
    zst = lambda b: subprocess.run(["zstd", "-q", "-c"], input=b, stdout=subprocess.PIPE, check=True).stdout
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
        z.writestr(f"pkg-{name}-1.0-0.tar.zst", zst(pkg.getvalue()))
        z.writestr(f"info-{name}-1.0-0.tar.zst", zst(info.getvalue()))

main()
