# install --compile byte-compiles what a wheel installs as `pip install
# --compile` does: the same .pyc paths and modes as pip's, each embedding
# the installed source's path, mtime and size (so importing does not
# rewrite it), owned by the recipe (verify, remove) and removed by
# `pip uninstall`.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
PY=$(python3 -c 'import sys; print(sys.executable)')
export PATH="$(dirname "$PY"):$PATH"   # the same interpreter for pip and mambaboot
unset SOURCE_DATE_EPOCH                # pip's default: timestamp-based .pyc
CACHE="$T_TMP/cache"
W=$SHARED/corpus/wheels
bundled=$(python3 -c 'import ensurepip, os; print(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled"))')

# A wheel with a file only Python 2 compiles: pip skips it, so must we.
mkwheel() {
	python3 - "$1" <<'EOF'
import base64, hashlib, sys, zipfile
files = {
    "py2mix/__init__.py": b"VALUE = 1\n",
    "py2mix/old.py": b"print 'python 2 only'\n",
    "py2mix-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: py2mix\nVersion: 1.0\n",
    "py2mix-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = ""
for name, data in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += "%s,sha256=%s,%d\n" % (name, h, len(data))
record += "py2mix-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, data in files.items():
        z.writestr(name, data)
    z.writestr("py2mix-1.0.dist-info/RECORD", record)
EOF
}
mkwheel "$T_TMP/py2mix-1.0-py3-none-any.whl"

python_recipe() {
	printf 'name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n' > "$1/python.yaml"
}
wheel_recipe() { # DIR NAME WHEEL
	printf 'name: %s\nversion: "1.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: https://upstream.invalid/%s\n    sha256: %s\n' \
		"$2" "$(basename "$3" | sed 's/+/%2B/g')" "$(add_blob "$3")" > "$1/$2.yaml"
}
pycs() { (cd "$1" && find . -name '*.pyc' -printf '%P %m\n' | LC_ALL=C sort); }

# Every .pyc under $1: the source path it embeds is its installed source,
# whose mtime and size it records (timestamp invalidation).
embeds_final_paths() {
	python3 - "$1" <<'EOF'
import importlib.util, marshal, os, sys
n = 0
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        if not f.endswith(".pyc"):
            continue
        pyc = os.path.join(d, f)
        src = importlib.util.source_from_cache(pyc)
        data = open(pyc, "rb").read()
        flags = int.from_bytes(data[4:8], "little")
        mtime = int.from_bytes(data[8:12], "little")
        size = int.from_bytes(data[12:16], "little")
        code = marshal.loads(data[16:])
        st = os.stat(src)
        assert code.co_filename == src, (pyc, code.co_filename, src)
        assert flags == 0, (pyc, "not timestamp-based", flags)
        assert mtime == int(st.st_mtime) & 0xFFFFFFFF and size == st.st_size & 0xFFFFFFFF, (pyc, mtime, size)
        n += 1
assert n > 0, "no .pyc"
EOF
}

n=0
for whl in "$W/six-1.17.0-py2.py3-none-any.whl" "$W/sample-1.2.0-py2.py3-none-any.whl" \
	   "$W/compilewheel-1.0-py2.py3-none-any.whl" "$W/test_unicode-1.0-py2.py3-none-any.whl" \
	   "$W/prjwithdatafile-1.0-py2.py3-none-any.whl" "$T_TMP/py2mix-1.0-py3-none-any.whl" \
	   "$(ls "$bundled"/setuptools-*.whl | head -1)"; do
	n=$((n + 1)); base=$(basename "$whl")
	R="$T_TMP/r$n"; P1="$T_TMP/pip$n"; P="$T_TMP/mb$n"; mkdir -p "$R"
	python_recipe "$R"; wheel_recipe "$R" w "$whl"
	if ! python3 -m pip install --ignore-installed --no-deps --compile --no-index --prefix "$P1" "$whl" >"$T_TMP/pip.out" 2>&1; then
		fail "$base: pip install --compile" "$(tail -3 "$T_TMP/pip.out")"; continue
	fi
	mb_install --recipes "$R" --compile w
	if [ "$RC" -ne 0 ]; then fail "$base: install --compile" "$ERR"; continue; fi
	pycs "$P1" > "$T_TMP/c1"; pycs "$P" > "$T_TMP/c2"
	if [ -s "$T_TMP/c1" ] && cmp -s "$T_TMP/c1" "$T_TMP/c2"; then
		ok "$base: the same .pyc files as pip install --compile ($(wc -l < "$T_TMP/c1"))"
	else
		fail "$base: .pyc files differ from pip's" "$(diff "$T_TMP/c1" "$T_TMP/c2" | head -10)"
	fi
	out=$(embeds_final_paths "$P" 2>&1) && ok "$base: each .pyc names its installed source, mtime and size" ||
		fail "$base: .pyc contents" "$(printf '%s' "$out" | tail -3)"
done
# py2mix (the sixth)
if [ -n "$(find "$T_TMP/mb6" -name '__init__.*.pyc')" ] && [ -z "$(find "$T_TMP/mb6" -name 'old.*.pyc')" ]; then
	ok "a file that does not compile gets no .pyc, as with pip; the others do"
else fail "py2mix .pyc files" "$(find "$T_TMP/mb6" -name '*.pyc')"; fi

# six (the first): importing it keeps the .pyc; verify and remove know them
P="$T_TMP/mb1"; R="$T_TMP/r1"
site=$(cd "$P" && echo lib/python*/site-packages)
# import SITE: import six from SITE, with python free to write bytecode
import_six() {
	env -u PYTHONDONTWRITEBYTECODE PYTHONPATH="$1" python3 -c '
import six, sys
assert six.__file__.startswith(sys.argv[1]), six.__file__' "$1"
}
pyc_state() { echo "$(stat -c '%Y %s' "$1") $(sha256sum < "$1")"; }
pyc=$(ls "$P/$site/__pycache__/"six.*.pyc)
before=$(pyc_state "$pyc")
sleep 1.1
import_six "$P/$site" || fail "import six from the prefix"
after=$(pyc_state "$pyc")
[ "$before" = "$after" ] && ok "importing the module does not rewrite its .pyc" || fail "the .pyc was rewritten" "$before" "$after"
# the same in a copy whose source is touched: python does rewrite a stale
# .pyc here, so the check above means something
cp -a "$P/$site" "$T_TMP/copy"; touch "$T_TMP/copy/six.py"
before=$(pyc_state "$T_TMP/copy/__pycache__/$(basename "$pyc")")
import_six "$T_TMP/copy"
[ "$before" != "$(pyc_state "$T_TMP/copy/__pycache__/$(basename "$pyc")")" ] &&
	ok "(python here rewrites a stale .pyc on import)" || fail "python did not rewrite a stale .pyc"
run_mb verify --prefix "$P"
expect_rc "verify checks the .pyc files with the rest" 0
owned_paths "$P" w | grep -q '__pycache__/six\.' && ok "the recipe owns its .pyc files" || fail ".pyc not owned"
run_mb remove w --prefix "$P"
left=$(find "$P" -name '*.pyc' -o -name __pycache__)
[ "$RC" -eq 0 ] && [ -z "$left" ] && ok "remove takes the .pyc files and __pycache__ away" || fail "remove left" "$ERR" "$left"

# without --compile: none
P="$T_TMP/plain"
mb_install --recipes "$R" w
[ "$RC" -eq 0 ] && [ -z "$(find "$P" -name '*.pyc')" ] && ok "without --compile no .pyc is written" || fail "plain install" "$ERR"
# an import writes python's own .pyc; an upgrade with --compile leaves it
import_six "$P/$site"
sed -i 's/^version: "1.0"/version: "1.1"/' "$R/w.yaml"
mb_install --recipes "$R" --compile w
expect_rc "upgrade --compile over a .pyc an import wrote" 0
run_mb verify --prefix "$P"
expect_rc "and the prefix verifies" 0

# pip uninstall removes them (mambaboot's RECORD does not list them; pip
# removes the __pycache__ files of every .py it lists)
P="$T_TMP/venv"
python3 -m venv --without-pip "$P"
R="$T_TMP/rv"; mkdir -p "$R"; python_recipe "$R"
wheel_recipe "$R" setuptools "$(ls "$bundled"/setuptools-*.whl | head -1)"
mb_install --recipes "$R" --compile setuptools
expect_rc "install --compile into a venv's site-packages" 0
python3 -m pip --python "$P/bin/python" uninstall -y setuptools > "$T_TMP/un.out" 2>&1
left=$(find "$P/lib" -path '*site-packages/*' | head -3)
[ -z "$left" ] && ok "pip uninstall removes every file, .pyc included" || fail "pip uninstall left" "$left" "$(tail -3 "$T_TMP/un.out")"

# a python that cannot be run: a conda "python" without bin/python
P="$T_TMP/nopy"; R="$T_TMP/rn"; mkdir -p "$R"
conda_recipe "$R" python 3.11.0 "$C/conda/empty-0.1.0-h4616a5c_0.conda"
wheel_recipe "$R" w "$W/six-1.17.0-py2.py3-none-any.whl"
mb_install --recipes "$R" --compile w
expect_err "--compile without a python that runs exits 6 naming it" 6 "$P/bin/python cannot be run"
[ -z "$(find "$P" -name 'six*' 2>/dev/null)" ] && ok "and leaves the prefix as it was" || fail "left files" "$(find "$P" -name 'six*')"
done_testing
