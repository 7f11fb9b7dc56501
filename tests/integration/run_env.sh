# `mambaboot run` and PREFIX/bin/activate (issue #16), over a prefix whose
# python is the host's: a source recipe builds a wheel into $WHEEL_DIR and
# mambaboot installs it (owned, verified, removable); run and activate put
# PREFIX/bin first on PATH, the prefix's site-packages on PYTHONPATH,
# CUDA_HOME, and source etc/conda/activate.d; deactivate restores PATH.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
R="$T_TMP/recipes" CACHE="$T_TMP/cache" P="$T_TMP/prefix" SRC="$T_TMP/src/mbpkg-1.0"
mkdir -p "$R" "$SRC" "$T_TMP/cuda/bin"
export CUDA_HOME="$T_TMP/cuda" PATH=/usr/bin:/bin  # not a pyenv shim, which rewrites PATH
unset PYTHONPATH

cat > "$SRC/make_wheel.py" <<'PY'
# A minimal pure-python wheel, as `pip wheel` would leave it.
import base64, hashlib, os, sys, zipfile
files = {
    "mbpkg/__init__.py": "BUILD_PATH = %r\n" % os.environ["PATH"],
    "mbpkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: mbpkg\nVersion: 1.0\n",
    "mbpkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for name, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (name, digest, len(text.encode())))
record.append("mbpkg-1.0.dist-info/RECORD,,")
with zipfile.ZipFile(os.path.join(sys.argv[1], "mbpkg-1.0-py3-none-any.whl"), "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
    z.writestr("mbpkg-1.0.dist-info/RECORD", "\n".join(record) + "\n")
PY
(cd "$T_TMP/src" && tar -czf ../mbpkg-1.0.tar.gz mbpkg-1.0)
printf 'name: python\nkind: external\nversion: ">=3.6"\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+\\\\.[0-9]+)"\n' > "$R/python.yaml"
printf 'name: mbpkg\nversion: "1.0"\nkind: source\ndepends: [python]\nartifacts:\n  - url: https://upstream.invalid/mbpkg-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - '"'"'"$PYTHON" make_wheel.py "$WHEEL_DIR"'"'"'\n' "$(add_blob "$T_TMP/mbpkg-1.0.tar.gz")" > "$R/mbpkg.yaml"

mb_install mbpkg --recipes "$R"
expect_rc "a build that leaves a wheel in \$WHEEL_DIR installs" 0
xy=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
SP="$P/lib/python$xy/site-packages"
[ -f "$SP/mbpkg/__init__.py" ] && ok "the wheel went into the prefix's site-packages" || fail "wheel files" "$(cd "$P" && find . -path ./.mambaboot -prune -o -print)"
owned_paths "$P" mbpkg | grep -q 'mbpkg/__init__.py' && ok "its files are owned by the recipe" || fail "owned"
grep -qx mambaboot "$SP/mbpkg-1.0.dist-info/INSTALLER" && ok "by mambaboot's wheel installer" || fail "INSTALLER"
python3 -c "import mbpkg" 2>/dev/null && fail "the host's python does not see it without run" || ok "the host's environment is untouched"
build_path=$(grep -o "BUILD_PATH = '[^']*'" "$SP/mbpkg/__init__.py")
pydir=$(dirname "$(command -v python3)")
case $build_path in "BUILD_PATH = '$P/bin:$pydir:"*) ok "the build's PATH: PREFIX/bin, then the externals' directories" ;; *) fail "build PATH" "$build_path" ;; esac
head -n 1 "$P/.mambaboot/logs/mbpkg.log" | grep -q "^mambaboot: build PATH=$P/bin:$pydir:" &&
	grep -q "^mambaboot: external python [0-9.]*: $pydir/python3$" "$P/.mambaboot/logs/mbpkg.log" &&
	grep -q '^mambaboot: tool gcc: ' "$P/.mambaboot/logs/mbpkg.log" &&
	ok "the build log begins with its PATH and the tools found, with their versions" || fail "log tools" "$(head -n 12 "$P/.mambaboot/logs/mbpkg.log")"

