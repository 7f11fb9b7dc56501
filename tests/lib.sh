# Shared helpers for integration tests: TAP output and temp dirs.
# Each test script sources this, calls ok/fail/check, and ends with `done_testing`.
set -u
: "${MB:?MB must point at the mambaboot binary}"
T_N=0 T_FAILED=0
# The data files the binary finds beside itself, wherever the binary under
# test was built (build/asan/ has no share/ beside it).
export MAMBABOOT_COMPAT="${MAMBABOOT_COMPAT:-$MB_ROOT/share/mambaboot/compat.yaml}"
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mbtest.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT

ok()   { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
fail() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done; }

# check NAME COMMAND...: passes when the command exits 0.
check() { n=$1; shift; if "$@" > "$T_TMP/.check" 2>&1; then ok "$n"; else fail "$n" "$(tail -n 5 "$T_TMP/.check")"; fi; }

# run_mb: run mambaboot, leaving $RC, $OUT (stdout) and $ERR (stderr).
run_mb() {
	"$MB" "$@" > "$T_TMP/.out" 2> "$T_TMP/.err"
	RC=$?
	OUT=$(cat "$T_TMP/.out"); ERR=$(cat "$T_TMP/.err")
}

# run_mb_libs DIR ARGS...: run_mb with DIR first on the library path, so a
# library that mambaboot loads on first use (libcurl, libarchive) can be
# replaced by a broken one; the path is put back after.
run_mb_libs() {
	_libs_had=${LD_LIBRARY_PATH+x} _libs_old=${LD_LIBRARY_PATH-}
	LD_LIBRARY_PATH=$1${_libs_old:+:$_libs_old}; export LD_LIBRARY_PATH
	shift
	run_mb "$@"
	if [ -n "$_libs_had" ]; then LD_LIBRARY_PATH=$_libs_old; else unset LD_LIBRARY_PATH; fi
}

# mb_lazy: the binary loads libcurl and libarchive on first use (the
# dynamic build), so a broken one on the library path can be tried.
mb_lazy() { "$MB" --version --verbose 2>/dev/null | grep -q 'loaded on first use'; }

# stub_lib DIR SONAME: DIR/SONAME is a file that is no library, and
# DIR/empty/SONAME a library that has none of the functions.
stub_lib() {
	mkdir -p "$1/empty" && echo "not a library" > "$1/$2" &&
		cc -shared -o "$1/empty/$2" -x c /dev/null
}

# expect_rc NAME CODE: the last run_mb exited CODE.
expect_rc() {
	if [ "$RC" -eq "$2" ]; then ok "$1"; else fail "$1" "exit $RC, wanted $2" "stderr: $ERR"; fi
}

# expect_err NAME CODE TEXT: exit CODE and stderr's one error line contains TEXT.
expect_err() {
	lines=$(printf '%s\n' "$ERR" | grep -c '^mambaboot: error: ')
	if [ "$RC" -eq "$2" ] && [ "$lines" -eq 1 ] && printf '%s' "$ERR" | grep -qF -- "$3"; then
		ok "$1"
	else
		fail "$1" "exit $RC (wanted $2), error lines $lines" "stderr: $ERR" "wanted: $3"
	fi
}

# Recipes in dir $2 for packages synthNNN of a mkchannel.py channel $1
# (file:// URLs); synth001 depends on synth000, as in the channel.
synth_recipes() { # CHANNEL RECIPES NNN...
	sr_ch=$1 sr_r=$2; shift 2
	for n in "$@"; do
		f="$sr_ch/linux-64/synth$n-1.0-0.tar.bz2"
		printf 'name: synth%s\nversion: "1.0"\nkind: conda\nartifacts:\n  - url: file://%s\n    sha256: %s\n' \
			"$n" "$f" "$(sha256sum "$f" | cut -d' ' -f1)" > "$sr_r/synth$n.yaml"
	done
	[ ! -f "$sr_r/synth001.yaml" ] || printf 'depends: [synth000]\n' >> "$sr_r/synth001.yaml"
}

# owned_paths PREFIX NAME: the paths recipe NAME owns, a line each, as
# state.json's file list reference names them ("FILE" or "FILE:OFF:LEN").
owned_paths() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = sys.argv[1] + "/.mambaboot/"
for r in json.load(open(d + "state.json"))["recipes"]:
    if r["name"] == sys.argv[2]:
        f, *at = r["files"].split(":")
        with open(d + "files/" + f, "rb") as fh:
            if at:
                fh.seek(int(at[0])); text = fh.read(int(at[1]))
            else:
                text = fh.read()
        for e in json.loads(text)["files"]:
            print(e["path"])
PY
}

done_testing() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }

