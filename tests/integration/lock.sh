# mambaboot lock (issue #17) against nginx on 127.0.0.1: a conda channel
# served with repodata.json, one with repodata.json.zst only, a simple
# index that answers PEP 691 JSON when asked and PEP 503 HTML otherwise,
# real corpus packages; then what lock.yaml changes in plan, install,
# fetch and mirror create.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/servers/lib.sh"
export MAMBABOOT_RETRY_BASE_MS=10 MAMBABOOT_RETRIES=1 MAMBABOOT_STALL_SECONDS=2
unset SSL_CERT_FILE CURL_CA_BUNDLE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
CH=$SHARED/corpus/conda-channel/conda-test-recipes/noarch
WH=$SHARED/corpus/wheels
W=$T_TMP/ngx
mkdir -p "$W/www/conda/noarch" "$W/www/zconda/noarch" "$W/www/bad/noarch" "$W/www/files" \
	"$W/www/simple/sample" "$W/www/simple/complex-dist" "$W/www/other/sample" "$W/conf.d"
# conda: the corpus channel as it is, and a copy whose repodata.json is
# garbage beside a good repodata.json.zst (so only the .zst can answer)
ln -s "$CH/repodata.json" "$W/www/conda/noarch/repodata.json"
for f in dependency-1.0-0.conda dependent-1.0-0.conda versioned-1.0-0.conda; do
	ln -s "$CH/$f" "$W/www/conda/noarch/$f"; ln -s "$CH/$f" "$W/www/zconda/noarch/$f"
done
zstd -q -o "$W/www/zconda/noarch/repodata.json.zst" "$CH/repodata.json"
echo '{"packages": {' > "$W/www/zconda/noarch/repodata.json"
head -c 3000 "$CH/repodata.json" > "$W/www/bad/noarch/repodata.json"
ln -s "$CH/dependency-1.0-0.conda" "$W/www/bad/noarch/dependency-1.0-0.conda"
# a simple index: sample has a PEP 691 page and a PEP 503 one, complex-dist HTML only
S1=sample-1.2.0-py2.py3-none-any.whl S2=complex.dist-0.1-py2.py3-none-any.whl
ln -s "$WH/$S1" "$W/www/files/$S1"; ln -s "$WH/$S2" "$W/www/files/$S2"
sha() { sha256sum "$1" | cut -d' ' -f1; }
SHA1=$(sha "$WH/$S1") SHA2=$(sha "$WH/$S2") SIZE1=$(stat -c %s "$WH/$S1")
printf '{"meta":{"api-version":"1.1"},"name":"sample","files":[{"filename":"%s","url":"../../files/%s","hashes":{"sha256":"%s"},"size":%s}]}\n' \
	"$S1" "$S1" "$SHA1" "$SIZE1" > "$W/www/simple/sample/index.json"
printf '<!DOCTYPE html><html><body>\n<a href="../../files/%s#sha256=%s">%s</a><br/>\n</body></html>\n' \
	"$S1" "$SHA1" "$S1" > "$W/www/simple/sample/index.html"
printf '<html><body><a href="/files/%s#sha256=%s" data-requires-python="&gt;=3.6">%s</a></body></html>\n' \
	"$(echo "$S2" | sed 's/\./%2E/')" "$SHA2" "$S2" > "$W/www/simple/complex-dist/index.html"
# a second index that gives another digest for sample
printf '<a href="x#sha256=%064d">%s</a>\n' 0 "$S1" > "$W/www/other/sample/index.html"
cat > "$W/conf.d/http-simple.conf" <<'CONF'
map $http_accept $simple_page {
	default index.html;
	"~application/vnd\.pypi\.simple\.v1\+json" index.json;
}
CONF
cat > "$W/conf.d/server-simple.conf" <<'CONF'
location ~ ^/(simple|other)/ {
	types { text/html html; application/vnd.pypi.simple.v1+json json; }
	try_files $uri$simple_page $uri/index.html =404;
}
CONF
start_nginx "$W" || { fail "nginx starts"; done_testing; exit 1; }
H=http://127.0.0.1:$NGX_HTTP

