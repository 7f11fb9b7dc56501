# Offline mirrors (issue #8): made from a local nginx "upstream", then used
# with the upstream gone: as a directory, as file:// and served by nginx.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/servers/lib.sh"
D="$MB_ROOT/share/mambaboot/demo/recipes"
U="$T_TMP/up"; mkdir -p "$U/www"
python3 "$MB_ROOT/scripts/make-demo-mirror.py" "$T_TMP/gen" >/dev/null
for f in "$T_TMP"/gen/sha256/*; do
	name=$(grep -h -A3 "sha256: $(basename "$f")" "$T_TMP/gen/index.yaml" | sed -n 's/^ *filename: //p' | head -1)
	cp "$f" "$U/www/$name"
done
start_nginx "$U" || { fail "start nginx"; done_testing; exit 1; }
R="$T_TMP/recipes"; mkdir -p "$R/stacks"
cp "$D"/*.yaml "$R/"; cp "$D"/stacks/*.yaml "$R/stacks/"
sed -i "s#https://demo.mambaboot.invalid/#http://127.0.0.1:$NGX_HTTP/#" "$R"/*.yaml
M="$T_TMP/mirror"
tree() { (cd "$1" && find . -path ./.mambaboot -prune -o -path ./conda-meta/history -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum); }

run_mb mirror create "$M" demo --recipes "$R" --cache "$T_TMP/c0"
expect_rc "mirror create from the upstream" 0
n=$(ls "$M/sha256" | wc -l)
[ "$n" -eq 3 ] && ok "three blobs named by their sha256" || fail "blob count" "$n"
grep -q 'filename: mbdemo-tool-1.0.tar.gz' "$M/index.yaml" && grep -q "recipe: mbdemo-tool" "$M/index.yaml" &&
	grep -q "http://127.0.0.1:$NGX_HTTP/mbdemo-tool-1.0.tar.gz" "$M/index.yaml" && ok "index.yaml names file, recipe and upstream url" || fail "index.yaml" "$(cat "$M/index.yaml")"
[ -f "$M/recipes/mbdemo-tool.yaml" ] && [ -f "$M/recipes/stacks/demo.yaml" ] && [ -d "$M/patches" ] && ok "the recipe set is in the mirror" || fail "mirror recipes"
run_mb mirror verify "$M"
expect_rc "a fresh mirror verifies" 0
servers_stop

# The upstream is gone: a node needs only the binary and the mirror.
# One prefix and one cache path (relocated files and conda-meta records
# name them), emptied before each install; the tree is kept in $T_TMP/$1.
inst() {
	rm -rf "$T_TMP/cache" "$T_TMP/p"
	run_mb install demo --recipes "$M/recipes" --offline --prefix "$T_TMP/p" --cache "$T_TMP/cache" --mirror "$2"
	tree "$T_TMP/p" > "$T_TMP/$1"
}
inst p-dir "$M"
expect_rc "install from the mirror as a directory" 0
inst p-file "file://$M"
expect_rc "install from the mirror as file://" 0
S="$T_TMP/serve"; mkdir -p "$S"; ln -s "$M" "$S/www"
start_nginx "$S"
inst p-http "http://127.0.0.1:$NGX_HTTP/"
expect_rc "install from the mirror served by nginx" 0
[ -s "$T_TMP/p-dir" ] && cmp -s "$T_TMP/p-dir" "$T_TMP/p-file" && cmp -s "$T_TMP/p-dir" "$T_TMP/p-http" &&
	ok "the three prefixes are identical" || fail "prefixes differ" "$(diff "$T_TMP/p-dir" "$T_TMP/p-file"; diff "$T_TMP/p-dir" "$T_TMP/p-http")"
servers_stop

# --offline never contacts an upstream URL: point them at a recording server.
F="$T_TMP/fault"; mkdir -p "$F"; start_faultserver "$F"
R2="$T_TMP/r2"; cp -r "$R" "$R2"
sed -i "s#http://127.0.0.1:[0-9]*/#http://127.0.0.1:$FAULT_PORT/ok/#" "$R2"/*.yaml
run_mb install demo --recipes "$R2" --offline --mirror "$M" --prefix "$T_TMP/p-off" --cache "$T_TMP/cache-off"
expect_rc "install --offline from a mirror" 0
[ ! -s "$FAULT_LOG" ] && ok "the upstream saw no connection" || fail "offline contacted upstream" "$(cat "$FAULT_LOG")"

# A corrupted blob: mirror verify finds it; install falls through or fails.
bad=$(ls "$M/sha256" | head -1)
cp -r "$M" "$T_TMP/good"
printf 'x' >> "$M/sha256/$bad"
run_mb mirror verify "$M"
expect_err "mirror verify finds a corrupted blob" 4 "1 bad or missing blob"
case $OUT in *"sha256/$bad: content hashes to"*) ok "and names it" ;; *) fail "bad blob named" "$OUT" ;; esac
run_mb install demo --recipes "$M/recipes" --offline --prefix "$T_TMP/p-bad" --cache "$T_TMP/cache-bad" --mirror "$M"
expect_rc "install from the corrupted mirror alone: exit 4" 4
run_mb install demo --recipes "$M/recipes" --offline --prefix "$T_TMP/p-fall" --cache "$T_TMP/cache-fall" --mirror "$M" --mirror "$T_TMP/good"
expect_rc "a wrong blob falls through to the next mirror" 0

# Incremental: a second run adds only what is missing, rewrites nothing.
cp "$T_TMP/good/sha256/$bad" "$M/sha256/$bad"
before=$(stat -c %Y "$M/sha256/$bad")
mkdir -p "$T_TMP/extra"; printf 'payload\n' > "$T_TMP/extra/x.txt"
(cd "$T_TMP/extra" && tar -czf ../extra-1.0.tar.gz x.txt)
h=$(sha256sum "$T_TMP/extra-1.0.tar.gz" | cut -d' ' -f1)
printf 'name: extra\nversion: "1.0"\nkind: source\nartifacts:\n  - url: file://%s/extra-1.0.tar.gz\n    sha256: %s\n' "$T_TMP" "$h" > "$R/extra.yaml"
sleep 1
run_mb mirror create "$M" demo extra --recipes "$R" --cache "$T_TMP/c0"
expect_rc "mirror create after adding a recipe" 0
case $ERR in *"1 blobs added, 3 already there"*) ok "only the new blob is added" ;; *) fail "incremental" "$ERR" ;; esac
[ "$(stat -c %Y "$M/sha256/$bad")" = "$before" ] && ok "good blobs are not rewritten" || fail "a good blob was rewritten"
done_testing
