# scripts/make-demo-mirror.py is deterministic (two runs, same bytes) and
# agrees with the demo recipes: a drift of either is caught here.
. "$MB_ROOT/tests/lib.sh"
D="$MB_ROOT/share/mambaboot/demo/recipes"
GEN="$MB_ROOT/scripts/make-demo-mirror.py"

python3 "$GEN" "$T_TMP/m1" > "$T_TMP/list1" 2>&1 && ok "the generator runs" || fail "the generator runs" "$(cat "$T_TMP/list1")"
python3 "$GEN" "$T_TMP/m2" > "$T_TMP/list2" 2>&1
if diff -r "$T_TMP/m1" "$T_TMP/m2" > "$T_TMP/diff" 2>&1 && cmp -s "$T_TMP/list1" "$T_TMP/list2"; then
	ok "two runs write byte-identical mirrors"
else
	fail "two runs write byte-identical mirrors" "$(head -n 5 "$T_TMP/diff")"
fi
[ "$(wc -l < "$T_TMP/list1")" -eq 3 ] && ok "three artifacts" || fail "three artifacts" "$(cat "$T_TMP/list1")"

while read -r hex size file; do
	blob="$T_TMP/m1/sha256/$hex"
	seen=$(sha256sum "$blob" 2>/dev/null | cut -d' ' -f1)
	[ "$seen" = "$hex" ] && ok "$file is stored under its own sha256" || fail "$file stored by sha256" "got '$seen'"
	recipe=$(grep -l "/$file\$" "$D"/*.yaml)
	if [ -n "$recipe" ] && grep -q "^    sha256: $hex\$" "$recipe" && grep -q "^    size: $size\$" "$recipe"; then
		ok "$file: the recipe pins the generated sha256 and size"
	else
		fail "$file: the recipe pins the generated sha256 and size" "recipe: ${recipe:-none}" "generated: $hex $size"
	fi
	grep -q "sha256: $hex" "$T_TMP/m1/index.yaml" && ok "$file is in index.yaml" || fail "$file in index.yaml" "$(cat "$T_TMP/m1/index.yaml")"
done < "$T_TMP/list1"

# The source tarball's tree_sha256, by the independent reference tool.
tool=$(awk '/mbdemo-tool-1.0.tar.gz/ {print $1}' "$T_TMP/list1")
tree=$(python3 "$MB_ROOT/tests/tools/tree_sha256.py" "$T_TMP/m1/sha256/$tool")
grep -q "tree_sha256: $tree\$" "$D/mbdemo-tool.yaml" && ok "mbdemo-tool's tree_sha256 matches its tarball" ||
	fail "mbdemo-tool's tree_sha256 matches its tarball" "computed $tree"

# The artifacts are what they claim: a conda package, a wheel, a C source.
if python3 - "$T_TMP/m1" "$T_TMP/list1" <<'PY'
import base64, bz2, gzip, hashlib, io, json, sys, tarfile, zipfile
out, lst = sys.argv[1], sys.argv[2]
files = {l.split()[2]: l.split()[0] for l in open(lst)}
blob = lambda f: open("%s/sha256/%s" % (out, files[f]), "rb").read()
with tarfile.open(fileobj=io.BytesIO(bz2.decompress(blob("mbdemo-data-1.0-0.tar.bz2")))) as t:
    paths = json.load(t.extractfile("info/paths.json"))["paths"]
    idx = json.load(t.extractfile("info/index.json"))
    assert idx["name"] == "mbdemo-data" and idx["noarch"] == "generic", idx
    for p in paths:
        data = t.extractfile(p["_path"]).read()
        assert hashlib.sha256(data).hexdigest() == p["sha256"], p
        assert p["file_mode"] == "text" and p["prefix_placeholder"].encode() in data, p
z = zipfile.ZipFile(io.BytesIO(blob("mbdemo_hello-1.0-py3-none-any.whl")))
assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
rec = z.read("mbdemo_hello-1.0.dist-info/RECORD").decode().splitlines()
assert len(rec) == len(z.namelist()), (rec, z.namelist())
for line in rec:
    path, h, size = line.rsplit(",", 2)
    if path.endswith("RECORD"):
        continue
    data = z.read(path)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert h == want and int(size) == len(data), line
assert "mbdemo-hello = mbdemo_hello:main" in z.read("mbdemo_hello-1.0.dist-info/entry_points.txt").decode()
g = blob("mbdemo-tool-1.0.tar.gz")
assert g[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
with tarfile.open(fileobj=io.BytesIO(gzip.decompress(g))) as t:
    names = t.getnames()
    assert "mbdemo-tool-1.0/Makefile" in names and "mbdemo-tool-1.0/mbdemo-tool.c" in names, names
    assert all(m.mtime == t.getmembers()[0].mtime and m.uid == 0 for m in t.getmembers())
PY
then ok "the artifacts are a valid conda package, wheel (RECORD right) and source tarball"
else fail "artifact contents" "see the Python traceback above"; fi
done_testing
