# conda-meta/history (issue #4): each transaction that links or unlinks
# conda packages appends a block as conda does: a "==> date <==" line, the
# command, then -dist and +dist lines; a transaction without conda changes
# appends nothing, and the file is no recipe's (verify and remove ignore it).
# Each block ends with the specs conda records: "# update specs: [...]"
# (what asked for the packages linked), "# remove specs: [...]".
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
CACHE="$T_TMP/cache"
P="$T_TMP/p"
R="$T_TMP/r"
mkdir -p "$R"
C="$SHARED/corpus/conda"
conda_recipe "$R" ca 1.0 "$C/ca-certificates-2024.7.4-hbcca054_0.conda"
conda_recipe "$R" fonts 1.0 "$C/font-ttf-inconsolata-23.12.6-0.tar.bz2"
H="$P/conda-meta/history"

mb_install --recipes "$R" ca fonts
expect_rc "install of two conda packages" 0
blocks=$(grep -c '^==> [0-9-]* [0-9:]* <==$' "$H" 2>/dev/null || echo 0)
[ "$blocks" = 1 ] && ok "one block after one install" || fail "one block after one install" "$(cat "$H" 2>&1)"
grep -qx '# cmd: mambaboot install ca fonts' "$H" && ok "the command is recorded" || fail "the command is recorded" "$(cat "$H")"
grep -qx '+https://upstream.invalid/conda::ca-certificates-2024.7.4-hbcca054_0' "$H" &&
	grep -qx '+https://upstream.invalid/conda::font-ttf-inconsolata-23.12.6-0' "$H" &&
	ok "both packages linked (+channel::name-version-build)" || fail "both packages linked" "$(cat "$H")"
grep -qx "# update specs: \['ca-certificates', 'font-ttf-inconsolata'\]" "$H" &&
	ok "the update specs name the packages asked for, as conda writes them" || fail "update specs" "$(cat "$H")"

mb_install --recipes "$R" ca fonts
blocks=$(grep -c '^==> ' "$H")
[ "$blocks" = 1 ] && ok "a no-op install appends nothing" || fail "a no-op install appends nothing" "$(cat "$H")"

run_mb verify --prefix "$P"
expect_rc "verify ignores the history" 0

run_mb remove --prefix "$P" fonts
expect_rc "remove fonts" 0
# the last block
awk '/^==> /{b=""} {b=b $0 "\n"} END{printf "%s", b}' "$H" > "$T_TMP/last"
grep -qx '# cmd: mambaboot remove fonts' "$T_TMP/last" &&
	grep -qx -- '-https://upstream.invalid/conda::font-ttf-inconsolata-23.12.6-0' "$T_TMP/last" &&
	! grep -q '^+' "$T_TMP/last" &&
	grep -qx "# remove specs: \['font-ttf-inconsolata'\]" "$T_TMP/last" &&
	! grep -q 'update specs' "$T_TMP/last" &&
	ok "remove appends the unlinked package and its remove specs" || fail "remove appends the unlinked package" "$(cat "$H")"
[ "$(grep -c '^==> ' "$H")" = 2 ] && ok "two blocks" || fail "two blocks" "$(cat "$H")"
done_testing
