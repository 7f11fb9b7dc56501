# The shipped recipe sets: recipes/ (stack mamba) and share/mambaboot/demo
# (stack demo) load and plan, their pins are well-formed, the stack's
# constraints are enforced, and the cu118 wheel's '+' survives the URL.
. "$MB_ROOT/tests/lib.sh"
R="$MB_ROOT/recipes"
D="$MB_ROOT/share/mambaboot/demo/recipes"

# steps_of: the step names of a plan --json on stdin, one per line.
steps_of() { python3 -c 'import json,sys; print("\n".join(s["name"] for s in json.load(sys.stdin)["steps"]))'; }

run_mb plan --recipes "$R" mamba
expect_rc "plan mamba succeeds" 0
case $OUT in *" mamba-ssm "*) ok "plan mamba lists mamba-ssm" ;; *) fail "plan mamba lists mamba-ssm" "$OUT" ;; esac

run_mb plan --recipes "$R" mamba --json
expect_rc "plan mamba --json succeeds" 0
printf '%s' "$OUT" > "$T_TMP/mamba.json"
if python3 - "$T_TMP/mamba.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = [s["name"] for s in d["steps"]]
pos = {n: i for i, n in enumerate(names)}
for s in d["steps"]:
    for dep in s["depends"]:
        assert pos[dep] < pos[s["name"]], (dep, s["name"])
for t in ["mamba-ssm", "causal-conv1d", "transformers", "torchvision", "torchaudio"]:
    assert t in pos, t
assert pos["causal-conv1d"] < pos["mamba-ssm"]
PY
then ok "plan mamba --json: every recipe after what it depends on"; else fail "plan mamba --json order" "$(head -c 400 "$T_TMP/mamba.json")"; fi

# Every recipe file is reached from the stack: nothing shipped is dead.
printf '%s' "$OUT" | steps_of | sort > "$T_TMP/planned"
for f in "$R"/*.yaml; do sed -n 's/^name: *//p' "$f"; done | sort > "$T_TMP/files"
if cmp -s "$T_TMP/planned" "$T_TMP/files"; then ok "every recipe in recipes/ is part of the mamba stack"
else fail "every recipe in recipes/ is part of the mamba stack" "$(diff "$T_TMP/planned" "$T_TMP/files")"; fi

run_mb plan --recipes "$D" demo
expect_rc "plan demo succeeds" 0
run_mb plan --recipes "$D" demo --json
expect_rc "plan demo --json succeeds" 0
got=$(printf '%s' "$OUT" | steps_of | tr '\n' ' ')
case $got in *mbdemo-data*mbdemo-hello*mbdemo-tool*) ok "plan demo --json has the three demo recipes" ;;
*) fail "plan demo --json has the three demo recipes" "$got" ;; esac
if printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
arts = [a for s in d["steps"] for a in s["artifacts"]]
assert len(arts) == 3 and all(a["pinned"] for a in arts), arts'
then ok "every demo artifact is pinned"; else fail "every demo artifact is pinned" "$OUT"; fi

# Pins are 64 lowercase hex digits, and none is a made-up placeholder.
bad=$(grep -hE '^[[:space:]-]*(tree_)?sha256:' "$R"/*.yaml "$D"/*.yaml |
	sed -E 's/^[[:space:]-]*(tree_)?sha256:[[:space:]]*//' |
	grep -vE '^[0-9a-f]{64}$|^$')
