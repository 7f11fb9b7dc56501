# The static binary (issue #15): no loader and no library from the host.
# It installs a .conda (zstd inside) and a .tar.bz2 over HTTPS inside an
# empty chroot that holds only itself, /dev/null, /dev/urandom, /dev/random,
# /proc, /etc/hosts and a CA bundle at the RHEL path; then the same, and the
# demo, as if on Linux 3.10 (tests/tools/oldkernel.c: ENOSYS for every
# later system call, uname saying 2.6).  Runs against build/static/mambaboot
# whichever binary the suite tests ($MB_STATIC names another).
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/servers/lib.sh"
S=${MB_STATIC:-$MB_ROOT/build/static/mambaboot}
if [ ! -x "$S" ]; then
	fail "the static binary exists" "$S is missing: run 'make static'"
	done_testing
	exit 1
fi

hdr=$(readelf -lW "$S" 2>&1; readelf -dW "$S" 2>&1)
case $hdr in *INTERP*) fail "no INTERP program header" "$(printf '%s' "$hdr" | grep INTERP)" ;; *) ok "no INTERP program header" ;; esac
case $hdr in *NEEDED*) fail "no NEEDED entry" "$(printf '%s' "$hdr" | grep NEEDED)" ;; *) ok "no NEEDED entry" ;; esac
case $("$S" --version --verbose) in
*"build: static"*"all libraries linked"*) ok "--version --verbose says static and linked" ;;
*) fail "--version --verbose" "$("$S" --version --verbose 2>&1)" ;;
esac

OK=$T_TMP/oldkernel
if cc -O2 -o "$OK" "$MB_ROOT/tests/tools/oldkernel.c"; then ok "oldkernel builds"; else fail "oldkernel builds"; fi
case $("$OK" uname -r) in 2.6.*) ok "under oldkernel uname says 2.6" ;; *) fail "oldkernel uname" "$("$OK" uname -r 2>&1)" ;; esac
"$OK" python3 -c 'import os, errno
try: os.getrandom(1)
except OSError as e: raise SystemExit(0 if e.errno == errno.ENOSYS else 1)
raise SystemExit(1)' && ok "under oldkernel getrandom(2) is ENOSYS" || fail "oldkernel filters getrandom"

if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	ok "# SKIP the chroot tests need root and mount namespaces"
	done_testing
	exit 0
fi

W=$T_TMP/ngx; mkdir -p "$W/www"
unset SSL_CERT_FILE CURL_CA_BUNDLE SSL_CERT_DIR
start_nginx "$W" || { fail "nginx starts"; done_testing; exit 1; }
CONDA=ca-certificates-2024.7.4-hbcca054_0.conda
BZ2=xtensor-io-0.10.3-hb585cf6_0.tar.bz2
ROOT=$T_TMP/root
mkdir -p "$ROOT/bin" "$ROOT/dev" "$ROOT/proc" "$ROOT/etc/pki/tls/certs" "$ROOT/r"
cp "$S" "$ROOT/bin/mambaboot"
mknod -m 666 "$ROOT/dev/null" c 1 3 && mknod -m 666 "$ROOT/dev/random" c 1 8 &&
	mknod -m 666 "$ROOT/dev/urandom" c 1 9 || fail "mknod in the chroot"
echo "127.0.0.1 localhost" > "$ROOT/etc/hosts"
CA=$ROOT/etc/pki/tls/certs/ca-bundle.crt
cp "$W/ca.pem" "$CA"
for f in $CONDA $BZ2; do
	cp "$SHARED/corpus/conda/$f" "$W/www/"
	n=${f%%-[0-9]*}
	printf 'name: %s\nversion: "1.0"\nkind: conda\nartifacts:\n  - url: https://localhost:%s/%s\n    sha256: %s\n' \
		"$n" "$NGX_HTTPS" "$f" "$(sha256sum "$W/www/$f" | cut -d' ' -f1)" > "$ROOT/r/$n.yaml"
done

