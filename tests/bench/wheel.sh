#!/bin/sh
# Wheel installs (issue #5) against pip and unzip on wheels this bench
# generates: 20k small files, and a torch-shaped one (2 x 60 MB of random
# bytes + 2k small .py files, scaled down from 6 x 60 MB + 8k to keep the
# run short).  Cold: an empty cache and a new prefix; warm: the cache holds
# the unpacked wheel, a new prefix.  Prints ratios measured in this run.
set -eu
MB=${MB:-./mambaboot}
W=$(mktemp -d /tmp/mbbench-wheel.XXXXXX)
trap 'rm -rf "$W"' EXIT
python3 - "$W" <<'PY'
import base64, hashlib, os, sys, zipfile
w = sys.argv[1]
def wheel(name, files):
    path = f"{w}/{name}-1.0-py3-none-any.whl"
    rec = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        def add(p, data):
            z.writestr(p, data)
            h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rec.append(f"{p},sha256={h},{len(data)}")
        for p, data in files:
            add(p, data)
        di = f"{name}-1.0.dist-info"
        add(f"{di}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode())
        add(f"{di}/WHEEL", b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{di}/RECORD", "\n".join(rec + [f"{di}/RECORD,,"]) + "\n")
wheel("small", [(f"small/m{i // 500}/f{i}.py", f"X = {i}\n".encode() * 20) for i in range(20000)])
wheel("torchish", [(f"torchish/lib/lib{i}.so", os.urandom(60 << 20)) for i in range(2)] +
      [(f"torchish/py{i // 200}/m{i}.py", b"def f():\n    return 1\n" * 30) for i in range(2000)])
PY
python3 - "$MB" "$W" <<'PY'
import hashlib, os, shutil, statistics, subprocess, sys, time
mb, w = sys.argv[1], sys.argv[2]
def run(cmd, **kw):
    t = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t
def best(f, n=3):
    return min(f() for _ in range(n))
for name in ("small", "torchish"):
    whl = f"{w}/{name}-1.0-py3-none-any.whl"
    sha = hashlib.sha256(open(whl, "rb").read()).hexdigest()
    r = f"{w}/r-{name}"; os.makedirs(f"{w}/m/sha256", exist_ok=True); os.makedirs(r, exist_ok=True)
    shutil.copy(whl, f"{w}/m/sha256/{sha}")
    open(f"{r}/python.yaml", "w").write('name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n')
    open(f"{r}/{name}.yaml", "w").write(f'name: {name}\nversion: "1.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: https://bench.invalid/{os.path.basename(whl)}\n    sha256: {sha}\n')
    def fresh(p):
        shutil.rmtree(p, ignore_errors=True)
        return p
    def pip():
        return run([sys.executable, "-m", "pip", "install", "-q", "-I", "--no-deps", "--no-compile", "--no-index", "--prefix", fresh(f"{w}/pp"), whl])
    def unzip():
        return run(["unzip", "-q", "-o", whl, "-d", fresh(f"{w}/uz")])
    def mbi(cold, jobs):
        if cold:
            shutil.rmtree(f"{w}/cache", ignore_errors=True)
        return run([mb, "install", name, "--recipes", r, "--prefix", fresh(f"{w}/mp"), "--cache", f"{w}/cache",
                    "--mirror", f"{w}/m", "--offline", "-q", "-j", str(jobs)])
    tp, tu = best(pip), best(unzip)
    cold = best(lambda: mbi(True, 1))
    mbi(True, 1)
    warm = best(lambda: mbi(False, 1))
    print(f"{name}: pip {tp:.2f} s, unzip {tu:.2f} s, mambaboot cold {cold:.2f} s "
          f"({tp / cold:.1f}x faster than pip, {cold / tu:.2f}x unzip's time), "
          f"warm {warm:.2f} s ({tp / warm:.1f}x faster than pip)")
PY
