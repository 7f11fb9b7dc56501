#!/bin/sh
# Runs every test and ends with the line "N passed, N failed".
#   tests/run.sh --bin ./mambaboot --unit build/tests [NAME...]
# Unit tests are cmocka binaries (TAP output); integration tests are
# tests/integration/*.sh, which print TAP through tests/lib.sh.
# NAME filters integration scripts by file name.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=./mambaboot unit=build/tests
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--unit) unit=$2; shift 2 ;;
	*) break ;;
	esac
done
case $bin in /*) ;; *) bin=$root/$bin ;; esac
case $unit in /*) ;; *) unit=$root/$unit ;; esac
export MB="$bin" MB_ROOT="$root" SHARED="${SHARED:-$root/../shared}"
out="$root/tests/out"
mkdir -p "$out"
log="$out/tap.log"
: > "$log"

run_one() { # name command...
	name=$1; shift
	echo "# $name" >> "$log"
	"$@" > "$out/$name.out" 2>&1
	rc=$?
	cat "$out/$name.out" >> "$log"
	ok=$(grep -c '^ok ' "$out/$name.out")
	nok=$(grep -c '^not ok ' "$out/$name.out")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		echo "not ok - $name exited $rc without reporting a failure" >> "$log"
		nok=1
	fi
	grep '^not ok ' "$out/$name.out" | sed "s/^/$name: /"
	[ "$rc" -ne 0 ] && [ "$nok" -gt 0 ] && tail -n 20 "$out/$name.out" | sed 's/^/    /'
	printf '%-34s %4d passed %3d failed\n' "$name" "$ok" "$nok"
	passed=$((passed + ok)); failed=$((failed + nok))
}

passed=0 failed=0
if [ $# -eq 0 ]; then
	for t in "$unit"/test_*; do
		[ -x "$t" ] || continue
		CMOCKA_MESSAGE_OUTPUT=TAP run_one "$(basename "$t")" "$t"
	done
fi
for t in "$here"/integration/*.sh; do
	n=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		case " $* " in *" $n "*) ;; *) continue ;; esac
	fi
	run_one "$n" sh "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
