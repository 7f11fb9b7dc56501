#!/bin/sh
# Wheel installs (issue #5) against pip and unzip, on wheels this bench
# generates:
#   small     20,000 small .py files
#   torchish  2 x 60 MB of random bytes + 2,000 small .py files (scaled down
#             from torch's 6 x 60 MB + 8k files to keep the run short)
#   thirty    30 wheels of 40..400 files each, installed by one command
# Cold: the cache holds the wheels (fetched) but has not unpacked them, a
# new prefix (-j1, then -j2); warm: the cache holds the unpacked wheels, a
# new prefix.  Best of BENCH_RUNS (3) rounds, each running every kind once;
# BENCH_SHAPES="small thirty" picks shapes.  Every
# run writes to directories of its own and nothing is deleted until the end:
# ext4 scans its inode bitmaps past recently deleted inodes, so a tree made
# just after an rm -rf of another costs several times more, whoever makes it.
set -eu
MB=${MB:-./mambaboot}
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-wheel.XXXXXX")
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT INT TERM
python3 - "$MB" "$W" "${BENCH_RUNS:-3}" <<'PY'
import base64, hashlib, os, random, subprocess, sys, time, zipfile
mb, w, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(5)

def wheel(name, files, scripts=()):
    path = f"{w}/wheels/{name}-1.0-py3-none-any.whl"
    os.makedirs(os.path.dirname(path), exist_ok=True)
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
        if scripts:
            add(f"{di}/entry_points.txt", ("[console_scripts]\n" + "".join(
                f"{s} = {name}.m0:main\n" for s in scripts)).encode())
        z.writestr(f"{di}/RECORD", "\n".join(rec + [f"{di}/RECORD,,"]) + "\n")
    return path

def pyfile(i):
    return (f"def f{i}(x):\n    return x + {i}\n" * rnd.randint(5, 200)).encode()

shapes = {  # lambdas: only the shapes asked for are generated
    "small": lambda: [wheel("small", [(f"small/m{i // 500}/f{i}.py", f"X = {i}\n".encode() * 20)
                              for i in range(20000)])],
    "torchish": lambda: [wheel("torchish", [(f"torchish/lib/lib{i}.so", os.urandom(60 << 20)) for i in range(2)] +
                       [(f"torchish/py{i // 200}/m{i}.py", b"def f():\n    return 1\n" * 30)
                        for i in range(2000)])],
    "thirty": lambda: [wheel(f"pkg{k}", [(f"pkg{k}/{'sub%d/' % (i // 50) if i >= 50 else ''}m{i}.py", pyfile(i))
                                 for i in range(rnd.randint(40, 400))], scripts=(f"pkg{k}-cli",))
               for k in range(30)],
}

mirror, n = f"{w}/mirror/sha256", [0]
os.makedirs(mirror)
def fresh(tag):
    n[0] += 1
    return f"{w}/out/{tag}{n[0]}"

def recipes(shape, whls):
    r = f"{w}/r-{shape}"
    os.makedirs(r)
    open(f"{r}/python.yaml", "w").write(
        f'name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [{sys.executable}, --version]\n'
        '  regex: "Python ([0-9]+\\\\.[0-9]+)"\n')
    names = []
    for whl in whls:
        data = open(whl, "rb").read()
        sha = hashlib.sha256(data).hexdigest()
        open(f"{mirror}/{sha}", "wb").write(data)
        name = os.path.basename(whl).split("-")[0]
        names.append(name)
        open(f"{r}/{name}.yaml", "w").write(
            f'name: {name}\nversion: "1.0"\nkind: wheel\ndepends: [python]\nartifacts:\n'
            f'  - url: https://bench.invalid/{os.path.basename(whl)}\n    sha256: {sha}\n')
    return r, names

rss = [0]
def run(cmd, measure_rss=False):
    """Seconds; peak RSS through /usr/bin/time, as a fork of this python
    would count this python's own memory."""
    if measure_rss:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", f"{w}/rss.txt", *cmd]
    os.sync()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t
    kb = int(open(f"{w}/rss.txt").read().split()[-1]) if measure_rss else 0
    return dt, kb

