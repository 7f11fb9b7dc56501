# A conda package another tool removed from a prefix mambaboot installed it
# into (issue #19: micromamba remove -p, conda remove -p): the tool deletes
# its files and its conda-meta record, and leaves .mambaboot/ as it was.
# verify names the package as removed, not its files as missing, and
# passes; list marks it; install puts it back; remove forgets it.
. "$MB_ROOT/tests/lib.sh"
CH="$T_TMP/channel" P="$T_TMP/p" R="$T_TMP/r"
mkdir -p "$R"
python3 "$SHARED/peers/mkchannel.py" "$CH" 2 5 200 > /dev/null
synth_recipes "$CH" "$R" 000 001
mb() { run_mb "$@" --recipes "$R" --cache "$T_TMP/cache" --prefix "$P"; }
mb install synth001
expect_rc "install synth000 and synth001" 0

# What `micromamba remove -p P synth001` does to the prefix: every file its
# record lists, then the record.
python3 - "$P" <<'PY'
import json, os, sys
rec = os.path.join(sys.argv[1], "conda-meta", "synth001-1.0-0.json")
for f in json.load(open(rec))["files"]:
    os.unlink(os.path.join(sys.argv[1], f))
os.unlink(rec)
PY
[ ! -e "$P/bin/synth001" ] && ok "synth001 removed behind mambaboot's back" || fail "the removal"

run_mb verify --prefix "$P"
expect_rc "verify passes: a package another tool removed is no damage" 0
printf '%s\n' "$OUT" | grep -q "^removed   conda-meta/synth001-1.0-0.json (synth001: another tool removed" &&
	! printf '%s\n' "$OUT" | grep -q "^missing" &&
	printf '%s\n' "$OUT" | grep -q "; 1 conda package removed by another tool (" &&
	ok "verify names the package as removed by another tool, no file as missing" ||
	fail "verify's report of the removed package" "$OUT"
run_mb verify --prefix "$P" --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] and d["problems"] == [], d
assert d["removed"] == [{"recipe": "synth001", "record": "conda-meta/synth001-1.0-0.json"}], d
' && ok "verify --json: removed, ok, no problems" || fail "verify --json" "$OUT"

# A changed file is still a failure, beside the removed package.
cp -a "$P" "$T_TMP/p3"
echo changed > "$T_TMP/p3/share/synth000/f0000.txt"
run_mb verify --prefix "$T_TMP/p3"
expect_rc "verify still fails on a modified file beside it" 4
printf '%s\n' "$OUT" | grep -qx "modified  share/synth000/f0000.txt (synth000)" &&
	printf '%s\n' "$OUT" | grep -q "^removed   conda-meta/synth001-1.0-0.json" &&
	ok "verify names both" || fail "verify with a modified file" "$OUT"

run_mb list --prefix "$P"
expect_rc "list works" 0
printf '%s\n' "$OUT" | grep -q "^  synth001 .*(removed by another tool: conda-meta/synth001-1.0-0.json)$" &&
	! printf '%s\n' "$OUT" | grep -q "^  synth000 .*removed" &&
	ok "list marks synth001, and only it, as removed by another tool" || fail "list" "$OUT"
run_mb list --prefix "$P" --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = {r["name"]: r["removed_by_another_tool"] for r in json.load(sys.stdin)["recipes"]}
assert d == {"synth000": [], "synth001": ["conda-meta/synth001-1.0-0.json"]}, d
' && ok "list --json: removed_by_another_tool" || fail "list --json" "$OUT"

cp -a "$P" "$T_TMP/p2"
mb install synth001
expect_rc "install again" 0
[ -f "$P/conda-meta/synth001-1.0-0.json" ] && [ -f "$P/bin/synth001" ] &&
	ok "install puts the removed package back" || fail "install after the removal" "$OUT" "$(ls -R "$P" | head -20)"
last_block() { awk '/^==> /{b=""} {b=b $0 "\n"} END{printf "%s", b}' "$1/conda-meta/history"; }
last_block "$P" | grep -qx -- "+file://$CH/linux-64::synth001-1.0-0" &&
	last_block "$P" | grep -qx -- "# update specs: \['synth001'\]" &&
	ok "the history records synth001 linked again" || fail "history after install" "$(last_block "$P")"
run_mb verify --prefix "$P"
expect_rc "verify passes after it" 0
printf '%s\n' "$OUT" | grep -q "removed" && fail "still removed after install" "$OUT" || ok "nothing removed after install"

P="$T_TMP/p2"
run_mb remove synth001 --prefix "$P"
expect_rc "remove forgets a package another tool removed" 0
# synth000 goes too: only synth001 was asked for.
[ ! -e "$P/conda-meta/synth000-1.0-0.json" ] && [ ! -e "$P/bin/synth000" ] &&
	! grep -q synth00 "$P/.mambaboot/state.json" && ok "the state forgets synth001, and synth000 with it" ||
	fail "remove after the removal" "$(cat "$P/.mambaboot/state.json")"
last_block "$P" | grep -qx -- "-file://$CH/linux-64::synth000-1.0-0" &&
	! last_block "$P" | grep -q "::synth001-" &&
	ok "the history records synth000's removal, not synth001's again" || fail "history after remove" "$(last_block "$P")"
run_mb verify --prefix "$P"
expect_rc "verify passes after remove" 0

# One recipe of two conda packages: another tool removes one; a file of the
# other missing is still damage.
R2="$T_TMP/r2" P2="$T_TMP/pair"
mkdir -p "$R2"
{
	printf 'name: pair\nversion: "1.0"\nkind: conda\nartifacts:\n'
	for n in 000 001; do
		f="$CH/linux-64/synth$n-1.0-0.tar.bz2"
		printf '  - url: file://%s\n    sha256: %s\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)"
	done
} > "$R2/pair.yaml"
run_mb install pair --recipes "$R2" --cache "$T_TMP/cache" --prefix "$P2"
expect_rc "install a recipe of two conda packages" 0
rm -r "$P2/share/synth001" "$P2/bin/synth001" "$P2/conda-meta/synth001-1.0-0.json" "$P2/share/synth000/f0000.txt"
run_mb verify --prefix "$P2"
expect_rc "a file of the package still there, missing: verify fails" 4
printf '%s\n' "$OUT" | grep -qx "missing   share/synth000/f0000.txt (pair)" &&
	! printf '%s\n' "$OUT" | grep -q "^missing .*synth001" &&
	ok "it is named missing; the removed package's files are not" || fail "pair verify" "$OUT"
done_testing
