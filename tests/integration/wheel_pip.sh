# Wheels install exactly as pip installs them: for every corpus wheel and
# the wheels bundled with this Python, `pip install --no-deps --no-compile
# --prefix P1` and mambaboot into P2 give the same tree (paths, contents,
# modes) but for RECORD, INSTALLER, REQUESTED and direct_url.json; a wheel
# (pip runs with --ignore-installed: with --prefix alone it would uninstall
# the machine's own pip or setuptools when the wheel is one of them)
# pip refuses, mambaboot refuses too.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
PY=$(python3 -c 'import sys; print(sys.executable)')
export PATH="$(dirname "$PY"):$PATH"   # the same interpreter for both, so shebangs match
CACHE="$T_TMP/cache"
bundled=$(python3 -c 'import ensurepip, os; print(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled"))')

tree() { (cd "$1" && find . -path ./.mambaboot -prune -o -path ./bin/activate -prune -o \( -name RECORD -o -name INSTALLER -o -name REQUESTED -o -name direct_url.json \) -prune -o \( -type f -o -type l \) -print |
	LC_ALL=C sort | while read -r f; do printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum < "$f" | cut -c1-16)"; done); }

n=0
for whl in "$SHARED"/corpus/wheels/*.whl "$bundled"/*.whl; do
	n=$((n + 1)); base=$(basename "$whl")
	R="$T_TMP/r$n"; P1="$T_TMP/pip$n"; P="$T_TMP/mb$n"; mkdir -p "$R"
	printf 'name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n' > "$R/python.yaml"
	printf 'name: w\nversion: "1.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: https://upstream.invalid/%s\n    sha256: %s\n' \
		"$(printf %s "$base" | sed 's/+/%2B/g')" "$(add_blob "$whl")" > "$R/w.yaml"
	python3 -m pip install --ignore-installed --no-deps --no-compile --no-index --prefix "$P1" "$whl" >/dev/null 2>&1; pip_rc=$?
	mb_install --recipes "$R" w
	if [ $pip_rc -ne 0 ]; then
		if [ "$RC" -ne 0 ] && [ "$(printf '%s\n' "$ERR" | grep -c '^mambaboot: error: ')" -eq 1 ]; then
			ok "$base: pip refuses it, so does mambaboot (exit $RC)"
		else
			fail "$base: pip refuses it, mambaboot does not" "exit $RC" "$ERR"
		fi
		continue
	fi
	if [ "$RC" -ne 0 ]; then fail "$base: pip installs it, mambaboot does not" "$ERR"; continue; fi
	tree "$P1" > "$T_TMP/t1"; tree "$P" > "$T_TMP/t2"
	if cmp -s "$T_TMP/t1" "$T_TMP/t2"; then
		ok "$base: the same tree as pip"
	else
		fail "$base: differs from pip" "$(diff "$T_TMP/t1" "$T_TMP/t2" | head -10)"
	fi
done

# RECORD is checked once, when a wheel is unpacked into the cache; what it
# finds is reported again by every install from that entry: a warning, or
# with --strict exit 4 and nothing installed.  (demo_invalid_record2's
# RECORD gives METADATA a wrong size and hash.)
whl="$SHARED/corpus/wheels/demo_invalid_record2-0.1.0-py2.py3-none-any.whl"
R="$T_TMP/rrec"; mkdir -p "$R"; cp "$T_TMP/r1/python.yaml" "$R/"
printf 'name: demo\nversion: "0.1.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: https://upstream.invalid/%s\n    sha256: %s\n' \
	"$(basename "$whl")" "$(add_blob "$whl")" > "$R/demo.yaml"
CACHE="$T_TMP/rec-cache"
for round in cold warm; do
	P="$T_TMP/rec-$round"
	mb_install --recipes "$R" demo
	case $RC:$ERR in
	0:*"mambaboot: warning: demo_invalid_record2: demo_invalid_record2-0.1.0.dist-info/METADATA does not match its RECORD entry"*)
		ok "RECORD mismatch, $round cache entry: a warning, installed" ;;
	*) fail "RECORD mismatch, $round cache entry" "exit $RC" "$ERR" ;;
	esac
done
for round in warm cold; do
	[ $round = cold ] && CACHE="$T_TMP/rec-cache2"
	P="$T_TMP/rec-strict-$round"
	mb_install --recipes "$R" --strict demo
	if [ "$RC" -eq 4 ] && [ "$(printf '%s\n' "$ERR" | grep -c '^mambaboot: error: .*METADATA does not match its RECORD entry (--strict)')" -eq 1 ] &&
	   [ -z "$(find "$P" -path '*site-packages*' -name '*.py' 2>/dev/null)" ]; then
		ok "RECORD mismatch with --strict, $round cache entry: exit 4, nothing installed"
	else
		fail "RECORD mismatch with --strict, $round cache entry" "exit $RC" "$ERR"
	fi
done
# An entry unpacked by a mambaboot that did not record the check yet (its
# manifest in version 1: TABs, no NULs) is read and checked at install.
M=$(ls "$CACHE"/unpacked/*/.mambaboot-manifest)
cp "$M" "$T_TMP/manifest.v2"
python3 - "$M" <<'PY'
import sys
p = sys.argv[1]
lines = [l for l in open(p, "rb").read().split(b"\n") if l and l[:1] not in (b"#", b"!")]
open(p, "wb").write(b"".join(l.rstrip(b"\0").replace(b"\0", b"\t", 1) + b"\n" for l in lines))
PY
P="$T_TMP/rec-old-entry"
mb_install --recipes "$R" --strict demo
expect_rc "a version 1 entry without the check's record is checked at install" 4
P="$T_TMP/rec-old-entry2"
mb_install --recipes "$R" demo
[ "$RC" -eq 0 ] && [ -f "$(find "$P" -path '*site-packages/demo/__init__.py')" ] &&
	ok "and without --strict it installs its files" || fail "version 1 entry" "exit $RC" "$ERR"
