#!/usr/bin/env python3
"""Warm conda installs against `cp -al` (issue #19), interleaved.

  conda_warm.py ROUNDS RECIPES CACHE REF_PREFIX WORKDIR MB [MB...]

RECIPES: a recipe directory with a stack 'all' (see
../shared/peers/conda-vs-micromamba.sh for making one from mkchannel.py's
channel); CACHE: a package cache that already holds every package unpacked
(a first install fills it); REF_PREFIX: a prefix installed from it, which
`cp -al` copies.  Per round every binary installs into a new prefix under
WORKDIR, then `cp -al REF_PREFIX` runs, the order rotating each round;
`sync` before each.  Nothing is deleted (ext4 makes files slower for a
while after a mass delete).  Prints min/median wall and CPU (user+sys of
the child) and the median ratios to cp -al.
"""
import os, statistics, sys

from timing import timed

rounds, recipes, cache, ref, work = int(sys.argv[1]), *sys.argv[2:6]
bins = sys.argv[6:]
base = os.path.join(work, "warm-%d" % os.getpid())
os.makedirs(base)
res = {}


tools = [(f"{i}:{os.path.basename(b)}", b) for i, b in enumerate(bins)] + [("cp -al", None)]
for r in range(rounds):
    for tag, b in tools[r % len(tools):] + tools[:r % len(tools)]:
        dst = os.path.join(base, f"{len(res.get(tag, []))}-{tag.replace(' ', '').replace(':', '-')}")
        if b:
            timed(res, tag, [b, "install", "all", "--recipes", recipes, "--prefix", dst, "--cache", cache, "-y"])
        else:
            timed(res, tag, ["cp", "-al", ref, dst])
cp = statistics.median(w for w, _ in res["cp -al"]), statistics.median(c for _, c in res["cp -al"])
for tag, v in res.items():
    w, c = [x[0] for x in v], [x[1] for x in v]
    print(f"{tag:20s} wall min {min(w):.3f} med {statistics.median(w):.3f} s ({statistics.median(w) / cp[0]:.2f}x cp -al)"
          f"   cpu min {min(c):.3f} med {statistics.median(c):.3f} s ({statistics.median(c) / cp[1]:.2f}x)")
