# mambaboot fetch against a real nginx (HTTP and HTTPS with a test CA):
# verified blobs in the cache, cache hits, mirrors, offline, unpinned, TLS.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/servers/lib.sh"
export MAMBABOOT_RETRY_BASE_MS=10 MAMBABOOT_STALL_SECONDS=2
unset SSL_CERT_FILE CURL_CA_BUNDLE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
W=$T_TMP/ngx; mkdir -p "$W/www"
start_nginx "$W" || { fail "nginx starts"; done_testing; exit 1; }
F=p-1.0-py3-none-any.whl
make_blob "$W/www/p.bin" 300000; SHA=$BLOB_SHA
R=$T_TMP/r C=$T_TMP/cache
requests() { grep -c "$1" "$W/logs/access.log"; }

fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/p.bin" "$SHA" 300000
run_mb fetch --recipes "$R" --cache "$C" p
expect_rc "fetch over HTTP exits 0" 0
if cmp -s "$C/blobs/sha256/$SHA" "$W/www/p.bin"; then ok "the blob is stored under its sha256"; else fail "blob stored" "$(ls -R "$C")"; fi
case $ERR in *"fetched $F"*) ok "one line per finished file when stderr is not a terminal" ;; *) fail "finished line" "$ERR" ;; esac
[ -z "$(ls -A "$C/partial")" ] && ok "no partial or lock file left after success" || fail "partial left" "$(ls "$C/partial")"

n=$(requests /p.bin)
run_mb fetch --recipes "$R" --cache "$C" p --json
expect_rc "second fetch exits 0" 0
[ "$(requests /p.bin)" -eq "$n" ] && ok "a cached blob is not downloaded again" || fail "cache hit" "requests: $(requests /p.bin)"
if printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["artifacts"][0]
assert a["filename"] == sys.argv[1] and a["sha256"] == sys.argv[2], a
assert a["status"] == "cached" and a["size"] == 300000 and a["attempts"] == 0, a
assert d["cached"] == 1 and d["downloaded"] == 0 and d["failed"] == 0, d
' "$F" "$SHA"; then ok "--json reports the cached artifact"; else fail "--json cached" "$OUT"; fi

C2=$T_TMP/cache2
run_mb fetch --recipes "$R" --cache "$C2" p --json
if printf '%s' "$OUT" | python3 -c '
import json, sys
a = json.load(sys.stdin)["artifacts"][0]
assert a["status"] == "downloaded" and a["attempts"] == 1, a
assert a["source"].endswith("/p.bin") and a["blob"].endswith("/blobs/sha256/" + a["sha256"]), a
'; then ok "--json reports source, attempts and blob of a download"; else fail "--json downloaded" "$OUT"; fi

MAMBABOOT_CACHE=$T_TMP/envcache run_mb fetch --recipes "$R" p
[ -f "$T_TMP/envcache/blobs/sha256/$SHA" ] && ok "MAMBABOOT_CACHE picks the cache" || fail "MAMBABOOT_CACHE" "$ERR"
env -u MAMBABOOT_CACHE XDG_CACHE_HOME=$T_TMP/xdg "$MB" fetch --recipes "$R" p 2>/dev/null
[ -f "$T_TMP/xdg/mambaboot/blobs/sha256/$SHA" ] && ok "XDG_CACHE_HOME/mambaboot is the default cache" || fail "XDG cache"

# TLS
fetch_recipe "$R" p "$F" "https://localhost:$NGX_HTTPS/p.bin" "$SHA"
run_mb fetch --recipes "$R" --cache "$T_TMP/c3" --cacert "$W/ca.pem" p
expect_rc "HTTPS with --cacert" 0
SSL_CERT_FILE=$W/ca.pem run_mb fetch --recipes "$R" --cache "$T_TMP/c4" p
expect_rc "HTTPS with SSL_CERT_FILE" 0
CURL_CA_BUNDLE=$W/ca.pem run_mb fetch --recipes "$R" --cache "$T_TMP/c5" p
expect_rc "HTTPS with CURL_CA_BUNDLE" 0
run_mb fetch --recipes "$R" --cache "$T_TMP/c6" --cacert "$W/wrong-ca.pem" p
expect_err "a certificate from another CA is refused" 3 "every source failed"
[ ! -e "$T_TMP/c6/blobs/sha256/$SHA" ] && ok "nothing cached after a TLS failure" || fail "TLS failure cached"
fetch_recipe "$R" p "$F" "https://127.0.0.1:$NGX_HTTPS/p.bin" "$SHA"
run_mb fetch --recipes "$R" --cache "$T_TMP/c7" --cacert "$W/ca.pem" p
expect_err "a certificate for another host name is refused" 3 "127.0.0.1"

