# mambaboot plan: order, JSON shape, and the graph errors (cycle, missing
# recipe, violated constraints, unknown target), all exit 2 before any write.
. "$MB_ROOT/tests/lib.sh"
G="$MB_ROOT/tests/recipes/graph"

# recipe NAME VERSION [DEPENDS...]: a one-artifact conda recipe in $R.
recipe() {
	n=$1 v=$2; shift 2
	{
		printf 'name: %s\nversion: "%s"\nkind: conda\n' "$n" "$v"
		printf 'depends:\n'; for d in "$@"; do printf '  - "%s"\n' "$d"; done
		printf 'artifacts:\n  - url: https://example.org/%s-%s-0.conda\n' "$n" "$v"
		printf '    sha256: %064d\n' 0
	} > "$R/$n.yaml"
}

run_mb plan --recipes "$G" diamond
expect_rc "diamond plans" 0
order=$(printf '%s\n' "$OUT" | awk '/^ *[0-9]+\./ {printf "%s ", $2}')
if [ "$order" = "d b c a " ]; then ok "diamond: shared dependency once, before both users"; else fail "diamond order" "got: $order"; fi
case $OUT in *"unpinned: b-2.0-py3-none-any.whl"*) ok "unpinned artifact marked" ;; *) fail "unpinned artifact marked" "$OUT" ;; esac
case $OUT in *"4 steps, 350 B"*"+1 artifact of unknown size"*) ok "known total size" ;; *) fail "known total size" "$OUT" ;; esac

run_mb plan --recipes "$G" diamond --json
expect_rc "plan --json" 0
if printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["targets"] == ["diamond"]
names = [s["name"] for s in d["steps"]]
assert names == ["d", "b", "c", "a"], names
a = d["steps"][3]
assert a["kind"] == "wheel" and a["depends"] == ["b", "c"], a
art = d["steps"][1]["artifacts"][0]
assert set(art) >= {"url", "filename", "sha256", "size", "pinned"}, art
assert art["pinned"] is False and art["sha256"] is None and art["size"] == 200
'; then ok "plan --json has targets, steps, depends, artifacts"; else fail "plan --json shape" "$OUT"; fi

run_mb plan --recipes "$G" c a
order=$(printf '%s\n' "$OUT" | awk '/^ *[0-9]+\./ {printf "%s ", $2}')
[ "$order" = "d c b a " ] && ok "several targets keep their order" || fail "several targets" "$order"

R="$T_TMP/cycle"; mkdir -p "$R"
recipe top 1.0 x; recipe x 1.0 y; recipe y 1.0 z; recipe z 1.0 x
run_mb plan --recipes "$R" top
expect_err "cycle is named" 2 "dependency cycle: x -> y -> z -> x"

R="$T_TMP/missing"; mkdir -p "$R"
recipe top 1.0 mid; recipe mid 1.0 ghost
run_mb plan --recipes "$R" top
expect_err "missing dependency named with its position" 2 "$R/mid.yaml:5:5: 'mid' depends on 'ghost', which no recipe"

R="$T_TMP/constraint"; mkdir -p "$R/stacks"
recipe causal-conv1d 1.2.0 "torch >=2.1,<2.2"; recipe torch 2.3.0
run_mb plan --recipes "$R" causal-conv1d
expect_err "violated depends constraint" 2 "'causal-conv1d' needs torch >=2.1,<2.2, but the recipe in $R/torch.yaml is torch 2.3.0"

R="$T_TMP/local"; mkdir -p "$R"
recipe user 1.0 "torch ==2.1.2"; recipe torch 2.1.2+cu118
run_mb plan --recipes "$R" user
expect_rc "a local label (+cu118) is ignored unless the constraint names one" 0

R="$T_TMP/stackc"; mkdir -p "$R/stacks"
recipe app 1.0 numpy; recipe numpy 2.0.1
printf 'stack: s\ntargets: [app]\nconstraints:\n  numpy: "<2"\n' > "$R/stacks/s.yaml"
run_mb plan --recipes "$R" s
expect_err "violated stack constraint" 2 "$R/stacks/s.yaml:4:10: stack 's' needs numpy <2, but the recipe in $R/numpy.yaml is numpy 2.0.1"

R="$T_TMP/condaeq"; mkdir -p "$R"
recipe gcc-user 1.0 "gcc =10"; recipe gcc 10.4.0
run_mb plan --recipes "$R" gcc-user
expect_rc "conda '=10' matches 10.4.0" 0
recipe gcc 11.1.0
run_mb plan --recipes "$R" gcc-user
expect_err "conda '=10' refuses 11.1.0" 2 "needs gcc =10"

run_mb plan --recipes "$G" nope
expect_err "unknown target" 2 "unknown target 'nope'"
run_mb plan --recipes "$T_TMP/does-not-exist"
expect_err "missing recipe directory" 2 "cannot open recipe directory"
run_mb plan --recipes "$G"
expect_err "no target means the stack mamba" 2 "unknown target 'mamba'"

R="$T_TMP/dupname"; mkdir -p "$R"
recipe Foo_Bar 1.0; recipe foo-bar 2.0
run_mb plan --recipes "$R" foo.bar
expect_err "names compare case- and separator-insensitively" 2 "recipe 'foo-bar' is also defined in"
done_testing