# the recipes: python from the host, a conda recipe over both channels, two wheels
R=$T_TMP/r; mkdir -p "$R/stacks"
printf 'name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n' > "$R/python.yaml"
cat > "$R/deps.yaml" <<EOF2
name: deps
version: "1.0"
kind: conda
artifacts:
  - url: $H/conda/noarch/dependency-1.0-0.conda
  - url: $H/zconda/noarch/versioned-1.0-0.conda
EOF2
printf 'name: sample\nversion: "1.2.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: %s/files/%s\n    index: %s/simple/\n' "$H" "$S1" "$H" > "$R/sample.yaml"
printf 'name: complex-dist\nversion: "0.1"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: %s/files/%s\n' "$H" "$S2" > "$R/complex-dist.yaml"
printf 'stack: mamba\ntargets: [deps, sample, complex-dist]\n' > "$R/stacks/mamba.yaml"
L=$R/lock.yaml

run_mb install --recipes "$R" --prefix "$T_TMP/p0" --cache "$T_TMP/c0"
expect_err "before lock, install refuses an unpinned artifact and says to run lock" 2 "run 'mambaboot lock' or pass --allow-unpinned"

run_mb lock --recipes "$R" --index-url "$H/simple" --json
expect_rc "lock finds every artifact" 0
if python3 - "$L" "$CH" "$SHA1" "$SHA2" "$SIZE1" <<'PY'
import sys, hashlib, os, re
path, ch, sha1, sha2, size1 = sys.argv[1:]
text = open(path).read()
entries = {}
for block in text.split("\n- ")[1:]:
    e = dict(re.findall(r"^\s*([a-z0-9_]+): (.*)$", block, re.M))
    entries[e["url"].rsplit("/", 1)[1]] = e
def digest(p): return hashlib.sha256(open(p, "rb").read()).hexdigest()
d = entries["dependency-1.0-0.conda"]
assert d["sha256"] == digest(ch + "/dependency-1.0-0.conda") and d["source"] == "repodata", d
assert d["index"].endswith("/conda/noarch/repodata.json"), d
assert int(d["size"]) == os.path.getsize(ch + "/dependency-1.0-0.conda"), d
v = entries["versioned-1.0-0.conda"]
assert v["index"].endswith("/zconda/noarch/repodata.json.zst") and v["sha256"] == digest(ch + "/versioned-1.0-0.conda"), v
s = entries["sample-1.2.0-py2.py3-none-any.whl"]
assert s["source"] == "pep691" and s["sha256"] == sha1 and s["size"] == size1 and s["index"].endswith("/simple/sample/"), s
c = entries["complex.dist-0.1-py2.py3-none-any.whl"]
assert c["source"] == "pep503" and c["sha256"] == sha2 and "size" not in c and c["index"].endswith("/simple/complex-dist/"), c
assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", c["date"]), c
urls = re.findall(r"^- url: (.*)$", text, re.M)
assert urls == sorted(urls) and len(urls) == 4, urls
PY
then ok "lock.yaml: sha256, size, source, index and date of each, from repodata, .zst, PEP 691 and PEP 503, sorted"
else fail "lock.yaml contents" "$(cat "$L")"; fi
if printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["wanted"] == 4 and d["locked"] == 4 and d["added"] == 4 and d["written"] is True, d
assert d["unpinned"] == [] and d["lock_file"].endswith("/lock.yaml"), d
'; then ok "--json reports what was locked"; else fail "--json" "$OUT"; fi

run_mb plan --recipes "$R" --json
if printf '%s' "$OUT" | python3 -c '
import json, sys
pins = {a["filename"]: a["pin"] for s in json.load(sys.stdin)["steps"] for a in s["artifacts"]}
assert set(pins.values()) == {"locked"}, pins
'; then ok "plan shows the artifacts as locked"; else fail "plan locked" "$OUT"; fi

