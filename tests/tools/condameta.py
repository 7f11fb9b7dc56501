#!/usr/bin/env python3
"""condameta.py REFDIR PREFIX RECORD [PACKAGE [REQUESTED_SPEC]]: a conda-meta
record has the keys of the reference records (conda's and micromamba's, in
REFDIR) with their JSON types, at the top, in each paths_data entry and in
link; and says true things: files and paths_data list the same paths,
sha256_in_prefix and size_in_bytes are those of the files in PREFIX, and
md5, sha256, size are those of PACKAGE.  Prints each problem; exit 1 if any."""
import glob, hashlib, json, os, sys

# Keys only noarch packages have (conda adds them from index.json), and keys
# index.json carries only when the package has them, or null in old ones.
NOARCH_ONLY = {"noarch", "package_type"}
OPTIONAL = {"license_family", "arch", "platform"}
# paths_data entries: relocation and copy flags, only where they apply.
ENTRY_OPTIONAL = {"file_mode", "prefix_placeholder", "no_link"}

def jtype(v):
    return {dict: "object", list: "array", str: "string", bool: "bool",
            int: "integer", float: "number", type(None): "null"}[type(v)]

def shape(objs, skip):
    """key -> the set of types the reference gives it (null: may be null)."""
    out = {}
    for o in objs:
        for k, v in o.items():
            if k not in skip:
                out.setdefault(k, set()).add(jtype(v))
    return out

def compare(where, want, got, optional, problems):
    for k, types in sorted(want.items()):
        if k not in got:
            if k not in optional and types != {"null"}:
                problems.append(f"{where}: no '{k}' (reference: {'/'.join(sorted(types))})")
            continue
        t = jtype(got[k])
        if t not in types and not (types == {"null"}):
            problems.append(f"{where}: '{k}' is {t}, reference {'/'.join(sorted(types))}")

def digest(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()

def check_truth(rec, prefix, pkg, spec, problems):
    paths = rec.get("paths_data", {}).get("paths", [])
    if sorted(rec.get("files", [])) != sorted(e.get("_path") for e in paths):
        problems.append("files and paths_data list other paths")
    for e in paths:
        full = os.path.join(prefix, e["_path"])
        if e.get("path_type") == "softlink":
            data = os.readlink(full).encode()
        else:
            data = open(full, "rb").read()
        if hashlib.sha256(data).hexdigest() != e.get("sha256_in_prefix") or len(data) != e.get("size_in_bytes"):
            problems.append(f"{e['_path']}: sha256_in_prefix/size_in_bytes are not the file's")
    if pkg:
        for key, got in (("md5", digest(pkg, "md5")), ("sha256", digest(pkg, "sha256")),
                         ("size", os.path.getsize(pkg))):
            if rec.get(key) != got:
                problems.append(f"{key} is {rec.get(key)!r}, the package's is {got!r}")
    if spec is not None and rec.get("requested_spec") != spec:
        problems.append(f"requested_spec is {rec.get('requested_spec')!r}, wanted {spec!r}")
    if rec.get("build_string") != rec.get("build"):
        problems.append("build_string is not build")

def main():
    refdir, prefix, record = sys.argv[1:4]
    pkg = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    spec = sys.argv[5] if len(sys.argv) > 5 else None
    refs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(refdir, "*.json")))]
    if not refs:
        sys.exit(f"no reference records in {refdir}")
    rec = json.load(open(record))
    problems = []
    compare("record", shape(refs, NOARCH_ONLY), rec, OPTIONAL, problems)
    entries = [e for r in refs for e in r["paths_data"]["paths"]]
    mine = rec.get("paths_data", {}).get("paths", [])
    for e in mine or [{}]:
        compare(f"paths_data entry {e.get('_path')}", shape(entries, ENTRY_OPTIONAL), e, set(), problems)
    compare("link", shape([r["link"] for r in refs], set()), rec.get("link", {}), set(), problems)
    if not problems:
        check_truth(rec, prefix, pkg, spec, problems)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)

main()