[ -z "$bad" ] && ok "every sha256/tree_sha256 is 64 lowercase hex" || fail "sha256 format" "$bad"
dull=$(grep -hE '^[[:space:]-]*(tree_)?sha256:' "$R"/*.yaml "$D"/*.yaml | grep -E '([0-9a-f])\1{15}')
[ -z "$dull" ] && ok "no sha256 is a placeholder (16 equal digits in a row)" || fail "placeholder sha256" "$dull"
n=$(grep -cE '^[[:space:]-]*(tree_)?sha256:' "$R"/*.yaml | awk -F: '{s += $2} END {print s}')
[ "$n" -ge 30 ] && ok "recipes/ pins $n artifacts" || fail "recipes/ pins too few artifacts" "$n"

# An unpinned artifact must say why, in its file.
why=$(python3 - "$T_TMP/mamba.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["steps"]:
    if any(not a["pinned"] for a in s["artifacts"]):
        print(s["name"])
PY
)
missing=""
for n in $why; do grep -q 'NOT FOUND' "$R/$n.yaml" || missing="$missing $n"; done
[ -n "$why" ] && [ -z "$missing" ] && ok "each recipe with an unpinned artifact says NOT FOUND and how to get it" ||
	fail "unpinned artifacts explained" "without NOT FOUND:$missing" "unpinned: $why"

# The cu118 wheels: the URL carries %2B, the file name the '+'.
if python3 - "$T_TMP/mamba.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = {s["name"]: s for s in d["steps"]}["torch"]["artifacts"][0]
assert a["filename"] == "torch-2.1.2+cu118-cp310-cp310-linux_x86_64.whl", a
assert "%2Bcu118" in a["url"], a
assert a["sha256"] == "60396358193f238888540f4a38d78485f161e28ec17fa445f0373b5350ef21f0", a
PY
then ok "torch cu118 file name decodes %2B to '+'"; else fail "torch cu118 file name" "$(head -c 300 "$T_TMP/mamba.json")"; fi

# The stack's constraints are enforced: a recipe edited into a known trap
# makes plan fail.  (Each case edits a copy of the shipped set.)
trap_case() { # NAME RECIPE FROM TO WANT
	rm -rf "$T_TMP/set" && cp -R "$R" "$T_TMP/set"
	sed -i "s/^version: \"$3\"/version: \"$4\"/" "$T_TMP/set/$2.yaml"
	run_mb plan --recipes "$T_TMP/set" mamba
	expect_err "$1" 2 "$5"
}
trap_case "numpy 2 is refused (torch 2.1 is built against NumPy 1)" numpy 1.26.4 2.0.0 "needs numpy <2"
trap_case "setuptools 70 is refused (pkg_resources.packaging)" setuptools 69.2.0 70.0.0 "needs setuptools"
trap_case "wheel 0.46 is refused (wheel.bdist_wheel)" wheel 0.43.0 0.46.0 "needs wheel"
trap_case "transformers 4.39 is refused" transformers 4.38.2 4.39.0 "needs transformers"
trap_case "causal-conv1d 1.1 is refused (ABI-coupled with mamba 1.2)" causal-conv1d 1.2.0 1.1.3 "causal-conv1d"
trap_case "gcc 11 is refused" gcc 10.4.0 11.4.0 "needs gcc =10"

# compat.yaml (doctor's data): every version range in it is one plan accepts.
C="$MB_ROOT/share/mambaboot/compat.yaml"
mkdir -p "$T_TMP/compat/stacks"
printf 'name: x\nversion: "1.0"\nkind: conda\nartifacts:\n  - url: https://example.org/x-1.0-0.conda\n' > "$T_TMP/compat/x.yaml"
if python3 - "$C" "$T_TMP/compat/stacks/ranges.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
ranges = []
for flow in re.findall(r'(?:when|require):\s*\{([^}]*)\}', text):
    ranges += re.findall(r'"([^"]+)"', flow)
assert len(ranges) > 10, ranges
with open(sys.argv[2], "w") as f:
    f.write("stack: ranges\ntargets: [x]\nconstraints:\n")
    for i, r in enumerate(ranges):
        f.write('  r%d: "%s"\n' % (i, r))
PY
then
	run_mb plan --recipes "$T_TMP/compat" ranges
	expect_rc "every range in compat.yaml parses as a constraint" 0
else
	fail "compat.yaml ranges extracted" "$C"
fi

# The reference tree_sha256 (tests/tools/tree_sha256.py, which pinned the
# source recipes): the SPEC listing, from a tarball and from a directory.
mkdir -p "$T_TMP/tree/top/a" && cd "$T_TMP/tree" || exit 1
printf 'x\n' > top/a/b; printf 'y\n' > top/a-b; printf '#!/bin/sh\n' > top/run; chmod 755 top/run
printf 'z\n' > top/a.txt; ln -s a/b top/link
tar -cf tree.tar top && cd "$MB_ROOT" || exit 1
h() { printf "$1" | sha256sum | cut -d' ' -f1; }
want=$(printf 'a-b\tf\t%s\na.txt\tf\t%s\na/b\tf\t%s\nlink\tl\ta/b\nrun\tx\t%s\n' \
	"$(h 'y\n')" "$(h 'z\n')" "$(h 'x\n')" "$(h '#!/bin/sh\n')")
got=$(python3 tests/tools/tree_sha256.py --listing "$T_TMP/tree/tree.tar")
[ "$got" = "$want" ] && ok "tree_sha256 listing: bytewise order, f/x/l, top dir stripped" ||
	fail "tree_sha256 listing" "got:" "$got" "want:" "$want"
a=$(python3 tests/tools/tree_sha256.py "$T_TMP/tree/tree.tar")
b=$(python3 tests/tools/tree_sha256.py "$T_TMP/tree/top")
c=$(printf '%s\n' "$want" | sha256sum | cut -d' ' -f1)
[ "$a" = "$b" ] && [ "$a" = "$c" ] && ok "tree_sha256 of the tarball = of the unpacked directory = sha256 of the listing" ||
	fail "tree_sha256 agreement" "tar $a dir $b listing $c"
done_testing