# in_root [oldkernel] ARGS...: /bin/mambaboot ARGS in the chroot, with an
# empty environment, /proc mounted in a mount namespace of its own.
CHROOT=$(command -v chroot)
in_root() {
	pre=
	[ "$1" = oldkernel ] && { pre=$OK; shift; }
	unshare -m -- sh -c 'r=$1; shift; mount -t proc proc "$r/proc" && exec "$@"' sh "$ROOT" \
		env -i PATH=/bin $pre "$CHROOT" "$ROOT" /bin/mambaboot "$@" \
		> "$T_TMP/.out" 2> "$T_TMP/.err"
	RC=$?
	OUT=$(cat "$T_TMP/.out"); ERR=$(cat "$T_TMP/.err")
}

in_root install --recipes /r --prefix /p --cache /c ca-certificates xtensor-io
expect_rc "chroot: installs a .conda and a .tar.bz2 over HTTPS (CA found at the RHEL path, localhost from /etc/hosts)" 0
[ -f "$ROOT/p/ssl/cacert.pem" ] && [ -d "$ROOT/p/include/xtensor-io" ] &&
	ok "chroot: both packages' files are in the prefix" || fail "chroot: files" "$(ls -R "$ROOT/p" | head)"
in_root verify --prefix /p
expect_rc "chroot: the prefix verifies" 0

# DNS through /etc/resolv.conf (musl's resolver, in the binary): a name
# that only the test's DNS server on 127.0.0.1:53 knows, over plain HTTP.
python3 "$MB_ROOT/tests/servers/dnsserver.py" --name mirror.test --log "$T_TMP/dns.log" \
	--ready "$T_TMP/dns.ready" 2> "$T_TMP/dns.err" &
DNS_PID=$!
i=0; while [ ! -e "$T_TMP/dns.ready" ] && kill -0 $DNS_PID 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ -e "$T_TMP/dns.ready" ]; then
	echo "nameserver 127.0.0.1" > "$ROOT/etc/resolv.conf"
	mkdir -p "$ROOT/r2"
	sed "s|https://localhost:$NGX_HTTPS/|http://mirror.test:$NGX_HTTP/|" "$ROOT/r/ca-certificates.yaml" \
		> "$ROOT/r2/ca-certificates.yaml"
	in_root install --recipes /r2 --prefix /p4 --cache /c4 ca-certificates
	expect_rc "chroot: a host name resolved through /etc/resolv.conf" 0
	grep -q '^mirror.test$' "$T_TMP/dns.log" && ok "the name was asked of the server in resolv.conf" ||
		fail "DNS query seen" "$(cat "$T_TMP/dns.log" 2>/dev/null)"
	kill $DNS_PID
else
	ok "# SKIP no DNS server on 127.0.0.1:53: $(tail -n 1 "$T_TMP/dns.err")"
fi

in_root oldkernel install --recipes /r --prefix /p3 --cache /c3 ca-certificates xtensor-io
expect_rc "old kernel: the same install works with no system call after 3.10" 0
in_root oldkernel verify --prefix /p3
expect_rc "old kernel: the prefix verifies" 0

rm "$CA"
in_root install --recipes /r --prefix /p2 --cache /c2 ca-certificates
expect_err "chroot without a CA bundle: exit 3, naming the paths and the flag" 3 "--cacert FILE"
case $ERR in *"/etc/pki/tls/certs/ca-bundle.crt"*) ok "the error names the paths tried" ;; *) fail "paths tried" "$ERR" ;; esac
[ ! -d "$ROOT/p2/ssl" ] && ok "nothing installed without a CA bundle" || fail "installed without CA"

# The demo (a conda package, a wheel, a C build through /bin/sh and cc) on
# the host, as if its kernel were 3.10.
M=$T_TMP/demo-mirror P=$T_TMP/demo-prefix
python3 "$MB_ROOT/scripts/make-demo-mirror.py" "$M" > /dev/null
"$OK" "$S" install demo --recipes "$MB_ROOT/share/mambaboot/demo/recipes" --mirror "$M" --offline \
	--prefix "$P" --cache "$T_TMP/demo-cache" > "$T_TMP/demo.log" 2>&1
RC=$?; ERR=$(tail -n 5 "$T_TMP/demo.log")
expect_rc "old kernel: the demo installs" 0
case $("$P/bin/mbdemo-tool" 2>&1) in *"built from source by mambaboot"*) ok "old kernel: the demo's tool runs" ;; *) fail "demo tool" ;; esac
done_testing
