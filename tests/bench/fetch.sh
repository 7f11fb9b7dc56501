#!/bin/sh
# Fetch benchmarks against nginx on 127.0.0.1 (data generated here, deleted after):
#  1. one 1 GiB transfer: mambaboot fetch (sha256 included) vs curl -o; want >= 0.9x;
#     then the same into tmpfs, to tell the disk's share from the rest
#  2. sha256 of the same 1 GiB: src/digest.c vs openssl dgst -sha256
#  3. 16 files (1..16 MB) from an nginx with limit_rate 8m: wall time of
#     fetch --jobs 16 vs the largest file alone; want <= 1.2x
#  4. peak RSS while fetching a 2 GiB file; want < 64 MB
# BENCH_DIR (default: $TMPDIR or /tmp) must have ~5 GiB free.
set -eu
: "${MB:?}" "${MB_ROOT:?}"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
D=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench.XXXXXX")
N1= N2= S=
cleanup() {
	[ -n "$N1" ] && sh "$MB_ROOT/tests/servers/nginx.sh" stop "$N1"
	[ -n "$N2" ] && sh "$MB_ROOT/tests/servers/nginx.sh" stop "$N2"
	rm -rf ${S:+"$S"}
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
now() { date +%s.%N; }
busy() { # CPU-seconds spent so far by the whole machine (user, system, irq)
	awk '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8) / 100 }' /proc/stat
}
calc() { python3 -c "print($1)"; }
recipe() { # DIR NAME URL FILE
	sha=$(sha256sum "$4" | cut -d' ' -f1)
	printf 'name: %s\nversion: "1.0"\nkind: wheel\nartifacts:\n  - url: "%s"\n    sha256: %s\n    size: %s\n    filename: %s-1.0-py3-none-any.whl\n' \
		"$2" "$3" "$sha" "$(stat -c %s "$4")" "$2" > "$1/$2.yaml"
}

N1=$D/n1; mkdir -p "$N1/www" "$D/r"
set -- $(sh "$MB_ROOT/tests/servers/nginx.sh" start "$N1"); P=$1
head -c 1073741824 /dev/urandom > "$N1/www/big.bin"
recipe "$D/r" big "http://127.0.0.1:$P/big.bin" "$N1/www/big.bin"
cat "$N1/www/big.bin" > /dev/null # warm the page cache for both

# 1. throughput: best of 3 each, alternating.  mambaboot fsyncs the blob
# before renaming it; curl -o does not, so "curl -o + sync" is shown too,
# and the disk's own floor for 1 GiB made durable: dd with O_DIRECT + fsync.
best_curl=999 best_sync=999 best_mb=999 best_dd=999
for i in 1 2 3; do
	t0=$(now)
	dd if=/dev/zero of="$D/dd.out" bs=16M count=64 oflag=direct conv=fsync 2>/dev/null ||
		dd if=/dev/zero of="$D/dd.out" bs=16M count=64 conv=fsync 2>/dev/null # no O_DIRECT here
	t1=$(now)
	rm -f "$D/dd.out"
	best_dd=$(calc "min($best_dd, $t1 - $t0)")
	t0=$(now); curl -s -o "$D/curl.out" "http://127.0.0.1:$P/big.bin"; t1=$(now)
	rm -f "$D/curl.out"
	best_curl=$(calc "min($best_curl, $t1 - $t0)")
	t0=$(now); curl -s -o "$D/curl.out" "http://127.0.0.1:$P/big.bin"; sync "$D/curl.out"; t1=$(now)
	rm -f "$D/curl.out"
	best_sync=$(calc "min($best_sync, $t1 - $t0)")
	t0=$(now); "$MB" fetch -q --recipes "$D/r" --cache "$D/c" big; t1=$(now)
	rm -rf "$D/c"
	best_mb=$(calc "min($best_mb, $t1 - $t0)")
done
echo "1 GiB over loopback: curl -o $(calc "round(1024 / $best_curl)") MiB/s," \
     "curl -o + sync $(calc "round(1024 / $best_sync)") MiB/s," \
     "mambaboot fetch $(calc "round(1024 / $best_mb)") MiB/s;" \
     "ratio vs curl -o $(calc "round($best_curl / $best_mb, 2)") (want >= 0.9)," \
     "vs curl -o + sync $(calc "round($best_sync / $best_mb, 2)")"
echo "the disk alone (dd oflag=direct conv=fsync of 1 GiB): $(calc "round(1024 / $best_dd)") MiB/s;" \
     "mambaboot fetch reaches $(calc "round($best_dd / $best_mb, 2)") of it"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

# 1b. the same with no disk under either (tmpfs, where there is room): what
# the transfer and the hashing cost without the disk's share
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt 3145728 ]; then
	S=$(mktemp -d /dev/shm/mbbench.XXXXXX)
	best_curl=999 best_mb=999 cpu_curl=999 cpu_mb=999
	for i in 1 2 3; do
		c0=$(busy); t0=$(now); curl -s -o "$S/curl.out" "http://127.0.0.1:$P/big.bin"; t1=$(now); c1=$(busy)
		rm -f "$S/curl.out"
		best_curl=$(calc "min($best_curl, $t1 - $t0)") cpu_curl=$(calc "min($cpu_curl, $c1 - $c0)")
		c0=$(busy); t0=$(now); "$MB" fetch -q --recipes "$D/r" --cache "$S/c" big; t1=$(now); c1=$(busy)
		rm -rf "$S/c"
		best_mb=$(calc "min($best_mb, $t1 - $t0)") cpu_mb=$(calc "min($cpu_mb, $c1 - $c0)")
	done
	rm -rf "$S"; S=
	echo "the same into tmpfs (no disk): curl -o $(calc "round(1024 / $best_curl)") MiB/s," \
	     "mambaboot fetch $(calc "round(1024 / $best_mb)") MiB/s; ratio $(calc "round($best_curl / $best_mb, 2)");" \
	     "CPU-seconds, nginx included: curl -o $(calc "round($cpu_curl, 2)"), mambaboot $(calc "round($cpu_mb, 2)")," \
	     "so on $(nproc) CPUs mambaboot needs at least $(calc "round($cpu_mb / $(nproc), 2)") s"
