#!/bin/sh
# Peak memory of unpacking several .tar.bz2 conda packages at once (issue
# #19's bound): BENCH_PKGS (8) packages of four ~3.8 MB compressible files
# (about 4.3 MB each as .tar.bz2, over bz2par's 2 MiB), installed cold into
# a new prefix and cache with -j 1, 2 and 8; GNU time's peak RSS and wall.
# Not part of `make bench`'s ratios: it measures a bound, not a speed.
set -eu
MB=${MB:-./mambaboot}
MB=$(cd "$(dirname "$MB")" && pwd)/$(basename "$MB")
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-unpackmem.XXXXXX")
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT INT TERM
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }
python3 - "$W" "${BENCH_PKGS:-8}" <<'PY'
import bz2, hashlib, io, json, os, sys, tarfile
w, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{w}/pkgs"); os.makedirs(f"{w}/r/stacks")
names = []
for k in range(n):
    name = f"big{k}"
    files = [(f"lib/{name}/f{i}.so", b"".join(os.urandom(8).hex().encode() * 4 for _ in range(60000)))
             for i in range(4)]
    paths = [{"_path": p, "path_type": "hardlink", "sha256": hashlib.sha256(d).hexdigest(),
              "size_in_bytes": len(d)} for p, d in files]
    index = {"name": name, "version": "1.0", "build": "0", "build_number": 0, "depends": [],
             "subdir": "linux-64"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for p, d in [("info/index.json", json.dumps(index).encode()),
                     ("info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode())] + files:
            ti = tarfile.TarInfo(p)
            ti.size, ti.mtime = len(d), 1700000000
            t.addfile(ti, io.BytesIO(d))
    f = f"{w}/pkgs/{name}-1.0-0.tar.bz2"
    open(f, "wb").write(bz2.compress(buf.getvalue(), 9))
    sha = hashlib.sha256(open(f, "rb").read()).hexdigest()
    open(f"{w}/r/{name}.yaml", "w").write(
        f'name: {name}\nversion: "1.0"\nkind: conda\nartifacts:\n  - url: file://{f}\n    sha256: {sha}\n')
    names.append(name)
open(f"{w}/r/stacks/all.yaml", "w").write("stack: all\ntargets: [" + ", ".join(names) + "]\n")
PY
echo "unpack memory: ${BENCH_PKGS:-8} .tar.bz2 packages, $(nproc) CPUs"
for j in 1 2 8; do
	/usr/bin/time -f "  -j $j: %e s wall, peak RSS %M KB" \
		"$MB" install all --recipes "$W/r" --prefix "$W/p$j" --cache "$W/c$j" -j "$j" -y -q 2>&1 | tail -n 1
done
