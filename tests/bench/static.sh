#!/bin/sh
# The static binary against the dynamic one (issue #15), interleaved in one
# run, on data generated here: a fetch over nginx (BENCH_STATIC_FETCH_MB,
# 512), a cold and a warm install of a wheel (5,000 files and two 16 MB
# libraries), cold installs of one conda package as .tar.bz2 and as .conda
# (120 MB in 4,000 files), a no-op install of 60 packages (median of 30),
# and `--version` (perf stat -r 50 where perf runs, else 50 timed runs).
# Each line: seconds of each, and static's speed relative to dynamic
# (dynamic time / static time; the goal is >= 0.95).  Best of BENCH_RUNS (3)
# rounds, each running both binaries once.
#   MB (dynamic, ./mambaboot), MB_STATIC (build/static/mambaboot)
set -eu
MB=${MB:-./mambaboot}
MB_STATIC=${MB_STATIC:-build/static/mambaboot}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-static.XXXXXX")
NGX=$W/ngx
cleanup() {
	sh "$ROOT/tests/servers/nginx.sh" stop "$NGX" 2>/dev/null || true
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM
mkdir -p "$NGX/www"
head -c "$(( ${BENCH_STATIC_FETCH_MB:-512} << 20 ))" /dev/urandom > "$NGX/www/blob"
set -- $(sh "$ROOT/tests/servers/nginx.sh" start "$NGX")
python3 - "$MB" "$MB_STATIC" "$W" "${BENCH_RUNS:-3}" "$1" <<'PY'
import base64, hashlib, io, json, os, random, shutil, statistics, subprocess, sys, tarfile, time, zipfile
dyn, sta, w, runs, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
bins = {"dynamic": os.path.abspath(dyn), "static": os.path.abspath(sta)}
rnd = random.Random(15)
words = [os.urandom(8).hex().encode() for _ in range(2048)]
os.makedirs(f"{w}/mirror/sha256")

def text(n):
    return b"".join(rnd.choice(words) for _ in range(n // 16 + 1))[:n]

def add_blob(data):
    h = hashlib.sha256(data).hexdigest()
    open(f"{w}/mirror/sha256/{h}", "wb").write(data)
    return h

def recipe_set(name, body):
    r = f"{w}/r-{name}"
    os.makedirs(r, exist_ok=True)
    open(f"{r}/python.yaml", "w").write(
        'name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [python3, --version]\n'
        '  regex: "Python ([0-9]+\\\\.[0-9]+)"\n')
    for n, b in body.items():
        open(f"{r}/{n}.yaml", "w").write(b)
    return r

def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data in members:
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

# a wheel: 5,000 modules and two big libraries
files = [(f"benchwhl/m{i // 250}/f{i}.py", text(2000)) for i in range(5000)]
files += [(f"benchwhl/lib{i}.so", text(8 << 20) + os.urandom(8 << 20)) for i in range(2)]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    di = "benchwhl-1.0.dist-info"
    files += [(f"{di}/METADATA", b"Metadata-Version: 2.1\nName: benchwhl\nVersion: 1.0\n"),
              (f"{di}/WHEEL", b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")]
    rec = []
    for p, d in files:
        z.writestr(p, d)
        digest = base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
        rec.append(f"{p},sha256={digest},{len(d)}\n")
    z.writestr(f"{di}/RECORD", "".join(rec) + f"{di}/RECORD,,\n")
whl = buf.getvalue()
h = add_blob(whl)
rw = recipe_set("wheel", {"benchwhl": 'name: benchwhl\nversion: "1.0"\nkind: wheel\ndepends: [python]\n'
                f'artifacts:\n  - url: https://bench.invalid/benchwhl-1.0-py3-none-any.whl\n    sha256: {h}\n'})

# one conda package, as .tar.bz2 and as .conda
payload = [(f"lib/libc{i}.so", text(12 << 20) + os.urandom(12 << 20)) for i in range(2)]
payload += [(f"share/benchpkg/d{i // 200}/f{i}.txt", text(18000)) for i in range(4000)]
paths = [{"_path": p, "path_type": "hardlink", "sha256": hashlib.sha256(d).hexdigest(),
          "size_in_bytes": len(d)} for p, d in payload]
info = [("info/index.json", json.dumps({"name": "benchpkg", "version": "1.0", "build": "0",
                                         "build_number": 0, "depends": [], "subdir": "linux-64"}).encode()),
        ("info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode()),
        ("info/files", "".join(p + "\n" for p, _ in payload).encode())]
import bz2
conda_sets = {}
tb = bz2.compress(tar_of(info + payload), 1)
def zstd(data):
    return subprocess.run(["zstd", "-q", "-3", "-T0", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
cb = io.BytesIO()
with zipfile.ZipFile(cb, "w", zipfile.ZIP_STORED) as z:
    z.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
    z.writestr("pkg-benchpkg-1.0-0.tar.zst", zstd(tar_of(payload)))
    z.writestr("info-benchpkg-1.0-0.tar.zst", zstd(tar_of(info)))
for ext, data in (("tar.bz2", tb), ("conda", cb.getvalue())):
    conda_sets[ext] = recipe_set(ext, {"benchpkg": 'name: benchpkg\nversion: "1.0"\nkind: conda\nartifacts:\n'
                                   f'  - url: https://bench.invalid/benchpkg-1.0-0.{ext}\n    sha256: {add_blob(data)}\n'})
del payload, files

# 60 small packages for the no-op install
noop = {}
for i in range(60):
    d = f"data of pkg{i}\n".encode() * 50
    inf = [("info/index.json", json.dumps({"name": f"pkg{i}", "version": "1.0", "build": "0",
            "build_number": 0, "depends": [], "subdir": "noarch"}).encode()),
           ("info/paths.json", json.dumps({"paths_version": 1, "paths": [{"_path": f"share/pkg{i}.txt",
            "path_type": "hardlink", "sha256": hashlib.sha256(d).hexdigest(), "size_in_bytes": len(d)}]}).encode())]
    noop[f"pkg{i}"] = (f'name: pkg{i}\nversion: "1.0"\nkind: conda\nartifacts:\n'
                       f'  - url: https://bench.invalid/pkg{i}-1.0-0.tar.bz2\n    sha256: {add_blob(bz2.compress(tar_of(inf + [(f"share/pkg{i}.txt", d)])))}\n')
rn = recipe_set("noop", noop)

blob = f"{w}/ngx/www/blob"
rf = recipe_set("fetch", {"blob": 'name: blob\nversion: "1.0"\nkind: wheel\nartifacts:\n'
                f'  - url: http://127.0.0.1:{port}/blob\n    sha256: {hashlib.sha256(open(blob, "rb").read()).hexdigest()}\n'
                '    filename: blob-1.0-py3-none-any.whl\n'})

n = [0]
def fresh(tag):
    n[0] += 1
    return f"{w}/out/{tag}{n[0]}"

def timed(cmd):
    os.sync()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def offline(r):
    return ["--recipes", r, "--mirror", f"{w}/mirror", "--offline", "-q"]

def fetched(b, r, target):
    c = fresh("cache")
    subprocess.run([b, "fetch", target, "--cache", c, *offline(r)], check=True)
    for e in os.scandir(f"{c}/blobs/sha256"):  # fetch wrote O_DIRECT: into the page cache
        with open(e.path, "rb") as f:
            while f.read(1 << 20):
                pass
    return c

warm = {k: fetched(b, rw, "benchwhl") for k, b in bins.items()}
for k, b in bins.items():
    subprocess.run([b, "install", "benchwhl", "--prefix", fresh("warmup"), "--cache", warm[k], *offline(rw)], check=True)
noop_prefix = {}
for k, b in bins.items():
    noop_prefix[k] = fresh("noop")
    subprocess.run([b, "install", *noop, "--prefix", noop_prefix[k], "--cache", fresh("cache"), *offline(rn)], check=True)

cases = {
    "fetch 512 MiB (nginx, loopback)": lambda k, b: timed([b, "fetch", "-q", "blob", "--recipes", rf, "--cache", fresh("fc")]),
    "wheel, cold install": lambda k, b: timed([b, "install", "benchwhl", "--prefix", fresh("p"), "--cache", fetched(b, rw, "benchwhl"), *offline(rw)]),
    "wheel, warm install": lambda k, b: timed([b, "install", "benchwhl", "--prefix", fresh("p"), "--cache", warm[k], *offline(rw)]),
    "conda .tar.bz2, cold install": lambda k, b: timed([b, "install", "benchpkg", "--prefix", fresh("p"), "--cache", fetched(b, conda_sets["tar.bz2"], "benchpkg"), *offline(conda_sets["tar.bz2"])]),
    "conda .conda, cold install": lambda k, b: timed([b, "install", "benchpkg", "--prefix", fresh("p"), "--cache", fetched(b, conda_sets["conda"], "benchpkg"), *offline(conda_sets["conda"])]),
    "no-op install, 60 packages (median of 30)": lambda k, b: statistics.median(
        timed([b, "install", *noop, "--prefix", noop_prefix[k], *offline(rn)]) for _ in range(30)),
}
times = {c: {k: [] for k in bins} for c in cases}
for _ in range(runs):
    for c, f in cases.items():
        for k, b in (list(bins.items()) if _ % 2 == 0 else list(bins.items())[::-1]):
            times[c][k].append(f(k, b))
print(f"static vs dynamic, {runs} rounds; best (median) seconds; static speed = dynamic time / static time, "
      "of the bests (of the medians); want >= 0.95")
for c in cases:
    d, s = times[c]["dynamic"], times[c]["static"]
    print(f"  {c:44s} dynamic {min(d):7.4f} ({statistics.median(d):7.4f})  static {min(s):7.4f} "
          f"({statistics.median(s):7.4f})  static speed {min(d) / min(s):.2f}x ({statistics.median(d) / statistics.median(s):.2f}x)")

def startup(b):
    if shutil.which("perf"):
        r = subprocess.run(["perf", "stat", "-r", "50", "-x,", "-e", "task-clock", b, "--version"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in r.stderr.splitlines():
            if "task-clock" in line:
                return float(line.split(",")[0]), "ms task-clock (perf stat -r 50)"
    ts = [timed([b, "--version"]) * 1000 for _ in range(50)]
    return statistics.median(ts), "ms wall, median of 50"
for k, b in bins.items():
    v, unit = startup(b)
    print(f"  --version {k:8s} {v:.2f} {unit}; binary {os.path.getsize(b) / 1e6:.1f} MB")
PY
