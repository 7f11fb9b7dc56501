#!/bin/sh
# The build cache (issue #18): a hit against building, and against
# installing a wheel of the same size.
#   demo      the demo's C source build (mbdemo-tool): build vs hit
#   torchext  a torch-extension-shaped wheel (2 x 110 MB of random .so and
#             300 .py files) made by a source recipe's build (its script
#             copies the pre-made wheel to WHEEL_DIR: no compiler cost in
#             the "build"), against the same wheel as a kind: wheel recipe
# Each round: a new prefix; "build" with a cache that has the source only,
# "hit" with one that holds the build entry, "wheel" with one that holds the
# downloaded wheel but has not unpacked it.  Best of BENCH_RUNS (3).
set -eu
MB=${MB:-./mambaboot}
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-buildcache.XXXXXX")
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT INT TERM
python3 - "$MB" "$W" "${BENCH_RUNS:-3}" "$MB_ROOT" <<'PY'
import base64, hashlib, os, shutil, subprocess, sys, tarfile, time, zipfile
mb, w, runs, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
def run(*args):
    t = time.perf_counter()
    subprocess.run([mb, *args, "-q"], check=True)
    return time.perf_counter() - t

# the demo
dm, demo = f"{w}/demo-mirror", f"{root}/share/mambaboot/demo/recipes"
subprocess.run(["python3", f"{root}/scripts/make-demo-mirror.py", dm], check=True, stdout=subprocess.DEVNULL)
def demo_install(prefix, cache):
    return run("install", "mbdemo-tool", "--recipes", demo, "--mirror", dm, "--offline",
               "--prefix", prefix, "--cache", cache)

# the torch-shaped wheel, and recipes for it
name = "torchext"
whl = f"{w}/{name}-1.0-py3-none-any.whl"
rec = []
with zipfile.ZipFile(whl, "w", zipfile.ZIP_STORED) as z:
    def add(p, data):
        z.writestr(p, data)
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rec.append(f"{p},sha256={h},{len(data)}")
    for i in range(2):
        add(f"{name}/_C{i}.so", os.urandom(110 << 20))
    for i in range(300):
        add(f"{name}/m{i}.py", f"X = {i}\n".encode() * 40)
    di = f"{name}-1.0.dist-info"
    add(f"{di}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode())
    add(f"{di}/WHEEL", b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr(f"{di}/RECORD", "\n".join(rec + [f"{di}/RECORD,,"]) + "\n")
m = f"{w}/mirror"
os.makedirs(f"{m}/sha256")
os.makedirs(f"{w}/src/t-1.0")
open(f"{w}/src/t-1.0/README", "w").write("x\n")
with tarfile.open(f"{w}/t-1.0.tar.gz", "w:gz") as t:
    t.add(f"{w}/src/t-1.0", "t-1.0")
for f in (whl, f"{w}/t-1.0.tar.gz"):
    shutil.copy(f, f"{m}/sha256/{sha(f)}")
r = f"{w}/recipes"
os.makedirs(r)
open(f"{r}/python.yaml", "w").write('name: python\nkind: external\nversion: ">=3.8"\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n')
open(f"{r}/{name}.yaml", "w").write(f'name: {name}\nversion: "1.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: https://x.invalid/{os.path.basename(whl)}\n    sha256: {sha(whl)}\n')
open(f"{r}/{name}-src.yaml", "w").write(f'name: {name}-src\nversion: "1.0"\nkind: source\ndepends: [python]\nartifacts:\n  - url: https://x.invalid/t-1.0.tar.gz\n    sha256: {sha(w + "/t-1.0.tar.gz")}\nbuild:\n  script:\n    - cp {whl} ${{WHEEL_DIR}}/\n')
def tx(target, prefix, cache):
    return run("install", target, "--recipes", r, "--mirror", m, "--offline", "--prefix", prefix, "--cache", cache)

best = {}
def note(k, v):
    best[k] = min(best.get(k, v), v)
for i in range(runs):
    c = f"{w}/r{i}"
    note("demo build", demo_install(f"{c}/demo-b", f"{c}/demo-cache"))
    note("demo hit", demo_install(f"{c}/demo-h", f"{c}/demo-cache"))
    # the wheel: installed once (its blob written through the page cache, as
    # the build's entry is), then a cold install: the cache not unpacked
    tx(name, f"{c}/tw0", f"{c}/wc")
    shutil.rmtree(f"{c}/wc/unpacked")
    note("torchext wheel", tx(name, f"{c}/tw", f"{c}/wc"))
    note("torchext build", tx(f"{name}-src", f"{c}/tb", f"{c}/bc"))
    shutil.rmtree(f"{c}/bc/unpacked")  # the hit unpacks the kept wheel as a cold wheel install does
    note("torchext hit", tx(f"{name}-src", f"{c}/th", f"{c}/bc"))
for k, v in best.items():
    print(f"{k:16s} {v:7.3f} s")
print(f"demo: build / hit = {best['demo build'] / best['demo hit']:.1f}x")
print(f"torchext: hit / wheel install = {best['torchext hit'] / best['torchext wheel']:.2f}x, build / hit = {best['torchext build'] / best['torchext hit']:.2f}x")
PY
