#!/usr/bin/env python3
"""Cold conda installs against `xargs -P<cpus> bsdtar -x` (issue #19), interleaved.

  conda_cold.py ROUNDS CHANNEL WORKDIR MB [MB...]

CHANNEL: a directory made by ../shared/peers/mkchannel.py holding
linux-64/*.tar.bz2 and recipes/ with a stack 'all' (as
../shared/peers/conda-vs-micromamba.sh writes it).  Each round every
binary first fetches 'all' into a new cache of its own (untimed, then the
blobs are read once so that they are in the page cache, as bsdtar's
archives are); then the floor (every archive unpacked into one new folder
by `xargs -P<cpus> -n1 bsdtar -x --exclude info`) and each binary's
`install all` into a new prefix run in turn, the order reversed every
other round, `sync` before each.  Nothing is deleted: ext4 makes files
slower for minutes after a mass delete.  Prints min/median wall, the
median CPU (user+sys of the children) and the ratios to the floor.
"""
import os, statistics, subprocess, sys

from timing import timed

rounds, chan, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
bins = sys.argv[4:]
recipes = os.path.join(chan, "recipes")
base = os.path.join(work, "cold-%d" % os.getpid())
os.makedirs(base)
cpus = os.cpu_count() or 1
res, made = {}, [0]


def fresh(kind):
    made[0] += 1
    return os.path.join(base, f"{kind}{made[0]}")


def fetched(b):
    cache = fresh("cache")
    subprocess.run([b, "fetch", "all", "--recipes", recipes, "--cache", cache, "-q"], check=True)
    for e in os.scandir(os.path.join(cache, "blobs", "sha256")):
        with open(e.path, "rb") as f:
            while f.read(1 << 20):
                pass
    return cache


floor = "xargs -P%d bsdtar" % cpus
tools = [(floor, None)] + [(f"{i}:{os.path.basename(b)}", b) for i, b in enumerate(bins)]
for r in range(rounds):
    caches = {b: fetched(b) for _, b in tools if b}
    for tag, b in tools if r % 2 == 0 else tools[::-1]:
        dst = fresh("out")
        if b:
            timed(res, tag, [b, "install", "all", "--recipes", recipes, "--prefix", dst,
                        "--cache", caches[b], "-q"])
        else:
            os.makedirs(dst)
            timed(res, tag, ["sh", "-c", f'ls "{chan}"/linux-64/*.tar.bz2 | '
                        f'xargs -P{cpus} -n1 bsdtar -x --exclude info -C "{dst}" -f'])
fw = [w for w, _ in res[floor]]
for tag, v in res.items():
    w, c = [x[0] for x in v], [x[1] for x in v]
    print(f"{tag:24s} wall min {min(w):.3f} med {statistics.median(w):.3f} s"
          f" ({min(w) / min(fw):.2f} / {statistics.median(w) / statistics.median(fw):.2f} of the floor)"
          f"   cpu med {statistics.median(c):.3f} s")
