# Interrupted downloads resume (Range) and two processes fetching the same
# artifact both succeed with one blob; nginx with limit_rate keeps the
# transfers slow enough to interrupt.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/servers/lib.sh"
export MAMBABOOT_RETRY_BASE_MS=10
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
W=$T_TMP/ngx; mkdir -p "$W/www"
NGINX_LIMIT_RATE=4m start_nginx "$W" || { fail "nginx starts"; done_testing; exit 1; }
SIZE=6000000
make_blob "$W/www/big.bin" $SIZE; SHA=$BLOB_SHA
F=big-1.0-py3-none-any.whl R=$T_TMP/r C=$T_TMP/c
fetch_recipe "$R" big "$F" "http://127.0.0.1:$NGX_HTTP/big.bin" "$SHA" $SIZE

# wait_partial FILE BYTES: until FILE holds at least BYTES (at most 10 s).
wait_partial() {
	i=0
	while [ $i -lt 200 ]; do
		s=$(stat -c %s "$1" 2>/dev/null || echo 0)
		[ "$s" -ge "$2" ] && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

"$MB" fetch --recipes "$R" --cache "$C" big > /dev/null 2>&1 &
pid=$!
if wait_partial "$C/partial/$SHA.part" 1000000; then ok "the download writes a partial file"; else fail "partial file"; fi
kill -9 $pid; wait $pid 2>/dev/null
[ ! -e "$C/blobs/sha256/$SHA" ] && ok "a killed download leaves no blob" || fail "blob after kill"
before=$(stat -c %s "$C/partial/$SHA.part")
lines=$(wc -l < "$W/logs/access.log")

run_mb fetch --recipes "$R" --cache "$C" big -v
expect_rc "the re-run exits 0" 0
cmp -s "$C/blobs/sha256/$SHA" "$W/www/big.bin" && ok "the resumed blob has the right bytes" || fail "resumed bytes"
second=$(tail -n +$((lines + 1)) "$W/logs/access.log")
sent=$(printf '%s\n' "$second" | awk '{s += $3} END {print s + 0}')
if [ "$sent" -lt $SIZE ] && printf '%s' "$second" | grep -q "\"bytes=$before-\""; then
	ok "the re-run asks for bytes=$before- and is sent less than the file ($sent < $SIZE)"
else fail "resume" "before=$before sent=$sent" "$second"; fi
case $ERR in *"resuming from a partial download"*) ok "-v says it resumes" ;; *) fail "-v resume" "$ERR" ;; esac
cache_is_clean "$C" && [ ! -e "$C/partial/$SHA.part" ] && ok "the partial file is gone once the blob is in place" || fail "partial left"

# two processes, one artifact
C2=$T_TMP/c2
lines=$(wc -l < "$W/logs/access.log")
"$MB" fetch --recipes "$R" --cache "$C2" big > "$T_TMP/p1.out" 2>&1 & p1=$!
"$MB" fetch --recipes "$R" --cache "$C2" big > "$T_TMP/p2.out" 2>&1 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ]; then ok "two processes fetching the same artifact both exit 0"
else fail "concurrent fetch" "rc $r1 $r2" "$(cat "$T_TMP/p1.out" "$T_TMP/p2.out")"; fi
[ "$(ls "$C2/blobs/sha256" | wc -l)" -eq 1 ] && cache_is_clean "$C2" && ok "one verified blob" || fail "blobs" "$(ls -l "$C2/blobs/sha256")"
sent=$(tail -n +$((lines + 1)) "$W/logs/access.log" | awk '{s += $3} END {print s + 0}')
[ "$sent" -eq $SIZE ] && ok "the file was downloaded once (the other process waited on the entry's lock)" || fail "bytes served: $sent"
done_testing
