#!/bin/sh
# No-op install of a 60-artifact stack (issue #6; goal < 50 ms): generate 60
# small conda packages, install them once from a mirror, then time `install`
# with nothing to do (median of 30 runs).
set -eu
MB=${MB:-./mambaboot}
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-noop.XXXXXX")
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT
python3 - "$W" <<'PY'
import hashlib, io, json, os, sys, tarfile
w = sys.argv[1]
os.makedirs(f"{w}/mirror/sha256"); os.makedirs(f"{w}/recipes/stacks")
names = []
for i in range(60):
    name = f"pkg{i:02d}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:bz2") as t:
        def add(path, data):
            ti = tarfile.TarInfo(path); ti.size = len(data); ti.mtime = 0; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
        payload = (f"data of {name}\n" * 100).encode()
        add(f"share/{name}/data.txt", payload)
        add("info/index.json", json.dumps({"name": name, "version": "1.0", "build": "0",
            "build_number": 0, "depends": [], "subdir": "noarch"}).encode())
        add("info/paths.json", json.dumps({"paths_version": 1, "paths": [
            {"_path": f"share/{name}/data.txt", "path_type": "hardlink",
             "sha256": hashlib.sha256(payload).hexdigest(), "size_in_bytes": len(payload)}]}).encode())
        add("info/files", f"share/{name}/data.txt\n".encode())
    data = buf.getvalue(); h = hashlib.sha256(data).hexdigest()
    open(f"{w}/mirror/sha256/{h}", "wb").write(data)
    open(f"{w}/recipes/{name}.yaml", "w").write(
        f'name: {name}\nversion: "1.0"\nkind: conda\nartifacts:\n'
        f'  - url: https://upstream.invalid/{name}-1.0-0.tar.bz2\n    sha256: {h}\n')
    names.append(name)
open(f"{w}/recipes/stacks/sixty.yaml", "w").write(f"stack: sixty\ntargets: [{', '.join(names)}]\n")
PY
args="--prefix $W/prefix --cache $W/cache --recipes $W/recipes"
"$MB" install sixty $args --mirror "$W/mirror" --offline -q
python3 - "$MB" $args <<'PY'
import statistics, subprocess, sys, time
cmd = [sys.argv[1], "install", "sixty"] + sys.argv[2:] + ["-q"]
times = []
for _ in range(30):
    t = time.perf_counter(); subprocess.run(cmd, check=True); times.append(time.perf_counter() - t)
med = statistics.median(times) * 1000
print(f"noop install, 60 artifacts: median {med:.1f} ms over 30 runs (goal < 50 ms): {'met' if med < 50 else 'NOT met'}")
PY
