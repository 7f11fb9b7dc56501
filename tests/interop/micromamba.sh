#!/bin/sh
# Interop with micromamba (issue #19): a prefix mambaboot installed conda
# packages into is one micromamba works on:
#   - `micromamba list -p` shows mambaboot's packages, with their builds;
#   - `micromamba install -p` of another package links only it (its
#     dependencies are seen as installed), and `mambaboot verify` then
#     passes (exit 0), naming that package's files as not mambaboot's;
#   - `micromamba remove -p` of a package mambaboot installed removes its
#     files and its conda-meta record; mambaboot's verify then names it as
#     removed by another tool and passes, its list marks it, and its
#     install puts it back.
# Needs micromamba: MM, else `micromamba` on PATH; without one it prints
# "SKIP" and exits 0 (../shared/peers/micromamba/build.sh builds 2.0.5 in
# about 13 minutes).  Not part of `make test`.  Run from the source tree:
#   MM=~/peers/bin/micromamba sh tests/interop/micromamba.sh
set -u
MB_ROOT=${MB_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
MB=${MB:-$MB_ROOT/mambaboot}
SHARED=${SHARED:-$MB_ROOT/../shared}
MM=${MM:-$(command -v micromamba || true)}
if [ -z "$MM" ] || [ ! -x "$MM" ]; then
	echo "SKIP: no micromamba (set MM=/path/to/micromamba or put it on PATH)"
	exit 0
fi
export MB MB_ROOT SHARED
. "$MB_ROOT/tests/lib.sh"
export MAMBA_ROOT_PREFIX="$T_TMP/mmroot" CONDA_PKGS_DIRS="$T_TMP/mmpkgs"
CH="$T_TMP/channel" P="$T_TMP/p" R="$T_TMP/r"
mkdir -p "$R"
python3 "$SHARED/peers/mkchannel.py" "$CH" 3 5 200 > /dev/null
# synth001 depends on synth000; mambaboot installs both, from file:// URLs.
synth_recipes "$CH" "$R" 000 001
run_mb install --recipes "$R" --cache "$T_TMP/cache" --prefix "$P" synth001
expect_rc "mambaboot installs synth000 and synth001" 0

mm() { "$MM" "$@" > "$T_TMP/mm.out" 2> "$T_TMP/mm.err"; }
if mm list -p "$P" --json && python3 - "$T_TMP/mm.out" <<'PY'
import json, sys
got = {(p["name"], p["version"], p["build_string"]) for p in json.load(open(sys.argv[1]))}
sys.exit(0 if {("synth000", "1.0", "0"), ("synth001", "1.0", "0")} <= got else 1)
PY
then ok "micromamba list -p shows mambaboot's packages"
else fail "micromamba list -p" "$(cat "$T_TMP/mm.out" "$T_TMP/mm.err" | tail -20)"; fi

if mm install -y -p "$P" --override-channels -c "file://$CH" synth002 &&
	[ -f "$P/conda-meta/synth002-1.0-0.json" ] && [ -f "$P/bin/synth002" ]; then
	ok "micromamba install -p links another package into the prefix"
else
	fail "micromamba install -p synth002" "$(cat "$T_TMP/mm.out" "$T_TMP/mm.err" | tail -20)"
fi
[ "$(awk '/^==> /{b=""} {b=b $0 "\n"} END{printf "%s", b}' "$P/conda-meta/history" | grep -c '^[-+].*synth00[01]-')" = 0 ] &&
	ok "micromamba relinked none of mambaboot's packages" || fail "micromamba relinked" "$(cat "$P/conda-meta/history")"

run_mb verify --prefix "$P"
expect_rc "mambaboot verify passes beside micromamba's package" 0
printf '%s\n' "$OUT" | grep -q "^foreign .*share/synth002/.*(synth002-1.0-0, not mambaboot's)" &&
	! printf '%s\n' "$OUT" | grep -q "^foreign .*synth00[01]" &&
	ok "verify names micromamba's files as not mambaboot's, and only those" || fail "verify's foreign files" "$OUT"

if mm remove -y -p "$P" --offline synth001 && [ ! -e "$P/conda-meta/synth001-1.0-0.json" ] &&
	[ ! -e "$P/bin/synth001" ] && [ -z "$(ls "$P/share/synth001" 2>/dev/null)" ]; then
	ok "micromamba remove -p removes a package mambaboot installed: files and record"
else
	fail "micromamba remove -p synth001" "$(cat "$T_TMP/mm.out" "$T_TMP/mm.err" | tail -20)"
fi

# mambaboot after micromamba removed one of its packages: verify names it
# as removed by another tool and passes, list marks it, install puts it
# back (micromamba then lists it again), and verify is clean.
run_mb verify --prefix "$P"
expect_rc "mambaboot verify passes after micromamba removed synth001" 0
printf '%s\n' "$OUT" | grep -q "^removed   conda-meta/synth001-1.0-0.json (synth001: another tool removed" &&
	! printf '%s\n' "$OUT" | grep -q "^missing" &&
	ok "verify names synth001 as removed by another tool, none of its files as missing" ||
	fail "verify after micromamba remove" "$OUT"
run_mb list --prefix "$P"
expect_rc "mambaboot list works after micromamba remove" 0
printf '%s\n' "$OUT" | grep -q "^  synth001 .*(removed by another tool: conda-meta/synth001-1.0-0.json)$" &&
	ok "mambaboot list marks synth001 as removed by another tool" || fail "mambaboot list" "$OUT"
run_mb install --recipes "$R" --cache "$T_TMP/cache" --prefix "$P" synth001
expect_rc "mambaboot install after micromamba remove" 0
[ -f "$P/conda-meta/synth001-1.0-0.json" ] && [ -f "$P/bin/synth001" ] &&
	ok "mambaboot install puts synth001 back" || fail "synth001 not back" "$OUT" "$(ls "$P/conda-meta")"
if mm list -p "$P" --json && python3 - "$T_TMP/mm.out" <<'PY'
import json, sys
got = {p["name"] for p in json.load(open(sys.argv[1]))}
sys.exit(0 if {"synth000", "synth001"} <= got else 1)
PY
then ok "micromamba lists synth001 again"
else fail "micromamba list after mambaboot install" "$(cat "$T_TMP/mm.out" "$T_TMP/mm.err" | tail -20)"; fi
run_mb verify --prefix "$P"
expect_rc "mambaboot verify passes after it" 0
printf '%s\n' "$OUT" | grep -q "^removed" && fail "still named as removed" "$OUT" ||
	ok "verify names nothing as removed any more"
done_testing
