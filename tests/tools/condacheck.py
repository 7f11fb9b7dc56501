#!/usr/bin/env python3
"""condacheck.py PKG PREFIX PYXY: every payload member of a conda package is in
the prefix as the archive has it: regular files with the same bytes (unless
paths.json gives them a placeholder) and exec bit, symlinks with the same
target.  noarch: python paths are mapped.  Prints problems; exit 1 if any."""
import io, json, os, subprocess, sys, tarfile, zipfile

pkg, prefix, xy = sys.argv[1:4]

def tars():
    if pkg.endswith(".tar.bz2"):
        yield tarfile.open(pkg)
        return
    with zipfile.ZipFile(pkg) as z:
        for n in z.namelist():
            base = n.rsplit("/", 1)[-1]
            if base.startswith(("pkg-", "info-")) and ".tar" in base:
                raw = subprocess.run(["zstd", "-d", "-q", "-c"], input=z.read(n),
                                     stdout=subprocess.PIPE, check=True).stdout
                yield tarfile.open(fileobj=io.BytesIO(raw))

members, info = {}, {}
for t in tars():
    for m in t.getmembers():
        name = m.name[2:] if m.name.startswith("./") else m.name
        if name.startswith("info/"):
            if m.isreg():
                info[name] = t.extractfile(m).read()
        else:
            members[name] = (m, t.extractfile(m).read() if m.isreg() else None)
index = json.loads(info.get("info/index.json", b"{}"))
link = json.loads(info.get("info/link.json", b"{}"))
noarch = index.get("noarch") if isinstance(index.get("noarch"), str) else (link.get("noarch") or {}).get("type")
paths = json.loads(info["info/paths.json"])["paths"] if "info/paths.json" in info else []
relocated = {p["_path"] for p in paths if p.get("prefix_placeholder")}
listed = {p["_path"] for p in paths} or None

def dest(p):
    if noarch == "python" and p.startswith("site-packages/"):
        return f"lib/python{xy}/{p}"
    if noarch == "python" and p.startswith("python-scripts/"):
        return "bin/" + p[len("python-scripts/"):]
    return p

bad = 0
for name, (m, data) in sorted(members.items()):
    if m.isdir() or (listed is not None and name not in listed):
        continue
    full = os.path.join(prefix, dest(name))
    if m.issym():
        ok = os.path.islink(full) and os.readlink(full) == m.linkname
    elif m.isreg() or m.islnk():
        if m.islnk():
            data = members.get(m.linkname, (None, b""))[1]
        ok = os.path.isfile(full) and not os.path.islink(full)
        if ok and name not in relocated:
            ok = open(full, "rb").read() == data
        if ok and m.isreg():
            ok = bool(os.stat(full).st_mode & 0o111) == bool(m.mode & 0o111)
    else:
        continue
    if not ok:
        bad += 1
        print("mismatch:", name)
sys.exit(1 if bad else 0)
