# --lock-timeout bounds the wait for a cache entry that another process is
# fetching (it holds CACHE/partial/<sha256>.lock); without it, the wait
# lasts until the holder lets go.  The holder here is flock(1).  A fetch
# that ends leaves no lock file behind.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/servers/lib.sh"
if ! command -v flock > /dev/null || ! command -v pgrep > /dev/null; then
	ok "# SKIP flock(1) or pgrep not installed"; done_testing; exit 0
fi
F=p-1.0-py3-none-any.whl
M=$T_TMP/mirror R=$T_TMP/r C=$T_TMP/cache
mkdir -p "$M/sha256" "$C/partial"
make_blob "$M/p.bin" 50000; SHA=$BLOB_SHA
cp "$M/p.bin" "$M/sha256/$SHA"
fetch_recipe "$R" p "$F" "file://$T_TMP/nowhere/p.bin" "$SHA"
LOCK=$C/partial/$SHA.lock
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# hold LOCK with flock(1) running `sleep 30`; $H is flock's pid
H=
hold_lock() {
	flock "$LOCK" sleep 30 & H=$!
	i=0
	while flock -n "$LOCK" true || ! pgrep -P "$H" > /dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && break
		sleep 0.05
	done
}
# end the holder: its child `sleep` holds the lock too
release_lock() { pkill -P "$H"; wait "$H" 2>/dev/null; }
trap 'release_lock 2>/dev/null; rm -rf "$T_TMP"' EXIT

hold_lock
t0=$(now_ms)
run_mb fetch --recipes "$R" --cache "$C" --mirror "$M" --lock-timeout 1 p
dt=$(($(now_ms) - t0))
expect_err "--lock-timeout 1 gives up with exit 7 while another process holds the entry" 7 \
	"$F: another process is fetching it"
case $ERR in *"$SHA.lock"*"gave up after 1 s (--lock-timeout)"*) ok "the error names the lock and the timeout" ;;
	*) fail "lock and timeout named" "$ERR" ;; esac
[ "$dt" -ge 900 ] && [ "$dt" -lt 5000 ] && ok "it waited about one second ($dt ms)" || fail "wait time" "$dt ms"
[ ! -e "$C/blobs/sha256/$SHA" ] && ok "nothing is stored after giving up" || fail "blob stored"

run_mb fetch --recipes "$R" --cache "$C" --mirror "$M" --lock-timeout 0 p --json
expect_rc "--lock-timeout 0 gives up at once" 7
if printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["artifacts"][0]
assert a["status"] == "failed" and "another process is fetching it" in a["error"], a
assert d["failed"] == 1, d
'; then ok "--json reports the artifact as failed, with the reason"; else fail "--json lock" "$OUT" "$ERR"; fi

mkdir -p "$T_TMP/prefix"
run_mb install p --recipes "$R" --cache "$C" --mirror "$M" --prefix "$T_TMP/prefix" \
	--skip-checks --lock-timeout 1
expect_err "install --lock-timeout bounds the wait for the cache entry too" 7 \
	"$F: another process is fetching it"

# no --lock-timeout: wait for the holder, then finish
"$MB" fetch -v --recipes "$R" --cache "$C" --mirror "$M" p > "$T_TMP/w.out" 2>&1 & W=$!
sleep 1.5
if kill -0 "$W" 2>/dev/null && [ ! -e "$C/blobs/sha256/$SHA" ]; then
	ok "without --lock-timeout, fetch waits while the lock is held"
else fail "waits" "$(cat "$T_TMP/w.out")"; fi
release_lock
i=0
while kill -0 "$W" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$W" 2>/dev/null; then
	kill "$W"; fail "fetch finishes once the holder lets go" "still running 10 s later"
else
	wait "$W"; rc=$?
	if [ $rc -eq 0 ] && cmp -s "$C/blobs/sha256/$SHA" "$M/p.bin"; then
		ok "fetch finishes once the holder lets go, with the verified blob"
	else fail "fetch after release" "exit $rc" "$(cat "$T_TMP/w.out")"; fi
fi
left=$(ls "$C/partial/" | grep '\.lock$')
[ -z "$left" ] && ok "the waiter, once done, leaves no .lock in partial/" || fail "a .lock is left" "$left"
grep -q "another process is fetching it; waiting" "$T_TMP/w.out" &&
	ok "-v says it waits for another process" || fail "waiting message" "$(cat "$T_TMP/w.out")"

C2=$T_TMP/cache2
run_mb fetch --recipes "$R" --cache "$C2" --mirror "$M" p
expect_rc "a fetch into an empty cache" 0
left=$(ls "$C2/partial/")
[ -f "$C2/blobs/sha256/$SHA" ] && [ -z "$left" ] &&
	ok "a successful fetch leaves partial/ empty: no .lock, no .part" || fail "partial/ after a fetch" "$left"
# What a process killed at once left in CACHE/tmp goes once a day old;
# what may still be in use stays.
mkdir -p "$C/tmp/aaaa.Xk3j9q/lib" "$C/tmp/build-bbbb.4242"
echo half > "$C/tmp/aaaa.Xk3j9q/lib/half.so"
touch -d '2 days ago' "$C/tmp/aaaa.Xk3j9q"
run_mb fetch --recipes "$R" --cache "$C" --mirror "$M" p
expect_rc "fetch with leftovers in the cache's tmp" 0
[ ! -e "$C/tmp/aaaa.Xk3j9q" ] && [ -d "$C/tmp/build-bbbb.4242" ] &&
	ok "a day-old leftover is removed, a fresh one kept" || fail "tmp sweep" "$(ls -la "$C/tmp")"
done_testing