# A damaged manifest is an error, not a wheel missing files.
n=$(python3 - "$T_TMP/manifest.v2" "$M" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
k = next(i for i, l in enumerate(lines) if l[:1] not in (b"#", b"!"))
lines[k] = lines[k].replace(b"\0", b"\t", 1)  # the first file line's digest loses its NUL
open(sys.argv[2], "wb").write(b"\n".join(lines))
print(k + 1)
PY
)
P="$T_TMP/rec-damaged"
mb_install --recipes "$R" demo
expect_err "a damaged manifest: exit 1" 1 "is damaged (line $n of .mambaboot-manifest): remove it"
[ -z "$(find "$P" -path '*site-packages*' -type f 2>/dev/null)" ] && ok "and nothing is installed" ||
	fail "damaged manifest installed files"
CACHE="$T_TMP/cache"

# pip can list, check, show and uninstall what mambaboot installed: a venv
# whose site-packages mambaboot fills, driven with pip --python.
P="$T_TMP/venv"
python3 -m venv --without-pip "$P"
R="$T_TMP/rv"; mkdir -p "$R"
cp "$T_TMP/r1/python.yaml" "$R/"
whl=$(ls "$bundled"/setuptools-*.whl | head -1)
printf 'name: setuptools\nversion: "1.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: https://upstream.invalid/%s\n    sha256: %s\n' \
	"$(basename "$whl")" "$(add_blob "$whl")" > "$R/setuptools.yaml"
mb_install --recipes "$R" setuptools
expect_rc "install a wheel into a venv's site-packages" 0
pipv() { python3 -m pip --python "$P/bin/python" "$@" 2>&1; }
case $(pipv list) in *setuptools*) ok "pip list sees it" ;; *) fail "pip list" "$(pipv list)" ;; esac
case $(pipv show -v setuptools) in *"Installer: mambaboot"*) ok "pip show names mambaboot as the installer" ;; *) fail "pip show" "$(pipv show -v setuptools)" ;; esac
out=$(pipv check); case $out in *"No broken requirements"*) ok "pip check is content" ;; *) fail "pip check" "$out" ;; esac
pipv uninstall -y setuptools >/dev/null
left=$(find "$P/lib" -path '*site-packages/setuptools*' | head -3)
[ -z "$left" ] && ok "pip uninstall removes every file" || fail "pip uninstall left files" "$left"
done_testing