# mirrors: tried first, <mirror>/sha256/<hex>, as a directory, file:// or http://
M=$T_TMP/mirror; mkdir -p "$M/sha256" "$W/www/m/sha256"
cp "$W/www/p.bin" "$M/sha256/$SHA"; cp "$W/www/p.bin" "$W/www/m/sha256/$SHA"
fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/upstream.bin" "$SHA"
run_mb fetch --recipes "$R" --cache "$T_TMP/m1" --mirror "$M" p
expect_rc "a plain directory mirror" 0
[ "$(requests /upstream.bin)" -eq 0 ] && ok "upstream is not contacted when a mirror has the blob" || fail "mirror first"
run_mb fetch --recipes "$R" --cache "$T_TMP/m2" --mirror "file://$M" p
expect_rc "a file:// mirror" 0
run_mb fetch --recipes "$R" --cache "$T_TMP/m3" --mirror "http://127.0.0.1:$NGX_HTTP/m/" p
expect_rc "an http:// mirror" 0
[ "$(requests "/m/sha256/$SHA")" -eq 1 ] && ok "the http mirror is asked for /sha256/<hex>" || fail "http mirror path"
cd "$T_TMP" && run_mb fetch --recipes "$R" --cache "$T_TMP/m4" --mirror mirror p; cd - >/dev/null
expect_rc "a relative directory mirror" 0
run_mb fetch --recipes "$R" --cache "$T_TMP/m5" --mirror "ftp://example.org/m" p
expect_err "an unsupported mirror scheme is bad input" 2 "ftp://example.org/m"

# the recipe's own mirrors after its url
fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/gone.bin" "$SHA" "" "http://127.0.0.1:$NGX_HTTP/p.bin"
run_mb fetch --recipes "$R" --cache "$T_TMP/rm" p --json
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q '"source": "http://127.0.0.1:'"$NGX_HTTP"'/p.bin"'; then
	ok "the recipe's mirrors are tried after its url"; else fail "recipe mirrors" "$ERR"; fi

# offline
fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/offline.bin" "$SHA"
run_mb fetch --recipes "$R" --cache "$T_TMP/o1" --offline p
expect_err "offline without the blob names what is missing" 3 "$F is not in the cache"
[ "$(requests /offline.bin)" -eq 0 ] && ok "offline contacts no upstream URL" || fail "offline contacted upstream"
run_mb fetch --recipes "$R" --cache "$T_TMP/o1" --offline --mirror "$M" p
expect_rc "offline with a mirror" 0
run_mb fetch --recipes "$R" --cache "$T_TMP/o1" --offline p
expect_rc "offline with the blob cached" 0

# integrity
fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/p.bin" "$(printf '%064d' 0)"
run_mb fetch --recipes "$R" --cache "$T_TMP/i1" p
expect_err "wrong sha256 is an integrity failure" 4 "no source gave the right bytes"
fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/p.bin" "$SHA" 299999
run_mb fetch --recipes "$R" --cache "$T_TMP/i2" p
expect_err "more bytes than the recipe's size is an integrity failure" 4 "more than the 299999 bytes"
fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/p.bin" "$SHA" 300001
run_mb fetch --recipes "$R" --cache "$T_TMP/i3" p
expect_err "fewer bytes than the recipe's size is an integrity failure" 4 "300000 bytes, expected 300001"
if cache_is_clean "$T_TMP/i1" && cache_is_clean "$T_TMP/i2" && cache_is_clean "$T_TMP/i3" &&
   [ "$(find "$T_TMP/i1/blobs" "$T_TMP/i2/blobs" "$T_TMP/i3/blobs" -type f | wc -l)" -eq 0 ]; then
	ok "no blob is kept after an integrity failure"; else fail "integrity left a blob"; fi

