# The prefix as a database (issue #6): install, idempotency, verify, upgrade,
# remove, conflicts found before anything is written, unowned files.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
R="$T_TMP/recipes"; P="$T_TMP/prefix"; CACHE="$T_TMP/cache"
mkdir -p "$R/stacks"
conda_recipe "$R" cph 0.0.1 "$C/conda/cph_test_data-0.0.1-0.tar.bz2"
conda_recipe "$R" small 1.0.0 "$C/conda/small-executable-1.0.0-0.conda" -- cph
conda_recipe "$R" fonts 23.12.6 "$C/conda/font-ttf-inconsolata-23.12.6-0.tar.bz2"
conda_recipe "$R" clobber 0.1.0 "$C/conda/rattler-clobber/clobber-1-0.1.0-h4616a5c_0.tar.bz2"
printf 'stack: base\ntargets: [small, fonts, clobber]\n' > "$R/stacks/base.yaml"

tree() { (cd "$1" && find . -path ./.mambaboot -prune -o -print | sort | while read -r f; do
	if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; elif [ -f "$f" ]; then echo "$f $(sha256sum < "$f" | cut -c1-16)"; else echo "$f/"; fi
done); }

mb_install --recipes "$R" base
expect_rc "install a stack of conda packages" 0
[ -f "$P/conda-meta/small-executable-1.0.0-0.json" ] && ok "conda-meta records written" || fail "conda-meta record"
[ -f "$P/clobber.txt" ] && [ -f "$P/another-clobber.txt" ] && ok "files linked into the prefix" || fail "files linked"
run_mb list --prefix "$P" --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["requested"] == ["base"], d
assert sorted(r["name"] for r in d["recipes"]) == ["clobber", "cph", "fonts", "small"], d
' && ok "list --json names requested targets and recipes" || fail "list --json" "$OUT"
run_mb verify --prefix "$P"
expect_rc "a fresh prefix verifies" 0
before=$(tree "$P"); stamp=$(stat -c %Y.%s "$P/.mambaboot/state.json")

# Nothing changed: no server is contacted (no mirror, no --offline: the
# upstream URLs cannot resolve), nothing is written.
run_mb install --prefix "$P" --cache "$CACHE" --recipes "$R" base
expect_rc "a second install with nothing changed exits 0" 0
case $ERR in *"nothing to do"*) ok "it says there is nothing to do" ;; *) fail "nothing to do" "$ERR" ;; esac
[ "$(stat -c %Y.%s "$P/.mambaboot/state.json")" = "$stamp" ] && [ "$(tree "$P")" = "$before" ] &&
	ok "and writes nothing" || fail "no-op wrote something"

printf 'tampered' > "$P/clobber.txt"; rm "$P/another-clobber.txt"
run_mb verify --prefix "$P"
expect_err "verify finds a modified and a missing file" 4 "1 modified and 1 missing"
case $OUT in *"missing   another-clobber.txt (clobber)"*"modified  clobber.txt (clobber)"*) ok "verify names them" ;;
	*) fail "verify names files" "$OUT" ;; esac

# Upgrade: clobber 0.2.0 drops another-clobber.txt.
conda_recipe "$R" clobber 0.2.0 "$C/conda/rattler-clobber/clobber-1-0.2.0-h4616a5c_0.tar.bz2"
mb_install --recipes "$R" base
expect_rc "upgrade clobber 0.1.0 -> 0.2.0" 0
case $ERR in *"upgrade  clobber 0.1.0 -> 0.2.0"*) ok "the upgrade is reported" ;; *) fail "upgrade reported" "$ERR" ;; esac
[ ! -e "$P/another-clobber.txt" ] && [ "$(cat "$P/clobber.txt")" != tampered ] && ok "upgraded files replaced, dropped files gone" || fail "upgrade files"
run_mb verify --prefix "$P"
expect_rc "verify after the upgrade" 0

# Remove.
run_mb remove cph --prefix "$P"
expect_err "remove refuses a recipe another depends on" 2 "'small' depends on it"
run_mb remove fonts --prefix "$P"
expect_rc "remove a recipe no one needs" 0
[ ! -e "$P/fonts" ] && [ ! -e "$P/conda-meta/font-ttf-inconsolata-23.12.6-0.json" ] && ok "its files, directories and conda-meta record are gone" || fail "remove fonts files" "$(tree "$P")"
run_mb remove base --prefix "$P"
expect_rc "remove the stack" 0
left=$(cd "$P" && find . -path ./.mambaboot -prune -o -path ./conda-meta/history -prune -o -type f -print)
[ -z "$left" ] && ok "removing the stack leaves no files but conda-meta/history" || fail "files left" "$left"

# Conflicts are found before anything is written.
R2="$T_TMP/clash"; mkdir -p "$R2/stacks"
conda_recipe "$R2" one 0.1.0 "$C/conda/rattler-clobber/clobber-1-0.1.0-h4616a5c_0.tar.bz2"
conda_recipe "$R2" two 0.1.0 "$C/conda/rattler-clobber/clobber-2-0.1.0-h4616a5c_0.tar.bz2"
conda_recipe "$R2" fd1 0.1.0 "$C/conda/rattler-clobber/clobber-fd-1-0.1.0-h4616a5c_0.conda"
conda_recipe "$R2" fd2 0.1.0 "$C/conda/rattler-clobber/clobber-fd-2-0.1.0-h4616a5c_0.conda"
printf 'stack: same\ntargets: [one, two]\n' > "$R2/stacks/same.yaml"
printf 'stack: fd\ntargets: [fd1, fd2]\n' > "$R2/stacks/fd.yaml"
P="$T_TMP/p2"
mb_install --recipes "$R2" same
expect_err "two recipes writing the same path: exit 2" 2 "'one' and 'two' both install"
[ ! -e "$P/clobber.txt" ] && ok "nothing was written" || fail "clash wrote files"
mb_install --recipes "$R2" fd
expect_err "a file where another recipe needs a directory: exit 2" 2 "needs a directory for clobber/clobber-fd-2.txt"

P="$T_TMP/p3"; mkdir -p "$P"; printf 'mine' > "$P/clobber.txt"
mb_install --recipes "$R2" one
expect_err "a file no recipe owns is not overwritten" 2 "no installed recipe owns it"
[ "$(cat "$P/clobber.txt")" = mine ] && ok "the user's file is intact" || fail "user file clobbered"
mb_install --recipes "$R2" one --force
expect_rc "--force replaces it" 0
done_testing
