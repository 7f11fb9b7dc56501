#!/bin/sh
# mambaboot lock (issue #17) over a generated repodata.json of BENCH_LOCK_MB
# megabytes (300), shaped like conda-forge's linux-64 one (packages and
# packages.conda, ~1 kB entries with depends lists), with three wanted
# files: near the start, in the middle and at the end.  Wall time and peak
# RSS (/usr/bin/time -v) of `mambaboot lock` reading it through file://,
# and through file:// as repodata.json.zst (zstd -3), against
# python3 -c 'import json; json.load(open(...))' on the same file.  Best of
# BENCH_RUNS (3); the file is read once before timing, so every run finds
# it in the page cache.  The goals: under 1 s and under 128 MB.
set -eu
MB=${MB:-./mambaboot}
case $MB in /*) ;; *) MB=$(pwd)/$MB ;; esac
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-lock.XXXXXX")
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT INT TERM
mkdir -p "$W/plain/linux-64" "$W/zst/linux-64" "$W/recipes"
python3 - "$W/plain/linux-64/repodata.json" "${BENCH_LOCK_MB:-300}" <<'PY'
import json, random, sys
path, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(17)
target = mb << 20
def entry(name, i, ext):
    deps = [f"lib{rnd.randrange(5000)} >={rnd.randrange(9)}.{rnd.randrange(20)}" for _ in range(rnd.randrange(3, 14))]
    e = {"build": f"h{i:08x}_0", "build_number": 0, "depends": deps, "license": "BSD-3-Clause",
         "md5": "%032x" % rnd.getrandbits(128), "name": name, "sha256": "%064x" % rnd.getrandbits(256),
         "size": rnd.randrange(1000, 10**8), "subdir": "linux-64", "timestamp": 1700000000000 + i,
         "version": f"{rnd.randrange(10)}.{rnd.randrange(30)}.{rnd.randrange(9)}"}
    return f"{name}-{e['version']}-{e['build']}{ext}", e
with open(path, "w") as f:
    f.write('{"info": {"subdir": "linux-64"}, "packages": {')
    written, i, middle = 0, 0, False
    for section, ext in (("packages", ".tar.bz2"), ("packages.conda", ".conda")):
        if section == "packages.conda":
            f.write('}, "packages.conda": {')
        first = True
        limit = target * (1 if ext == ".conda" else 0.4)
        while written < limit:
            name = "want-start" if i == 10 else f"pkg{i % 40000}"
            if not middle and written > target * 0.7:
                name, middle = "want-middle", True
            key, e = entry(name, i, ext)
            s = ("" if first else ",") + json.dumps(key) + ":" + json.dumps(e)
            f.write(s); written += len(s); first = False; i += 1
        if ext == ".conda":
            key, e = entry("want-end", i, ext)
            f.write("," + json.dumps(key) + ":" + json.dumps(e))
    f.write('}, "removed": [], "repodata_version": 1}\n')
PY
R=$W/plain/linux-64/repodata.json
names=$(python3 - "$R" <<'PY'
import re, sys
data = open(sys.argv[1]).read()
print(" ".join(re.findall(r'"(want-[a-z]+-[^"]+)"', data)))
PY
)
command -v zstd >/dev/null && zstd -q -3 -T0 -o "$W/zst/linux-64/repodata.json.zst" "$R"
for kind in plain zst; do
	{ printf 'name: benchpkgs\nversion: "1"\nkind: conda\nartifacts:\n'
	  for n in $names; do printf '  - url: file://%s/%s/linux-64/%s\n' "$W" "$kind" "$n"; done; } > "$W/recipes/$kind.yaml"
	sed -i "s/^name: benchpkgs/name: bench-$kind/" "$W/recipes/$kind.yaml"
done
cat "$R" > /dev/null
echo "repodata.json: $(($(stat -c %s "$R") >> 20)) MB, .zst: $(($(stat -c %s "$W/zst/linux-64/repodata.json.zst" 2>/dev/null || echo 0) >> 20)) MB; wanted: $names"
# measure NAME COMMAND...: best wall seconds and peak RSS of BENCH_RUNS runs
measure() {
	name=$1; shift
	best= rss=
	for run in $(seq "${BENCH_RUNS:-3}"); do
		rm -f "$W/recipes/lock.yaml"
		/usr/bin/time -v "$@" > /dev/null 2> "$W/time" || { echo "$name failed:"; tail -5 "$W/time"; return 1; }
		t=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$W/time")
		m=$(awk -F': ' '/Maximum resident set size/ { print int($2 / 1024) }' "$W/time")
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" -eq 1 ]; then best=$t rss=$m; fi
	done
	printf '%-34s %6.2f s  %5d MB peak RSS\n' "$name" "$best" "$rss"
}
measure "mambaboot lock (repodata.json)" "$MB" lock --recipes "$W/recipes" bench-plain
grep -c 'source: repodata' "$W/recipes/lock.yaml" | grep -qx 3 || { echo "lock did not find the 3 wanted files"; cat "$W/recipes/lock.yaml"; exit 1; }
if [ -f "$W/zst/linux-64/repodata.json.zst" ]; then
	measure "mambaboot lock (repodata.json.zst)" "$MB" lock --recipes "$W/recipes" bench-zst
fi
measure "python3 json.load" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$R"
