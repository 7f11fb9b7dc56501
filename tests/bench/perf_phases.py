#!/usr/bin/env python3
"""Where a warm install's CPU goes (issue #19), from
  perf record --call-graph dwarf,32768 -F 4000 -o DATA MB install ...
Each sample of a process whose name starts with COMM (default "mb", the
binary's name) goes to the first system-call wrapper on its stack, leaf
side first, else to the first mambaboot phase function, else "other".
  perf_phases.py DATA [COMM]
"""
import collections, os, re, subprocess, sys
out = subprocess.run(["perf", "script", "-i", sys.argv[1], "-F", "comm,tid,ip,sym"],
                     capture_output=True, text=True).stdout
sysc = [
    ("linkat", r"linkat"),
    ("fstatat/stat", r"fstatat|^__GI___stat|^stat$|lstat"),
    ("mkdir/mkdirat (staging dirs, conda-meta)", r"mkdir"),
    ("rmdir (staging cleanup)", r"rmdir"),
    ("fsync", r"fsync"),
    ("rename (placing into the prefix)", r"^rename|renameat"),
    ("open/read/write/close/getdents (json files, journal)", r"open64|openat|libc_read|libc_write|__close|getdents|nocancel"),
]
user = [
    ("json: metadata read (index.json, paths.json)", r"^(read_meta|load_info)$"),
    ("json: conda-meta record build + dump", r"^write_record$"),
    ("json: conda-meta re-read (post-link, history)", r"^(mb_conda_post_link|mb_conda_history)$"),
    ("json: file lists + state.json", r"^(mb_txn_set_recipe|mb_state_write|mb_state_read|next_state|mb_txn_commit)$"),
    ("user: link loop bookkeeping (paths, owned list)", r"^(link_all|link_one|link_file|mb_conda_install)$"),
]
cre = [(n, re.compile(r)) for n, r in sysc + user]
cnt = collections.Counter(); total = 0; other = collections.Counter()
def classify(frames):
    for f in frames:
        for n, r in cre[:len(sysc)]:
            if r.search(f): return n
    for f in frames:
        for n, r in cre[len(sysc):]:
            if r.search(f): return n
    other[" < ".join(frames[:3])] += 1
    return "other (startup, malloc, plan, unresolved)"
comm = sys.argv[2] if len(sys.argv) > 2 else "mb"
sample = None; frames = []
def flush():
    global total
    if sample and sample.startswith(comm):
        total += 1; cnt[classify(frames)] += 1
for line in out.splitlines():
    if line and not line.startswith("\t"):
        flush(); sample = line.strip(); frames = []
    elif line.strip():
        p = line.split(None, 1); frames.append((p[1] if len(p) > 1 else "").replace(" (inlined)", ""))
flush()
for n, _ in sysc + user + [("other (startup, malloc, plan, unresolved)", None)]:
    print(f"| {n} | {100.0*cnt[n]/total:5.1f}% |")
print("samples", total)
if os.environ.get("SHOW_OTHER"):
    for k, v in other.most_common(15): print(v, k)
