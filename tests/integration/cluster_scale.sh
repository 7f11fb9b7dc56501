# Nodes at scale (issue #18): 16 concurrent installs of the demo stack into
# 16 prefixes with 16 caches, from one nginx mirror carrying the build, all
# succeed without compiling, and nginx's access log shows every file
# fetched exactly once per node: no duplicate or retried transfer.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/buildmirror.sh"
. "$MB_ROOT/tests/servers/lib.sh"
N=16
serve_build_mirror || { fail "the mirror could not be made or served"; done_testing; exit 1; }
i=1
while [ $i -le $N ]; do
	( "$MB" install demo --recipes "$W/www/recipes" --mirror "http://127.0.0.1:$NGX_HTTP/" --offline \
		--no-build --prefix "$T_TMP/n$i/prefix" --cache "$T_TMP/n$i/cache" --json \
		> "$T_TMP/n$i.json" 2> "$T_TMP/n$i.err"; echo $? > "$T_TMP/n$i.rc" ) &
	i=$((i + 1))
done
wait
bad=
for i in $(seq $N); do
	[ "$(cat "$T_TMP/n$i.rc")" = 0 ] && grep -q '"build_cache_hits": 1' "$T_TMP/n$i.json" || bad="$bad n$i"
done
[ -z "$bad" ] && ok "$N concurrent installs succeed, each with its build from the mirror" || fail "failed:$bad" "$(cat "$T_TMP/n${bad##* n}.err" 2>/dev/null)"
log="$W/logs/access.log"
files=$(awk '$2 == 200 && $1 !~ /\.keys$/' "$log" | awk '{ print $1 }' | sort | uniq -c)
wrong=$(printf '%s\n' "$files" | awk -v n=$N '$1 != n')
count=$(printf '%s\n' "$files" | grep -c .)
# the conda package and the wheel (the tool's source is not fetched), and the
# build's manifest, record and files.tar
[ "$count" = 5 ] && [ -z "$wrong" ] && ok "every file was fetched exactly $N times, once per node" || fail "access log" "$files"
others=$(awk '$2 != 200' "$log")
[ -z "$others" ] && ok "and no request failed or was retried" || fail "non-200 requests" "$others"
done_testing
