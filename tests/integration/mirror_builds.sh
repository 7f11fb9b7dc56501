# Mirrors carry builds (issue #18): `mirror create` copies the plan's
# cached build outputs to MIRROR/builds/<key>/ and lists them in
# index.yaml; `mirror verify` checks them; a node installs from the mirror
# without compiling, and with --no-build a miss is exit 5 naming the
# inputs that differ.
. "$MB_ROOT/tests/lib.sh"
D="$MB_ROOT/share/mambaboot/demo/recipes"; DM="$T_TMP/demo-mirror"; M="$T_TMP/mirror"
python3 "$MB_ROOT/scripts/make-demo-mirror.py" "$DM" >/dev/null
run_mb install demo --recipes "$D" --mirror "$DM" --offline --prefix "$T_TMP/p0" --cache "$T_TMP/c0"
expect_rc "the demo builds on the first node" 0
key=$(ls "$T_TMP/c0/builds")
run_mb mirror create "$M" demo --recipes "$D" --mirror "$DM" --offline --cache "$T_TMP/c0"
expect_rc "mirror create" 0
[ -f "$M/builds/$key/files.tar" ] && [ -f "$M/builds/$key/manifest" ] && ok "the build is in the mirror under its key" || fail "no build in the mirror" "$(ls -R "$M/builds" 2>&1)"
sha=$(awk '$4 == "files.tar" { print $2 }' "$M/builds/$key/manifest")
python3 - "$M/index.yaml" "$key" "$sha" <<'PY' && ok "index.yaml lists it with its key and sha256" || fail "index.yaml builds" "$(cat "$M/index.yaml")"
import sys, re
text, key, sha = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
b = text[text.index("builds:"):]
assert f"key: {key}" in b and f"sha256: {sha}" in b and "recipe: mbdemo-tool" in b, b
PY
run_mb mirror create "$T_TMP/nob" demo --recipes "$D" --mirror "$DM" --offline --cache "$T_TMP/c0" --no-builds
[ "$RC" = 0 ] && [ -z "$(ls "$T_TMP/nob/builds" 2>/dev/null)" ] && ok "--no-builds leaves them out" || fail "--no-builds" "$ERR" "$(ls "$T_TMP/nob/builds")"
run_mb mirror verify "$M"
expect_rc "mirror verify checks the build" 0

run_mb install demo --recipes "$M/recipes" --mirror "file://$M" --offline --no-build --prefix "$T_TMP/p1" --cache "$T_TMP/c1" --json
expect_rc "a second node installs from the mirror with --no-build" 0
printf '%s' "$OUT" | grep -q '"build_cache_hits": 1' && ok "the build came from the mirror" || fail "hits" "$OUT"
[ ! -f "$T_TMP/c1/blobs/sha256/$(sed -n 's/^source sha256://p' "$M/builds/$key/record")" ] && ok "and its source was not even fetched" || fail "source fetched"
"$T_TMP/p1/bin/mbdemo-tool" >/dev/null && ok "the tool runs" || fail "tool"

(cd "$T_TMP" && run_mb install demo --recipes mirror/recipes --mirror mirror --offline --no-build --prefix "$T_TMP/p5" --cache "$T_TMP/c5"
	[ "$RC" = 0 ] && [ -x "$T_TMP/p5/bin/mbdemo-tool" ]) && ok "a mirror named by a relative path serves its builds" || fail "relative mirror"
MAMBABOOT_RETRIES=0 run_mb install demo --recipes "$M/recipes" --mirror http://127.0.0.1:9/none --mirror "$M" --offline --no-build --prefix "$T_TMP/p4" --cache "$T_TMP/c4"
[ "$RC" = 0 ] && [ -x "$T_TMP/p4/bin/mbdemo-tool" ] && ok "a mirror that cannot be reached is skipped, as for artifacts" || fail "unreachable mirror" "$ERR"
MAMBABOOT_FAKE_GLIBC=2.17 run_mb install demo --recipes "$M/recipes" --mirror "file://$M" --offline --no-build --prefix "$T_TMP/p2" --cache "$T_TMP/c2"
expect_err "a node with other inputs and --no-build: exit 5 naming them" 5 "glibc 2.17"
[ ! -e "$T_TMP/p2/bin/mbdemo-tool" ] && ok "nothing was installed" || fail "installed anyway"

printf 'X' | dd of="$M/builds/$key/files.tar" bs=1 seek=700 conv=notrunc 2>/dev/null
run_mb mirror verify "$M"
expect_err "mirror verify: a tampered build is exit 4" 4 "bad"
case $OUT in *"builds/$key"*) ok "naming the build" ;; *) fail "verify output" "$OUT" ;; esac
run_mb install demo --recipes "$M/recipes" --mirror "$M" --offline --prefix "$T_TMP/p3" --cache "$T_TMP/c3"
expect_err "installing the tampered build: exit 4" 4 "sha256"
# a manifest line that names no valid file (a hostile mirror): one error line
printf 'file %s 10 ../escape\n' "$sha" >> "$M/builds/$key/manifest"
run_mb install demo --recipes "$M/recipes" --mirror "$M" --offline --prefix "$T_TMP/p6" --cache "$T_TMP/c6"
expect_err "a build manifest with a bad entry: exit 4, no crash" 4 "build manifest: bad entry"
done_testing
