# What makes a warm conda install cheap (issue #19), and that each shortcut
# gives the prefix the slow path gives: the packages of one install share a
# staging tree; every recipe's file list goes into one file per
# transaction; each cache entry carries a manifest of its paths (with
# their modes and sizes) that linking reads instead of paths.json.  A torn
# manifest, or one a package ships, is not trusted; prefixes written with
# a file list per recipe still read.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
R="$T_TMP/r"
mkdir -p "$R/stacks"
for i in 1 2 3; do
	python3 "$MB_ROOT/tests/tools/mkconda.py" "$T_TMP/pkg$i.tar.bz2" "pkg$i" "file:share/pkg$i/a.txt=a$i" \
		"exe:bin/pkg$i=#!/bin/sh" "link:share/pkg$i/b.txt=a.txt" > /dev/null
	conda_recipe "$R" "pkg$i" 1.0 "$T_TMP/pkg$i.tar.bz2"
done
# pkg4 ships its own manifest, which leaves out two of its three paths.
python3 "$MB_ROOT/tests/tools/mkconda.py" "$T_TMP/pkg4.tar.bz2" pkg4 "file:share/pkg4/a.txt=a4" \
	"file:share/pkg4/hidden.txt=h" "exe:bin/pkg4=#!/bin/sh" \
	"info:.mambaboot-paths=$(printf 'mambaboot-paths 1\nf\t100644\t2\t-\t-\t\tshare/pkg4/a.txt\nend 1')" > /dev/null
