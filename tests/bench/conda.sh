#!/bin/sh
# Conda packages (issue #4): extract + link of a generated package of
# BENCH_CONDA_MB megabytes (500) in BENCH_CONDA_FILES files (20,000), as
# .tar.bz2 and as .conda, against bsdtar -xf of the same package (for a
# .conda: the outer zip, then its info and pkg tar.zst members, which is
# what a tar user has to do).  Cold: the package is in the cache (fetched),
# not unpacked, a new prefix; warm: the cache holds the unpacked package, a
# new prefix.  Best of BENCH_RUNS (2).  Nothing is deleted between runs
# (see wheel.sh: ext4 is slow to make files just after deleting many).
# Warm floor: `cp -al` of the tree mambaboot installed, into a new folder.
# Then many small packages (issue #19): BENCH_CONDA_PKGS (200; 0 skips it)
# .tar.bz2 packages of BENCH_CONDA_PKG_FILES (100) files of
# BENCH_CONDA_PKG_BYTES (3000) bytes, installed cold and warm, against two
# floors: `xargs -P<nproc> bsdtar -x --exclude info` of the same archives
# into one folder (cold; every package's info/ has the same names, and two
# bsdtar writing one file at once fail, so the floor leaves info/ out) and `cp -al` of the installed tree (warm); the ratios are
# mambaboot/floor (1.0 would be the floor itself).
set -eu
MB=${MB:-./mambaboot}
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-conda.XXXXXX")
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT INT TERM
python3 - "$MB" "$W" "${BENCH_RUNS:-2}" "${BENCH_CONDA_MB:-500}" "${BENCH_CONDA_FILES:-20000}" \
	"${BENCH_CONDA_PKGS:-200}" "${BENCH_CONDA_PKG_FILES:-100}" "${BENCH_CONDA_PKG_BYTES:-3000}" <<'PY'
import bz2, hashlib, io, json, os, random, subprocess, sys, tarfile, time, zipfile
mb, w, runs, size_mb, nfiles = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
n_pkgs, pkg_files, pkg_bytes = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
nproc = os.cpu_count() or 1
rnd = random.Random(4)
words = [os.urandom(8).hex().encode() for _ in range(4096)]