cp "$L" "$T_TMP/lock.before"; before=$(stat -c '%i %Y' "$L"); sleep 1.1
run_mb lock --recipes "$R" --index-url "$H/simple"
expect_rc "a second lock exits 0" 0
if [ "$(stat -c '%i %Y' "$L")" = "$before" ] && cmp -s "$L" "$T_TMP/lock.before"; then
	ok "a second lock rewrites nothing"; else fail "second lock rewrote" "$(diff "$T_TMP/lock.before" "$L")"; fi

# A damaged lock file stops every command but lock, which writes it anew.
printf 'entries: [oops\n' > "$L"
run_mb plan --recipes "$R"
expect_err "a damaged lock.yaml: plan exits 2 naming it" 2 "lock.yaml"
run_mb lock --recipes "$R" --index-url "$H/simple"
expect_rc "lock repairs a damaged lock.yaml" 0
case $ERR in *"lock.yaml"*) ok "and warns that it was damaged" ;; *) fail "damaged lock warning" "$ERR" ;; esac
grep -v 'date:' "$L" > "$T_TMP/l1"; grep -v 'date:' "$T_TMP/lock.before" > "$T_TMP/l2"
cmp -s "$T_TMP/l1" "$T_TMP/l2" && ok "with the same entries as before, dates apart" || fail "repaired lock" "$(diff "$T_TMP/l2" "$T_TMP/l1")"

run_mb install --recipes "$R" --prefix "$T_TMP/p1" --cache "$T_TMP/c1"
expect_rc "lock, then install without --allow-unpinned" 0
[ -f "$T_TMP/p1/conda-meta/dependency-1.0-0.json" ] && ls "$T_TMP/p1"/lib/python3*/site-packages/sample-1.2.0.dist-info/RECORD >/dev/null 2>&1 &&
	ok "the locked conda package and wheel are installed" || fail "installed files" "$(find "$T_TMP/p1" -maxdepth 3 | head -20)"

# wrong bytes behind a locked URL: exit 4, nothing installed
rm "$W/www/files/$S1"; head -c "$SIZE1" /dev/urandom > "$W/www/files/$S1" # the locked size, other bytes
run_mb install --recipes "$R" --prefix "$T_TMP/p2" --cache "$T_TMP/c2"
expect_err "bytes that differ from the locked sha256 give exit 4" 4 "$S1"
[ ! -e "$T_TMP/p2/conda-meta/dependency-1.0-0.json" ] && [ -z "$(ls "$T_TMP"/p2/lib/python3*/site-packages 2>/dev/null)" ] &&
	ok "nothing is installed after the integrity failure" || fail "p2 has files" "$(find "$T_TMP/p2" -maxdepth 3)"
run_mb fetch --recipes "$R" --cache "$T_TMP/c3" sample
expect_err "fetch verifies a locked artifact too" 4 "$S1"
rm "$W/www/files/$S1"; ln -s "$WH/$S1" "$W/www/files/$S1"

# mirror create carries the lock; an offline install from it works
M=$T_TMP/mirror
run_mb mirror create "$M" --recipes "$R" --cache "$T_TMP/c1"
expect_rc "mirror create from locked recipes" 0
cmp -s "$L" "$M/recipes/lock.yaml" && ok "the mirror's recipe copy carries lock.yaml" || fail "mirror lock.yaml" "$(ls "$M/recipes")"
[ "$(grep -c 'pin: lock' "$M/index.yaml")" -eq 4 ] && ok "index.yaml says each digest came from the lock" || fail "index.yaml pin" "$(cat "$M/index.yaml")"
run_mb install --recipes "$M/recipes" --mirror "$M" --offline --prefix "$T_TMP/p4" --cache "$T_TMP/c4"
expect_rc "an offline install from the mirror needs no --allow-unpinned" 0

