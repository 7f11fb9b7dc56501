# mambaboot digest: sha256 and tree_sha256 as SPEC.md section 3 defines them,
# checked against an independent listing written here in Python.
. "$MB_ROOT/tests/lib.sh"
src="$T_TMP/pkg-1.0"
mkdir -p "$src/sub/deep" "$src/bin"
printf 'hello\n' > "$src/README"
printf '#!/bin/sh\necho hi\n' > "$src/bin/run"; chmod 755 "$src/bin/run"
printf 'x' > "$src/sub/deep/z.txt"
printf 'b' > "$src/sub/B.txt"
ln -s ../README "$src/sub/link"
(cd "$T_TMP" && tar -czf pkg.tar.gz pkg-1.0 && tar -cjf pkg.tar.bz2 pkg-1.0)

want=$(python3 - "$src" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
lines = []
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        full = os.path.join(d, n); rel = os.path.relpath(full, root)
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            lines.append((rel, "l", hashlib.sha256(os.readlink(full).encode()).hexdigest()))
        elif stat.S_ISREG(st.st_mode):
            t = "x" if st.st_mode & 0o111 else "f"
            lines.append((rel, t, hashlib.sha256(open(full, "rb").read()).hexdigest()))
lines.sort(key=lambda l: l[0].encode())
print(hashlib.sha256("".join(f"{p}\t{t}\t{h}\n" for p, t, h in lines).encode()).hexdigest())
PY
)

tree_of() { "$MB" digest "$1" | sed -n 's/^tree_sha256: //p'; }
got_gz=$(tree_of "$T_TMP/pkg.tar.gz")
[ "$got_gz" = "$want" ] && ok "tree_sha256 of a .tar.gz matches the spec's listing" || fail "tree_sha256 .tar.gz" "got $got_gz" "want $want"
[ "$(tree_of "$T_TMP/pkg.tar.bz2")" = "$want" ] && ok "re-compressed (.tar.bz2): same tree_sha256" || fail "tree_sha256 .tar.bz2"
[ "$(tree_of "$src")" = "$want" ] && ok "the unpacked directory: same tree_sha256" || fail "tree_sha256 of a directory"

sha=$("$MB" digest "$T_TMP/pkg.tar.gz" | sed -n 's/^sha256: //p')
[ "$sha" = "$(sha256sum "$T_TMP/pkg.tar.gz" | cut -d' ' -f1)" ] && ok "sha256 of the file's bytes" || fail "sha256" "$sha"

chmod 644 "$src/bin/run"
[ "$(tree_of "$src")" != "$want" ] && ok "an execute bit changes tree_sha256" || fail "exec bit ignored"
printf 'plain text\n' > "$T_TMP/notes.txt"
run_mb digest "$T_TMP/notes.txt"
case $OUT in *"sha256: "*) case $OUT in *tree_sha256*) fail "plain file has no tree digest" "$OUT" ;; *) ok "a plain file: sha256 only" ;; esac ;; *) fail "plain file sha256" "$OUT" ;; esac
run_mb digest "$T_TMP/nope"
expect_err "a missing file" 2 "$T_TMP/nope"
run_mb digest --json "$T_TMP/pkg.tar.gz"
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[0]["tree_sha256"] == sys.argv[1]' "$want" && ok "digest --json" || fail "digest --json" "$OUT"
done_testing
