# Many conda packages in one install (issue #19): their cache entries are
# made on --jobs threads ahead of the linking, and the result is the one a
# single thread gives: the same files and records, a clean CACHE/tmp.  A
# hostile package among them fails the install with one error line, as
# alone, and nothing reaches the prefix.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
R="$T_TMP/r"
mkdir -p "$R/stacks"
for i in $(seq -w 1 12); do
	f="$T_TMP/pkg$i-1.0-0.tar.bz2"
	python3 "$MB_ROOT/tests/tools/mkconda.py" "$f" "pkg$i" "file:share/pkg$i/a.txt=$i" \
		"exe:bin/pkg$i=#!/bin/sh" "link:share/pkg$i/b.txt=a.txt" > /dev/null
	conda_recipe "$R" "pkg$i" 1.0 "$f"
done
printf 'stack: all\ntargets: [%s]\n' "$(seq -s, -f 'pkg%02g' 1 12)" > "$R/stacks/all.yaml"
tree() { (cd "$1" && find . -path ./.mambaboot -prune -o -path ./conda-meta -prune -o -print | LC_ALL=C sort); }
records() { (cd "$1/conda-meta" && for f in pkg*.json; do python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(sys.argv[1], r["md5"], r["sha256"], r["requested_spec"], [(e["_path"], e["sha256_in_prefix"]) for e in r["paths_data"]["paths"]])' "$f"; done); }

CACHE="$T_TMP/c1" P="$T_TMP/p1"
mb_install --recipes "$R" --jobs 1 all
expect_rc "12 packages on one thread" 0
CACHE="$T_TMP/c4" P="$T_TMP/p4"
mb_install --recipes "$R" --jobs 4 all
expect_rc "12 packages on four threads" 0
tree "$T_TMP/p1" > "$T_TMP/t1"; tree "$T_TMP/p4" > "$T_TMP/t4"
cmp -s "$T_TMP/t1" "$T_TMP/t4" && [ "$(grep -c '/a.txt$' "$T_TMP/t4")" = 12 ] &&
	ok "the same files either way" || fail "files differ" "$(diff "$T_TMP/t1" "$T_TMP/t4" | head)"
[ "$(records "$T_TMP/p1")" = "$(records "$T_TMP/p4")" ] &&
	ok "the same conda-meta records (md5, sha256, requested_spec, paths_data)" || fail "records differ"
[ -z "$(ls -A "$T_TMP/c4/tmp")" ] && [ "$(ls "$T_TMP/c4/unpacked" | wc -l)" = 12 ] &&
	ok "twelve cache entries, nothing left in CACHE/tmp" || fail "cache" "$(ls -A "$T_TMP/c4/tmp" "$T_TMP/c4/unpacked")"
run_mb verify --prefix "$P"
expect_rc "verify passes" 0

# pkg06 is replaced by one with an entry that climbs out of the prefix.
python3 "$MB_ROOT/tests/tools/mkconda.py" "$T_TMP/evil.tar.bz2" pkg06 "file:../escape.txt=x" > /dev/null
conda_recipe "$R" pkg06 1.0 "$T_TMP/evil.tar.bz2"
CACHE="$T_TMP/c5" P="$T_TMP/p5"
mb_install --recipes "$R" --jobs 4 all
expect_err "a hostile package among twelve: exit 4, one error line" 4 "escape.txt"
[ ! -e "$T_TMP/escape.txt" ] && [ -z "$(ls "$P" 2>/dev/null | grep -v '^\.mambaboot$')" ] &&
	ok "nothing reached the prefix or outside it" || fail "prefix after failure" "$(ls -A "$P")"
[ -z "$(ls -A "$T_TMP/c5/tmp")" ] && ok "no half entry left in CACHE/tmp" || fail "tmp left" "$(ls -A "$T_TMP/c5/tmp")"
done_testing