mkdir -p "$P/etc/conda/activate.d"
printf 'MB_TEST_ACTIVATED="yes, with $CONDA_PREFIX"; export MB_TEST_ACTIVATED\n' > "$P/etc/conda/activate.d/test.sh"
run_mb run --prefix "$P" -- python3 -c 'import mbpkg, os; print(mbpkg.__file__); print(os.environ["CUDA_HOME"]); print(os.environ["PATH"].split(":")[0]); print(os.environ["MB_TEST_ACTIVATED"])'
expect_rc "run runs the command" 0
[ "$OUT" = "$SP/mbpkg/__init__.py
$T_TMP/cuda
$P/bin
yes, with $P" ] && ok "run: site-packages importable, CUDA_HOME, PREFIX/bin first, activate.d sourced" || fail "run env" "$OUT" "$ERR"
run_mb run --prefix "$P" -- sh -c 'printf "%s\n" "$PATH" | cut -d: -f1-3'
[ "$OUT" = "$P/bin:$pydir:$T_TMP/cuda/bin" ] && grep -q "\"tool_path\": \"$pydir\"" "$P/.mambaboot/state.json" &&
	ok "run: the externals' directories after PREFIX/bin, as the build and bin/activate have them" || fail "run PATH" "$OUT"
run_mb run --prefix "$P" -- sh -c 'printf "%s|" "$@"; exit 3' x 'a b' "c'd" '$HOME'
[ "$RC" -eq 3 ] && [ "$OUT" = "a b|c'd|\$HOME|" ] && ok "arguments pass through untouched, and the exit status is the command's" || fail "argv" "rc $RC: $OUT"
run_mb run --prefix "$P" sh -c 'echo "$1"' sh -v
[ "$RC" -eq 0 ] && [ "$OUT" = "-v" ] && ok "without '--', options after the command are the command's" || fail "options order" "rc $RC: $OUT $ERR"
run_mb run --prefix "$T_TMP/nowhere" -- true
expect_err "run on a missing prefix: exit 2" 2 "does not exist"

[ -f "$P/bin/activate" ] && ok "install wrote bin/activate" || fail "no activate"
before=$PATH
after=$(sh -c '. "$1/bin/activate" && printf "%s\n" "$PATH" && python3 -c "import mbpkg" && echo imported && printf "%s\n" "$CUDA_HOME" && deactivate && printf "%s\n" "$PATH" "${PYTHONPATH-unset}" "${CONDA_PREFIX-unset}"' sh "$P")
case $after in "$P/bin:"*"
imported
$T_TMP/cuda
$before
unset
unset") ok "activate sets PATH, PYTHONPATH, CUDA_HOME; deactivate restores them" ;; *) fail "activate/deactivate" "$after" ;; esac

run_mb verify --prefix "$P"
expect_rc "the built wheel's files and bin/activate verify" 0
run_mb list --prefix "$P"
case $OUT in *"1 recipe "*) ok "list shows the recipe, not activate's record" ;; *) fail "list" "$OUT" ;; esac
cp "$P/bin/activate" "$T_TMP/activate.saved" && echo '# changed' >> "$P/bin/activate"
run_mb verify --prefix "$P"
expect_err "a changed bin/activate: verify exits 4" 4 "modified"
cp "$T_TMP/activate.saved" "$P/bin/activate"
run_mb remove mbpkg --prefix "$P"
expect_rc "remove takes it away" 0
[ ! -e "$SP/mbpkg" ] && [ ! -e "$P/bin/activate" ] && ok "its files and bin/activate are gone" || fail "left behind" "$(cd "$P" && find . -path ./.mambaboot -prune -o -type f -print)"
P="$T_TMP/venvlike"; mkdir -p "$P/bin"
echo '# a venv activate script' > "$P/bin/activate"
mb_install mbpkg --recipes "$R"
expect_rc "install into a prefix with its own bin/activate" 0
[ "$(cat "$P/bin/activate")" = '# a venv activate script' ] && ok "a bin/activate mambaboot did not write is left as it is" || fail "foreign activate replaced" "$(head -n 2 "$P/bin/activate")"
done_testing