# unpinned
fetch_recipe "$R" p "$F" "http://127.0.0.1:$NGX_HTTP/p.bin" ""
run_mb fetch --recipes "$R" --cache "$T_TMP/u" p
expect_err "an unpinned artifact is refused" 2 "--allow-unpinned"
run_mb fetch --recipes "$R" --cache "$T_TMP/u" --allow-unpinned p --json
if [ "$RC" -eq 0 ] && [ -f "$T_TMP/u/blobs/sha256/$SHA" ] && printf '%s' "$OUT" | python3 -c '
import json, sys
a = json.load(sys.stdin)["artifacts"][0]
assert a["sha256"] == sys.argv[1] and a["pinned"] is False, a
' "$SHA"; then ok "--allow-unpinned stores the blob under the digest seen and reports it"
else fail "--allow-unpinned" "$ERR" "$OUT"; fi
cache_is_clean "$T_TMP/u" && ok "no temporary file left by an unpinned fetch" || fail "unpinned tmp left"

# many artifacts, several at once
R2=$T_TMP/many; mkdir -p "$R2/stacks"
i=0; names=
while [ $i -lt 6 ]; do
	make_blob "$W/www/f$i.bin" $((20000 * (i + 1)))
	fetch_recipe "$R2" "f$i" "f$i-1.0-py3-none-any.whl" "http://127.0.0.1:$NGX_HTTP/f$i.bin" "$BLOB_SHA"
	names="$names f$i"; i=$((i + 1))
done
run_mb fetch --recipes "$R2" --cache "$T_TMP/many-c" -j 3 $names --json
if [ "$RC" -eq 0 ] && [ "$(ls "$T_TMP/many-c/blobs/sha256" | wc -l)" -eq 6 ] && cache_is_clean "$T_TMP/many-c"; then
	ok "six artifacts with --jobs 3"; else fail "six artifacts" "$ERR"; fi
# on a terminal: bars per transfer and in total (script(1) gives a pty)
if command -v script > /dev/null; then
	script -qc "$MB fetch --recipes $R2 --cache $T_TMP/tty-c -j 2 $names" /dev/null > "$T_TMP/tty.out" 2>&1
	if grep -q 'total  *\[#*\.*\] ' "$T_TMP/tty.out" && grep -q 'f5-1.0-py3-none-any.whl' "$T_TMP/tty.out" &&
	   grep -q "$(printf '\033')\[1A" "$T_TMP/tty.out"; then
		ok "a terminal gets progress bars, redrawn in place"; else fail "tty bars" "$(cat -v "$T_TMP/tty.out" | head -5)"; fi
else
	ok "# SKIP script(1) not installed"
fi
run_mb fetch --recipes "$R2" --cache "$T_TMP/many-c" -j 0 f0
expect_err "--jobs 0 is bad input" 2 "--jobs"

# libcurl is loaded on first use: one that cannot be loaded, or lacks a
# function, is a host problem (exit 6) named in one line, and nothing is cached
if ! mb_lazy; then
	ok "# SKIP libcurl is linked into $MB: nothing to load at run time"
elif stub_lib "$T_TMP/libs" libcurl.so.4; then
	run_mb_libs "$T_TMP/libs" fetch --recipes "$R2" --cache "$T_TMP/nolib-c" f0
	expect_err "a libcurl that cannot be loaded: exit 6, naming the package" 6 \
		"cannot load libcurl.so.4 (install libcurl4)"
	run_mb_libs "$T_TMP/libs/empty" fetch --recipes "$R2" --cache "$T_TMP/nolib-c" f0
	expect_err "a libcurl without its functions: exit 6, naming the function" 6 "libcurl.so.4 lacks curl_"
	[ ! -e "$T_TMP/nolib-c/blobs/sha256" ] || [ -z "$(ls -A "$T_TMP/nolib-c/blobs/sha256")" ] &&
		ok "nothing cached without libcurl" || fail "cached without libcurl" "$(ls -R "$T_TMP/nolib-c")"
	run_mb fetch --recipes "$R2" --cache "$T_TMP/nolib-c" f0
	expect_rc "the library path is put back after" 0
else
	fail "cc builds a stub library"
fi
done_testing