conda_recipe "$R" pkg4 1.0 "$T_TMP/pkg4.tar.bz2"
printf 'stack: all\ntargets: [pkg1, pkg2, pkg3, pkg4]\n' > "$R/stacks/all.yaml"
tree() { (cd "$1" && find . -path ./.mambaboot -prune -o -path ./conda-meta/history -prune -o -printf '%p %y %m %s\n' | LC_ALL=C sort); }
records() { for f in "$1"/conda-meta/pkg*.json; do python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["files"], [(e["_path"], e["path_type"], e["sha256_in_prefix"], e["size_in_bytes"]) for e in r["paths_data"]["paths"]])' "$f"; done; }
entry() { ls -d "$CACHE"/unpacked/*/ | while read -r d; do grep -q "\"$1\"" "$d/info/index.json" && echo "$d"; done; }

CACHE="$T_TMP/c" P="$T_TMP/p1"
mb_install --recipes "$R" all
expect_rc "cold install of four packages" 0
[ -z "$(ls -A "$P/.mambaboot/staging")" ] && ok "no staging tree is left" || fail "staging left" "$(ls -R "$P/.mambaboot/staging" | head)"
[ "$(ls -A "$P/.mambaboot/files" | wc -l)" = 1 ] && ls -A "$P/.mambaboot/files" | grep -q '^\..*\.lists$' &&
	ok "one file holds every recipe's file list" || fail "file lists" "$(ls "$P/.mambaboot/files")"
same=1
for i in 1 2 3 4; do
	want=$(python3 -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1]))["files"] + ["conda-meta/" + sys.argv[1].rsplit("/", 1)[1]])))' "$P"/conda-meta/pkg$i-*.json)
	[ "$(owned_paths "$P" "pkg$i" | LC_ALL=C sort)" = "$(printf '%s\n' "$want" | LC_ALL=C sort)" ] || same=0
done
[ $same = 1 ] && ok "each recipe's slice of it lists that package's files" || fail "owned paths differ from the records"
e1=$(entry pkg1)
[ "$(tail -n 1 "$e1/info/.mambaboot-paths")" = "end 3" ] && grep -q "^l	120777	" "$e1/info/.mambaboot-paths" &&
	[ "$(head -n 1 "$e1/info/.mambaboot-paths")" = "mambaboot-paths 2 $(basename "$e1")" ] &&
	ok "the cache entry has a manifest of its 3 paths, with lstat's modes, naming its package's sha256" || fail "manifest" "$(cat "$e1/info/.mambaboot-paths")"
e4=$(entry pkg4)
grep -q 'hidden.txt' "$e4/info/.mambaboot-paths" && [ "$(tail -n 1 "$e4/info/.mambaboot-paths")" = "end 3" ] &&
	ok "a manifest the package shipped is replaced by one made from paths.json" || fail "shipped manifest kept" "$(cat "$e4/info/.mambaboot-paths")"
[ -f "$P/share/pkg4/hidden.txt" ] && ok "so pkg4's every path is installed" || fail "hidden.txt missing"
tree "$P" > "$T_TMP/t1"; records "$P" > "$T_TMP/r1"

P="$T_TMP/p2"
mb_install --recipes "$R" all
expect_rc "warm install from the manifests" 0
tree "$P" > "$T_TMP/t2"; records "$P" > "$T_TMP/r2"
cmp -s "$T_TMP/t1" "$T_TMP/t2" && ok "the same files, types, modes and sizes as the cold install" || fail "trees differ" "$(diff "$T_TMP/t1" "$T_TMP/t2")"
cmp -s "$T_TMP/r1" "$T_TMP/r2" && ok "the same conda-meta records" || fail "records differ" "$(diff "$T_TMP/r1" "$T_TMP/r2")"
run_mb verify --prefix "$P"
expect_rc "verify passes" 0

# A torn manifest (no end line), one with a path out of the prefix, one
# with zeroes in it, and one that names another package (as a package's
# own would, in an entry an older mambaboot made): paths.json decides.
sed -i '$d' "$e1/info/.mambaboot-paths"
e2=$(entry pkg2)
sed -i 's|share/pkg2/a.txt|../../escape.txt|' "$e2/info/.mambaboot-paths"
e3=$(entry pkg3)
printf '\0\0\0\0' | dd of="$e3/info/.mambaboot-paths" bs=1 seek=80 conv=notrunc 2>/dev/null
sed -i "1s/.*/mambaboot-paths 2 $(basename "$e1")/; /hidden.txt/d; s/^end 3/end 2/" "$e4/info/.mambaboot-paths"
P="$T_TMP/p3"
mb_install --recipes "$R" all
expect_rc "install with torn, forged, zeroed and foreign manifests" 0
tree "$P" > "$T_TMP/t3"
cmp -s "$T_TMP/t1" "$T_TMP/t3" && [ ! -e "$T_TMP/escape.txt" ] && [ ! -e "$T_TMP/p3/../escape.txt" ] &&
	ok "paths.json decided: the same tree, nothing outside" || fail "trees differ" "$(diff "$T_TMP/t1" "$T_TMP/t3")"

# A prefix written by an earlier mambaboot: a file list per recipe.
P="$T_TMP/p1"
python3 - "$P" <<'PY'
import json, sys
d = sys.argv[1] + "/.mambaboot/"
s = json.load(open(d + "state.json"))
for r in s["recipes"]:
    if r["name"] == "pkg1":
        f, off, n = r["files"].split(":")
        with open(d + "files/" + f, "rb") as fh:
            fh.seek(int(off)); text = fh.read(int(n))
        open(d + "files/pkg1.old.json", "wb").write(text)
        r["files"] = "pkg1.old.json"
json.dump(s, open(d + "state.json", "w"))
PY
run_mb verify --prefix "$P"
expect_rc "a per-recipe file list still reads" 0
run_mb remove pkg1 --prefix "$P"
expect_rc "and its recipe is removed" 0
[ ! -e "$P/share/pkg1" ] && [ ! -e "$P/.mambaboot/files/pkg1.old.json" ] &&
	ok "its files and its list are gone" || fail "pkg1 left" "$(ls "$P/share" "$P/.mambaboot/files")"
run_mb remove all --prefix "$P"
expect_rc "remove the rest" 0
[ -z "$(ls -A "$P/.mambaboot/files")" ] && ok "no file list is left once no recipe names it" || fail "lists left" "$(ls "$P/.mambaboot/files")"

# A state file whose list reference is damaged or climbs out: one line, exit 1.
P="$T_TMP/p2"
cp "$P/.mambaboot/state.json" "$T_TMP/state.good"
for bad in '../../../etc/passwd' 'x.lists:0:99999999' 'x.lists:abc:1' 'x.lists:0:0' '..:0:5' 'x.lists: 1:2' 'x.lists:0:-1'; do
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); s["recipes"][0]["files"]=sys.argv[2]; json.dump(s,open(sys.argv[1],"w"))' \
		"$P/.mambaboot/state.json" "$bad"
	run_mb verify --prefix "$P"
	expect_err "file list reference '$bad': exit 1" 1 "damaged state file"
	cp "$T_TMP/state.good" "$P/.mambaboot/state.json"
done
grep -q '"format": 2' "$P/.mambaboot/state.json" && ok "the state says format 2" || fail "format" "$(head -c 300 "$P/.mambaboot/state.json")"
sed -i 's/"format": 2/"format": 3/' "$P/.mambaboot/state.json"
run_mb verify --prefix "$P"
expect_err "a state of a later format is refused, not misread: exit 1" 1 "written by a newer mambaboot (state format 3"
cp "$T_TMP/state.good" "$P/.mambaboot/state.json"
done_testing
