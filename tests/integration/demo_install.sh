# The README's main job: the demo stack installs offline from its generated
# mirror (conda with relocation, a wheel with a console script, a source
# build), verifies, is idempotent, and can be removed.
. "$MB_ROOT/tests/lib.sh"
M="$T_TMP/mirror"; P="$T_TMP/demo-prefix"; R="$MB_ROOT/share/mambaboot/demo/recipes"
python3 "$MB_ROOT/scripts/make-demo-mirror.py" "$M" >/dev/null
mb() { run_mb "$@" --recipes "$R" --prefix "$P" --cache "$T_TMP/cache"; }
mbp() { run_mb "$@" --prefix "$P"; }
mb install demo --mirror "$M" --offline
expect_rc "the demo installs offline from its mirror" 0
out=$("$P/bin/mbdemo-tool" 2>&1)
case $out in *"built from source by mambaboot"*) ok "the source-built tool runs" ;; *) fail "mbdemo-tool" "$out" ;; esac
out=$(PYTHONPATH=$(echo "$P"/lib/python3.*/site-packages) "$P/bin/mbdemo-hello" 2>&1)
case $out in *"hello from"*) ok "the wheel's console script runs" ;; *) fail "mbdemo-hello" "$out" ;; esac
grep -q "$P" "$P/share/mbdemo/where.txt" && ! grep -q anaconda1anaconda2 "$P/share/mbdemo/where.txt" &&
	ok "the conda placeholder is rewritten to the prefix" || fail "relocation" "$(cat "$P/share/mbdemo/where.txt")"
[ -f "$P/conda-meta/mbdemo-data-1.0-0.json" ] && ok "conda-meta record" || fail "conda-meta record"
ls "$P"/lib/python3.*/site-packages/mbdemo_hello-1.0.dist-info/INSTALLER >/dev/null 2>&1 && ok "dist-info with INSTALLER" || fail "dist-info"
mbp verify
expect_rc "verify passes" 0
mb install demo
expect_rc "installing again needs no mirror and no network" 0
case $ERR in *"nothing to do"*) ok "nothing to do" ;; *) fail "second install" "$ERR" ;; esac
mb install demo --dry-run --json
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["nothing_to_do"] is True' && ok "install --dry-run --json" || fail "dry-run json" "$OUT"
mbp remove demo
expect_rc "remove the demo" 0
left=$(find "$P" -path "$P/.mambaboot" -prune -o -path "$P/conda-meta/history" -prune -o -type f -print | head -3)
[ -z "$left" ] && ok "nothing is left but the database and conda-meta/history" || fail "files left after remove" "$left"
done_testing
