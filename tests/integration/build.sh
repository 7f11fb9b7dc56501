# Source builds (issue #7): a small C library with a patch is built into the
# prefix from a local mirror; a broken patch, a failing step and a wrong
# tree_sha256 give exits 5, 5 and 4 and leave the prefix as it was.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
CACHE="$T_TMP/cache"; P="$T_TMP/prefix"; R="$T_TMP/recipes"
mkdir -p "$R" "$T_TMP/patches/greet" "$T_TMP/src/greet-1.0"
cd "$T_TMP/src/greet-1.0" || exit 1
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > greet.c
printf 'all:\n\t$(CC) -o greet greet.c\ninstall: all\n\tmkdir -p $(PREFIX)/bin\n\tcp greet $(PREFIX)/bin/greet\n' > Makefile
cd "$T_TMP/src" && tar -czf ../greet-1.0.tar.gz greet-1.0 && cd "$T_TMP" || exit 1
cp -r src/greet-1.0 greet-b && sed -i 's/hello/patched hello/' greet-b/greet.c
(cd src && diff -u greet-1.0/greet.c ../greet-b/greet.c | sed 's#^--- greet-1.0/#--- a/#; s#^+++ ../greet-b/#+++ b/#') > patches/greet/0001-greeting.patch
sha=$(add_blob "$T_TMP/greet-1.0.tar.gz")
tree=$("$MB" digest "$T_TMP/greet-1.0.tar.gz" | sed -n 's/^tree_sha256: //p')
psha=$(sha256sum patches/greet/0001-greeting.patch | cut -d' ' -f1)

recipe() { # TREE PATCH_SHA SCRIPT_LINE...
	t=$1 ps=$2; shift 2
	{
		printf 'name: greet\nversion: "1.0"\nkind: source\nartifacts:\n'
		printf '  - url: https://upstream.invalid/greet-1.0.tar.gz\n    sha256: %s\n    tree_sha256: %s\n' "$sha" "$t"
		printf 'patches:\n  - path: greet/0001-greeting.patch\n    sha256: %s\n' "$ps"
		printf 'build:\n  env:\n    DEST: "${PREFIX}"\n  script:\n'
		for l in "$@"; do printf "    - '%s'\n" "$l"; done
	} > "$R/greet.yaml"
}
inst() { mb_install --recipes "$R" --patches "$T_TMP/patches" greet; }
empty() { [ -z "$(cd "$P" && find . -path ./.mambaboot -prune -o -type f -print)" ]; }

recipe "$tree" "$psha" 'make' 'make install PREFIX="$DEST"'
inst
expect_rc "a patched C source builds into the prefix" 0
[ "$("$P/bin/greet")" = "patched hello" ] && ok "the patch was applied" || fail "patched output" "$("$P/bin/greet" 2>&1)"
run_mb verify --prefix "$P"
expect_rc "what the build installed is owned and verifies" 0
owned_paths "$P" greet | grep -q '^bin/greet$' && ok "bin/greet is recorded as owned by the recipe" || fail "ownership"
run_mb remove greet --prefix "$P"
expect_rc "remove takes the built files away" 0
empty && ok "no file is left" || fail "files left after remove"

printf -- '--- a/greet.c\n+++ b/greet.c\n@@ -1,2 +1,2 @@\n #include <nothing.h>\n-int main(void) { puts("nope"); }\n+int main(void) { return 1; }\n' > patches/greet/0001-greeting.patch
recipe "$tree" "$(sha256sum patches/greet/0001-greeting.patch | cut -d' ' -f1)" 'make' 'make install PREFIX="$DEST"'
inst
expect_err "a patch that does not apply: exit 5 naming the hunk" 5 "Hunk #1 FAILED"
empty && ok "and the prefix is clean" || fail "broken patch left files"

recipe "$tree" "0000000000000000000000000000000000000000000000000000000000000000" 'make'
inst
expect_err "a patch whose sha256 differs: exit 4" 4 "patch greet/0001-greeting.patch: sha256 is"

cd "$T_TMP" && (cd src && diff -u greet-1.0/greet.c ../greet-b/greet.c | sed 's#^--- greet-1.0/#--- a/#; s#^+++ ../greet-b/#+++ b/#') > patches/greet/0001-greeting.patch
psha=$(sha256sum patches/greet/0001-greeting.patch | cut -d' ' -f1)
recipe "$tree" "$psha" 'mkdir -p "$PREFIX/share/half" && touch "$PREFIX/share/half/done"' 'echo compiling; echo "error: this step fails" >&2; exit 3'
inst
expect_err "a failing build step: exit 5 with the log's path" 5 "failed at step 2"
case $ERR in *"the last lines of the build log"*"error: this step fails"*) ok "the log's last lines are shown" ;; *) fail "log tail" "$ERR" ;; esac
[ ! -e "$P/share/half" ] && ok "what the failed build wrote is rolled back" || fail "failed build left files"

recipe "1111111111111111111111111111111111111111111111111111111111111111" "$psha" 'make'
inst
expect_err "a wrong tree_sha256: exit 4" 4 "tree_sha256 of greet-1.0.tar.gz is"
empty && ok "and nothing was built" || fail "wrong tree left files"
done_testing