fi

# 2. hash cost
cc -O2 -I"$MB_ROOT/src" -o "$D/hashfile" "$MB_ROOT/tests/bench/hashfile.c" \
	"$MB_ROOT/build/obj/digest.o" "$MB_ROOT/build/obj/util.o" "$MB_ROOT/build/obj/err.o" -lcrypto
t0=$(now); openssl dgst -sha256 "$N1/www/big.bin" > /dev/null; t1=$(now)
t2=$(now); "$D/hashfile" "$N1/www/big.bin" > /dev/null; t3=$(now)
echo "sha256 of 1 GiB: openssl dgst $(calc "round($t1 - $t0, 2)") s," \
     "src/digest.c $(calc "round($t3 - $t2, 2)") s; ratio $(calc "round(($t3 - $t2) / ($t1 - $t0), 2)")"
rm -f "$N1/www/big.bin"

# 4. peak RSS on a 2 GiB file (sparse on the server side: no disk read)
truncate -s 2G "$N1/www/huge.bin"
recipe "$D/r" huge "http://127.0.0.1:$P/huge.bin" "$N1/www/huge.bin"
/usr/bin/time -v "$MB" fetch -q --recipes "$D/r" --cache "$D/c" huge 2> "$D/time.txt"
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$D/time.txt")
echo "peak RSS fetching 2 GiB: $(calc "round($rss / 1024, 1)") MB (want < 64)"
rm -rf "$D/c" "$N1/www/huge.bin"
sh "$MB_ROOT/tests/servers/nginx.sh" stop "$N1"; N1=

# 3. 16 files at once from a rate-limited nginx
N2=$D/n2; mkdir -p "$N2/www" "$D/r16"
set -- $(NGINX_LIMIT_RATE=8m sh "$MB_ROOT/tests/servers/nginx.sh" start "$N2"); P=$1
names=
for i in $(seq 1 16); do
	head -c $((i * 1000000)) /dev/urandom > "$N2/www/f$i.bin"
	recipe "$D/r16" "f$i" "http://127.0.0.1:$P/f$i.bin" "$N2/www/f$i.bin"
	names="$names f$i"
done
t0=$(now); "$MB" fetch -q --recipes "$D/r16" --cache "$D/c16a" f16; t1=$(now)
t2=$(now); "$MB" fetch -q --recipes "$D/r16" --cache "$D/c16b" --jobs 16 $names; t3=$(now)
echo "16 files (136 MB, limit_rate 8m): largest alone $(calc "round($t1 - $t0, 2)") s," \
     "all 16 with --jobs 16 $(calc "round($t3 - $t2, 2)") s; ratio $(calc "round(($t3 - $t2) / ($t1 - $t0), 2)") (want <= 1.2)"