# a recipe that pins an artifact itself drops its lock entry
cp "$R/sample.yaml" "$T_TMP/sample.yaml"
printf '    sha256: %s\n' "$SHA1" >> "$R/sample.yaml"
run_mb lock --recipes "$R" --index-url "$H/simple"
expect_rc "lock with one artifact pinned by its recipe" 0
! grep -q "$S1" "$L" && [ "$(grep -c '^- url:' "$L")" -eq 3 ] && ok "its entry is dropped" || fail "entry kept" "$(cat "$L")"
cp "$T_TMP/sample.yaml" "$R/sample.yaml"
run_mb lock --recipes "$R" --index-url "$H/simple"
cp "$L" "$T_TMP/lock.good"

# a CEP 16 sharded channel (its repodata.json is garbage: only the shards can answer)
SH=$W/www/sharded/noarch; mkdir -p "$SH"
python3 "$MB_ROOT/tests/tools/mkshards.py" "$CH/repodata.json" "$SH"
echo '{' > "$SH/repodata.json"
ln -s "$CH/dependent-1.0-0.conda" "$SH/dependent-1.0-0.conda"
printf 'name: sharded\nversion: "1"\nkind: conda\nartifacts:\n  - url: %s/sharded/noarch/dependent-1.0-0.conda\n' "$H" > "$R/sharded.yaml"
run_mb lock --recipes "$R" sharded
expect_rc "lock from CEP 16 sharded repodata" 0
if python3 - "$L" "$(sha "$CH/dependent-1.0-0.conda")" "$H" <<'PY'
import re, sys
text, sha, h = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
block = text.split("- url: " + h + "/sharded/noarch/dependent-1.0-0.conda\n")[1].split("\n- ")[0]
assert "sha256: " + sha in block and "source: shards" in block, block
assert "index: " + h + "/sharded/noarch/repodata_shards.msgpack.zst" in block, block
PY
then ok "its entry: the shard's sha256, source shards, the shard index"; else fail "sharded entry" "$(cat "$L")"; fi
[ "$(grep -c '/sharded/noarch/shards/' "$W/logs/access.log")" -eq 1 ] && ! grep -q '/sharded/noarch/repodata.json' "$W/logs/access.log" &&
	ok "only the one shard is read, not repodata.json" || fail "shard requests" "$(grep sharded "$W/logs/access.log")"
run_mb fetch --recipes "$R" --cache "$T_TMP/c5" sharded
expect_rc "the sharded lock entry verifies the download" 0
# the channel drops its shards for a plain repodata.json: the same pin, now
# from repodata, keeps the date it was first pinned on
block() { sed -n "\|^- url: $H/sharded/noarch/dependent-1.0-0.conda|,/^- url/p" "$L"; }
d1=$(block | grep 'date:')
mv "$SH/repodata_shards.msgpack.zst" "$T_TMP/shards.idx"; mv "$SH/repodata.json" "$T_TMP/garbage.json"
cp "$CH/repodata.json" "$SH/repodata.json"
sleep 1
run_mb lock --recipes "$R" sharded
expect_rc "relock once the channel has no shards" 0
block | grep -q 'source: repodata' && [ -n "$d1" ] && [ "$(block | grep 'date:')" = "$d1" ] &&
	ok "the entry now says repodata, and keeps its date" || fail "source/date" "$d1" "$(block)"
mv "$T_TMP/shards.idx" "$SH/repodata_shards.msgpack.zst"; mv "$T_TMP/garbage.json" "$SH/repodata.json"
run_mb lock --recipes "$R" sharded
expect_rc "and back to the shards" 0
# a shard that the index names but the channel does not serve pins nothing
RS=$T_TMP/rs; mkdir -p "$RS"; cp "$R/sharded.yaml" "$RS/"
mv "$SH/shards" "$SH/shards.gone"
run_mb lock --recipes "$RS" sharded
echo "# missing shard: exit $RC: $ERR"
[ "$RC" -ne 0 ] && ! grep -qs 'sha256:' "$RS/lock.yaml" &&
	ok "a shard the channel does not serve locks nothing" || fail "missing shard" "exit $RC" "$(cat "$RS/lock.yaml" 2>&1)"
