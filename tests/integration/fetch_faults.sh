# mambaboot fetch against a misbehaving server (tests/servers/faultserver.py):
# for each fault, the exit code, the message, and a cache holding only
# verified blobs.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/servers/lib.sh"
export MAMBABOOT_RETRY_BASE_MS=10 MAMBABOOT_STALL_SECONDS=1 MAMBABOOT_RETRIES=3
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
S=$T_TMP/srv; mkdir -p "$S"
start_faultserver "$S"
[ -n "$FAULT_PORT" ] || { fail "faultserver starts"; done_testing; exit 1; }
make_blob "$S/a.bin" 200000; SHA=$BLOB_SHA
F=a-1.0-py3-none-any.whl
U="http://127.0.0.1:$FAULT_PORT"
R=$T_TMP/r
n=0

# fetch_from PATH [MIRROR...]: fetch a.bin from the fault server into a new cache $C.
fetch_from() {
	p=$1; shift
	n=$((n + 1)); C=$T_TMP/c$n
	fetch_recipe "$R" a "$F" "$U$p" "$SHA" "" "$@"
	run_mb fetch --recipes "$R" --cache "$C" a --json
}
# reqs PATH: requests the server logged for PATH; field PATH N KEY: a field of the Nth.
reqs() { grep -c "\"path\": \"$1\"" "$FAULT_LOG"; }
field() { grep "\"path\": \"$1\"" "$FAULT_LOG" | sed -n "${2}p" | python3 -c "import json,sys; print(json.load(sys.stdin)['$3'])"; }
has_blob() { [ -f "$C/blobs/sha256/$SHA" ] && cache_is_clean "$C"; }
no_blob() { [ -z "$(ls -A "$C/blobs/sha256")" ] && cache_is_clean "$C"; }
clean_ok() { if "$@"; then ok "$name: cache holds only verified files"; else fail "$name: cache" "$(ls -lR "$C")"; fi; }

name="reset mid-body, once"
fetch_from /reset:1/a.bin
expect_rc "$name: exit 0" 0
[ "$(field /reset:1/a.bin 2 range)" = "bytes=100000-" ] && ok "$name: the retry resumes with a Range request" || fail "$name: resume" "$(cat "$FAULT_LOG")"
clean_ok has_blob

name="reset mid-body, always"
fetch_from /reset/a.bin
expect_err "$name: exit 3 after retries" 3 "$U/reset/a.bin"
case $ERR in *"(4 attempts)"*) ok "$name: the summary counts the attempts" ;; *) fail "$name: attempts" "$ERR" ;; esac
[ "$(reqs /reset/a.bin)" -eq 4 ] && ok "$name: 1 try + MAMBABOOT_RETRIES retries" || fail "$name: requests" "$(reqs /reset/a.bin)"
clean_ok no_blob
if printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["artifacts"][0]
assert d["failed"] == 1 and a["status"] == "failed" and a["attempts"] == 4, a
assert a["blob"] is None and "reset/a.bin" in a["error"], a
'; then ok "$name: --json still reports the failed artifact and its attempts"; else fail "$name: --json" "$OUT"; fi

name="short body with a full Content-Length, once"
fetch_from /short:1/a.bin
expect_rc "$name: exit 0" 0
clean_ok has_blob
name="short body, always"
fetch_from /short/a.bin
expect_err "$name: exit 3" 3 "every source failed"
clean_ok no_blob

name="HTTP 500"
fetch_from /500/a.bin
expect_err "$name: exit 3 naming the status" 3 "HTTP 500 (4 attempts)"
clean_ok no_blob
name="HTTP 503 twice"
fetch_from /503:2/a.bin
expect_rc "$name: exit 0" 0
[ "$(reqs /503:2/a.bin)" -eq 3 ] && ok "$name: retried until it worked" || fail "$name: requests" "$(reqs /503:2/a.bin)"
clean_ok has_blob

name="HTTP 429 with Retry-After: 1"
fetch_from /429:1/a.bin
expect_rc "$name: exit 0" 0
t1=$(field /429:1/a.bin 1 t) t2=$(field /429:1/a.bin 2 t)
if python3 -c "import sys; sys.exit(0 if $t2 - $t1 >= 0.95 else 1)"; then ok "$name: the retry waits for Retry-After"; else fail "$name: waited $t1 -> $t2"; fi
clean_ok has_blob
name="HTTP 429 with a Retry-After above MAMBABOOT_RETRY_AFTER_MAX"
n=$((n + 1)); C=$T_TMP/c$n
fetch_recipe "$R" a "$F" "$U/429/a.bin" "$SHA" "" "$U/ok/a.bin"
MAMBABOOT_RETRY_AFTER_MAX=0 run_mb fetch --recipes "$R" --cache "$C" a
expect_rc "$name: the next source is tried at once" 0
[ "$(reqs /429/a.bin)" -eq 1 ] && ok "$name: no retry" || fail "$name: requests" "$(reqs /429/a.bin)"

