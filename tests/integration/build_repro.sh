# Reproducible builds (issue #18): steps run with SOURCE_DATE_EPOCH (the
# recipe's, else a fixed default), TZ=UTC, LC_ALL=C and umask 022, so the
# demo's C build and a pure-Python wheel built twice, in different
# prefixes and caches, give the same output digest.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
D="$MB_ROOT/share/mambaboot/demo/recipes"; DM="$T_TMP/demo-mirror"
python3 "$MB_ROOT/scripts/make-demo-mirror.py" "$DM" >/dev/null
outputs() { # CACHE: each output of each build entry, "NAME SHA256"
	cat "$1"/builds/*/manifest 2>/dev/null | awk '$1 == "file" { print $4, $2 }' | sort
}
run_mb install mbdemo-tool --recipes "$D" --mirror "$DM" --offline --prefix "$T_TMP/a/prefix" --cache "$T_TMP/a/cache"
expect_rc "the demo's C build, first" 0
run_mb install mbdemo-tool --recipes "$D" --mirror "$DM" --offline --prefix "$T_TMP/second/prefix-b" --cache "$T_TMP/b/cache"
expect_rc "and again, in another prefix with another cache" 0
a=$(outputs "$T_TMP/a/cache"); b=$(outputs "$T_TMP/b/cache")
[ -n "$a" ] && [ "$a" = "$b" ] && ok "the two C builds give the same digest" || fail "C outputs differ" "$a" "$b"

# A pure-Python wheel, made by pip through an in-tree PEP 517 backend that
# stamps its zip entries with SOURCE_DATE_EPOCH, as flit and hatch do.
R="$T_TMP/recipes"; S="$T_TMP/src/pyrepro-1.0"
mkdir -p "$R" "$S/pyrepro" "$S/backend"
echo 'VALUE = 42' > "$S/pyrepro/__init__.py"
printf '[build-system]\nrequires = []\nbuild-backend = "repro_backend"\nbackend-path = ["backend"]\n' > "$S/pyproject.toml"
cat > "$S/backend/repro_backend.py" <<'PY'
import base64, hashlib, os, time, zipfile
NAME, VER = "pyrepro", "1.0"
def _stamp():
    t = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", time.time())))
    return t[:6]
def _files():
    out = []
    for root, _, names in os.walk(NAME):
        out += [os.path.join(root, n) for n in names if not n.endswith(".pyc")]
    di = f"{NAME}-{VER}.dist-info"
    meta = {f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VER}\n",
            f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: repro\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    data = {p: open(p, "rb").read() for p in sorted(out)}
    data.update({k: v.encode() for k, v in meta.items()})
    rec = "".join(f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}\n" for p, b in sorted(data.items()))
    data[f"{di}/RECORD"] = (rec + f"{di}/RECORD,,\n").encode()
    return data
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VER}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in sorted(_files().items()):
            info = zipfile.ZipInfo(path, _stamp())
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return name
def get_requires_for_build_wheel(config_settings=None):
    return []
PY
(cd "$T_TMP/src" && tar -czf ../pyrepro-1.0.tar.gz pyrepro-1.0)
sha=$(add_blob "$T_TMP/pyrepro-1.0.tar.gz")
printf 'name: python\nkind: external\nversion: ">=3.8"\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n' > "$R/python.yaml"
printf 'name: pyrepro\nversion: "1.0"\nkind: source\ndepends: [python]\nartifacts:\n  - url: https://upstream.invalid/pyrepro-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - ${PYTHON} -m pip wheel --no-deps --no-build-isolation --no-index -w ${WHEEL_DIR} .\n' "$sha" > "$R/pyrepro.yaml"
py() { run_mb install pyrepro --recipes "$R" --mirror "$MIRROR" --offline --prefix "$1" --cache "$2"; }
py "$T_TMP/w1" "$T_TMP/wc1"
expect_rc "a pure-Python wheel builds" 0
sleep 1
py "$T_TMP/other/w2" "$T_TMP/wc2"
expect_rc "and again, in another prefix with another cache" 0
a=$(outputs "$T_TMP/wc1"); b=$(outputs "$T_TMP/wc2")
case $a in *"pyrepro-1.0-py3-none-any.whl "*) ok "the build's output is its wheel" ;; *) fail "no wheel kept" "$a" ;; esac
[ "$a" = "$b" ] && ok "the two wheels have the same digest" || fail "wheels differ" "$a" "$b"
w=$(ls "$T_TMP"/wc1/builds/*/pyrepro-1.0-py3-none-any.whl)
stamp=$(python3 -c 'import sys,zipfile; print(zipfile.ZipFile(sys.argv[1]).infolist()[0].date_time[:3])' "$w")
[ "$stamp" = "(2020, 1, 1)" ] && ok "its entries carry the default SOURCE_DATE_EPOCH (2020-01-01)" || fail "zip date" "$stamp"
sed -i 's/^build:/build:\n  source_date_epoch: 1700000000/' "$R/pyrepro.yaml"
py "$T_TMP/w3" "$T_TMP/wc1"
expect_rc "a recipe's source_date_epoch" 0
w=$(grep -l 'source_date_epoch 1700000000' "$T_TMP"/wc1/builds/*/record | sed 's#/record$##')
stamp=$(python3 -c 'import sys,zipfile; print(zipfile.ZipFile(sys.argv[1]).infolist()[0].date_time[:3])' "$w/pyrepro-1.0-py3-none-any.whl")
[ "$stamp" = "(2023, 11, 14)" ] && ok "is the build's SOURCE_DATE_EPOCH and part of its key" || fail "recipe epoch" "$stamp"
# What each step sees, whatever the caller's umask, zone and locale.
printf 'name: envshow\nversion: "1.0"\nkind: source\nartifacts:\n  - url: https://upstream.invalid/pyrepro-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - mkdir -p "$PREFIX/share" && echo "$SOURCE_DATE_EPOCH $TZ $LC_ALL $(umask)" > "$PREFIX/share/envshow"\n' "$sha" > "$R/envshow.yaml"
(umask 077; TZ=Europe/Paris LC_ALL=C.UTF-8 run_mb install envshow --recipes "$R" --mirror "$MIRROR" --offline --prefix "$T_TMP/e" --cache "$T_TMP/ec")
got=$(cat "$T_TMP/e/share/envshow" 2>&1)
[ "$got" = "1577836800 UTC C 0022" ] && ok "steps run with SOURCE_DATE_EPOCH, TZ=UTC, LC_ALL=C and umask 022" || fail "build environment" "$got"
done_testing