mv "$SH/shards.gone" "$SH/shards"
head -c 20 "$SH/repodata_shards.msgpack.zst" > "$T_TMP/trunc" && cp "$T_TMP/trunc" "$SH/repodata_shards.msgpack.zst"
cp "$L" "$T_TMP/lock.sharded"
run_mb lock --recipes "$R" sharded
expect_err "a truncated shard index: exit 3 naming it" 3 "$H/sharded/noarch/repodata_shards.msgpack.zst"
cmp -s "$L" "$T_TMP/lock.sharded" && ok "the lock file is unchanged after the bad shard index" || fail "lock changed (shards)"
rm "$R/sharded.yaml"
run_mb lock --recipes "$R" --index-url "$H/simple"
cmp -s "$L" "$T_TMP/lock.good" && ok "the sharded entry is dropped with its recipe" || fail "sharded entry kept" "$(diff "$T_TMP/lock.good" "$L")"

# an artifact that no index knows stays unpinned
printf 'name: ghost\nversion: "1"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: %s/files/ghost-1-py3-none-any.whl\n' "$H" > "$R/ghost.yaml"
run_mb lock --recipes "$R" --index-url "$H/simple" deps sample ghost
expect_err "an artifact missing from every index: lock exits 1" 1 "ghost: ghost-1-py3-none-any.whl"
case $ERR in *"unpinned (no index knows it): ghost"*) ok "it is named as unpinned" ;; *) fail "ghost named" "$ERR" ;; esac
cmp -s "$L" "$T_TMP/lock.good" && ok "the others' entries stay as they were" || fail "lock changed" "$(diff "$T_TMP/lock.good" "$L")"
run_mb plan --recipes "$R" ghost
case $OUT in *"unpinned: ghost-1-py3-none-any.whl"*) ok "plan shows it unpinned" ;; *) fail "plan ghost" "$OUT" ;; esac
rm "$R/ghost.yaml"

# two indexes that disagree on a file's digest
printf 'name: sample2\nversion: "1.2.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: %s/files/%s?2\n    filename: %s\n' "$H" "$S1" "$S1" > "$R/sample2.yaml"
run_mb lock --recipes "$R" --index-url "$H/simple" --index-url "$H/other" sample2
expect_err "two indexes that disagree give exit 4" 4 "disagree"
cmp -s "$L" "$T_TMP/lock.good" && ok "the lock file is unchanged after the disagreement" || fail "lock changed (disagree)" "$(diff "$T_TMP/lock.good" "$L")"
rm "$R/sample2.yaml"

# malformed repodata: one line naming the URL, the lock unchanged
printf 'name: bad\nversion: "1"\nkind: conda\nartifacts:\n  - url: %s/bad/noarch/dependency-1.0-0.conda\n' "$H" > "$R/bad.yaml"
run_mb lock --recipes "$R" bad
expect_err "malformed repodata: exit 3 naming the URL" 3 "$H/bad/noarch/repodata.json: malformed JSON"
cmp -s "$L" "$T_TMP/lock.good" && ok "the lock file is unchanged after malformed repodata" || fail "lock changed (malformed)"
cp "$W/www/simple/sample/index.json" "$T_TMP/index.json"
echo '{"meta": {}, "files": 3}' > "$W/www/simple/sample/index.json"
run_mb lock --recipes "$R" --index-url "$H/simple" sample
expect_err "a malformed PEP 691 page: exit 3 naming it" 3 "$H/simple/sample/: not a PEP 691 project page"
cp "$T_TMP/index.json" "$W/www/simple/sample/index.json"
rm "$R/bad.yaml"