def payload():
    """A few big shared-library-like files (compressible about 2x, as real
    ones are) hold 80% of the bytes; many small text files the rest."""
    big = max(1, nfiles // 2000)
    big_bytes = size_mb * (1 << 20) * 4 // 5 // big
    small_bytes = size_mb * (1 << 20) // 5 // max(1, nfiles - big)
    for i in range(big):
        data = b"".join(rnd.choice(words) if j % 2 else os.urandom(16) for j in range(big_bytes // 16))
        yield f"lib/libbig{i}.so", data, 0o755
    for i in range(nfiles - big):
        line = f"x{i} = {i}  # generated\n".encode()
        yield f"lib/python3.10/site-packages/benchpkg/m{i // 400}/f{i}.py", line * max(1, small_bytes // len(line)), 0o644

def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data, mode in members:
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode, ti.mtime = len(data), mode, 1700000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

def info_members(files, name="benchpkg"):
    paths = [{"_path": p, "path_type": "hardlink", "sha256": hashlib.sha256(d).hexdigest(),
              "size_in_bytes": len(d)} for p, d, _ in files]
    index = {"name": name, "version": "1.0", "build": "0", "build_number": 0,
             "depends": [], "subdir": "linux-64", "platform": "linux", "arch": "x86_64"}
    return [("info/index.json", json.dumps(index).encode(), 0o644),
            ("info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode(), 0o644),
            ("info/files", "".join(p + "\n" for p, _, _ in files).encode(), 0o644)]

def zstd(data):
    return subprocess.run(["zstd", "-q", "-3", "-T0", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout

files = list(payload())
info = info_members(files)
pkgs = {}
pkgs["tar.bz2"] = f"{w}/benchpkg-1.0-0.tar.bz2"
with open(pkgs["tar.bz2"], "wb") as f:
    f.write(bz2.compress(tar_of(info + files), 1))
pkgs["conda"] = f"{w}/benchpkg-1.0-0.conda"
with zipfile.ZipFile(pkgs["conda"], "w", zipfile.ZIP_STORED) as z:
    z.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
    z.writestr("pkg-benchpkg-1.0-0.tar.zst", zstd(tar_of(files)))
    z.writestr("info-benchpkg-1.0-0.tar.zst", zstd(tar_of(info)))
del files, info

n = [0]
def fresh(tag):
    n[0] += 1
    return f"{w}/out/{tag}{n[0]}"

def timed(cmds):
    os.sync()
    t = time.perf_counter()
    for c in cmds:
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def cpal(tree):
    return timed([["cp", "-al", tree, fresh("cpal")]])

def serve(pkg, mirror, r, name):
    """The package in the mirror, and a recipe for it in r."""
    data = open(pkg, "rb").read()
    sha = hashlib.sha256(data).hexdigest()
    open(f"{mirror}/{sha}", "wb").write(data)
    open(f"{r}/{name}.yaml", "w").write(
        f'name: {name}\nversion: "1.0"\nkind: conda\nartifacts:\n'
        f'  - url: https://bench.invalid/{os.path.basename(pkg)}\n    sha256: {sha}\n')
    return data

def fetched(names, common):
    c = fresh("cache")
    subprocess.run([mb, "fetch", *names, "--cache", c, *common], check=True)
    # fetch writes blobs with O_DIRECT: read them once, so that mambaboot,
    # like bsdtar, finds its packages in the page cache
    for b in os.scandir(f"{c}/blobs/sha256"):
        with open(b.path, "rb") as f:
            while f.read(1 << 20):
                pass
    return c

def install(names, cache, common):
    """The time, and the prefix."""
    d = fresh("mb")
    return timed([[mb, "install", *names, "--prefix", d, "--cache", cache, *common]]), d

print(f"conda: {size_mb} MB in {nfiles} files, best of {runs}; data in {w}")
mirror = f"{w}/mirror/sha256"
os.makedirs(mirror)
for ext, pkg in pkgs.items():
    r = f"{w}/r-{ext}"
    os.makedirs(r)
    data = serve(pkg, mirror, r, "benchpkg")
    common = ["--recipes", r, "--mirror", f"{w}/mirror", "--offline", "-q"]
    def bsdtar():
        d = fresh("bsdtar")
        os.makedirs(d)
        if ext == "tar.bz2":
            return timed([["bsdtar", "-xf", pkg, "-C", d]])
        return timed([["bsdtar", "-xf", pkg, "-C", d],
                      ["bsdtar", "-xf", f"{d}/pkg-benchpkg-1.0-0.tar.zst", "-C", d],
                      ["bsdtar", "-xf", f"{d}/info-benchpkg-1.0-0.tar.zst", "-C", d]])
    warm_cache = fetched(["benchpkg"], common)
    tree = install(["benchpkg"], warm_cache, common)[1]
    peer = cold = warm = floor = float("inf")
    for _ in range(runs):  # one of each per round: the VM's speed drifts
        peer = min(peer, bsdtar())
        cold = min(cold, install(["benchpkg"], fetched(["benchpkg"], common), common)[0])
        warm = min(warm, install(["benchpkg"], warm_cache, common)[0])
        floor = min(floor, cpal(tree))
    print(f".{ext} ({len(data) >> 20} MB): bsdtar {peer:.2f} s, mambaboot cold {cold:.2f} s "
          f"(bsdtar/mambaboot {peer / cold:.2f}, want >= 1.0), warm {warm:.2f} s "
          f"(warm/cold {warm / cold:.2f}); warm floor cp -al {floor:.2f} s "
          f"(mambaboot/floor {warm / floor:.2f})")
    sys.stdout.flush()

def many():
    """n_pkgs small .tar.bz2 packages: mambaboot against the floors."""
    d = f"{w}/many"
    mirror, r, archives = f"{d}/mirror/sha256", f"{d}/r", f"{d}/pkgs"
    for x in (mirror, r, archives):
        os.makedirs(x)
    names = [f"manypkg{i:04d}" for i in range(n_pkgs)]
    for name in names:
        files = [(f"share/{name}/f{j:04d}.txt", (rnd.choice(words) * (pkg_bytes // 16 + 1))[:pkg_bytes], 0o644)
                 for j in range(pkg_files)]
        pkg = f"{archives}/{name}-1.0-0.tar.bz2"
        with open(pkg, "wb") as f:
            f.write(bz2.compress(tar_of(info_members(files, name) + files), 1))
        serve(pkg, mirror, r, name)
    common = ["--recipes", r, "--mirror", f"{d}/mirror", "--offline", "-q"]
    def floor_cold():
        out = fresh("xargs")
        os.makedirs(out)
        return timed([["sh", "-c", f'ls "{archives}"/*.tar.bz2 | xargs -P{nproc} -n1 bsdtar -x --exclude info -C "{out}" -f']])
    warm_cache = fetched(names, common)
    tree = install(names, warm_cache, common)[1]
    cold = warm = f_cold = f_warm = float("inf")
    for _ in range(runs):
        f_cold = min(f_cold, floor_cold())
        cold = min(cold, install(names, fetched(names, common), common)[0])
        warm = min(warm, install(names, warm_cache, common)[0])
        f_warm = min(f_warm, cpal(tree))
    print(f"{n_pkgs} packages x {pkg_files} files x {pkg_bytes} B: "
          f"cold floor (xargs -P{nproc} bsdtar -x) {f_cold:.2f} s, mambaboot cold {cold:.2f} s "
          f"(mambaboot/floor {cold / f_cold:.2f}); warm floor (cp -al) {f_warm:.2f} s, "
          f"mambaboot warm {warm:.2f} s (mambaboot/floor {warm / f_warm:.2f})")

if n_pkgs > 0:
    many()
PY