name="a stall"
fetch_from /stall:1/a.bin
expect_rc "$name: exit 0 after the low-speed limit fires and the retry resumes" 0
[ "$(field /stall:1/a.bin 2 range)" = "bytes=100000-" ] && ok "$name: resumed" || fail "$name: resume" "$(cat "$FAULT_LOG")"
clean_ok has_blob

name="wrong bytes"
fetch_from /wrong/a.bin
expect_err "$name: exit 4" 4 "no source gave the right bytes"
[ "$(reqs /wrong/a.bin)" -eq 1 ] && ok "$name: not retried from the same source" || fail "$name: requests"
clean_ok no_blob
name="wrong bytes, then a good mirror"
fetch_from /wrong/a.bin "$U/ok/a.bin"
expect_rc "$name: the next source gives the right bytes" 0
clean_ok has_blob

name="a redirect loop"
fetch_from /loop/a.bin
expect_err "$name: exit 3" 3 "edirect"
[ "$(reqs /loop/a.bin)" -le 12 ] && ok "$name: redirects are limited" || fail "$name: requests" "$(reqs /loop/a.bin)"
clean_ok no_blob

name="Range ignored"
n=$((n + 1)); C=$T_TMP/c$n
mkdir -p "$C/partial"; head -c 50000 "$S/a.bin" > "$C/partial/$SHA.part"
fetch_recipe "$R" a "$F" "$U/norange/a.bin" "$SHA"
run_mb fetch --recipes "$R" --cache "$C" a
expect_rc "$name: exit 0" 0
[ "$(field /norange/a.bin 1 range)" = "bytes=50000-" ] && [ "$(field /norange/a.bin 1 status)" = 200 ] &&
	ok "$name: a 200 answer to a Range request starts over" || fail "$name" "$(cat "$FAULT_LOG")"
[ "$(reqs /norange/a.bin)" -eq 1 ] && ok "$name: in the same request" || fail "$name: requests"
clean_ok has_blob

name="a partial file with wrong bytes"
n=$((n + 1)); C=$T_TMP/c$n
mkdir -p "$C/partial"; head -c 50000 /dev/zero > "$C/partial/$SHA.part"
fetch_recipe "$R" a "$F" "$U/ok/a.bin" "$SHA"
run_mb fetch --recipes "$R" --cache "$C" a
expect_rc "$name: is discarded and the file fetched whole" 0
clean_ok has_blob

name="HTTP 404"
fetch_from /ok/missing.bin
expect_err "$name: exit 3" 3 "HTTP 404"
[ "$(reqs /ok/missing.bin)" -eq 1 ] && ok "$name: not retried" || fail "$name: requests"

name="connection refused"
port=$(python3 "$MB_ROOT/tests/servers/freeport.py")
n=$((n + 1)); C=$T_TMP/c$n
fetch_recipe "$R" a "$F" "http://127.0.0.1:$port/a.bin" "$SHA" "" "$U/500/a.bin"
run_mb fetch --recipes "$R" --cache "$C" a
expect_err "$name: exit 3" 3 "127.0.0.1:$port"
case $ERR in *"127.0.0.1:$port/a.bin"*"$U/500/a.bin: HTTP 500"*) ok "the one error line summarises every source" ;; *) fail "summary" "$ERR" ;; esac
n_retry=$(printf '%s\n' "$ERR" | grep -c 'retry [0-9] of 3')
[ "$n_retry" -ge 6 ] && ok "each retry is reported on stderr" || fail "retry lines" "$ERR"
clean_ok no_blob

name="http_proxy"
n=$((n + 1)); C=$T_TMP/c$n
fetch_recipe "$R" a "$F" "http://upstream.invalid/ok/a.bin" "$SHA"
http_proxy=$U run_mb fetch --recipes "$R" --cache "$C" a
expect_rc "$name: the download goes through the proxy" 0
grep -q '"proxied": true' "$FAULT_LOG" && ok "$name: the proxy saw the request" || fail "$name: not proxied"
clean_ok has_blob

# A full disk: a cache on a 1 MiB tmpfs cannot hold a 3 MB download.
name="a full disk"
make_blob "$S/big.bin" 3000000; BIG=$BLOB_SHA
D=$T_TMP/small; mkdir -p "$D"
if mount -t tmpfs -o size=1m tmpfs "$D" 2>/dev/null; then
	C=$D/cache
	fetch_recipe "$R" a "$F" "$U/ok/big.bin" "$BIG"
	run_mb fetch --recipes "$R" --cache "$C" a
	expect_err "$name: exit 1 with a clear error" 1 "No space left on device"
	[ ! -e "$C/blobs/sha256/$BIG" ] && cache_is_clean "$C" && ok "$name: no blob, nothing in tmp/" ||
		fail "$name: cache" "$(ls -lR "$C")"
	umount "$D"
else
	ok "# SKIP no permission to mount a tmpfs"
	ok "# SKIP no permission to mount a tmpfs"
fi
done_testing