# an index that drops the connection (faultserver), after its retries
FS=$T_TMP/fault; mkdir -p "$FS"
ln -s "$CH/repodata.json" "$FS/repodata.json"
start_faultserver "$FS"
printf 'name: reset\nversion: "1"\nkind: conda\nartifacts:\n  - url: http://127.0.0.1:%s/reset/dependency-1.0-0.conda\n' "$FAULT_PORT" > "$R/reset.yaml"
run_mb lock --recipes "$R" reset
expect_err "an index that drops the connection: exit 3 naming it" 3 "http://127.0.0.1:$FAULT_PORT/reset/repodata.json"
[ "$(grep -c '"/reset/repodata.json"' "$FAULT_LOG")" -eq 2 ] && ok "it was retried" || fail "retries" "$(cat "$FAULT_LOG")"
cmp -s "$L" "$T_TMP/lock.good" && ok "the lock file is unchanged after the dropped connection" || fail "lock changed (reset)"
printf 'name: reset\nversion: "1"\nkind: conda\nartifacts:\n  - url: http://127.0.0.1:%s/reset:1/dependency-1.0-0.conda\n' "$FAULT_PORT" > "$R/reset.yaml"
run_mb lock --recipes "$R" reset
expect_rc "a connection dropped once is retried and the lock is written" 0
rm "$R/reset.yaml"

# One connection for a run's index pages; a 429's Retry-After (1 s) is
# waited out, where the backoff alone would be 10 ms; one too long fails.
peers() { python3 -c 'import json, sys; print(len({json.loads(l)["peer"] for l in open(sys.argv[1])}))' "$FAULT_LOG"; }
printf 'name: pages
version: "1"
kind: conda
artifacts:
  - url: http://127.0.0.1:%s/ok/dependency-1.0-0.conda
' "$FAULT_PORT" > "$R/pages.yaml"
: > "$FAULT_LOG"
run_mb lock --recipes "$R" pages
expect_rc "lock through the faultserver" 0
[ "$(wc -l < "$FAULT_LOG")" -ge 2 ] && [ "$(peers)" = 1 ] &&
	ok "its $(wc -l < "$FAULT_LOG") index requests came over one connection" || fail "connections" "$(cat "$FAULT_LOG")"
printf 'name: pages
version: "1"
kind: conda
artifacts:
  - url: http://127.0.0.1:%s/429:1/dependency-1.0-0.conda
' "$FAULT_PORT" > "$R/pages.yaml"
: > "$FAULT_LOG"
run_mb lock --recipes "$R" pages
expect_rc "an index answering 429 once" 0
python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
i = [k for k, e in enumerate(r) if e["status"] == 429][0]
assert r[i + 1]["path"] == r[i]["path"] and r[i + 1]["status"] == 200, r
assert r[i + 1]["t"] - r[i]["t"] >= 0.95, r[i + 1]["t"] - r[i]["t"]' "$FAULT_LOG" 2>"$T_TMP/ra.err" &&
	ok "the retry waited for Retry-After" || fail "Retry-After" "$(cat "$T_TMP/ra.err")"
: > "$FAULT_LOG"
printf 'name: pages
version: "1"
kind: conda
artifacts:
  - url: http://127.0.0.1:%s/429:9/dependency-1.0-0.conda
' "$FAULT_PORT" > "$R/pages.yaml"
MAMBABOOT_RETRY_AFTER_MAX=0 run_mb lock --recipes "$R" pages
expect_err "a Retry-After longer than allowed: exit 3 at once" 3 "Retry-After 1 s is too long"
[ "$(grep -c '"/429:9/repodata.json"' "$FAULT_LOG")" = 1 ] && ok "without a second request" || fail "retried" "$(cat "$FAULT_LOG")"
rm "$R/pages.yaml"

# TLS: verified, with the test CA
printf 'name: tls\nversion: "1.2.0"\nkind: wheel\ndepends: [python]\nartifacts:\n  - url: https://localhost:%s/files/%s?t\n    filename: %s\n    index: https://localhost:%s/simple/\n' "$NGX_HTTPS" "$S1" "$S1" "$NGX_HTTPS" > "$R/tls.yaml"
run_mb lock --recipes "$R" tls
expect_err "an index whose certificate is not trusted: exit 3" 3 "https://localhost:$NGX_HTTPS/simple/sample/"
run_mb lock --recipes "$R" --cacert "$W/ca.pem" tls
expect_rc "the same index with --cacert" 0
rm "$R/tls.yaml"
done_testing