def dentries():  # a dentry cache grown to millions by earlier runs slows every lookup
    try:
        return f"{int(open('/proc/sys/fs/dentry-state').read().split()[0]) / 1e6:.1f}M dentries cached"
    except OSError:
        return "dentry cache size unknown"

print(f"wheels: best of {runs}; data in {w}; {dentries()}")
only = os.environ.get("BENCH_SHAPES", "").split()
for shape, whls in shapes.items():
    if only and shape not in only:
        continue
    whls = whls()
    r, names = recipes(shape, whls)
    def pip():
        return run([sys.executable, "-m", "pip", "install", "-q", "-I", "--no-deps", "--no-compile",
                    "--no-index", "--disable-pip-version-check", "--prefix", fresh("pip"), *whls])[0]
    def unzip():
        d = fresh("unzip")
        os.sync()
        t = time.perf_counter()
        for x in whls:
            subprocess.run(["unzip", "-q", "-o", x, "-d", d], check=True)
        return time.perf_counter() - t
    def fetched():  # a cache that holds the wheels, not unpacked: "cold"
        c = fresh("cache")
        subprocess.run([mb, "fetch", *names, "--recipes", r, "--cache", c, "--mirror", f"{w}/mirror",
                        "--offline", "-q"], check=True)
        # fetch writes blobs with O_DIRECT: read them once, so that mambaboot,
        # like pip and unzip, finds its wheels in the page cache
        for b in os.scandir(f"{c}/blobs/sha256"):
            with open(b.path, "rb") as f:
                while f.read(1 << 20):
                    pass
        return c
    def mbi(cache, jobs, measure_rss=False):
        """Timed runs are not wrapped in /usr/bin/time (4 ms of its own);
        the peak RSS comes from one more run of each kind."""
        dt, kb = run([mb, "install", *names, "--recipes", r, "--prefix", fresh("mb"), "--cache", cache,
                      "--mirror", f"{w}/mirror", "--offline", "-q", "-j", str(jobs)], measure_rss)
        rss[0] = max(rss[0], kb)
        if os.environ.get("BENCH_VERBOSE"):
            print(f"  {shape} -j{jobs}: {dt:.3f} s" + (f", {kb / 1024:.1f} MB" if kb else ""))
        return dt
    warm_cache = fresh("cache")
    for jobs in (1, 2):
        mbi(fetched(), jobs, measure_rss=True)  # cold
    mbi(warm_cache, 2, measure_rss=True)  # fills the cache
    mbi(warm_cache, 2, measure_rss=True)  # warm
    # one of each per round, so that every ratio compares runs made in the
    # same minute: this VM's speed at making files drifts over minutes
    tp = tu = cold1 = cold2 = warm = float("inf")
    for _ in range(runs):
        tp, tu = min(tp, pip()), min(tu, unzip())
        cold1 = min(cold1, mbi(fetched(), 1))
        cold2 = min(cold2, mbi(fetched(), 2))
        warm = min(warm, mbi(warm_cache, 2))
    print(f"{shape}: pip {tp:.2f} s, unzip {tu:.2f} s; mambaboot cold -j1 {cold1:.2f} s "
          f"({cold1 / tu:.2f}x unzip's time, {tp / cold1:.1f}x faster than pip), "
          f"cold -j2 {cold2:.2f} s ({cold2 / tu:.2f}x unzip's time, {tp / cold2:.1f}x faster than pip), "
          f"warm {warm:.2f} s ({tp / warm:.1f}x faster than pip); peak RSS so far {rss[0] / 1024:.1f} MB; "
          f"load {os.getloadavg()[0]:.2f}, {dentries()}")
    sys.stdout.flush()
print(f"peak RSS of any mambaboot run: {rss[0] / 1024:.1f} MB (want < 64)")
PY
