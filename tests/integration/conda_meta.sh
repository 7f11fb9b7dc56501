# conda-meta fidelity (issue #19): each record carries what conda and
# micromamba write (the keys and JSON types of the reference records in
# corpus/conda-meta, apart from the noarch-only ones), and true values:
# md5 and sha256 of the package (md5 taken in the download's pass, kept in
# CACHE/blobs/md5), requested_spec (the constraint that asked for the
# package, name==version=build for a dependency), sha256_in_prefix and
# size_in_bytes of the relocated files.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
CACHE="$T_TMP/cache"
P="$T_TMP/p"
R="$T_TMP/r"
mkdir -p "$R"
REF="$SHARED/corpus/conda-meta"
CHECK="$MB_ROOT/tests/tools/condameta.py"
K="$C/conda"
python_recipe "$R"
# xtensor-io has text placeholders; small-executable comes with it as a dependency.
conda_recipe "$R" xio 0.10.3 "$K/xtensor-io-0.10.3-hb585cf6_0.tar.bz2" "$K/small-executable-1.0.0-0.conda"
conda_recipe "$R" sample 1.0.0 "$K/sample_noarch_python-1.0.0-py_0.conda" -- python "xio >=0.10,<1"

mb_install --recipes "$R" sample
expect_rc "install of two recipes, three conda packages" 0

record() { # NAME PACKAGE SPEC
	rec="$P/conda-meta/$1.json"
	if python3 "$CHECK" "$REF" "$P" "$rec" "$2" "$3" > "$T_TMP/check" 2>&1; then
		ok "$1: the reference's keys and types, and true values (requested_spec '$3')"
	else
		fail "$1: record" "$(head -8 "$T_TMP/check")"
	fi
}
record xtensor-io-0.10.3-hb585cf6_0 "$K/xtensor-io-0.10.3-hb585cf6_0.tar.bz2" "xtensor-io >=0.10,<1"
record small-executable-1.0.0-0 "$K/small-executable-1.0.0-0.conda" "small-executable==1.0.0=0"
record sample_noarch_python-1.0.0-py_0 "$K/sample_noarch_python-1.0.0-py_0.conda" "sample_noarch_python"

rec="$P/conda-meta/xtensor-io-0.10.3-hb585cf6_0.json"
python3 - "$rec" <<'PY' && ok "a relocated file: sha256 the package's, sha256_in_prefix the prefix's" || fail "relocated file in paths_data" "$(cat "$rec" | head -40)"
import json, sys
paths = json.load(open(sys.argv[1]))["paths_data"]["paths"]
moved = [e for e in paths if e.get("prefix_placeholder")]
sys.exit(0 if moved and all(e["sha256"] != e["sha256_in_prefix"] and e["file_mode"] == "text" for e in moved) else 1)
PY

# The checker can fail: a record without md5, or with size_in_bytes as a string.
python3 - "$rec" "$T_TMP/bad1.json" "$T_TMP/bad2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); del r["md5"]; json.dump(r, open(sys.argv[2], "w"))
r = json.load(open(sys.argv[1])); r["paths_data"]["paths"][0]["size_in_bytes"] = "1"; json.dump(r, open(sys.argv[3], "w"))
PY
for bad in bad1 bad2; do
	if python3 "$CHECK" "$REF" "$P" "$T_TMP/$bad.json" > "$T_TMP/check" 2>&1; then
		fail "the checker refuses a damaged record ($bad)"
	else
		ok "the checker refuses a damaged record ($bad): $(head -1 "$T_TMP/check")"
	fi
done

# md5 came from the download's own pass, kept beside the blob; a cache
# without it (an older one) gets it from the blob on the next install.
h=$(sha256sum "$K/small-executable-1.0.0-0.conda" | cut -d' ' -f1)
[ "$(cat "$CACHE/blobs/md5/$h")" = "$(md5sum < "$K/small-executable-1.0.0-0.conda" | cut -d' ' -f1)" ] &&
	ok "the download kept its md5 in CACHE/blobs/md5" || fail "CACHE/blobs/md5" "$(ls -l "$CACHE/blobs/md5")"
rm -rf "$CACHE/blobs/md5" "$P"
mb_install --recipes "$R" sample
expect_rc "install again from the cache, which has no md5 kept" 0
record small-executable-1.0.0-0 "$K/small-executable-1.0.0-0.conda" "small-executable==1.0.0=0"

run_mb verify --prefix "$P"
expect_rc "verify passes" 0

# A package another tool linked (micromamba install -p): its record and
# files are no recipe's; verify names them as foreign and passes.
mkdir -p "$P/share/other"
echo x > "$P/share/other/o.txt"
printf '{"name": "other", "version": "2.0", "build": "0", "files": ["share/other/o.txt"]}\n' \
	> "$P/conda-meta/other-2.0-0.json"
run_mb verify --prefix "$P"
expect_rc "verify passes beside another tool's package" 0
printf '%s\n' "$OUT" | grep -qx "foreign   share/other/o.txt (other-2.0-0, not mambaboot's)" &&
	! printf '%s\n' "$OUT" | grep -q "foreign .*xtensor" &&
	ok "verify names its files as not mambaboot's, and only those" || fail "foreign files named" "$OUT"
run_mb verify --prefix "$P" --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] and d["foreign"] == [{"package": "other-2.0-0", "path": "share/other/o.txt"}], d
' && ok "--json lists them under foreign" || fail "--json foreign" "$OUT"
# A relative --cache: the records name the cache by its absolute path, as
# conda does, so that other tools find the entries from any directory.
cd "$T_TMP" || exit 1
run_mb install sample --recipes "$R" --prefix "$T_TMP/p2" --cache relcache --mirror "$MIRROR" --offline
cd - > /dev/null || exit 1
expect_rc "install with a relative --cache" 0
python3 - "$T_TMP/p2/conda-meta/xtensor-io-0.10.3-hb585cf6_0.json" "$T_TMP/relcache" <<'PY' &&
import json, os, sys
r, cache = json.load(open(sys.argv[1])), os.path.realpath(sys.argv[2])
paths = [r["extracted_package_dir"], r["package_tarball_full_path"], r["link"]["source"]]
sys.exit(0 if all(p.startswith(cache + "/") and os.path.exists(p) for p in paths) else 1)
PY
	ok "the records name the cache's entry and blob by absolute paths" ||
	fail "absolute cache paths" "$(grep -E 'extracted|tarball|source' "$T_TMP/p2/conda-meta/xtensor-io-0.10.3-hb585cf6_0.json")"
done_testing
